// The checker: a pure function from a run's history to its verdicts, in the manner of Jepsen and
// Maelstrom checkers. It reads nothing but the history (spec/history.ts), never talks to a broker,
// and returns for every anomaly an exact count and at most MAX_WITNESSES example witnesses. The
// normative text is spec/anomalies.md; this comment and that file must say the same thing.
//
// Derivations, per message id:
// - sent:         a `send` event names it.
// - acknowledged: an `ack` event names it.
// - stored:       a `drain` event that is not `aborted: true` names it, at a partition and offset.
//                 The drain is the runner's final read of the whole log, so it is the truth of
//                 what the broker kept.
// - delivered:    it is among the records of a `poll` event.
// - processed:    a `process` event names it; under commit mode `transactional` (a
//                 read-process-write pipeline), a committed record of the output topic
//                 (a `drain` event with `output`) names it instead, since a pipeline's
//                 processing counts only once its transaction committed.
// The producer ack mode is the `ack` field of the first `setup` event. A history without a
// setup event is checked as if acknowledgments were recorded (any mode but `none`).
//
// Anomalies:
// - lost: acknowledged, never stored. Under ack mode `none` a send is never acknowledged, so the
//   only promise is the send itself: there, sent without an error and never stored counts as
//   lost (a send the client failed was never promised). One per id.
// - unprocessed: stored, never processed. The runner drains only after the consumers caught up,
//   so a stored message nobody processed was skipped, not merely late. One per id.
// - duplicated: stored at more than one (partition, offset), or processed more than once. One
//   per id, even when an id is both; its witness then says both.
// - reordered: take one producer's acknowledged sends of one key in send order (`seq`) and the
//   lowest offset at which each is stored; an id stored below the highest offset of any send
//   before it is reordered. One per such id; the witness names it and the earlier send that sits
//   above it. Sends never stored are lost, not reordered, and are skipped. One key maps to one
//   partition, so offsets are compared only within a partition.
// - phantom: delivered, stored or processed, but never sent. One per id.
// - aborted-read: a poll delivered a record at a (partition, offset) that the drain marks as
//   belonging to an aborted transaction. It is keyed on the place, not the id, because one id can
//   be aborted once and committed later at another offset. One per place.
// - inconsistent-offset: two reads of one (partition, offset) returned different ids, where a
//   read is a poll record, a process event or a drain record (aborted or not). One per place.
//
// The checker is linear in the length of the history: one pass fills tables indexed by message
// and by place, and a second pass over those tables judges each message, send group and place.
// The only sorting is of the few lines of one witness, and of one producer's sends of one key
// when the history did not list them in `seq` order (which a correct recorder never does).
//
// It has to stay fast at 10^7 events (bench/micro/checker.ts measures it), which rules out what
// would be simplest: Maps keyed by id strings and by `partition:offset` strings, and one object
// per message and per place, outgrow the processor's caches and keep the garbage collector busy
// well before that size. So every message id is turned into a dense integer once per event
// (core/dense.ts; the runner's ids `p<producer>-<seq>` are parsed rather than hashed), so is
// every place, and what is known of each lives in typed arrays under that integer. The first pass
// allocates nothing per event but for the rare facts kept in Maps: a second stored or processed
// place, a conflicting read, an aborted record. Witnesses are built at the end from the events
// themselves, found again by their position in the history. The tables themselves are kept from
// one check to the next (ColumnPool in core/dense.ts): at 10^7 events, allocating them anew made
// V8 mark the whole heap, history included, once per check, which doubled its time. The plain
// Map-based form of the same derivations is test/unit/checker-reference.ts, and a property test
// holds the two equal.
//
// This file holds the judging: the verdicts against a scenario's expectations, and the second
// pass that turns the tables into counts and witnesses; tally.ts holds the first pass and its
// tables.

