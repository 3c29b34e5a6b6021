// The benchmark language: a workload's TypeScript shape and JSON Schema (2020-12). As for
// scenarios, the schema object below is the single source; `npm run spec:gen` writes it to
// spec/bench-workload.schema.json, and a test keeps the two equal.

import {
  ACK_MODES,
  COMMIT_MODES,
  ISOLATION_LEVELS,
  type AckMode,
  type Capability,
  type CommitMode,
  type IsolationLevel,
} from './vocabulary.js';
import { int, strictObject } from './schema-parts.js';

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
