// Starts and controls a local NATS JetStream cluster for tests and benchmarks: three nats-server
// processes, named n1..n3, routed to each other, each with its own client, route and monitoring
// port and its own JetStream store under .cache/. As root each server runs in a network namespace
// of its own with its own address (adapters/local-cluster/netns.ts), so a partition is a real
// drop of packets between two servers; elsewhere they all listen on 127.0.0.1 and cannot be cut. The process supervision (owned under
// a watchdog or detached, state.json, faults that wait for their effect) is shared with every
// local cluster in adapters/local-cluster/; this module adds what only NATS knows: the server
// configuration, readiness read from the monitoring endpoints, and which node leads a stream.
//
// Only processes whose command line names one of our own configuration files are ever
// signalled: a nats-server started by someone else, such as a system service on 4222, is never
// touched, whatever its name.

import { accessSync, constants } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { packageRoot } from '../../../core/package-root.js';
import { ClusterError } from '../../local-cluster/errors.js';
import { checkLayout, environmentLayout } from '../../local-cluster/options.js';
import { assertPortsFree, portOpen } from '../../local-cluster/ports.js';
import { acquireStartLock, readState } from '../../local-cluster/state-file.js';
import {
  attachExisting,
  observedNode,
  SupervisedCluster,
  type BrokerProfile,
  type LocalClusterHandle,
  type NodeState,
  type SupervisedState,
  type SupervisionSettings,
} from '../../local-cluster/supervised-cluster.js';
import { attachNetns, netnsPrefix, removeNetns, setupNetns, type NetnsNetwork, type NetnsRecord } from '../../local-cluster/netns.js';
import { netnsUnavailable } from '../../local-cluster/netns-availability.js';
import { monitor, type ClusterInfo, type Healthz, type Jsz, type Varz } from './monitor.js';

export { ClusterError };
export type { NodeState };

export interface NatsNode {
  /** The node's number, from 1; its server name is `n<id>`. */
  readonly id: number;
  readonly name: string;
  /** The address the node listens on: its namespace's own, or the cluster's host without namespaces. */
  readonly host: string;
  /** The nats-server process id, or null when the node is stopped. */
  readonly pid: number | null;
  /** Where clients connect. */
  readonly clientPort: number;
  /** Where the other servers' routes connect. */
  readonly routePort: number;
  /** The HTTP monitoring port (/varz, /healthz, /jsz). */
  readonly monitorPort: number;
  readonly state: NodeState;
  /** The node's folder: server.conf, store/ and server.log. */
  readonly dir: string;
}

export interface NatsClusterOptions {
  /** How many servers; default 3. */
  readonly nodeCount?: number;
  /** Where node folders and state.json live; default `<package>/.cache/nats-cluster`. */
  readonly dataDir?: string;
  /** The address every port binds to when the nodes share the machine's network; default 127.0.0.1. */
  readonly host?: string;
  /**
   * Each node in a network namespace of its own, so partitions can cut it off (root only).
   * Default: when the machine allows it; true insists and fails with the reason where it cannot.
   */
  readonly networkNamespaces?: boolean;
  /**
   * The cluster takes 3 ports a node, from basePort on: node n's clients use basePort + 3(n-1),
   * its routes the port after, its monitoring the one after that. With the default 14222 and 3
   * nodes: 14222/14223/14224, 14225/14226/14227 and 14228/14229/14230. Every port must be below
   * 32768 (Linux hands out ports from there to outgoing connections) and none may be a standard
   * NATS port (4222, 6222, 8222), where a single system server may run.
   */
  readonly basePort?: number;
  /** The cluster name the servers share; default "deliverycheck". */
  readonly clusterName?: string;
  /** The nats-server binary; default $NATS_SERVER, else nats-server on PATH, else /usr/sbin/nats-server. */
  readonly serverBinary?: string;
  /** The whole start must finish within this; default 60 s. */
  readonly readyTimeoutMs?: number;
  /** How long a SIGTERMed server may take to shut down before it is killed; default 10 s. */
  readonly stopTimeoutMs?: number;
  /** Use a healthy cluster already running in dataDir with the same layout; default true. */
  readonly reuse?: boolean;
  /** Leave the servers running after this process ends (the `start` command); default false. */
  readonly detached?: boolean;
  /** Progress lines for a human; silent when absent. */
  readonly log?: (line: string) => void;
}