import type { HistoryEvent } from '../../spec/history.js';
import type { AnomalyVerdict, Counts } from '../../spec/result.js';
import type { Anomaly, Expectation } from '../../spec/vocabulary.js';
import {
  abortedReadWitness,
  duplicatedWitness,
  FindingBuilder,
  inconsistentOffsetWitness,
  lostUnacknowledgedWitness,
  lostWitness,
  phantomWitness,
  reorderedWitness,
  unprocessedWitness,
  type AnomalyFinding,
  type OrderedSend,
  type PlacedLine,
} from './witnesses.js';
import { ColumnPool } from '../../core/dense.js';
import {
  ABORTED,
  ACKNOWLEDGED,
  BY_POLL,
  CONFLICTING,
  DELIVERED,
  FAILED,
  FIRST_READ_SHIFT,
  initialCapacity,
  NONE,
  POLLED,
  PROCESSED,
  PROCESSED_AGAIN,
  READ_KINDS,
  SENT,
  STORED,
  STORED_AGAIN,
  Tally,
  type HistoryAccess,
  type HistoryFeed,
  type PlaceRead,
} from './tally.js';

export type { AnomalyFinding } from './witnesses.js';

export interface CheckResult {
  counts: Counts;
  anomalies: Record<Anomaly, AnomalyFinding>;
}

/** The verdict of a whole run against its expectations. */
export interface Judgement {
  anomalies: Record<Anomaly, AnomalyVerdict>;
  /** True when every anomaly's expectation held. */
  held: boolean;
}

/** Builds a record with one entry per anomaly; the literal makes a new anomaly a compile error. */
export function perAnomaly<T>(make: (anomaly: Anomaly) => T): Record<Anomaly, T> {
  return {
    lost: make('lost'),
    unprocessed: make('unprocessed'),
    duplicated: make('duplicated'),
    reordered: make('reordered'),
    phantom: make('phantom'),
    'aborted-read': make('aborted-read'),
    'inconsistent-offset': make('inconsistent-offset'),
  };
}

/** Whether a count meets an expectation: `none` forbids, `allowed` accepts, `witnessed` demands. */
export function expectationHolds(expectation: Expectation, count: number): boolean {
  switch (expectation) {
    case 'none':
      return count === 0;
    case 'allowed':
      return true;
    case 'witnessed':
      return count > 0;
  }
}

/** Compares a check result with what the scenario expects of each anomaly. */
export function judge(result: CheckResult, expect: Readonly<Record<Anomaly, Expectation>>): Judgement {
  const anomalies = perAnomaly((anomaly): AnomalyVerdict => {
    const finding = result.anomalies[anomaly];
    return {
      expect: expect[anomaly],
      count: finding.count,
      held: expectationHolds(expect[anomaly], finding.count),
      witnesses: finding.witnesses,
    };
  });
  const held = Object.values(anomalies).every((verdict) => verdict.held);
  return { anomalies, held };
}

/** The event at a position the tally recorded for an event of this type. */
function eventAt<T extends HistoryEvent['type']>(
  history: HistoryAccess,
  at: number,
  type: T,
): Extract<HistoryEvent, { readonly type: T }> {
  const event = history.eventAt(at);
  if (event?.type !== type) throw new Error(`checker: history position ${at} is not the ${type} event it recorded`);
  // TypeScript does not narrow a union by a generic discriminant; the test above is that narrowing.
  return event as Extract<HistoryEvent, { readonly type: T }>;
}

/** The line number (`i`) of the event at a position. */
function lineAt(history: HistoryAccess, at: number): number {
  const event = history.eventAt(at);
  if (event === undefined) throw new Error(`checker: history position ${at} is past the end`);
  return event.i;
}

/** The places, with their lines, of the process or drain events at these positions. */
function placedLines(history: HistoryAccess, positions: readonly number[]): PlacedLine[] {
  return positions.map((at) => {
    const event = history.eventAt(at);
    if (event?.type !== 'process' && event?.type !== 'drain') {
      throw new Error(`checker: history position ${at} is not the process or drain event it recorded`);
    }
    return { partition: event.partition, offset: event.offset, line: event.i };
  });
}

/** The first of the places with the lowest offset. */
function lowestOf(places: readonly PlacedLine[]): PlacedLine | undefined {
  let lowest: PlacedLine | undefined;
  for (const place of places) if (lowest === undefined || place.offset < lowest.offset) lowest = place;
  return lowest;
}

/** Checks a history for every anomaly. Pure: the same history always gives the same result. */
export function check(history: readonly HistoryEvent[]): CheckResult {
  return checkWith({ eventAt: (at) => history[at] }, initialCapacity(history.length), (tally) => tally.run(history));
}

/**
 * Checks the history that `feed` feeds, event by event in history order, and whose events
 * `history` gives back for witnesses; `capacity` is room for messages and places at first (see
 * initialCapacity). The result is check()'s of the same events.
 */
