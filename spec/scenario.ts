// The scenario language, version 1: its TypeScript shape and its JSON Schema (2020-12).
// The schema object below is the single source; `npm run spec:gen` writes it to
// spec/scenario.schema.json for editors and other tools, and a test keeps the two equal.

import {
  ACK_MODES,
  ANOMALIES,
  BROKER_TARGETS,
  CAPABILITIES,
  COMMIT_MODES,
  CRASH_POINTS,
  EXPECTATIONS,
  FAULT_KINDS,
  GUARANTEES,
  ISOLATION_LEVELS,
  MESSAGE_COUNTS,
  PARTITION_TARGETS,
  TRIGGER_KINDS,
  type AckMode,
  type Anomaly,
  type BrokerTarget,
  type Capability,
  type CommitMode,
  type CrashPoint,
  type Expectation,
  type FaultKind,
  type Guarantee,
  type IsolationLevel,
  type MessageCount,
  type PartitionTarget,
  type TriggerKind,
} from './vocabulary.js';
import { int, strictObject } from './schema-parts.js';

/** Limits on every size a scenario can ask for, so a typo cannot ask for a runaway run. */
export const LIMITS = {
  brokers: 9,
  partitions: 64,
  messages: 1_000_000,
  keys: 100_000,
  producers: 32,
  consumers: 32,
  retries: 1_000,
  maxInFlight: 16,
  transactionSize: 10_000,
  abortEvery: 1_000,
  faults: 100,
  seed: 2 ** 31 - 1,
  triggerCount: 10_000_000,
  dropAcks: 100_000,
  /** The longest stall-replication a scenario may ask for; each adapter caps it lower. */
  stallMs: 60_000,
} as const;

export type Trigger = { readonly [K in TriggerKind]?: number };

/**
 * Groups of broker indices, as a `partition` fault lists them: `[[0], [1, 2]]`. Every link
 * between brokers of different groups is cut; the brokers no group names form one more group.
 */
export type NodeGroups = readonly (readonly number[])[];

/**
 * What a fault acts on: a broker target or a client index for most faults, a way to split the
 * brokers (a partition target, or groups) for `partition`.
 */
export type FaultTarget = BrokerTarget | number | PartitionTarget | NodeGroups;

/** Whether a target lists groups of brokers: Array.isArray does not narrow a readonly list. */
export function isNodeGroups(target: FaultTarget | undefined): target is NodeGroups {
  return Array.isArray(target);
}

export interface FaultSpec {
  readonly at: Trigger;
  readonly do: FaultKind;
  /**
   * A broker target for broker faults; for crash-consumer and crash-producer, `any` or an index;
   * for partition, a partition target or groups of broker indices. Never for heal.
   */
  readonly target?: FaultTarget;
  /** The partition whose leader or follower `target` names (for partition: whose leader isolate-leader isolates); default 0. */
  readonly partition?: number;
  readonly point?: CrashPoint;
  readonly count?: number;
  /** For stall-replication: how long the followers stop fetching; the adapter's safe bound caps it. */
  readonly durationMs?: number;
}

/**
 * How much a run must have done for its verdict to count, per message count: a number of messages
 * (an integer) or a share of `workload.messages` (a string such as `50%`).
 */
export type MinimumSpec = { readonly [C in MessageCount]?: number | string };

export type ExpectSpec = { readonly guarantee?: Guarantee; readonly minimum?: MinimumSpec } & {
  readonly [A in Anomaly]?: Expectation;
};

/** `50%`, `12.5%`, `100%`: a share of the workload's messages, from 0 to 100 percent. */
export const PERCENT_PATTERN = '^(?:100(?:\\.0+)?|[0-9]{1,2}(?:\\.[0-9]+)?)%$';

/** A scenario as written, after schema validation; defaults are not yet applied. */
export interface ScenarioSource {
  readonly version?: 1;
  readonly name: string;
  readonly description: string;
  readonly requires?: readonly Capability[];
  readonly seed?: number;
  readonly cluster: { readonly brokers: number };
  readonly topic: {
    readonly partitions: number;
    readonly replication: number;
    readonly minInsync?: number;
    readonly uncleanElection?: boolean;
  };
  readonly producer: {
    readonly ack: AckMode;
    readonly retries?: number;
    readonly idempotent?: boolean;
    readonly transactional?: boolean;
    readonly maxInFlight?: number;
    readonly transactionSize?: number;
    readonly abortEvery?: number;
  };
  readonly consumer: { readonly commit: CommitMode; readonly isolation?: IsolationLevel };
  readonly workload: {
    readonly messages: number;
    readonly keys: number;
    readonly producers?: number;
    readonly consumers?: number;
  };
  readonly faults?: readonly FaultSpec[];
  readonly expect: ExpectSpec;
}

const triggerSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: Object.fromEntries(TRIGGER_KINDS.map((kind) => [kind, int(0, LIMITS.triggerCount)])),
  description: 'Exactly one of sent, acked, processed (counts of distinct messages) or ms.',
};

/**
 * Groups of broker indices. The schema takes any index from 0; that each is below
 * `cluster.brokers` and named once is a check across fields (harness/conformance/scenario-fields.ts).
 */
const nodeGroupsSchema = {
  type: 'array',
  minItems: 1,
  maxItems: LIMITS.brokers,
  items: { type: 'array', minItems: 1, maxItems: LIMITS.brokers, items: { type: 'integer', minimum: 0 } },
  description: 'a list of groups of broker indices such as [[0], [1, 2]]',
};

