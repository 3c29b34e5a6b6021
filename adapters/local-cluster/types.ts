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

/** What every local cluster's handle offers, whatever the broker; View is its view of a node. */
export interface LocalClusterHandle<View> {
  /** The address every port binds to, such as 127.0.0.1. */
  readonly host: string;
  /** The nodes as they are now: a node that died on its own shows as stopped. */
  readonly nodes: readonly View[];
  readonly dataDir: string;
  /** True when this process started the nodes and ends them on exit. */
  readonly owned: boolean;
  /** True when the start found this cluster already running and attached to it. */
  readonly reused: boolean;
  node(id: number): View;
  /** SIGKILL: the node dies at once, as in a power cut. Resolves once the process is gone. */
  kill(id: number): Promise<void>;
  /** SIGTERM and wait for the node's own shutdown; SIGKILL once stopTimeoutMs has passed. */
  stop(id: number): Promise<void>;
  /** Starts a stopped node on its old data and waits until the cluster serves with it. */
  start(id: number): Promise<void>;
  /** SIGSTOP: the node freezes with its sockets open, as in a long GC pause or a hung disk. */
  pause(id: number): Promise<void>;
  /** SIGCONT: a paused node carries on. */
  resume(id: number): Promise<void>;
  /** Waits until every running node passes the broker's readiness check (see each broker's handle). */
  waitReady(timeoutMs?: number): Promise<void>;
  /**
   * Undoes every node fault: resumes paused nodes, starts stopped ones, and waits until the
   * cluster serves with all of them. Says what it did, such as "started node 2".
   */
  heal(): Promise<readonly string[]>;
  /** Stops every node (SIGTERM, then SIGKILL at the deadline) and forgets the state file. */
  stopAll(): Promise<void>;
  /** Ends this process's use: stops an owned cluster, leaves a reused or detached one running. */
  release(): Promise<void>;
}
