// Real network partitions for local clusters. Each node of a cluster runs in a network namespace
// of its own, with loopback and one veth whose other end is a port of a bridge in the root
// namespace. The bridge holds the subnet's .1, so clients in the root namespace reach every node
// at its own address, and each namespace routes everything else through it. A cut drops packets
// between nodes of different groups, in both directions; clients keep reaching every node.
//
// How a cut drops packets, and why so. The packets of a cut link are dropped silently, inside the
// bridge: on the port that leads to the destination node, an HTB qdisc classifies packets whose
// source is a node of another group (a u32 filter) into a class whose queue holds no packet
// (pfifo limit 0). Neither end learns anything: a connect times out instead of being refused (the
// destination's RST is dropped like everything else), and an established connection's segments
// stop arriving while TCP retransmits them, as across a real partition; after heal() the next
// retransmission gets through and the connection carries on. The alternatives fail on this
// machine or tell the sender at once:
// - a route inside the sender's namespace (`ip route add blackhole|unreachable|prohibit PEER/32`)
//   makes the sender's own connect fail in milliseconds with EINVAL, EHOSTUNREACH or EACCES,
//   and its writes fail the same way, which no broker sees in a real partition;
// - `tc ... action drop` needs the gact action module, which this kernel lacks (built-in only:
//   "Failed to load TC action module"), and there is no netem, iptables or nft.
// The filters match IPv4 only; the namespaces' veths get no IPv6 address (addrgenmode none), so
// no other way between the nodes exists. ARP still passes a cut, which changes nothing for TCP.

import { ipBatch, ipJson, DEFAULT_COMMAND_TIMEOUT_MS, NetnsError, tcBatch } from './netns-commands.js';
import { NetnsGuard } from './netns-guard.js';
import {
  bridgeName,
  checkNodeCount,
  checkPrefix,
  cutLines,
  dropPlan,
  gatewayAddress,
  healLines,
  hostVethName,
  namespaceName,
  nodeAddress,
  ownsLink,
  ownsNamespace,
  portSetupLines,
} from './netns-plan.js';
import { chooseSubnet, machineRoutes, parseSubnet, subnetText, withSubnetLock, type Subnet } from './netns-subnet.js';

export { NetnsError } from './netns-commands.js';
export { netnsPrefix } from './netns-plan.js';

/** What a cluster's state.json records of its network, so any later process can cut, heal or remove it. */
export interface NetnsRecord {
  readonly prefix: string;
  /** Such as "10.213.7.0/24". */
  readonly subnet: string;
  readonly nodeCount: number;
}

export interface NetnsOptions {
  /** Names every namespace and interface of the network; derive it with netnsPrefix(dataDir). */
  readonly prefix: string;
  readonly nodeCount: number;
  /**
   * A private /24 such as "10.213.7.0/24"; it must not overlap a route of the machine. Default:
   * the first 10.213.X.0/24, from one the prefix derives, that overlaps none.
   */
  readonly subnet?: string;
  /**
   * Remove the network when this process ends, however it ends (default true). False for a
   * network that is to outlive its owner, such as a detached cluster's.
   */
  readonly removeOnExit?: boolean;
  /** The deadline of each ip or tc command; default 10 s. */
  readonly commandTimeoutMs?: number;
}

export interface NetnsNode {
  /** The node's index, from 0; a cluster's node id n is usually index n - 1. */
  readonly index: number;
  readonly namespace: string;
  /** The node's address on the subnet, which its listeners bind to and its peers connect to. */
  readonly address: string;
  /** The root-namespace end of its veth pair, a port of the bridge. */
  readonly hostVeth: string;
}

interface NamedEntry {
  readonly name?: string;
  readonly ifname?: string;
}

/** The namespaces and root-namespace links of this prefix now, and only those. */
async function ourLeftovers(prefix: string, timeoutMs: number): Promise<{ namespaces: string[]; links: string[] }> {
  const [namespaces, links] = await Promise.all([ipJson<NamedEntry>(['netns', 'list'], timeoutMs), ipJson<NamedEntry>(['link', 'show'], timeoutMs)]);
  return {
    namespaces: namespaces.map((entry) => entry.name ?? '').filter((name) => ownsNamespace(prefix, name)),
    links: links.map((entry) => entry.ifname ?? '').filter((name) => ownsLink(prefix, name)),
  };
}

