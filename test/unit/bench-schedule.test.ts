import { describe, expect, it } from 'vitest';
import { InFlightLimit } from '../../bench/in-flight.js';
import {
  ceilDiv,
  indexOf,
  intendedTimeMs,
  inWindow,
  messageCount,
  producerOf,
  scheduleWindow,
} from '../../bench/schedule.js';

describe('ceilDiv', () => {
  it('is the exact ceiling, also where a float quotient would round', () => {
    expect(ceilDiv(0, 7)).toBe(0);
    expect(ceilDiv(1, 7)).toBe(1);
    expect(ceilDiv(14, 7)).toBe(2);
    expect(ceilDiv(15, 7)).toBe(3);
    expect(ceilDiv(2 ** 52 + 1, 2)).toBe(2 ** 51 + 1);
    expect(ceilDiv(999_999_999_999_999, 1000)).toBe(1_000_000_000_000);
  });
});

describe('the open-loop schedule', () => {
  it('sends one message every 1000 / rate ms, the first at once, none at the end of the time', () => {
    expect(messageCount(1000, 1000)).toBe(1000);
    expect(messageCount(2000, 1200)).toBe(2400);
    expect(messageCount(3, 1000)).toBe(3);
    expect(messageCount(1, 500)).toBe(1);
    expect(messageCount(7, 1)).toBe(1);
    expect(messageCount(24_000, 400)).toBe(9600);
    expect(intendedTimeMs(10, 0, 2000)).toBe(10);
    expect(intendedTimeMs(10, 3, 2000)).toBe(11.5);
    expect(intendedTimeMs(0, 1, 3)).toBeCloseTo(333.333, 3);
  });

  it('splits a step into warm-up and measured messages', () => {
    expect(scheduleWindow(2000, 200, 1000)).toEqual({ total: 2400, firstMeasured: 400, endMeasured: 2400, measured: 2000 });
    expect(scheduleWindow(500, 0, 1000)).toEqual({ total: 500, firstMeasured: 0, endMeasured: 500, measured: 500 });
    // One message per 333.3 ms: intended at 0, 333.3, 666.7, 1000 (warm-up ends), 1333.3, 1666.7.
    expect(scheduleWindow(3, 1000, 1000)).toEqual({ total: 6, firstMeasured: 3, endMeasured: 6, measured: 3 });
  });

  it('measures exactly the messages whose intended time lies in the window', () => {
    for (const rate of [1, 3, 7, 333, 1001, 2000, 24_000]) {
      for (const [warmupMs, durationMs] of [
        [0, 1000],
        [100, 300],
        [333, 667],
        [1, 1],
      ] as const) {
        const window = scheduleWindow(rate, warmupMs, durationMs);
        const startMs = 0;
        let measured = 0;
        for (let index = 0; index < window.total; index++) {
          const intended = intendedTimeMs(startMs, index, rate);
          const isMeasured = index >= window.firstMeasured && index < window.endMeasured;
          expect(inWindow(intended, startMs, warmupMs, durationMs), `rate ${rate} index ${index}`).toBe(isMeasured);
          expect(intended).toBeLessThan(warmupMs + durationMs);
          if (isMeasured) measured++;
        }
        expect(measured).toBe(window.measured);
        // The message after the last one would leave at or after the end.
        expect(intendedTimeMs(startMs, window.total, rate)).toBeGreaterThanOrEqual(warmupMs + durationMs);
      }
    }
  });

  it('hands messages to producers round robin, each with its own sequence', () => {
    const seen = Array.from({ length: 12 }, (_, index) => producerOf(index, 3));
    expect(seen.slice(0, 4)).toEqual([
      { producer: 0, seq: 0 },
      { producer: 1, seq: 0 },
      { producer: 2, seq: 0 },
      { producer: 0, seq: 1 },
    ]);
    seen.forEach(({ producer, seq }, index) => expect(indexOf(producer, seq, 3)).toBe(index));
  });
});

describe('InFlightLimit', () => {
  it('lets at most `limit` holders in, and wakes waiters in order as holders leave', async () => {
    const limit = new InFlightLimit(2);
    await limit.acquire();
    await limit.acquire();
    expect(limit.full).toBe(true);
    const order: number[] = [];
    const third = limit.acquire().then(() => order.push(3));
    const fourth = limit.acquire().then(() => order.push(4));
    await Promise.resolve();
    expect(order).toEqual([]);
    limit.release();
    await third;
    expect(order).toEqual([3]);
    limit.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(limit.full).toBe(true);
  });
});

describe('InFlightLimit.tryAcquire', () => {
  it('takes a free place at once, and none while the limit is reached or a waiter is ahead', async () => {
    const limit = new InFlightLimit(2);
    expect(limit.tryAcquire()).toBe(true);
    expect(limit.tryAcquire()).toBe(true);
    expect(limit.tryAcquire()).toBe(false);
    const waiter = limit.acquire();
    limit.release();
    // The released place belongs to the waiter, which has not run yet.
    expect(limit.tryAcquire()).toBe(false);
    await waiter;
    expect(limit.full).toBe(true);
    limit.release();
    expect(limit.tryAcquire()).toBe(true);
  });
});
