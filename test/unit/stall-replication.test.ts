// The stall-replication fault: the reliable way to make the moment a control needs happen. On the
// reference broker the stalled followers stop fetching for a bounded time and stay up, registered
// and in the ISR, so an ack leader write acknowledged meanwhile exists on the leader alone, and a
// leader crash then loses it every time. Also the loader's checks of the fault's fields.

import { describe, expect, it } from 'vitest';
import type { TopicSettings } from '../../adapters/contract.js';
import { FaultDriver } from '../../harness/conformance/faults.js';
import { loadScenarioText } from '../../harness/conformance/loader.js';
import { referenceAdapter } from '../../reference/adapter.js';
import { ReferenceProducer } from '../../reference/clients.js';
import { Cluster, TIMING } from '../../reference/broker/cluster.js';
import { Simulation } from '../../reference/substrate/sim.js';
import { TransactionCoordinator } from '../../reference/broker/transactions.js';
import type { MessageRef } from '../../spec/history.js';

const TOPIC: TopicSettings = { name: 'orders', partitions: 1, replication: 3, minInsync: 1, uncleanElection: false };

function rig(seed: number): { sim: Simulation; cluster: Cluster; send: ReferenceProducer; info: string[] } {
  const sim = new Simulation(seed);
  const info: string[] = [];
  const report = (source: string, message: string): void => {
    info.push(`${source}: ${message}`);
  };
  const cluster = new Cluster(sim, { brokers: 3, topic: TOPIC, info: report });
  const send = new ReferenceProducer(
    cluster,
    new TransactionCoordinator(cluster),
    { index: 0, topic: 'input', ack: 'leader', retries: 0, idempotent: false },
    report,
  );
  return { sim, cluster, send, info };
}

function message(seq: number): MessageRef {
  return { id: `m${seq}`, producer: 0, seq, key: 'key' };
}

function followersOf(cluster: Cluster): number[] {
  const part = cluster.partition(0);
  return part.replicas.filter((replica) => replica !== part.leader);
}

/** Sends `count` ack leader writes one after another, a millisecond apart. */
async function write(setup: ReturnType<typeof rig>, from: number, count: number): Promise<void> {
  for (let seq = from; seq < from + count; seq++) {
    await setup.send.send(message(seq));
    await setup.sim.sleep(1);
  }
}

