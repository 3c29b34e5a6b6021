// Unit tests of the checker. Every anomaly has a history where it occurs and a closely similar
// one where it does not, so a checker that reports nothing (or everything) fails here.

import { describe, expect, it } from 'vitest';
import { check, judge, perAnomaly, type CheckResult } from '../../harness/conformance/checker.js';
import type { HistoryEvent, HistoryEventInput } from '../../spec/history.js';
import { MAX_WITNESSES, type Witness } from '../../spec/result.js';
import { ANOMALIES, type AckMode, type Anomaly, type Expectation } from '../../spec/vocabulary.js';

/** Numbers the events from line 1 and gives them a clock, as the recorder does. */
function history(...events: HistoryEventInput[]): HistoryEvent[] {
  return events.map((event, index): HistoryEvent => ({ ...event, i: index + 1, t: index * 10 }));
}

function setup(ack: AckMode = 'leader'): HistoryEventInput {
  return {
    type: 'setup',
    scenario: 'unit',
    file: 'unit.yaml',
    adapter: 'reference',
    seed: 1,
    topic: 'orders',
    partitions: 2,
    ack,
    commit: 'after-process',
    isolation: 'read-uncommitted',
    defects: [],
  };
}

function send(id: string, seq: number, key = 'k', producer = 0): HistoryEventInput {
  return { type: 'send', id, producer, seq, key };
}

function ack(id: string, partition: number, offset: number, producer = 0): HistoryEventInput {
  return { type: 'ack', producer, id, partition, offset };
}

function sendError(id: string, producer = 0): HistoryEventInput {
  return { type: 'error', producer, id, error: 'request timed out' };
}

/** A poll of records written as [id, partition, offset]. */
function poll(...records: readonly (readonly [string, number, number])[]): HistoryEventInput {
  return { type: 'poll', consumer: 0, records: records.map(([id, partition, offset]) => ({ id, partition, offset })) };
}

function processed(id: string, partition: number, offset: number): HistoryEventInput {
  return { type: 'process', consumer: 0, id, partition, offset };
}

function drain(id: string, partition: number, offset: number, aborted = false): HistoryEventInput {
  return aborted ? { type: 'drain', id, partition, offset, aborted } : { type: 'drain', id, partition, offset };
}

/** The anomalies with a non-zero count, so a test can say "only this one" in one line. */
function occurring(result: CheckResult): Partial<Record<Anomaly, number>> {
  return Object.fromEntries(
    ANOMALIES.filter((anomaly) => result.anomalies[anomaly].count > 0).map((anomaly) => [
      anomaly,
      result.anomalies[anomaly].count,
    ]),
  );
}

function only(result: CheckResult, anomaly: Anomaly): Witness {
  const { witnesses } = result.anomalies[anomaly];
  expect(witnesses).toHaveLength(1);
  const [first] = witnesses;
  if (first === undefined) throw new Error('no witness');
  return first;
}

describe('a clean run', () => {
  it('has no anomaly and counts every message', () => {
    const result = check(
      history(
        setup(),
        send('a', 0),
        send('b', 1),
        ack('a', 0, 0),
        ack('b', 0, 1),
        poll(['a', 0, 0], ['b', 0, 1]),
        processed('a', 0, 0),
        processed('b', 0, 1),
        drain('a', 0, 0),
        drain('b', 0, 1),
      ),
    );
    expect(occurring(result)).toEqual({});
    expect(result.counts).toEqual({ sent: 2, acknowledged: 2, stored: 2, delivered: 2, processed: 2 });
  });
});

describe('counts', () => {
  it('counts distinct ids, not events', () => {
    const result = check(
      history(
        setup(),
        send('a', 0),
        send('a', 0), // an application resend of the same message
        send('b', 1),
        send('c', 2),
        ack('a', 0, 0),
        ack('a', 0, 0),
        ack('b', 0, 1),
        poll(['a', 0, 0]),
        poll(['a', 0, 0], ['b', 0, 1]),
        processed('a', 0, 0),
        drain('a', 0, 0),
        drain('b', 0, 1),
        drain('c', 1, 0, true), // aborted: c is not stored
      ),
    );
    expect(result.counts).toEqual({ sent: 3, acknowledged: 2, stored: 2, delivered: 2, processed: 1 });
  });
});

