// Unit tests of the reference broker's network: every connection keeps the order of its
// messages in each direction, as TCP does, while the latency of each message still varies; a
// cut link drops its messages, and the links left whole keep their order.
// Without that, one producer's concurrent sends overtake each other with no retry and no fault,
// and a scenario that must keep send order fails for a reason no real client has.

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Cluster, TIMING } from '../../reference/broker/cluster.js';
import { Network } from '../../reference/substrate/network.js';
import { Simulation } from '../../reference/substrate/sim.js';
import { reorderedAtSeeds } from './reference-seeds.js';

const IN_FLIGHT_SCENARIO = fileURLToPath(
  new URL('../fixtures/scenarios/model/in-flight-without-retries-keeps-send-order.yaml', import.meta.url),
);

/** Arrivals of messages on several connections, each message named by its connection and number. */
interface Arrival {
  readonly connection: string;
  readonly number: number;
  readonly atMs: number;
}

describe('Network', { timeout: 10_000 }, () => {
  it('delivers the messages of one connection in the order they were sent, while their latencies vary', async () => {
    const sim = new Simulation(5);
    const network = new Network(sim, () => sim.random.between(TIMING.latencyMinMs, TIMING.latencyMaxMs));
    const [client, broker, other] = [network.endpoint(), network.endpoint(), network.endpoint()];
    const arrivals: Arrival[] = [];
    const sentAtMs = new Map<string, number>();
    let number = 0;
    // Bursts of messages sent at the same instant and a few tenths of a millisecond apart, on
    // three directed connections: the pattern of five sends in flight and their answers.
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 5; i++) {
        for (const [from, to, connection] of [
          [client, broker, 'client>broker'],
          [broker, client, 'broker>client'],
          [other, broker, 'other>broker'],
        ] as const) {
          const mine = number++;
          sentAtMs.set(`${connection}#${mine}`, sim.now);
          network.send(from, to, () => arrivals.push({ connection, number: mine, atMs: sim.now }));
        }
      }
      await sim.sleep(burst % 2 === 0 ? 0 : 0.3);
    }
    await sim.sleep(10);
    expect(arrivals).toHaveLength(40 * 5 * 3);
    for (const connection of ['client>broker', 'broker>client', 'other>broker']) {
      const order = arrivals.filter((arrival) => arrival.connection === connection).map((arrival) => arrival.number);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    // The latency still varies from message to message: FIFO is not one fixed delay.
    const latencies = arrivals.map((arrival) => arrival.atMs - (sentAtMs.get(`${arrival.connection}#${arrival.number}`) ?? 0));
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(TIMING.latencyMinMs);
    expect(Math.max(...latencies)).toBeGreaterThan(Math.min(...latencies) + 0.3);
    // Different connections are independent: a message may overtake one sent earlier on another.
    const overtaken = arrivals.some(
      (later, position) =>
        later.connection === 'other>broker' &&
        arrivals
          .slice(position + 1)
          .some((earlier) => earlier.connection === 'client>broker' && earlier.number < later.number),
    );
    expect(overtaken).toBe(true);
    sim.close();
  });

  it('keeps each connection of the cluster in order both ways: requests a client sends at once, and their answers', async () => {
    const sim = new Simulation(8);
    const cluster = new Cluster(sim, {
      brokers: 3,
      topic: { name: 'orders', partitions: 1, replication: 3, minInsync: 2, uncleanElection: false },
      info: () => undefined,
    });
    const client = cluster.network.endpoint();
    const handled: number[] = [];
    const answered: number[] = [];
    await sim.wait<void>((resolve) => {
      for (let i = 0; i < 50; i++) {
        cluster.deliver(
          client,
          1,
          () => {
            handled.push(i);
            cluster.replyFrom(1, cluster.broker(1).incarnation, client, () => {
              answered.push(i);
              if (answered.length === 50) resolve();
            });
          },
          () => undefined,
        );
      }
    });
    const inOrder = Array.from({ length: 50 }, (_, i) => i);
    expect(handled).toEqual(inOrder);
    expect(answered).toEqual(inOrder);
    sim.close();
  });
});

