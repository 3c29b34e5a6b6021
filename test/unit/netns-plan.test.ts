// The rules behind a cluster's network namespaces that need no root: which names are ours, which
// links a cut drops, which subnet a cluster takes, and why a machine cannot make partitions. What
// the kernel does with them is tested in test/netns.

import { describe, expect, it } from 'vitest';
import { platformReason } from '../../adapters/local-cluster/netns-availability.js';
import {
  bridgeName,
  checkPrefix,
  cutLines,
  dropPlan,
  healLines,
  hostVethName,
  namespaceName,
  netnsPrefix,
  ownsLink,
  ownsNamespace,
} from '../../adapters/local-cluster/netns-plan.js';
import { chooseSubnet, overlaps, parseSubnet } from '../../adapters/local-cluster/netns-subnet.js';

const LINUX_INTERFACE_NAME_MAX = 15;

describe('network namespace names', () => {
  it('derives a stable prefix per seed whose interface names fit Linux limits', () => {
    const prefix = netnsPrefix('/work/.cache/kafka-cluster');
    expect(prefix).toMatch(/^dchk[0-9a-f]{6}$/);
    expect(netnsPrefix('/work/.cache/kafka-cluster')).toBe(prefix);
    expect(netnsPrefix('/work/.cache/nats-cluster')).not.toBe(prefix);
    for (const name of [bridgeName(prefix), hostVethName(prefix, 8), namespaceName(prefix, 8)]) {
      expect(name.length).toBeLessThanOrEqual(LINUX_INTERFACE_NAME_MAX);
    }
    expect(hostVethName(checkPrefix('a2345678901'), 8).length).toBeLessThanOrEqual(LINUX_INTERFACE_NAME_MAX);
    expect(() => checkPrefix('a23456789012')).toThrow(/up to 10 more/);
    expect(() => checkPrefix('dchk-x')).toThrow(/lower-case letter/);
  });

  it('claims its own names and no other', () => {
    const prefix = 'dchkabc123';
    expect(ownsNamespace(prefix, 'dchkabc123-n0')).toBe(true);
    expect(ownsLink(prefix, 'dchkabc123-v2')).toBe(true);
    expect(ownsLink(prefix, 'dchkabc123-br')).toBe(true);
    for (const name of ['dchkabc1234-n0', 'dchkabc123-n10', 'dchkabc123-keep', 'xdchkabc123-n0', 'dchkabc123-v0', 'eth0']) {
      expect(ownsNamespace(prefix, name), name).toBe(false);
    }
    for (const name of ['dchkabc1234-br', 'dchkabc123x-br', 'dchkabc123-n0', 'dchkabc123-bridge', 'ifb0', 'eth0']) {
      expect(ownsLink(prefix, name), name).toBe(false);
    }
  });
});

describe('a cut', () => {
  it('drops, on each node, the packets of the nodes listed in another group', () => {
    expect(dropPlan([[0], [1, 2]], 3)).toEqual([[1, 2], [0], [0]]);
    expect(dropPlan([[0, 1], [2, 3, 4]], 5)).toEqual([[2, 3, 4], [2, 3, 4], [0, 1], [0, 1], [0, 1]]);
    // Node 1 is in no group: it keeps every link, and 0 and 2 are cut from each other only.
    expect(dropPlan([[0], [2]], 3)).toEqual([[2], [], [0]]);
    expect(dropPlan([[0, 1, 2]], 3)).toEqual([[], [], []]);
    expect(dropPlan([], 3)).toEqual([[], [], []]);
  });

  it('refuses indexes outside the cluster and nodes in two groups', () => {
    expect(() => dropPlan([[0], [3]], 3)).toThrow(/node index 3 is not one of 0..2/);
    expect(() => dropPlan([[0], [0.5]], 3)).toThrow(/node index 0.5/);
    expect(() => dropPlan([[0, 1], [1]], 3)).toThrow(/node index 1 is in more than one group/);
  });

  it('replaces the filters of every port with one filter per cut direction', () => {
    const subnet = parseSubnet('10.213.7.0/24');
    expect(cutLines('dchkabc123', subnet, dropPlan([[0], [1, 2]], 3))).toEqual([
      ...healLines('dchkabc123', 3),
      'filter add dev dchkabc123-v0 parent 1: protocol ip prio 1 u32 match ip src 10.213.7.3/32 flowid 1:2',
      'filter add dev dchkabc123-v0 parent 1: protocol ip prio 1 u32 match ip src 10.213.7.4/32 flowid 1:2',
      'filter add dev dchkabc123-v1 parent 1: protocol ip prio 1 u32 match ip src 10.213.7.2/32 flowid 1:2',
      'filter add dev dchkabc123-v2 parent 1: protocol ip prio 1 u32 match ip src 10.213.7.2/32 flowid 1:2',
    ]);
    expect(healLines('dchkabc123', 2)).toEqual(['filter del dev dchkabc123-v0 parent 1:', 'filter del dev dchkabc123-v1 parent 1:']);
  });
});

describe('the subnet of a cluster', () => {
  it('takes only a /24 written as such', () => {
    expect(parseSubnet('10.213.7.0/24')).toEqual({ base: '10.213.7' });
    for (const text of ['10.213.7.0/16', '10.213.7.1/24', '10.213.256.0/24', '10.213.7.0']) {
      expect(() => parseSubnet(text), text).toThrow(/a\.b\.c\.0\/24/);
    }
  });

  it('sees an overlap with wider, narrower and equal routes, and none with default', () => {
    const subnet = parseSubnet('10.213.7.0/24');
    expect(overlaps(subnet, '10.0.0.0/8')).toBe(true);
    expect(overlaps(subnet, '10.213.7.0/24')).toBe(true);
    expect(overlaps(subnet, '10.213.7.128/25')).toBe(true);
    expect(overlaps(subnet, '10.213.7.9')).toBe(true);
    expect(overlaps(subnet, '10.213.8.0/24')).toBe(false);
    expect(overlaps(subnet, '192.0.2.0/24')).toBe(false);
    expect(overlaps(subnet, 'default')).toBe(false);
  });

  it('derives one from the prefix and steps past subnets the machine routes', () => {
    const first = chooseSubnet('dchkabc123', undefined, []);
    expect(first.base).toMatch(/^10\.213\.\d{1,3}$/);
    const taken = [{ destination: `${first.base}.0/24`, device: 'dchkother-br' }];
    const next = chooseSubnet('dchkabc123', undefined, taken);
    expect(next.base).not.toBe(first.base);
    expect(() => chooseSubnet('dchkabc123', '10.213.7.0/24', [{ destination: '10.0.0.0/8', device: 'tun0' }])).toThrow(
      /overlaps the machine's route 10.0.0.0\/8 dev tun0/,
    );
    expect(() => chooseSubnet('dchkabc123', undefined, [{ destination: '10.213.0.0/16', device: 'tun0' }])).toThrow(/every subnet/);
  });
});

describe('why a machine cannot make partitions', () => {
  it('names the platform or the user in one line', () => {
    expect(platformReason('darwin', 501)).toMatch(/need Linux network namespaces \(this is darwin\)/);
    expect(platformReason('linux', 1000)).toMatch(/need root.*\(running as uid 1000\)$/);
    expect(platformReason('linux', 0)).toBeUndefined();
  });
});
