// The harness-overhead measurement: the bare loop keeps its window and counts what happened, and
// the overhead rows divide the harness's throughput by the bare library's, per declared ack mode,
// or say why an adapter has nothing to compare with.

import { describe, expect, it } from 'vitest';
import { runBareLoop } from '../../adapters/bare-loop.js';
import type { Adapter, BenchExtension, BenchProducer, Producer, Session } from '../../adapters/contract.js';
import { measureOverhead, OVERHEAD } from '../../bench/overhead.js';
import { referenceAdapter } from '../../reference/adapter.js';

describe('the bare loop', () => {
  it('keeps at most its window outstanding and counts completions and errors', async () => {
    let outstanding = 0;
    let most = 0;
    const result = await runBareLoop({ ack: 'all', records: 2_000, window: 7, valueBytes: 10 }, async (index) => {
      outstanding++;
      most = Math.max(most, outstanding);
      await new Promise((resolve) => setImmediate(resolve));
      outstanding--;
      if (index % 10 === 0) throw new Error('refused');
    });
    expect(most).toBe(7);
    expect(result.completed).toBe(1_800);
    expect(result.errors).toBe(200);
    expect(result.elapsedMs).toBeGreaterThan(0);
  });
});

/** A reference producer with sendWith(), for a benchmark extension over the reference broker. */
function benchProducer(producer: Producer): BenchProducer {
  return {
    send: (message) => producer.send(message),
    sendWith(message, callbacks, token) {
      producer.send(message).then(
        (result) => callbacks.sent(result, token),
        (error: unknown) => callbacks.failed(error instanceof Error ? error : new Error(String(error)), token),
      );
    },
    close: () => producer.close(),
    crash: () => producer.crash(),
  };
}

/**
 * The reference broker with a benchmark extension whose bare loop sends through a plain producer
 * of the same broker.
 */
function extended(): Adapter {
  const withBench = (session: Session): Session => {
    const bench: BenchExtension = {
      producer: async (options) => benchProducer(await session.producer(options)),
      transactionalProducer: (options) => session.transactionalProducer(options),
      bareLoop: async (options) => {
        const producer = await session.producer({ index: 1, topic: 'input', ack: options.ack, retries: 0, idempotent: false });
        try {
          return await runBareLoop(options, (index) => producer.send({ id: `b-${index}`, producer: 1, seq: index, key: `k${index % 10}` }));
        } finally {
          await producer.close();
        }
      },
    };
    return new Proxy(session, {
      get(target, property) {
        if (property === 'bench') return bench;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  return {
    name: 'reference-extended',
    description: 'the reference broker with a benchmark extension',
    capabilities: referenceAdapter.capabilities,
    retention: referenceAdapter.retention,
    defects: [],
    open: async (options) => withBench(await referenceAdapter.open(options)),
  };
}

describe('the harness overhead', { timeout: 60_000 }, () => {
  it('gives one row per declared ack mode, the ratio of harness to bare throughput', async () => {
    const rows = await measureOverhead(extended(), { records: 300 });
    if (typeof rows === 'string') throw new Error(rows);
    expect(rows.map((row) => row.ack)).toEqual(['none', 'leader', 'all']);
    for (const row of rows) {
      expect(row.records).toBe(300);
      expect(row.bareMessagesPerSecond).toBeGreaterThan(0);
      expect(row.harnessMessagesPerSecond).toBeGreaterThan(0);
      expect(row.ratio).toBeCloseTo(row.harnessMessagesPerSecond / row.bareMessagesPerSecond, 1);
      expect(row.meetsTarget).toBe(row.ratio >= OVERHEAD.target);
      expect(row.errors).toBe(0);
    }
  });

  it('says so for an adapter without a benchmark extension', async () => {
    expect(await measureOverhead(referenceAdapter, { records: 100 })).toBe('reference has no benchmark extension');
  });
});
