// Starts and controls a local Apache Kafka cluster in KRaft mode for tests and benchmarks: three
// JVMs on 127.0.0.1, each both broker and controller, with real disks under .cache/. The kafka
// adapter injects its broker faults through this module (kill, stop, start, pause, resume), so
// every operation waits for its effect to be real before it resolves: a killed node is gone, a
// paused node is stopped by the kernel, a started node serves Kafka requests.
//
// Two ways to own the JVMs:
// - owned (the default): this process owns them. Each JVM runs under a tiny shell watchdog that
//   kills it when this process's end of a pipe closes, so even a SIGKILLed owner leaves nothing
//   behind; exit and signal handlers kill them sooner on an ordinary exit.
// - detached (the `start` command): the JVMs outlive the process that started them, and
//   state.json lets any later process find, reuse, inspect and stop them.

import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../../../core/package-root.js';
import { ClusterError } from '../../local-cluster/errors.js';
import { LOG_TAIL_LINES, quotable } from '../../local-cluster/logs.js';
import { checkLayout, environmentLayout } from '../../local-cluster/options.js';
import { assertPortsFree, portOpen } from '../../local-cluster/ports.js';
import { acquireStartLock, readState } from '../../local-cluster/state-file.js';
import {
  attachExisting,
  observedNode,
  SupervisedCluster,
  type BrokerProfile,
  type LocalClusterHandle,
  type SupervisedState,
  type NodeState,
} from '../../local-cluster/supervised-cluster.js';
import { checkJava, ensureKafka, javaCommand, kafkaClasspath, DEFAULT_KAFKA_VERSION } from './fetch.js';
import { describeCluster, ProbeError, type ClusterView } from './protocol.js';

export type { NodeState };

export interface ClusterNode {
  /** The Kafka node.id, from 1. */
  readonly id: number;
  /** The JVM's process id, or null when the node is stopped. */
  readonly pid: number | null;
  /** The PLAINTEXT port clients use; also the listener the brokers replicate through. */
  readonly clientPort: number;
  /** The CONTROLLER port the KRaft quorum uses. */
  readonly controllerPort: number;
  /**
   * The EXTERNAL port: a second client listener that advertises proxyPort instead of itself, so
   * a client bootstrapped through the proxy port is told to use proxy ports for every broker.
   */
  readonly externalPort: number;
  /** Where the kafka adapter's proxy (adapters/kafka/proxy.ts) listens for the EXTERNAL listener. */
  readonly proxyPort: number;
  readonly state: NodeState;
  /** The node's folder: server.properties, data/, logs/server.log and jvm.log. */
  readonly dir: string;
}

export interface ClusterOptions {
  /** How many nodes, each both broker and controller; default 3. */
  readonly nodeCount?: number;
  /** Where node folders and state.json live; default `<package>/.cache/kafka-cluster`. */
  readonly dataDir?: string;
  /** The address every listener binds to; default 127.0.0.1. */
  readonly host?: string;
  /**
   * The cluster takes 4 ports a node, from basePort on. Node n listens for clients (PLAINTEXT) on
   * basePort + 2(n-1) and for the quorum on the port after it; after those pairs come, in the same
   * order, each node's EXTERNAL client port and the proxy port that listener advertises. With the
   * default 19092 and 3 nodes: PLAINTEXT/CONTROLLER 19092/19093, 19094/19095 and 19096/19097, then
   * EXTERNAL/proxy 19098/19099, 19100/19101 and 19102/19103. The PLAINTEXT ports stay where they
   * were before the EXTERNAL listener existed, so addresses people wrote down still work.
   */
  readonly basePort?: number;
  readonly kafkaVersion?: string;
  /** Where fetched jars are cached; default `<package>/.cache/kafka`. */
  readonly kafkaCacheDir?: string;
  /** Replaces the default JVM options (heap and garbage collector). */
  readonly jvmOptions?: readonly string[];
  /** Extra or overriding broker settings, written into every node's server.properties. */
  readonly brokerProperties?: Readonly<Record<string, string | number | boolean>>;
  /** The whole start, from format to every node serving, must finish within this; default 120 s. */
  readonly readyTimeoutMs?: number;
  /** How long a SIGTERMed node may take to shut down before it is killed; default 30 s. */
  readonly stopTimeoutMs?: number;
  /** Use a healthy cluster already running in dataDir with the same layout; default true. */
  readonly reuse?: boolean;
  /** Leave the JVMs running after this process ends (the `start` command); default false. */
  readonly detached?: boolean;
  /** Progress lines for a human; silent when absent. */
  readonly log?: (line: string) => void;
}

