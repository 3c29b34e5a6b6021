// The consumer client of the reference broker: a member of a consumer group that heartbeats in
// the background, polls its assigned partitions' leaders from positions that restart at the
// committed offset after a rebalance, and commits offsets that the group refuses once it moved
// on. It is apart from the producers (clients.ts) because it shares none of their state: no
// metadata cache, no sequence numbers, no transactions of its own.

import type { Consumer, ConsumerOptions, DeliveredRecord } from '../adapters/contract.js';
import { OffsetLogConsumer } from '../adapters/offset-log.js';
import { BrokerError, type Cluster, type FetchResult } from './broker/cluster.js';
import type { Endpoint } from './substrate/network.js';
import type { TransactionCoordinator } from './broker/transactions.js';
import { call, CLIENT_TIMING, ClientClosed, roundTrip } from './client-requests.js';

export class ReferenceConsumer extends OffsetLogConsumer implements Consumer {
  private readonly memberId: string;
  private generation = -1;
  private assigned: readonly number[] = [];
  private readonly next = new Map<number, number>();
  /** Assigned partitions whose starting offset is not known yet: it waits on a pending commit. */
  private readonly unresolved = new Set<number>();
  private state: 'open' | 'closed' | 'crashed' = 'open';
  private lastAutoCommitMs = 0;
  private polls = 0;
  /** This member's end of its connections: a restarted consumer is a new member with new ones. */
  private readonly endpoint: Endpoint;

  constructor(
    private readonly cluster: Cluster,
    private readonly coordinator: TransactionCoordinator,
    private readonly options: ConsumerOptions,
    instance: number,
    private readonly info: (source: string, message: string) => void,
  ) {
    super();
    this.memberId = `consumer-${options.index}.${instance}`;
    this.endpoint = cluster.network.endpoint();
    this.backgroundHeartbeats();
  }

  /** What a transactional producer sends with the offsets, so the group can check them. */
  groupMetadata(): { readonly group: string; readonly memberId: string; readonly generation: number } {
    return { group: this.options.group, memberId: this.memberId, generation: this.generation };
  }

  positions(): ReadonlyMap<number, number> {
    return new Map(this.next);
  }

  assignment(): ReadonlySet<number> {
    return new Set(this.assigned);
  }

  async seekToCommitted(): Promise<void> {
    this.assertOpen();
    this.restartAtCommitted(this.assigned);
    await this.resolvePositions();
  }

  private restartAtCommitted(partitions: readonly number[]): void {
    this.next.clear();
    this.unresolved.clear();
    for (const p of partitions) this.unresolved.add(p);
  }

  /** Fetches the committed offsets of partitions without a position, unless a transaction still holds them. */
  private async resolvePositions(): Promise<void> {
    if (this.unresolved.size === 0) return;
    const group = this.options.group;
    const committed = await roundTrip(this.cluster, this.endpoint, () => {
      const offsets = this.cluster.groups.committed(group);
      const stable = new Map<number, number>();
      for (const p of this.unresolved) {
        if (!this.coordinator.hasPendingOffsets(group, p)) stable.set(p, offsets.get(p) ?? 0);
      }
      return stable;
    });
    this.assertOpen();
    for (const [p, offset] of committed) {
      if (!this.unresolved.has(p)) continue;
      this.unresolved.delete(p);
      this.next.set(p, offset);
    }
  }

  async poll(timeoutMs: number): Promise<readonly DeliveredRecord[]> {
    const sim = this.cluster.sim;
    const deadlineMs = sim.now + timeoutMs;
    for (;;) {
      this.assertOpen();
      await this.heartbeat();
      if (this.options.autoCommit && sim.now - this.lastAutoCommitMs >= CLIENT_TIMING.autoCommitIntervalMs) {
        await this.autoCommit();
      }
      const records = await this.fetchAssigned();
      this.assertOpen();
      if (records.length > 0 || sim.now >= deadlineMs) return records;
      await sim.sleep(Math.min(CLIENT_TIMING.pollIdleMs, deadlineMs - sim.now));
    }
  }

