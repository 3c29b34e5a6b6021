// The result `deliverycheck bench --json` writes: its TypeScript shape and JSON Schema (2020-12).
// As for scenarios, the schema object below is the single source; `npm run spec:gen` writes it
// to spec/bench-result.schema.json, and a test keeps the two equal.

import {
  ACK_MODES,
  ANOMALIES,
  COMMIT_MODES,
  EXPECTATIONS,
  type AckMode,
  type Anomaly,
  type CommitMode,
  type Expectation,
} from './vocabulary.js';
import { count, figure, resultEnvelope, strictObject } from './schema-parts.js';

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
