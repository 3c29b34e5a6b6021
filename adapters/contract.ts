// The adapter contract: what a broker adapter gives the runner. It is small on purpose, so a new
// broker takes one folder; and an adapter declares what it can do instead of silently ignoring
// what it cannot, so a scenario that needs more is skipped with the missing capabilities named.
//
// Every method may be slow or hang on a real broker; the runner puts a deadline on each call,
// so an adapter needs no deadline of its own for correctness, only for good error messages.

import type { MessageRef, PlacedRecord } from '../spec/history.js';
import type { AckMode, Capability, FaultKind, IsolationLevel, Retention, SaslMechanism } from '../spec/vocabulary.js';

/**
 * The version of this contract, as spec/adapters.md describes it. 1.1: broker faults act on the
 * nodes an adapter exposes (NodeControl), whose targets the harness resolves; the catch-up asks
 * for the group's backlog instead of end and committed offsets. 2.0: the consumer acknowledges
 * deliveries (`acknowledgment`, `ack`, `rewind`) instead of committing numeric offsets, a
 * transaction stages an acknowledgment instead of offsets, an adapter declares its retention and
 * the settings it cannot honour, and the benchmark's extras move to an optional extension
 * (Session.bench). 2.1: the optional network partition of nodes (NodeControl.cut and heal).
 */
export const CONTRACT_VERSION = '2.1';

export interface TopicSettings {
  readonly name: string;
  readonly partitions: number;
  readonly replication: number;
  readonly minInsync: number;
  readonly uncleanElection: boolean;
}

export interface OpenOptions {
  readonly seed: number;
  readonly brokers: number;
  /** The topic the workload's producers write and its consumers read. */
  readonly topic: TopicSettings;
  /** The topic a read-process-write pipeline writes its output to, when the scenario has one. */
  readonly outputTopic?: TopicSettings;
  /** Deliberate defects to switch on; only adapters that list them accept them. */
  readonly defects: readonly string[];
  /**
   * The kinds of fault the scenario may inject, so an adapter can prepare only what they need,
   * such as a proxy between clients and brokers for drop-acks that would slow every other run
   * down. Absent (a benchmark, an older caller): the adapter prepares for no fault that needs it.
   */
  readonly faults?: readonly FaultKind[];
  /** Reports a fact worth keeping in the history, such as a retry or a leader election. */
  readonly info: (source: string, message: string) => void;
}

/** A deliberate defect an adapter can switch on, so the suite can show it catches it. */
export interface DefectInfo {
  readonly name: string;
  readonly description: string;
}

/** How to reach a user's running cluster, with secrets and PEM files already read. */
export interface ClusterConnection {
  /** HOST:PORT of the brokers to bootstrap from. */
  readonly brokers: readonly string[];
  readonly tls?: {
    /** PEM text of the certificate authorities to trust; the system's when absent. */
    readonly ca?: string;
    /** PEM text of the client's certificate and key, for mutual TLS. */
    readonly cert?: string;
    readonly key?: string;
    readonly servername?: string;
    readonly rejectUnauthorized: boolean;
  };
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
}

/** The settings of a scenario that shape the cluster and its shards. */
export interface ClusterSettings {
  readonly brokers: number;
  readonly topic: Omit<TopicSettings, 'name'>;
  /**
   * The producers' ack mode, since some settings mean something only under one: `minInsync`
   * bounds the acknowledgment of `ack all` alone, so a broker with a fixed quorum honours any
   * `minInsync` of a scenario that never waits for all.
   */
  readonly ack: AckMode;
}

export interface Adapter {
  readonly name: string;
  readonly description: string;
  readonly capabilities: ReadonlySet<Capability>;
  /**
   * `log`: what a shard stored stays readable after it is acknowledged, and the final drain reads
   * it without consuming it. `queue`: an acknowledged message is deleted, and the drain reads an
   * audit copy the adapter keeps (spec/adapters.md says what "stored" then means).
   */
  readonly retention: Retention;
  readonly defects: readonly DefectInfo[];
  /**
   * Why the adapter cannot honour these settings as written (a `minInsync` other than the
   * broker's fixed quorum, `uncleanElection` on a Raft-replicated broker), in a sentence naming
   * the setting; undefined when it honours them. The scenario is then skipped with that reason,
   * never run approximately. Absent: every setting is honoured.
   */
  cannotHonour?(settings: ClusterSettings): string | undefined;
  open(options: OpenOptions): Promise<Session>;
  /**
   * The same adapter for the user's own cluster (--brokers, --cluster-config) instead of one it
   * starts itself; it declares no fault it could not inject there. Absent when the adapter cannot
   * use an existing cluster.
   */
  connect?(connection: ClusterConnection): Adapter;
  /** Stops what the adapter started for the whole process, such as a local cluster. Safe to call twice. */
  dispose?(): Promise<void>;
}

