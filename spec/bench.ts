// The benchmark language: a workload's TypeScript shape and JSON Schema (2020-12), and the shape
// and schema of the result `deliverycheck bench --json` writes. As for scenarios, the schema
// objects below are the single source; `npm run spec:gen` writes them to
// spec/bench-workload.schema.json and spec/bench-result.schema.json, and a test keeps them equal.

import {
  ACK_MODES,
  ANOMALIES,
  COMMIT_MODES,
  EXPECTATIONS,
  ISOLATION_LEVELS,
  type AckMode,
  type Anomaly,
  type Capability,
  type CommitMode,
  type Expectation,
  type IsolationLevel,
} from './vocabulary.js';

/**
 * Limits on every number a workload can ask for, so a typo cannot ask for a runaway run. Rates
 * are messages per second; times are milliseconds on the adapter's clock.
 */
export const BENCH_LIMITS = {
  messageBytes: 1_048_576,
  keys: 100_000,
  partitions: 64,
  brokers: 9,
  producers: 32,
  consumers: 32,
  rate: 1_000_000,
  rateSteps: 50,
  warmupMs: 600_000,
  durationMs: 3_600_000,
  /**
   * Messages one rate step may send, warm-up included: the run's history stays in memory for
   * the checker, several lines per message, so a step is bounded like a scenario's messages.
   */
  messagesPerStep: 2_000_000,
  seed: 2 ** 31 - 1,
  retries: 1_000,
  maxInFlight: 1_000_000,
  maxPollRecords: 100_000,
  pollTimeoutMs: 60_000,
} as const;

/** Client and cluster settings of a workload: how the adapter is driven, not what is measured. */
export interface BenchAdapterSettingsSource {
  /** Brokers in the cluster the adapter opens; default: `replication`. */
  readonly brokers?: number;
  /** Resends after an error or a timeout; default 0, so an overloaded broker shows as errors. */
  readonly retries?: number;
  /**
   * Sends the driver lets be outstanding before the next send waits (a client's buffer);
   * default 1024. A send that waits starts late, which the result reports as missed schedule.
   */
  readonly maxInFlight?: number;
  /** Records one poll may return; default 500. */
  readonly maxPollRecords?: number;
  /** How long an empty poll waits; default 100. */
  readonly pollTimeoutMs?: number;
  /** Consumer isolation; default read-uncommitted. */
  readonly isolation?: IsolationLevel;
}

/** A benchmark workload as written, after schema validation; defaults are not yet applied. */
export interface BenchWorkloadSource {
  readonly name: string;
  readonly description: string;
  /** The size the throughput in MiB/s counts each message as (see BenchRun.throughput). */
  readonly messageBytes: number;
  readonly keys: number;
  readonly partitions: number;
  readonly replication: number;
  readonly minInsync?: number;
  readonly producers?: number;
  readonly consumers?: number;
  readonly ack: AckMode;
  readonly commit: CommitMode;
  readonly idempotent?: boolean;
  /** One fixed rate in messages per second, sent on an open-loop schedule. */
  readonly rate?: number;
  /** A stepped series of rates, one run each, ascending: the points of a latency-throughput curve. */
  readonly rates?: readonly number[];
  readonly warmupMs?: number;
  readonly durationMs: number;
  readonly seed?: number;
  readonly adapter?: BenchAdapterSettingsSource;
}

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
const strictObject = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

