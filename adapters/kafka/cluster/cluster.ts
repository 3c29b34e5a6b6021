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
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { packageRoot } from '../../../spec/root.js';
import { checkJava, ensureKafka, javaCommand, kafkaClasspath, DEFAULT_KAFKA_VERSION } from './fetch.js';
import { describeCluster, ProbeError, type ClusterView } from './protocol.js';

export type NodeState = 'running' | 'paused' | 'stopped';

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

export interface ClusterHandle {
  readonly clusterId: string;
  /** The address every listener binds to, such as 127.0.0.1. */
  readonly host: string;
  /** host:port of every node's PLAINTEXT listener, comma-separated, for bootstrap.servers. */
  readonly bootstrap: string;
  /** The nodes as they are now: a node that died on its own shows as stopped. */
  readonly nodes: readonly ClusterNode[];
  readonly dataDir: string;
  /** True when this process started the JVMs and ends them on exit. */
  readonly owned: boolean;
  /** True when startCluster found this cluster already running and attached to it. */
  readonly reused: boolean;
  node(id: number): ClusterNode;
  /** SIGKILL: the node dies at once, as in a power cut. Resolves once the process is gone. */
  kill(id: number): Promise<void>;
  /** SIGTERM and wait for the controlled shutdown; SIGKILL once stopTimeoutMs has passed. */
  stop(id: number): Promise<void>;
  /** Starts a stopped node on its old data folder and waits until the cluster serves with it. */
  start(id: number): Promise<void>;
  /** SIGSTOP: the node freezes with its sockets open, as in a long GC pause or a hung disk. */
  pause(id: number): Promise<void>;
  /** SIGCONT: a paused node carries on. */
  resume(id: number): Promise<void>;
  /** Waits until every running node serves and sees every running node as a live broker. */
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

export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

const DEFAULT_NODE_COUNT = 3;
const DEFAULT_BASE_PORT = 19092;
/** PLAINTEXT, CONTROLLER, EXTERNAL and the proxy port EXTERNAL advertises; see ClusterOptions.basePort. */
const PORTS_PER_NODE = 4;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_READY_TIMEOUT_MS = 120_000;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** Between two readiness rounds; each round is itself a real request with its own deadline. */
const READY_POLL_INTERVAL_MS = 250;
const PROBE_TIMEOUT_MS = 2_000;
const EXIT_POLL_INTERVAL_MS = 50;
const LOG_TAIL_LINES = 25;
const STATE_FILE = 'state.json';
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
 * ends in any way, SIGKILL included. Its first output line is the JVM's pid, so signals go to the
 * JVM itself (a SIGSTOP to the shell would freeze nothing). It exits with the JVM's status.
 * Asynchronous commands of a non-interactive shell read /dev/null, hence the copy of stdin on fd 3.
 */
const WATCHDOG_SCRIPT = `
log="$1"; shift
exec 3<&0
"$@" </dev/null >>"$log" 2>&1 3<&- &
jvm=$!
echo "$jvm"
( read -r _ <&3; kill -KILL "$jvm" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$jvm"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
`;

/** Starts a JVM that outlives this process: the shell redirects its output and becomes the JVM. */
const DETACHED_SCRIPT = `
log="$1"; shift
exec "$@" </dev/null >>"$log" 2>&1
`;

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
interface ClusterState {
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
  const dataDir = env.DELIVERYCHECK_KAFKA_DIR;
  const port = env.DELIVERYCHECK_KAFKA_PORT;
  return {
    ...(dataDir !== undefined && dataDir !== '' ? { dataDir } : {}),
    ...(port !== undefined && /^\d+$/.test(port) ? { basePort: Number(port) } : {}),
  };
}

function resolveSettings(options: ClusterOptions): Settings {
  const nodeCount = options.nodeCount ?? DEFAULT_NODE_COUNT;
  const basePort = options.basePort ?? DEFAULT_BASE_PORT;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 9) {
    throw new ClusterError(`nodeCount must be an integer from 1 to 9, got ${nodeCount}`);
  }
  const portCount = PORTS_PER_NODE * nodeCount;
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + portCount - 1 > 65535) {
    throw new ClusterError(`basePort must leave room for ${portCount} ports between 1024 and 65535, got ${basePort}`);
  }
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
// Processes: identity, liveness and waiting, by pid, so they work from any process.

type ProcessCondition = 'running' | 'paused' | 'gone';