/**
 * A Kafka cluster's handle: the shared one, plus the cluster id and bootstrap servers. waitReady
 * waits until every running node answers a Metadata request for this cluster id and lists every
 * running node among its live brokers.
 */
export interface ClusterHandle extends LocalClusterHandle<ClusterNode> {
  readonly clusterId: string;
  /** host:port of every node's PLAINTEXT listener, comma-separated, for bootstrap.servers. */
  readonly bootstrap: string;
}

export { ClusterError };

const DEFAULT_NODE_COUNT = 3;
const DEFAULT_BASE_PORT = 19092;
/** PLAINTEXT, CONTROLLER, EXTERNAL and the proxy port EXTERNAL advertises; see ClusterOptions.basePort. */
const PORTS_PER_NODE = 4;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_READY_TIMEOUT_MS = 120_000;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 2_000;
const STATE_FORMAT = 1;

/**
 * Small heaps so three brokers fit beside the test run; the serial collector because with two
 * cores a parallel collector's threads would only compete with the brokers' own. A JVM that runs
 * out of memory exits instead of limping on; no perf-data file is left in /tmp by a killed JVM.
 */
export const DEFAULT_JVM_OPTIONS: readonly string[] = [
  '-Xms256m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:+ExitOnOutOfMemoryError',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
];

/** The storage tool runs for a second or two: a small heap, and no time spent optimising code. */
const TOOL_JVM_OPTIONS: readonly string[] = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData'];

/**
 * Runs a JVM and kills it when stdin reaches end of file, which happens when the owning process
/** Log4j 2 configuration: one file per node, so a failure can quote the node's own log. */
const LOG4J_CONFIG = `# Generated by deliverycheck: each Kafka node logs to <node>/logs/server.log, the storage
# format step to <node>/logs/format.log.
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = \${sys:kafka.logs.dir}/\${sys:kafka.log.file:-server.log}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
# Request logging at INFO would write a line per request and slow the brokers down.
logger.request.name = kafka.request.logger
logger.request.level = WARN
`;

/** What renderServerProperties needs of the node it writes the settings of. */
export interface NodePorts {
  readonly id: number;
  readonly clientPort: number;
  readonly controllerPort: number;
  readonly externalPort: number;
  readonly proxyPort: number;
  readonly dir: string;
}

interface StateNode extends NodePorts {
  readonly configFile: string;
  pid: number | null;
  state: NodeState;
}

/** What state.json holds: enough for another process to check, reuse, restart and stop the nodes. */
interface ClusterState extends SupervisedState<StateNode> {
  readonly format: number;
  readonly clusterId: string;
  readonly kafkaVersion: string;
  readonly host: string;
  readonly detached: boolean;
  readonly ownerPid: number;
  readonly startedAt: string;
  readonly java: string;
  readonly classpath: string;
  readonly jvmOptions: readonly string[];
  readonly log4jConfig: string;
  readonly nodes: StateNode[];
}

interface Settings {
  readonly nodeCount: number;
  readonly dataDir: string;
  readonly host: string;
  readonly basePort: number;
  readonly kafkaVersion: string;
  readonly kafkaCacheDir: string | undefined;
  readonly jvmOptions: readonly string[];
  readonly brokerProperties: Readonly<Record<string, string | number | boolean>>;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly reuse: boolean;
  readonly detached: boolean;
  readonly log: (line: string) => void;
}

export function defaultClusterDir(): string {
  return join(packageRoot(), '.cache', 'kafka-cluster');
}