export const benchWorkloadSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://deliverycheck.dev/spec/bench-workload.schema.json',
  title: 'deliverycheck benchmark workload',
  description:
    'Exactly one of rate and rates is required; the loader checks that, and that rates ascend, ' +
    'since a schema error for either would not say which field to change.',
  ...strictObject(
    {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      description: { type: 'string', minLength: 1, maxLength: 4000 },
      messageBytes: int(1, BENCH_LIMITS.messageBytes),
      keys: int(1, BENCH_LIMITS.keys),
      partitions: int(1, BENCH_LIMITS.partitions),
      replication: int(1, BENCH_LIMITS.brokers),
      minInsync: int(1, BENCH_LIMITS.brokers),
      producers: int(1, BENCH_LIMITS.producers),
      consumers: int(1, BENCH_LIMITS.consumers),
      ack: { enum: [...ACK_MODES] },
      commit: { enum: [...COMMIT_MODES] },
      idempotent: { type: 'boolean' },
      rate: int(1, BENCH_LIMITS.rate),
      rates: {
        type: 'array',
        minItems: 1,
        maxItems: BENCH_LIMITS.rateSteps,
        uniqueItems: true,
        items: int(1, BENCH_LIMITS.rate),
      },
      warmupMs: int(0, BENCH_LIMITS.warmupMs),
      durationMs: int(1, BENCH_LIMITS.durationMs),
      seed: int(0, BENCH_LIMITS.seed),
      adapter: strictObject(
        {
          brokers: int(1, BENCH_LIMITS.brokers),
          retries: int(0, BENCH_LIMITS.retries),
          maxInFlight: int(1, BENCH_LIMITS.maxInFlight),
          maxPollRecords: int(1, BENCH_LIMITS.maxPollRecords),
          pollTimeoutMs: int(1, BENCH_LIMITS.pollTimeoutMs),
          isolation: { enum: [...ISOLATION_LEVELS] },
        },
        [],
      ),
    },
    ['name', 'description', 'messageBytes', 'keys', 'partitions', 'replication', 'ack', 'commit', 'durationMs'],
  ),
} as const;

/** Client and cluster settings with their defaults applied. */
export interface BenchAdapterSettings {
  readonly brokers: number;
  readonly retries: number;
  readonly maxInFlight: number;
  readonly maxPollRecords: number;
  readonly pollTimeoutMs: number;
  readonly isolation: IsolationLevel;
}

/** A loaded workload: validated, defaults applied. A fixed rate is a series of one step. */
export interface BenchWorkload {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly messageBytes: number;
  readonly keys: number;
  readonly partitions: number;
  readonly replication: number;
  readonly minInsync: number;
  readonly producers: number;
  readonly consumers: number;
  readonly ack: AckMode;
  readonly commit: CommitMode;
  readonly idempotent: boolean;
  /** Messages per second of each step; one entry for a fixed `rate`. */
  readonly rates: readonly number[];
  /** True when the workload gave `rates`: its steps draw a latency-throughput curve. */
  readonly stepped: boolean;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly seed: number;
  readonly adapter: BenchAdapterSettings;
  /** The capabilities the settings need, in CAPABILITIES order. */
  readonly requires: readonly Capability[];
}

// ---------------------------------------------------------------------------------------------
// The result

/**
 * How the adapter's clock relates to this machine. `virtual`: the clock advances only while the
 * driver awaits the adapter (the reference broker's simulation), so every time and rate in the
 * run is the model's, and says nothing about this machine. `wall`: the clock is real time.
 */
export const CLOCK_KINDS = ['virtual', 'wall'] as const;
export type ClockKind = (typeof CLOCK_KINDS)[number];

export const BENCH_STATUSES = ['ok', 'failed', 'skipped', 'error'] as const;
/** `failed`: a correctness claim of the workload's modes did not hold. */
export type BenchStatus = (typeof BENCH_STATUSES)[number];

/** A latency distribution in microseconds, from a histogram with 3 significant digits. */
export interface LatencySummary {
  readonly count: number;
  /** 0 when count is 0, as are the other figures. */
  readonly minUs: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
}

export interface Throughput {
  readonly messagesPerSecond: number;
  /** messagesPerSecond × messageBytes / 2^20. */
  readonly mebibytesPerSecond: number;
}

/** A correctness claim the workload's ack and commit modes make about one anomaly. */
export interface BenchClaim {
  readonly expect: Extract<Expectation, 'none' | 'allowed'>;
  readonly count: number;
  readonly held: boolean;
  /** Why the modes forbid or allow it, in one sentence. */
  readonly because: string;
}

export interface DriverHealth {
  /** Sends that started later than their intended time by more than thresholdUs. */
  readonly missedSchedule: { readonly count: number; readonly maxLagUs: number; readonly thresholdUs: number };
  /** Sends that waited because maxInFlight sends were outstanding (the broker fell behind). */
  readonly inFlightLimitHits: number;
  /** Node's event-loop delay during the run; only with a wall clock, where it can skew figures. */
  readonly eventLoopDelayUs?: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Real CPU time of this process (user + system) per message sent, warm-up included. */
  readonly cpuUsPerMessage: number;
  /** Real time the run took, setup and drain included. */
  readonly realDurationMs: number;
}