/**
 * Removes every namespace, veth and bridge of this prefix, whoever made them (a run that was
 * killed, a detached cluster being stopped), and nothing else. Resolves with the names removed.
 * A namespace that a process still runs in stays alive, unnamed, until that process ends; its
 * veth goes at once with the root-side end, so it is cut off meanwhile.
 */
export async function removeNetns(prefix: string, timeoutMs: number = DEFAULT_COMMAND_TIMEOUT_MS): Promise<readonly string[]> {
  checkPrefix(prefix);
  const { namespaces, links } = await ourLeftovers(prefix, timeoutMs);
  // Veths before the bridge, so no port is left to a bridge being deleted; then the namespaces.
  const orderedLinks = [...links.filter((name) => name !== bridgeName(prefix)), ...links.filter((name) => name === bridgeName(prefix))];
  await ipBatch([...orderedLinks.map((name) => `link del ${name}`), ...namespaces.map((name) => `netns del ${name}`)], undefined, timeoutMs);
  return [...orderedLinks, ...namespaces];
}

/** A cluster's network: the nodes' namespaces and addresses, cuts, and removal. */
export class NetnsNetwork {
  readonly nodes: readonly NetnsNode[];
  /** The bridge's address: where the nodes' default route points, and the source of root clients. */
  readonly gateway: string;
  readonly bridge: string;
  /** The groups of the cut in place, as this handle made it; undefined when healed. */
  private currentCut: readonly (readonly number[])[] | undefined;
  /** Cuts, heals and removal run one at a time, in the order they were asked for. */
  private queue: Promise<unknown> = Promise.resolve();
  private removed = false;

  constructor(
    readonly record: NetnsRecord,
    private readonly subnet: Subnet,
    private guard: NetnsGuard | undefined,
    private readonly timeoutMs: number,
  ) {
    this.nodes = Array.from({ length: record.nodeCount }, (_, index) => ({
      index,
      namespace: namespaceName(record.prefix, index),
      address: nodeAddress(subnet, index),
      hostVeth: hostVethName(record.prefix, index),
    }));
    this.gateway = gatewayAddress(subnet);
    this.bridge = bridgeName(record.prefix);
  }

  node(index: number): NetnsNode {
    const node = this.nodes[index];
    if (node === undefined) throw new NetnsError(`no node index ${index}; this network has ${this.nodes.length} nodes`);
    return node;
  }

  /**
   * The argv that runs a command inside node index's namespace. `ip netns exec` execs the command
   * in its own process, so the pid a spawn reports is the program's, and the program's arguments
   * are on its command line from the start: the watchdog's pid and the markers processes.ts checks
   * in /proc/PID/cmdline still resolve with this prefix in front.
   */
  execPrefix(index: number): readonly string[] {
    return ['ip', 'netns', 'exec', this.node(index).namespace];
  }

  /** A command and its arguments rewritten to run inside node index's namespace, as a Launch wants them. */
  commandIn(index: number, command: string, args: readonly string[]): { readonly command: string; readonly args: readonly string[] } {
    const [ip, ...rest] = this.execPrefix(index);
    return { command: ip ?? 'ip', args: [...rest, command, ...args] };
  }

