// Producer and consumer clients of the reference broker, with the behaviour of Kafka's clients
// that matters to delivery guarantees: a metadata cache that goes stale, request timeouts,
// retries that resend (and so may store a message twice unless the producer is idempotent),
// transactions with a coordinator, consumer positions that restart from the committed offset
// after a rebalance, and commits that fail when the group moved on.

import type {
  Acknowledgment,
  Consumer,
  ConsumerOptions,
  DeliveredRecord,
  Producer,
  ProducerOptions,
  SendResult,
  TransactionalProducer,
  TransactionalProducerOptions,
} from '../adapters/contract.js';
import { OffsetLogConsumer } from '../adapters/offset-log.js';
import { hashKey } from '../core/random.js';
import type { MessageRef } from '../spec/history.js';
import { BrokerError, type Cluster, type ErrorCode, type FetchResult, type PartitionState } from './broker/cluster.js';
import type { Endpoint } from './substrate/network.js';
import type { ProducerIdentity, TransactionCoordinator } from './broker/transactions.js';

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
  /** How long a request to the transaction coordinator is retried before it fails. */
  coordinatorTimeoutMs: 5000,
  autoCommitIntervalMs: 100,
  /** How often a consumer's background thread tells the group it is alive. */
  heartbeatIntervalMs: 50,
  /** How long an empty consumer poll waits before it looks again. */
  pollIdleMs: 10,
} as const;

/** Errors after which a resend cannot help: the producer was fenced or the request is wrong. */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'INVALID_TXN_STATE',
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
]);

export class ClientClosed extends Error {
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = 'ClientClosed';
  }
}

type Outcome<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly code: ErrorCode };

/**
 * One request from the client at endpoint `client` to a broker and its answer, with the client's
 * timeout. `handle` runs at the broker and answers through `reply`; the answer must cross the
 * network back itself, on the same connection (Cluster.replyFrom to `client`).
 */
function request<T>(
  cluster: Cluster,
  client: Endpoint,
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
    cluster.deliver(client, brokerId, () => handle(settle), () => settle({ kind: 'error', code: 'BROKER_NOT_AVAILABLE' }));
  });
}

/** A request whose work runs at the broker at once; the answer crosses the network back. */
function call<T>(cluster: Cluster, client: Endpoint, brokerId: number, work: () => T | BrokerError): Promise<Outcome<T>> {
  return request<T>(cluster, client, brokerId, (reply) => {
    const incarnation = cluster.broker(brokerId).incarnation;
    const result = work();
    cluster.replyFrom(brokerId, incarnation, client, () =>
      reply(result instanceof BrokerError ? { kind: 'error', code: result.code } : { kind: 'ok', value: result }),
    );
  });
}

/** What a failed request was and what it waited for, for its error: `Produce to broker 1 (after 3 resends)`. */
function requestFailure(what: string, broker: number, code: ErrorCode, resends: number): string {
  const waited = code === 'REQUEST_TIMED_OUT' ? ` got no answer within ${CLIENT_TIMING.requestTimeoutMs} ms` : '';
  const tries = resends > 0 ? ` (after ${resends} ${resends === 1 ? 'resend' : 'resends'})` : '';
  return `${what} to broker ${broker}${waited}${tries}`;
}

/**
 * A round trip of the client at endpoint `client` to the controller or group coordinator, which
 * this model keeps always available. It goes over the client's one connection to it, so one
 * client's requests are handled, and answered, in the order it made them.
 */
function roundTrip<T>(cluster: Cluster, client: Endpoint, work: () => T): Promise<T> {
  const network = cluster.network;
  const controller = cluster.controllerEndpoint;
  return cluster.sim.wait<T>((resolve, reject) => {
    network.send(client, controller, () => {
      let value: T;
      try {
        value = work();
      } catch (error) {
        // The caller gets the work's error as a rejection, as from any awaited call; thrown
        // inside an event, it would end the whole simulation instead.
        network.send(controller, client, () => reject(error instanceof Error ? error : new Error(String(error))));
        return;
      }
      network.send(controller, client, () => resolve(value));
    });
  });
}

interface SendStamp {
  readonly identity: ProducerIdentity;
  readonly pseq: number;
  readonly txn: boolean;
}

export class ReferenceProducer implements Producer {
  private readonly leaders = new Map<number, number | null>();
  /** The metadata lookup under way for each partition the cache names no leader for. */
  private readonly lookups = new Map<number, Promise<number>>();
  /** When each broker last refused a connection: the client holds sends to it for a while. */
  private readonly refusedAtMs = new Map<number, number>();
  private wireFreeAtMs = 0;
  protected state: 'open' | 'closed' | 'crashed' = 'open';
  /** The idempotent producer's id and epoch, and its next sequence number per partition. */
  protected identity: ProducerIdentity | undefined;
  protected readonly sequences = new Map<number, number>();
  /** The last send to each partition: an idempotent producer sends one at a time per partition. */
  private readonly chains = new Map<number, Promise<unknown>>();
  /** This instance's end of its connections to the brokers and the controller. */
  protected readonly endpoint: Endpoint;

