// What the kafka adapter's main thread and its client threads say to each other, the kafkajs
// settings both sides share, and how a workload message becomes a Kafka record and back.
//
// Every producer and consumer runs kafkajs in a worker thread of its own, so that a crash can be
// what a killed process is: the thread is terminated, its sockets close without a goodbye, no
// LeaveGroup, no EndTxn, no flush and no retry is ever sent again. The main thread talks to a
// client thread with the requests typed in `Operations` and hears back replies and, from a
// consumer, a stream of `ClientEvent`s.

import { connect, isIP } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { ISocketFactory, KafkaConfig, LogEntry, RecordMetadata } from 'kafkajs';
import type { ClusterConnection } from '../contract.js';
import type { MessageRef, PlacedRecord } from '../../spec/history.js';
import type { AckMode } from '../../spec/vocabulary.js';

/**
 * Bumped whenever a message below changes shape. Tests run the adapter from TypeScript sources
 * but its client threads from dist/, so a stale build is caught here with a clear message
 * instead of as a confusing failure.
 */
export const THREAD_PROTOCOL_VERSION = 5;

/**
 * The adapter's own timeouts. Each one is shorter than the runner's 30 s deadline per operation,
 * so a slow broker ends in an error that says what kafkajs was doing, not in a bare deadline.
 */
export const KAFKA_TIMING = {
  connectionTimeoutMs: 3_000,
  /** A request's answer may take this long; longer than the produce acknowledgment wait below. */
  requestTimeoutMs: 15_000,
  /**
   * The adapter's own metadata and offset requests are quick; one sent to a paused broker gives up
   * after this and goes to another broker, so a fault does not wait out the long timeout above.
   */
  adminRequestTimeoutMs: 5_000,
  /**
   * How long a leader waits for the in-sync replicas before it answers a produce request with a
   * timeout. Longer than the broker's replica.lag.time.max.ms (5 s on the local cluster), so a
   * stalled follower is dropped from the ISR and the write acknowledged rather than timed out.
   */
  produceAckTimeoutMs: 10_000,
  /** A send that kafkajs has neither acknowledged nor given up on by now is reported as failed. */
  sendBudgetMs: 25_000,
  /** Any other single client operation (commit, transaction step, close). */
  operationBudgetMs: 25_000,
  /** Between retries kafkajs waits from 100 ms, doubling, to at most 1 s, so retries span seconds. */
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 1_000,
  /** A crashed consumer is noticed by its group after this long without a heartbeat. */
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 1_000,
  /** How long the group coordinator waits for every member to rejoin during a rebalance. */
  rebalanceTimeoutMs: 15_000,
  /** A fetch with nothing to return comes back after this long, so an idle consumer stays lively. */
  fetchMaxWaitMs: 250,
  maxBytesPerPartition: 256 * 1024,
  /** An open transaction of a producer that vanished is aborted by its coordinator after this. */
  transactionTimeoutMs: 30_000,
  /** How often an auto-committing consumer commits what it has delivered. */
  autoCommitIntervalMs: 500,
} as const;

/** TLS and SASL for a user's cluster; plain data, so it crosses into client threads as it is. */
export type KafkaSecurity = Omit<ClusterConnection, 'brokers'>;

interface ClientBase {
  readonly protocolVersion: number;
  readonly brokers: readonly string[];
  readonly security?: KafkaSecurity;
  /** kafkajs clientId: names the client in broker logs. */
  readonly clientId: string;
  /** The topic the client writes or reads. */
  readonly topic: string;
}

export interface ProducerSpec extends ClientBase {
  readonly kind: 'producer';
  readonly partitions: number;
  readonly ack: AckMode;
  readonly retries: number;
  readonly idempotent: boolean;
  /** Record values are padded to this many bytes (see ProducerOptions.valueBytes); 0: no padding. */
  readonly valueBytes: number;
  /** Batched requests one at a time (benchmarks), or a request per send at once (scenarios). */
  readonly batching: boolean;
  /** Present for a transactional producer. */
  readonly transactionalId?: string;
}

export interface ConsumerSpec extends ClientBase {
  readonly kind: 'consumer';
  readonly group: string;
  readonly readUncommitted: boolean;
  readonly autoCommit: boolean;
}