export interface BenchRun {
  readonly workload: string;
  readonly file: string;
  readonly adapter: string;
  /** Absent only when no session was opened (a skipped run, or an adapter that failed to open). */
  readonly clock?: ClockKind;
  readonly seed: number;
  readonly status: BenchStatus;
  /** Why a run was skipped, ended in error, or failed. */
  readonly reason?: string;
  readonly ack: AckMode;
  readonly commit: CommitMode;
  readonly idempotent: boolean;
  readonly messageBytes: number;
  readonly partitions: number;
  readonly replication: number;
  readonly minInsync: number;
  readonly producers: number;
  readonly consumers: number;
  /** The offered rate of this run, messages per second. */
  readonly rate: number;
  /** This run's place in its workload's series of rates (0 for a fixed rate), and the series' length. */
  readonly step: number;
  readonly steps: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The checker's counts over the whole run, warm-up included. */
  readonly counts: {
    readonly sent: number;
    readonly acknowledged: number;
    readonly stored: number;
    readonly delivered: number;
    readonly processed: number;
  };
  /** Messages whose intended send time lies in the measured window, and what became of them. */
  readonly measured: { readonly intended: number; readonly acknowledged: number; readonly processed: number };
  /** Completions inside the measured window divided by its length. */
  readonly throughput: { readonly producer: Throughput; readonly consumer: Throughput };
  readonly latency: {
    /** Acknowledgment time minus intended send time (with ack none: when send returned). */
    readonly publish: LatencySummary;
    /** First processing minus intended send time. */
    readonly endToEnd: LatencySummary;
    /** One commit call (for transactional: offsets added and transaction committed); empty for auto. */
    readonly commit: LatencySummary;
  };
  readonly errors: { readonly send: number; readonly commit: number };
  /** Every anomaly the checker counted, warm-up included. */
  readonly anomalies: { readonly [A in Anomaly]: number };
  readonly claims: { readonly lost: BenchClaim; readonly duplicated: BenchClaim };
  readonly driver: DriverHealth;
  /** Things a reader should know, such as what a virtual clock means. */
  readonly notes: readonly string[];
}

export interface BenchResult {
  readonly tool: 'deliverycheck';
  readonly kind: 'bench';
  readonly version: string;
  readonly node: string;
  readonly runs: readonly BenchRun[];
  /** With --overhead: what the harness costs against each adapter's bare client library (bench/overhead.ts). */
  readonly overhead?: readonly OverheadRow[];
}

/** One adapter and ack mode of the overhead measurement: closed loops, best pass of each side. */
export interface OverheadRow {
  readonly adapter: string;
  readonly ack: AckMode;
  readonly records: number;
  readonly bareMessagesPerSecond: number;
  readonly harnessMessagesPerSecond: number;
  /** harness ÷ bare, to two places. */
  readonly ratio: number;
  readonly meetsTarget: boolean;
  /** Failed sends of every pass of both sides. */
  readonly errors: number;
}

const count = { type: 'integer', minimum: 0 };
const figure = { type: 'number', minimum: 0 };

/** The fields every result file of the tool opens with: who wrote it, which kind it is, on what. */
function resultEnvelope<K extends string>(kind: K) {
  return { tool: { const: 'deliverycheck' }, kind: { const: kind }, version: { type: 'string' }, node: { type: 'string' } } as const;
}

const latencySchema = strictObject(
  {
    count,
    minUs: figure,
    meanUs: figure,
    p50Us: figure,
    p90Us: figure,
    p99Us: figure,
    p999Us: figure,
    maxUs: figure,
  },
  ['count', 'minUs', 'meanUs', 'p50Us', 'p90Us', 'p99Us', 'p999Us', 'maxUs'],
);

const throughputSchema = strictObject(
  { messagesPerSecond: figure, mebibytesPerSecond: figure },
  ['messagesPerSecond', 'mebibytesPerSecond'],
);

const claimSchema = strictObject(
  {
    expect: { enum: EXPECTATIONS.filter((expectation) => expectation !== 'witnessed') },
    count,
    held: { type: 'boolean' },
    because: { type: 'string' },
  },
  ['expect', 'count', 'held', 'because'],
);