/** Who holds a stream, as its leader says. */
export interface StreamRoles {
  readonly stream: string;
  /** The node that leads the stream: it orders and acknowledges every publish. */
  readonly leader: number;
  /** Every node holding a copy, the leader included, by id. */
  readonly replicas: readonly number[];
  /** The other replicas, each with whether the leader counts it as caught up. */
  readonly followers: readonly { readonly id: number; readonly current: boolean }[];
}

/**
 * A NATS cluster's handle: the shared one, plus the server list and stream roles. waitReady waits
 * until every running node has JetStream enabled and current, knows a running meta leader, and
 * the meta leader counts every other running node as a current peer.
 */
export interface NatsClusterHandle extends LocalClusterHandle<NatsNode> {
  readonly clusterName: string;
  readonly serverVersion: string;
  /** host:port of every node's client port, for a client's server list. */
  readonly servers: readonly string[];
  /**
   * Which node leads the stream and which hold its replicas, as the leader itself says on its
   * monitoring port. Polls until exactly one running node claims the lead (after a leader's
   * crash the others take a few seconds to elect one), or fails at timeoutMs.
   */
  streamRoles(stream: string, options?: { readonly account?: string; readonly timeoutMs?: number }): Promise<StreamRoles>;
  /** Why the nodes cannot be cut off from each other (they share the machine's network), or undefined when they can. */
  readonly partitionsUnavailable: string | undefined;
  /**
   * Drops every packet between nodes of different groups (node ids), both ways; clients on the
   * machine still reach every node. A new cut replaces the one in place.
   */
  cut(groups: readonly (readonly number[])[]): Promise<void>;
  /** Restores every link between the nodes. */
  healNetwork(): Promise<void>;
}

/** nats-server is not installed where we looked; the message says how to get it, in one line. */
export class NatsServerMissingError extends ClusterError {
  constructor(message: string) {
    super(message);
    this.name = 'NatsServerMissingError';
  }
}

const DEFAULT_NODE_COUNT = 3;
const DEFAULT_BASE_PORT = 14222;
/** Client, route and monitoring; see NatsClusterOptions.basePort. */
const PORTS_PER_NODE = 3;
/** Linux gives outgoing connections ports from 32768 up; ours stay below, so none is taken by chance. */
const PORT_LIMIT = 32768;
const STANDARD_PORTS: readonly number[] = [4222, 6222, 8222];
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_CLUSTER_NAME = 'deliverycheck';
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const DEFAULT_STREAM_ROLES_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 2_000;
const VERSION_TIMEOUT_MS = 10_000;
const ROLES_POLL_INTERVAL_MS = 200;
/** 2: each node has its own host, and the cluster its network namespaces. */
const STATE_FORMAT = 2;
const FALLBACK_BINARY = '/usr/sbin/nats-server';
const INSTALL_HINT =
  'install it with "apt-get install nats-server" or a release binary from https://github.com/nats-io/nats-server/releases, ' +
  'or point NATS_SERVER at one';

interface StateNode {
  readonly id: number;
  readonly name: string;
  readonly host: string;
  readonly clientPort: number;
  readonly routePort: number;
  readonly monitorPort: number;
  readonly dir: string;
  readonly configFile: string;
  pid: number | null;
  state: NodeState;
}

/** What state.json holds: enough for another process to check, reuse, restart and stop the servers. */
interface ClusterState extends SupervisedState<StateNode> {
  readonly clusterName: string;
  readonly binary: string;
  readonly serverVersion: string;
  /** The nodes' network namespaces, when they have them. */
  readonly network?: NetnsRecord;
  /** Why they have none, when they have none. */
  readonly sharedNetworkReason?: string;
}

interface Settings extends SupervisionSettings {
  readonly nodeCount: number;
  readonly host: string;
  readonly networkNamespaces: boolean | undefined;
  readonly basePort: number;
  readonly clusterName: string;
  readonly serverBinary: string | undefined;
}

export function defaultNatsClusterDir(): string {
  return join(packageRoot(), '.cache', 'nats-cluster');
}