export type ClientSpec = ProducerSpec | ConsumerSpec;

/** Offsets as a list of [partition, next offset] pairs: structured clone keeps them as they are. */
export type OffsetList = readonly (readonly [number, number])[];

/** Each request a client thread answers, with what it is given and what it gives back. */
export interface Operations {
  'begin-transaction': { readonly args: Record<string, never>; readonly result: null };
  'send-offsets': {
    readonly args: { readonly group: string; readonly topic: string; readonly offsets: OffsetList };
    readonly result: null;
  };
  'commit-transaction': { readonly args: Record<string, never>; readonly result: null };
  'abort-transaction': { readonly args: Record<string, never>; readonly result: null };
  /** Commits a consumer's offsets, if the group is still in the generation `epoch` names. */
  commit: { readonly args: { readonly epoch: number; readonly offsets: OffsetList }; readonly result: null };
  /** Fails unless the consumer is still a settled member in the generation `epoch` names. */
  'check-generation': { readonly args: { readonly epoch: number }; readonly result: null };
  /** Moves every assigned partition to the given offsets; says the new epoch and the assignment. */
  seek: {
    readonly args: { readonly offsets: OffsetList };
    readonly result: { epoch: number; assigned: number[] };
  };
  close: { readonly args: Record<string, never>; readonly result: null };
}

export type OperationName = keyof Operations;

/** The main thread's messages to a client thread. */
export type ToClient =
  | { readonly kind: 'request'; readonly id: number; readonly op: OperationName; readonly args: unknown }
  /**
   * Messages for a producer to send; the n-th one's outcome comes back under the id firstId + n
   * in a `sent` event. The main thread gathers the sends of one turn of its event loop into one
   * of these, so crossing between the threads costs one structured clone per turn, not one per
   * message.
   */
  | { readonly kind: 'send'; readonly batch: SendBatch }
  /** The main thread's poll took the last record of this batch: the consumer may read on. */
  | { readonly kind: 'consumed'; readonly batch: number };

/**
 * The messages of one `send`, in columns rather than as objects: the structured clone of an
 * array of objects cost the main thread of a benchmark a tenth of its time, that of two typed
 * arrays and one string a small part of it. SendBatchWriter writes one, SendBatchReader reads it.
 */
export interface SendBatch {
  /** The id of the first send; the others follow one by one. */
  readonly firstId: number;
  /** Each message's producer and seq, in turn. */
  readonly numbers: Float64Array;
  /** The length of each message's id and of its key, in turn. */
  readonly lengths: Uint32Array;
  /** Each message's id and then its key, without separators (the lengths tell them apart). */
  readonly text: string;
}

export function sendBatchSize(batch: SendBatch): number {
  return batch.numbers.length / 2;
}

/** Gathers messages into a SendBatch. */
export class SendBatchWriter {
  private numbers: number[] = [];
  private lengths: number[] = [];
  private text = '';

  get size(): number {
    return this.numbers.length / 2;
  }

  add(message: MessageRef): void {
    this.numbers.push(message.producer, message.seq);
    this.lengths.push(message.id.length, message.key.length);
    this.text += message.id + message.key;
  }

  /** The batch of the messages added since the last take, which starts afresh. */
  take(firstId: number): SendBatch {
    const batch: SendBatch = { firstId, numbers: new Float64Array(this.numbers), lengths: new Uint32Array(this.lengths), text: this.text };
    this.clear();
    return batch;
  }

  clear(): void {
    this.numbers = [];
    this.lengths = [];
    this.text = '';
  }
}

/** Reads a SendBatch's messages in order, each only when it is asked for. */
export class SendBatchReader {
  /** The index of the next message. */
  next = 0;
  private textOffset = 0;

  constructor(readonly batch: SendBatch) {}

  get done(): boolean {
    return this.next * 2 >= this.batch.numbers.length;
  }

  /** The id of the next message's send. */
  get nextId(): number {
    return this.batch.firstId + this.next;
  }

  /** The next message; call only when not done. */
  read(): MessageRef {
    const { numbers, lengths, text } = this.batch;
    const at = this.next * 2;
    const idEnd = this.textOffset + (lengths[at] ?? 0);
    const keyEnd = idEnd + (lengths[at + 1] ?? 0);
    const message: MessageRef = { id: text.slice(this.textOffset, idEnd), producer: numbers[at] ?? 0, seq: numbers[at + 1] ?? 0, key: text.slice(idEnd, keyEnd) };
    this.textOffset = keyEnd;
    this.next++;
    return message;
  }

