// The kafka adapter's producers and consumers as the runner sees them. Each one is a proxy for a
// kafkajs client running in a worker thread (worker.ts); messages.ts explains why. A consumer's
// delivery queue and positions live here, in the main thread, because the contract reads
// positions() synchronously.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type {
  Acknowledgment,
  Consumer,
  DeliveredRecord,
  Producer,
  SendCallbacks,
  SendResult,
  TransactionalProducer,
} from '../contract.js';
import type { MessageRef } from '../../spec/history.js';
import { OffsetLogConsumer } from '../offset-log.js';
import { packageRoot } from '../../core/package-root.js';
import { SendTable, type Rejected, type Resolved } from './send-table.js';
import {
  SendBatchWriter,
  withBudget,
  type ClientEvent,
  type ClientSpec,
  type OffsetList,
  type OperationName,
  type Operations,
  type ToClient,
} from './messages.js';

/** Starting a thread and connecting its client; a transactional one also fences its predecessor. */
const CLIENT_START_BUDGET_MS = 25_000;
/** A thread that does not end on its own after closing is terminated after this. */
const CLIENT_EXIT_GRACE_MS = 2_000;

/**
 * The compiled client thread. Next to this module when it runs from dist/; when it runs from the
 * TypeScript sources (under vitest), the build's copy, since a worker thread cannot load .ts.
 */
