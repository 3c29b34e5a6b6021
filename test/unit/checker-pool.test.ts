// The checker lends its typed columns from a pool kept between checks, so one check's result
// must not depend on the checks before it. A pool that lent spares of unequal lengths once left
// a column shorter than the one the room was judged by; after a few similar checks, writes past
// its end were dropped and a check threw "history position 0 is not the send event it recorded"
// (found by a repeated run of one scenario over 30 seeds).

import { describe, expect, it } from 'vitest';
import { check } from '../../harness/conformance/checker.js';
import type { HistoryEvent } from '../../spec/history.js';

interface Shape {
  /** Every this many messages, one is acknowledged and never stored (lost). */
  readonly lostEvery: number;
  /** Every this many stored messages, one is never processed. */
  readonly unprocessedEvery: number;
}

/**
 * `messages` acknowledged sends, most stored and processed. With fewer than four lines per
 * message the checker's first guess of the room it needs is short, so its message columns grow
 * during the check, while its place columns do not: as in a real run's history.
 */
function history(messages: number, shape: Shape): { events: HistoryEvent[]; lost: number; unprocessed: number } {
  const events: HistoryEvent[] = [];
  const add = (event: Record<string, unknown>): void => {
    events.push({ i: events.length + 1, t: events.length, ...event } as unknown as HistoryEvent);
  };
  add({
    type: 'setup',
    scenario: 'pool',
    file: 'pool.yaml',
    adapter: 'reference',
    seed: 1,
    topic: 't',
    partitions: 1,
    ack: 'leader',
    commit: 'after-process',
    isolation: 'read-uncommitted',
    defects: [],
  });
  for (let seq = 0; seq < messages; seq++) {
    add({ type: 'send', id: `p0-${seq}`, producer: 0, seq, key: `k${seq % 7}` });
    add({ type: 'ack', producer: 0, id: `p0-${seq}`, partition: 0, offset: seq });
  }
  const stored: (readonly [number, number])[] = [];
  for (let seq = 0; seq < messages; seq++) if (seq % shape.lostEvery !== shape.lostEvery - 1) stored.push([seq, stored.length]);
  let unprocessed = 0;
  for (const [seq, offset] of stored) {
    if (seq % shape.unprocessedEvery === 0) unprocessed++;
    else add({ type: 'process', consumer: 0, id: `p0-${seq}`, partition: 0, offset });
  }
  for (const [seq, offset] of stored) add({ type: 'drain', id: `p0-${seq}`, partition: 0, offset });
  return { events, lost: messages - stored.length, unprocessed };
}

describe('the checker between checks', () => {
  it('gives every history the same result whatever was checked before it', () => {
    const shapes: Shape[] = [
      { lostEvery: 20, unprocessedEvery: 1_000_000 },
      { lostEvery: 25, unprocessedEvery: 40 },
      { lostEvery: 10, unprocessedEvery: 1_000_000 },
      { lostEvery: 30, unprocessedEvery: 15 },
    ];
    for (const shape of shapes) {
      for (const messages of [3000, 2990, 3010, 2996, 3004, 2992, 3008, 2998, 3002, 3000, 2985, 3015]) {
        const { events, lost, unprocessed } = history(messages, shape);
        const result = check(events);
        expect(result.counts).toEqual({
          sent: messages,
          acknowledged: messages,
          stored: messages - lost,
          delivered: 0,
          processed: messages - lost - unprocessed,
        });
        expect(result.anomalies.lost.count).toBe(lost);
        expect(result.anomalies.unprocessed.count).toBe(unprocessed);
        expect(result.anomalies.reordered.count).toBe(0);
      }
    }
  });
});