  /** Steps back over the message read last, so the next read() returns it again. */
  unread(): void {
    this.next--;
    const at = this.next * 2;
    this.textOffset -= (this.batch.lengths[at] ?? 0) + (this.batch.lengths[at + 1] ?? 0);
  }
}

/**
 * What a client thread reports. A consumer's `epoch` counts its group generations and seeks:
 * records and advances of an older epoch belong to an assignment or position that is gone.
 */
export type ClientEvent =
  | { readonly event: 'ready' }
  | { readonly event: 'failed'; readonly error: string }
  | { readonly event: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly event: 'reply'; readonly id: number; readonly ok: false; readonly error: string }
  /**
   * Outcomes of sends, by the ids of a `send` message: those of one produce request, or of one
   * failure. Columns rather than objects, so the clone is a copy of a few arrays. An offset of
   * -1 means none (ack mode none); `errors` pairs ids with why their send failed.
   */
  | {
      readonly event: 'sent';
      readonly ids: readonly number[];
      readonly partitions: readonly number[];
      readonly offsets: readonly number[];
      readonly errors: readonly (readonly [number, string])[];
    }
  | { readonly event: 'log'; readonly message: string }
  | { readonly event: 'assigned'; readonly epoch: number; readonly partitions: readonly number[] }
  | { readonly event: 'rebalancing' }
  | { readonly event: 'stopped'; readonly error: string; readonly restart: boolean }
  | {
      readonly event: 'records';
      readonly epoch: number;
      readonly batch: number;
      readonly partition: number;
      readonly records: readonly PlacedRecord[];
      /** The next offset after the batch, past any transaction markers that close it. */
      readonly next: number;
    }
  /** The consumer passed records it does not deliver (markers, aborted records): its position moves. */
  | { readonly event: 'advance'; readonly epoch: number; readonly partition: number; readonly next: number };

/**
 * A record's value: the message's identity, so a consumer and the drain can name what they read,
 * padded with spaces to `valueBytes` when it is shorter; JSON ignores the trailing white space.
 */
export function encodeValue(message: MessageRef, valueBytes = 0): string {
  const json = JSON.stringify({ id: message.id, producer: message.producer, seq: message.seq });
  // The identity is ASCII (ids are p<producer>-<seq> or the runner's), so characters are bytes.
  return json.length >= valueBytes ? json : json.padEnd(valueBytes, ' ');
}

/** The message id a record carries, or `?raw:<partition>:<offset>` for a record that is not ours. */
export function recordId(value: Buffer | null, partition: number, offset: number): string {
  if (value !== null) {
    try {
      const parsed: unknown = JSON.parse(value.toString('utf8'));
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        'id' in parsed &&
        typeof parsed.id === 'string' &&
        'producer' in parsed &&
        typeof parsed.producer === 'number' &&
        'seq' in parsed &&
        typeof parsed.seq === 'number'
      ) {
        return parsed.id;
      }
    } catch {
      // Not JSON: a record someone else wrote. It is reported as a phantom below.
    }
  }
  return `?raw:${partition}:${offset}`;
}

/** A send the producer thread has put into a produce request: its id and partition. */
export interface SendPlace {
  readonly id: number;
  readonly partition: number;
}

/**
 * The outcome of one produce request for each of its messages. The broker stores a partition's
 * record batch at consecutive offsets from the base offset it answers with, in the order of the
 * batch, and kafkajs keeps a partition's messages in the order of the send; so the n-th message
 * of a partition in the request is at base offset + n, which is what a Java client's callback
 * reports too (the batch's base offset plus the record's relative offset).
 */