function workerFile(): string {
  const sibling = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const built = join(packageRoot(), 'dist', 'adapters', 'kafka', 'worker.js');
  if (existsSync(built)) return built;
  throw new Error(`the kafka adapter's client thread ${built} is missing; run "npm run build"`);
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** One worker thread running one kafkajs client, with typed request/reply over its message port. */
export class ClientThread {
  private readonly worker: Worker;
  /** Requests waiting for their answer, by id; requests and sends count from the same nextId. */
  private readonly pending = new Map<number, Pending>();
  /** Sends waiting for their outcome. */
  private readonly sends = new SendTable();
  private nextId = 1;
  /**
   * Sends made in this turn of the event loop, posted together at its end (see ToClient `send`),
   * with the id of the first. Their ids are consecutive: call() posts the queued sends before it
   * takes an id of its own.
   */
  private queuedFirstId = 0;
  private readonly queued = new SendBatchWriter();
  private flushScheduled = false;
  /**
   * One executor for every send's promise, which leaves its resolving functions here for
   * sendMessage() to file: a closure per send would be one more object per send to collect.
   */
  private capturedResolve: (result: SendResult) => void = () => undefined;
  private capturedReject: (error: Error) => void = () => undefined;
  private readonly capture = (resolve: (result: SendResult) => void, reject: (error: Error) => void): void => {
    this.capturedResolve = resolve;
    this.capturedReject = reject;
  };
  /** Why the thread can no longer answer, once it cannot. */
  private ended: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    spec: ClientSpec,
    private readonly onEvent: (event: ClientEvent) => void,
  ) {
    this.worker = new Worker(workerFile(), { workerData: spec });
    this.worker.on('message', (event: ClientEvent) => this.receive(event));
    this.worker.on('error', (error: Error) => this.end(new Error(`${name} failed: ${error.message}`)));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', () => {
        this.end(new Error(`${name} has stopped`));
        resolve();
      });
    });
  }

  /** Starts the thread and resolves once its client is connected. */
  static async start(name: string, spec: ClientSpec, onEvent: (event: ClientEvent) => void = () => undefined): Promise<ClientThread> {
    let ready: (() => void) | undefined;
    let failed: ((error: Error) => void) | undefined;
    const started = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    const thread = new ClientThread(name, spec, (event) => {
      if (event.event === 'ready') ready?.();
      else if (event.event === 'failed') failed?.(new Error(`${name} could not start: ${event.error}`));
      else onEvent(event);
    });
    void thread.exited.then(() => failed?.(thread.ended ?? new Error(`${name} stopped while starting`)));
    try {
      await withBudget(started, CLIENT_START_BUDGET_MS, `starting ${name}`);
    } catch (error) {
      await thread.terminate();
      throw error;
    }
    return thread;
  }

  private receive(event: ClientEvent): void {
    if (event.event === 'sent') {
      this.settleSends(event);
      return;
    }
    if (event.event !== 'reply') {
      this.onEvent(event);
      return;
    }
    const pending = this.pending.get(event.id);
    if (pending === undefined) return;
    this.pending.delete(event.id);
    if (event.ok) pending.resolve(event.value);
    else pending.reject(new Error(event.error));
  }

  private settleSends(event: Extract<ClientEvent, { event: 'sent' }>): void {
    const { ids, partitions, offsets } = event;
    for (let index = 0; index < ids.length; index++) {
      const offset = offsets[index] ?? -1;
      this.sends.resolve(ids[index] ?? 0, { partition: partitions[index] ?? 0, offset: offset < 0 ? null : offset });
    }
    for (const [id, error] of event.errors) this.sends.reject(id, new Error(error));
  }

  private end(reason: Error): void {
    this.ended ??= reason;
    this.queued.clear();
    // Everything outstanding fails in the order it was asked for, requests and sends alike.
    for (const [id, pending] of this.pending) {
      this.sends.rejectBefore(id, this.ended);
      pending.reject(this.ended);
    }
    this.pending.clear();
    this.sends.rejectAll(this.ended);
  }

  call<K extends OperationName>(op: K, args: Operations[K]['args']): Promise<Operations[K]['result']> {
    if (this.ended !== undefined) return Promise.reject(this.ended);
    // Sends made before this call reach the thread before it, as they were made: a commit must
    // not overtake the sends of its transaction.
    this.flushSends();
    const id = this.nextId++;
    return new Promise<Operations[K]['result']>((resolve, reject) => {
      // The thread answers request `id` with the result of operation `op`, so the value it sends
      // back is that operation's result type.
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.post({ kind: 'request', id, op, args });
    });
  }

  /**
   * Has the producer thread send a message; resolves with where the broker stored it. The sends
   * of one turn of the event loop cross to the thread in one message at the end of the turn.
   */
  sendMessage(message: MessageRef): Promise<SendResult> {
    if (this.ended !== undefined) return Promise.reject(this.ended);
    // The thread answers send `id` with a SendResult (see settleSends).
    const sent = new Promise<SendResult>(this.capture);
    this.queueSend(message, this.capturedResolve, this.capturedReject, 0);
    return sent;
  }

  /** sendMessage() without a promise: the outcome goes to `callbacks` with `token`. */
  sendMessageWith(message: MessageRef, callbacks: SendCallbacks, token: number): void {
    if (this.ended !== undefined) {
      const reason = this.ended;
      // Never before the call returns, as the contract says.
      queueMicrotask(() => callbacks.failed(reason, token));
      return;
    }
    this.queueSend(message, callbacks.sent, callbacks.failed, token);
  }

  private queueSend(message: MessageRef, resolve: Resolved, reject: Rejected, token: number): void {
    const id = this.nextId++;
    this.sends.add(id, resolve, reject, token);
    if (this.queued.size === 0) this.queuedFirstId = id;
    this.queued.add(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushLater);
    }
  }

  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flushSends();
  };

  private flushSends(): void {
    if (this.queued.size === 0) return;
    this.post({ kind: 'send', batch: this.queued.take(this.queuedFirstId) });
  }

  post(message: ToClient): void {
    if (this.ended === undefined) this.worker.postMessage(message);
  }

  get alive(): boolean {
    return this.ended === undefined;
  }

  /** Ends the thread at once: its sockets close with no goodbye, as a killed process's would. */
  async terminate(): Promise<void> {
    this.end(new Error(`${this.name} was stopped`));
    await this.worker.terminate();
    await this.exited;
  }

  /** Asks the client to close cleanly, then ends the thread whatever the answer. */
  async close(): Promise<void> {
    if (this.ended !== undefined) return;
    try {
      await this.call('close', {});
    } finally {
      // A closed client has nothing left to do; the grace period only lets its last packets out.
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, CLIENT_EXIT_GRACE_MS).unref())]);
      await this.terminate();
    }
  }
}

/** The session's view of the clients it opened, so close() can end any the runner left behind. */
export interface ClientRegistry {
  add(thread: ClientThread): void;
  delete(thread: ClientThread): void;
  /** Reports a fact worth keeping in the history. */
  info(source: string, message: string): void;
}

// ------------------------------------------------------------------------------- producers

export class KafkaProducer implements Producer {
  constructor(
    protected readonly thread: ClientThread,
    protected readonly registry: ClientRegistry,
  ) {}

  send(message: MessageRef): Promise<SendResult> {
    return this.thread.sendMessage(message);
  }

  sendWith(message: MessageRef, callbacks: SendCallbacks, token: number): void {
    this.thread.sendMessageWith(message, callbacks, token);
  }

  async close(): Promise<void> {
    this.registry.delete(this.thread);
    await this.thread.close();
  }

  async crash(): Promise<void> {
    this.registry.delete(this.thread);
    await this.thread.terminate();
  }
}

/** What a transactional producer needs to know of the consumer whose offsets it commits. */
export interface OffsetSource {
  readonly group: string;
  readonly topic: string;
  /** Fails when the consumer's group moved on since the offsets were read; see KafkaConsumer. */
  checkGeneration(): Promise<void>;
  /** A transaction that held the consumer's acknowledgment committed. */
  savedByTransaction(acknowledgment: Acknowledgment): void;
}