/**
 * The local cluster's folder and first port from DELIVERYCHECK_NATS_DIR and
 * DELIVERYCHECK_NATS_PORT, when set, so a CI job or a second checkout keeps clear of a cluster
 * already running with the defaults. The nats:start|stop|status commands read the same
 * variables, so a stop with the environment of a start reaches the same cluster.
 */
export function environmentNatsClusterOptions(env: NodeJS.ProcessEnv = process.env): Pick<NatsClusterOptions, 'dataDir' | 'basePort'> {
  return environmentLayout(env, 'DELIVERYCHECK_NATS_DIR', 'DELIVERYCHECK_NATS_PORT');
}

function resolveSettings(options: NatsClusterOptions): Settings {
  const nodeCount = options.nodeCount ?? DEFAULT_NODE_COUNT;
  const basePort = options.basePort ?? DEFAULT_BASE_PORT;
  const lastPort = basePort + checkLayout(nodeCount, basePort, PORTS_PER_NODE, PORT_LIMIT) - 1;
  const standard = STANDARD_PORTS.find((port) => port >= basePort && port <= lastPort);
  if (standard !== undefined) {
    throw new ClusterError(`basePort ${basePort} would take the standard NATS port ${standard}; choose another base port`);
  }
  const clusterName = options.clusterName ?? DEFAULT_CLUSTER_NAME;
  if (!/^[A-Za-z0-9_-]+$/.test(clusterName)) {
    throw new ClusterError(`clusterName may hold only letters, digits, "-" and "_", got "${clusterName}"`);
  }
  return {
    nodeCount,
    dataDir: resolve(options.dataDir ?? defaultNatsClusterDir()),
    host: options.host ?? DEFAULT_HOST,
    networkNamespaces: options.networkNamespaces,
    basePort,
    clusterName,
    serverBinary: options.serverBinary,
    readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    reuse: options.reuse ?? true,
    detached: options.detached ?? false,
    log: options.log ?? (() => undefined),
  };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The nats-server to run: the option, else $NATS_SERVER, else nats-server on PATH, else the
 * Debian package's /usr/sbin/nats-server (which a non-root PATH often lacks).
 */
export function natsServerBinary(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  const named = option ?? (env.NATS_SERVER !== undefined && env.NATS_SERVER !== '' ? env.NATS_SERVER : undefined);
  if (named !== undefined) return named;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return FALLBACK_BINARY;
}

/** Runs `nats-server --version`; returns the version, such as "2.9.10", or throws one line. */
export async function checkNatsServer(binary: string): Promise<string> {
  const result = await execa(binary, ['--version'], { all: true, reject: false, timeout: VERSION_TIMEOUT_MS });
  const match = /v?(\d+\.\d+\.\d+\S*)/.exec(result.all ?? '');
  if (result.failed || match?.[1] === undefined) {
    const why = result.code === 'ENOENT' || result.code === 'EACCES' ? 'was not found' : `did not run (${result.shortMessage})`;
    throw new NatsServerMissingError(`nats-server ${why} at ${binary}; ${INSTALL_HINT}`);
  }
  return match[1];
}

/** The configuration file of one server: its ports, its JetStream store and its routes. */
export function renderServerConfig(
  node: Pick<StateNode, 'id' | 'name' | 'host' | 'clientPort' | 'routePort' | 'monitorPort' | 'dir'>,
  peers: readonly Pick<StateNode, 'id' | 'host' | 'routePort'>[],
  clusterName: string,
): string {
  const host = node.host;
  const routes = peers.filter((peer) => peer.id !== node.id).map((peer) => JSON.stringify(`nats-route://${peer.host}:${peer.routePort}`));
  return [
    `# Generated by deliverycheck for node ${node.id}; rewritten on every fresh start.`,
    `server_name: ${JSON.stringify(node.name)}`,
    `listen: ${JSON.stringify(`${host}:${node.clientPort}`)}`,
    `http: ${JSON.stringify(`${host}:${node.monitorPort}`)}`,
    'logtime: true',
    'jetstream {',
    `  store_dir: ${JSON.stringify(join(node.dir, 'store'))}`,
    // Without limits each server reserves a share of the machine's whole memory and disk, and a
    // stream asking for more than is left fails with "insufficient resources"; these suit tests.
    '  max_memory_store: 256MB',
    '  max_file_store: 4GB',
    '}',
    'cluster {',
    `  name: ${JSON.stringify(clusterName)}`,
    `  listen: ${JSON.stringify(`${host}:${node.routePort}`)}`,
    `  routes: [${routes.join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Supervision is shared (adapters/local-cluster/); what follows is what only NATS knows.

/** A pid counts as a node only while its command line names the node's own configuration file. */
const NATS: BrokerProfile<StateNode> = {
  name: 'NATS',
  processNoun: 'nats-server processes',
  stopHint: '"npm run nats:stop"',
  stateFormat: STATE_FORMAT,
  markers: (node) => ['-c', node.configFile],
  logFiles: (node) => [join(node.dir, 'server.log')],
};

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class NatsCluster extends SupervisedCluster<StateNode, ClusterState, NatsNode> implements NatsClusterHandle {
  constructor(
    state: ClusterState,
    settings: Settings,
    owned: boolean,
    reused: boolean,
    /** The nodes' namespaces; set for a fresh cluster, attached by attachNetwork() for a reused one. */
    private network: NetnsNetwork | undefined,
  ) {
    super(NATS, state, settings, owned, reused);
  }

  get partitionsUnavailable(): string | undefined {
    if (this.state.network !== undefined) return undefined;
    return this.state.sharedNetworkReason ?? 'the nodes share the machine\'s network';
  }

  /** Finds the namespaces a reused cluster's state.json records, and heals any cut its last owner left. */
  async attachNetwork(): Promise<void> {
    if (this.state.network === undefined || this.network !== undefined) return;
    this.network = await attachNetns(this.state.network);
    await this.network.heal();
  }

  private requireNetwork(): NetnsNetwork {
    if (this.network === undefined) throw new ClusterError(`the NATS nodes cannot be partitioned: ${this.partitionsUnavailable ?? 'no network handle'}`);
    return this.network;
  }

  async cut(groups: readonly (readonly number[])[]): Promise<void> {
    const network = this.requireNetwork();
    await network.cut(groups.map((group) => group.map((id) => this.stateNode(id).id - 1)));
  }

  async healNetwork(): Promise<void> {
    await this.network?.heal();
  }

  /** Node faults are undone on a whole network: readiness needs every node to see the others. */
  override async heal(): Promise<readonly string[]> {
    const healed = this.network?.cutGroups !== undefined;
    await this.healNetwork();
    const done = await super.heal();
    return healed ? ['healed the network', ...done] : done;
  }

  /** Stops the nodes, then removes their namespaces, which no process needs any more. */
  override async stopAll(): Promise<void> {
    try {
      await super.stopAll();
    } finally {
      const record = this.state.network;
      if (record !== undefined) await removeNetns(record.prefix);
    }
  }

  /** A detached cluster's namespaces outlive this process with its servers. */
  override disown(): void {
    super.disown();
    if (!this.released) this.network?.outliveProcess();
  }

  get clusterName(): string {
    return this.state.clusterName;
  }

  get serverVersion(): string {
    return this.state.serverVersion;
  }

  get servers(): readonly string[] {
    return this.state.nodes.map((node) => `${node.host}:${node.clientPort}`);
  }

  protected view(node: StateNode): NatsNode {
    const { id, name, host, pid, clientPort, routePort, monitorPort, state, dir } = node;
    return { id, name, host, pid, clientPort, routePort, monitorPort, state, dir };
  }

  protected async launch(node: StateNode): Promise<{ command: string; args: readonly string[]; logFile: string }> {
    await mkdir(join(node.dir, 'store'), { recursive: true });
    const args = ['-c', node.configFile];
    // `ip netns exec` becomes the server, so the pid and the command line markers stay the server's.
    const inNamespace = this.network?.commandIn(node.id - 1, this.state.binary, args);
    return { command: inNamespace?.command ?? this.state.binary, args: inNamespace?.args ?? args, logFile: join(node.dir, 'server.log') };
  }

  protected async probe(node: StateNode, runningIds: readonly number[], deadline: number): Promise<string | undefined> {
    const timeoutMs = Math.max(100, Math.min(PROBE_TIMEOUT_MS, deadline - Date.now()));
    const runningNames = this.state.nodes.filter((each) => runningIds.includes(each.id)).map((each) => each.name);
    return probeNode(this.state, node, runningNames, timeoutMs);
  }

  async streamRoles(stream: string, options: { readonly account?: string; readonly timeoutMs?: number } = {}): Promise<StreamRoles> {
    const account = options.account ?? '$G';
    const timeoutMs = options.timeoutMs ?? DEFAULT_STREAM_ROLES_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let last = 'no node answered yet';
    for (;;) {
      const running = this.nodes.filter((node) => node.state === 'running');
      const claims = await Promise.all(
        running.map(async (node) => {
          try {
            const jsz = await monitor<Jsz>(node.host, node.monitorPort, '/jsz?accounts=true&streams=true', PROBE_TIMEOUT_MS);
            const detail = jsz.account_details
              ?.find((each) => each.name === account)
              ?.stream_detail?.find((each) => each.name === stream);
            // Only a leader's own word counts: a follower may still name a leader that just died.
            return detail?.cluster?.leader === node.name ? { node, cluster: detail.cluster } : undefined;
          } catch (error) {
            last = `node ${node.id}: ${describeError(error)}`;
            return undefined;
          }
        }),
      );
      const leaders = claims.filter((claim) => claim !== undefined);
      if (leaders.length === 1 && leaders[0] !== undefined) return this.roles(stream, leaders[0].node.id, leaders[0].cluster);
      last = leaders.length === 0 ? `no running node leads it (${last})` : `nodes ${leaders.map((claim) => claim.node.id).join(', ')} all claim to lead it`;
      if (Date.now() >= deadline) {
        throw new ClusterError(`stream ${stream} (account ${account}) has no single leader within ${timeoutMs} ms: ${last}`);
      }
      await delay(ROLES_POLL_INTERVAL_MS);
    }
  }

  private roles(stream: string, leader: number, cluster: ClusterInfo): StreamRoles {
    const followers = (cluster.replicas ?? []).map((peer) => ({ id: this.idOf(peer.name), current: peer.current && peer.offline !== true }));
    return {
      stream,
      leader,
      replicas: [leader, ...followers.map((follower) => follower.id)].sort((a, b) => a - b),
      followers: followers.sort((a, b) => a.id - b.id),
    };
  }

  private idOf(serverName: string): number {
    const node = this.state.nodes.find((each) => each.name === serverName);
    if (node === undefined) throw new ClusterError(`server "${serverName}" is not a node of the NATS cluster in ${this.settings.dataDir}`);
    return node.id;
  }
}

/**
 * One readiness check of one server: undefined when it is ready, or what is still missing. The
 * server must be ours (its name and cluster name), have JetStream enabled and healthy, know a
 * meta leader that is running, and, when it is the meta leader, count every other running node
 * as a current peer (only the leader knows that of every peer).
 */
async function probeNode(
  state: ClusterState,
  node: StateNode,
  runningNames: readonly string[],
  timeoutMs: number,
): Promise<string | undefined> {
  const address = `${node.host}:${node.monitorPort}`;
  let varz: Varz;
  let jsz: Jsz;
  let health: Healthz;
  try {
    [varz, jsz, health] = await Promise.all([
      monitor<Varz>(node.host, node.monitorPort, '/varz', timeoutMs),
      monitor<Jsz>(node.host, node.monitorPort, '/jsz', timeoutMs),
      monitor<Healthz>(node.host, node.monitorPort, '/healthz', timeoutMs),
    ]);
  } catch (error) {
    const listening = await portOpen(node.host, node.monitorPort, timeoutMs);
    return listening ? `${address} accepts connections but does not answer (${describeError(error)})` : `nothing listens on ${address} yet`;
  }
  if (varz.server_name !== node.name || varz.cluster?.name !== state.clusterName) {
    return `${address} is server "${varz.server_name}" of cluster "${varz.cluster?.name ?? ''}", expected "${node.name}" of "${state.clusterName}"`;
  }
  if (jsz.config === undefined) return `${node.name} runs without JetStream`;
  if (health.status !== 'ok') return `${node.name} is not healthy yet (${health.error ?? health.status})`;
  const leader = jsz.meta_cluster?.leader;
  if (leader === undefined || leader === '') return `${node.name} knows no JetStream meta leader yet`;
  if (!runningNames.includes(leader)) return `${node.name} still follows meta leader ${leader}, which is not running`;
  if (varz.routes < runningNames.length - 1) return `${node.name} has ${varz.routes} routes, expected ${runningNames.length - 1}`;
  if (leader === node.name) {
    const peers = jsz.meta_cluster?.replicas ?? [];
    const lagging = runningNames.filter(
      (name) => name !== node.name && !peers.some((peer) => peer.name === name && peer.current && peer.offline !== true),
    );
    if (lagging.length > 0) return `meta leader ${node.name} does not yet count ${lagging.join(', ')} as current`;
  }
  return undefined;
}

/** The nodes' ports and folders; each listens on its namespace's address when `network` is given. */
function nodeLayout(settings: Settings, network?: NetnsNetwork): StateNode[] {
  return Array.from({ length: settings.nodeCount }, (_, index) => {
    const id = index + 1;
    const clientPort = settings.basePort + PORTS_PER_NODE * index;
    const dir = join(settings.dataDir, `n${id}`);
    return {
      id,
      name: `n${id}`,
      host: network?.node(index).address ?? settings.host,
      clientPort,
      routePort: clientPort + 1,
      monitorPort: clientPort + 2,
      dir,
      configFile: join(dir, 'server.conf'),
      pid: null,
      state: 'stopped' as NodeState,
    };
  });
}

function sameLayout(state: ClusterState, settings: Settings, binary: string): boolean {
  const wanted = nodeLayout(settings);
  // A cluster with namespaces serves a caller that does not insist on sharing the network, and
  // one without serves a caller that does not insist on namespaces.
  const network = state.network !== undefined;
  return (
    state.host === settings.host &&
    (settings.networkNamespaces === undefined || settings.networkNamespaces === network) &&
    state.clusterName === settings.clusterName &&
    state.binary === binary &&
    state.nodes.length === wanted.length &&
    state.nodes.every((node, index) => {
      const expected = wanted[index];
      return (
        expected !== undefined &&
        node.name === expected.name &&
        node.clientPort === expected.clientPort &&
        node.routePort === expected.routePort &&
        node.monitorPort === expected.monitorPort &&
        node.dir === expected.dir
      );
    })
  );
}

/**
 * Starts a JetStream cluster, or attaches to a healthy one already running in the data folder
 * (when `reuse` is on and it was started detached with the same layout). Resolves once every
 * server is ready (see NatsClusterHandle.waitReady); on failure, nothing it started is left running.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const started = Date.now();
  const settings = resolveSettings(options);
  const binary = natsServerBinary(settings.serverBinary);
  // Before anything is written: a machine without nats-server gets one line, not a folder.
  const serverVersion = await checkNatsServer(binary);
  await mkdir(settings.dataDir, { recursive: true });
  const releaseLock = await acquireStartLock(settings.dataDir, NATS.name);
  try {
    return await startLocked(settings, binary, serverVersion, started);
  } finally {
    await releaseLock();
  }
}

async function startLocked(settings: Settings, binary: string, serverVersion: string, started: number): Promise<NatsClusterHandle> {
  const reused = await attachExisting<StateNode, ClusterState, NatsCluster>(NATS, settings, {
    sameLayout: (state) => sameLayout(state, settings, binary),
    attach: (state) => new NatsCluster(state, settings, false, true, undefined),
    address: (cluster) => cluster.servers.join(','),
  });
  if (reused !== undefined) {
    await reused.attachNetwork().catch((error: unknown) => {
      throw new ClusterError(`the NATS cluster running in ${settings.dataDir} lost its network namespaces (${describeError(error)}); stop it with ${NATS.stopHint}`);
    });
    return reused;
  }

  // Inside namespaces the nodes' own ports are free by construction, but a server on the shared
  // ports (a cluster of an older layout, or someone else's) is a mistake worth stopping for.
  await assertPortsFree(
    settings.host,
    nodeLayout(settings).flatMap((node) => [node.clientPort, node.routePort, node.monitorPort]),
    NATS.stopHint,
  );
  const sharedNetworkReason = settings.networkNamespaces === false ? 'the cluster was started without network namespaces' : await netnsUnavailable();
  if (settings.networkNamespaces === true && sharedNetworkReason !== undefined) throw new ClusterError(`the NATS nodes cannot have network namespaces: ${sharedNetworkReason}`);
  // The namespaces exist before the servers that run in them, and go when this process ends unless
  // the cluster is detached (disown() lets them outlive it then).
  const network = sharedNetworkReason === undefined ? await setupNetns({ prefix: netnsPrefix(settings.dataDir), nodeCount: settings.nodeCount }) : undefined;
  const nodes = nodeLayout(settings, network);
  const state: ClusterState = {
    format: STATE_FORMAT,
    clusterName: settings.clusterName,
    binary,
    serverVersion,
    host: settings.host,
    detached: settings.detached,
    ownerPid: process.pid,
    startedAt: new Date().toISOString(),
    nodes,
    ...(network === undefined ? { sharedNetworkReason } : { network: network.record }),
  };
  for (const node of nodes) {
    // A fresh start is a fresh cluster: an old store would hold another cluster's streams and peers.
    await rm(node.dir, { recursive: true, force: true });
    await mkdir(join(node.dir, 'store'), { recursive: true });
    await writeFile(node.configFile, renderServerConfig(node, nodes, settings.clusterName));
  }
  const where = network === undefined ? `on ${settings.host} (no partitions: ${sharedNetworkReason ?? ''})` : `in network namespaces on ${network.record.subnet}`;
  settings.log(`starting ${nodes.length} nats-server ${serverVersion} nodes in ${settings.dataDir}, ${where}`);
  const cluster = new NatsCluster(state, settings, !settings.detached, false, network);
  await cluster.bringUp(started + settings.readyTimeoutMs);
  settings.log(`NATS cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cluster.servers.join(',')}`);
  return cluster;
}

export interface NatsNodeStatus extends NatsNode {
  /** True when the node passed the readiness check; detail says what it lacks otherwise. */
  readonly serving: boolean;
  readonly detail: string;
}

export interface NatsClusterStatus {
  readonly dataDir: string;
  readonly clusterName: string;
  readonly serverVersion: string;
  readonly servers: readonly string[];
  readonly detached: boolean;
  readonly ownerPid: number;
  readonly startedAt: string;
  readonly nodes: readonly NatsNodeStatus[];
}

/** Reads state.json and asks every node how it is, without changing anything. */
export async function natsClusterStatus(dataDir: string = defaultNatsClusterDir()): Promise<NatsClusterStatus | undefined> {
  const state = await readState<ClusterState>(resolve(dataDir), STATE_FORMAT);
  if (state === undefined) return undefined;
  const observed = state.nodes.map((node) => ({ node, ...observedNode(NATS, node) }));
  const runningNames = observed.filter((each) => each.state === 'running').map((each) => each.node.name);
  const nodes = await Promise.all(
    observed.map(async ({ node, pid, state: condition }): Promise<NatsNodeStatus> => {
      const { id, name, host, clientPort, routePort, monitorPort, dir } = node;
      const base = { id, name, host, pid, clientPort, routePort, monitorPort, state: condition, dir };
      if (condition !== 'running') return { ...base, serving: false, detail: condition === 'paused' ? 'paused' : 'not running' };
      const problem = await probeNode(state, node, runningNames, PROBE_TIMEOUT_MS);
      return { ...base, serving: problem === undefined, detail: problem ?? 'serving; JetStream current' };
    }),
  );
  return {
    dataDir: resolve(dataDir),
    clusterName: state.clusterName,
    serverVersion: state.serverVersion,
    servers: state.nodes.map((node) => `${node.host}:${node.clientPort}`),
    detached: state.detached,
    ownerPid: state.ownerPid,
    startedAt: state.startedAt,
    nodes,
  };
}

/** Stops the cluster state.json describes, from any process. Resolves false when there was none. */
export async function stopNatsClusterInDir(
  dataDir: string = defaultNatsClusterDir(),
  options: Pick<NatsClusterOptions, 'stopTimeoutMs' | 'log'> = {},
): Promise<boolean> {
  const settings = resolveSettings({ ...options, dataDir });
  const state = await readState<ClusterState>(settings.dataDir, STATE_FORMAT);
  if (state === undefined) return false;
  const cluster = new NatsCluster(state, settings, false, true, undefined);
  await cluster.stopAll();
  return true;
}