  constructor(
    protected readonly cluster: Cluster,
    protected readonly coordinator: TransactionCoordinator,
    protected readonly options: ProducerOptions,
    protected readonly info: (source: string, message: string) => void,
  ) {
    this.endpoint = cluster.network.endpoint();
  }

  protected get name(): string {
    return this.options.topic === 'input' ? `producer-${this.options.index}` : `pipeline-${this.options.index}`;
  }

  send(message: MessageRef): Promise<SendResult> {
    const part = this.partitionFor(message);
    if (!this.options.idempotent) return this.sendTo(part, message, undefined);
    return this.inSendOrder(part, () => this.sendIdempotent(part, message));
  }

  protected partitionFor(message: MessageRef): PartitionState {
    const parts = this.cluster.topicPartitions(this.options.topic);
    return parts[hashKey(message.key) % parts.length] as PartitionState;
  }

  /**
   * Runs `step` once the previous step for the same partition settled. Sequence numbers must
   * reach the leader in order: Kafka keeps up to five batches in flight and reorders them on
   * error, and sending one at a time per partition gives the same guarantee. The place in the
   * chain is taken when this is called, so calling it from send() without awaiting anything
   * first gives the steps, and the sequence numbers they take, the order of the send() calls.
   */
  protected inSendOrder(part: PartitionState, step: () => Promise<SendResult>): Promise<SendResult> {
    const previous = this.chains.get(part.key) ?? Promise.resolve();
    const mine = previous.then(step);
    this.chains.set(
      part.key,
      mine.catch(() => undefined),
    );
    return mine;
  }

  protected async ensureIdentity(): Promise<ProducerIdentity> {
    if (this.identity === undefined) {
      const pid = await roundTrip(this.cluster, this.endpoint, () => this.coordinator.allocatePid());
      this.identity = { pid, epoch: 0 };
    }
    return this.identity;
  }

  protected async sendIdempotent(part: PartitionState, message: MessageRef, txn = false): Promise<SendResult> {
    const identity = await this.ensureIdentity();
    const pseq = this.sequences.get(part.key) ?? 0;
    this.sequences.set(part.key, pseq + 1);
    try {
      return await this.sendTo(part, message, { identity, pseq, txn });
    } catch (error) {
      // A send given up leaves a gap in the sequence that the broker would refuse forever.
      // Kafka's producer then bumps its epoch and starts its sequences again (KIP-360).
      if (!txn && this.state === 'open' && this.identity === identity) {
        this.identity = { pid: identity.pid, epoch: identity.epoch + 1 };
        this.sequences.clear();
        this.info(this.name, `bumped producer epoch to ${this.identity.epoch} after ${message.id} failed`);
      }
      throw error;
    }
  }

