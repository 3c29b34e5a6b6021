// A log-linear latency histogram in the manner of HdrHistogram: integer microseconds, 3
// significant digits, fixed memory, mergeable.
//
// Why our own rather than hdr-histogram-js: that package is a WebAssembly/JavaScript hybrid with
// a large API, while the benchmark needs about eighty lines: record, merge, percentile. Owning
// them also fixes the percentile definition, which the tests check against exact sorted arrays.
//
// Layout (the HdrHistogram one for 3 significant digits): values below 2048 µs each have a
// bucket of their own, so they are exact. Above, bucket b covers [2^(b+10), 2^(b+11)) in 1024
// equal steps of 2^b µs, so a value is known to within 2^b / 2^(b+10) = 1/1024 of itself, better
// than 0.1 %. The counts array index of value v is b × 1024 + ⌊v / 2^b⌋, which runs on without
// gaps from bucket to bucket. Up to one hour (3.6 × 10^9 µs) that is 23 221 counts, 181 KiB.

import type { LatencySummary } from '../spec/bench-result.js';

/** Sub-buckets per half bucket: 2^10 = 1024 ≥ 10^3, which gives 3 significant digits. */
const SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10;
const SUB_BUCKET_HALF_COUNT = 2 ** SUB_BUCKET_HALF_COUNT_MAGNITUDE;
/** Values below this have a count of their own. */
const EXACT_BELOW = 2 * SUB_BUCKET_HALF_COUNT;

/** One hour in microseconds: any latency longer than that is a hung run, not a latency. */
export const DEFAULT_HIGHEST_TRACKABLE_US = 3_600_000_000;

/** The percentiles every summary reports. */
export const REPORTED_PERCENTILES = [50, 90, 99, 99.9] as const;

/** ⌊log2(v)⌋ for an integer v ≥ 1 below 2^53, without the rounding of Math.log2 near powers of two. */
function floorLog2(value: number): number {
  if (value < 2 ** 32) return 31 - Math.clz32(value);
  return 32 + floorLog2(Math.floor(value / 2 ** 32));
}

/** Which power-of-two bucket an integer value falls in; 0 for the exact range. */
function bucketOf(value: number): number {
  return value < EXACT_BELOW ? 0 : floorLog2(value) - SUB_BUCKET_HALF_COUNT_MAGNITUDE;
}

/** The counts index of an integer value. */
export function indexOfValue(value: number): number {
  const bucket = bucketOf(value);
  return bucket * SUB_BUCKET_HALF_COUNT + Math.floor(value / 2 ** bucket);
}

/** The lowest value that falls in a counts index. */
export function lowestValueAt(index: number): number {
  const bucket = Math.max(0, Math.floor(index / SUB_BUCKET_HALF_COUNT) - 1);
  return (index - bucket * SUB_BUCKET_HALF_COUNT) * 2 ** bucket;
}

/** The highest value that falls in a counts index. */
export function highestValueAt(index: number): number {
  const bucket = Math.max(0, Math.floor(index / SUB_BUCKET_HALF_COUNT) - 1);
  return lowestValueAt(index) + 2 ** bucket - 1;
}

/**
 * The 1-based rank of the p-th percentile among `count` sorted values, by the nearest-rank
 * method: the smallest rank r with r ≥ p / 100 × count, and at least 1. `p` is taken to a
 * thousandth (99.999 is the finest), so the arithmetic is exact integer arithmetic.
 */
export function percentileRank(percentile: number, count: number): number {
  if (!(percentile >= 0 && percentile <= 100)) throw new RangeError(`a percentile is from 0 to 100, not ${percentile}`);
  const scaled = Math.round(percentile * 1000);
  const product = scaled * count;
  let rank = Math.floor(product / 100_000);
  while (rank * 100_000 < product) rank++;
  while (rank > 0 && (rank - 1) * 100_000 >= product) rank--;
  return Math.max(1, rank);
}

export class Histogram {
  readonly highestTrackableUs: number;
  private readonly counts: Float64Array;
  private total = 0;
  private sumUs = 0;
  private minValueUs = Number.POSITIVE_INFINITY;
  private maxValueUs = 0;
  /** Values above highestTrackableUs, recorded as highestTrackableUs. */
  private saturatedCount = 0;

