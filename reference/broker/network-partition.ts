// The partition fault on the reference broker: which links a cut takes, where the controller is
// afterwards, what a broker cut off from it goes on believing, and what it learns at the heal.
//
// What it models is Kafka in KRaft mode, with every node both broker and controller (as the
// kafka adapter's local cluster runs it):
// - The controller quorum lives on the brokers, so it acts only on the side of the cut that holds
//   a majority of them; a side without one cannot fence, elect or change an ISR.
// - A broker cut off from the controller keeps the metadata it had. Its heartbeats go unanswered,
//   and Kafka's broker only sends them again (BrokerLifecycleManager schedules the next one after
//   a back-off); it does not fence itself. So a leader cut off from the controller and from its
//   followers goes on leading the epoch it had: with ack leader it acknowledges writes no
//   follower will ever copy; with ack all its high watermark cannot move (no follower fetches
//   from it) and the ISR change that would let it move goes through the controller it cannot
//   reach, so those writes wait until the client gives up on them.
// - The controller fences a broker it has not heard from for the session timeout and elects a
//   new leader from the ISR on its own side.
// - At the heal the broker hears from the controller again: a partition that moved on to a new
//   epoch it stops leading (its waiting writes fail), it registers again, and as a follower it
//   truncates what the new leader does not have and copies the rest.
// Clients are never cut off: they reach every broker, as Jepsen's clients on the control node do.

import { BrokerError, Isolation, TIMING, fmt, takeLeadership, type Broker } from './state.js';
import type { Cluster } from './cluster.js';

export class NetworkPartition {
  /** The groups of the partition in force, or undefined when every link is whole. */
  private groups: readonly (readonly number[])[] | undefined;
  /** What the controller could not decide for want of a quorum; it decides at the heal. */
  private deferred: Array<() => void> = [];

  constructor(private readonly cluster: Cluster) {}

  /**
   * Cuts every link between brokers of different groups, and between the controller and every
   * broker outside the group holding a majority of the brokers (all of them when none does). A
   * partition in force is healed first: a cut replaces it. Says where the controller is.
   */
  cut(groups: readonly (readonly number[])[]): string {
    if (this.groups !== undefined) this.heal();
    const cluster = this.cluster;
    const brokers = cluster.brokers;
    const groupOf = new Map<number, number>();
    groups.forEach((group, index) => {
      for (const id of group) groupOf.set(id, index);
    });
    const majority = groups.find((group) => group.length * 2 > brokers.length);
    const pairs: (readonly [number, number])[] = [];
    for (const a of brokers) {
      for (const b of brokers) {
        if (a.id < b.id && groupOf.get(a.id) !== groupOf.get(b.id)) pairs.push([a.endpoint, b.endpoint]);
      }
      if (majority === undefined || !majority.includes(a.id)) pairs.push([a.endpoint, cluster.controllerEndpoint]);
    }
    cluster.network.cut(pairs);
    this.groups = groups;
    for (const broker of brokers) {
      if (!this.reachesController(broker.id)) this.isolate(broker);
    }
    if (majority === undefined) return '; no side holds a majority of the controller quorum, so no side can elect a leader';
    return `; the controller quorum is with broker${majority.length > 1 ? 's' : ''} ${majority.join(', ')}`;
  }

  /** Makes every link whole; every broker cut off from the controller hears from it again. */
  heal(): string {
    const cluster = this.cluster;
    cluster.network.heal();
    this.groups = undefined;
    for (const broker of cluster.brokers) {
      if (broker.isolation !== undefined) this.rejoin(broker, broker.isolation);
    }
    const deferred = this.deferred;
    this.deferred = [];
    for (const decide of deferred) decide();
    return '';
  }

  /** Whether the broker can reach the controller, which also means the controller has a quorum. */
  reachesController(id: number): boolean {
    return !this.cluster.network.isCut(this.cluster.broker(id).endpoint, this.cluster.controllerEndpoint);
  }