/** The adapter's clock: virtual on the reference broker, the wall clock on a real one. */
export interface Clock {
  /** Milliseconds since the session opened. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Which of the session's topics a producer writes. */
export type TopicRole = 'input' | 'output';

export interface ProducerOptions {
  readonly index: number;
  readonly topic: TopicRole;
  readonly ack: AckMode;
  readonly retries: number;
  readonly idempotent: boolean;
}

export interface TransactionalProducerOptions extends ProducerOptions {
  /**
   * A new producer with the transactional id of an older one fences the older one: its writes
   * and commits fail from then on, and its open transaction is aborted.
   */
  readonly transactionalId: string;
}

/** Where the broker stored a message. The offset is unknown with ack mode `none`. */
export interface SendResult {
  readonly partition: number;
  readonly offset: number | null;
}

export interface Producer {
  /**
   * Sends one message and resolves when the ack mode is satisfied (at once for `none`).
   * Rejects when the client gives up; the message may still be stored.
   */
  send(message: MessageRef): Promise<SendResult>;
  /** Flushes and leaves cleanly. */
  close(): Promise<void>;
  /** Dies at once, as a killed process would: nothing is flushed, nothing more is sent. */
  crash(): Promise<void>;
}

/**
 * A producer whose sends belong to transactions: all of one commit, or none of them. A
 * transaction is begun, written with send(), given the acknowledgment of the input it consumed
 * (stageAck), and committed or aborted; the writes go one send at a time, rather than as one
 * staged list, so that a producer can crash in the middle of a transaction.
 */
export interface TransactionalProducer extends Producer {
  begin(): Promise<void>;
  /**
   * Makes the acknowledgment of the consumer's deliveries part of the open transaction: it is
   * saved if and only if the transaction commits (Kafka: the offsets go with TxnOffsetCommit).
   */
  stageAck(consumer: Consumer, acknowledgment: Acknowledgment): Promise<void>;
  /** Rejects when the transaction could not commit; it is then aborted or will be. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Benchmark extras, outside the core contract: a session may offer producers that pad values,
 * batch sends and report outcomes through callbacks. A conformance run never uses them; the
 * benchmark uses them where a session has them, and says so where it has not.
 */
export interface BenchProducerOptions {
  /**
   * The size a benchmark counts each message as. The producer pads each record's value to at
   * least this many bytes, so the bytes are on the wire. Absent: values are as small as they come.
   */
  readonly valueBytes?: number;
  /**
   * Gather sends made close together into batched requests, as a Java producer's accumulator
   * does: what a throughput benchmark wants. Absent or false: every send is a request of its own,
   * sent at once, as an application calling a client's send() per message does, which is what a
   * conformance scenario tests (its `maxInFlight` sends may then overlap on the wire).
   */
  readonly batching?: boolean;
}

/** Where BenchProducer.sendWith() reports outcomes, with the token of the send. */
export interface SendCallbacks {
  readonly sent: (result: SendResult, token: number) => void;
  readonly failed: (error: Error, token: number) => void;
}

export interface BenchProducer extends Producer {
  /**
   * send() without a promise. The outcome goes to `callbacks` with `token`, never before the call
   * returns. A closed loop with hundreds of thousands of sends outstanding spent much of its time
   * collecting the promise and the two handlers of each one; with this it needs neither. Same
   * sends, same outcomes as send().
   */
  sendWith(message: MessageRef, callbacks: SendCallbacks, token: number): void;
}

export interface BenchExtension {
  producer(options: ProducerOptions & BenchProducerOptions): Promise<BenchProducer>;
  transactionalProducer(options: TransactionalProducerOptions & BenchProducerOptions): Promise<TransactionalProducer>;
  /**
   * The same sends by the adapter's client library alone, as an application would write them,
   * with nothing of deliverycheck in between: the yardstick of what the harness itself costs.
   * Absent when there is no client library apart from the adapter (the reference broker).
   */
  bareLoop?(options: BareLoopOptions): Promise<BareLoopResult>;
}

export interface BareLoopOptions {
  readonly ack: AckMode;
  /** Messages to send to the input topic, spread over its shards. */
  readonly records: number;
  /** Sends outstanding at most. */
  readonly window: number;
  readonly valueBytes: number;
}

export interface BareLoopResult {
  /** Sends that resolved (with ack none: that the client took). */
  readonly completed: number;
  readonly errors: number;
  /** The message of the first send that rejected, so a failed loop says why. */
  readonly firstError?: string;
  /** From the first send to the last completion, in real milliseconds. */
  readonly elapsedMs: number;
}

export interface ConsumerOptions {
  readonly index: number;
  readonly group: string;
  readonly isolation: IsolationLevel;
  /** Commit positions periodically inside the client (commit mode `auto`). */
  readonly autoCommit: boolean;
  readonly maxPollRecords: number;
}

/**
 * A delivered message: its id, its shard (the history's `partition`) and its position in the
 * shard (the history's `offset`), or the raw id of something that is not ours. Positions are
 * opaque to the harness except for their order within a shard: a Kafka offset, a JetStream
 * stream sequence.
 */
export type DeliveredRecord = PlacedRecord;

/**
 * What acknowledging some deliveries would save, made by the consumer that delivered them and
 * handed back to its ack() or to a transaction's stageAck(). An adapter may carry more in it
 * (the messages to acknowledge one by one); the harness reads only `positions`.
 */
export interface Acknowledgment {
  /**
   * Shard to the position the acknowledgment saves, as the history's commit line writes it (on a
   * log: the next position to read). Empty when it would save nothing new, and then the
   * harness does not acknowledge.
   */
  readonly positions: ReadonlyMap<number, number>;
}

export interface Consumer {
  /** Returns the next records of the shards this member receives; may be empty. */
  poll(timeoutMs: number): Promise<readonly DeliveredRecord[]>;
  /**
   * What acknowledging these deliveries, the last poll's, would save. Kafka: the consumer's
   * positions, past every record poll returned and past transaction markers, which are not
   * records; so after an empty poll it may still save something new. A broker with per-message
   * acknowledgments: those messages.
   */
  acknowledgment(deliveries: readonly DeliveredRecord[]): Acknowledgment;
  /**
   * Saves the acknowledgment: the group will not deliver those messages again. Rejects when it
   * could not (Kafka: the group has moved on since the poll).
   */
  ack(acknowledgment: Acknowledgment): Promise<void>;
  /**
   * The shards this member receives from now: empty before it joined its group and while the
   * group rebalances. The member is ready once it has them; the group is whole once its members
   * together have every shard.
   */
  assignment(): ReadonlySet<number>;
  /** Goes back to what was acknowledged, as after an aborted transaction: unacknowledged deliveries come again. */
  rewind(): Promise<void>;
  /** Leaves the group cleanly. */
  close(): Promise<void>;
  /** Dies at once: no acknowledgment, no leave; the group notices when the session times out. */
  crash(): Promise<void>;
}

/** A node as the harness sees it: a killed process is `crashed` until it is started again. */
export type NodeState = 'running' | 'paused' | 'crashed';

export interface NodeInfo {
  readonly id: number;
  readonly state: NodeState;
}

/** A shard's roles and replicas at the instant before a fault, as the adapter found them. */
export interface ShardObservation {
  /** The history's line on the shard: leader, in-sync replicas, each replica's log end. */
  readonly description: string;
  /** The shard's leader and replicas (the leader among them); undefined when they could not be found in time. */
  readonly shard?: { readonly leader: number | null; readonly replicas: readonly number[] };
  /** Which node leads each shard, labelled as fault lines name them, for "(leader of partition 0)". */
  readonly leaders: readonly { readonly label: string; readonly leader: number | null }[];
}

/**
 * The nodes of a cluster the adapter controls: their states and the primitive acts on them.
 * Which node a fault's target names, whether the fault has anything to act on, and the words of
 * the history are the harness's (harness/conformance/faults.ts), the same for every adapter. An act resolves
 * once its effect is real (a killed node is gone, a paused one stopped by the kernel) and says
 * how it acted, as words appended to the harness's, such as " with SIGKILL", or "".
 */
export interface NodeControl {
  /** What the history calls a node: `broker` on the reference broker, `node` on a local cluster. */
  readonly noun: string;
  /** The nodes in the order of the scenario's broker indices (index 0 first), with their states now. */
  nodes(): readonly NodeInfo[];
  /**
   * The input shard a fault names, as the cluster sees it now. `needsRoles`: the fault's target
   * depends on the leader and replicas, so the adapter may take its time (and reject when it
   * cannot find them); otherwise the observation only goes into the history and must come at
   * once, or a fault would move.
   */
  observe(shard: number, needsRoles: boolean): Promise<ShardObservation>;
  /** The node coordinating the session's first transactional id, when one is in use. */
  coordinator(): Promise<number | undefined>;
  /** One of the choices, from the adapter's seeded random source. */
  pick<T>(choices: readonly T[]): T;
  kill(id: number): Promise<string>;
  /** Starts a crashed node on its old data. */
  start(id: number): Promise<string>;
  pause(id: number): Promise<string>;
  resume(id: number): Promise<string>;
  /** fault.power-loss: kill the node and lose what it had not flushed; says what was lost. */
  powerLoss?(id: number): Promise<string>;
  /** fault.drop-acks: the node's next `count` acknowledgments are lost; a predicate such as "will drop its next 5 produce acknowledgments". */
  dropAcks?(id: number, count: number): Promise<string>;
  /** fault.stall-replication: the nodes stop replicating for `durationMs` (at most stallMaxMs), then go on by themselves. */
  stall?(ids: readonly number[], durationMs: number): Promise<{ readonly means: string; readonly then: string }>;
  /** The longest stall that keeps a follower registered and in sync; needed with `stall` alone. */
  readonly stallMaxMs?: number;
  /**
   * fault.partition: cuts every link between two nodes of different groups, both ways, and makes
   * every other link between nodes whole again, so a cut replaces the one in force. Every node is
   * in exactly one group (the harness resolved the scenario's target into them). Clients keep
   * reaching every node, as Jepsen's clients on the control node do. Says how it cut, as words
   * appended to the harness's, such as "; the controller quorum stays with brokers 0, 2".
   */
  cut?(groups: readonly (readonly number[])[]): Promise<string>;
  /** fault.partition: makes every link between nodes whole again; says how, as `cut` does. */
  heal?(): Promise<string>;
  /** Ends the node's stalls and lost acknowledgments, before a heal resumes or restarts it; says what it did. */
  clear(id: number): Promise<readonly string[]>;
}

/** What the final drain read found. */
export interface StoredRecord extends PlacedRecord {
  readonly topic: TopicRole;
  /** The record belongs to an aborted transaction (or one never completed). */
  readonly aborted?: boolean;
}

export interface Session {
  readonly clock: Clock;
  /** The nodes the adapter controls; absent when it controls none (a user's own cluster). */
  readonly nodes?: NodeControl;
  /** Benchmark extras; absent when the adapter has none. */
  readonly bench?: BenchExtension;
  producer(options: ProducerOptions): Promise<Producer>;
  transactionalProducer(options: TransactionalProducerOptions): Promise<TransactionalProducer>;
  consumer(options: ConsumerOptions): Promise<Consumer>;
  /**
   * How far the group's saved position is behind the end of the input, summed over its shards,
   * in the broker's own units (Kafka: offsets, transaction markers included): 0 once its
   * consumers have caught up with everything stored. The catch-up waits for it to reach 0 and
   * sees progress in its change.
   */
  backlog(group: string): Promise<number>;
  /** Waits until every replica of every partition is back in sync, or the time is up. */
  settle(timeoutMs: number): Promise<boolean>;
  /** Reads every partition of every topic from its first offset to its end. */
  drain(): Promise<readonly StoredRecord[]>;
  /** Stops everything the session started. Safe to call twice. */
  close(): Promise<void>;
}