const thresholdSchema = {
  oneOf: [
    int(0, LIMITS.messages),
    { type: 'string', pattern: PERCENT_PATTERN, description: 'a percentage of workload.messages such as 50%' },
  ],
};

export const scenarioSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://deliverycheck.dev/spec/scenario.schema.json',
  title: 'deliverycheck scenario, version 1',
  ...strictObject(
    {
      version: { const: 1 },
      name: { type: 'string', minLength: 1, maxLength: 200 },
      description: { type: 'string', minLength: 1, maxLength: 4000 },
      requires: { type: 'array', uniqueItems: true, items: { enum: [...CAPABILITIES] } },
      seed: int(0, LIMITS.seed),
      cluster: strictObject({ brokers: int(1, LIMITS.brokers) }, ['brokers']),
      topic: strictObject(
        {
          partitions: int(1, LIMITS.partitions),
          replication: int(1, LIMITS.brokers),
          minInsync: int(1, LIMITS.brokers),
          uncleanElection: { type: 'boolean' },
        },
        ['partitions', 'replication'],
      ),
      producer: strictObject(
        {
          ack: { enum: [...ACK_MODES] },
          retries: int(0, LIMITS.retries),
          idempotent: { type: 'boolean' },
          transactional: { type: 'boolean' },
          maxInFlight: int(1, LIMITS.maxInFlight),
          transactionSize: int(1, LIMITS.transactionSize),
          abortEvery: int(0, LIMITS.abortEvery),
        },
        ['ack'],
      ),
      consumer: strictObject(
        { commit: { enum: [...COMMIT_MODES] }, isolation: { enum: [...ISOLATION_LEVELS] } },
        ['commit'],
      ),
      workload: strictObject(
        {
          messages: int(1, LIMITS.messages),
          keys: int(1, LIMITS.keys),
          producers: int(1, LIMITS.producers),
          consumers: int(1, LIMITS.consumers),
        },
        ['messages', 'keys'],
      ),
      faults: {
        type: 'array',
        maxItems: LIMITS.faults,
        items: strictObject(
          {
            at: triggerSchema,
            do: { enum: [...FAULT_KINDS] },
            target: { oneOf: [{ enum: [...BROKER_TARGETS, ...PARTITION_TARGETS] }, int(0, LIMITS.consumers), nodeGroupsSchema] },
            partition: int(0, LIMITS.partitions - 1),
            point: { enum: [...CRASH_POINTS] },
            count: int(1, LIMITS.dropAcks),
            durationMs: int(1, LIMITS.stallMs),
          },
          ['at', 'do'],
        ),
      },
      expect: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          guarantee: { enum: [...GUARANTEES] },
          minimum: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: Object.fromEntries(MESSAGE_COUNTS.map((name) => [name, thresholdSchema])),
            description:
              'How much the run must have done for its verdict to count: per count, a number of messages or a percentage of workload.messages. A run below it is inconclusive.',
          },
          ...Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, { enum: [...EXPECTATIONS] }])),
        },
      },
    },
    ['name', 'description', 'cluster', 'topic', 'producer', 'consumer', 'workload', 'expect'],
  ),
} as const;

/** A fault with its defaults applied. */
export interface Fault {
  readonly at: { readonly kind: TriggerKind; readonly value: number };
  readonly do: FaultKind;
  /** Absent for heal, which restores every link whatever cut it. */
  readonly target?: FaultTarget;
  readonly partition: number;
  readonly point?: CrashPoint;
  readonly count: number;
  /** For stall-replication: the asked duration; absent means the adapter's safe bound. */
  readonly durationMs?: number;
}

/** A loaded scenario: validated, defaults applied, `guarantee` expanded per anomaly. */
export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  /** The capabilities the scenario names plus those its settings imply, sorted. */
  readonly requires: readonly Capability[];
  readonly seed: number;
  readonly cluster: { readonly brokers: number };
  readonly topic: {
    readonly partitions: number;
    readonly replication: number;
    readonly minInsync: number;
    readonly uncleanElection: boolean;
  };
  readonly producer: {
    readonly ack: AckMode;
    readonly retries: number;
    readonly idempotent: boolean;
    readonly transactional: boolean;
    readonly maxInFlight: number;
    /** Messages per transaction of a transactional producer. */
    readonly transactionSize: number;
    /** Every Nth transaction the application aborts, then sends its messages again; 0 never. */
    readonly abortEvery: number;
  };
  readonly consumer: { readonly commit: CommitMode; readonly isolation: IsolationLevel };
  readonly workload: {
    readonly messages: number;
    readonly keys: number;
    readonly producers: number;
    readonly consumers: number;
  };
  readonly faults: readonly Fault[];
  readonly expect: { readonly [A in Anomaly]: Expectation };
  /** How much the run must have done, with the defaults applied (harness/conformance/progress.ts). */
  readonly minimum: Minimum;
}

/** One threshold of `expect.minimum`: a number of messages, or a percentage of the workload's. */
export type Threshold = { readonly count: number; readonly percent?: undefined } | { readonly percent: number; readonly count?: undefined };

/** The thresholds a run must reach, per message count; a count not named has none. */
export type Minimum = { readonly [C in MessageCount]?: Threshold };