  /**
   * A decision of the controller that needs its quorum: made now if the quorum is whole, else at
   * the heal, if `still` holds then. Without a partition this is `if (still()) decide()`.
   */
  byController(still: () => boolean, decide: () => void): void {
    if (!still()) return;
    if (this.hasQuorum()) decide();
    else this.deferred.push(() => {
      if (still()) decide();
    });
  }

  /**
   * Whether the leader of a leadership can change its ISR now: Kafka's leader asks the controller
   * (AlterPartition), so one cut off from it cannot. The first refusal per partition is said.
   */
  mayChangeIsr(leader: number, key: number, isr: readonly number[]): boolean {
    const isolation = this.cluster.broker(leader).isolation;
    if (isolation === undefined) return true;
    if (!isolation.refusedIsrChanges.has(key)) {
      isolation.refusedIsrChanges.add(key);
      this.cluster.info(
        `broker-${leader}`,
        `partition ${this.cluster.partition(key).label}: cannot change the ISR to ${fmt(isr)}: the controller is out of reach`,
      );
    }
    return false;
  }

  private hasQuorum(): boolean {
    return this.cluster.brokers.some((broker) => this.reachesController(broker.id));
  }

  /**
   * The broker lost the controller: it keeps what it knew, and leads on its own what it led. The
   * controller, if it has a quorum, fences it once the session timeout passes without a heartbeat.
   */
  private isolate(broker: Broker): void {
    const cluster = this.cluster;
    const isolation = new Isolation(broker.fenced, new Map(cluster.partitions.map((part) => [part.key, part.leader])));
    if (broker.state !== 'crashed' && !broker.fenced) {
      for (const part of cluster.partitions) {
        if (part.leader === broker.id) isolation.leaderships.set(part.key, takeLeadership(part, broker.id));
      }
    }
    broker.isolation = isolation;
    if (!this.hasQuorum()) return;
    cluster.sim.schedule(TIMING.brokerSessionTimeoutMs, () => {
      // A crashed or paused broker is already on its way to being fenced by its own timer.
      if (broker.isolation === isolation && broker.state === 'up' && !broker.fenced) {
        cluster.info('controller', `no heartbeat from broker ${broker.id} for ${TIMING.brokerSessionTimeoutMs} ms`);
        cluster.controller.brokerLost(broker.id);
      }
    });
  }

  /**
   * The broker hears from the controller again. A partition it led that the controller left to
   * it at the same epoch it leads on with what it kept; one that moved on it stops leading, and
   * its waiting writes fail. A fenced broker then registers again, and follows.
   */
  private rejoin(broker: Broker, isolation: Isolation): void {
    const cluster = this.cluster;
    broker.isolation = undefined;
    for (const [key, own] of isolation.leaderships) {
      const part = cluster.partition(key);
      if (part.leader === broker.id && part.epoch === own.epoch && !broker.fenced) {
        // The ISR stays the controller's, which may have fenced a follower meanwhile; the rest is
        // what the leader learnt and kept while it was on its own.
        part.pending = own.pending;
        part.followerLeo = own.followerLeo;
        part.lastCaughtUpMs = own.lastCaughtUpMs;
        part.lastFetchLeo = own.lastFetchLeo;
        part.lastFetchMs = own.lastFetchMs;
        cluster.advanceHighWatermark(part);
        continue;
      }
      const now = part.leader === null ? 'has no leader' : `is led by broker ${part.leader}`;
      cluster.info(`broker-${broker.id}`, `partition ${own.label}: heard that epoch ${part.epoch} ${now}; it stops leading epoch ${own.epoch}`);
      for (const pending of own.pending) pending.reply(new BrokerError('NOT_LEADER_OR_FOLLOWER'));
    }
    if (broker.fenced && broker.state === 'up') cluster.register(broker.id);
  }
}