describe('lost', () => {
  const lostB = [
    setup('leader'), // 1
    send('a', 0), // 2
    send('b', 1), // 3
    ack('a', 0, 0), // 4
    ack('b', 0, 1), // 5
    processed('a', 0, 0), // 6
    drain('a', 0, 0), // 7
  ];

  it('is an acknowledged message the drain did not find', () => {
    const result = check(history(...lostB));
    expect(occurring(result)).toEqual({ lost: 1 });
    expect(only(result, 'lost')).toEqual({
      ids: ['b'],
      partition: 0,
      offsets: [1],
      lines: [3, 5],
      note: expect.stringMatching(/b was acknowledged at partition 0 offset 1/),
    });
  });

  it('cites the first acknowledgment when a message is acknowledged twice', () => {
    const result = check(history(...lostB, ack('b', 0, 1)));
    expect(only(result, 'lost').lines).toEqual([3, 5]);
  });

  it('is not counted when the acknowledged message is stored', () => {
    const result = check(history(...lostB, processed('b', 0, 1), drain('b', 0, 1)));
    expect(result.anomalies.lost.count).toBe(0);
  });

  it('is not counted for a send that failed and was never stored', () => {
    const result = check(
      history(setup('all'), send('a', 0), send('b', 1), ack('a', 0, 0), sendError('b'), drain('a', 0, 0)),
    );
    expect(result.anomalies.lost.count).toBe(0);
  });

  // The same events under two ack modes: without acknowledgments, the send is the promise.
  const unacknowledged = [send('a', 0), send('b', 1), processed('a', 0, 0), drain('a', 0, 0)];

  it('under ack mode none is a sent message the drain did not find', () => {
    const result = check(history(setup('none'), ...unacknowledged));
    expect(occurring(result)).toEqual({ lost: 1 });
    expect(only(result, 'lost')).toEqual({
      ids: ['b'],
      lines: [3],
      note: expect.stringMatching(/ack mode none/),
    });
  });

  it('under ack mode leader is not counted for a message that was never acknowledged', () => {
    const result = check(history(setup('leader'), ...unacknowledged));
    expect(occurring(result)).toEqual({});
  });
});

describe('unprocessed', () => {
  const stored = [
    setup(), // 1
    send('a', 0), // 2
    send('b', 1), // 3
    ack('a', 0, 0), // 4
    ack('b', 0, 1), // 5
    processed('a', 0, 0), // 6
    drain('a', 0, 0), // 7
    drain('b', 0, 1), // 8
  ];

  it('is a stored message no consumer processed', () => {
    const result = check(history(...stored));
    expect(occurring(result)).toEqual({ unprocessed: 1 });
    expect(only(result, 'unprocessed')).toEqual({
      ids: ['b'],
      partition: 0,
      offsets: [1],
      lines: [8],
      note: expect.any(String),
    });
  });

  it('is not counted once the message is processed', () => {
    const result = check(history(...stored, processed('b', 0, 1)));
    expect(result.anomalies.unprocessed.count).toBe(0);
  });

  it('is not counted for a message found only in an aborted transaction', () => {
    const result = check(history(setup(), send('a', 0), drain('a', 0, 0, true)));
    expect(result.anomalies.unprocessed.count).toBe(0);
  });
});

describe('duplicated', () => {
  const once = [
    setup(), // 1
    send('a', 0), // 2
    ack('a', 0, 0), // 3
    processed('a', 0, 0), // 4
    drain('a', 0, 0), // 5
  ];

  it('is a message stored at two offsets', () => {
    const result = check(history(...once, drain('a', 0, 2)));
    expect(occurring(result)).toEqual({ duplicated: 1 });
    expect(only(result, 'duplicated')).toEqual({
      ids: ['a'],
      partition: 0,
      offsets: [0, 2],
      lines: [5, 6],
      note: expect.stringMatching(/stored at 2 places/),
    });
  });

  it('is a message processed twice', () => {
    const result = check(history(...once, processed('a', 0, 0)));
    expect(occurring(result)).toEqual({ duplicated: 1 });
    expect(only(result, 'duplicated')).toEqual({
      ids: ['a'],
      partition: 0,
      offsets: [0, 0],
      lines: [4, 6],
      note: expect.stringMatching(/processed 2 times/),
    });
  });

  it('counts a message stored twice and processed twice once, saying both', () => {
    const result = check(history(...once, drain('a', 0, 2), processed('a', 0, 2)));
    expect(result.anomalies.duplicated.count).toBe(1);
    const witness = only(result, 'duplicated');
    expect(witness.ids).toEqual(['a']);
    expect(witness.lines).toEqual([4, 5, 6, 7]);
    expect(witness.note).toMatch(/both stored at 2 places .* and processed 2 times/);
  });

  it('is not counted when the drain lists the same record twice', () => {
    const result = check(history(...once, drain('a', 0, 0)));
    expect(occurring(result)).toEqual({});
  });
});

