// The reference broker's controller: it fences a broker it lost after the session timeout (a
// crash, a pause, or a network partition that cut it off) and moves that broker's leaderships,
// lets a broker that registers again lead partitions left without a leader, and elects leaders
// from the ISR, or from any replica when unclean election is on. It is apart from cluster.ts
// because these few decisions are where a failover keeps or loses acknowledged writes, and they
// read best on their own; the cluster calls them from its faults, and the state they change
// (leaders, epochs, ISRs) stays the cluster's.

import { BrokerError, fmt, type PartitionState } from './state.js';
import type { Cluster } from './cluster.js';

export class Controller {
  constructor(private readonly cluster: Cluster) {}

  /** Fences a broker the controller lost and moves its leaderships; called after the session timeout. */
  brokerLost(id: number): void {
    const broker = this.cluster.broker(id);
    broker.fenced = true;
    this.cluster.info('controller', `fenced broker ${id}`);
    for (const part of this.cluster.partitions) {
      if (part.leader === id) this.elect(part, id);
      else if (part.isr.includes(id) && part.isr.length > 1) {
        part.isr = part.isr.filter((member) => member !== id);
        this.cluster.info('controller', `partition ${part.label}: ISR shrank to ${fmt(part.isr)}`);
        this.cluster.advanceHighWatermark(part);
      }
    }
  }

  /** A broker registered (again): it may lead partitions that had no leader. */
  brokerJoined(id: number): void {
    const broker = this.cluster.broker(id);
    if (broker.state !== 'up') return;
    broker.fenced = false;
    this.cluster.info('controller', `broker ${id} registered`);
    for (const part of this.cluster.partitions) {
      if (part.leader === null && part.replicas.includes(id)) {
        if (part.isr.includes(id) || this.uncleanAllowed(part)) this.elect(part, null);
      }
    }
  }

  /** Unclean election is on for the topic, or silently on by a defect. */
  private uncleanAllowed(part: PartitionState): boolean {
    return part.settings.uncleanElection || this.cluster.defects.has('silent-unclean-election');
  }

  /** Elects a new leader for a partition whose leader `lost` is gone (or that has none). */
  elect(part: PartitionState, lost: number | null): void {
    const oldLeader = part.leader;
    if (oldLeader !== null) this.resign(part, oldLeader);
    // The controller can only make a leader of a broker it reaches: one cut off from it would
    // never hear that it leads.
    const eligible = (r: number): boolean => r !== lost && this.cluster.usable(r) && this.cluster.links.reachesController(r);
    const clean = part.replicas.filter((r) => part.isr.includes(r) && eligible(r));
    let leader: number | null = clean[0] ?? null;
    let unclean = false;
    if (leader === null && this.uncleanAllowed(part)) {
      leader = part.replicas.find(eligible) ?? null;
      unclean = leader !== null;
    }
    part.epoch++;
    if (leader === null) {
      part.leader = null;
      // Kafka keeps the last ISR member in the ISR of an offline partition, so that it, and
      // only it, can lead again without losing acknowledged writes.
      this.cluster.info('controller', `partition ${part.label}: offline, no eligible replica (ISR ${fmt(part.isr)})`);
      return;
    }
    part.leader = leader;
    part.isr = unclean ? [leader] : part.isr.filter((member) => member !== lost);
    if (part.isr.length === 0) part.isr = [leader];
    const replica = this.cluster.replica(leader, part.key);
    part.epochStartOffset = replica.leo;
    part.followerLeo = new Map();
    part.lastFetchLeo = new Map();
    part.lastFetchMs = new Map();
    // Followers get a fresh lag allowance under the new leader.
    part.lastCaughtUpMs = new Map(part.isr.map((member) => [member, this.cluster.sim.now]));
    this.cluster.info(
      'controller',
      `partition ${part.label}: broker ${leader} leads epoch ${part.epoch}${unclean && part.settings.uncleanElection ? ' (unclean election)' : ''}, ISR ${fmt(part.isr)}`,
    );
    this.cluster.advanceHighWatermark(part);
  }

  /** The old leader stops leading: its waiting acks fail, its parked fetches end. */
  resign(part: PartitionState, oldLeader: number): void {
    const broker = this.cluster.broker(oldLeader);
    const pending = part.pending;
    part.pending = [];
    if (broker.state !== 'crashed') {
      for (const entry of pending) entry.reply(new BrokerError('NOT_LEADER_OR_FOLLOWER'));
    }
    const parked = part.parked;
    part.parked = [];
    for (const entry of parked) entry.wake();
  }
}
