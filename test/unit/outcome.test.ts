// The one step from a history to a result, which `run` and `check` share: its verdict follows
// the setup line's expectations, its status the end line, and a history without its end line
// is judged only as far as it can be.

import { describe, expect, it } from 'vitest';
import { HistoryShapeError, resultOfHistory } from '../../harness/conformance/outcome.js';
import type { EndEvent, HistoryEvent, HistoryEventInput } from '../../spec/history.js';
import { ANOMALIES, type Anomaly, type Expectation } from '../../spec/vocabulary.js';

function history(...events: HistoryEventInput[]): HistoryEvent[] {
  return events.map((event, index): HistoryEvent => ({ ...event, i: index + 1, t: index * 10 }));
}

function expectations(overrides: Partial<Record<Anomaly, Expectation>> = {}): Record<Anomaly, Expectation> {
  return Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, overrides[anomaly] ?? 'none'])) as Record<Anomaly, Expectation>;
}

/** A setup line; `null` leaves out the expectations, as a benchmark's history does. */
function setup(expect: Record<Anomaly, Expectation> | null = expectations()): HistoryEventInput {
  return {
    type: 'setup',
    scenario: 'unit',
    file: 'suites/unit.yaml',
    adapter: 'reference',
    seed: 4,
    topic: 'orders',
    partitions: 1,
    ack: 'leader',
    commit: 'after-process',
    isolation: 'read-uncommitted',
    defects: ['skip-fsync'],
    ...(expect === null ? {} : { expect }),
    clusterArgs: ['--brokers', 'h:1'],
  };
}

/** p0-0 is stored and processed; p0-1 is acknowledged and never stored: one lost message. */
const WORK: HistoryEventInput[] = [
  { type: 'phase', name: 'workload' },
  { type: 'send', id: 'p0-0', producer: 0, seq: 0, key: 'k' },
  { type: 'ack', producer: 0, id: 'p0-0', partition: 0, offset: 0 },
  { type: 'send', id: 'p0-1', producer: 0, seq: 1, key: 'k' },
  { type: 'ack', producer: 0, id: 'p0-1', partition: 0, offset: 1 },
  { type: 'poll', consumer: 0, records: [{ id: 'p0-0', partition: 0, offset: 0 }] },
  { type: 'process', consumer: 0, id: 'p0-0', partition: 0, offset: 0 },
  { type: 'process', consumer: 0, id: 'p0-0', partition: 0, offset: 0 },
];
const DRAIN: HistoryEventInput[] = [
  { type: 'phase', name: 'drain' },
  { type: 'drain', id: 'p0-0', partition: 0, offset: 0 },
  { type: 'phase', name: 'done' },
];

function end(fields: Omit<EndEvent, 'i' | 't' | 'type'> = {}): HistoryEventInput {
  return { type: 'end', ...fields };
}

const context = { history: 'h/unit.jsonl', durationMs: 12 };

describe('resultOfHistory', () => {
  it('judges the history against the setup line expectations and names the command from it', () => {
    const result = resultOfHistory(history(setup(), ...WORK, ...DRAIN, end({ notes: ['a note'] })), context);
    expect(result).toMatchObject({
      file: 'suites/unit.yaml',
      name: 'unit',
      seed: 4,
      status: 'failed',
      history: 'h/unit.jsonl',
      durationMs: 12,
      notes: ['a note'],
      reproduce: 'npx deliverycheck run suites/unit.yaml --adapter reference --seed 4 --defect skip-fsync --brokers h:1',
    });
    expect(result.anomalies.lost).toMatchObject({ expect: 'none', count: 1, held: false });
    // The same events with other expectations in the setup line: the verdict follows them.
    const allowed = resultOfHistory(
      history(setup(expectations({ lost: 'witnessed', duplicated: 'allowed' })), ...WORK, ...DRAIN, end()),
      context,
    );
    expect(allowed.status).toBe('passed');
    expect(allowed.anomalies.lost).toMatchObject({ expect: 'witnessed', held: true });
  });

  it('takes error and interrupted from the end line, with its reason and without verdicts', () => {
    for (const status of ['error', 'interrupted'] as const) {
      const result = resultOfHistory(history(setup(), ...WORK, end({ status, reason: 'why' })), context);
      expect(result).toMatchObject({ status, reason: 'why', anomalies: {} });
      expect(result.counts.acknowledged).toBe(2);
    }
  });

  it('keeps the verdict of a history cut after its drain, and says what it lost', () => {
    const result = resultOfHistory(history(setup(expectations({ lost: 'witnessed', duplicated: 'allowed' })), ...WORK, ...DRAIN), context);
    expect(result.status).toBe('passed');
    expect(result.notes?.[0]).toMatch(/without its end line/);
  });

  it('shows no claim held in a history cut before its drain: an error naming the line, the phase and what is unknown', () => {
    const events = history(setup(expectations({ lost: 'allowed', duplicated: 'allowed' })), ...WORK);
    const result = resultOfHistory(events, context);
    expect(result.status).toBe('error');
    expect(result.reason).toMatch(/^partial history: it ends at line 9 in phase workload, before the drain finished/);
    expect(result.reason).toMatch(/lost, unprocessed, reordered and aborted-read cannot be judged/);
    // Duplicate processing needs no drain: it is reported as a lower bound.
    expect(result.notes).toEqual(['seen before the history ends, as lower bounds: duplicated 1, phantom 0, inconsistent-offset 0']);
  });

  it('refuses a history without a setup line or without expectations', () => {
    expect(() => resultOfHistory(history(...WORK), context)).toThrow(HistoryShapeError);
    expect(() => resultOfHistory(history(...WORK), context)).toThrow(/begins with its setup line, not with a phase line/);
    expect(() => resultOfHistory(history(setup(null), ...WORK), context)).toThrow(/has no expect/);
    expect(() => resultOfHistory([], context)).toThrow(/empty/);
  });
});
