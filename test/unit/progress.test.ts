// The rule that makes a run that did too little inconclusive: each threshold on both sides, the
// defaults, and how it weighs against the claims.

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MINIMUM_PERCENT,
  defaultMinimum,
  neededMessages,
  progressShortfall,
  progressVerdict,
} from '../../harness/conformance/progress.js';
import type { AnomalyVerdict, Counts } from '../../spec/result.js';
import type { Minimum } from '../../spec/scenario.js';
import { MESSAGE_COUNTS, type Anomaly, type Expectation } from '../../spec/vocabulary.js';

const ALL: Counts = { sent: 2000, acknowledged: 2000, stored: 2000, delivered: 2000, processed: 2000 };
const NOTHING: Counts = { sent: 2000, acknowledged: 0, stored: 0, delivered: 0, processed: 0 };

function verdict(expect: Expectation, count: number): AnomalyVerdict {
  const held = expect === 'none' ? count === 0 : expect === 'witnessed' ? count > 0 : true;
  return { expect, count, held, witnesses: [] };
}

describe('neededMessages', () => {
  it('takes a count as it is and rounds a share up to whole messages', () => {
    expect(neededMessages({ count: 7 }, 2000)).toBe(7);
    expect(neededMessages({ percent: 50 }, 2000)).toBe(1000);
    expect(neededMessages({ percent: 50 }, 3)).toBe(2);
    expect(neededMessages({ percent: 33.3 }, 1000)).toBe(333);
    // 1.1 × 3000 / 100 is 33.00000000000001 in binary floating point; it still asks for 33.
    expect(neededMessages({ percent: 1.1 }, 3000)).toBe(33);
    expect(neededMessages({ percent: 0 }, 1000)).toBe(0);
    expect(neededMessages({ percent: 100 }, 1000)).toBe(1000);
  });
});

describe('progressShortfall', () => {
  it('holds every count to its threshold, on both sides of it, as a count or as a share', () => {
    for (const name of MESSAGE_COUNTS) {
      const byCount: Minimum = { [name]: { count: 1200 } };
      const byShare: Minimum = { [name]: { percent: 60 } };
      for (const minimum of [byCount, byShare]) {
        expect(progressShortfall({ ...ALL, [name]: 1200 }, minimum, 2000), name).toBeUndefined();
        expect(progressShortfall({ ...ALL, [name]: 1199 }, minimum, 2000), name).toMatch(
          new RegExp(`^only 1199 of 2000 messages were ${name} \\(at least 1200(, 60%,)? needed\\)$`),
        );
      }
    }
  });

  it('names a share with its percentage and every count short of its threshold, in the order of the counts', () => {
    const minimum: Minimum = { acknowledged: { percent: 50 }, processed: { count: 10 }, sent: { count: 2000 } };
    expect(progressShortfall(NOTHING, minimum, 2000)).toBe(
      'only 0 of 2000 messages were acknowledged (at least 1000, 50%, needed); ' +
        'only 0 of 2000 messages were processed (at least 10 needed)',
    );
  });

  it('asks nothing of a count without a threshold, or with a threshold of 0', () => {
    expect(progressShortfall(NOTHING, {}, 2000)).toBeUndefined();
    expect(progressShortfall(NOTHING, { acknowledged: { count: 0 }, processed: { percent: 0 } }, 2000)).toBeUndefined();
  });

  it('makes the defaults catch a run whose brokers never served, and pass a run that did most of its work', () => {
    for (const ack of ['none', 'leader', 'all'] as const) {
      const minimum = defaultMinimum(ack);
      expect(progressShortfall(NOTHING, minimum, 2000), ack).toBeDefined();
      expect(progressShortfall({ ...ALL, acknowledged: ack === 'none' ? 0 : 1000, stored: 1000, processed: 1000 }, minimum, 2000), ack).toBeUndefined();
      expect(progressShortfall({ ...ALL, acknowledged: ack === 'none' ? 0 : 2000, processed: 999 }, minimum, 2000), ack).toMatch(/processed/);
    }
    // Under ack none nothing is acknowledged, so the default asks for stored messages instead.
    expect(defaultMinimum('none')).toStrictEqual({ stored: { percent: DEFAULT_MINIMUM_PERCENT }, processed: { percent: DEFAULT_MINIMUM_PERCENT } });
    expect(progressShortfall({ ...ALL, acknowledged: 0 }, defaultMinimum('none'), 2000)).toBeUndefined();
    expect(progressShortfall({ ...ALL, stored: 999 }, defaultMinimum('none'), 2000)).toMatch(/^only 999 of 2000 messages were stored/);
    expect(progressShortfall({ ...ALL, acknowledged: 999 }, defaultMinimum('all'), 2000)).toMatch(/acknowledged/);
  });
});

describe('progressVerdict', () => {
  const anomalies = (entries: Partial<Record<Anomaly, AnomalyVerdict>>) => ({
    lost: verdict('none', 0),
    duplicated: verdict('allowed', 3),
    ...entries,
  });
  const short = 'only 0 of 2000 messages were acknowledged (at least 1000, 50%, needed)';

  it('passes or fails on the claims when the run did enough', () => {
    expect(progressVerdict(anomalies({}), undefined)).toStrictEqual({ status: 'passed' });
    expect(progressVerdict(anomalies({ lost: verdict('none', 2) }), undefined)).toStrictEqual({ status: 'failed' });
    expect(progressVerdict(anomalies({ unprocessed: verdict('witnessed', 0) }), undefined)).toStrictEqual({ status: 'failed' });
  });

  it('makes a run that did too little inconclusive, whether its claims held or its control saw nothing', () => {
    expect(progressVerdict(anomalies({}), short)).toStrictEqual({ status: 'inconclusive', reason: short });
    expect(progressVerdict(anomalies({ lost: verdict('witnessed', 0) }), short)).toStrictEqual({
      status: 'inconclusive',
      reason: short,
    });
    expect(progressVerdict(anomalies({ lost: verdict('witnessed', 4) }), short).status).toBe('inconclusive');
  });

  it('fails a run that witnessed a forbidden anomaly however little it did, since a witness is evidence', () => {
    expect(progressVerdict(anomalies({ lost: verdict('none', 1) }), short)).toStrictEqual({ status: 'failed' });
    expect(
      progressVerdict(anomalies({ lost: verdict('none', 1), unprocessed: verdict('witnessed', 0) }), short),
    ).toStrictEqual({ status: 'failed' });
  });
});
