// Producer and consumer clients of the reference broker, with the behaviour of Kafka's clients
// that matters to delivery guarantees: a metadata cache that goes stale, request timeouts,
// retries that resend (and so may store a message twice unless the producer is idempotent),
// transactions with a coordinator, consumer positions that restart from the committed offset
// after a rebalance, and commits that fail when the group moved on.
//
// This file holds the producers, plain, idempotent and transactional; the consumer is in
// consumer.ts, and what every client shares (timings, requests, round trips) in
// client-requests.ts.

import type {
  Acknowledgment,
  Consumer,
  Producer,
  ProducerOptions,
  SendResult,
  TransactionalProducer,
  TransactionalProducerOptions,
} from '../adapters/contract.js';
import { hashKey } from '../core/random.js';
import type { MessageRef } from '../spec/history.js';
import { BrokerError, type Cluster, type ErrorCode, type PartitionState } from './broker/cluster.js';
import type { Endpoint } from './substrate/network.js';
import type { ProducerIdentity, TransactionCoordinator } from './broker/transactions.js';
import { CLIENT_TIMING, ClientClosed, request, requestFailure, roundTrip } from './client-requests.js';
import { ReferenceConsumer } from './consumer.js';

/** Errors after which a resend cannot help: the producer was fenced or the request is wrong. */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'INVALID_TXN_STATE',
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
]);

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