export class KafkaTransactionalProducer extends KafkaProducer implements TransactionalProducer {
  /** The consumer whose offsets the open transaction holds, checked again before the commit. */
  private offsetsOf: { readonly source: OffsetSource; readonly acknowledgment: Acknowledgment } | undefined;

  constructor(
    thread: ClientThread,
    registry: ClientRegistry,
    private readonly sourceOf: (consumer: Consumer) => OffsetSource,
  ) {
    super(thread, registry);
  }

  async begin(): Promise<void> {
    this.offsetsOf = undefined;
    await this.thread.call('begin-transaction', {});
  }

  async stageAck(consumer: Consumer, acknowledgment: Acknowledgment): Promise<void> {
    const source = this.sourceOf(consumer);
    await source.checkGeneration();
    this.offsetsOf = { source, acknowledgment };
    await this.thread.call('send-offsets', { group: source.group, topic: source.topic, offsets: offsetList(acknowledgment.positions) });
  }

  async commit(): Promise<void> {
    const staged = this.offsetsOf;
    // A transaction whose input was reassigned meanwhile must not commit; see KafkaConsumer.
    await staged?.source.checkGeneration();
    this.offsetsOf = undefined;
    await this.thread.call('commit-transaction', {});
    staged?.source.savedByTransaction(staged.acknowledgment);
  }

  async abort(): Promise<void> {
    this.offsetsOf = undefined;
    await this.thread.call('abort-transaction', {});
  }
}

// ------------------------------------------------------------------------------- consumers

type QueuedEntry =
  | { readonly kind: 'record'; readonly record: DeliveredRecord; readonly next: number; readonly endsBatch: number | null }
  | { readonly kind: 'advance'; readonly partition: number; readonly next: number };

/** What a consumer needs from its session beyond its thread. */
export interface ConsumerContext {
  readonly name: string;
  /** The Kafka group id and topic behind the runner's names. */
  readonly group: string;
  readonly topic: string;
  readonly maxPollRecords: number;
  /** Where seekToCommitted() goes: the committed offset, or the log start where there is none. */
  committedOrStart(): Promise<ReadonlyMap<number, number>>;
}

/**
 * A consumer over a client thread. The thread streams the records it fetched; poll() hands them
 * out and positions() says where the consumer stands.
 *
 * kafkajs reports each group generation; the thread counts generations and seeks as an `epoch`.
 * Records and positions of an older epoch belong to an assignment that is gone and are dropped.
 * A commit carries the epoch of the poll it follows, and fails when the epoch has changed since:
 * the records it covers were polled under an assignment the group has since replaced, just as a
 * Java consumer's commit fails after a rebalance. A transaction's offsets get the same check
 * before they are added and again before the commit. Java clients since Kafka 2.5 get that check
 * from the broker (KIP-447: the group generation travels with TxnOffsetCommit); kafkajs does not
 * send it, and without the check a pipeline member that lost a partition in a rebalance could
 * commit output for input that another member then processes again.
 */
export class KafkaConsumer extends OffsetLogConsumer implements Consumer, OffsetSource {
  private queue: QueuedEntry[] = [];
  private readonly positionsByPartition = new Map<number, number>();
  private assigned = new Set<number>();
  private epoch = 0;
  private pollEpoch = -1;
  /** Until the first assignment, and from a rebalance or a client crash to the next assignment. */
  private settled = false;
  /** Between asking for a seek and its answer, everything the thread sends is from before it. */
  private seeking = false;
  /** Why the client stopped for good, when kafkajs gave up and will not restart it. */
  private stopped: string | undefined;
  private arrival: (() => void) | undefined;
  private thread: ClientThread | undefined;

  constructor(
    private readonly context: ConsumerContext,
    private readonly registry: ClientRegistry,
  ) {
    super();
  }

