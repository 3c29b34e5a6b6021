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
// The checker is linear in the length of the history: one pass fills Maps keyed by id and by
// place, and a second pass over those Maps judges each id and place. The only sorting is of the
// few lines of one witness, and of one producer's sends of one key when the history did not list
// them in `seq` order (which a correct recorder never does).

import type { AckEvent, HistoryEvent, PlacedRecord, SendEvent } from '../spec/history.js';
import type { AnomalyVerdict, Counts } from '../spec/result.js';
import type { Anomaly, Expectation } from '../spec/vocabulary.js';
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
  type Appearance,
  type OrderedSend,
  type PlacedLine,
} from './witnesses.js';

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

type ReadKind = 'poll' | 'process' | 'drain';

/** Everything the history says about one message id. */
interface MessageFacts {
  /** The first send of the id; a resend of the same id by the application is not a new message. */
  send?: SendEvent;
  ackLine?: number;
  ackEvent?: AckEvent;
  /** A send that ended in an error was never promised, whatever the ack mode. */
  errorLine?: number;
  /** Distinct places where the drain found the id, not counting aborted records. */
  readonly stored: PlacedLine[];
  readonly processed: PlacedLine[];
  delivered: boolean;
  /** The first line that delivered, stored or processed the id: the evidence of a phantom. */
  firstAppearance?: { readonly line: number; readonly as: Appearance };
}

interface Read {
  readonly id: string;
  readonly line: number;
  readonly kind: ReadKind;
}

/** Everything the history says about one (partition, offset). */
interface PlaceFacts {
  readonly partition: number;
  readonly offset: number;
  readonly firstRead: Read;
  /** The first read that returned a different id from the first read. */
  conflict?: Read;
  firstPoll?: Read;
  abortedDrain?: Read;
}

/** One producer's sends of one key, in history order. */
interface SendGroup {
  readonly producer: number;
  readonly key: string;
  readonly ids: string[];
  /** False when some send came with a lower `seq` than the send before it. */
  inSeqOrder: boolean;
  lastSeq: number;
}

function placeKey(partition: number, offset: number): string {
  return `${partition}:${offset}`;
}

function lowestPlace(places: readonly PlacedLine[]): PlacedLine | undefined {
  let lowest: PlacedLine | undefined;
  for (const place of places) if (lowest === undefined || place.offset < lowest.offset) lowest = place;
  return lowest;
}

