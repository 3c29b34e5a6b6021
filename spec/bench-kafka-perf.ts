// The result of the comparison with Kafka's own producer tool (`deliverycheck bench
// --compare-kafka-perf`): its TypeScript shape and JSON Schema (2020-12). As for scenarios, the
// schema object below is the single source; `npm run spec:gen` writes it to
// spec/bench-kafka-perf.schema.json, and a test keeps the two equal.

import { ACK_MODES, type AckMode } from './vocabulary.js';
import { count, figure, resultEnvelope, strictObject } from './schema-parts.js';

/**
 * Producer latencies of one side of the comparison, in microseconds, each from the call that
 * handed a message to the client to its acknowledgment. Kafka's ProducerPerformance reports whole
 * milliseconds for its percentiles, so its values are multiples of 1000.
 */
export interface ProducerLatencyUs {
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export const PRODUCER_LATENCY_FIELDS = ['mean', 'p50', 'p95', 'p99', 'p999', 'max'] as const;

/** What one producer did in one pass of the comparison. */
export interface ProducerPass {
  /** Records the producer reported as done (acknowledged; with acks 0, handed to the socket). */
  readonly records: number;
  /** Records the partitions' high watermarks grew by, read after the pass: what the cluster holds. */
  readonly stored: number;
  /** Sends that failed. */
  readonly errors: number;
  /** Records per second from the first send to the last acknowledgment, as the side measured it. */
  readonly messagesPerSecond: number;
  /** messagesPerSecond × messageBytes / 2^20. */
  readonly mebibytesPerSecond: number;
  readonly latencyUs: ProducerLatencyUs;
  /** Real time of the pass, process or client start included. */
  readonly wallMs: number;
}

/** One ack mode: Kafka's tool, then deliverycheck, back to back, and their ratios. */
export interface KafkaPerfPair {
  readonly ack: AckMode;
  /** The producer setting: "0", "1" or "all". */
  readonly acks: '0' | '1' | 'all';
  readonly status: 'ok' | 'error';
  /** Why the pair ended in an error. */
  readonly reason?: string;
  /** The system's 1, 5 and 15 minute load averages just before the pair. */
  readonly loadAverage: readonly [number, number, number];
  /** The command line of Kafka's tool, as run. */
  readonly command: string;
  readonly producerPerformance?: ProducerPass;
  readonly deliverycheck?: ProducerPass;
  /**
   * deliverycheck ÷ ProducerPerformance. For throughput more is better; for latency less is
   * better. A ratio whose divisor is 0 (a latency under Kafka's 1 ms resolution) is null.
   */
  readonly ratios?: {
    readonly messagesPerSecond: number;
    readonly latency: { readonly [F in (typeof PRODUCER_LATENCY_FIELDS)[number]]: number | null };
  };
}

export interface KafkaPerfComparison {
  readonly tool: 'deliverycheck';
  readonly kind: 'kafka-perf-comparison';
  readonly version: string;
  readonly node: string;
  readonly kafkaVersion: string;
  readonly bootstrap: string;
  readonly settings: {
    readonly records: number;
    readonly messageBytes: number;
    readonly partitions: number;
    readonly replication: number;
    readonly minInsync: number;
    /** Both producers' buffer: Kafka's buffer.memory, and deliverycheck's window of outstanding sends in bytes. */
    readonly bufferBytes: number;
    /**
     * Messages per second both producers were held to (the tool's --throughput), so that their
     * latencies compare below saturation; absent when both ran at full speed.
     */
    readonly rate?: number;
  };
  readonly pairs: readonly KafkaPerfPair[];
}

const latencyFieldsSchema = strictObject(
  Object.fromEntries(PRODUCER_LATENCY_FIELDS.map((field) => [field, figure])),
  [...PRODUCER_LATENCY_FIELDS],
);

const producerPassSchema = strictObject(
  {
    records: count,
    stored: count,
    errors: count,
    messagesPerSecond: figure,
    mebibytesPerSecond: figure,
    latencyUs: latencyFieldsSchema,
    wallMs: figure,
  },
  ['records', 'stored', 'errors', 'messagesPerSecond', 'mebibytesPerSecond', 'latencyUs', 'wallMs'],
);

const ratioSchema = { type: ['number', 'null'], minimum: 0 };

export const kafkaPerfComparisonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://deliverycheck.dev/spec/bench-kafka-perf.schema.json',
  title: 'deliverycheck comparison with Kafka ProducerPerformance',
  ...strictObject(
    {
      ...resultEnvelope('kafka-perf-comparison'),
      kafkaVersion: { type: 'string' },
      bootstrap: { type: 'string' },
      settings: strictObject(
        {
          records: { type: 'integer', minimum: 1 },
          messageBytes: { type: 'integer', minimum: 1 },
          partitions: { type: 'integer', minimum: 1 },
          replication: { type: 'integer', minimum: 1 },
          minInsync: { type: 'integer', minimum: 1 },
          bufferBytes: { type: 'integer', minimum: 1 },
          rate: { type: 'integer', minimum: 1 },
        },
        ['records', 'messageBytes', 'partitions', 'replication', 'minInsync', 'bufferBytes'],
      ),
      pairs: {
        type: 'array',
        items: {
          ...strictObject(
            {
              ack: { enum: [...ACK_MODES] },
              acks: { enum: ['0', '1', 'all'] },
              status: { enum: ['ok', 'error'] },
              reason: { type: 'string' },
              loadAverage: { type: 'array', items: figure, minItems: 3, maxItems: 3 },
              command: { type: 'string' },
              producerPerformance: producerPassSchema,
              deliverycheck: producerPassSchema,
              ratios: strictObject(
                {
                  messagesPerSecond: figure,
                  latency: strictObject(
                    Object.fromEntries(PRODUCER_LATENCY_FIELDS.map((field) => [field, ratioSchema])),
                    [...PRODUCER_LATENCY_FIELDS],
                  ),
                },
                ['messagesPerSecond', 'latency'],
              ),
            },
            ['ack', 'acks', 'status', 'loadAverage', 'command'],
          ),
          allOf: [
            {
              if: { properties: { status: { const: 'error' } } },
              then: { properties: { reason: true }, required: ['reason'] },
              else: {
                properties: { producerPerformance: true, deliverycheck: true, ratios: true },
                required: ['producerPerformance', 'deliverycheck', 'ratios'],
              },
            },
          ],
        },
      },
    },
    ['tool', 'kind', 'version', 'node', 'kafkaVersion', 'bootstrap', 'settings', 'pairs'],
  ),
} as const;
