// The closed vocabularies of deliverycheck, defined once. The JSON Schemas in this folder are
// generated from these lists (`npm run spec:gen`), and a test fails when they drift apart, so
// the schema, the loader, the adapters, the checker and the reports all speak the same words.

/** What a producer's send waits for. */
export const ACK_MODES = ['none', 'leader', 'all'] as const;
export type AckMode = (typeof ACK_MODES)[number];

/** When a consumer saves its position relative to processing. */
export const COMMIT_MODES = ['before-process', 'after-process', 'transactional', 'auto'] as const;
export type CommitMode = (typeof COMMIT_MODES)[number];

/** What a shard keeps of an acknowledged message (spec/adapters.md, "Retention"). */
export const RETENTIONS = ['log', 'queue'] as const;
export type Retention = (typeof RETENTIONS)[number];

export const ISOLATION_LEVELS = ['read-uncommitted', 'read-committed'] as const;
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];

/** What an adapter can do. A scenario that needs a capability its adapter lacks is skipped. */
export const CAPABILITIES = [
  'ack.none',
  'ack.leader',
  'ack.all',
  'commit.before-process',
  'commit.after-process',
  'commit.transactional',
  'commit.auto',
  'producer.idempotent',
  'producer.transactional',
  'isolation.read-committed',
  'fault.crash-broker',
  'fault.power-loss',
  'fault.pause-broker',
  'fault.partition',
  'fault.drop-acks',
  'fault.stall-replication',
  'fault.crash-consumer',
  'fault.crash-producer',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * Every capability but the ones named: how an adapter declares what it can do, so that the list
 * is written once, here, and an adapter states only its gaps, each with its reason beside it.
 */
export function capabilitiesWithout(lacking: readonly Capability[]): ReadonlySet<Capability> {
  return new Set(CAPABILITIES.filter((capability) => !lacking.includes(capability)));
}

/** The faults of clients, which the runner injects itself on every adapter. */
export const CLIENT_FAULT_CAPABILITIES: readonly Capability[] = ['fault.crash-consumer', 'fault.crash-producer'];

/** The faults of brokers, which only an adapter that controls the nodes can inject: every other fault. */
export const BROKER_FAULT_CAPABILITIES: readonly Capability[] = CAPABILITIES.filter(
  (capability) => capability.startsWith('fault.') && !CLIENT_FAULT_CAPABILITIES.includes(capability),
);

/** The faults a scenario can schedule. */
export const FAULT_KINDS = [
  'crash-broker',
  'power-loss',
  'restart-broker',
  'pause-broker',
  'resume-broker',
  'partition',
  'heal',
  'drop-acks',
  'stall-replication',
  'crash-consumer',
  'crash-producer',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The capability each fault kind needs: undoing a fault needs the capability of doing it. */
export const FAULT_CAPABILITY: Readonly<Record<FaultKind, Capability>> = {
  'crash-broker': 'fault.crash-broker',
  'power-loss': 'fault.power-loss',
  'restart-broker': 'fault.crash-broker',
  'pause-broker': 'fault.pause-broker',
  'resume-broker': 'fault.pause-broker',
  partition: 'fault.partition',
  heal: 'fault.partition',
  'drop-acks': 'fault.drop-acks',
  'stall-replication': 'fault.stall-replication',
  'crash-consumer': 'fault.crash-consumer',
  'crash-producer': 'fault.crash-producer',
};

/**
 * Which broker a broker fault acts on. A number names a broker by index; `coordinator` is the
 * broker that hosts the transaction coordinator of the run's first transactional id;
 * `followers` (stall-replication only) is every live follower of the fault's partition at once.
 */
export const BROKER_TARGETS = ['leader', 'follower', 'followers', 'any', 'crashed', 'paused', 'coordinator'] as const;
export type BrokerTarget = (typeof BROKER_TARGETS)[number];

/**
 * How a `partition` fault splits the nodes when it does not list the groups itself (a list such
 * as `[[0], [1, 2]]` of broker indices). `isolate-leader` cuts the leader of the fault's partition
 * off from every other node; `majority-minority` cuts a minority of the nodes (fewer than half,
 * drawn from the adapter's seeded random source) off from the rest.
 */
export const PARTITION_TARGETS = ['isolate-leader', 'majority-minority'] as const;
export type PartitionTarget = (typeof PARTITION_TARGETS)[number];

/** Where in its poll-process-commit loop a consumer crashes. */
export const CRASH_POINTS = ['after-poll', 'after-commit', 'after-process'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** What a fault trigger counts. `ms` is time since the workload started, on the adapter's clock. */
export const TRIGGER_KINDS = ['sent', 'acked', 'processed', 'ms'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** The anomalies the checker finds; spec/anomalies.md holds their normative text. */
export const ANOMALIES = [
  'lost',
  'unprocessed',
  'duplicated',
  'reordered',
  'phantom',
  'aborted-read',
  'inconsistent-offset',
] as const;
export type Anomaly = (typeof ANOMALIES)[number];

/** What a scenario expects of one anomaly. */
export const EXPECTATIONS = ['none', 'allowed', 'witnessed'] as const;
export type Expectation = (typeof EXPECTATIONS)[number];

export const GUARANTEES = ['at-most-once', 'at-least-once', 'exactly-once'] as const;
export type Guarantee = (typeof GUARANTEES)[number];

/** The anomalies each guarantee forbids; the others keep their defaults. */
export const GUARANTEE_FORBIDS: Readonly<Record<Guarantee, readonly Anomaly[]>> = {
  'at-most-once': ['duplicated'],
  'at-least-once': ['lost', 'unprocessed'],
  'exactly-once': ['lost', 'unprocessed', 'duplicated'],
};

/** The anomalies each guarantee explicitly allows (the DESIGN.md definitions). */
export const GUARANTEE_ALLOWS: Readonly<Record<Guarantee, readonly Anomaly[]>> = {
  'at-most-once': ['lost', 'unprocessed'],
  'at-least-once': ['duplicated'],
  'exactly-once': [],
};

/**
 * How a scenario ended. `known-failure`: a claim was violated, and the adapter's expectations
 * file names this scenario and the anomalies a known defect of the broker or its client breaks
 * (every violated claim is one of them); it never turns a run red. `inconclusive`: the run did too little for its verdict to mean anything
 * (fewer messages acknowledged, stored or processed than the scenario's `expect.minimum`), and no
 * forbidden anomaly was witnessed; it counts as an error, never as a pass. `interrupted`: the run
 * was stopped (SIGINT, SIGTERM) before this scenario's verdict.
 */
export const SCENARIO_STATUSES = ['passed', 'failed', 'known-failure', 'skipped', 'error', 'inconclusive', 'interrupted'] as const;
export type ScenarioStatus = (typeof SCENARIO_STATUSES)[number];

/**
 * What a run counts per distinct message id (spec/anomalies.md defines each), in the order the
 * result lists them; `expect.minimum` of a scenario names them too.
 */
export const MESSAGE_COUNTS = ['sent', 'acknowledged', 'stored', 'delivered', 'processed'] as const;
export type MessageCount = (typeof MESSAGE_COUNTS)[number];

/** The kinds of line in a history; spec/history.md describes each. */
export const HISTORY_EVENT_TYPES = [
  'setup',
  'phase',
  'send',
  'ack',
  'error',
  'poll',
  'process',
  'commit',
  'commit-error',
  'fault',
  'info',
  'drain',
  'end',
] as const;
export type HistoryEventType = (typeof HISTORY_EVENT_TYPES)[number];

/** SASL mechanisms a connection to a running cluster may use (spec/connection.ts). */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