  get cutGroups(): readonly (readonly number[])[] | undefined {
    return this.currentCut;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (this.removed) throw new NetnsError(`the network ${this.record.prefix} was removed`);
      return work();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Drops every packet between two nodes listed in different groups, both ways, and replaces any
   * cut in place (see dropPlan for nodes in no group). One tc process for the whole cut.
   */
  async cut(groups: readonly (readonly number[])[]): Promise<void> {
    // Checked before joining the queue, and a bad cut is a rejection like any other failure.
    const plan = dropPlan(groups, this.nodes.length);
    return this.serially(async () => {
      await tcBatch(cutLines(this.record.prefix, this.subnet, plan), this.timeoutMs);
      this.currentCut = groups.map((group) => [...group]);
    });
  }

  /** Restores every link, whoever cut it; healing a healed network does nothing. */
  heal(): Promise<void> {
    return this.serially(async () => {
      await tcBatch(healLines(this.record.prefix, this.nodes.length), this.timeoutMs);
      this.currentCut = undefined;
    });
  }

  /** Lets the network outlive this process, as a detached cluster's must: its guard ends without removing it. */
  outliveProcess(): void {
    this.releaseGuard();
  }

  private releaseGuard(): void {
    this.guard?.release();
    this.guard = undefined;
  }

  /** Removes the namespaces, veths and bridge; end the nodes first (see removeNetns). */
  teardown(): Promise<void> {
    return this.serially(async () => {
      await removeNetns(this.record.prefix, this.timeoutMs);
      this.removed = true;
      this.currentCut = undefined;
      this.releaseGuard();
    });
  }
}

/** The root-namespace commands: the bridge with the gateway address, and each node's namespace and veth. */
function rootLines(prefix: string, nodeCount: number, subnet: Subnet): string[] {
  const bridge = bridgeName(prefix);
  const lines = [`link add ${bridge} type bridge`, `addr add ${gatewayAddress(subnet)}/24 dev ${bridge}`, `link set ${bridge} up`];
  for (let index = 0; index < nodeCount; index++) {
    const namespace = namespaceName(prefix, index);
    const veth = hostVethName(prefix, index);
    lines.push(`netns add ${namespace}`, `link add ${veth} type veth peer name eth0 netns ${namespace}`);
    lines.push(`link set ${veth} master ${bridge}`, `link set ${veth} up`);
  }
  return lines;
}

/** The commands inside node index's namespace: loopback, its address, and the way out through the bridge. */
function namespaceLines(subnet: Subnet, index: number): string[] {
  return [
    'link set lo up',
    // No IPv6 link-local address: the cut filters match IPv4, and no path between nodes may pass them by.
    'link set eth0 addrgenmode none',
    `addr add ${nodeAddress(subnet, index)}/24 dev eth0`,
    'link set eth0 up',
    `route add default via ${gatewayAddress(subnet)}`,
  ];
}

/**
 * Builds the network of a cluster: first removes whatever an earlier run left with the same
 * prefix, then the bridge, a namespace and veth per node, the addresses and routes, and the
 * bridge ports' drop class. On failure nothing of it is left behind.
 */
export async function setupNetns(options: NetnsOptions): Promise<NetnsNetwork> {
  const prefix = checkPrefix(options.prefix);
  const nodeCount = checkNodeCount(options.nodeCount);
  const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  await removeNetns(prefix, timeoutMs);
  const indexes = Array.from({ length: nodeCount }, (_, index) => index);
  // The guard starts before anything exists, so an owner killed halfway leaves nothing either.
  const guard =
    options.removeOnExit === false
      ? undefined
      : NetnsGuard.start({
          links: [...indexes.map((index) => hostVethName(prefix, index)), bridgeName(prefix)],
          namespaces: indexes.map((index) => namespaceName(prefix, index)),
        });
  try {
    const subnet = await withSubnetLock(async () => {
      const chosen = chooseSubnet(prefix, options.subnet, await machineRoutes(timeoutMs));
      await ipBatch(rootLines(prefix, nodeCount, chosen), undefined, timeoutMs);
      return chosen;
    }, timeoutMs);
    await Promise.all(indexes.map((index) => ipBatch(namespaceLines(subnet, index), namespaceName(prefix, index), timeoutMs)));
    await tcBatch(indexes.flatMap((index) => portSetupLines(hostVethName(prefix, index))), timeoutMs);
    return new NetnsNetwork({ prefix, subnet: subnetText(subnet), nodeCount }, subnet, guard, timeoutMs);
  } catch (error) {
    // Should even the removal fail, the guard stays armed and tries again when this process ends.
    if (await removeNetns(prefix, timeoutMs).then(() => true, () => false)) guard?.release();
    throw error;
  }
}

/**
 * A handle on a network a state.json records, made by another process (a detached cluster being
 * reused or stopped). Fails when its namespaces or bridge are missing; it gets no guard.
 */
export async function attachNetns(record: NetnsRecord, timeoutMs: number = DEFAULT_COMMAND_TIMEOUT_MS): Promise<NetnsNetwork> {
  const prefix = checkPrefix(record.prefix);
  const network = new NetnsNetwork(record, parseSubnet(record.subnet), undefined, timeoutMs);
  const present = await ourLeftovers(prefix, timeoutMs);
  const wanted = [...network.nodes.flatMap((node) => [node.namespace, node.hostVeth]), network.bridge];
  const missing = wanted.filter((name) => !present.namespaces.includes(name) && !present.links.includes(name));
  if (missing.length > 0) throw new NetnsError(`the network ${prefix} (${record.subnet}) lacks ${missing.join(', ')}`);
  return network;
}
