// The driver's note on a measured window that carried a backlog: acknowledgments of the window's
// messages that came after it.

import { describe, expect, it } from 'vitest';
import { backlog } from '../../bench/claims.js';
import type { LatencySummary } from '../../spec/bench-result.js';

const latency = (p50Ms: number): LatencySummary => ({
  count: 100,
  minUs: 1,
  meanUs: p50Ms * 1000,
  p50Us: p50Ms * 1000,
  p90Us: p50Ms * 1000,
  p99Us: p50Ms * 1000,
  p999Us: p50Ms * 1000,
  maxUs: p50Ms * 1000,
});

describe('backlog', () => {
  it('says nothing when the window carried most of its load', () => {
    expect(backlog(1000, 950, latency(5), 1000)).toBeUndefined();
    expect(backlog(0, 0, latency(0), 1000)).toBeUndefined();
  });

  it('says the producer fell behind when the window carried less', () => {
    expect(backlog(1000, 600, latency(200), 1000)).toBe(
      '600 acknowledgments came inside the measured window against 1000 messages meant for it: the producer and brokers fell behind the offered rate, and the throughput shown is what they sustained',
    );
  });

  it('asks for a longer window when the median latency exceeds it', () => {
    const note = backlog(7200, 0, latency(650), 300);
    expect(note).toContain('0 acknowledgments came inside the measured window against 7200 messages meant for it');
    expect(note).toContain('the median publish latency (650 ms) is longer than the window (300 ms)');
    expect(note).toContain('lengthen durationMs');
  });
});
