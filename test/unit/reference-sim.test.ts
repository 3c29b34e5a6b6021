// Unit tests of the reference broker's discrete-event simulation, its seeded randomness, and the
// determinism the whole suite rests on: the same seed must give the same run, byte for byte, or
// a failed scenario could not be reproduced from the command it prints.

import { describe, expect, it } from 'vitest';
import type { Session, StoredRecord } from '../../adapters/contract.js';
import { Random } from '../../core/random.js';
import { FaultDriver } from '../../harness/conformance/faults.js';
import { referenceAdapter } from '../../reference/adapter.js';
import { Simulation, SimulationClosed } from '../../reference/substrate/sim.js';

/** Lets Node's event loop turn a few times, so that a simulation pump, if one was due, runs. */
async function realTurns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('Simulation', { timeout: 10_000 }, () => {
  it('runs events in time order, and events due at the same time in the order they were scheduled', async () => {
    const sim = new Simulation(1);
    const ran: string[] = [];
    sim.schedule(5, () => ran.push('a@5'));
    sim.schedule(1, () => ran.push('b@1'));
    sim.schedule(3, () => ran.push('c@3'));
    sim.schedule(3, () => ran.push('d@3'));
    sim.schedule(0, () => ran.push('e@0'));
    sim.schedule(3, () => ran.push('f@3'));
    await sim.sleep(10);
    expect(ran).toEqual(['e@0', 'b@1', 'c@3', 'd@3', 'f@3', 'a@5']);
    expect(sim.now).toBe(10);
    sim.close();
  });

  it('keeps time and schedule order across many events, including ones scheduled by events', async () => {
    // Many events exercise the heap beyond its first few levels, where a sift mistake hides.
    const sim = new Simulation(2);
    const random = new Random(99);
    const ran: Array<{ at: number; order: number; now: number }> = [];
    let order = 0;
    const add = (delay: number): void => {
      const mine = order++;
      const at = sim.now + delay;
      sim.schedule(delay, () => {
        ran.push({ at, order: mine, now: sim.now });
        // Some events schedule more, some at the very same time, as the broker's handlers do.
        if (mine < 300 && random.chance(0.3)) add(random.chance(0.5) ? 0 : random.int(0, 20));
      });
    };
    for (let i = 0; i < 300; i++) add(random.int(0, 50));
    await sim.sleep(1000);
    expect(ran.length).toBe(order);
    for (const event of ran) expect(event.now).toBe(event.at);
    for (let i = 1; i < ran.length; i++) {
      const previous = ran[i - 1]!;
      const current = ran[i]!;
      expect(previous.at < current.at || (previous.at === current.at && previous.order < current.order)).toBe(true);
    }
    sim.close();
  });

  it('lets the reactions to a settled wait run before the next event, even one due at the same time', async () => {
    const sim = new Simulation(3);
    const seen: string[] = [];
    const waiter = sim.wait<void>((resolve) => {
      sim.schedule(1, () => {
        seen.push('settle@1');
        resolve();
      });
    });
    sim.schedule(1, () => seen.push('next@1'));
    sim.schedule(2, () => seen.push('later@2'));
    const reacted = waiter.then(async () => {
      seen.push(`reaction@${sim.now}`);
      // A reaction a few awaits deep still runs before the next event.
      await Promise.resolve();
      await Promise.resolve();
      seen.push(`deep reaction@${sim.now}`);
    });
    await Promise.all([reacted, sim.sleep(3)]);
    expect(seen).toEqual(['settle@1', 'reaction@1', 'deep reaction@1', 'next@1', 'later@2']);
    sim.close();
  });

  it('runs events that settle no wait back to back, not one per turn of the event loop', async () => {
    const sim = new Simulation(4);
    let ran = 0;
    for (let index = 0; index < 2000; index++) sim.schedule(index / 100, () => ran++);
    let turns = 0;
    let counting = true;
    const count = (): void => {
      if (!counting) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    await sim.sleep(25);
    counting = false;
    expect(ran).toBe(2000);
    // One event per turn would take 2000 turns; batches of a few hundred take a handful.
    expect(turns).toBeLessThan(100);
    sim.close();
  });

  it('never runs a cancelled timer', async () => {
    const sim = new Simulation(1);
    const ran: string[] = [];
    const cancelled = sim.schedule(2, () => ran.push('cancelled'));
    sim.schedule(1, () => ran.push('kept@1'));
    sim.schedule(3, () => ran.push('kept@3'));
    cancelled.cancel();
    await sim.sleep(10);
    expect(ran).toEqual(['kept@1', 'kept@3']);
    sim.close();
  });

  it('stands still while nobody waits: scheduled events alone do not advance time', async () => {
    const sim = new Simulation(1);
    let ran = false;
    sim.schedule(5, () => {
      ran = true;
    });
    await realTurns();
    expect(ran).toBe(false);
    expect(sim.now).toBe(0);
    await sim.sleep(6);
    expect(ran).toBe(true);
    sim.close();
  });

  it('rejects every pending wait on close(), with the reason, and every later wait at once', async () => {
    const sim = new Simulation(1);
    let ranAfterClose = false;
    sim.schedule(50, () => {
      ranAfterClose = true;
    });
    const first = sim.sleep(100);
    const second = sim.wait<number>(() => undefined);
    sim.close('the test is over');
    await expect(first).rejects.toBeInstanceOf(SimulationClosed);
    await expect(second).rejects.toThrow('the test is over');
    await expect(sim.sleep(1)).rejects.toThrow('the test is over');
    expect(sim.closed).toBe(true);
    await realTurns();
    expect(ranAfterClose).toBe(false);
  });

  it('rejects a wait that nothing scheduled can settle with a clear message instead of hanging', async () => {
    const sim = new Simulation(1);
    await sim.sleep(7);
    const stuck = sim.wait<void>(() => undefined);
    await expect(stuck).rejects.toBeInstanceOf(SimulationClosed);
    await expect(stuck).rejects.toThrow('the reference broker stalled at 7.000 ms with nothing scheduled');
    // A stall ends the simulation: nothing can be waited for afterwards.
    expect(sim.closed).toBe(true);
  });

  it('stops a runaway simulation after its event budget with a clear message', async () => {
    const sim = new Simulation(1, 100);
    const tick = (): void => {
      sim.schedule(1, tick);
    };
    tick();
    await expect(sim.sleep(1_000)).rejects.toThrow('the reference broker ran more than 100 events');
    expect(sim.now).toBeLessThanOrEqual(101);
  });

  it('ends the simulation with the error when an event throws, rejecting the pending waits', { timeout: 1_000 }, async () => {
    // A bug in the broker model must end the scenario as an error. Thrown out of the pump, it
    // would be an uncaught exception instead: the process dies with exit code 1, which the
    // command line reserves for a violated claim, and the pending waits never settle.
    const sim = new Simulation(1);
    sim.schedule(1, () => {
      throw new Error('the model broke');
    });
    await expect(sim.sleep(5)).rejects.toThrow('the model broke');
    expect(sim.closed).toBe(true);
  });

  it('keeps time still after a wait whose executor threw', async () => {
    // An executor that throws rejects its promise; it must not leave a phantom waiter behind
    // that keeps the pump running events nobody waits for.
    const sim = new Simulation(1);
    const failing = sim.wait<void>(() => {
      throw new Error('the executor failed');
    });
    await expect(failing).rejects.toThrow('the executor failed');
    let ran = false;
    sim.schedule(5, () => {
      ran = true;
    });
    await realTurns();
    expect(ran).toBe(false);
    expect(sim.now).toBe(0);
    sim.close();
  });
});

describe('Random', { timeout: 10_000 }, () => {
  it('gives the same sequence for the same seed', () => {
    const a = new Random(42);
    const b = new Random(42);
    const drawsA = Array.from({ length: 100 }, () => a.uint32());
    const drawsB = Array.from({ length: 100 }, () => b.uint32());
    expect(drawsA).toEqual(drawsB);
  });

  it('gives different sequences for different seeds, even adjacent ones, from the first draw', () => {
    const firstDraws = new Set<number>();
    for (let seed = 0; seed < 200; seed++) firstDraws.add(new Random(seed).uint32());
    expect(firstDraws.size).toBe(200);
    const a = new Random(1);
    const b = new Random(2);
    const drawsA = Array.from({ length: 16 }, () => a.uint32());
    const drawsB = Array.from({ length: 16 }, () => b.uint32());
    expect(drawsA.filter((value, i) => value === drawsB[i])).toEqual([]);
  });

  it('keeps int(min, max) within both bounds, inclusive, and reaches each of them', () => {
    const random = new Random(3);
    for (const [min, max] of [
      [0, 1],
      [3, 7],
      [-5, 5],
      [10, 10],
    ] as const) {
      const draws = Array.from({ length: 2_000 }, () => random.int(min, max));
      expect(draws.every((value) => Number.isInteger(value))).toBe(true);
      expect(Math.min(...draws)).toBe(min);
      expect(Math.max(...draws)).toBe(max);
      expect(new Set(draws).size).toBe(max - min + 1);
    }
  });

  it('keeps next() in [0, 1) and between(min, max) in [min, max)', () => {
    const random = new Random(4);
    const units = Array.from({ length: 5_000 }, () => random.next());
    const latencies = Array.from({ length: 5_000 }, () => random.between(0.2, 1.0));
    expect(Math.min(...units)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...units)).toBeLessThan(1);
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(0.2);
    expect(Math.max(...latencies)).toBeLessThan(1.0);
  });
});