  constructor(highestTrackableUs: number = DEFAULT_HIGHEST_TRACKABLE_US) {
    if (!Number.isSafeInteger(highestTrackableUs) || highestTrackableUs < EXACT_BELOW) {
      throw new RangeError(`highestTrackableUs must be an integer of at least ${EXACT_BELOW}`);
    }
    this.highestTrackableUs = highestTrackableUs;
    this.counts = new Float64Array(indexOfValue(highestTrackableUs) + 1);
  }

  get count(): number {
    return this.total;
  }

  /** Values that were above the highest trackable value and recorded as it. */
  get saturated(): number {
    return this.saturatedCount;
  }

  get minUs(): number {
    return this.total === 0 ? 0 : this.minValueUs;
  }

  get maxUs(): number {
    return this.maxValueUs;
  }

  get meanUs(): number {
    return this.total === 0 ? 0 : this.sumUs / this.total;
  }

  /**
   * Records a value in microseconds, rounded to the nearest integer. A negative value (a clock
   * that counts whole milliseconds can put an acknowledgment "before" its send) counts as 0.
   */
  record(valueUs: number, times = 1): void {
    if (!Number.isFinite(valueUs)) throw new RangeError(`cannot record ${valueUs} µs`);
    if (!Number.isSafeInteger(times) || times < 1) throw new RangeError(`cannot record a value ${times} times`);
    let value = Math.max(0, Math.round(valueUs));
    if (value > this.highestTrackableUs) {
      value = this.highestTrackableUs;
      this.saturatedCount += times;
    }
    const index = indexOfValue(value);
    this.counts[index] = (this.counts[index] ?? 0) + times;
    this.total += times;
    this.sumUs += value * times;
    if (value < this.minValueUs) this.minValueUs = value;
    if (value > this.maxValueUs) this.maxValueUs = value;
  }

  /** Adds another histogram's values to this one; both must track the same range. */
  merge(other: Histogram): void {
    if (other.highestTrackableUs !== this.highestTrackableUs) {
      throw new RangeError('only histograms with the same highest trackable value merge');
    }
    for (let index = 0; index < other.counts.length; index++) {
      const add = other.counts[index] ?? 0;
      if (add !== 0) this.counts[index] = (this.counts[index] ?? 0) + add;
    }
    this.total += other.total;
    this.sumUs += other.sumUs;
    this.saturatedCount += other.saturatedCount;
    if (other.total > 0) {
      this.minValueUs = Math.min(this.minValueUs, other.minValueUs);
      this.maxValueUs = Math.max(this.maxValueUs, other.maxValueUs);
    }
  }

  /**
   * The p-th percentile (nearest rank): the highest value of the bucket that holds the value of
   * that rank, but never above the largest value recorded. It is therefore at least the exact
   * percentile and above it by less than one bucket width (exact below 2048 µs). 0 when empty.
   */
  percentileUs(percentile: number): number {
    if (this.total === 0) return 0;
    const rank = percentileRank(percentile, this.total);
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index] ?? 0;
      if (seen >= rank) return Math.min(highestValueAt(index), this.maxValueUs);
    }
    return this.maxValueUs;
  }

  /** Several percentiles in one pass over the counts; `percentiles` must ascend. */
  percentilesUs(percentiles: readonly number[]): number[] {
    percentiles.forEach((percentile, index) => {
      if (index > 0 && percentile < (percentiles[index - 1] ?? 0)) throw new RangeError('percentiles must ascend');
    });
    const results: number[] = [];
    if (this.total === 0) return percentiles.map(() => 0);
    const ranks = percentiles.map((percentile) => percentileRank(percentile, this.total));
    let next = 0;
    let seen = 0;
    for (let index = 0; index < this.counts.length && next < ranks.length; index++) {
      seen += this.counts[index] ?? 0;
      while (next < ranks.length && seen >= (ranks[next] ?? 0)) {
        results.push(Math.min(highestValueAt(index), this.maxValueUs));
        next++;
      }
    }
    while (results.length < percentiles.length) results.push(this.maxValueUs);
    return results;
  }
}

/** The figures a report shows of a histogram: count, min, mean, p50, p90, p99, p99.9 and max. */
export function summarize(histogram: Histogram): LatencySummary {
  const [p50Us, p90Us, p99Us, p999Us] = histogram.percentilesUs(REPORTED_PERCENTILES);
  return {
    count: histogram.count,
    minUs: histogram.minUs,
    meanUs: Math.round(histogram.meanUs * 10) / 10,
    p50Us: p50Us ?? 0,
    p90Us: p90Us ?? 0,
    p99Us: p99Us ?? 0,
    p999Us: p999Us ?? 0,
    maxUs: histogram.maxUs,
  };
}
