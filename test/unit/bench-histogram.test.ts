import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HIGHEST_TRACKABLE_US,
  Histogram,
  highestValueAt,
  indexOfValue,
  lowestValueAt,
  percentileRank,
  summarize,
} from '../../bench/histogram.js';
import { Random } from '../../core/random.js';

/** The exact nearest-rank percentile of values already rounded to integers. */
function exactPercentile(sorted: readonly number[], percentile: number): number {
  return sorted[percentileRank(percentile, sorted.length) - 1] as number;
}

const PERCENTILES = [0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100];

function histogramOf(values: readonly number[]): Histogram {
  const histogram = new Histogram();
  for (const value of values) histogram.record(value);
  return histogram;
}

/** Data sets with different shapes, each a list of integer microseconds. */
function dataSets(): Record<string, number[]> {
  const random = new Random(42);
  const count = 20_000;
  return {
    'uniform below 2048 µs (exact range)': Array.from({ length: count }, () => random.int(0, 2047)),
    'uniform up to 10 s': Array.from({ length: count }, () => random.int(0, 10_000_000)),
    'log-uniform from 1 µs to 1 hour': Array.from({ length: count }, () =>
      Math.round(10 ** random.between(0, Math.log10(DEFAULT_HIGHEST_TRACKABLE_US))),
    ),
    'heavy tail: mostly 1 ms, a few 10 s': Array.from({ length: count }, () =>
      random.chance(0.001) ? random.int(5_000_000, 10_000_000) : random.int(900, 1_100),
    ),
    'one value repeated': Array.from({ length: 777 }, () => 123_456),
    'powers of two and their neighbours': [1, 2, 3, 4, 5, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 2 ** 20 - 1, 2 ** 20, 2 ** 20 + 1, 2 ** 31, 3_000_000_001],
  };
}

describe('histogram layout', () => {
  it('gives every value below 2048 µs a count of its own', () => {
    for (let value = 0; value < 2048; value++) {
      const index = indexOfValue(value);
      expect(lowestValueAt(index)).toBe(value);
      expect(highestValueAt(index)).toBe(value);
    }
  });

  it('places each value inside its bucket, with buckets that follow one another without gaps', () => {
    const random = new Random(7);
    const probes = [2047, 2048, 2049, 4095, 4096, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, DEFAULT_HIGHEST_TRACKABLE_US];
    for (let i = 0; i < 5_000; i++) probes.push(random.int(0, DEFAULT_HIGHEST_TRACKABLE_US));
    for (const value of probes) {
      const index = indexOfValue(value);
      expect(lowestValueAt(index), `${value}`).toBeLessThanOrEqual(value);
      expect(highestValueAt(index), `${value}`).toBeGreaterThanOrEqual(value);
      // The next index starts right after this one ends.
      expect(lowestValueAt(index + 1)).toBe(highestValueAt(index) + 1);
    }
  });

  it('keeps 3 significant digits: a bucket is narrower than 1/1024 of the values in it', () => {
    for (let index = 2048; index <= indexOfValue(DEFAULT_HIGHEST_TRACKABLE_US); index += 97) {
      const width = highestValueAt(index) - lowestValueAt(index) + 1;
      expect(width / lowestValueAt(index)).toBeLessThanOrEqual(1 / 1024);
    }
  });
});

describe('percentileRank (nearest rank)', () => {
  it('is the smallest rank at or above p% of the count, and at least 1', () => {
    expect(percentileRank(50, 1000)).toBe(500);
    expect(percentileRank(99.9, 1000)).toBe(999);
    expect(percentileRank(99.99, 1000)).toBe(1000);
    expect(percentileRank(100, 1000)).toBe(1000);
    expect(percentileRank(0, 1000)).toBe(1);
    expect(percentileRank(50, 1)).toBe(1);
    expect(percentileRank(50, 3)).toBe(2);
    expect(percentileRank(90, 7)).toBe(7);
    expect(percentileRank(99.9, 10_000_000)).toBe(9_990_000);
  });

  it('refuses a percentile outside 0 to 100', () => {
    expect(() => percentileRank(100.5, 10)).toThrow(RangeError);
    expect(() => percentileRank(-1, 10)).toThrow(RangeError);
    expect(() => percentileRank(Number.NaN, 10)).toThrow(RangeError);
  });
});