  private async sendTo(part: PartitionState, message: MessageRef, stamp: SendStamp | undefined): Promise<SendResult> {
    const cluster = this.cluster;
    const requestBody = {
      partition: part.key,
      ...message,
      ack: this.options.ack,
      ...(stamp === undefined
        ? {}
        : { pid: stamp.identity.pid, producerEpoch: stamp.identity.epoch, pseq: stamp.pseq, txn: stamp.txn }),
    };
    let attempt = 0;
    const giveUpAtMs = cluster.sim.now + CLIENT_TIMING.deliveryTimeoutMs;
    for (;;) {
      this.assertOpen();
      const leader = await this.leaderOf(part);
      this.assertOpen();
      // A connection that was just refused is not ready: the message waits in the client for
      // fresh metadata instead of going out (like a batch in Kafka's accumulator).
      if (cluster.sim.now - (this.refusedAtMs.get(leader) ?? -Infinity) < CLIENT_TIMING.reconnectBackoffMs) {
        this.leaders.delete(part.key);
        if (cluster.sim.now >= giveUpAtMs) {
          throw new BrokerError('BROKER_NOT_AVAILABLE', `Produce gave up after ${CLIENT_TIMING.deliveryTimeoutMs} ms without a connection to broker ${leader}`);
        }
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
          this.endpoint,
          leader,
          () => cluster.produce(leader, this.endpoint, requestBody, () => undefined),
          () => this.refusedAtMs.set(leader, cluster.sim.now),
        );
        return { partition: part.index, offset: null };
      }
      const outcome = await request<number>(cluster, this.endpoint, leader, (reply) =>
        cluster.produce(leader, this.endpoint, requestBody, (result) =>
          reply(result instanceof BrokerError ? { kind: 'error', code: result.code } : { kind: 'ok', value: result }),
        ),
      );
      this.assertOpen();
      if (outcome.kind === 'ok') return { partition: part.index, offset: outcome.value };
      if (outcome.code === 'BROKER_NOT_AVAILABLE') this.refusedAtMs.set(leader, cluster.sim.now);
      this.leaders.delete(part.key);
      if (FATAL.has(outcome.code) || attempt >= this.options.retries) {
        throw new BrokerError(outcome.code, requestFailure('Produce', leader, outcome.code, attempt));
      }
      attempt++;
      this.info(this.name, `${message.id}: ${outcome.code} from broker ${leader}, resend ${attempt} of ${this.options.retries}`);
      await cluster.sim.sleep(CLIENT_TIMING.retryBackoffMs);
    }
  }

  /**
   * The partition's leader from the client's metadata cache, refreshed when it has none. Every
   * send that finds no leader waits for the one lookup of the partition under way: Kafka's
   * producer holds a partition's records in send order until metadata names its leader, then
   * sends them in that order. A lookup of its own per send would let a send whose answer came
   * back first overtake the sends made before it, or a later send find the leader cached and go
   * out while earlier ones still wait for their answers.
   */
  private leaderOf(part: PartitionState): Promise<number> {
    const cached = this.leaders.get(part.key);
    if (cached !== undefined && cached !== null) return Promise.resolve(cached);
    const pending = this.lookups.get(part.key);
    if (pending !== undefined) return pending;
    const lookup = this.lookUpLeader(part).finally(() => this.lookups.delete(part.key));
    this.lookups.set(part.key, lookup);
    return lookup;
  }

  private async lookUpLeader(part: PartitionState): Promise<number> {
    const deadlineMs = this.cluster.sim.now + CLIENT_TIMING.maxBlockMs;
    for (;;) {
      const leader = await roundTrip(this.cluster, this.endpoint, () => part.leader);
      this.assertOpen();
      if (leader !== null) {
        this.leaders.set(part.key, leader);
        return leader;
      }
      if (this.cluster.sim.now >= deadlineMs) {
        throw new BrokerError('LEADER_NOT_AVAILABLE', `Metadata gave up after ${CLIENT_TIMING.maxBlockMs} ms without a leader of partition ${part.index}`);
      }
      await this.cluster.sim.sleep(CLIENT_TIMING.retryBackoffMs);
    }
  }

  protected assertOpen(): void {
    if (this.state !== 'open') throw new ClientClosed(this.name);
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  async crash(): Promise<void> {
    this.state = 'crashed';
  }
}

export class ReferenceTransactionalProducer extends ReferenceProducer implements TransactionalProducer {
  private inTransaction = false;
  /** The acknowledgment the open transaction holds, saved for its consumer when it commits. */
  private staged: { readonly consumer: ReferenceConsumer; readonly acknowledgment: Acknowledgment } | undefined;
  /**
   * The AddPartitionsToTxn of each partition of the open transaction: asked by its first send
   * and awaited by every send to it, so that it is asked once per transaction.
   */
  private readonly partitionsAdded = new Map<number, Promise<void>>();

  constructor(
    cluster: Cluster,
    coordinator: TransactionCoordinator,
    private readonly transactionalOptions: TransactionalProducerOptions,
    info: (source: string, message: string) => void,
  ) {
    super(cluster, coordinator, { ...transactionalOptions, idempotent: true }, info);
  }

  /** Gets a producer id and a new epoch from the coordinator, which fences older producers. */
  async init(): Promise<void> {
    this.identity = await this.coordinatorRequest('InitProducerId', () =>
      this.coordinator.initProducerId(this.transactionalOptions.transactionalId),
    );
    this.sequences.clear();
  }

  protected override async ensureIdentity(): Promise<ProducerIdentity> {
    if (this.identity === undefined) throw new BrokerError('INVALID_TXN_STATE');
    return this.identity;
  }

  async begin(): Promise<void> {
    this.assertOpen();
    if (this.inTransaction) throw new BrokerError('INVALID_TXN_STATE');
    this.inTransaction = true;
    this.partitionsAdded.clear();
  }

  /**
   * Kafka's transactional producer appends records in send() order, and adds a partition new to
   * the transaction before it sends the partition's first batch. So a send takes its place in
   * the partition's chain at once, and awaits the partition's AddPartitionsToTxn inside its
   * step. Awaiting that answer first, as each send's own, would let whichever of two sends made
   * at once heard back first take the lower sequence number.
   */
  override async send(message: MessageRef): Promise<SendResult> {
    this.assertOpen();
    if (!this.inTransaction) throw new BrokerError('INVALID_TXN_STATE');
    const part = this.partitionFor(message);
    const added = this.addPartition(part);
    return this.inSendOrder(part, async () => {
      await added;
      return this.sendIdempotent(part, message);
    });
  }