export function placeSends(
  sends: readonly SendPlace[],
  metadata: readonly Pick<RecordMetadata, 'partition' | 'baseOffset' | 'offset'>[],
  acknowledged: boolean,
): Extract<ClientEvent, { event: 'sent' }> {
  const ids: number[] = [];
  const partitions: number[] = [];
  const offsets: number[] = [];
  const errors: [number, string][] = [];
  const next = new Map<number, number>();
  for (const entry of metadata) {
    const base = entry.baseOffset ?? entry.offset;
    if (base !== undefined) next.set(entry.partition, Number(base));
  }
  for (const send of sends) {
    if (!acknowledged) {
      ids.push(send.id);
      partitions.push(send.partition);
      offsets.push(-1);
      continue;
    }
    const offset = next.get(send.partition);
    if (offset === undefined) {
      errors.push([send.id, `the broker acknowledged partition ${send.partition} without saying where it stored the records`]);
      continue;
    }
    next.set(send.partition, offset + 1);
    ids.push(send.id);
    partitions.push(send.partition);
    offsets.push(offset);
  }
  return { event: 'sent', ids, partitions, offsets, errors };
}

/** kafkajs's acks: 0 waits for nothing, 1 for the leader, -1 for every in-sync replica. */
export function kafkaAcks(ack: AckMode): 0 | 1 | -1 {
  return ack === 'none' ? 0 : ack === 'leader' ? 1 : -1;
}

/** kafkajs log levels, as numbers so this module needs no runtime import of kafkajs. */
const KAFKAJS_LEVEL_ERROR = 1;

/**
 * kafkajs's own socket factory (plain TCP, or TLS with the `ssl` options of the config), with one
 * change. While a
 * broker is down, kafkajs disconnects a connection whose socket is still connecting again and
 * again, and each time Node adds a listener to that socket for when it connects; past ten, Node
 * prints a memory-leak warning on every run with a broker fault. The listeners are few and end
 * with the socket, so the limit is raised instead.
 */
const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? connectTls({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...ssl }, onConnect)
    : connect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setMaxListeners(100);
  return socket;
};

/**
 * The client settings every kafkajs instance of the adapter uses. `log` receives the kafkajs
 * errors worth keeping (a retry, a crash, a rejoin), without the per-request lines of its
 * connection layer, which repeat what the errors already say.
 */
export function kafkaConfig(
  brokers: readonly string[] | (() => string[]),
  clientId: string,
  retries: number,
  log?: (line: string) => void,
  requestTimeoutMs: number = KAFKA_TIMING.requestTimeoutMs,
  security: KafkaSecurity = {},
): KafkaConfig {
  const { tls, sasl } = security;
  return {
    clientId,
    ...(tls !== undefined ? { ssl: tls } : {}),
    ...(sasl !== undefined ? { sasl: kafkajsSasl(sasl) } : {}),
    brokers: typeof brokers === 'function' ? brokers : [...brokers],
    connectionTimeout: KAFKA_TIMING.connectionTimeoutMs,
    requestTimeout: requestTimeoutMs,
    enforceRequestTimeout: true,
    socketFactory,
    retry: { retries, initialRetryTime: KAFKA_TIMING.initialRetryTimeMs, maxRetryTime: KAFKA_TIMING.maxRetryTimeMs },
    logLevel: log === undefined ? 0 : KAFKAJS_LEVEL_ERROR,
    logCreator: () => (entry: LogEntry) => {
      if (log === undefined || entry.level > KAFKAJS_LEVEL_ERROR || entry.namespace === 'Connection') return;
      const { message, error } = entry.log;
      log(typeof error === 'string' && !message.includes(error) ? `${message}: ${error}` : message);
    },
  };
}

/** kafkajs spells the mechanisms its own way; a switch keeps its union type without a cast. */
function kafkajsSasl(sasl: NonNullable<KafkaSecurity['sasl']>): NonNullable<KafkaConfig['sasl']> {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/** Rejects with a message naming the operation when a promise takes longer than its budget. */
export function withBudget<T>(operation: Promise<T>, budgetMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${budgetMs} ms; the client stopped waiting`)), budgetMs);
  });
  // The operation may still settle after losing the race; its outcome then concerns nobody.
  operation.catch(() => undefined);
  return Promise.race([operation, expired]).finally(() => clearTimeout(timer));
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    // kafkajs wraps the error that made it give up; the cause is the one that says why.
    const cause = error.cause;
    const reason = cause instanceof Error && !error.message.includes(cause.message) ? `: ${cause.message}` : '';
    return `${error.message}${reason}`;
  }
  return String(error);
}