describe('Histogram percentiles against exact sorted-array percentiles', () => {
  for (const [name, values] of Object.entries(dataSets())) {
    it(`${name}: each percentile is the exact one's bucket top, capped at the max`, () => {
      const histogram = histogramOf(values);
      const sorted = [...values].sort((a, b) => a - b);
      const max = sorted.at(-1) as number;
      for (const percentile of PERCENTILES) {
        const exact = exactPercentile(sorted, percentile);
        const got = histogram.percentileUs(percentile);
        expect(got, `p${percentile}`).toBe(Math.min(highestValueAt(indexOfValue(exact)), max));
        expect(got).toBeGreaterThanOrEqual(exact);
        expect(got - exact).toBeLessThanOrEqual(Math.max(0, exact / 1024));
      }
      expect(histogram.count).toBe(values.length);
      expect(histogram.minUs).toBe(sorted[0]);
      expect(histogram.maxUs).toBe(max);
      expect(histogram.percentileUs(100)).toBe(max);
      expect(histogram.meanUs).toBeCloseTo(values.reduce((sum, value) => sum + value, 0) / values.length, 6);
    });
  }

  it('is exact below 2048 µs', () => {
    const values = dataSets()['uniform below 2048 µs (exact range)'] as number[];
    const histogram = histogramOf(values);
    const sorted = [...values].sort((a, b) => a - b);
    for (const percentile of PERCENTILES) expect(histogram.percentileUs(percentile)).toBe(exactPercentile(sorted, percentile));
  });

  it('answers several percentiles in one pass exactly as one at a time', () => {
    const histogram = histogramOf(dataSets()['log-uniform from 1 µs to 1 hour'] as number[]);
    expect(histogram.percentilesUs(PERCENTILES)).toEqual(PERCENTILES.map((percentile) => histogram.percentileUs(percentile)));
    expect(() => histogram.percentilesUs([99, 50])).toThrow(RangeError);
  });

  it('rounds to whole microseconds, counts a negative value as 0, and refuses what is not a number', () => {
    const histogram = new Histogram();
    histogram.record(1.4);
    histogram.record(1.6);
    histogram.record(-3);
    expect(histogram.percentilesUs([0, 50, 100])).toEqual([0, 1, 2]);
    expect(() => histogram.record(Number.NaN)).toThrow(RangeError);
    expect(() => histogram.record(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('records a value many times at once as if recorded one by one', () => {
    const once = new Histogram();
    once.record(5_000, 3);
    once.record(70);
    const oneByOne = histogramOf([5_000, 5_000, 5_000, 70]);
    expect(summarize(once)).toEqual(summarize(oneByOne));
  });

  it('records values above the highest trackable one as it, and counts them', () => {
    const histogram = new Histogram(100_000);
    histogram.record(50);
    histogram.record(250_000);
    expect(histogram.saturated).toBe(1);
    expect(histogram.maxUs).toBe(100_000);
    expect(histogram.percentileUs(100)).toBe(100_000);
  });

  it('is empty with count 0 and every figure 0', () => {
    const histogram = new Histogram();
    expect(histogram.percentileUs(99)).toBe(0);
    expect(summarize(histogram)).toEqual({ count: 0, minUs: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 });
  });
});

describe('Histogram.merge', () => {
  it('gives the histogram of all the values together', () => {
    const random = new Random(3);
    const a = Array.from({ length: 5_000 }, () => random.int(0, 50_000));
    const b = Array.from({ length: 3_000 }, () => random.int(10_000, 5_000_000));
    const merged = histogramOf(a);
    merged.merge(histogramOf(b));
    const together = histogramOf([...a, ...b]);
    expect(summarize(merged)).toEqual(summarize(together));
    expect(merged.percentilesUs(PERCENTILES)).toEqual(together.percentilesUs(PERCENTILES));
  });

  it('leaves a histogram unchanged when merging an empty one, and fills an empty one', () => {
    const full = histogramOf([10, 20, 30]);
    const before = summarize(full);
    full.merge(new Histogram());
    expect(summarize(full)).toEqual(before);
    const empty = new Histogram();
    empty.merge(full);
    expect(summarize(empty)).toEqual(before);
  });

  it('refuses histograms of different ranges', () => {
    expect(() => new Histogram(10_000).merge(new Histogram(20_000))).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('reports ordered figures: min ≤ p50 ≤ p90 ≤ p99 ≤ p99.9 ≤ max', () => {
    const summary = summarize(histogramOf(dataSets()['heavy tail: mostly 1 ms, a few 10 s'] as number[]));
    expect(summary.count).toBe(20_000);
    const ordered = [summary.minUs, summary.p50Us, summary.p90Us, summary.p99Us, summary.p999Us, summary.maxUs];
    expect([...ordered].sort((x, y) => x - y)).toEqual(ordered);
    expect(summary.maxUs).toBeGreaterThanOrEqual(5_000_000);
    expect(summary.p99Us).toBeLessThan(1_200);
  });
});
