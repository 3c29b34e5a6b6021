// The harness's fault driver over a cluster of nodes kept in memory: which node each target
// names, the groups a network partition's target names, the sentences of faults with nothing to
// act on, the order of `crashed` and `paused`, the stall bound and the heal. The nodes here record what was asked of them; the real acts are
// tested through the reference and kafka adapters (reference-replication, stall-replication,
// test/kafka/adapter.test.ts).

import { describe, expect, it } from 'vitest';
import type { NodeControl, NodeInfo, NodeState, ShardObservation } from '../../adapters/contract.js';
import { FaultDriver, type BrokerFault } from '../../harness/conformance/faults.js';

/** Three nodes with ids 11, 12 and 13 (scenario indices 0, 1 and 2); shard 0 led by 12. */
class RecordingNodes implements NodeControl {
  readonly noun = 'node';
  readonly stallMaxMs = 200;
  readonly acts: string[] = [];
  readonly states = new Map<number, NodeState>([
    [11, 'running'],
    [12, 'running'],
    [13, 'running'],
  ]);
  leader: number | null = 12;
  known = true;
  coordinatorId: number | undefined;
  armed = new Map<number, number>();

  nodes(): readonly NodeInfo[] {
    return [...this.states].map(([id, state]) => ({ id, state }));
  }
  async observe(shard: number): Promise<ShardObservation> {
    return {
      description: `shard ${shard} led by ${this.leader ?? 'nobody'}`,
      ...(this.known ? { shard: { leader: this.leader, replicas: [11, 12, 13] } } : {}),
      leaders: [{ label: '0', leader: this.leader }],
    };
  }
  async coordinator(): Promise<number | undefined> {
    return this.coordinatorId;
  }
  /** The last choice, so a test knows which one the driver got. */
  pick<T>(choices: readonly T[]): T {
    this.acts.push(`pick ${choices.join(',')}`);
    return choices[choices.length - 1] as T;
  }
  private act(what: string, id: number, state?: NodeState): string {
    this.acts.push(`${what} ${id}`);
    if (state !== undefined) this.states.set(id, state);
    return ` by ${what}`;
  }
  async kill(id: number): Promise<string> {
    return this.act('kill', id, 'crashed');
  }
  async start(id: number): Promise<string> {
    return this.act('start', id, 'running');
  }
  async pause(id: number): Promise<string> {
    return this.act('pause', id, 'paused');
  }
  async resume(id: number): Promise<string> {
    return this.act('resume', id, 'running');
  }
  async dropAcks(id: number, count: number): Promise<string> {
    this.armed.set(id, count);
    return `will lose ${count}`;
  }
  async stall(ids: readonly number[], durationMs: number): Promise<{ means: string; then: string }> {
    this.acts.push(`stall ${ids.join(',')} ${durationMs}`);
    return { means: ' by stopping', then: ', then going on' };
  }
  async clear(id: number): Promise<readonly string[]> {
    const left = this.armed.get(id);
    this.armed.delete(id);
    return left === undefined ? [] : [`node ${id} lost no more (${left} left)`];
  }
}

/** The same nodes with links to cut: the acts record the groups they were given. */
class PartitionableNodes extends RecordingNodes {
  async cut(groups: readonly (readonly number[])[]): Promise<string> {
    this.acts.push(`cut ${groups.map((group) => group.join(',')).join(' | ')}`);
    return ' by cutting';
  }
  async heal(): Promise<string> {
    this.acts.push('heal');
    return ' by healing';
  }
}

function partitionDriver(ids: readonly number[] = [11, 12, 13]): { nodes: PartitionableNodes; faults: FaultDriver; info: string[] } {
  const nodes = new PartitionableNodes();
  nodes.states.clear();
  for (const id of ids) nodes.states.set(id, 'running');
  const info: string[] = [];
  return { nodes, faults: new FaultDriver(nodes, (source, message) => info.push(`${source}: ${message}`)), info };
}

function fault(what: BrokerFault['do'], target: BrokerFault['target'], extra: Partial<BrokerFault> = {}): BrokerFault {
  return { do: what, target, partition: 0, count: 0, ...extra };
}

function driver(): { nodes: RecordingNodes; faults: FaultDriver; info: string[] } {
  const nodes = new RecordingNodes();
  const info: string[] = [];
  return { nodes, faults: new FaultDriver(nodes, (source, message) => info.push(`${source}: ${message}`)), info };
}