describe('determinism of the reference broker', { timeout: 10_000 }, () => {
  interface RunRecord {
    readonly info: readonly string[];
    readonly drained: readonly StoredRecord[];
    readonly outcomes: readonly string[];
  }

  /**
   * A small scripted run that touches every source of variation: latencies, replica placement,
   * a leader crash and election, resends, a consumer group. Each info line carries the virtual
   * time it was reported at, so two runs only match if their timing matches too.
   */
  async function scriptedRun(seed: number): Promise<RunRecord> {
    const info: string[] = [];
    let session: Session | undefined;
    session = await referenceAdapter.open({
      seed,
      brokers: 3,
      topic: { name: 'orders', partitions: 3, replication: 3, minInsync: 2, uncleanElection: false },
      defects: [],
      info: (source, message) => info.push(`${session?.clock.now().toFixed(6) ?? '?'} ${source}: ${message}`),
    });
    if (session.nodes === undefined) throw new Error('the reference broker controls its nodes');
    const faults = new FaultDriver(session.nodes, (source, message) => info.push(`${session?.clock.now().toFixed(6) ?? '?'} ${source}: ${message}`));
    const producer = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 5, idempotent: false });
    const outcomes: string[] = [];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      sends.push(
        producer.send({ id: `m${i}`, producer: 0, seq: i, key: `key-${i % 7}` }).then(
          (result) => void outcomes.push(`m${i} at ${result.partition}/${result.offset} t=${session?.clock.now().toFixed(6)}`),
          (error: unknown) => void outcomes.push(`m${i} failed: ${String(error)}`),
        ),
      );
      if (i === 10) outcomes.push(await faults.inject({ do: 'crash-broker', target: 'leader', partition: 0, count: 0 }));
      await session.clock.sleep(2);
    }
    await Promise.all(sends);
    outcomes.push(...(await faults.healAll()));
    outcomes.push(`settled ${await session.settle(5_000)}`);
    const consumer = await session.consumer({
      index: 0,
      group: 'g',
      isolation: 'read-uncommitted',
      autoCommit: false,
      maxPollRecords: 100,
    });
    const polled = await consumer.poll(50);
    outcomes.push(`polled ${polled.map((r) => `${r.id}@${r.partition}/${r.offset}`).join(' ')}`);
    await consumer.close();
    const drained = await session.drain();
    await session.close();
    return { info, drained, outcomes };
  }

  it('gives identical info logs, outcomes and drained logs for the same seed', async () => {
    const first = await scriptedRun(7);
    const second = await scriptedRun(7);
    // The run must have done something worth comparing: an election and stored messages.
    expect(first.info.some((line) => line.includes('leads epoch 1'))).toBe(true);
    expect(first.drained.length).toBeGreaterThanOrEqual(30);
    expect(second.info).toEqual(first.info);
    expect(second.outcomes).toEqual(first.outcomes);
    expect(second.drained).toEqual(first.drained);
  });

  it('gives a different info log for a different seed', async () => {
    const seven = await scriptedRun(7);
    const eight = await scriptedRun(8);
    expect(eight.info).not.toEqual(seven.info);
  });
});
