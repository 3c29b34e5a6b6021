// The names, addresses and tc commands of a cluster's network, as pure functions: what
// netns.ts runs, kept apart so that the rules (which names are ours, which links a cut drops)
// are tested without root.

import { createHash } from 'node:crypto';
import { NetnsError } from './netns-commands.js';
import { BRIDGE_HOST, FIRST_NODE_HOST, hostAddress, type Subnet } from './netns-subnet.js';

/**
 * A prefix is a lower-case letter and up to ten more letters or digits: with "-v9" or "-br" after
 * it, every interface name stays within Linux's 15 characters. It holds no "-", so the names of
 * one prefix never look like the names of another.
 */
const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,10}$/;
/** One digit of node number in the names; local clusters have at most 9 nodes (options.ts). */
export const MAX_NODE_COUNT = 9;
/** Derived prefixes start so, which marks the names as ours in `ip link` and `ip netns list`. */
const DERIVED_PREFIX_START = 'dchk';

/**
 * The prefix of a cluster's namespaces and interfaces, from something unique to the cluster, such
 * as its resolved data folder or its base port: "dchk" and six hex digits of its hash. The same
 * folder gives the same prefix, so a start finds the leftovers of a killed run in that folder.
 */
export function netnsPrefix(seed: string): string {
  return `${DERIVED_PREFIX_START}${createHash('sha256').update(seed).digest('hex').slice(0, 6)}`;
}

export function checkPrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new NetnsError(`a network prefix is a lower-case letter and up to 10 more letters or digits, got "${prefix}"`);
  }
  return prefix;
}

export function checkNodeCount(nodeCount: number): number {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODE_COUNT) {
    throw new NetnsError(`a network has 1 to ${MAX_NODE_COUNT} nodes, got ${nodeCount}`);
  }
  return nodeCount;
}

export function namespaceName(prefix: string, index: number): string {
  return `${prefix}-n${index}`;
}

/** The root-namespace end of node index's veth pair, a port of the bridge; the other end is eth0 inside. */
export function hostVethName(prefix: string, index: number): string {
  return `${prefix}-v${index}`;
}

export function bridgeName(prefix: string): string {
  return `${prefix}-br`;
}

/** True for a namespace name of this prefix, and for nothing else. */
export function ownsNamespace(prefix: string, name: string): boolean {
  return new RegExp(`^${prefix}-n\\d$`).test(name);
}

/** True for a root-namespace link name of this prefix (a veth or the bridge), and for nothing else. */
export function ownsLink(prefix: string, name: string): boolean {
  return new RegExp(`^${prefix}-(v\\d|br)$`).test(name);
}

export function nodeAddress(subnet: Subnet, index: number): string {
  return hostAddress(subnet, FIRST_NODE_HOST + index);
}

export function gatewayAddress(subnet: Subnet): string {
  return hostAddress(subnet, BRIDGE_HOST);
}

/**
 * Which links a cut drops: for each node index, the indexes whose packets must not reach it. A
 * pair is cut exactly when both nodes are listed, in different groups; a node in no group keeps
 * every link (a bridge between the sides, as a partial partition has). An index outside the
 * cluster, or listed twice, is refused.
 */
export function dropPlan(groups: readonly (readonly number[])[], nodeCount: number): readonly (readonly number[])[] {
  const groupOf = new Map<number, number>();
  groups.forEach((group, groupIndex) => {
    for (const index of group) {
      if (!Number.isInteger(index) || index < 0 || index >= nodeCount) {
        throw new NetnsError(`cut: node index ${index} is not one of 0..${nodeCount - 1}`);
      }
      if (groupOf.has(index)) throw new NetnsError(`cut: node index ${index} is in more than one group`);
      groupOf.set(index, groupIndex);
    }
  });
  return Array.from({ length: nodeCount }, (_, destination) => {
    const destinationGroup = groupOf.get(destination);
    if (destinationGroup === undefined) return [];
    return [...groupOf].filter(([, group]) => group !== destinationGroup).map(([source]) => source).sort((a, b) => a - b);
  });
}

/** The HTB class whose queue holds nothing: whatever a filter sends there is dropped. */
const DROP_CLASS = '1:2';

/**
 * The tc commands that prepare one bridge port for cuts: an HTB root qdisc whose unclassified
 * traffic passes unshaped (no default class), and a drop class whose pfifo holds no packet at all
 * (limit 0), so every packet classified into it is discarded on enqueue. The rate is only there
 * because HTB wants one; no packet ever waits in that class.
 */
export function portSetupLines(port: string): readonly string[] {
  return [
    `qdisc add dev ${port} root handle 1: htb`,
    `class add dev ${port} parent 1: classid ${DROP_CLASS} htb rate 1mbit`,
    `qdisc add dev ${port} parent ${DROP_CLASS} handle 2: pfifo limit 0`,
  ];
}

/** Removes every cut filter of every port; succeeds whether or not there were any. */
export function healLines(prefix: string, nodeCount: number): readonly string[] {
  return Array.from({ length: nodeCount }, (_, index) => `filter del dev ${hostVethName(prefix, index)} parent 1:`);
}

/**
 * The whole filter set for a cut, after removing the previous one: a cut replaces whatever cut
 * was in place, so cutting twice is cutting once. A packet is matched on the port it leaves the
 * bridge by (the destination node's) and by its source address, so one filter per direction of
 * each cut pair suffices, and packets from the bridge address (clients in the root namespace)
 * are never matched.
 */
export function cutLines(prefix: string, subnet: Subnet, plan: readonly (readonly number[])[]): readonly string[] {
  const lines = [...healLines(prefix, plan.length)];
  plan.forEach((sources, destination) => {
    for (const source of sources) {
      lines.push(
        `filter add dev ${hostVethName(prefix, destination)} parent 1: protocol ip prio 1 ` +
          `u32 match ip src ${nodeAddress(subnet, source)}/32 flowid ${DROP_CLASS}`,
      );
    }
  });
  return lines;
}