export function checkFed(history: HistoryAccess, capacity: number, feed: (tally: HistoryFeed) => void): CheckResult {
  return checkWith(history, capacity, feed);
}

function checkWith(history: HistoryAccess, capacity: number, feed: (tally: Tally) => void): CheckResult {
  // The pool leaves the shelf while a check holds it, so a check can never share tables with
  // another; a WeakRef lets a full collection free the tables of a big history once nobody checks.
  const pool = sparePool?.deref() ?? new ColumnPool();
  sparePool = undefined;
  try {
    const tally = new Tally(history, capacity, pool);
    feed(tally);
    const findings = perAnomaly(() => new FindingBuilder());
    const counts = judgeMessages(tally, findings);
    judgeOrder(tally, findings.reordered);
    judgePlaces(tally, findings);
    return { counts, anomalies: perAnomaly((anomaly) => findings[anomaly].finish()) };
  } finally {
    // Nothing of the tally outlives the check: the result holds witnesses built from the events.
    pool.reclaim();
    sparePool = new WeakRef(pool);
  }
}

/** The tables of the last check, kept for the next one (see ColumnPool). */
let sparePool: WeakRef<ColumnPool> | undefined;

type Findings = Readonly<Record<Anomaly, FindingBuilder>>;

/** Where the drain stored a message, with lines, in the order it listed them. */
function storedPlaces(tally: Tally, message: number): PlacedLine[] {
  if (((tally.flags[message] ?? 0) & STORED) === 0) return [];
  return placedLines(tally.history, [tally.storedAt[message] ?? 0, ...(tally.moreStoredAt.get(message) ?? [])]);
}

/** Where a message was processed, with lines, in history order. */
function processedPlaces(tally: Tally, message: number): PlacedLine[] {
  if (((tally.flags[message] ?? 0) & PROCESSED) === 0) return [];
  return placedLines(tally.history, [tally.processedAt[message] ?? 0, ...(tally.moreProcessedAt.get(message) ?? [])]);
}

/** The counts, and the anomalies of single messages, in the order the messages were first mentioned. */
function judgeMessages(tally: Tally, findings: Findings): Counts {
  const { history, ids } = tally;
  const { lost, unprocessed, duplicated, phantom } = findings;
  const ackNone = tally.ackMode === 'none';
  const counts = { sent: 0, acknowledged: 0, stored: 0, delivered: 0, processed: 0 };

  for (let index = 0; index < tally.mentionedCount; index++) {
    const message = tally.mentioned[index] ?? 0;
    const flags = tally.flags[message] ?? 0;
    const sent = (flags & SENT) !== 0;
    const acknowledged = (flags & ACKNOWLEDGED) !== 0;
    const stored = (flags & STORED) !== 0;
    const processed = (flags & PROCESSED) !== 0;
    if (sent) counts.sent += 1;
    if (acknowledged) counts.acknowledged += 1;
    if (stored) counts.stored += 1;
    if ((flags & DELIVERED) !== 0) counts.delivered += 1;
    if (processed) counts.processed += 1;

    const promised = ackNone ? sent && (flags & FAILED) === 0 : acknowledged;
    if (promised && !stored && lost.occurs()) {
      const id = ids.idOf(message);
      const sendLine = sent ? lineAt(history, tally.sendAt[message] ?? 0) : undefined;
      lost.keep(
        ackNone
          ? lostUnacknowledgedWitness(id, sendLine)
          : lostWitness(id, sendLine, eventAt(history, tally.ackAt[message] ?? 0, 'ack')),
      );
    }
    if (stored && !processed && unprocessed.occurs()) {
      unprocessed.keep(unprocessedWitness(ids.idOf(message), storedPlaces(tally, message)));
    }
    if ((flags & (STORED_AGAIN | PROCESSED_AGAIN)) !== 0 && duplicated.occurs()) {
      duplicated.keep(
        duplicatedWitness(ids.idOf(message), storedPlaces(tally, message), processedPlaces(tally, message)),
      );
    }
    const appearance = sent ? undefined : tally.unsentAppearances.get(message);
    if (appearance !== undefined && phantom.occurs()) {
      phantom.keep(phantomWitness(ids.idOf(message), lineAt(history, appearance.at), appearance.as));
    }
  }
  return counts;
}

