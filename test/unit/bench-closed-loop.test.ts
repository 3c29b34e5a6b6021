// The closed loop of `--compare-kafka-perf` against a producer of our own that acknowledges at
// once: every message sent once, in order, within the window, and, held to a rate, never ahead
// of its time. No broker and no timing of the machine is asserted, only lower bounds the loop
// itself must keep.

import { describe, expect, it } from 'vitest';
import type { Producer, SendCallbacks, SendResult } from '../../adapters/contract.js';
import type { MessageRef } from '../../spec/history.js';
import { runClosedLoop } from '../../bench/closed-loop.js';

/** A producer that stores each message at the next offset of partition 0 on the next turn. */
class InstantProducer implements Producer {
  readonly sent: MessageRef[] = [];
  readonly calledMs: number[] = [];
  maxOutstanding = 0;
  private outstanding = 0;

  send(message: MessageRef): Promise<SendResult> {
    this.calledMs.push(performance.now());
    this.sent.push(message);
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    const offset = this.sent.length - 1;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.outstanding--;
        resolve({ partition: 0, offset });
      }),
    );
  }

  async close(): Promise<void> {}

  async crash(): Promise<void> {}
}

/**
 * The same producer with sendWith(), which the loop prefers; every third send fails, and the
 * outcomes of each turn come back in reverse order.
 */
class CallbackProducer extends InstantProducer {
  private turn: (() => void)[] = [];

  sendWith(message: MessageRef, callbacks: SendCallbacks, token: number): void {
    this.calledMs.push(performance.now());
    this.sent.push(message);
    const offset = this.sent.length - 1;
    if (this.turn.length === 0) {
      setImmediate(() => {
        const outcomes = this.turn.reverse();
        this.turn = [];
        for (const outcome of outcomes) outcome();
      });
    }
    this.turn.push(() => (offset % 3 === 2 ? callbacks.failed(new Error(`no room for ${message.id}`), token) : callbacks.sent({ partition: 1, offset }, token)));
  }
}

describe('runClosedLoop', () => {
  it("uses a producer's sendWith(), and counts its outcomes in any order, failures included", async () => {
    const fake = new CallbackProducer();
    const result = await runClosedLoop(fake, { records: 3000, window: 100, keys: 5, seed: 1, sendTimeoutMs: 5_000 });
    expect(fake.sent.map((message) => message.id)).toEqual(Array.from({ length: 3000 }, (_, seq) => `p0-${seq}`));
    expect(new Set(fake.sent.map((message) => message.key))).toEqual(new Set(['k0', 'k1', 'k2', 'k3', 'k4']));
    expect(result).toMatchObject({ sent: 3000, completed: 2000, withOffset: 2000, distinctPlaces: 2000, errors: 1000 });
    // The first failure to arrive, which is not the first failed send.
    expect(Number(/^no room for p0-(\d+)$/.exec(result.firstError ?? '')?.[1]) % 3).toBe(2);
    expect(result.latencyUs.max).toBeGreaterThanOrEqual(result.latencyUs.p50);
  });

  it('sends every message once, in order, and never more than the window at a time', async () => {
    const fake = new InstantProducer();
    const result = await runClosedLoop(fake, { records: 2000, window: 64, keys: 5, seed: 1, sendTimeoutMs: 5_000 });
    expect(fake.sent.map((message) => message.id)).toEqual(Array.from({ length: 2000 }, (_, seq) => `p0-${seq}`));
    expect(fake.maxOutstanding).toBeLessThanOrEqual(64);
    expect(result).toMatchObject({ sent: 2000, completed: 2000, withOffset: 2000, distinctPlaces: 2000, errors: 0 });
    expect(result.latencyUs.max).toBeGreaterThanOrEqual(result.latencyUs.p50);
  });

  it('held to a rate, sends no message before its time', async () => {
    const fake = new InstantProducer();
    const ratePerSecond = 2000;
    const records = 300;
    const startMs = performance.now();
    const result = await runClosedLoop(fake, { records, window: 1000, keys: 5, seed: 1, sendTimeoutMs: 5_000, ratePerSecond });
    expect(result.completed).toBe(records);
    // Message i is due at start + i / rate; the loop may send it up to one timer tick early.
    const early = fake.calledMs.filter((calledMs, seq) => calledMs < startMs + (seq * 1000) / ratePerSecond - 1.5);
    expect(early).toEqual([]);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(((records - 1) * 1000) / ratePerSecond - 1.5);
  });
});