/**
 * What has become of a node's JVM. A pid from state.json may by now belong to another program,
 * so on Linux a pid counts as the node only when its command line names kafka.Kafka and the
 * node's own server.properties. A zombie (dead, not yet reaped) counts as gone.
 */
function processCondition(pid: number, configFile: string): ProcessCondition {
  try {
    process.kill(pid, 0);
  } catch {
    // EPERM means the pid exists but belongs to someone else: not our JVM either way.
    return 'gone';
  }
  if (!existsSync('/proc')) return 'running';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    const stateLetter = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (stateLetter === 'Z' || stateLetter === 'X') return 'gone';
    const condition = stateLetter === 'T' || stateLetter === 't' ? 'paused' : 'running';
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // A process in the middle of execve reads as having no command line for a moment. A node
    // just started is in that state while its shell becomes the JVM, and on a loaded machine a
    // check can land in it; counting it as gone marked fresh nodes as "exited on its own".
    if (text === '') return condition;
    const commandLine = text.split('\0');
    if (!commandLine.includes('kafka.Kafka') || !commandLine.includes(configFile)) return 'gone';
    return condition;
  } catch {
    return 'gone';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  // Pid 0 and negative pids address whole process groups, our own included: never a node.
  if (!Number.isInteger(pid) || pid <= 0) throw new ClusterError(`refusing to signal pid ${pid}`);
  try {
    process.kill(pid, name);
  } catch {
    // The process ended between our check and the signal: the effect we wanted.
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}

async function waitForCondition(
  node: StateNode,
  wanted: (condition: ProcessCondition) => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (node.pid === null || wanted(processCondition(node.pid, node.configFile))) return true;
    if (Date.now() >= deadline) return false;
    await delay(EXIT_POLL_INTERVAL_MS);
  }
}

/**
 * The lines of a log worth quoting in an error. Indented lines are dropped: they are Java stack
 * frames and the broker's dump of its configuration, and without them the exception messages and
 * log lines that say what went wrong fit in the few lines quoted.
 */
function quotable(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '' && !/^\s/.test(line));
}

/** The last lines of a log file, read from its end so a large log costs nothing. */
async function tailLines(path: string, count: number): Promise<string[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return quotable(buffer.toString('utf8')).slice(-count);
  } finally {
    await handle.close();
  }
}

async function nodeLogTail(node: StateNode): Promise<string> {
  const parts: string[] = [];
  for (const path of [join(node.dir, 'jvm.log'), join(node.dir, 'logs', 'server.log')]) {
    const lines = await tailLines(path, LOG_TAIL_LINES);
    if (lines.length > 0) parts.push(`--- last ${lines.length} lines of ${path}\n${lines.join('\n')}`);
  }
  return parts.length > 0 ? parts.join('\n') : `(node ${node.id} wrote no log in ${node.dir})`;
}

async function assertPortsFree(host: string, ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    const problem = await new Promise<string | undefined>((resolveCheck) => {
      const server = createServer();
      server.once('error', (error: NodeJS.ErrnoException) => resolveCheck(error.code ?? error.message));
      server.listen({ port, host, exclusive: true }, () => server.close(() => resolveCheck(undefined)));
    });
    if (problem !== undefined) {
      throw new ClusterError(
        `port ${host}:${port} is not free (${problem}); stop what uses it (a cluster started earlier stops with ` +
          '"kafka-cluster stop") or choose another base port',
      );
    }
  }
}

