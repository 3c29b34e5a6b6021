// One timer's worth of deadlines for a benchmark producer's outstanding sends.

import { describe, expect, it } from 'vitest';
import { SendDeadlines } from '../../bench/send-deadlines.js';

describe('SendDeadlines', () => {
  it('finds the oldest unsettled send once it is past its deadline, and none before', () => {
    let nowMs = 0;
    const deadlines = new SendDeadlines(10, 100, () => nowMs);
    for (let seq = 0; seq < 4; seq++) {
      deadlines.start(seq);
      nowMs += 10;
    }
    expect(deadlines.outstanding).toBe(4);
    nowMs = 100;
    expect(deadlines.overdue()).toBe(-1);
    nowMs = 101;
    expect(deadlines.overdue()).toBe(0);
    // Sends settle out of order; the oldest unsettled one is what counts.
    deadlines.settle(0);
    deadlines.settle(2);
    expect(deadlines.overdue()).toBe(-1);
    nowMs = 111;
    expect(deadlines.overdue()).toBe(1);
    deadlines.settle(1);
    expect(deadlines.overdue()).toBe(-1);
    nowMs = 131;
    expect(deadlines.overdue()).toBe(3);
    deadlines.settle(3);
    deadlines.settle(3);
    expect(deadlines.outstanding).toBe(0);
    expect(deadlines.overdue()).toBe(-1);
  });

  it('refuses a send that starts out of order', () => {
    const deadlines = new SendDeadlines(4, 100, () => 0);
    deadlines.start(0);
    expect(() => deadlines.start(2)).toThrow(/started out of order/);
  });
});
