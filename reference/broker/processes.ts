// The faults of broker processes on the reference broker: a crash (the process dies, its log
// survives), a restart on that log, a pause (requests queue), a power loss (unflushed writes are
// gone too) and a stall of replication. They are apart from cluster.ts because they change a
// broker's life, not what it does while it lives; the cluster calls them through its methods of
// the same names, and the state they change (brokers, partitions, the controller's timers) stays
// the cluster's.

import { TIMING, type Stall } from './state.js';
import type { Cluster } from './cluster.js';

export class BrokerProcesses {
  constructor(private readonly cluster: Cluster) {}

  /**
   * The broker's machine loses power: the process dies, and so does every write not yet
   * flushed to disk. Kafka leaves flushing to the operating system and relies on replication
   * instead, so this is where a write only one replica held is gone for good.
   */
  powerLoss(id: number): string {
    const broker = this.cluster.broker(id);
    if (broker.state === 'crashed') return `broker ${id} was already down`;
    this.crash(id);
    const lost: string[] = [];
    for (const [key, replica] of broker.replicas) {
      const removed = replica.truncateTo(replica.flushed);
      if (removed > 0) lost.push(`${removed} of partition ${this.cluster.partition(key).label}`);
      // A torn write at the end of the log, recovered as though it were whole.
      if (removed > 0 && this.cluster.defects.has('phantom-on-recovery')) {
        const part = this.cluster.partition(key);
        replica.append({
          offset: replica.leo,
          epoch: part.epoch,
          id: `torn-${id}-${key}-${replica.leo}`,
          producer: -1,
          seq: -1,
          key: '',
        });
        replica.flushed = replica.leo;
      }
    }
    return lost.length > 0 ? `unflushed records lost: ${lost.join(', ')}` : 'every record was flushed';
  }

  /**
   * Stops a broker's follower fetch loops for `durationMs` (at most TIMING.stallMaxMs), after
   * which they fetch again by themselves. A stall of a broker already stalled replaces it.
   */
  stallReplication(id: number, durationMs: number): void {
    const broker = this.cluster.broker(id);
    const previous = broker.stall;
    const stall: Stall = { untilMs: this.cluster.sim.now + durationMs, waiting: previous?.waiting ?? [] };
    broker.stall = stall;
    this.cluster.sim.schedule(durationMs, () => {
      if (broker.stall === stall) this.endStall(id);
    });
  }

  /** Ends a broker's replication stall now; false when it had none. */
  endStall(id: number): boolean {
    const broker = this.cluster.broker(id);
    const stall = broker.stall;
    if (stall === undefined) return false;
    broker.stall = undefined;
    this.cluster.info(`broker-${id}`, 'replication resumed after the stall');
    for (const resume of stall.waiting) resume();
    return true;
  }

  crash(id: number): void {
    const broker = this.cluster.broker(id);
    if (broker.state === 'crashed') return;
    broker.state = 'crashed';
    broker.incarnation++;
    broker.inbox = [];
    broker.dropAcks = 0;
    // The stalled fetch loops belonged to the dead process; a restart starts new ones.
    broker.stall = undefined;
    this.cluster.pausedOrder.splice(0, this.cluster.pausedOrder.length, ...this.cluster.pausedOrder.filter((b) => b !== id));
    this.cluster.crashedOrder.push(id);
    for (const part of this.cluster.partitions) {
      if (part.leader === id) {
        part.pending = [];
        part.parked = [];
      }
    }
    // What the process led on its own, cut off from the controller, died with it.
    broker.isolation?.leaderships.clear();
    const incarnation = broker.incarnation;
    this.cluster.sim.schedule(TIMING.brokerSessionTimeoutMs, () => {
      this.cluster.links.byController(() => broker.incarnation === incarnation && broker.state === 'crashed', () => this.cluster.controller.brokerLost(id));
    });
  }

  restart(id: number): void {
    const broker = this.cluster.broker(id);
    if (broker.state !== 'crashed') return;
    broker.state = 'up';
    broker.incarnation++;
    this.cluster.crashedOrder.splice(0, this.cluster.crashedOrder.length, ...this.cluster.crashedOrder.filter((b) => b !== id));
    // A restarted process must register before it may lead; until the controller fenced it,
    // it still counts as the leader of its partitions, which clients find refused meanwhile.
    broker.fenced = true;
    if (broker.isolation !== undefined) broker.isolation.fenced = true;
    this.cluster.startBrokerLoops(broker);
    this.register(id);
  }

  /**
   * The broker registers with the controller after TIMING.brokerRegistrationMs, if it is still the
   * same process, up and fenced, and the controller is within its reach; one cut off from the
   * controller registers at the heal instead.
   */
  register(id: number): void {
    const broker = this.cluster.broker(id);
    const incarnation = broker.incarnation;
    this.cluster.sim.schedule(TIMING.brokerRegistrationMs, () => {
      if (broker.incarnation !== incarnation || broker.state !== 'up' || !this.cluster.links.reachesController(id)) return;
      // Leadership moves to another in-sync replica if there is one. If the restarted broker
      // was the only one, the partition waits for it: it kept its log, so electing a stale
      // replica instead would lose acknowledged writes for nothing.
      for (const part of this.cluster.partitions) {
        if (part.leader !== id) continue;
        if (part.replicas.some((r) => r !== id && part.isr.includes(r) && this.cluster.usable(r))) this.cluster.controller.elect(part, id);
        else {
          this.cluster.controller.resign(part, id);
          part.leader = null;
        }
      }
      this.cluster.controller.brokerJoined(id);
    });
  }

  pause(id: number): void {
    const broker = this.cluster.broker(id);
    if (broker.state !== 'up') return;
    broker.state = 'paused';
    this.cluster.pausedOrder.push(id);
    const incarnation = broker.incarnation;
    const pause = ++broker.pauses;
    this.cluster.sim.schedule(TIMING.brokerSessionTimeoutMs, () => {
      this.cluster.links.byController(
        () => broker.incarnation === incarnation && broker.pauses === pause && broker.state === 'paused',
        () => this.cluster.controller.brokerLost(id),
      );
    });
  }

  resume(id: number): void {
    const broker = this.cluster.broker(id);
    if (broker.state !== 'paused') return;
    broker.state = 'up';
    this.cluster.pausedOrder.splice(0, this.cluster.pausedOrder.length, ...this.cluster.pausedOrder.filter((b) => b !== id));
    const inbox = broker.inbox;
    broker.inbox = [];
    for (const work of inbox) work();
    if (broker.fenced) {
      const incarnation = broker.incarnation;
      this.cluster.sim.schedule(TIMING.brokerRegistrationMs, () => {
        if (broker.incarnation === incarnation && broker.state === 'up' && this.cluster.links.reachesController(id)) this.cluster.controller.brokerJoined(id);
      });
    }
  }
}
