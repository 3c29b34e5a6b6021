// A plain reference implementation of the checker, for tests only: Maps keyed by id and by
// place, one object per message, written for obviousness rather than speed. It is the checker as
// it was before its tables became dense typed arrays (harness/conformance/checker.ts says why), and
// checker-property.test.ts holds the two to the same results on randomised histories. Both word
// their witnesses through harness/conformance/witnesses.ts, so any difference is in what they found.

import { perAnomaly, type CheckResult } from '../../harness/conformance/checker.js';
import * as witnesses from '../../harness/conformance/witnesses.js';
import { FindingBuilder, type Appearance, type OrderedSend, type PlacedLine, type ReadKind } from '../../harness/conformance/witnesses.js';
import type { AckEvent, HistoryEvent, PlacedRecord, SendEvent } from '../../spec/history.js';
import type { Anomaly } from '../../spec/vocabulary.js';

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

/** Checks a history for every anomaly, the plain way. */
export function referenceCheck(history: readonly HistoryEvent[]): CheckResult {
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
          ? witnesses.lostUnacknowledgedWitness(id, facts.send?.i)
          : witnesses.lostWitness(id, facts.send?.i, facts.ackEvent),
      );
    }
    if (stored && !processed && unprocessed.occurs()) unprocessed.keep(witnesses.unprocessedWitness(id, facts.stored));
    const duplicate = facts.stored.length > 1 || facts.processed.length > 1;
    if (duplicate && duplicated.occurs()) duplicated.keep(witnesses.duplicatedWitness(id, facts.stored, facts.processed));
    const first = facts.firstAppearance;
    if (!sent && first !== undefined && phantom.occurs()) phantom.keep(witnesses.phantomWitness(id, first.line, first.as));
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
      abortedRead.keep(witnesses.abortedReadWitness(partition, offset, firstPoll, abortedDrain));
    }
    if (conflict !== undefined && inconsistentOffset.occurs()) {
      inconsistentOffset.keep(witnesses.inconsistentOffsetWitness(partition, offset, firstRead, conflict));
    }
  }

  const findings: Record<Anomaly, FindingBuilder> = {
    lost,
    unprocessed,
    duplicated,
    reordered,
    phantom,
    'aborted-read': abortedRead,
    'inconsistent-offset': inconsistentOffset,
  };
  return { counts, anomalies: perAnomaly((anomaly) => findings[anomaly].finish()) };
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
  // Acks may arrive in any order, but sends are walked by `seq`.
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
    if (reordered.occurs()) reordered.keep(witnesses.reorderedWitness(group.producer, group.key, highest, current));
  }
}