  /**
   * Kafka's consumer heartbeats from a background thread, so a member that takes long to
   * process a batch keeps its session; a crashed process stops heartbeating and times out.
   */
  private backgroundHeartbeats(): void {
    this.cluster.sim.schedule(CLIENT_TIMING.heartbeatIntervalMs, () => {
      if (this.state !== 'open') return;
      this.cluster.groups.touch(this.options.group, this.memberId);
      this.backgroundHeartbeats();
    });
  }

  private async heartbeat(): Promise<void> {
    const { generation, partitions } = await roundTrip(this.cluster, this.endpoint, () =>
      this.cluster.groups.heartbeat(this.options.group, this.memberId),
    );
    this.assertOpen();
    if (generation === this.generation) return;
    this.generation = generation;
    this.assigned = partitions;
    // An eager rebalance, as Kafka's classic group protocol does it: every member gives up all
    // its partitions and starts each assigned one again at the committed offset. What was
    // read but not committed is read again, by whichever member now owns it.
    this.restartAtCommitted(partitions);
  }

  private async fetchAssigned(): Promise<DeliveredRecord[]> {
    const cluster = this.cluster;
    const max = this.options.maxPollRecords;
    await this.resolvePositions();
    const partitions = this.assigned.filter((p) => this.next.has(p));
    const start = partitions.length === 0 ? 0 : this.polls++ % partitions.length;
    const order = [...partitions.slice(start), ...partitions.slice(0, start)];
    const answers = await Promise.all(
      order.map(async (p) => {
        const part = cluster.partitionOf('input', p);
        const leader = part.leader;
        const from = this.next.get(p) ?? 0;
        if (leader === null) return { p, from, result: undefined };
        const outcome = await call<FetchResult>(cluster, this.endpoint, leader, () =>
          cluster.fetch(leader, part.key, from, max, this.options.isolation),
        );
        return { p, from, result: outcome.kind === 'ok' ? outcome.value : undefined };
      }),
    );
    const records: DeliveredRecord[] = [];
    for (const { p, from, result } of answers) {
      // An answer for a partition this member lost, or from a stale position, is dropped.
      if (result === undefined || !this.next.has(p) || this.next.get(p) !== from || !this.assigned.includes(p)) continue;
      if (result.kind === 'out-of-range') {
        this.info(this.memberId, `partition ${p}: offset ${from} is past the log end ${result.leo}; reset to it`);
        this.next.set(p, result.leo);
        continue;
      }
      if (result.kind === 'error') continue;
      const taken = result.records.slice(0, Math.max(0, max - records.length));
      for (const record of taken) records.push({ id: record.id, partition: p, offset: record.offset });
      // The position passes markers and skipped records too, unless the batch was cut short:
      // then it stops after the last record handed out.
      const last = taken.at(-1);
      if (taken.length === result.records.length) this.next.set(p, result.next);
      else if (last !== undefined) this.next.set(p, last.offset + 1);
    }
    return records;
  }

  private async autoCommit(): Promise<void> {
    this.lastAutoCommitMs = this.cluster.sim.now;
    try {
      await this.commit(new Map(this.next));
    } catch (error) {
      this.info(this.memberId, `auto-commit failed: ${(error as Error).message}`);
    }
  }

  async commit(offsets: ReadonlyMap<number, number>): Promise<void> {
    this.assertOpen();
    const code = await roundTrip(this.cluster, this.endpoint, () =>
      this.cluster.groups.commit(this.options.group, this.memberId, this.generation, offsets),
    );
    if (code !== null) throw new BrokerError(code, 'OffsetCommit');
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    if (this.options.autoCommit) await this.autoCommit();
    this.state = 'closed';
    await roundTrip(this.cluster, this.endpoint, () => this.cluster.groups.leave(this.options.group, this.memberId));
  }

  async crash(): Promise<void> {
    this.state = 'crashed';
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new ClientClosed(this.memberId);
  }
}
