// Two replacements of kafkajs 2.2.4 functions, installed in every client thread before kafkajs
// loads (worker.ts imports this module first): a correction of its read_committed filtering, and
// a linear-time grouping of a send's messages per partition (see groupMessagesPerPartition below).
// A third, the adapter's own encoding of Produce requests, is installed by batching producers
// only (useFastProduceEncoding below).
//
// A read_committed fetch answer lists the aborted transactions that overlap the records it
// returns, each as a producer id and the offset where that transaction began; the client drops a
// transactional record when its producer's transaction is aborted there, until the producer's
// abort marker. Java's consumer, upon each record, first moves every listed transaction that
// began at or before the record's offset into its set of aborted producers. kafkajs's
// filterAbortedMessages moves at most one per record. When a fetch starts inside an aborted
// transaction of producer A and its first record belongs to another aborted transaction, of
// producer B, that record meets A's entry first, takes it, and passes through: a read_committed
// consumer delivers a message of an aborted transaction. deliverycheck witnessed exactly that
// (19 aborted reads in suites/exactly-once/read-committed-skips-aborted-transactions.yaml, two
// transactional producers aborting every third transaction) while the log itself, read by the
// drain, held the abort markers: the broker was right, the client filtered wrongly.
//
// The adapter tests Kafka's guarantees, so its consumers filter the way Kafka specifies (the Java
// implementation); the replacement below does that, and nothing else of kafkajs changes. kafkajs
// is pinned to exactly 2.2.4, whose module layout this relies on.

import { createRequire } from 'node:module';
import { encodeProduceRequest, type ProduceRequestFields } from './produce-encoding.js';

interface FilteredMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly batchContext: {
    readonly producerId: string;
    readonly inTransaction: boolean;
    readonly isControlBatch: boolean;
  };
}

interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

/** A control record's key is a version and a type; type 0 is an abort marker. */
const CONTROL_TYPE_ABORT = 0;

function isAbortMarker(message: FilteredMessage): boolean {
  const key = message.key;
  return message.batchContext.isControlBatch && key !== null && key.length >= 4 && key.readInt16BE(2) === CONTROL_TYPE_ABORT;
}

export function filterAbortedMessages({
  messages,
  abortedTransactions,
}: {
  readonly messages: readonly FilteredMessage[];
  readonly abortedTransactions?: readonly AbortedTransaction[] | null;
}): FilteredMessage[] {
  if (abortedTransactions === undefined || abortedTransactions === null || abortedTransactions.length === 0) {
    return [...messages];
  }
  const pending = [...abortedTransactions].sort((a, b) => {
    const difference = BigInt(a.firstOffset) - BigInt(b.firstOffset);
    return difference < 0n ? -1 : difference > 0n ? 1 : 0;
  });
  const aborting = new Set<string>();
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    while (pending.length > 0 && offset >= BigInt((pending[0] as AbortedTransaction).firstOffset)) {
      aborting.add((pending.shift() as AbortedTransaction).producerId);
    }
    const { producerId, inTransaction } = message.batchContext;
    if (isAbortMarker(message)) {
      // The marker ends the aborted transaction; kafkajs drops control records itself afterwards.
      aborting.delete(producerId);
      return true;
    }
    return !(inTransaction && aborting.has(producerId));
  });
}

/** A message of a send, as kafkajs's partitioner sees it. */
interface OutgoingMessage {
  readonly partition?: number | null;
}

type Partitioner = (args: { topic: string; partitionMetadata: readonly unknown[]; message: OutgoingMessage }) => number;

/**
 * kafkajs groups the messages of one send() per partition by copying the partition's whole array
 * for every message ([...current, message]), which takes time quadratic in the messages per
 * partition. The producer thread sends a few thousand messages per send() (worker-producer.ts,
 * the send pipeline), where that copying alone cost about 2 µs per message. This does the same
 * grouping, same partitions and the same order within each, in linear time.
 */
export function groupMessagesPerPartition<M extends OutgoingMessage>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly M[];
  readonly partitioner: Partitioner;
}): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

const require = createRequire(import.meta.url);

/**
 * Puts `replacement` into the module cache in place of a kafkajs module, before kafkajs loads it,
 * and returns what the module exported before.
 */
function replaceModule(path: string, replacement: unknown): unknown {
  const modulePath = require.resolve(path);
  require(modulePath);
  const cached = require.cache[modulePath];
  if (cached === undefined) throw new Error(`kafkajs's ${modulePath} did not load; the kafka adapter needs kafkajs 2.2.4 exactly`);
  const original: unknown = cached.exports;
  cached.exports = replacement;
  return original;
}

// kafkajs's batch module and its sendMessages module take these from the module cache when they
// load, after this.
replaceModule('kafkajs/src/consumer/filterAbortedMessages.js', filterAbortedMessages);
replaceModule('kafkajs/src/producer/groupMessagesPerPartition.js', groupMessagesPerPartition);

/** A kafkajs protocol request, as its connection sends it. */
interface KafkaRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  readonly expectResponse: () => boolean;
  readonly encode: () => Promise<unknown>;
}

type ProduceRequestV3 = (fields: ProduceRequestFields & { readonly compression?: number }) => KafkaRequest;

/** kafkajs's Encoder, of which the connection reads the two fields below. */
interface KafkaEncoder {
  buf: Buffer;
  offset: number;
}

const PRODUCE_V3_REQUEST = 'kafkajs/src/protocol/requests/produce/v3/request.js';
/** kafkajs's Produce versions 4 to 7 take version 3's request function when they load. */
const LATER_PRODUCE_REQUESTS = [4, 5, 6, 7].map((version) => `kafkajs/src/protocol/requests/produce/v${version}/request.js`);
const COMPRESSION_NONE = 0;
let fastProduceEncoding = false;

/**
 * Has kafkajs write Produce requests without compression with the adapter's own encoder
 * (produce-encoding.ts): the same bytes, at a fraction of the CPU time. Batching producers
 * (benchmarks) call it before their first send. Scenario producers keep kafkajs's encoder: it
 * awaits once per partition while it encodes, and those awaits decide how concurrent sends of a
 * scenario producer interleave, which a faster encoder would change.
 */
export function useFastProduceEncoding(): void {
  if (fastProduceEncoding) return;
  for (const path of LATER_PRODUCE_REQUESTS) {
    if (require.cache[require.resolve(path)] !== undefined) {
      throw new Error(`kafkajs loaded ${path} already; the fast produce encoding must be installed before the first send`);
    }
  }
  const Encoder = require('kafkajs/src/protocol/encoder.js') as new (initialSize?: number) => KafkaEncoder;
  const original = require(PRODUCE_V3_REQUEST) as ProduceRequestV3;
  const fast: ProduceRequestV3 = (fields) => {
    const request = original(fields);
    if ((fields.compression ?? COMPRESSION_NONE) !== COMPRESSION_NONE) return request;
    // kafkajs's request says what to send (API key, version, whether an answer comes); only its
    // encoding is replaced, and kafkajs runs that lazily, so building the request costs nothing.
    return {
      ...request,
      encode: async () => {
        const body = encodeProduceRequest(fields);
        // kafkajs copies an Encoder's first `offset` bytes of `buf`; a 1-byte Encoder takes over
        // the finished body instead of copying it once more.
        const encoder = new Encoder(1);
        encoder.buf = body;
        encoder.offset = body.length;
        return encoder;
      },
    };
  };
  replaceModule(PRODUCE_V3_REQUEST, fast);
  fastProduceEncoding = true;
}