  /** The partition's AddPartitionsToTxn in the open transaction, asked now if nobody asked yet. */
  private addPartition(part: PartitionState): Promise<void> {
    const asked = this.partitionsAdded.get(part.key);
    if (asked !== undefined) return asked;
    const adding = this.coordinatorRequest('AddPartitionsToTxn', () =>
      this.coordinator.addPartitions(this.transactionalOptions.transactionalId, this.currentIdentity(), [part.key]),
    ).then(() => undefined);
    this.partitionsAdded.set(part.key, adding);
    // The sends waiting on a request that failed fail with it; the next send asks again.
    adding.catch(() => {
      if (this.partitionsAdded.get(part.key) === adding) this.partitionsAdded.delete(part.key);
    });
    return adding;
  }

  protected override sendIdempotent(part: PartitionState, message: MessageRef): Promise<SendResult> {
    return super.sendIdempotent(part, message, true);
  }

  async stageAck(consumer: Consumer, acknowledgment: Acknowledgment): Promise<void> {
    this.assertOpen();
    if (!this.inTransaction) throw new BrokerError('INVALID_TXN_STATE');
    if (!(consumer instanceof ReferenceConsumer)) throw new Error('the acknowledgment must come from a reference consumer');
    const member = consumer.groupMetadata();
    await this.coordinatorRequest('AddOffsetsToTxn', () =>
      this.coordinator.addOffsets(this.transactionalOptions.transactionalId, this.currentIdentity(), member.group, member, acknowledgment.positions),
    );
    this.staged = { consumer, acknowledgment };
  }

  async commit(): Promise<void> {
    const staged = this.staged;
    await this.endTransaction(true);
    staged?.consumer.savedByTransaction(staged.acknowledgment);
  }

  async abort(): Promise<void> {
    await this.endTransaction(false);
  }

  private async endTransaction(commit: boolean): Promise<void> {
    this.assertOpen();
    if (!this.inTransaction) throw new BrokerError('INVALID_TXN_STATE');
    this.inTransaction = false;
    this.staged = undefined;
    await this.coordinatorRequest(commit ? 'EndTxn(commit)' : 'EndTxn(abort)', () =>
      this.coordinator.endTxn(this.transactionalOptions.transactionalId, this.currentIdentity(), commit),
    );
  }

  private currentIdentity(): ProducerIdentity {
    if (this.identity === undefined) throw new BrokerError('INVALID_TXN_STATE');
    return this.identity;
  }

  /** A request to the transaction coordinator, found anew and retried until it answers. */
  private async coordinatorRequest<T>(what: string, work: () => T | BrokerError): Promise<T> {
    const cluster = this.cluster;
    const transactionalId = this.transactionalOptions.transactionalId;
    const giveUpAtMs = cluster.sim.now + CLIENT_TIMING.coordinatorTimeoutMs;
    let lastCode: ErrorCode = 'NOT_COORDINATOR';
    for (;;) {
      this.assertOpen();
      const host = cluster.coordinatorFor(transactionalId);
      if (host !== null) {
        const outcome = await request<T>(cluster, this.endpoint, host, (reply) => {
          const incarnation = cluster.broker(host).incarnation;
          const result = cluster.coordinatorFor(transactionalId) === host ? work() : new BrokerError('NOT_COORDINATOR');
          // A lost answer of the coordinator leaves the client to time out and ask again.
          if (!(result instanceof BrokerError) && cluster.dropAck(host, `${what} of ${transactionalId}`)) return;
          cluster.replyFrom(host, incarnation, this.endpoint, () =>
            reply(result instanceof BrokerError ? { kind: 'error', code: result.code } : { kind: 'ok', value: result }),
          );
        });
        this.assertOpen();
        if (outcome.kind === 'ok') return outcome.value;
        if (FATAL.has(outcome.code)) throw new BrokerError(outcome.code, requestFailure(what, host, outcome.code, 0));
        lastCode = outcome.code;
      }
      if (cluster.sim.now >= giveUpAtMs) {
        this.info(this.name, `${what} gave up after ${CLIENT_TIMING.coordinatorTimeoutMs} ms: ${lastCode}`);
        const unfound = host === null ? ' finding no coordinator' : '';
        throw new BrokerError(lastCode, `${what} gave up after ${CLIENT_TIMING.coordinatorTimeoutMs} ms${unfound}`);
      }
      await cluster.sim.sleep(CLIENT_TIMING.retryBackoffMs);
    }
  }
}

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