/** True when something accepts TCP connections on the port, for telling "closed" from "not serving". */
async function portOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolveOpen(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

// ---------------------------------------------------------------------------------------------
// The state file.

function statePath(dataDir: string): string {
  return join(dataDir, STATE_FILE);
}

async function readState(dataDir: string): Promise<ClusterState | undefined> {
  let text: string;
  try {
    text = await readFile(statePath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const state = JSON.parse(text) as ClusterState;
    return state.format === STATE_FORMAT && Array.isArray(state.nodes) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole to a temporary file and renamed, so a reader never sees half a state. */
async function writeState(dataDir: string, state: ClusterState): Promise<void> {
  const temporary = `${statePath(dataDir)}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, statePath(dataDir));
}

/**
 * Takes the folder's start lock, so two processes starting a cluster in one folder at the same
 * time cannot wipe each other's node folders. A lock whose holder has died is taken over.
 */
async function acquireStartLock(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, 'start.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST')) throw error;
      const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
        throw new ClusterError(`process ${holder} is starting a Kafka cluster in ${dataDir} right now; wait for it or use another folder`);
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new ClusterError(`could not take the start lock ${lockPath}`);
}

// ---------------------------------------------------------------------------------------------
// Cleanup when the owning process ends. Synchronous, because an 'exit' handler cannot wait.

const ownedClusters = new Set<Cluster>();
const HANDLED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killOwnedNow(): void {
  for (const cluster of ownedClusters) cluster.killNow();
  ownedClusters.clear();
}

function onSignal(received: NodeJS.Signals): void {
  // A command that handles the signal itself (deliverycheck run stops cleanly on Ctrl-C) stops
  // the cluster with the adapter's dispose(); should it exit at once instead, the exit handler
  // kills the JVMs, and should even that be skipped (SIGKILL), their watchdogs do.
  if (process.listenerCount(received) > 1) return;
  killOwnedNow();
  uninstallHandlers();
  // Our listener replaced the default action (exit); when nobody else handles the signal, raise
  // it again so the process ends as it would have without us.
  if (process.listenerCount(received) === 0) process.kill(process.pid, received);
}

let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killOwnedNow);
  for (const name of HANDLED_SIGNALS) process.on(name, onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', killOwnedNow);
  for (const name of HANDLED_SIGNALS) process.off(name, onSignal);
}

// ---------------------------------------------------------------------------------------------

class Cluster implements ClusterHandle {
  /** The watchdog shells of owned nodes, by node id; they end when their JVM ends. */
  private readonly watchdogs = new Map<number, ResultPromise>();
  /**
   * The nodes that should be up: started or resumed here, or found alive on attach, and neither
   * killed nor stopped since. A node in this set that is found dead has crashed, which waitReady
   * reports at once with the node's log instead of waiting out its deadline.
   */
  private readonly expectedUp = new Set<number>();
  private released = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: ClusterState,
    private readonly settings: Settings,
    readonly owned: boolean,
    readonly reused: boolean,
  ) {
    for (const node of state.nodes) {
      this.refresh(node);
      if (node.pid !== null) this.expectedUp.add(node.id);
    }
  }

  get clusterId(): string {
    return this.state.clusterId;
  }

  get dataDir(): string {
    return this.settings.dataDir;
  }

  get host(): string {
    return this.state.host;
  }

  get bootstrap(): string {
    return this.state.nodes.map((node) => `${this.state.host}:${node.clientPort}`).join(',');
  }

  get nodes(): readonly ClusterNode[] {
    return this.state.nodes.map((node) => this.snapshot(node));
  }

  node(id: number): ClusterNode {
    return this.snapshot(this.stateNode(id));
  }

  private stateNode(id: number): StateNode {
    const node = this.state.nodes.find((candidate) => candidate.id === id);
    if (node === undefined) {
      throw new ClusterError(`no node ${id}; this cluster has nodes ${this.state.nodes.map((n) => n.id).join(', ')}`);
    }
    return node;
  }

  /** Brings the recorded state up to date with the process table: a node may have died alone. */
  private refresh(node: StateNode): void {
    if (node.pid === null) return;
    const condition = processCondition(node.pid, node.configFile);
    if (condition === 'gone') {
      node.pid = null;
      node.state = 'stopped';
    } else {
      node.state = condition;
    }
  }

  private snapshot(node: StateNode): ClusterNode {
    this.refresh(node);
    const { id, pid, clientPort, controllerPort, externalPort, proxyPort, state, dir } = node;
    return { id, pid, clientPort, controllerPort, externalPort, proxyPort, state, dir };
  }

  /**
   * Writes state.json. Writes go one at a time, each with the state as it is by then: nodes
   * started side by side (the adapter restarts every crashed node at once when it heals) save
   * concurrently, and two writes through the one temporary file would trip over each other.
   */
  private save(): Promise<void> {
    const written = this.saving.then(() => (this.released ? undefined : writeState(this.settings.dataDir, this.state)));
    this.saving = written.catch(() => undefined);
    return written;
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

  /** Starts a node's JVM and records its pid; does not wait for it to serve. */
  async spawn(node: StateNode): Promise<void> {
    const jvmLog = join(node.dir, 'jvm.log');
    await mkdir(join(node.dir, 'logs'), { recursive: true });
    // Both kinds get their own session (detached), so a Ctrl-C in the terminal reaches this
    // process, whose handlers decide, instead of reaching the JVMs directly.
    if (this.state.detached) {
      // The shell opens the log and then becomes the JVM (exec), so the JVM writes its own file
      // and keeps the pid we were given, with no pipe to this process that could break later.
      const subprocess = execa('sh', ['-c', DETACHED_SCRIPT, 'kafka-node', jvmLog, this.state.java, ...this.javaArguments(node)], {
        detached: true,
        stdio: 'ignore',
        reject: false,
        buffer: false,
      });
      subprocess.unref();
      if (subprocess.pid === undefined) {
        const result = await subprocess;
        throw new ClusterError(`could not start node ${node.id}: ${result.message}`);
      }
      node.pid = subprocess.pid;
    } else {
      node.pid = await this.spawnWatched(node, jvmLog);
    }
    node.state = 'running';
    this.expectedUp.add(node.id);
    await this.save();
  }

  private async spawnWatched(node: StateNode, jvmLog: string): Promise<number> {
    const watchdog = execa('sh', ['-c', WATCHDOG_SCRIPT, 'kafka-node', jvmLog, this.state.java, ...this.javaArguments(node)], {
      detached: true,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'ignore',
      reject: false,
      buffer: false,
    });
    this.watchdogs.set(node.id, watchdog);
    const pid = await new Promise<number>((resolvePid, rejectPid) => {
      let text = '';
      watchdog.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const end = text.indexOf('\n');
        if (end < 0) return;
        const pid = Number(text.slice(0, end));
        if (Number.isInteger(pid) && pid > 0) resolvePid(pid);
        else rejectPid(new ClusterError(`the watchdog of node ${node.id} printed "${text.slice(0, end)}" instead of a pid`));
      });
      void watchdog.then((result) =>
        rejectPid(new ClusterError(`the watchdog of node ${node.id} ended before starting Java (exit code ${result.exitCode})`)),
      );
    });
    // Neither the watchdog nor its pipes may keep this process alive: an owner that is done exits,
    // and its exit handler (or, failing that, the watchdog) ends the JVMs.
    watchdog.unref();
    for (const stream of [watchdog.stdin, watchdog.stdout]) {
      if (stream instanceof Socket) stream.unref();
    }
    return pid;
  }

  /** Waits until the node's JVM is gone and, when owned, its watchdog has reaped it. */
  private async waitGone(node: StateNode, timeoutMs: number): Promise<boolean> {
    const gone = await waitForCondition(node, (condition) => condition === 'gone', timeoutMs);
    if (gone) {
      const watchdog = this.watchdogs.get(node.id);
      if (watchdog !== undefined) {
        // The watchdog itself is unreferenced, so this timer is what keeps the process alive
        // meanwhile; it is cancelled as soon as the watchdog ends, so a stopped cluster does not
        // keep its owner alive for timeoutMs either.
        const timer = new AbortController();
        const expired = delay(timeoutMs, undefined, { signal: timer.signal }).catch(() => undefined);
        await Promise.race([watchdog, expired]);
        timer.abort();
        this.watchdogs.delete(node.id);
      }
      node.pid = null;
      node.state = 'stopped';
    }
    return gone;
  }

  async kill(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.expectedUp.delete(id);
    this.refresh(node);
    if (node.pid === null) return;
    signal(node.pid, 'SIGKILL');
    if (!(await this.waitGone(node, this.settings.stopTimeoutMs))) {
      throw new ClusterError(`node ${id} (pid ${node.pid}) survived SIGKILL for ${this.settings.stopTimeoutMs} ms`);
    }
    await this.save();
  }

  async stop(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.expectedUp.delete(id);
    this.refresh(node);
    if (node.pid === null) return;
    signal(node.pid, 'SIGTERM');
    // A paused JVM would keep the SIGTERM pending forever; it must run to shut down.
    if (node.state === 'paused') signal(node.pid, 'SIGCONT');
    if (!(await this.waitGone(node, this.settings.stopTimeoutMs))) {
      this.settings.log(`node ${id} did not stop within ${this.settings.stopTimeoutMs} ms of SIGTERM; killing it`);
      if (node.pid !== null) signal(node.pid, 'SIGKILL');
      if (!(await this.waitGone(node, this.settings.stopTimeoutMs))) {
        throw new ClusterError(`node ${id} (pid ${node.pid}) survived SIGKILL`);
      }
    }
    await this.save();
  }

  async start(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.refresh(node);
    if (node.state === 'paused') throw new ClusterError(`node ${id} is paused; resume it instead of starting it`);
    if (node.state === 'stopped') await this.spawn(node);
    await this.waitReady();
  }

  async pause(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.refresh(node);
    if (node.pid === null) throw new ClusterError(`node ${id} is stopped; there is nothing to pause`);
    signal(node.pid, 'SIGSTOP');
    // The kernel stops the process asynchronously; resolve only once it really is stopped.
    if (!(await waitForCondition(node, (condition) => condition !== 'running', this.settings.stopTimeoutMs))) {
      throw new ClusterError(`node ${id} did not stop on SIGSTOP`);
    }
    this.refresh(node);
    await this.save();
  }

  async resume(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.refresh(node);
    if (node.pid === null) throw new ClusterError(`node ${id} is stopped; start it instead of resuming it`);
    signal(node.pid, 'SIGCONT');
    await waitForCondition(node, (condition) => condition !== 'paused', this.settings.stopTimeoutMs);
    this.refresh(node);
    await this.save();
  }

  /**
   * Polls until every running node answers a Metadata request for this cluster id and lists every
   * running node among its live brokers. Each round is a real request with its own deadline; the
   * pause between rounds only keeps the polling from eating a core.
   */
  async waitReady(timeoutMs: number = this.settings.readyTimeoutMs): Promise<void> {
    await this.waitReadyUntil(Date.now() + timeoutMs, timeoutMs);
  }

  /** waitReady with a deadline that may have started earlier, such as before formatting. */
  async waitReadyUntil(deadline: number, budgetMs: number): Promise<void> {
    const problems = new Map<number, string>();
    for (;;) {
      // A wait still going when the cluster is stopped (a restart the adapter did not wait out)
      // ends with it, rather than polling stopped nodes until its deadline and keeping the
      // process alive meanwhile.
      if (this.released) throw new ClusterError(`the Kafka cluster in ${this.settings.dataDir} was stopped while waiting for it`);
      for (const node of this.state.nodes) this.refresh(node);
      const crashed = this.state.nodes.find((node) => node.state === 'stopped' && this.expectedUp.has(node.id));
      if (crashed !== undefined) {
        throw new ClusterError(`Kafka node ${crashed.id} exited on its own.\n${await nodeLogTail(crashed)}`);
      }
      // A paused node cannot answer; the others are checked without it.
      const running = this.state.nodes.filter((node) => node.state === 'running');
      const runningIds = running.map((node) => node.id);
      const rounds = await Promise.all(
        running.map(async (node) => ({ node, problem: await this.probe(node, runningIds, deadline) })),
      );
      problems.clear();
      for (const { node, problem } of rounds) if (problem !== undefined) problems.set(node.id, problem);
      if (problems.size === 0) return;
      if (Date.now() >= deadline) {
        const details: string[] = [];
        for (const [id, problem] of problems) {
          details.push(`node ${id}: ${problem}\n${await nodeLogTail(this.stateNode(id))}`);
        }
        throw new ClusterError(`the Kafka cluster in ${this.settings.dataDir} was not ready within ${budgetMs} ms\n${details.join('\n')}`);
      }
      await delay(READY_POLL_INTERVAL_MS);
    }
  }

  /** One readiness check of one node: undefined when it serves, or what is still missing. */
  private async probe(node: StateNode, runningIds: readonly number[], deadline: number): Promise<string | undefined> {
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

  async heal(): Promise<readonly string[]> {
    const done: string[] = [];
    for (const node of this.state.nodes) {
      this.refresh(node);
      if (node.state === 'paused') {
        await this.resume(node.id);
        done.push(`resumed node ${node.id}`);
      } else if (node.state === 'stopped') {
        await this.spawn(node);
        done.push(`started node ${node.id}`);
      }
    }
    await this.waitReady();
    return done;
  }

  async stopAll(): Promise<void> {
    // All nodes at once: stopping them one by one would make each survivor elect new leaders
    // for the partitions of the node that just left, for nothing.
    const outcomes = await Promise.allSettled(this.state.nodes.map((node) => this.stop(node.id)));
    this.released = true;
    this.disown();
    await rm(statePath(this.settings.dataDir), { force: true });
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  async release(): Promise<void> {
    if (this.owned) await this.stopAll();
    else this.released = true;
  }

  /** Called from exit and signal handlers: SIGKILL every JVM now, without waiting. */
  killNow(): void {
    for (const node of this.state.nodes) {
      if (node.pid !== null && processCondition(node.pid, node.configFile) !== 'gone') signal(node.pid, 'SIGKILL');
    }
    rmSync(statePath(this.settings.dataDir), { force: true });
  }

  /** Marks this cluster as one to end with the process. */
  adopt(): void {
    ownedClusters.add(this);
    installHandlers();
  }

  /** Lets this cluster outlive the process: a detached cluster once it started, or a stopped one. */
  disown(): void {
    ownedClusters.delete(this);
    if (ownedClusters.size === 0) uninstallHandlers();
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

/** SIGKILLs what is left of a cluster nobody can use any more (its owner died, or it is replaced). */
async function reap(state: ClusterState, timeoutMs: number): Promise<void> {
  for (const node of state.nodes) {
    if (node.pid !== null && processCondition(node.pid, node.configFile) !== 'gone') signal(node.pid, 'SIGKILL');
  }
  for (const node of state.nodes) {
    if (!(await waitForCondition(node, (condition) => condition === 'gone', timeoutMs))) {
      throw new ClusterError(`a leftover Kafka node (pid ${node.pid}) survived SIGKILL`);
    }
  }
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
async function attachExisting(settings: Settings): Promise<Cluster | undefined> {
  const existing = await readState(settings.dataDir);
  if (existing === undefined) return undefined;
  const alive = existing.nodes.filter((node) => node.pid !== null && processCondition(node.pid, node.configFile) !== 'gone');
  if (alive.length > 0 && !existing.detached && existing.ownerPid !== process.pid && pidAlive(existing.ownerPid)) {
    throw new ClusterError(
      `the Kafka cluster in ${settings.dataDir} belongs to running process ${existing.ownerPid}; ` +
        'use another data folder and base port, or end that process',
    );
  }
  if (alive.length > 0 && existing.ownerPid === process.pid && !existing.detached) {
    throw new ClusterError(`this process already started the Kafka cluster in ${settings.dataDir}; use its handle`);
  }
  if (settings.reuse && existing.detached && alive.length > 0 && sameLayout(existing, settings)) {
    const cluster = new Cluster(existing, settings, false, true);
    try {
      // A run that injected faults and then died may have left nodes paused or stopped.
      const healed = await cluster.heal();
      if (healed.length > 0) settings.log(`healed the running cluster: ${healed.join(', ')}`);
      settings.log(`reusing the Kafka cluster already running in ${settings.dataDir} (${cluster.bootstrap})`);
      return cluster;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      settings.log(`the Kafka cluster in ${settings.dataDir} is not healthy (${reason}); replacing it`);
    }
  } else if (alive.length > 0) {
    settings.log(`stopping the Kafka cluster left in ${settings.dataDir} (pids ${alive.map((node) => node.pid).join(', ')})`);
  }
  await reap(existing, settings.stopTimeoutMs);
  await rm(statePath(settings.dataDir), { force: true });
  return undefined;
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
  const releaseLock = await acquireStartLock(settings.dataDir);
  try {
    return await startLocked(settings, started);
  } finally {
    await releaseLock();
  }
}

async function startLocked(settings: Settings, started: number): Promise<ClusterHandle> {
  const reused = await attachExisting(settings);
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
  // Even a detached cluster belongs to this process until it is ready: a start interrupted by
  // Ctrl-C must not leave half a cluster behind.
  cluster.adopt();
  try {
    for (const node of nodes) await cluster.spawn(node);
    settings.log(`started ${nodes.length} JVMs (pids ${nodes.map((node) => node.pid).join(', ')}); waiting until they serve`);
    await cluster.waitReadyUntil(deadline, settings.readyTimeoutMs);
  } catch (error) {
    // Nothing of a failed start may stay behind, detached or not.
    cluster.killNow();
    await reap(state, settings.stopTimeoutMs).catch(() => undefined);
    await cluster.stopAll().catch(() => undefined);
    throw error;
  }
  if (settings.detached) cluster.disown();
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
  const state = await readState(resolve(dataDir));
  if (state === undefined) return undefined;
  const nodes = await Promise.all(
    state.nodes.map(async (node): Promise<NodeStatus> => {
      const condition = node.pid === null ? 'gone' : processCondition(node.pid, node.configFile);
      const base = {
        id: node.id,
        pid: condition === 'gone' ? null : node.pid,
        clientPort: node.clientPort,
        controllerPort: node.controllerPort,
        externalPort: node.externalPort,
        proxyPort: node.proxyPort,
        state: condition === 'gone' ? ('stopped' as const) : condition,
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
  const state = await readState(settings.dataDir);
  if (state === undefined) return false;
  const cluster = new Cluster(state, settings, false, true);
  await cluster.stopAll();
  return true;
}