export const benchResultSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://deliverycheck.dev/spec/bench-result.schema.json',
  title: 'deliverycheck benchmark result',
  ...strictObject(
    {
      ...resultEnvelope('bench'),
      runs: {
        type: 'array',
        items: {
          ...strictObject(
            {
              workload: { type: 'string' },
              file: { type: 'string' },
              adapter: { type: 'string' },
              clock: { enum: [...CLOCK_KINDS] },
              seed: count,
              status: { enum: [...BENCH_STATUSES] },
              reason: { type: 'string' },
              ack: { enum: [...ACK_MODES] },
              commit: { enum: [...COMMIT_MODES] },
              idempotent: { type: 'boolean' },
              messageBytes: count,
              partitions: count,
              replication: count,
              minInsync: count,
              producers: count,
              consumers: count,
              rate: count,
              step: count,
              steps: { type: 'integer', minimum: 1 },
              warmupMs: count,
              durationMs: count,
              counts: strictObject(
                { sent: count, acknowledged: count, stored: count, delivered: count, processed: count },
                ['sent', 'acknowledged', 'stored', 'delivered', 'processed'],
              ),
              measured: strictObject(
                { intended: count, acknowledged: count, processed: count },
                ['intended', 'acknowledged', 'processed'],
              ),
              throughput: strictObject({ producer: throughputSchema, consumer: throughputSchema }, ['producer', 'consumer']),
              latency: strictObject(
                { publish: latencySchema, endToEnd: latencySchema, commit: latencySchema },
                ['publish', 'endToEnd', 'commit'],
              ),
              errors: strictObject({ send: count, commit: count }, ['send', 'commit']),
              anomalies: strictObject(
                Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, count])),
                [...ANOMALIES],
              ),
              claims: strictObject({ lost: claimSchema, duplicated: claimSchema }, ['lost', 'duplicated']),
              driver: strictObject(
                {
                  missedSchedule: strictObject(
                    { count, maxLagUs: figure, thresholdUs: figure },
                    ['count', 'maxLagUs', 'thresholdUs'],
                  ),
                  inFlightLimitHits: count,
                  eventLoopDelayUs: strictObject({ p50: figure, p99: figure, max: figure }, ['p50', 'p99', 'max']),
                  cpuUsPerMessage: figure,
                  realDurationMs: figure,
                },
                ['missedSchedule', 'inFlightLimitHits', 'cpuUsPerMessage', 'realDurationMs'],
              ),
              notes: { type: 'array', items: { type: 'string' } },
            },
            [
              'workload',
              'file',
              'adapter',
              'seed',
              'status',
              'ack',
              'commit',
              'idempotent',
              'messageBytes',
              'partitions',
              'replication',
              'minInsync',
              'producers',
              'consumers',
              'rate',
              'step',
              'steps',
              'warmupMs',
              'durationMs',
              'counts',
              'measured',
              'throughput',
              'latency',
              'errors',
              'anomalies',
              'claims',
              'driver',
              'notes',
            ],
          ),
          allOf: [
            {
              if: { properties: { status: { enum: ['skipped', 'error', 'failed'] } } },
              then: { properties: { reason: true }, required: ['reason'] },
            },
            {
              if: { properties: { status: { enum: ['ok', 'failed'] } } },
              then: { properties: { clock: true }, required: ['clock'] },
            },
          ],
        },
      },
      overhead: {
        type: 'array',
        items: strictObject(
          {
            adapter: { type: 'string' },
            ack: { enum: [...ACK_MODES] },
            records: count,
            bareMessagesPerSecond: figure,
            harnessMessagesPerSecond: figure,
            ratio: figure,
            meetsTarget: { type: 'boolean' },
            errors: count,
          },
          ['adapter', 'ack', 'records', 'bareMessagesPerSecond', 'harnessMessagesPerSecond', 'ratio', 'meetsTarget', 'errors'],
        ),
      },
    },
    ['tool', 'kind', 'version', 'node', 'runs'],
  ),
} as const;

// ---------------------------------------------------------------------------------------------
// The comparison with Kafka's own producer tool (`deliverycheck bench --compare-kafka-perf`)

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
