// The shapes every local cluster shares: what state.json records of a node and of the cluster,
// the settings supervision needs, and what a broker tells the shared code about itself. Kept
// apart so the supervision and the reuse code can both name them without importing each other.

export type NodeState = 'running' | 'paused' | 'stopped';

/** What state.json records of a node, whatever the broker. */
export interface SupervisedNode {
  /** The node's number, from 1. */
  readonly id: number;
  /** The node's folder: its configuration, data and logs. */
  readonly dir: string;
  /** The node's own configuration file; its process's command line names it. */
  readonly configFile: string;
  pid: number | null;
  state: NodeState;
}

/** What state.json holds, whatever the broker; each broker adds what it needs to restart a node. */
export interface SupervisedState<N extends SupervisedNode> {
  readonly format: number;
  readonly host: string;
  readonly detached: boolean;
  readonly ownerPid: number;
  readonly startedAt: string;
  readonly nodes: N[];
}

export interface SupervisionSettings {
  readonly dataDir: string;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly reuse: boolean;
  readonly detached: boolean;
  readonly log: (line: string) => void;
}

/** What the shared code needs to know of a broker to supervise, describe and reap its nodes. */
export interface BrokerProfile<N extends SupervisedNode> {
  /** The broker's name in messages, such as "Kafka". */
  readonly name: string;
  /** What its node processes are called in messages, such as "JVMs". */
  readonly processNoun: string;
  /** The command that stops a detached cluster, quoted in the "port is not free" error. */
  readonly stopHint: string;
  /** state.json's format number; a file of another format is not read. */
  readonly stateFormat: number;
  /**
   * Command-line arguments every process of this node has, such as its own configuration file:
   * a pid counts as the node only while they are all there.
   */
  markers(node: N): readonly string[];
  /** The node's log files, quoted when it fails. */
  logFiles(node: N): readonly string[];
}
