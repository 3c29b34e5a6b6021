// The private /24 a cluster's namespaces live on. The bridge in the root namespace holds .1 and
// node i (from 0) holds .(i + 2), so clients of the root namespace reach every node at its own
// address through the bridge's connected route. The subnet must not overlap a route the machine
// already has: a clash would either hide part of the machine's network behind our bridge or send
// our packets elsewhere. Each cluster derives its own candidate from its prefix, so the Kafka and
// the NATS cluster of one run seldom want the same one; another cluster's bridge route counts as
// a clash like any other, and a lock for the whole machine keeps two setups at the same moment
// from both finding one subnet free.

import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { ClusterError } from './errors.js';
import { ipJson, NetnsError } from './netns-commands.js';
import { acquireStartLock } from './state-file.js';

/** Derived subnets are 10.213.X.0/24: a corner of 10/8 that common tools (Docker 172.17/16, Podman 10.88/16, libvirt 192.168.122/24) do not use by default. */
const DERIVED_FIRST_OCTETS = '10.213';

/** Host numbers: .1 is the bridge, nodes from .2; .255 is the broadcast address. */
export const BRIDGE_HOST = 1;
export const FIRST_NODE_HOST = 2;

/** A /24 written as its first three octets, such as "10.213.7". */
export interface Subnet {
  readonly base: string;
}

export function subnetText(subnet: Subnet): string {
  return `${subnet.base}.0/24`;
}

export function hostAddress(subnet: Subnet, host: number): string {
  return `${subnet.base}.${host}`;
}

/** Parses "a.b.c.0/24"; anything else (another prefix length, a host part) is refused. */
export function parseSubnet(text: string): Subnet {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(text);
  const octets = match?.slice(1, 4).map(Number);
  if (octets === undefined || octets.some((octet) => octet > 255)) {
    throw new NetnsError(`subnet must be a /24 written as a.b.c.0/24, got "${text}"`);
  }
  return { base: octets.join('.') };
}

function addressValue(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/**
 * True when the route destination ("192.0.2.0/24", or a single address "192.0.2.7") shares any
 * address with the subnet. "default" does not count: every address falls under it, and a more
 * specific route of ours is exactly how the bridge takes the subnet's traffic.
 */
export function overlaps(subnet: Subnet, destination: string): boolean {
  if (destination === 'default') return false;
  const [address, lengthText] = destination.split('/');
  const length = lengthText === undefined ? 32 : Number(lengthText);
  const value = addressValue(address ?? '');
  const ours = addressValue(`${subnet.base}.0`);
  if (value === undefined || ours === undefined || !Number.isInteger(length) || length < 0 || length > 32) return false;
  // Two prefixes overlap when they agree on the shorter one's bits.
  const shorter = Math.min(length, 24);
  const divisor = 2 ** (32 - shorter);
  return Math.floor(value / divisor) === Math.floor(ours / divisor);
}

interface RouteEntry {
  readonly dst?: string;
  readonly dev?: string;
  readonly type?: string;
}

/** Every IPv4 route of the root namespace, in every table, as "destination dev NAME". */
export async function machineRoutes(timeoutMs?: number): Promise<readonly { readonly destination: string; readonly device: string }[]> {
  const routes = await ipJson<RouteEntry>(['-4', 'route', 'show', 'table', 'all'], timeoutMs);
  return routes.filter((route) => route.dst !== undefined).map((route) => ({ destination: route.dst ?? '', device: route.dev ?? route.type ?? '' }));
}

/** The first route that overlaps the subnet, as "10.0.0.0/8 dev tun0", or undefined. */
export function clash(subnet: Subnet, routes: readonly { readonly destination: string; readonly device: string }[]): string | undefined {
  const found = routes.find((route) => overlaps(subnet, route.destination));
  return found === undefined ? undefined : `${found.destination} dev ${found.device}`;
}

/**
 * The subnet to use: the one asked for, which must not clash with a route, or else the first of
 * 10.213.X.0/24 from the prefix's own X on that clashes with none.
 */
export function chooseSubnet(prefix: string, wanted: string | undefined, routes: Parameters<typeof clash>[1]): Subnet {
  if (wanted !== undefined) {
    const subnet = parseSubnet(wanted);
    const found = clash(subnet, routes);
    if (found !== undefined) throw new NetnsError(`subnet ${wanted} overlaps the machine's route ${found}; choose another subnet`);
    return subnet;
  }
  const start = createHash('sha256').update(prefix).digest()[0] ?? 0;
  for (let step = 0; step < 256; step++) {
    const subnet = { base: `${DERIVED_FIRST_OCTETS}.${(start + step) % 256}` };
    if (clash(subnet, routes) === undefined) return subnet;
  }
  throw new NetnsError(`every subnet ${DERIVED_FIRST_OCTETS}.X.0/24 overlaps a route of this machine; pass a subnet of your own`);
}

/** Where the machine-wide lock of subnet choice lives: /run is the machine's own, emptied at boot. */
const SUBNET_LOCK_DIR = '/run/deliverycheck-netns';
const SUBNET_LOCK_POLL_INTERVAL_MS = 50;

/**
 * Runs `work` (choosing a subnet and taking it with the bridge's address) while holding a lock
 * for the whole machine. Two clusters set up at the same moment would otherwise both find the
 * same subnet free, and root clients would reach one cluster's nodes at the other's addresses.
 * A lock whose holder died is taken over (state-file.ts); a live holder is waited for until
 * timeoutMs has passed.
 */
export async function withSubnetLock<T>(work: () => Promise<T>, timeoutMs: number): Promise<T> {
  await mkdir(SUBNET_LOCK_DIR, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let release: (() => Promise<void>) | undefined;
  while (release === undefined) {
    try {
      release = await acquireStartLock(SUBNET_LOCK_DIR, 'network');
    } catch (error) {
      if (!(error instanceof ClusterError)) throw error;
      if (Date.now() >= deadline) {
        throw new NetnsError(`the machine's subnet lock in ${SUBNET_LOCK_DIR} stayed taken for ${timeoutMs} ms: ${error.message}`);
      }
      await delay(SUBNET_LOCK_POLL_INTERVAL_MS);
    }
  }
  try {
    return await work();
  } finally {
    await release();
  }
}
