// Producer and consumer clients of the reference broker, with the behaviour of Kafka's clients
// that matters to delivery guarantees: a metadata cache that goes stale, request timeouts,
// retries that resend (and so may store a message twice), consumer positions that restart from
// the committed offset after a rebalance, and commits that fail when the group moved on.

import type {
  Consumer,
  ConsumerOptions,
  DeliveredRecord,
  Producer,
  ProducerOptions,
  SendResult,
} from '../adapters/contract.js';
import type { MessageRef } from '../spec/history.js';
import { BrokerError, type Cluster, type ErrorCode, type FetchResult } from './cluster.js';
import { hashKey } from '../harness/random.js';

export const CLIENT_TIMING = {
  /** How long a client waits for any answer before it calls the request timed out. */
  requestTimeoutMs: 400,
  retryBackoffMs: 50,
  /** The time one message takes on the producer's wire; it bounds a producer's rate. */
  sendCostMs: 0.05,
  /** How long a producer waits for a partition leader before it gives up on a send. */
  maxBlockMs: 1000,
  /** How long a refused connection counts as down before the client tries it again. */
  reconnectBackoffMs: 50,
  /** How long a send may wait for a usable connection before it fails. */
  deliveryTimeoutMs: 2000,
  autoCommitIntervalMs: 100,
  /** How long an empty consumer poll waits before it looks again. */
  pollIdleMs: 10,
} as const;

export class ClientClosed extends Error {
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = 'ClientClosed';
  }
}

type Outcome<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly code: ErrorCode };

/**
 * One request from a client to a broker and its answer, with the client's timeout. `handle` runs
 * at the broker and answers through `reply`, which already crosses the network back.
 */
function request<T>(
  cluster: Cluster,
  brokerId: number,
  handle: (reply: (outcome: Outcome<T>) => void) => void,
): Promise<Outcome<T>> {
  return cluster.sim.wait<Outcome<T>>((resolve) => {
    const timer = cluster.sim.schedule(CLIENT_TIMING.requestTimeoutMs, () =>
      resolve({ kind: 'error', code: 'REQUEST_TIMED_OUT' }),
    );
    const settle = (outcome: Outcome<T>): void => {
      timer.cancel();
      resolve(outcome);
    };
    cluster.deliver(brokerId, () => handle(settle), () => settle({ kind: 'error', code: 'BROKER_NOT_AVAILABLE' }));
  });
}

/** A round trip to the controller or group coordinator, which this model keeps always available. */
async function roundTrip<T>(cluster: Cluster, work: () => T): Promise<T> {
  await cluster.sim.sleep(cluster.latency());
  const value = work();
  await cluster.sim.sleep(cluster.latency());
  return value;
}

export class ReferenceProducer implements Producer {
  private readonly leaders = new Map<number, number | null>();
  /** When each broker last refused a connection: the client holds sends to it for a while. */
  private readonly refusedAtMs = new Map<number, number>();
  private wireFreeAtMs = 0;
  private state: 'open' | 'closed' | 'crashed' = 'open';

  constructor(
    private readonly cluster: Cluster,
    private readonly options: ProducerOptions,
    private readonly info: (source: string, message: string) => void,
  ) {}

  private get name(): string {
    return `producer-${this.options.index}`;
  }

  async send(message: MessageRef): Promise<SendResult> {
    const cluster = this.cluster;
    const partition = hashKey(message.key) % cluster.partitions.length;
    const requestBody = { partition, ...message, ack: this.options.ack };
    let attempt = 0;
    const giveUpAtMs = cluster.sim.now + CLIENT_TIMING.deliveryTimeoutMs;
    for (;;) {
      this.assertOpen();
      const leader = await this.leaderOf(partition);
      this.assertOpen();
      // A connection that was just refused is not ready: the message waits in the client for
      // fresh metadata instead of going out (like a batch in Kafka's accumulator).
      if (cluster.sim.now - (this.refusedAtMs.get(leader) ?? -Infinity) < CLIENT_TIMING.reconnectBackoffMs) {
        this.leaders.delete(partition);
        if (cluster.sim.now >= giveUpAtMs) throw new BrokerError('BROKER_NOT_AVAILABLE');
        await cluster.sim.sleep(CLIENT_TIMING.retryBackoffMs);
        continue;
      }
      // The wire carries one message at a time: that, not the simulation, bounds the rate.
      const departMs = Math.max(cluster.sim.now, this.wireFreeAtMs);
      this.wireFreeAtMs = departMs + CLIENT_TIMING.sendCostMs;
      if (departMs > cluster.sim.now) await cluster.sim.sleep(departMs - cluster.sim.now);
      this.assertOpen();
      if (this.options.ack === 'none') {
        // Fire and forget: the request leaves, and whatever becomes of it, nobody is told.
        cluster.deliver(
          leader,
          () => cluster.produce(leader, requestBody, () => undefined),
          () => this.refusedAtMs.set(leader, cluster.sim.now),
        );
        return { partition, offset: null };
      }
      const outcome = await request<number>(cluster, leader, (reply) =>
        cluster.produce(leader, requestBody, (result) =>
          reply(result instanceof BrokerError ? { kind: 'error', code: result.code } : { kind: 'ok', value: result }),
        ),
      );
      this.assertOpen();
      if (outcome.kind === 'ok') return { partition, offset: outcome.value };
      if (outcome.code === 'BROKER_NOT_AVAILABLE') this.refusedAtMs.set(leader, cluster.sim.now);
      this.leaders.delete(partition);
      if (attempt >= this.options.retries) throw new BrokerError(outcome.code);
      attempt++;
      this.info(this.name, `${message.id}: ${outcome.code} from broker ${leader}, resend ${attempt} of ${this.options.retries}`);
      await cluster.sim.sleep(CLIENT_TIMING.retryBackoffMs);
    }
  }