describe('reordered', () => {
  // Producer 0 sends a, b, c with key k; the acknowledgments come back out of send order.
  const sentAndAcked = [
    setup(), // 1
    send('a', 0), // 2
    send('b', 1), // 3
    send('c', 2), // 4
    ack('c', 0, 2), // 5
    ack('a', 0, 1), // 6
    ack('b', 0, 0), // 7
  ];
  const consumed = [processed('a', 0, 1), processed('b', 0, 0), processed('c', 0, 2)];

  /** a then b sent, each acknowledged and processed at the place given; the drain is the caller's. */
  const twoSends = (a: readonly [number, number], b: readonly [number, number]): HistoryEventInput[] => [
    setup(),
    send('a', 0),
    send('b', 1),
    ack('a', ...a),
    ack('b', ...b),
    processed('a', ...a),
    processed('b', ...b),
  ];

  it('is a later send stored below an earlier one', () => {
    const result = check(history(...sentAndAcked, ...consumed, drain('b', 0, 0), drain('a', 0, 1), drain('c', 0, 2)));
    // Lines 8-10 are the process events; the drains are lines 11 (b), 12 (a) and 13 (c).
    expect(occurring(result)).toEqual({ reordered: 1 });
    expect(only(result, 'reordered')).toEqual({
      ids: ['a', 'b'],
      partition: 0,
      offsets: [1, 0],
      lines: [2, 3, 6, 7, 11, 12],
      note: expect.stringMatching(/b is stored at offset 0, below a's offset 1/),
    });
  });

  it('is not counted when acknowledgments arrive out of order but storage follows send order', () => {
    const result = check(
      history(
        setup(),
        send('a', 0),
        send('b', 1),
        send('c', 2),
        ack('c', 0, 2),
        ack('b', 0, 1),
        ack('a', 0, 0),
        processed('a', 0, 0),
        processed('b', 0, 1),
        processed('c', 0, 2),
        drain('a', 0, 0),
        drain('b', 0, 1),
        drain('c', 0, 2),
      ),
    );
    expect(occurring(result)).toEqual({});
  });

  it('counts every send stored below an earlier one', () => {
    const result = check(
      history(
        setup(),
        send('a', 0),
        send('b', 1),
        send('c', 2),
        ack('a', 0, 2),
        ack('b', 0, 0),
        ack('c', 0, 1),
        ...[processed('a', 0, 2), processed('b', 0, 0), processed('c', 0, 1)],
        drain('b', 0, 0),
        drain('c', 0, 1),
        drain('a', 0, 2),
      ),
    );
    expect(result.anomalies.reordered.count).toBe(2);
    expect(result.anomalies.reordered.witnesses.map((witness) => witness.ids)).toEqual([
      ['a', 'b'],
      ['a', 'c'],
    ]);
  });

  it('is not counted when the earlier send was never acknowledged', () => {
    const result = check(
      history(
        setup(),
        send('a', 0),
        send('b', 1),
        sendError('a'),
        ack('b', 0, 0),
        processed('a', 0, 1),
        processed('b', 0, 0),
        drain('b', 0, 0),
        drain('a', 0, 1),
      ),
    );
    expect(occurring(result)).toEqual({});
  });

  it('is not counted across keys or across producers', () => {
    const result = check(
      history(
        setup(),
        send('a', 0, 'k1', 0),
        send('b', 1, 'k2', 0),
        send('x', 0, 'k1', 1),
        ack('a', 0, 2),
        ack('b', 0, 0),
        ack('x', 0, 1, 1),
        processed('a', 0, 2),
        processed('b', 0, 0),
        processed('x', 0, 1),
        drain('b', 0, 0),
        drain('x', 0, 1),
        drain('a', 0, 2),
      ),
    );
    expect(occurring(result)).toEqual({});
  });

  it('compares offsets only within one partition', () => {
    const result = check(
      history(
        setup(),
        send('a', 0),
        send('b', 1),
        send('c', 2),
        ack('a', 0, 5),
        ack('b', 1, 0),
        ack('c', 0, 3),
        ...[processed('a', 0, 5), processed('b', 1, 0), processed('c', 0, 3)],
        drain('c', 0, 3), // below a's offset in the same partition: reordered
        drain('a', 0, 5),
        drain('b', 1, 0), // below a's offset, but in another partition
      ),
    );
    expect(occurring(result)).toEqual({ reordered: 1 });
    expect(only(result, 'reordered')).toMatchObject({ ids: ['a', 'c'], partition: 0, offsets: [5, 3] });
  });

  it('leaves two ids at one place to inconsistent-offset', () => {
    const result = check(history(...twoSends([0, 5], [0, 5]), drain('a', 0, 5), drain('b', 0, 5)));
    expect(occurring(result)).toEqual({ 'inconsistent-offset': 1 });
  });

  it('uses the lowest offset of a send stored twice', () => {
    const result = check(
      history(
        ...twoSends([0, 0], [0, 1]),
        drain('a', 0, 0),
        drain('b', 0, 1),
        drain('a', 0, 2), // a retry stored a again, after b: a duplicate, not a reordering
      ),
    );
    expect(occurring(result)).toEqual({ duplicated: 1 });
  });

  it('takes the first place the drain listed when a send is stored twice at one offset', () => {
    const result = check(
      history(
        ...twoSends([0, 5], [1, 3]),
        drain('a', 0, 5),
        drain('b', 1, 3), // b's first place: partition 1, so it is not compared with a
        drain('b', 0, 3), // as low, but listed second: partition 0 offset 3 would sit below a
      ),
    );
    expect(occurring(result)).toEqual({ duplicated: 1 });
  });

  it('follows seq, not the order the sends were written in', () => {
    // b (seq 1) is written before a (seq 0): send order is a then b.
    const sends = [setup(), send('b', 1), send('a', 0), ack('a', 0, 0), ack('b', 0, 1)];
    const inOrder = check(
      history(...sends, processed('a', 0, 0), processed('b', 0, 1), drain('a', 0, 0), drain('b', 0, 1)),
    );
    expect(occurring(inOrder)).toEqual({});
    const outOfOrder = check(
      history(...sends, processed('a', 0, 1), processed('b', 0, 0), drain('b', 0, 0), drain('a', 0, 1)),
    );
    expect(occurring(outOfOrder)).toEqual({ reordered: 1 });
    expect(only(outOfOrder, 'reordered').ids).toEqual(['a', 'b']);
  });
});

describe('phantom', () => {
  const base = [
    setup(), // 1
    send('a', 0), // 2
    ack('a', 0, 0), // 3
  ];

  it('is a delivered, stored or processed message that was never sent, counted once per id', () => {
    const result = check(
      history(
        ...base,
        poll(['a', 0, 0], ['ghost', 0, 1]), // 4
        processed('a', 0, 0), // 5
        processed('ghost', 0, 1), // 6
        processed('spook', 1, 0), // 7
        drain('a', 0, 0), // 8
        drain('ghost', 0, 1), // 9
        drain('spook', 1, 0), // 10
      ),
    );
    expect(occurring(result)).toEqual({ phantom: 2 });
    expect(result.anomalies.phantom.witnesses).toEqual([
      { ids: ['ghost'], lines: [4], note: expect.stringMatching(/ghost was delivered at line 4/) },
      { ids: ['spook'], lines: [7], note: expect.stringMatching(/spook was processed at line 7/) },
    ]);
  });

  it('lists witnesses in the order the ids were first named, where an aborted record names none', () => {
    const result = check(
      history(
        ...base,
        drain('later', 0, 1, true), // an aborted record only reads its place
        drain('early', 0, 2),
        drain('later', 0, 3),
      ),
    );
    expect(result.anomalies.phantom.witnesses.map((witness) => witness.ids)).toEqual([['early'], ['later']]);
  });

  it('is not counted when every message was sent', () => {
    const result = check(
      history(
        ...base,
        send('ghost', 1),
        ack('ghost', 0, 1),
        poll(['a', 0, 0], ['ghost', 0, 1]),
        processed('a', 0, 0),
        processed('ghost', 0, 1),
        drain('a', 0, 0),
        drain('ghost', 0, 1),
      ),
    );
    expect(occurring(result)).toEqual({});
  });
});

describe('aborted-read', () => {
  // a is written in a transaction that aborts (offset 0), then written again and committed (offset 1).
  const abortedThenCommitted = [
    setup(), // 1
    send('a', 0), // 2
    ack('a', 0, 1), // 3
  ];
  const drained = [drain('a', 0, 0, true), drain('a', 0, 1)];

  it('is a poll that delivered a record of an aborted transaction', () => {
    const result = check(
      history(...abortedThenCommitted, poll(['a', 0, 0], ['a', 0, 1]), processed('a', 0, 1), ...drained),
    );
    // Line 4 is the poll, line 6 the aborted drain record.
    expect(occurring(result)).toEqual({ 'aborted-read': 1 });
    expect(only(result, 'aborted-read')).toEqual({
      ids: ['a'],
      partition: 0,
      offsets: [0],
      lines: [4, 6],
      note: expect.stringMatching(/aborted transaction/),
    });
  });

  it('cites the first poll of the aborted record', () => {
    const result = check(
      history(
        ...abortedThenCommitted,
        poll(['a', 0, 0]), // 4
        poll(['a', 0, 0], ['a', 0, 1]), // 5
        processed('a', 0, 1), // 6
        ...drained, // 7 is the aborted record
      ),
    );
    expect(result.anomalies['aborted-read'].count).toBe(1);
    expect(only(result, 'aborted-read').lines).toEqual([4, 7]);
  });

  it('is keyed on the place: delivering the committed copy of a once-aborted id is not counted', () => {
    const result = check(history(...abortedThenCommitted, poll(['a', 0, 1]), processed('a', 0, 1), ...drained));
    expect(occurring(result)).toEqual({});
  });
});

describe('inconsistent-offset', () => {
  const sent = [
    setup(), // 1
    send('a', 0), // 2
    send('b', 1), // 3
    ack('a', 0, 0), // 4
    ack('b', 0, 1), // 5
  ];

  it('is two reads of one place that returned different ids, counted once per place', () => {
    const result = check(
      history(
        ...sent,
        poll(['a', 0, 0], ['b', 0, 1]), // 6
        processed('a', 0, 0), // 7
        processed('b', 0, 1), // 8
        drain('b', 0, 0), // 9: the log says b is at offset 0, where the poll saw a
        drain('b', 0, 1), // 10
        drain('a', 0, 1), // 11: and a at offset 1, where the poll saw b
        poll(['c', 0, 0]), // 12: a third id at offset 0 adds no place
      ),
    );
    expect(result.anomalies['inconsistent-offset'].count).toBe(2);
    expect(result.anomalies['inconsistent-offset'].witnesses).toEqual([
      {
        ids: ['a', 'b'],
        partition: 0,
        offsets: [0],
        lines: [6, 9],
        note: expect.stringMatching(/read as a by a poll and as b by a drain/),
      },
      { ids: ['b', 'a'], partition: 0, offsets: [1], lines: [6, 11], note: expect.any(String) },
    ]);
  });

  it('is not counted when polls, processing and the drain agree', () => {
    const result = check(
      history(
        ...sent,
        poll(['a', 0, 0], ['b', 0, 1]),
        poll(['a', 0, 0]),
        processed('a', 0, 0),
        processed('b', 0, 1),
        drain('a', 0, 0),
        drain('b', 0, 1),
      ),
    );
    expect(occurring(result)).toEqual({});
  });
});

describe('witnesses', () => {
  it('keeps at most MAX_WITNESSES but counts exactly', () => {
    const ids = Array.from({ length: 40 }, (_, index) => `m${index}`);
    const result = check(
      history(
        setup(),
        ...ids.map((id, seq) => send(id, seq)),
        ...ids.map((id, offset) => ack(id, 0, offset)),
      ),
    );
    const { lost } = result.anomalies;
    expect(MAX_WITNESSES).toBe(16);
    expect(lost.count).toBe(40);
    expect(lost.witnesses).toHaveLength(MAX_WITNESSES);
    expect(lost.witnesses[0]?.ids).toEqual(['m0']);
    expect(lost.witnesses[15]?.ids).toEqual(['m15']);
  });

  it('does not change the history it reads', () => {
    const events = history(setup(), send('a', 0), ack('a', 0, 0), poll(['a', 0, 0]), drain('a', 0, 0));
    for (const event of events) Object.freeze(event);
    const first = check(Object.freeze(events));
    expect(check(events)).toEqual(first);
  });
});

describe('judge', () => {
  // One lost message (b) and nothing else.
  const result = check(
    history(
      setup(),
      send('a', 0),
      send('b', 1),
      ack('a', 0, 0),
      ack('b', 0, 1),
      processed('a', 0, 0),
      drain('a', 0, 0),
    ),
  );
  const expectAll = (expectation: Expectation, overrides: Partial<Record<Anomaly, Expectation>> = {}) =>
    perAnomaly((anomaly) => overrides[anomaly] ?? expectation);

  it('fails `none` when the anomaly occurs', () => {
    const judgement = judge(result, expectAll('none'));
    expect(judgement.held).toBe(false);
    expect(judgement.anomalies.lost).toEqual({
      expect: 'none',
      count: 1,
      held: false,
      witnesses: result.anomalies.lost.witnesses,
    });
    expect(judgement.anomalies.duplicated).toEqual({ expect: 'none', count: 0, held: true, witnesses: [] });
  });

  it('holds `allowed` whatever the count', () => {
    const judgement = judge(result, expectAll('none', { lost: 'allowed' }));
    expect(judgement.held).toBe(true);
    expect(judgement.anomalies.lost.held).toBe(true);
  });

  it('holds `witnessed` only when the anomaly occurs', () => {
    expect(judge(result, expectAll('none', { lost: 'witnessed' })).held).toBe(true);
    const missing = judge(result, expectAll('none', { lost: 'allowed', duplicated: 'witnessed' }));
    expect(missing.held).toBe(false);
    expect(missing.anomalies.duplicated).toMatchObject({ expect: 'witnessed', count: 0, held: false });
  });
});

describe('a read-process-write pipeline (commit mode transactional)', () => {
  const pipelineSetup = (): HistoryEventInput => ({
    type: 'setup',
    scenario: 'unit',
    file: 'unit.yaml',
    adapter: 'reference',
    seed: 1,
    topic: 'orders',
    partitions: 2,
    ack: 'all',
    commit: 'transactional',
    isolation: 'read-committed',
    defects: [],
  });
  const output = (id: string, partition: number, offset: number, aborted = false): HistoryEventInput =>
    aborted
      ? { type: 'drain', id, partition, offset, output: true, aborted: true }
      : { type: 'drain', id, partition, offset, output: true };

  it('takes processing from the committed output, not from process events', () => {
    const result = check(
      history(
        pipelineSetup(),
        send('a', 0),
        ack('a', 0, 0),
        send('b', 1),
        ack('b', 0, 1),
        poll(['a', 0, 0], ['b', 0, 1]),
        processed('a', 0, 0),
        processed('b', 0, 1),
        drain('a', 0, 0),
        drain('b', 0, 1),
        output('a', 0, 0),
      ),
    );
    // b was attempted, but its output was never committed: it is unprocessed.
    expect(occurring(result)).toEqual({ unprocessed: 1 });
    expect(only(result, 'unprocessed').ids).toEqual(['b']);
    expect(result.counts.processed).toBe(1);
  });

  it('counts output written twice as duplicated processing, and ignores aborted output', () => {
    const twice = check(
      history(pipelineSetup(), send('a', 0), ack('a', 0, 0), drain('a', 0, 0), output('a', 0, 0), output('a', 1, 0)),
    );
    expect(occurring(twice)).toEqual({ duplicated: 1 });
    const abortedCopy = check(
      history(
        pipelineSetup(),
        send('a', 0),
        ack('a', 0, 0),
        processed('a', 0, 0),
        processed('a', 0, 0),
        drain('a', 0, 0),
        output('a', 0, 0, true),
        output('a', 1, 0),
      ),
    );
    // Two attempts and one aborted copy, but one committed output: processed exactly once.
    expect(occurring(abortedCopy)).toEqual({});
    expect(abortedCopy.counts.processed).toBe(1);
  });

  it('does not take output records for stored input, nor compare their offsets with the input', () => {
    const result = check(
      history(pipelineSetup(), send('a', 0), ack('a', 0, 0), poll(['a', 0, 0]), output('a', 0, 0)),
    );
    // a is acknowledged but not in the input drain: lost, whatever the output holds.
    expect(occurring(result)).toEqual({ lost: 1 });
    const places = check(
      history(pipelineSetup(), send('a', 0), send('b', 1), ack('a', 0, 0), ack('b', 0, 1), drain('a', 0, 0), drain('b', 0, 1), output('b', 0, 0), output('a', 0, 1)),
    );
    expect(occurring(places)).toEqual({});
  });
});