/**
 * The local cluster's folder and first port from DELIVERYCHECK_KAFKA_DIR and
 * DELIVERYCHECK_KAFKA_PORT, when set, so a CI job or a second checkout keeps clear of a cluster
 * already running with the defaults. The adapter and the kafka:start|stop|status commands read
 * the same variables, so a stop with the environment of a start reaches the same cluster.
 */
export function environmentClusterOptions(env: NodeJS.ProcessEnv = process.env): Pick<ClusterOptions, 'dataDir' | 'basePort'> {
  return environmentLayout(env, 'DELIVERYCHECK_KAFKA_DIR', 'DELIVERYCHECK_KAFKA_PORT');
}

function resolveSettings(options: ClusterOptions): Settings {
  const nodeCount = options.nodeCount ?? DEFAULT_NODE_COUNT;
  const basePort = options.basePort ?? DEFAULT_BASE_PORT;
  checkLayout(nodeCount, basePort, PORTS_PER_NODE, 65536);
  return {
    nodeCount,
    dataDir: resolve(options.dataDir ?? defaultClusterDir()),
    host: options.host ?? DEFAULT_HOST,
    basePort,
    kafkaVersion: options.kafkaVersion ?? DEFAULT_KAFKA_VERSION,
    kafkaCacheDir: options.kafkaCacheDir,
    jvmOptions: options.jvmOptions ?? DEFAULT_JVM_OPTIONS,
    brokerProperties: options.brokerProperties ?? {},
    readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    reuse: options.reuse ?? true,
    detached: options.detached ?? false,
    log: options.log ?? (() => undefined),
  };
}

/** A Kafka cluster id: 16 random bytes in URL-safe base64, never starting with "-" (Kafka's rule). */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * The broker settings of one node. Short timeouts are chosen so a fault is noticed within
 * seconds, yet long enough that garbage collection on a busy two-core machine does not look like
 * a fault: the controller fences a broker that has not sent a heartbeat for 4 s, a follower leaves
 * the ISR after 5 s without catching up, and consumer groups may use sessions as short as 1 s.
 */
