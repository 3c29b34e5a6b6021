// The history: every operation of a run, one JSON object per line, written as it happens.
// `i` is the event's 1-based line number and `t` the adapter's clock in milliseconds since the
// run began (virtual time on the reference broker, so a seed reproduces the file byte for byte).
// The checker reads nothing else, which is why every field it needs is spelled out here.

import type { Minimum, NodeGroups } from './scenario.js';
import type { Anomaly, Expectation, FaultKind } from './vocabulary.js';

/** A message as the workload wrote it: a unique id, its producer and that producer's sequence. */
export interface MessageRef {
  readonly id: string;
  readonly producer: number;
  readonly seq: number;
  readonly key: string;
}

/** A message found at a place in the log. */
export interface PlacedRecord {
  readonly id: string;
  readonly partition: number;
  readonly offset: number;
}

interface Base {
  readonly i: number;
  readonly t: number;
}

/**
 * The run's settings, first line of every history: what `deliverycheck check` needs besides the
 * events to reach the run's verdict and to name the command that runs it again.
 */
export interface SetupEvent extends Base {
  readonly type: 'setup';
  readonly scenario: string;
  readonly file: string;
  readonly adapter: string;
  readonly seed: number;
  readonly topic: string;
  readonly partitions: number;
  readonly ack: string;
  readonly commit: string;
  readonly isolation: string;
  readonly defects: readonly string[];
  /**
   * The scenario's expectation of every anomaly, its guarantee and overrides resolved. A
   * benchmark's history has none: it has no claims to judge.
   */
  readonly expect?: Readonly<Record<Anomaly, Expectation>>;
  /**
   * How much the run must have done for a verdict (the scenario's `expect.minimum`, defaults
   * applied) and the workload's size the shares are of: an empty pass is inconclusive on a
   * re-check as in the run.
   */
  readonly minimum?: Minimum;
  readonly messages?: number;
  /** The options that named the user's cluster (--brokers, --cluster-config), when there were any. */
  readonly clusterArgs?: readonly string[];
}

/** A change of the runner's phase: workload, heal, catch-up, drain, done. */
export interface PhaseEvent extends Base {
  readonly type: 'phase';
  readonly name: string;
  readonly note?: string;
}

/** A producer handed a message to its client. Resends inside the client are `info` events. */
export interface SendEvent extends Base, MessageRef {
  readonly type: 'send';
}

/** The broker acknowledged a message. With ack mode `none`, there are no ack events. */
export interface AckEvent extends Base {
  readonly type: 'ack';
  readonly producer: number;
  readonly id: string;
  readonly partition: number;
  readonly offset: number;
}

/** A send ended in an error: the message is not acknowledged (it may still be stored). */
export interface ErrorEvent extends Base {
  readonly type: 'error';
  readonly producer: number;
  readonly id: string;
  readonly error: string;
}

/** A consumer's poll returned these records: they are delivered. */
export interface PollEvent extends Base {
  readonly type: 'poll';
  readonly consumer: number;
  readonly records: readonly PlacedRecord[];
}

/** A consumer applied the side effect of one message: it is processed. */
export interface ProcessEvent extends Base, PlacedRecord {
  readonly type: 'process';
  readonly consumer: number;
}

/** A consumer committed these next offsets, partition to offset. */
export interface CommitEvent extends Base {
  readonly type: 'commit';
  readonly consumer: number;
  readonly offsets: Readonly<Record<string, number>>;
}

export interface CommitErrorEvent extends Base {
  readonly type: 'commit-error';
  readonly consumer: number;
  readonly offsets: Readonly<Record<string, number>>;
  readonly error: string;
}

/** A fault was injected (or a crash point reached). `result` says what the adapter did. */
export interface FaultEvent extends Base {
  readonly type: 'fault';
  readonly do: FaultKind;
  /** As the scenario wrote it: a name, an index, or for partition the groups of broker indices. */
  readonly target?: string | number | NodeGroups;
  readonly result: string;
}

/** Something an adapter or the runner reports that is not an operation: a retry, an election. */
export interface InfoEvent extends Base {
  readonly type: 'info';
  readonly source: string;
  readonly message: string;
}

/**
 * The final drain read found this record in the log. `aborted` marks an aborted transaction's;
 * `output` marks a record of a read-process-write pipeline's output topic, where a message id
 * stands for the input message it was made from.
 */
export interface DrainEvent extends Base, PlacedRecord {
  readonly type: 'drain';
  readonly aborted?: boolean;
  readonly output?: boolean;
}

/**
 * The last line of a scenario's history, written once every client and the session are closed.
 * `status` and `reason` say why the run stopped before its verdict (an error, an interruption);
 * without them the verdict is the checker's. A history without this line is partial: the run was
 * killed (spec/history.md says what such a history can and cannot prove).
 */
export interface EndEvent extends Base {
  readonly type: 'end';
  readonly status?: 'error' | 'interrupted';
  readonly reason?: string;
  /** What the run noted that is not a verdict, such as a fault whose trigger never came. */
  readonly notes?: readonly string[];
}

export type HistoryEvent =
  | SetupEvent
  | PhaseEvent
  | SendEvent
  | AckEvent
  | ErrorEvent
  | PollEvent
  | ProcessEvent
  | CommitEvent
  | CommitErrorEvent
  | FaultEvent
  | InfoEvent
  | DrainEvent
  | EndEvent;

/** An event before the recorder numbers and times it. */
export type HistoryEventInput = HistoryEvent extends infer E
  ? E extends HistoryEvent
    ? Omit<E, 'i' | 't'>
    : never
  : never;
