// The reference broker's replication: each follower's loop of long-polling fetches from its
// partition's leader, the leader's side of a fetch (the truncation point of a diverged log, the
// parked fetch, what it learns of the follower's log end and whether it rejoins the ISR), and
// each leader's periodic check for followers that stopped catching up. It is apart from
// cluster.ts because it is a protocol between brokers that runs by itself, on its own timers,
// for as long as a broker lives, while the rest of the cluster answers clients and faults; the
// cluster starts its loops and wakes parked fetches after an append, and everything the loops
// read or change (brokers, partitions, the high watermark) stays the cluster's.

import { TIMING, fmt, type Broker, type FetchResponse, type Leadership, type ParkedFetch } from './state.js';
import type { Cluster } from './cluster.js';

export class Replication {
  constructor(private readonly cluster: Cluster) {}

  /** A follower's fetch loop for one partition: one long-polling fetch after another. */
  followerLoop(broker: Broker, p: number, incarnation: number): void {
    const alive = (): boolean => broker.incarnation === incarnation && broker.state !== 'crashed';
    const again = (delayMs: number): void => {
      this.cluster.sim.schedule(delayMs, () => {
        if (!alive()) return;
        if (broker.state === 'paused') broker.inbox.push(() => this.followerLoop(broker, p, incarnation));
        else this.followerLoop(broker, p, incarnation);
      });
    };
    if (!alive()) return;
    if (broker.stall !== undefined) {
      broker.stall.waiting.push(() => again(0));
      return;
    }
    // The leader as this broker knows it: cut off from the controller, the last it heard of.
    const leaderId = this.cluster.leaderSeenBy(broker.id, this.cluster.partition(p));
    if (leaderId === null || leaderId === broker.id || this.cluster.knowsFenced(broker.id)) {
      again(TIMING.replicaBackoffMs);
      return;
    }
    const replica = this.cluster.replica(broker.id, p);
    const fetchOffset = replica.leo;
    // A fetch whose answer never comes (the leader crashed or paused) is given up after a
    // while, so the follower keeps trying; a late answer to a given-up fetch is ignored.
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      timeout.cancel();
      return true;
    };
    const timeout = this.cluster.sim.schedule(TIMING.replicaFetchWaitMs + TIMING.replicaFetchTimeoutMs, () => {
      if (finish()) again(0);
    });
    this.cluster.deliver(
      broker.endpoint,
      leaderId,
      () => {
        const leaderIncarnation = this.cluster.broker(leaderId).incarnation;
        this.handleReplicaFetch(leaderId, broker.id, p, fetchOffset, (response) => {
          this.cluster.replyFrom(leaderId, leaderIncarnation, broker.endpoint, () => {
            if (!alive() || !finish()) return;
            // An answer that arrives during a stall is dropped, as a stopped fetcher would never
            // read it: the follower fetches again from the same offset once the stall ends.
            if (broker.stall !== undefined) {
              broker.stall.waiting.push(() => again(0));
              return;
            }
            if (broker.state === 'paused') {
              broker.inbox.push(() => this.applyFetch(broker, p, response, again));
            } else this.applyFetch(broker, p, response, again);
          });
        });
      },
      () => {
        if (finish()) again(TIMING.replicaBackoffMs);
      },
    );
  }

  private applyFetch(
    broker: Broker,
    p: number,
    response: FetchResponse,
    again: (delayMs: number) => void,
  ): void {
    if (response.kind === 'error') {
      again(TIMING.replicaBackoffMs);
      return;
    }
    const replica = this.cluster.replica(broker.id, p);
    if (response.kind === 'truncate') {
      const removed = replica.truncateTo(response.offset);
      if (removed > 0) {
        this.cluster.info(
          `broker-${broker.id}`,
          `partition ${this.cluster.partition(p).label}: truncated ${removed} records to offset ${response.offset}`,
        );
      }
      again(0);
      return;
    }
    // The records continue this replica's log only if nothing changed while they travelled.
    let appended = 0;
    if (response.from === replica.leo) {
      for (const record of response.records) replica.append(record);
      appended = response.records.length;
    }
    replica.hw = Math.max(replica.hw, Math.min(response.hw, replica.leo));
    // Writing fetched records takes the follower a moment before it asks for more; meanwhile
    // the leader acknowledges new writes that only it holds, which is the window ack leader
    // bets on.
    again(appended > 0 ? this.cluster.sim.random.between(TIMING.replicaAppendMinMs, TIMING.replicaAppendMaxMs) : 0);
  }

  private handleReplicaFetch(
    leaderId: number,
    followerId: number,
    p: number,
    fetchOffset: number,
    respond: (response: FetchResponse) => void,
  ): void {
    const part = this.cluster.leadershipAt(leaderId, this.cluster.partition(p));
    if (part === undefined) {
      respond({ kind: 'error' });
      return;
    }
    const leader = this.cluster.replica(leaderId, p);
    const follower = this.cluster.replica(followerId, p);
    // The follower's log diverges from the leader's where their epochs at an offset differ.
    // Records at one offset with one epoch are the same record (one leader per epoch), and logs
    // only grow by copying a leader, so everything below the last match matches too.
    let match = Math.min(fetchOffset, leader.leo) - 1;
    while (match >= 0 && follower.log[match]?.epoch !== leader.log[match]?.epoch) match--;
    if (match + 1 < fetchOffset && !this.cluster.defects.has('skip-truncation')) {
      respond({ kind: 'truncate', offset: match + 1 });
      return;
    }
    this.noteFollowerFetch(part, followerId, fetchOffset, leader.leo);
    const answer = (): void => {
      const records = leader.log.slice(fetchOffset, fetchOffset + 500);
      respond({ kind: 'records', from: fetchOffset, records, hw: leader.hw });
    };
    if (leader.leo > fetchOffset) {
      answer();
      return;
    }
    // Nothing new: park the fetch until an append or the wait runs out, like Kafka's long poll.
    let done = false;
    const parked: ParkedFetch = {
      wake: () => {
        if (done) return;
        done = true;
        timer.cancel();
        answer();
      },
    };
    const timer = this.cluster.sim.schedule(TIMING.replicaFetchWaitMs, () => {
      if (done) return;
      done = true;
      part.parked = part.parked.filter((entry) => entry !== parked);
      answer();
    });
    part.parked.push(parked);
  }

  wakeFetchers(part: Leadership): void {
    const parked = part.parked;
    part.parked = [];
    for (const entry of parked) entry.wake();
  }

  /** What the leader learns from a follower's fetch: its log end, and whether it is in sync. */
  private noteFollowerFetch(part: Leadership, followerId: number, fetchOffset: number, leaderLeo: number): void {
    const now = this.cluster.sim.now;
    // A fetch delayed in a paused leader's queue may carry an old offset; a follower's log end
    // only shrinks by truncation after an epoch change, which resets this map.
    part.followerLeo.set(followerId, Math.max(fetchOffset, part.followerLeo.get(followerId) ?? 0));
    if (fetchOffset >= leaderLeo) part.lastCaughtUpMs.set(followerId, now);
    else if (fetchOffset >= (part.lastFetchLeo.get(followerId) ?? Infinity)) {
      part.lastCaughtUpMs.set(followerId, part.lastFetchMs.get(followerId) ?? now);
    }
    part.lastFetchLeo.set(followerId, leaderLeo);
    part.lastFetchMs.set(followerId, now);
    const leaderId = part.leader;
    const leader = leaderId === null ? undefined : this.cluster.replica(leaderId, part.key);
    if (
      leaderId !== null &&
      leader !== undefined &&
      !part.isr.includes(followerId) &&
      fetchOffset >= leader.hw &&
      fetchOffset >= part.epochStartOffset &&
      !this.cluster.broker(followerId).fenced
    ) {
      const isr = part.replicas.filter((r) => r === followerId || part.isr.includes(r));
      if (this.cluster.links.mayChangeIsr(leaderId, part.key, isr)) {
        part.isr = isr;
        this.cluster.info('controller', `partition ${part.label}: broker ${followerId} rejoined the ISR ${fmt(part.isr)}`);
      }
    }
    this.cluster.advanceHighWatermark(part);
  }

  /** Each leader drops followers that stopped catching up from the ISR. */
  isrCheckLoop(broker: Broker, incarnation: number): void {
    this.cluster.sim.schedule(TIMING.isrCheckIntervalMs, () => {
      if (broker.incarnation !== incarnation || broker.state === 'crashed') return;
      if (broker.state === 'up') {
        for (const partition of this.cluster.partitions) {
          // What this broker leads as it believes, cut off from the controller or not.
          const part = this.cluster.leadershipAt(broker.id, partition);
          if (part === undefined) continue;
          const now = this.cluster.sim.now;
          const lagging = part.isr.filter(
            (member) =>
              member !== broker.id &&
              now - (part.lastCaughtUpMs.get(member) ?? 0) > TIMING.replicaLagMaxMs,
          );
          if (lagging.length === 0) continue;
          const isr = part.isr.filter((member) => !lagging.includes(member));
          if (!this.cluster.links.mayChangeIsr(broker.id, part.key, isr)) continue;
          part.isr = isr;
          this.cluster.info('controller', `partition ${part.label}: ISR shrank to ${fmt(part.isr)} (lagging ${fmt(lagging)})`);
          this.cluster.advanceHighWatermark(part);
        }
      }
      this.isrCheckLoop(broker, incarnation);
    });
  }
}