/** Aborted reads and inconsistent offsets, in the order the places were first read. */
function judgePlaces(tally: Tally, findings: Findings): void {
  const { history, ids } = tally;
  const { 'aborted-read': abortedRead, 'inconsistent-offset': inconsistentOffset } = findings;
  const readLine = (read: PlaceRead) => ({
    id: ids.idOf(read.message),
    line: lineAt(history, read.at),
    kind: READ_KINDS[read.kind] ?? 'poll',
  });
  for (let place = 0; place < tally.placeCount; place++) {
    const flags = tally.placeFlags[place] ?? 0;
    if ((flags & (ABORTED | CONFLICTING)) === 0) continue;
    const partition = tally.partitionOf(place);
    const offset = tally.offsetOf(place);
    const firstRead = {
      message: tally.firstReadMessage[place] ?? 0,
      at: tally.firstReadAt[place] ?? 0,
      kind: flags >> FIRST_READ_SHIFT,
    };
    const abortedDrain = tally.abortedDrains.get(place);
    if ((flags & POLLED) !== 0 && abortedDrain !== undefined && abortedRead.occurs()) {
      const firstPoll = firstRead.kind === BY_POLL ? firstRead : tally.laterFirstPolls.get(place);
      if (firstPoll === undefined) throw new Error('checker: a polled place has no first poll');
      abortedRead.keep(abortedReadWitness(partition, offset, readLine(firstPoll), readLine(abortedDrain)));
    }
    const conflict = tally.conflicts.get(place);
    if (conflict !== undefined && inconsistentOffset.occurs()) {
      inconsistentOffset.keep(inconsistentOffsetWitness(partition, offset, readLine(firstRead), readLine(conflict)));
    }
  }
}

/**
 * Reorderings, group by group in order of appearance (by producer, then key). Each group's
 * acknowledged, stored sends are walked in send order, keeping per partition the send stored
 * highest so far; a send stored below it was overtaken by an earlier send.
 */
function judgeOrder(tally: Tally, reordered: FindingBuilder): void {
  const { history, ids } = tally;
  const walked = (message: number): boolean => ((tally.flags[message] ?? 0) & (ACKNOWLEDGED | STORED)) === (ACKNOWLEDGED | STORED);
  const seqOf = (message: number): number => tally.sendSeq[message] ?? 0;
  const orderedSend = (message: number): OrderedSend => {
    const send = eventAt(history, tally.sendAt[message] ?? 0, 'send');
    const place = lowestOf(storedPlaces(tally, message));
    if (place === undefined) throw new Error('checker: a walked send has no stored place');
    return { id: ids.idOf(message), seq: send.seq, sendLine: send.i, ackLine: lineAt(history, tally.ackAt[message] ?? 0), place };
  };
  /** Per partition, the send stored highest so far in the group being walked. */
  const highest = new Map<number, number>();
  const step = (group: number, message: number): void => {
    const place = tally.lowestPlace[message] ?? 0;
    const partition = tally.partitionOf(place);
    const offset = tally.offsetOf(place);
    const earlier = highest.get(partition);
    const earlierOffset = earlier === undefined ? undefined : tally.offsetOf(tally.lowestPlace[earlier] ?? 0);
    if (earlier === undefined || earlierOffset === undefined || offset > earlierOffset) {
      highest.set(partition, message);
      return;
    }
    if (offset === earlierOffset || !reordered.occurs()) return;
    const producer = tally.groupProducer[group] ?? 0;
    reordered.keep(reorderedWitness(producer, tally.groupKey[group] ?? '', orderedSend(earlier), orderedSend(message)));
  };

  for (const byKey of tally.groupsByProducer.values()) {
    for (const group of byKey.values()) {
      highest.clear();
      const first = tally.groupFirst[group] ?? NONE;
      if (tally.groupInSeqOrder[group] === true) {
        for (let message = first; message !== NONE; message = tally.nextInGroup[message] ?? NONE) {
          if (walked(message)) step(group, message);
        }
        continue;
      }
      // Acks may arrive in any order, but sends are walked by `seq`; sorting one group is only
      // needed when the recorder wrote its sends out of `seq` order. The sort is stable.
      const walk: number[] = [];
      for (let message = first; message !== NONE; message = tally.nextInGroup[message] ?? NONE) {
        if (walked(message)) walk.push(message);
      }
      walk.sort((a, b) => seqOf(a) - seqOf(b));
      for (const message of walk) step(group, message);
    }
  }
}