describe('FaultDriver', () => {
  it('records the shard before every fault and crashes the leader it names, with its role and how', async () => {
    const { faults, nodes, info } = driver();
    expect(await faults.inject(fault('crash-broker', 'leader'))).toBe('crashed node 12 (leader of partition 0) by kill');
    expect(info).toEqual(['replicas: before crash-broker: shard 0 led by 12']);
    expect(nodes.states.get(12)).toBe('crashed');
    expect(await faults.inject(fault('crash-broker', 1))).toBe('node 12 is already down: nothing to crash-broker');
    expect(await faults.inject(fault('restart-broker', 'crashed'))).toBe('restarted node 12 (leader of partition 0) by start');
    expect(await faults.inject(fault('restart-broker', 'crashed'))).toBe('no crashed node: nothing to restart-broker');
  });

  it('maps a broker index to the node in that place and refuses one past the end', async () => {
    const { faults } = driver();
    expect(await faults.inject(fault('pause-broker', 0))).toBe('paused node 11 by pause');
    expect(await faults.inject(fault('pause-broker', 3))).toBe('there is no broker 3: nothing to pause-broker');
    expect(await faults.inject(fault('pause-broker', 0))).toBe('node 11 is paused: nothing to pause-broker');
    expect(await faults.inject(fault('resume-broker', 2))).toBe('node 13 is running: nothing to resume-broker');
  });

  it('names the last crashed and the last paused node, forgetting those restarted or resumed', async () => {
    const { faults } = driver();
    await faults.inject(fault('crash-broker', 0));
    await faults.inject(fault('crash-broker', 2));
    await faults.inject(fault('pause-broker', 1));
    expect(await faults.inject(fault('restart-broker', 'crashed'))).toBe('restarted node 13 by start');
    expect(await faults.inject(fault('restart-broker', 'crashed'))).toBe('restarted node 11 by start');
    expect(await faults.inject(fault('resume-broker', 'paused'))).toBe('resumed node 12 (leader of partition 0) by resume');
    expect(await faults.inject(fault('resume-broker', 'paused'))).toBe('no paused node: nothing to resume-broker');
  });

  it('picks followers and live nodes through the adapter, among running ones only', async () => {
    const { faults, nodes } = driver();
    nodes.states.set(13, 'paused');
    expect(await faults.inject(fault('crash-broker', 'follower'))).toBe('crashed node 11 by kill');
    expect(nodes.acts).toEqual(['pick 11', 'kill 11']);
    expect(await faults.inject(fault('crash-broker', 'follower'))).toBe('partition 0 has no live follower: nothing to crash-broker');
    expect(await faults.inject(fault('pause-broker', 'any'))).toBe('paused node 12 (leader of partition 0) by pause');
    expect(await faults.inject(fault('pause-broker', 'any'))).toBe('no live node: nothing to pause-broker');
  });

  it('says when the shard has no leader, is unknown, or no coordinator is in use', async () => {
    const { faults, nodes } = driver();
    nodes.leader = null;
    expect(await faults.inject(fault('crash-broker', 'leader'))).toBe('partition 0 has no leader: nothing to crash-broker');
    nodes.known = false;
    expect(await faults.inject(fault('crash-broker', 'follower'))).toBe('partition 0 is unknown: nothing to crash-broker');
    expect(await faults.inject(fault('crash-broker', 'coordinator'))).toBe('no transaction coordinator is in use: nothing to crash-broker');
    nodes.coordinatorId = 13;
    expect(await faults.inject(fault('crash-broker', 'coordinator'))).toBe('crashed node 13 by kill');
  });

  it('stalls the running followers for at most the safe bound', async () => {
    const { faults, nodes } = driver();
    expect(await faults.inject(fault('stall-replication', 'followers', { durationMs: 50 }))).toBe(
      'stalled replication to nodes 11, 13 by stopping for 50 ms, then going on',
    );
    expect(await faults.inject(fault('stall-replication', 'follower', { durationMs: 5_000 }))).toBe(
      'stalled replication to node 13 by stopping for 200 ms (asked 5000 ms, capped at the safe bound), then going on',
    );
    expect(nodes.acts.filter((act) => act.startsWith('stall'))).toEqual(['stall 11,13 50', 'stall 13 200']);
    nodes.states.set(11, 'crashed');
    nodes.states.set(13, 'crashed');
    expect(await faults.inject(fault('stall-replication', 'followers'))).toBe('partition 0 has no live follower: nothing to stall-replication');
  });

  it('heals node by node: clears, resumes the paused, restarts the crashed, and then has nothing left', async () => {
    const { faults, nodes } = driver();
    await faults.inject(fault('crash-broker', 0));
    await faults.inject(fault('drop-acks', 1, { count: 4 }));
    await faults.inject(fault('pause-broker', 2));
    expect(await faults.healAll()).toEqual(['restarted node 11 by start', 'node 12 lost no more (4 left)', 'resumed node 13']);
    expect([...nodes.states.values()]).toEqual(['running', 'running', 'running']);
    expect(await faults.healAll()).toEqual([]);
    expect(await faults.inject(fault('restart-broker', 'crashed'))).toBe('no crashed node: nothing to restart-broker');
  });

  it('isolates the leader of the fault\'s partition from every other node, in one cut', async () => {
    const { faults, nodes, info } = partitionDriver();
    expect(await faults.inject(fault('partition', 'isolate-leader'))).toBe('partitioned nodes [12] | [11, 13] (node 12 leads partition 0) by cutting');
    expect(nodes.acts).toEqual(['cut 12 | 11,13']);
    expect(info).toEqual(['replicas: before partition: shard 0 led by 12']);
    nodes.leader = 11;
    expect(await faults.inject(fault('partition', 'isolate-leader', { partition: 0 }))).toBe('partitioned nodes [11] | [12, 13] (node 11 leads partition 0) by cutting');
    nodes.leader = null;
    expect(await faults.inject(fault('partition', 'isolate-leader'))).toBe('partition 0 has no leader: nothing to partition');
    nodes.known = false;
    expect(await faults.inject(fault('partition', 'isolate-leader'))).toBe('partition 0 is unknown: nothing to partition');
    expect(nodes.acts).toEqual(['cut 12 | 11,13', 'cut 11 | 12,13']);
  });

  it('draws the largest minority from the adapter\'s random source, one node at a time among those left', async () => {
    const three = partitionDriver();
    // The recording nodes pick the last choice: 13 of three nodes.
    expect(await three.faults.inject(fault('partition', 'majority-minority'))).toBe('partitioned nodes [13] | [11, 12] (the minority drawn at random) by cutting');
    expect(three.nodes.acts).toEqual(['pick 11,12,13', 'cut 13 | 11,12']);
    const five = partitionDriver([11, 12, 13, 14, 15]);
    expect(await five.faults.inject(fault('partition', 'majority-minority'))).toBe('partitioned nodes [14, 15] | [11, 12, 13] (the minority drawn at random) by cutting');
    expect(five.nodes.acts).toEqual(['pick 11,12,13,14,15', 'pick 11,12,13,14', 'cut 14,15 | 11,12,13']);
    // Two nodes split in halves, and neither half is a minority.
    const two = partitionDriver([11, 12]);
    expect(await two.faults.inject(fault('partition', 'majority-minority'))).toBe('2 nodes have no minority: nothing to partition');
    expect(two.nodes.acts).toEqual([]);
  });

  it('maps the groups\' broker indices to nodes and puts the nodes no group names in one more group', async () => {
    const { faults, nodes } = partitionDriver([11, 12, 13, 14]);
    expect(await faults.inject(fault('partition', [[0], [2]]))).toBe('partitioned nodes [11] | [13] | [12, 14] by cutting');
    expect(await faults.inject(fault('partition', [[3], [0, 1, 2]]))).toBe('partitioned nodes [14] | [11, 12, 13] by cutting');
    expect(await faults.inject(fault('partition', [[0], [4]]))).toBe('there is no broker 4: nothing to partition');
    expect(nodes.acts).toEqual(['cut 11 | 13 | 12,14', 'cut 14 | 11,12,13']);
  });

  it('heals the partition in force, and the heal at the end of a run heals the network before the nodes', async () => {
    const { faults, nodes } = partitionDriver();
    expect(await faults.inject(fault('heal', undefined))).toBe('no network partition is in force: nothing to heal');
    await faults.inject(fault('partition', 'isolate-leader'));
    expect(await faults.inject(fault('heal', undefined))).toBe('healed the network partition by healing');
    expect(await faults.inject(fault('heal', undefined))).toBe('no network partition is in force: nothing to heal');
    await faults.inject(fault('partition', [[0]]));
    await faults.inject(fault('crash-broker', 0));
    expect(await faults.healAll()).toEqual(['healed the network partition by healing', 'restarted node 11 by start']);
    expect(await faults.healAll()).toEqual([]);
    expect(nodes.acts).toEqual(['cut 12 | 11,13', 'heal', 'cut 11 | 12,13', 'kill 11', 'heal', 'start 11']);
  });

  it('refuses a fault whose act the nodes do not have', async () => {
    const { nodes } = driver();
    const withoutPowerLoss = new FaultDriver(nodes, () => undefined);
    await expect(withoutPowerLoss.inject(fault('power-loss', 0))).rejects.toThrow("the adapter's nodes cannot power-loss");
    await expect(withoutPowerLoss.inject(fault('partition', 'isolate-leader'))).rejects.toThrow("the adapter's nodes cannot partition");
  });
});