/** Checks a history for every anomaly. Pure: the same history always gives the same result. */
export function check(history: readonly HistoryEvent[]): CheckResult {
  let ackMode: string | undefined;
  /** Commit mode `transactional`: processed means present in the committed output topic. */
  let pipeline = false;
  const messages = new Map<string, MessageFacts>();
  const places = new Map<string, PlaceFacts>();
  // Keys are `${id}\n${place}`: a drain that lists the same record twice does not make it a duplicate.
  const storedPairs = new Set<string>();
  const groups = new Map<number, Map<string, SendGroup>>();

  const factsOf = (id: string): MessageFacts => {
    let facts = messages.get(id);
    if (facts === undefined) {
      facts = { stored: [], processed: [], delivered: false };
      messages.set(id, facts);
    }
    return facts;
  };

  const appear = (facts: MessageFacts, line: number, as: Appearance): void => {
    if (facts.firstAppearance === undefined) facts.firstAppearance = { line, as };
  };

  const read = (record: PlacedRecord, line: number, kind: ReadKind): PlaceFacts => {
    const key = placeKey(record.partition, record.offset);
    const current: Read = { id: record.id, line, kind };
    let place = places.get(key);
    if (place === undefined) {
      place = { partition: record.partition, offset: record.offset, firstRead: current };
      places.set(key, place);
    } else if (place.conflict === undefined && place.firstRead.id !== record.id) {
      place.conflict = current;
    }
    return place;
  };

  for (const event of history) {
    switch (event.type) {
      case 'setup':
        if (ackMode === undefined) ackMode = event.ack;
        if (event.commit === 'transactional') pipeline = true;
        break;
      case 'send': {
        const facts = factsOf(event.id);
        if (facts.send !== undefined) break;
        facts.send = event;
        let byKey = groups.get(event.producer);
        if (byKey === undefined) {
          byKey = new Map();
          groups.set(event.producer, byKey);
        }
        let group = byKey.get(event.key);
        if (group === undefined) {
          group = { producer: event.producer, key: event.key, ids: [], inSeqOrder: true, lastSeq: event.seq };
          byKey.set(event.key, group);
        }
        if (event.seq < group.lastSeq) group.inSeqOrder = false;
        group.lastSeq = event.seq;
        group.ids.push(event.id);
        break;
      }
      case 'ack': {
        const facts = factsOf(event.id);
        if (facts.ackLine === undefined) {
          facts.ackLine = event.i;
          facts.ackEvent = event;
        }
        break;
      }
      case 'error': {
        const facts = factsOf(event.id);
        facts.errorLine ??= event.i;
        break;
      }
      case 'poll':
        for (const record of event.records) {
          const facts = factsOf(record.id);
          facts.delivered = true;
          appear(facts, event.i, 'delivered');
          const place = read(record, event.i, 'poll');
          if (place.firstPoll === undefined) place.firstPoll = { id: record.id, line: event.i, kind: 'poll' };
        }
        break;
      case 'process': {
        const facts = factsOf(event.id);
        // A pipeline's processing counts only once its transaction committed the output.
        if (!pipeline) facts.processed.push({ partition: event.partition, offset: event.offset, line: event.i });
        appear(facts, event.i, 'processed');
        read(event, event.i, 'process');
        break;
      }
      case 'drain': {
        if (event.output === true) {
          // The output topic has places of its own: its records are the pipeline's processing.
          if (event.aborted === true || !pipeline) break;
          const facts = factsOf(event.id);
          facts.processed.push({ partition: event.partition, offset: event.offset, line: event.i });
          appear(facts, event.i, 'processed');
          break;
        }
        const place = read(event, event.i, 'drain');
        if (event.aborted === true) {
          if (place.abortedDrain === undefined) place.abortedDrain = { id: event.id, line: event.i, kind: 'drain' };
          break;
        }
        const facts = factsOf(event.id);
        appear(facts, event.i, 'stored');
        const pair = `${event.id}\n${placeKey(event.partition, event.offset)}`;
        if (!storedPairs.has(pair)) {
          storedPairs.add(pair);
          facts.stored.push({ partition: event.partition, offset: event.offset, line: event.i });
        }
        break;
      }
      default:
        // Phases, commits, faults and info events explain a run but decide no anomaly.
        break;
    }
  }

  const ackNone = ackMode === 'none';
  const counts = { sent: 0, acknowledged: 0, stored: 0, delivered: 0, processed: 0 };
  const lost = new FindingBuilder();
  const unprocessed = new FindingBuilder();
  const duplicated = new FindingBuilder();
  const phantom = new FindingBuilder();

  for (const [id, facts] of messages) {
    const sent = facts.send !== undefined;
    const acknowledged = facts.ackLine !== undefined;
    const stored = facts.stored.length > 0;
    const processed = facts.processed.length > 0;
    if (sent) counts.sent += 1;
    if (acknowledged) counts.acknowledged += 1;
    if (stored) counts.stored += 1;
    if (facts.delivered) counts.delivered += 1;
    if (processed) counts.processed += 1;

    const promised = ackNone ? sent && facts.errorLine === undefined : acknowledged;
    if (promised && !stored && lost.occurs()) {
      lost.keep(
        ackNone || facts.ackEvent === undefined
          ? lostUnacknowledgedWitness(id, facts.send?.i)
          : lostWitness(id, facts.send?.i, facts.ackEvent),
      );
    }
    if (stored && !processed && unprocessed.occurs()) unprocessed.keep(unprocessedWitness(id, facts.stored));
    const duplicate = facts.stored.length > 1 || facts.processed.length > 1;
    if (duplicate && duplicated.occurs()) duplicated.keep(duplicatedWitness(id, facts.stored, facts.processed));
    const first = facts.firstAppearance;
    if (!sent && first !== undefined && phantom.occurs()) phantom.keep(phantomWitness(id, first.line, first.as));
  }

  const reordered = new FindingBuilder();
  for (const byKey of groups.values()) {
    for (const group of byKey.values()) checkOrder(group, messages, reordered);
  }

  const abortedRead = new FindingBuilder();
  const inconsistentOffset = new FindingBuilder();
  for (const place of places.values()) {
    const { partition, offset, firstPoll, abortedDrain, firstRead, conflict } = place;
    if (firstPoll !== undefined && abortedDrain !== undefined && abortedRead.occurs()) {
      abortedRead.keep(abortedReadWitness(partition, offset, firstPoll, abortedDrain));
    }
    if (conflict !== undefined && inconsistentOffset.occurs()) {
      inconsistentOffset.keep(inconsistentOffsetWitness(partition, offset, firstRead, conflict));
    }
  }

  return {
    counts,
    anomalies: {
      lost: lost.finish(),
      unprocessed: unprocessed.finish(),
      duplicated: duplicated.finish(),
      reordered: reordered.finish(),
      phantom: phantom.finish(),
      'aborted-read': abortedRead.finish(),
      'inconsistent-offset': inconsistentOffset.finish(),
    },
  };
}

/** The highest stored offset among a group's earlier sends in one partition, and whose it is. */
type Highest = OrderedSend;

/**
 * Walks one producer's acknowledged, stored sends of one key in send order, keeping the highest
 * offset stored so far per partition; a send stored below it was overtaken by an earlier send.
 */
function checkOrder(group: SendGroup, messages: ReadonlyMap<string, MessageFacts>, reordered: FindingBuilder): void {
  const walk: OrderedSend[] = [];
  for (const id of group.ids) {
    const facts = messages.get(id);
    const send = facts?.send;
    const ackLine = facts?.ackLine;
    if (facts === undefined || send === undefined || ackLine === undefined) continue;
    const place = lowestPlace(facts.stored);
    if (place !== undefined) walk.push({ id, seq: send.seq, sendLine: send.i, ackLine, place });
  }
  // Acks may arrive in any order, but sends are walked by `seq`; sorting one group is only needed
  // when the recorder wrote its sends out of `seq` order.
  if (!group.inSeqOrder) walk.sort((a, b) => a.seq - b.seq);

  const highestByPartition = new Map<number, Highest>();
  for (const current of walk) {
    const { place } = current;
    const highest = highestByPartition.get(place.partition);
    if (highest === undefined || place.offset > highest.place.offset) {
      highestByPartition.set(place.partition, current);
      continue;
    }
    if (place.offset === highest.place.offset) continue;
    if (reordered.occurs()) reordered.keep(reorderedWitness(group.producer, group.key, highest, current));
  }
}