export function renderServerProperties(
  node: NodePorts,
  voters: readonly { readonly id: number; readonly controllerPort: number }[],
  host: string,
  overrides: Readonly<Record<string, string | number | boolean>>,
): string {
  const replication = Math.min(3, voters.length);
  const minInsync = Math.min(2, replication);
  const settings: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    // A static quorum: every node knows all voters from its configuration, so formatting needs
    // no directory ids and a restarted node simply rejoins.
    'controller.quorum.voters': voters.map((voter) => `${voter.id}@${host}:${voter.controllerPort}`).join(','),
    // PLAINTEXT serves the brokers themselves, tools and most clients. EXTERNAL is the same
    // protocol on another port that advertises the proxy port: a broker answers a Metadata
    // request with the addresses of the listener it came in on, so a client that starts at a
    // proxy port only ever learns proxy ports, and all its traffic passes the proxy.
    listeners: `PLAINTEXT://${host}:${node.clientPort},EXTERNAL://${host}:${node.externalPort},CONTROLLER://${host}:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${node.clientPort},EXTERNAL://${host}:${node.proxyPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(node.dir, 'data'),
    // Scenarios create their topics with explicit partitions, replication and min.insync; a topic
    // created by a typo would silently have other settings.
    'auto.create.topics.enable': false,
    'offsets.topic.replication.factor': replication,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minInsync,
    'share.coordinator.state.topic.replication.factor': replication,
    'share.coordinator.state.topic.min.isr': minInsync,
    // Fewer internal partitions than the default 50 make the first group or transaction start in
    // well under a second on a small cluster, and change no guarantee.
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.num.partitions': 10,
    'group.initial.rebalance.delay.ms': 0,
    'broker.heartbeat.interval.ms': 1000,
    'broker.session.timeout.ms': 4000,
    'replica.lag.time.max.ms': 5000,
    'group.min.session.timeout.ms': 1000,
    'group.consumer.min.session.timeout.ms': 1000,
    'group.consumer.session.timeout.ms': 6000,
    'group.consumer.min.heartbeat.interval.ms': 500,
    'group.consumer.heartbeat.interval.ms': 1000,
    // Threads sized for two cores, and a 16 MB log-cleaner buffer instead of 128 MB of a 512 MB heap.
    'num.network.threads': 2,
    'num.io.threads': 4,
    'log.cleaner.dedupe.buffer.size': 16 * 1024 * 1024,
    ...overrides,
  };
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${String(value)}`);
  return `# Generated by deliverycheck for node ${node.id}; rewritten on every fresh start.\n${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Supervision: processes, faults, state.json and cleanup are shared with every local cluster
// (adapters/local-cluster/); what follows is what only Kafka knows.

/**
 * A pid counts as a node only when its command line names kafka.Kafka and the node's own
 * server.properties: a pid from state.json may by now belong to another program.
 */
const KAFKA: BrokerProfile<StateNode> = {
  name: 'Kafka',
  processNoun: 'JVMs',
  stopHint: '"kafka-cluster stop"',
  stateFormat: STATE_FORMAT,
  markers: (node) => ['kafka.Kafka', node.configFile],
  logFiles: (node) => [join(node.dir, 'jvm.log'), join(node.dir, 'logs', 'server.log')],
};

class Cluster extends SupervisedCluster<StateNode, ClusterState, ClusterNode> implements ClusterHandle {
  constructor(state: ClusterState, settings: Settings, owned: boolean, reused: boolean) {
    super(KAFKA, state, settings, owned, reused);
  }

  get clusterId(): string {
    return this.state.clusterId;
  }

  get bootstrap(): string {
    return this.state.nodes.map((node) => `${this.state.host}:${node.clientPort}`).join(',');
  }

  protected view(node: StateNode): ClusterNode {
    const { id, pid, clientPort, controllerPort, externalPort, proxyPort, state, dir } = node;
    return { id, pid, clientPort, controllerPort, externalPort, proxyPort, state, dir };
  }

  private javaArguments(node: StateNode): string[] {
    return [
      ...this.state.jvmOptions,
      `-Dlog4j2.configurationFile=${this.state.log4jConfig}`,
      `-Dkafka.logs.dir=${join(node.dir, 'logs')}`,
      '-cp',
      this.state.classpath,
      'kafka.Kafka',
      node.configFile,
    ];
  }

  protected async launch(node: StateNode): Promise<{ command: string; args: readonly string[]; logFile: string }> {
    await mkdir(join(node.dir, 'logs'), { recursive: true });
    return { command: this.state.java, args: this.javaArguments(node), logFile: join(node.dir, 'jvm.log') };
  }


  /** One readiness check of one node: undefined when it serves, or what is still missing. */
  protected async probe(node: StateNode, runningIds: readonly number[], deadline: number): Promise<string | undefined> {
    const address = `${this.state.host}:${node.clientPort}`;
    const timeoutMs = Math.max(100, Math.min(PROBE_TIMEOUT_MS, deadline - Date.now()));
    let view: ClusterView;
    try {
      view = await describeCluster(this.state.host, node.clientPort, timeoutMs);
    } catch (error) {
      if (error instanceof ProbeError && error.stage === 'connect') return `nothing listens on ${address} yet`;
      const reason = error instanceof Error ? error.message : String(error);
      const listening = await portOpen(this.state.host, node.clientPort, timeoutMs);
      return listening ? `${address} accepts connections but does not serve Kafka yet (${reason})` : `${address}: ${reason}`;
    }
    if (view.clusterId !== this.state.clusterId) {
      return `${address} serves another Kafka cluster (id ${view.clusterId ?? 'none'}, expected ${this.state.clusterId})`;
    }
    const seen = view.brokers.map((broker) => broker.nodeId);
    const missing = runningIds.filter((id) => !seen.includes(id));
    return missing.length === 0 ? undefined : `${address} serves but does not yet list brokers ${missing.join(', ')} as live`;
  }
}

function nodeLayout(settings: Settings): StateNode[] {
  return Array.from({ length: settings.nodeCount }, (_, index) => {
    const id = index + 1;
    const clientPort = settings.basePort + 2 * index;
    const externalPort = settings.basePort + 2 * settings.nodeCount + 2 * index;
    const dir = join(settings.dataDir, `node-${id}`);
    return {
      id,
      clientPort,
      controllerPort: clientPort + 1,
      externalPort,
      proxyPort: externalPort + 1,
      dir,
      configFile: join(dir, 'server.properties'),
      pid: null,
      state: 'stopped' as NodeState,
    };
  });
}

function sameLayout(state: ClusterState, settings: Settings): boolean {
  const wanted = nodeLayout(settings);
  return (
    state.kafkaVersion === settings.kafkaVersion &&
    state.host === settings.host &&
    state.nodes.length === wanted.length &&
    // A state.json written before the EXTERNAL listener existed has no externalPort: its nodes
    // lack that listener, so the cluster is replaced rather than reused.
    state.nodes.every((node, index) => {
      const expected = wanted[index];
      return (
        expected !== undefined &&
        node.clientPort === expected.clientPort &&
        node.controllerPort === expected.controllerPort &&
        node.externalPort === expected.externalPort &&
        node.proxyPort === expected.proxyPort &&
        node.dir === expected.dir
      );
    })
  );
}

async function formatStorage(state: ClusterState, node: StateNode, timeoutMs: number): Promise<void> {
  const result = await execa(
    state.java,
    [
      ...TOOL_JVM_OPTIONS,
      `-Dlog4j2.configurationFile=${state.log4jConfig}`,
      `-Dkafka.logs.dir=${join(node.dir, 'logs')}`,
      '-Dkafka.log.file=format.log',
      '-cp',
      state.classpath,
      'kafka.tools.StorageTool',
      'format',
      '--config',
      node.configFile,
      '--cluster-id',
      state.clusterId,
    ],
    { all: true, reject: false, timeout: timeoutMs },
  );
  if (result.failed) {
    const output = quotable(result.all ?? '').slice(-LOG_TAIL_LINES).join('\n');
    throw new ClusterError(`formatting the storage of node ${node.id} failed (exit code ${result.exitCode ?? 'none'}):\n${output}`);
  }
}

/**
 * Tries to attach to the cluster state.json describes. Returns undefined when there is none worth
 * attaching to, after reaping whatever is left of it.
 */
function attachKafka(settings: Settings): Promise<Cluster | undefined> {
  return attachExisting<StateNode, ClusterState, Cluster>(KAFKA, settings, {
    sameLayout: (state) => sameLayout(state, settings),
    attach: (state) => new Cluster(state, settings, false, true),
    address: (cluster) => cluster.bootstrap,
  });
}

/**
 * Starts a KRaft cluster, or attaches to a healthy one already running in the data folder (when
 * `reuse` is on and it was started detached with the same layout). Resolves once every node
 * serves Kafka requests and sees all nodes; on failure, nothing it started is left running.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<ClusterHandle> {
  const started = Date.now();
  const settings = resolveSettings(options);
  await mkdir(settings.dataDir, { recursive: true });
  const releaseLock = await acquireStartLock(settings.dataDir, KAFKA.name);
  try {
    return await startLocked(settings, started);
  } finally {
    await releaseLock();
  }
}

async function startLocked(settings: Settings, started: number): Promise<ClusterHandle> {
  const reused = await attachKafka(settings);
  if (reused !== undefined) return reused;

  const java = javaCommand();
  await checkJava(java);
  const install = await ensureKafka({
    version: settings.kafkaVersion,
    ...(settings.kafkaCacheDir !== undefined ? { cacheDir: settings.kafkaCacheDir } : {}),
    log: settings.log,
  });
  const nodes = nodeLayout(settings);
  // The proxy ports too: the adapter's proxy binds them later, and should find them free.
  await assertPortsFree(
    settings.host,
    nodes.flatMap((node) => [node.clientPort, node.controllerPort, node.externalPort, node.proxyPort]),
    KAFKA.stopHint,
  );

  const log4jConfig = join(settings.dataDir, 'log4j2.properties');
  await writeFile(log4jConfig, LOG4J_CONFIG);
  const state: ClusterState = {
    format: STATE_FORMAT,
    clusterId: randomClusterId(),
    kafkaVersion: install.version,
    host: settings.host,
    detached: settings.detached,
    ownerPid: process.pid,
    startedAt: new Date().toISOString(),
    java,
    classpath: kafkaClasspath(install),
    jvmOptions: settings.jvmOptions,
    log4jConfig,
    nodes,
  };
  for (const node of nodes) {
    // A fresh start is a fresh cluster: old data would belong to another cluster id.
    await rm(node.dir, { recursive: true, force: true });
    await mkdir(join(node.dir, 'logs'), { recursive: true });
    await writeFile(node.configFile, renderServerProperties(node, nodes, settings.host, settings.brokerProperties));
  }
  settings.log(`formatting ${nodes.length} Kafka ${install.version} nodes in ${settings.dataDir}`);
  const deadline = started + settings.readyTimeoutMs;
  const remainingMs = () => Math.max(1, deadline - Date.now());
  await Promise.all(nodes.map((node) => formatStorage(state, node, remainingMs())));

  const cluster = new Cluster(state, settings, !settings.detached, false);
  await cluster.bringUp(deadline);
  settings.log(`Kafka cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cluster.bootstrap}`);
  return cluster;
}

export interface NodeStatus extends ClusterNode {
  /** What the node's Metadata answer said, or why there was none. */
  readonly serving: boolean;
  readonly detail: string;
}

export interface ClusterStatus {
  readonly dataDir: string;
  readonly clusterId: string;
  readonly kafkaVersion: string;
  readonly bootstrap: string;
  readonly detached: boolean;
  readonly ownerPid: number;
  readonly startedAt: string;
  readonly nodes: readonly NodeStatus[];
}

/** Reads state.json and asks every node how it is, without changing anything. */
export async function clusterStatus(dataDir: string = defaultClusterDir()): Promise<ClusterStatus | undefined> {
  const state = await readState<ClusterState>(resolve(dataDir), STATE_FORMAT);
  if (state === undefined) return undefined;
  const nodes = await Promise.all(
    state.nodes.map(async (node): Promise<NodeStatus> => {
      const { pid, state: condition } = observedNode(KAFKA, node);
      const base = {
        id: node.id,
        pid,
        clientPort: node.clientPort,
        controllerPort: node.controllerPort,
        externalPort: node.externalPort,
        proxyPort: node.proxyPort,
        state: condition,
        dir: node.dir,
      };
      if (condition !== 'running') return { ...base, serving: false, detail: condition === 'paused' ? 'paused' : 'not running' };
      try {
        const view = await describeCluster(state.host, node.clientPort, PROBE_TIMEOUT_MS);
        const brokers = view.brokers.map((broker) => broker.nodeId).join(',');
        return { ...base, serving: true, detail: `serving; live brokers ${brokers}` };
      } catch (error) {
        return { ...base, serving: false, detail: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  return {
    dataDir: resolve(dataDir),
    clusterId: state.clusterId,
    kafkaVersion: state.kafkaVersion,
    bootstrap: state.nodes.map((node) => `${state.host}:${node.clientPort}`).join(','),
    detached: state.detached,
    ownerPid: state.ownerPid,
    startedAt: state.startedAt,
    nodes,
  };
}

/** Stops the cluster state.json describes, from any process. Resolves false when there was none. */
export async function stopClusterInDir(
  dataDir: string = defaultClusterDir(),
  options: Pick<ClusterOptions, 'stopTimeoutMs' | 'log'> = {},
): Promise<boolean> {
  const settings = resolveSettings({ ...options, dataDir });
  const state = await readState<ClusterState>(settings.dataDir, STATE_FORMAT);
  if (state === undefined) return false;
  const cluster = new Cluster(state, settings, false, true);
  await cluster.stopAll();
  return true;
}
