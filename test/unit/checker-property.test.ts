// The checker against its plain reference implementation (checker-reference.ts) on randomised
// histories from a seeded generator (random-history.ts): the same counts, the same witnesses in the same order. The
// histories are messy on purpose (resends, acks before sends, phantoms, conflicting reads, aborted
// and output drains, sends out of `seq` order, ids and places the dense tables cannot hold), and
// some have more messages than the checker expects from their length, so that its tables grow,
// and enough anomalies to overflow MAX_WITNESSES. A failing seed is
// named in the test's message, so it can be replayed alone.

import { describe, expect, it } from 'vitest';
import { check, type CheckResult } from '../../harness/conformance/checker.js';
import { Random } from '../../core/random.js';
import type { HistoryEvent, HistoryEventInput } from '../../spec/history.js';
import { MAX_WITNESSES } from '../../spec/result.js';
import { ANOMALIES, type Anomaly } from '../../spec/vocabulary.js';
import { referenceCheck } from './checker-reference.js';
import { ODD_NUMBERS, randomHistory } from './random-history.js';

function totals(results: readonly CheckResult[]): Record<Anomaly, number> {
  const sums = Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, 0])) as Record<Anomaly, number>;
  for (const result of results) for (const anomaly of ANOMALIES) sums[anomaly] += result.anomalies[anomaly].count;
  return sums;
}

describe('the checker against its reference implementation', () => {
  it('agrees on 400 short randomised histories', () => {
    const results: CheckResult[] = [];
    for (let seed = 1; seed <= 400; seed++) {
      const history = randomHistory(new Random(seed), new Random(seed + 10_000).int(0, 60));
      const result = check(history);
      expect(result, `seed ${seed}`).toStrictEqual(referenceCheck(history));
      results.push(result);
    }
    // The generator must make every anomaly somewhere, or agreeing proves little.
    const sums = totals(results);
    for (const anomaly of ANOMALIES) expect(sums[anomaly], anomaly).toBeGreaterThan(0);
  });

  it('agrees on long histories that grow every table and overflow the witnesses', () => {
    const results: CheckResult[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const history = randomHistory(new Random(seed), 3000);
      const result = check(history);
      expect(result, `seed ${seed}`).toStrictEqual(referenceCheck(history));
      results.push(result);
    }
    const overflowing = ANOMALIES.filter((anomaly) =>
      results.some((result) => result.anomalies[anomaly].count > MAX_WITNESSES),
    );
    expect(overflowing).toEqual(expect.arrayContaining(['lost', 'duplicated', 'reordered', 'phantom', 'inconsistent-offset']));
  });

  it('agrees when one process checks long and short histories in turn, reusing the tables', () => {
    // A check takes its tables from the previous check's (core/dense.ts ColumnPool), so a
    // table left dirty by a long, anomalous history must read as new to the next one.
    for (let round = 0; round < 6; round++) {
      const seed = 500 + round;
      const length = round % 2 === 0 ? 3000 : new Random(seed).int(0, 40);
      const history = randomHistory(new Random(seed), length);
      expect(check(history), `seed ${seed}, ${length} messages`).toStrictEqual(referenceCheck(history));
    }
  });

  it('agrees where partitions and offsets are odd numbers: -0, fractions, beyond 2^31', () => {
    // -0 first, so that its places are among the witnesses kept.
    const numbers = [-0, ...ODD_NUMBERS.filter((value) => !Object.is(value, -0)), 3];
    const places = numbers.flatMap((partition) => numbers.map((offset) => ({ partition, offset })));
    const history = places.flatMap(({ partition, offset }, index): HistoryEventInput[] => [
      { type: 'send', id: `p0-${index}`, producer: 0, seq: index, key: 'k' },
      { type: 'ack', producer: 0, id: `p0-${index}`, partition, offset },
      { type: 'poll', consumer: 0, records: [{ id: `p1-${index}`, partition, offset }] },
      { type: 'drain', id: `p0-${index}`, partition, offset },
    ]);
    const numbered = history.map((event, index): HistoryEvent => ({ ...event, i: index + 1, t: index } as HistoryEvent));
    const result = check(numbered);
    expect(result).toStrictEqual(referenceCheck(numbered));
    const [first] = result.anomalies['inconsistent-offset'].witnesses;
    expect(first?.offsets).toStrictEqual([-0]);
  });
});
