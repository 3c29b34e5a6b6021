// The partition fault on the reference broker: a leader cut off from its followers and from the
// controller goes on leading the epoch it had, so with ack leader it acknowledges writes it
// truncates at the heal, while with ack all and minInsync 2 it acknowledges nothing; the controller
// acts only where it has a quorum; and the harness's resolution of the targets draws from the
// session's seed. Each test has its negative control: the same writes without the cut, or with a
// cut too short for the controller to act, lose nothing.

import { describe, expect, it } from 'vitest';
import type { TopicSettings } from '../../adapters/contract.js';
import type { AckMode } from '../../spec/vocabulary.js';
import type { MessageRef } from '../../spec/history.js';
import { FaultDriver } from '../../harness/conformance/faults.js';
import { referenceAdapter } from '../../reference/adapter.js';
import { ReferenceProducer } from '../../reference/clients.js';
import { Cluster, TIMING } from '../../reference/broker/cluster.js';
import { Simulation } from '../../reference/substrate/sim.js';
import { TransactionCoordinator } from '../../reference/broker/transactions.js';

const TOPIC: TopicSettings = { name: 'orders', partitions: 1, replication: 3, minInsync: 2, uncleanElection: false };

interface Rig {
  readonly sim: Simulation;
  readonly cluster: Cluster;
  readonly info: string[];
  readonly producer: (ack: AckMode, index: number) => ReferenceProducer;
}

function rig(seed: number): Rig {
  const sim = new Simulation(seed);
  const info: string[] = [];
  const report = (source: string, message: string): void => void info.push(`${source}: ${message}`);
  const cluster = new Cluster(sim, { brokers: 3, topic: TOPIC, info: report });
  const coordinator = new TransactionCoordinator(cluster);
  const producer = (ack: AckMode, index: number): ReferenceProducer =>
    new ReferenceProducer(cluster, coordinator, { index, topic: 'input', ack, retries: 10, idempotent: false }, report);
  return { sim, cluster, info, producer };
}

function message(id: string, seq: number): MessageRef {
  return { id, producer: 0, seq, key: 'key' };
}

function leaderOf(cluster: Cluster): number {
  const leader = cluster.partition(0).leader;
  if (leader === null) throw new Error('partition 0 has no leader');
  return leader;
}

/** What a consumer or the drain can read: the leader's log below its high watermark. */
function readable(cluster: Cluster): string[] {
  const leader = cluster.replica(leaderOf(cluster), 0);
  return leader.log.slice(0, leader.hw).map((record) => record.id);
}

/**
 * Writes `count` messages named `${prefix}${i}`, one after another, and returns the ones the
 * producer saw acknowledged; a send that failed for good is simply not among them.
 */