  /** Receives the client thread's events; wired up before the thread starts. */
  readonly onEvent = (event: ClientEvent): void => {
    switch (event.event) {
      case 'assigned':
        this.epoch = Math.max(this.epoch, event.epoch);
        this.settled = true;
        this.queue = [];
        this.positionsByPartition.clear();
        this.assigned = new Set(event.partitions);
        this.registry.info(this.context.name, `joined the group with partitions [${event.partitions.join(', ')}]`);
        break;
      case 'rebalancing':
        // Eager rebalancing revokes every partition: what was fetched but not delivered is dropped,
        // as a Java consumer drops it, and is fetched again by whoever gets the partition.
        this.settled = false;
        this.queue = [];
        break;
      case 'stopped':
        this.settled = false;
        this.queue = [];
        this.registry.info(this.context.name, `the consumer stopped (${event.error})${event.restart ? '; it starts again' : ''}`);
        if (!event.restart) this.stopped = event.error;
        break;
      case 'records':
        if (this.seeking || event.epoch !== this.epoch) return;
        event.records.forEach((record, index) => {
          const last = index === event.records.length - 1;
          this.queue.push({
            kind: 'record',
            record,
            next: last ? event.next : record.offset + 1,
            endsBatch: last ? event.batch : null,
          });
        });
        break;
      case 'advance':
        if (this.seeking || event.epoch !== this.epoch) return;
        this.queue.push({ kind: 'advance', partition: event.partition, next: event.next });
        break;
      case 'log':
        this.registry.info(this.context.name, event.message);
        return;
      default:
        return;
    }
    const arrival = this.arrival;
    this.arrival = undefined;
    arrival?.();
  };

  get group(): string {
    return this.context.group;
  }

  get topic(): string {
    return this.context.topic;
  }

  attach(thread: ClientThread): void {
    this.thread = thread;
  }

  private get client(): ClientThread {
    if (this.thread === undefined) throw new Error(`${this.context.name} has no client thread`);
    return this.thread;
  }

  async poll(timeoutMs: number): Promise<readonly DeliveredRecord[]> {
    if (this.stopped !== undefined) throw new Error(`${this.context.name} stopped: ${this.stopped}`);
    if (!this.client.alive) throw new Error(`${this.context.name} is closed`);
    if (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.arrival = undefined;
          resolve();
        }, timeoutMs);
        this.arrival = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const records: DeliveredRecord[] = [];
    while (this.queue.length > 0) {
      const entry = this.queue[0] as QueuedEntry;
      if (entry.kind === 'advance') {
        this.positionsByPartition.set(entry.partition, Math.max(entry.next, this.positionsByPartition.get(entry.partition) ?? 0));
      } else {
        if (records.length >= this.context.maxPollRecords) break;
        records.push(entry.record);
        this.positionsByPartition.set(entry.record.partition, entry.next);
        if (entry.endsBatch !== null) this.client.post({ kind: 'consumed', batch: entry.endsBatch });
      }
      this.queue.shift();
    }
    this.pollEpoch = this.epoch;
    return records;
  }

  positions(): ReadonlyMap<number, number> {
    return new Map(this.positionsByPartition);
  }

  assignment(): ReadonlySet<number> {
    return this.settled ? new Set(this.assigned) : new Set();
  }

  /** Fails unless the records of the last poll still belong to this consumer (see the class comment). */
  async checkGeneration(): Promise<void> {
    if (!this.settled) throw new Error(`${this.context.name}'s group is rebalancing; its last poll belongs to the old assignment`);
    if (this.pollEpoch !== this.epoch) throw new Error(`${this.context.name}'s assignment or position changed since its last poll`);
    await this.client.call('check-generation', { epoch: this.epoch });
  }

  async seekToCommitted(): Promise<void> {
    this.seeking = true;
    this.queue = [];
    try {
      const target = await this.context.committedOrStart();
      const answer = await this.client.call('seek', { offsets: offsetList(target) });
      // An assignment that arrived meanwhile is newer than the seek, and its positions win.
      if (answer.epoch > this.epoch) {
        this.epoch = answer.epoch;
        this.queue = [];
        this.positionsByPartition.clear();
        this.assigned = new Set(answer.assigned);
        for (const partition of answer.assigned) {
          const offset = target.get(partition);
          if (offset !== undefined) this.positionsByPartition.set(partition, offset);
        }
      }
    } finally {
      this.seeking = false;
    }
  }

  async commit(offsets: ReadonlyMap<number, number>): Promise<void> {
    if (!this.settled) throw new Error(`${this.context.name}'s group is rebalancing; the commit would save the old assignment's offsets`);
    if (this.pollEpoch !== this.epoch) throw new Error(`${this.context.name}'s assignment or position changed since its last poll`);
    const notOurs = [...offsets.keys()].filter((partition) => !this.assigned.has(partition));
    if (notOurs.length > 0) throw new Error(`${this.context.name} is not assigned partitions ${notOurs.join(', ')}`);
    if (offsets.size === 0) return;
    await this.client.call('commit', { epoch: this.epoch, offsets: offsetList(offsets) });
  }

  async close(): Promise<void> {
    this.registry.delete(this.client);
    await this.client.close();
  }

  async crash(): Promise<void> {
    this.registry.delete(this.client);
    await this.client.terminate();
  }
}

export function offsetList(offsets: ReadonlyMap<number, number>): OffsetList {
  return [...offsets].sort(([a], [b]) => a - b);
}