  /** The partition's leader from the client's metadata cache, refreshed when it has none. */
  private async leaderOf(partition: number): Promise<number> {
    const cached = this.leaders.get(partition);
    if (cached !== undefined && cached !== null) return cached;
    const deadlineMs = this.cluster.sim.now + CLIENT_TIMING.maxBlockMs;
    for (;;) {
      const leader = await roundTrip(this.cluster, () => this.cluster.partition(partition).leader);
      this.assertOpen();
      if (leader !== null) {
        this.leaders.set(partition, leader);
        return leader;
      }
      if (this.cluster.sim.now >= deadlineMs) throw new BrokerError('LEADER_NOT_AVAILABLE');
      await this.cluster.sim.sleep(CLIENT_TIMING.retryBackoffMs);
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new ClientClosed(this.name);
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  async crash(): Promise<void> {
    this.state = 'crashed';
  }
}

export class ReferenceConsumer implements Consumer {
  private readonly memberId: string;
  private generation = -1;
  private assigned: readonly number[] = [];
  private readonly positions = new Map<number, number>();
  private state: 'open' | 'closed' | 'crashed' = 'open';
  private lastAutoCommitMs = 0;
  private polls = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: ConsumerOptions,
    instance: number,
    private readonly info: (source: string, message: string) => void,
  ) {
    this.memberId = `consumer-${options.index}.${instance}`;
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

  private async heartbeat(): Promise<void> {
    const { generation, partitions } = await roundTrip(this.cluster, () =>
      this.cluster.heartbeat(this.options.group, this.memberId),
    );
    this.assertOpen();
    if (generation === this.generation) return;
    this.generation = generation;
    this.assigned = partitions;
    // An eager rebalance, as Kafka's classic group protocol does it: every member gives up all
    // its partitions and starts each assigned one again at the committed offset. What was
    // read but not committed is read again, by whichever member now owns it.
    const committed = this.cluster.committed(this.options.group);
    this.positions.clear();
    for (const p of partitions) this.positions.set(p, committed.get(p) ?? 0);
  }

  private async fetchAssigned(): Promise<DeliveredRecord[]> {
    const cluster = this.cluster;
    const max = this.options.maxPollRecords;
    const partitions = this.assigned;
    const start = partitions.length === 0 ? 0 : this.polls++ % partitions.length;
    const order = [...partitions.slice(start), ...partitions.slice(0, start)];
    const answers = await Promise.all(
      order.map(async (p) => {
        const leader = cluster.partition(p).leader;
        const from = this.positions.get(p) ?? 0;
        if (leader === null) return { p, from, result: undefined };
        const outcome = await request<FetchResult>(cluster, leader, (reply) => {
          const incarnation = cluster.broker(leader).incarnation;
          const result = cluster.fetch(leader, p, from, max);
          cluster.replyFrom(leader, incarnation, () => reply({ kind: 'ok', value: result }));
        });
        return { p, from, result: outcome.kind === 'ok' ? outcome.value : undefined };
      }),
    );
    const records: DeliveredRecord[] = [];
    for (const { p, from, result } of answers) {
      // An answer for a partition this member lost, or from a stale position, is dropped.
      if (result === undefined || this.positions.get(p) !== from || !this.assigned.includes(p)) continue;
      if (result.kind === 'out-of-range') {
        this.info(this.memberId, `partition ${p}: offset ${from} is past the log end ${result.leo}; reset to it`);
        this.positions.set(p, result.leo);
        continue;
      }
      if (result.kind === 'error') continue;
      for (const record of result.records) {
        if (records.length >= max) break;
        records.push({ id: record.id, partition: p, offset: record.offset });
        this.positions.set(p, record.offset + 1);
      }
    }
    return records;
  }

  private async autoCommit(): Promise<void> {
    this.lastAutoCommitMs = this.cluster.sim.now;
    try {
      await this.commit(new Map(this.positions));
    } catch (error) {
      this.info(this.memberId, `auto-commit failed: ${(error as Error).message}`);
    }
  }

  async commit(offsets: ReadonlyMap<number, number>): Promise<void> {
    this.assertOpen();
    const code = await roundTrip(this.cluster, () =>
      this.cluster.commit(this.options.group, this.memberId, this.generation, offsets),
    );
    if (code !== null) throw new BrokerError(code);
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    if (this.options.autoCommit) await this.autoCommit();
    this.state = 'closed';
    await roundTrip(this.cluster, () => this.cluster.leave(this.options.group, this.memberId));
  }

  async crash(): Promise<void> {
    this.state = 'crashed';
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new ClientClosed(this.memberId);
  }
}