describe('Network cuts (the partition fault)', { timeout: 10_000 }, () => {
  /** A network whose latency draws are counted, with three endpoints. */
  function counted(seed: number): { sim: Simulation; network: Network; draws: () => number; a: number; b: number; c: number } {
    const sim = new Simulation(seed);
    let draws = 0;
    const network = new Network(sim, () => {
      draws++;
      return sim.random.between(TIMING.latencyMinMs, TIMING.latencyMaxMs);
    });
    return { sim, network, draws: () => draws, a: network.endpoint(), b: network.endpoint(), c: network.endpoint() };
  }

  it('drops what is sent on a cut link both ways, delivers on the links left whole, and delivers again in order after the heal', async () => {
    const { sim, network, draws, a, b, c } = counted(3);
    const arrived: string[] = [];
    const send = (from: number, to: number, label: string): void => {
      network.send(from, to, () => arrived.push(label));
    };
    network.cut([[a, b]]);
    expect([network.isCut(a, b), network.isCut(b, a), network.isCut(a, c), network.isCut(c, b)]).toEqual([true, true, false, false]);
    for (let i = 0; i < 5; i++) {
      send(a, b, `a>b ${i}`);
      send(b, a, `b>a ${i}`);
      send(a, c, `a>c ${i}`);
    }
    await sim.sleep(10);
    expect(arrived).toEqual(['a>c 0', 'a>c 1', 'a>c 2', 'a>c 3', 'a>c 4']);
    // A dropped message draws no latency: only the five that crossed a whole link did.
    expect(draws()).toBe(5);
    network.heal();
    expect(network.isCut(a, b)).toBe(false);
    arrived.length = 0;
    for (let i = 0; i < 20; i++) send(a, b, `${i}`);
    await sim.sleep(10);
    expect(arrived).toEqual(Array.from({ length: 20 }, (_, i) => `${i}`));
    sim.close();
  });

  it('loses a message on its way when its link is cut, even when the link is whole again before it would arrive', async () => {
    const { sim, network, a, b, c } = counted(4);
    const arrived: string[] = [];
    network.send(a, b, () => arrived.push('on its way to b'));
    network.send(a, c, () => arrived.push('on its way to c'));
    network.cut([[a, b]]);
    network.heal();
    network.send(a, b, () => arrived.push('sent after the heal'));
    await sim.sleep(10);
    // Two connections, so their order relative to each other is the latencies'.
    expect(arrived.sort()).toEqual(['on its way to c', 'sent after the heal']);
    sim.close();
  });

  it('drops the same messages at the same instants for the same seed, and a network never cut draws as before', async () => {
    const run = async (seed: number, cutting: boolean): Promise<{ arrivals: string[]; draws: number }> => {
      const { sim, network, draws, a, b, c } = counted(seed);
      const arrivals: string[] = [];
      for (let i = 0; i < 60; i++) {
        if (cutting && i === 20) network.cut([[a, b]]);
        if (cutting && i === 40) network.heal();
        for (const [from, to, label] of [[a, b, 'a>b'], [c, b, 'c>b']] as const) {
          network.send(from, to, () => arrivals.push(`${label} ${i} at ${sim.now.toFixed(3)}`));
        }
        await sim.sleep(0.2);
      }
      await sim.sleep(10);
      sim.close();
      return { arrivals, draws: draws() };
    };
    const once = await run(9, true);
    expect(await run(9, true)).toEqual(once);
    // While a>b was cut nothing crossed it, and a message on its way at the cut was lost too;
    // c>b, never cut, lost nothing.
    const crossed = once.arrivals.filter((line) => line.startsWith('a>b')).map((line) => Number(line.split(' ')[1]));
    expect(crossed.filter((i) => i >= 20 && i < 40)).toEqual([]);
    expect(crossed.filter((i) => i >= 40)).toEqual(Array.from({ length: 20 }, (_, i) => 40 + i));
    expect(crossed.filter((i) => i < 20).length).toBeLessThan(20);
    expect(once.arrivals.filter((line) => line.startsWith('c>b'))).toHaveLength(60);
    const uncut = await run(9, false);
    expect(uncut.arrivals).toHaveLength(120);
    expect(uncut.draws).toBe(120);
  });
});

describe('five sends in flight without retries or faults', { timeout: 60_000 }, () => {
  it('store no key out of send order at seeds 1 to 10', async () => {
    expect(await reorderedAtSeeds(IN_FLIGHT_SCENARIO, 1, 10)).toEqual(Array.from({ length: 10 }, () => 0));
  });
});