describe('stall-replication on the reference broker', { timeout: 10_000 }, () => {
  it('stops the followers fetching for the duration while they stay in the ISR, then they catch up by themselves', async () => {
    const setup = rig(3);
    const { sim, cluster } = setup;
    await write(setup, 0, 5);
    await sim.sleep(10);
    const followers = followersOf(cluster);
    for (const id of followers) expect(cluster.replica(id, 0).leo).toBe(5);
    const stalledAt = sim.now;
    for (const id of followers) cluster.stallReplication(id, 150);
    await write(setup, 5, 40);
    expect(sim.now - stalledAt).toBeLessThan(150);
    for (const id of followers) expect(cluster.replica(id, 0).leo).toBe(5);
    expect(cluster.partition(0).isr).toHaveLength(3);
    expect(cluster.replica(cluster.partition(0).leader ?? -1, 0).leo).toBe(45);

    await sim.sleep(150 - (sim.now - stalledAt) + 10);
    for (const id of followers) expect(cluster.replica(id, 0).leo).toBe(45);
    expect(cluster.partition(0).isr).toHaveLength(3);
    expect(setup.info.filter((line) => line.endsWith('replication resumed after the stall'))).toHaveLength(2);
    sim.close();
  });

  it('lets the followers keep up without the stall, so the stall is what holds them back', async () => {
    const setup = rig(3);
    await write(setup, 0, 45);
    await setup.sim.sleep(5);
    for (const id of followersOf(setup.cluster)) expect(setup.cluster.replica(id, 0).leo).toBeGreaterThanOrEqual(43);
    setup.sim.close();
  });

  it('keeps a follower in the ISR through a stall of the longest allowed duration', async () => {
    const setup = rig(4);
    const { sim, cluster, info } = setup;
    await write(setup, 0, 5);
    for (const id of followersOf(cluster)) cluster.stallReplication(id, TIMING.stallMaxMs);
    const until = sim.now + TIMING.stallMaxMs + 20;
    for (let seq = 5; sim.now < until; seq++) await write(setup, seq, 1);
    expect(cluster.partition(0).isr).toHaveLength(3);
    expect(info.some((line) => line.includes('ISR shrank'))).toBe(false);
    sim.close();
  });

  it('makes an ack leader write acknowledged during the stall lost when the leader crashes', async () => {
    const setup = rig(5);
    const { sim, cluster } = setup;
    await write(setup, 0, 5);
    await sim.sleep(10);
    const leader = cluster.partition(0).leader ?? -1;
    for (const id of followersOf(cluster)) cluster.stallReplication(id, TIMING.stallMaxMs);
    await write(setup, 5, 10);
    cluster.crash(leader);
    await sim.sleep(TIMING.brokerSessionTimeoutMs + TIMING.stallMaxMs);
    cluster.restart(leader);
    await sim.sleep(300);
    expect(cluster.inSync()).toBe(true);
    const newLeader = cluster.partition(0).leader ?? -1;
    expect(newLeader).not.toBe(leader);
    expect(cluster.replica(newLeader, 0).log.map((record) => record.id)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    sim.close();
  });
});

describe('the stall-replication fault through the adapter', { timeout: 10_000 }, () => {
  async function open(): Promise<{ session: Awaited<ReturnType<typeof referenceAdapter.open>>; info: string[]; faults: FaultDriver }> {
    const info: string[] = [];
    const record = (source: string, text: string): void => void info.push(`${source}: ${text}`);
    const session = await referenceAdapter.open({ seed: 9, brokers: 3, topic: TOPIC, defects: [], info: record });
    if (session.nodes === undefined) throw new Error('the reference broker controls its nodes');
    return { session, info, faults: new FaultDriver(session.nodes, record) };
  }

  it('stalls every follower for the safe bound, records the partition before it, and says what it did', async () => {
    const { session, info, faults } = await open();
    const result = await faults.inject({ do: 'stall-replication', target: 'followers', partition: 0, count: 1 });
    expect(result).toMatch(new RegExp(`^stalled replication to brokers \\d, \\d for ${TIMING.stallMaxMs} ms$`));
    expect(info).toHaveLength(1);
    expect(info[0]).toMatch(
      /^replicas: before stall-replication: partition 0: leader \d \(epoch 0\), ISR \[\d,\d,\d\], high watermark 0, log end offsets: broker \d 0, broker \d 0, broker \d 0$/,
    );
    const later = await faults.inject({ do: 'crash-broker', target: 'leader', partition: 0, count: 1 });
    expect(later).toMatch(/^crashed broker \d/);
    expect(info.at(-1)).toMatch(/broker \d 0 \(stalled\), broker \d 0 \(stalled\)$/);
    await session.close();
  });

  it('caps a longer stall at the safe bound, stalls one follower when asked, and ends stalls at the heal', async () => {
    const { session, faults } = await open();
    const capped = await faults.inject({ do: 'stall-replication', target: 'follower', partition: 0, count: 1, durationMs: 60_000 });
    expect(capped).toBe(
      `stalled replication to broker ${/broker (\d)/.exec(capped)?.[1]} for ${TIMING.stallMaxMs} ms (asked 60000 ms, capped at the safe bound)`,
    );
    const healed = await faults.healAll();
    expect(healed).toEqual([`replication to broker ${/broker (\d)/.exec(capped)?.[1]} resumed`]);
    expect(await faults.healAll()).toEqual([]);
    await session.close();
  });
});

describe('the loader and stall-replication', () => {
  const base = `name: stall
description: The loader's checks of stall-replication.
cluster: { brokers: 3 }
topic: { partitions: 1, replication: 3 }
producer: { ack: leader }
consumer: { commit: after-process }
workload: { messages: 100, keys: 10 }
expect: { lost: witnessed }
faults:
`;

  it('defaults the target to followers, keeps durationMs and requires fault.stall-replication', () => {
    const result = loadScenarioText(`${base}  - { at: { acked: 10 }, do: stall-replication, durationMs: 150 }\n`, 'x.yaml');
    expect(result.errors.map((error) => error.format())).toEqual([]);
    expect(result.scenario?.faults[0]).toEqual({ at: { kind: 'acked', value: 10 }, do: 'stall-replication', target: 'followers', partition: 0, count: 1, durationMs: 150 });
    expect(result.scenario?.requires).toContain('fault.stall-replication');
  });

  it('refuses targets that fetch nothing, followers for other faults and durationMs elsewhere, one line each', () => {
    const text =
      base +
      '  - { at: { acked: 10 }, do: stall-replication, target: leader }\n' +
      '  - { at: { acked: 10 }, do: crash-broker, target: followers }\n' +
      '  - { at: { acked: 10 }, do: crash-broker, durationMs: 100 }\n';
    expect(loadScenarioText(text, 'x.yaml').errors.map((error) => error.format())).toEqual([
      'x.yaml:10:57: faults[0].target must be followers, follower or a broker index for stall-replication (got "leader")',
      'x.yaml:11:52: faults[1].target followers is only for stall-replication, not crash-broker',
      'x.yaml:12:44: faults[2].durationMs is only for stall-replication, not crash-broker',
    ]);
    const zero = `${base}  - { at: { acked: 10 }, do: stall-replication, durationMs: 0 }\n`;
    expect(loadScenarioText(zero, 'x.yaml').errors.map((error) => error.format())).toEqual([
      'x.yaml:10:61: faults[0].durationMs must be an integer from 1 to 60000 (got 0)',
    ]);
  });
});
