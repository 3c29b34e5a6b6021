// Unit tests of the reference broker's network: every connection keeps the order of its
// messages in each direction, as TCP does, while the latency of each message still varies.
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

describe('five sends in flight without retries or faults', { timeout: 60_000 }, () => {
  it('store no key out of send order at seeds 1 to 10', async () => {
    expect(await reorderedAtSeeds(IN_FLIGHT_SCENARIO, 1, 10)).toEqual(Array.from({ length: 10 }, () => 0));
  });
});