async function writeInTurn(send: ReferenceProducer, prefix: string, count: number): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}${i}`;
    await send.send(message(id, i)).then(
      () => void acknowledged.push(id),
      () => undefined,
    );
  }
  return acknowledged;
}

/** What was acknowledged while the leader was cut off: right after the cut, and `cutMs` later. */
interface DuringTheCut {
  readonly oldLeader: number;
  readonly early: string[];
  readonly late: string[];
}

/**
 * Cuts the leader off, writes `count` messages with `ack` at once and `count` more once the cut
 * has lasted `cutMs`, heals, and waits until every replica is back in sync.
 */
async function isolateLeaderWhileWriting(setup: Rig, ack: AckMode, count: number, cutMs: number): Promise<DuringTheCut> {
  const { sim, cluster } = setup;
  await writeInTurn(setup.producer('all', 9), 'before-', 5);
  const oldLeader = leaderOf(cluster);
  cluster.links.cut([[oldLeader], cluster.partition(0).replicas.filter((id) => id !== oldLeader)]);
  const cutAtMs = sim.now;
  const send = setup.producer(ack, 0);
  const early = await writeInTurn(send, 'early-', count);
  if (sim.now - cutAtMs < cutMs) await sim.sleep(cutMs - (sim.now - cutAtMs));
  const late = await writeInTurn(send, 'late-', count);
  cluster.links.heal();
  for (let waitedMs = 0; !cluster.inSync() && waitedMs < 5_000; waitedMs += 10) await sim.sleep(10);
  expect(cluster.inSync()).toBe(true);
  return { oldLeader, early, late };
}

describe('a leader cut off by a network partition', { timeout: 20_000 }, () => {
  it('with ack leader acknowledges writes after the controller deposed it, and truncates them at the heal', async () => {
    const setup = rig(5);
    const { cluster, info } = setup;
    const { oldLeader, early, late } = await isolateLeaderWhileWriting(setup, 'leader', 20, TIMING.brokerSessionTimeoutMs * 2);
    // Every write was acknowledged, by the leader alone: the producer never heard otherwise, not
    // even after the controller had fenced that leader and elected another.
    expect(early).toHaveLength(20);
    expect(late).toHaveLength(20);
    const fencedAt = info.indexOf(`controller: fenced broker ${oldLeader}`);
    expect(fencedAt).toBeGreaterThanOrEqual(0);
    expect(info.some((line) => line.startsWith('controller: partition 0: broker ') && line.includes('leads epoch 1'))).toBe(true);
    expect(info).toContain(`broker-${oldLeader}: partition 0: heard that epoch 1 is led by broker ${leaderOf(cluster)}; it stops leading epoch 0`);
    expect(info.some((line) => line.startsWith(`broker-${oldLeader}: partition 0: truncated `))).toBe(true);
    expect(leaderOf(cluster)).not.toBe(oldLeader);
    // What the old leader acknowledged alone is gone from every replica.
    const stored = new Set(readable(cluster));
    expect([...early, ...late].filter((id) => stored.has(id))).toEqual([]);
    for (const id of cluster.partition(0).replicas) expect(cluster.replica(id, 0).log.map((record) => record.id)).not.toContain('late-0');
    expect(stored.has('before-4')).toBe(true);
    setup.sim.close();
  });

  it('with ack leader loses nothing when the cut heals before the controller acts: it leads on with what it kept', async () => {
    const setup = rig(5);
    const { cluster, info } = setup;
    const cutMs = TIMING.brokerSessionTimeoutMs / 3;
    const { oldLeader, early, late } = await isolateLeaderWhileWriting(setup, 'leader', 5, cutMs);
    const acknowledged = [...early, ...late];
    expect(acknowledged).toHaveLength(10);
    expect(leaderOf(cluster)).toBe(oldLeader);
    expect(cluster.partition(0).epoch).toBe(0);
    expect(info.filter((line) => line.includes('fenced') || line.includes('truncated'))).toEqual([]);
    const stored = new Set(readable(cluster));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    setup.sim.close();
  });

  it('with ack all and minInsync 2 acknowledges nothing, cannot shrink its ISR, and loses no acknowledged write', async () => {
    const setup = rig(6);
    const { sim, cluster, info } = setup;
    await writeInTurn(setup.producer('all', 9), 'before-', 5);
    const oldLeader = leaderOf(cluster);
    const followers = cluster.partition(0).replicas.filter((id) => id !== oldLeader);
    cluster.links.cut([[oldLeader], followers]);
    // A write sent to the cut-off leader before the controller noticed: the leader stores it, and
    // never answers, since its high watermark cannot pass it.
    const stuck = cluster.replica(oldLeader, 0);
    const endBefore = stuck.leo;
    const acknowledged = writeInTurn(setup.producer('all', 0), 'during-', 30);
    await sim.sleep(TIMING.replicaLagMaxMs + TIMING.isrCheckIntervalMs * 2);
    expect(stuck.leo).toBeGreaterThan(endBefore);
    expect(stuck.hw).toBe(endBefore);
    expect(cluster.leadershipAt(oldLeader, cluster.partition(0))?.isr).toHaveLength(3);
    expect(info).toContain(`broker-${oldLeader}: partition 0: cannot change the ISR to [${oldLeader}]: the controller is out of reach`);
    // The producer gave up on it and went on with the leader the controller elected.
    const written = await acknowledged;
    expect(written).toHaveLength(30);
    expect(followers).toContain(leaderOf(cluster));
    cluster.links.heal();
    for (let waitedMs = 0; !cluster.inSync() && waitedMs < 5_000; waitedMs += 10) await sim.sleep(10);
    const stored = new Set(readable(cluster));
    expect([...written, 'before-0', 'before-4'].filter((id) => !stored.has(id))).toEqual([]);
    sim.close();
  });

  it('as a minority follower is fenced out of the ISR, and the majority goes on writing with ack all', async () => {
    const setup = rig(7);
    const { sim, cluster, info } = setup;
    const leader = leaderOf(cluster);
    const [cut, kept] = cluster.partition(0).replicas.filter((id) => id !== leader) as [number, number];
    expect(cluster.links.cut([[cut], [leader, kept]])).toBe(`; the controller quorum is with brokers ${[leader, kept].join(', ')}`);
    const written = await writeInTurn(setup.producer('all', 0), 'during-', 20);
    expect(written).toHaveLength(20);
    expect(info).toContain(`controller: fenced broker ${cut}`);
    expect(cluster.partition(0).isr).not.toContain(cut);
    expect(leaderOf(cluster)).toBe(leader);
    cluster.links.heal();
    for (let waitedMs = 0; !cluster.inSync() && waitedMs < 5_000; waitedMs += 10) await sim.sleep(10);
    expect(cluster.partition(0).isr).toContain(cut);
    expect(cluster.replica(cut, 0).log.map((record) => record.id)).toEqual(readable(cluster));
    sim.close();
  });
});

describe('a partition in force', { timeout: 20_000 }, () => {
  it('is replaced by the next: the brokers it cut off hear from the controller again, and the new cut takes its own', async () => {
    const { sim, cluster } = rig(9);
    cluster.links.cut([[0], [1, 2]]);
    expect([0, 1, 2].map((id) => cluster.links.reachesController(id))).toEqual([false, true, true]);
    expect(cluster.network.isCut(cluster.broker(0).endpoint, cluster.broker(1).endpoint)).toBe(true);
    cluster.links.cut([[1], [0, 2]]);
    expect([0, 1, 2].map((id) => cluster.links.reachesController(id))).toEqual([true, false, true]);
    expect([0, 1, 2].map((id) => cluster.broker(id).isolation !== undefined)).toEqual([false, true, false]);
    expect(cluster.network.isCut(cluster.broker(0).endpoint, cluster.broker(2).endpoint)).toBe(false);
    expect(cluster.network.isCut(cluster.broker(0).endpoint, cluster.broker(1).endpoint)).toBe(true);
    cluster.links.heal();
    expect([0, 1, 2].map((id) => cluster.links.reachesController(id))).toEqual([true, true, true]);
    expect(cluster.brokers.filter((broker) => broker.isolation !== undefined)).toEqual([]);
    sim.close();
  });
});

describe('the controller without a quorum', { timeout: 20_000 }, () => {
  it('fences nobody and elects nobody while no side holds a majority, and decides at the heal', async () => {
    const setup = rig(8);
    const { sim, cluster, info } = setup;
    const leader = leaderOf(cluster);
    const follower = cluster.partition(0).replicas.find((id) => id !== leader) as number;
    expect(cluster.links.cut([[0], [1], [2]])).toBe('; no side holds a majority of the controller quorum, so no side can elect a leader');
    cluster.crash(follower);
    const written = await writeInTurn(setup.producer('leader', 0), 'during-', 10);
    await sim.sleep(TIMING.brokerSessionTimeoutMs * 2);
    // The leader acknowledged with ack leader; the crashed follower was not fenced, for want of a quorum.
    expect(written).toHaveLength(10);
    expect(info.filter((line) => line.includes('fenced'))).toEqual([]);
    expect(cluster.partition(0).epoch).toBe(0);
    cluster.links.heal();
    expect(info).toContain(`controller: fenced broker ${follower}`);
    // No new epoch came, so the leader leads on and what it acknowledged stays.
    expect(leaderOf(cluster)).toBe(leader);
    cluster.restart(follower);
    for (let waitedMs = 0; !cluster.inSync() && waitedMs < 5_000; waitedMs += 10) await sim.sleep(10);
    const stored = new Set(readable(cluster));
    expect(written.filter((id) => !stored.has(id))).toEqual([]);
    sim.close();
  });
});

describe('partition targets through the reference adapter', { timeout: 20_000 }, () => {
  async function partitionOnce(seed: number, target: 'isolate-leader' | 'majority-minority'): Promise<string> {
    const session = await referenceAdapter.open({ seed, brokers: 3, topic: TOPIC, defects: [], info: () => undefined });
    if (session.nodes === undefined) throw new Error('the reference broker controls its nodes');
    const faults = new FaultDriver(session.nodes, () => undefined);
    const result = await faults.inject({ do: 'partition', target, partition: 0, count: 0 });
    await session.close();
    return result;
  }

  it('draws the same minority for the same seed, and over seeds each broker is drawn', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, seed) => partitionOnce(seed + 1, 'majority-minority')));
    expect(await partitionOnce(1, 'majority-minority')).toBe(results[0]);
    const minorities = new Set(results.map((result) => /^partitioned brokers \[(\d)\] \| \[\d, \d\]/.exec(result)?.[1]));
    expect([...minorities].sort()).toEqual(['0', '1', '2']);
    expect(results[0]).toMatch(/^partitioned brokers \[(\d)\] \| \[\d, \d\] \(the minority drawn at random\); the controller quorum is with brokers \d, \d$/);
  });

  it('isolates the leader the controller names', async () => {
    const session = await referenceAdapter.open({ seed: 3, brokers: 3, topic: TOPIC, defects: [], info: () => undefined });
    if (session.nodes === undefined) throw new Error('the reference broker controls its nodes');
    const seen = await session.nodes.observe(0, true);
    const leader = seen.shard?.leader;
    const faults = new FaultDriver(session.nodes, () => undefined);
    const others = [0, 1, 2].filter((id) => id !== leader).join(', ');
    expect(await faults.inject({ do: 'partition', target: 'isolate-leader', partition: 0, count: 0 })).toBe(
      `partitioned brokers [${leader}] | [${others}] (broker ${leader} leads partition 0); the controller quorum is with brokers ${others}`,
    );
    expect(await faults.healAll()).toEqual(['healed the network partition']);
    await session.close();
  });
});
