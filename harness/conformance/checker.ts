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

import type { DrainEvent, HistoryEvent } from '../../spec/history.js';
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
  type Appearance,
  type OrderedSend,
  type PlacedLine,
  type ReadKind,
} from './witnesses.js';
import { ColumnPool, IdIndex, internKey, isSmallIndex, PairIndex } from '../../core/dense.js';

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

/** Bits of a message's flags. */
const SENT = 1 << 0;
const ACKNOWLEDGED = 1 << 1;
/** Some send of it ended in an error. */
const FAILED = 1 << 2;
const DELIVERED = 1 << 3;
/**
 * Named by an event that makes it a message of the verdicts: every event that names an id but an
 * aborted drain record, which only reads its place.
 */
const MENTIONED = 1 << 4;
/** Stored at one place at least, and at more than one. */
const STORED = 1 << 5;
const STORED_AGAIN = 1 << 6;
/** Processed once at least, and more than once. */
const PROCESSED = 1 << 7;
const PROCESSED_AGAIN = 1 << 8;
/** Delivered, stored or processed at least once. */
const APPEARED = 1 << 9;

/** Bits of a place's flags. */
const POLLED = 1 << 0;
/** Some read returned another id than the first read. */
const CONFLICTING = 1 << 1;
/** A drain record marked aborted is at this place. */
const ABORTED = 1 << 2;
/** Its partition or offset is not an integer an Int32Array holds exactly (see Tally.inexactPlaces). */
const INEXACT = 1 << 3;
/** The kind of the place's first read sits above the flags. */
const FIRST_READ_SHIFT = 4;
const READ_KINDS: readonly ReadKind[] = ['poll', 'process', 'drain'];
/** Indexes into READ_KINDS. */
const BY_POLL = 0, BY_PROCESS = 1, BY_DRAIN = 2;

/** No message, no place: the end of a group's list. */
const NONE = -1;

/**
 * Room for this many messages, and as many places, at first. A history of the runner has about
 * four lines per message (send, ack, process, drain, and a share of polls and commits), so a
 * quarter of its length is room enough, and the tables need not grow. Growing by doubling would
 * allocate as much again, and that matters more than the copying: while a history of 10^7 events
 * fills the heap, every hundred or so megabytes allocated makes V8 mark the whole heap, the
 * history's objects included, which takes a second or more each time.
 */
export function initialCapacity(lines: number): number {
  return Math.max(1024, Math.ceil(lines / 4));
}

/**
 * The events of a history at their positions, which is all the checker needs of a history once it
 * was fed: a witness is built from the few events it names. An array of events is one; a history
 * file (harness/history/check.ts) is another, which reads back the few lines asked for instead of
 * keeping every event in memory.
 */
export interface HistoryAccess {
  /** The event at a 0-based position, or undefined past the end. */
  eventAt(at: number): HistoryEvent | undefined;
}

/**
 * What the one pass is fed, event by event, with `at` the event's position: the common events by
 * their fields alone, so that a reader of a history file can feed them straight from its text
 * without making an event object, and any other event whole. A message is named by its dense
 * index, from messageOf or runnerMessage. Fed in history order, it reaches what check() of the same
 * events in an array reaches.
 */
export interface HistoryFeed {
  /** Any event, as check() takes it from an array. */
  event(event: HistoryEvent, at: number): void;
  /** The message of an id. */
  messageOf(id: string): number;
  /** The message of the id `p<producer>-<seq>`, as IdIndex.indexOfRunnerId takes its numbers. */
  runnerMessage(producer: number, seq: number): number;
  send(at: number, message: number, producer: number, seq: number, key: string): void;
  ack(at: number, message: number): void;
  /** One record of a poll. */
  delivered(at: number, message: number, partition: number, offset: number): void;
  process(at: number, message: number, partition: number, offset: number): void;
  /** A drain record that is neither `aborted` nor `output`. */
  stored(at: number, message: number, partition: number, offset: number): void;
}

/** One read of a place, kept only for the rare conflicting and aborted reads. */
interface PlaceRead {
  readonly message: number;
  /** The read's position in the history. */
  readonly at: number;
  readonly kind: number;
}

/**
 * Everything the history says about its messages and places, in one pass. Each message is a
 * dense index (IdIndex) and each (partition, offset) another (PairIndex); what is known about
 * them sits in typed arrays under that index. Events are referred to by their position in the
 * history array (`at`), so a witness can be built from the event itself when it is wanted, and
 * nothing is copied for the many messages that need none. Positions, not line numbers, because
 * a position always finds its event; the line printed in a witness is the event's own `i`.
 */
class Tally implements HistoryFeed {
  ackMode: string | undefined;
  /** Commit mode `transactional`: processed means present in the committed output topic. */
  pipeline = false;

  readonly ids: IdIndex;
  /** Per message: SENT, ACKNOWLEDGED, ... */
  flags = new Uint16Array(0);
  /** Per message, the first send and the first ack, when its flag is set. */
  /** How many messages every message column has room for; see growMessages. */
  private messageRoom = 0;
  /** How many places every place column has room for. */
  private placeRoom = 0;
  sendAt = new Int32Array(0);
  /**
   * Per sent message, the `seq` of its first send, for the rare group sent out of `seq` order:
   * sorting it by the events themselves would read one event per comparison, and a history file
   * reads an event back from disk.
   */
  sendSeq = new Float64Array(0);
  ackAt = new Int32Array(0);
  /**
   * The first appearance of each message that appeared before any send of it: the evidence of a
   * phantom. A message sent before it appeared can never be one, and in a runner's history that
   * is every message, so this Map stays small.
   */
  readonly unsentAppearances = new Map<number, { readonly at: number; readonly as: Appearance }>();
  /** Per message, the first drain record that stored it and the first processing, when flagged. */
  storedAt = new Int32Array(0);
  processedAt = new Int32Array(0);
  /** Per stored message, the place with the lowest offset it is stored at (the first such). */
  lowestPlace = new Int32Array(0);
  /** Per sent message, the next message its producer sent with its key, or NONE. */
  nextInGroup = new Int32Array(0);
  /** The second and later places of the few messages stored or processed more than once. */
  readonly moreStoredAt = new Map<number, number[]>();
  readonly moreProcessedAt = new Map<number, number[]>();
  /** Messages in the order they were first mentioned: the order of the verdicts and witnesses. */
  mentioned = new Int32Array(0);
  mentionedCount = 0;

  /** Send groups: one producer's sends of one key, by producer, then key, in order of appearance. */
  readonly groupsByProducer = new Map<number, Map<string, number>>();
  readonly groupProducer: number[] = [];
  readonly groupKey: string[] = [];
  /** The group's first and last sends, in the order they were written. */
  readonly groupFirst: number[] = [];
  readonly groupLast: number[] = [];
  /** False when some send came with a lower `seq` than the send before it. */
  readonly groupInSeqOrder: boolean[] = [];
  readonly groupLastSeq: number[] = [];

  placeCount = 0;
  private readonly placeIndex: PairIndex;
  /** Places whose partition or offset is not a small integer, which PairIndex cannot hold. */
  private readonly placeByText = new Map<string, number>();
  /** Per place, the partition and offset its first read named, unless the place is INEXACT. */
  placePartition = new Int32Array(0);
  placeOffset = new Int32Array(0);
  /** The partition and offset of INEXACT places: not small integers, or -0, which reads as 0. */
  private readonly inexactPlaces = new Map<number, { readonly partition: number; readonly offset: number }>();
  /** Per place: POLLED, CONFLICTING, ABORTED and the kind of its first read. */
  placeFlags = new Uint8Array(0);
  firstReadMessage = new Int32Array(0);
  firstReadAt = new Int32Array(0);
  /** The first message a drain stored at the place, plus one; 0 for none. */
  storedMessage = new Int32Array(0);
  /**
   * The first poll of a place whose first read was not a poll; where it was, that read is the
   * first poll. Consumers poll before they process and the drain comes last, so this stays small.
   */
  readonly laterFirstPolls = new Map<number, PlaceRead>();
  readonly conflicts = new Map<number, PlaceRead>();
  readonly abortedDrains = new Map<number, PlaceRead>();
  /**
   * `${message}:${place}` for a drain record at a place where the drain stored another message
   * first: only an inconsistent offset makes one, so these few pairs may be strings.
   */
  private readonly otherStoredPairs = new Set<string>();

  /** `capacity`: room for this many messages and places at first (see initialCapacity). */
  constructor(
    readonly history: HistoryAccess,
    capacity: number,
    private readonly pool: ColumnPool,
  ) {
    this.ids = new IdIndex(capacity, pool);
    this.placeIndex = new PairIndex(pool);
    this.growMessages(capacity);
    this.growPlaces(capacity);
  }

  /** The one pass over an array of events. No allocation per event but when a table grows. */
  run(history: readonly HistoryEvent[]): this {
    for (let at = 0; at < history.length; at++) {
      const event = history[at];
      if (event !== undefined) this.event(event, at);
    }
    return this;
  }

  event(event: HistoryEvent, at: number): void {
    switch (event.type) {
      case 'setup':
        if (this.ackMode === undefined) this.ackMode = event.ack;
        if (event.commit === 'transactional') this.pipeline = true;
        break;
      case 'send':
        this.send(at, this.messageOf(event.id), event.producer, event.seq, event.key);
        break;
      case 'ack':
        this.ack(at, this.messageOf(event.id));
        break;
      case 'error': {
        const message = this.messageOf(event.id);
        this.mention(message);
        this.flags[message] = (this.flags[message] ?? 0) | FAILED;
        break;
      }
      case 'poll': {
        const records = event.records;
        for (let index = 0; index < records.length; index++) {
          const record = records[index];
          if (record !== undefined) this.delivered(at, this.messageOf(record.id), record.partition, record.offset);
        }
        break;
      }
      case 'process':
        this.process(at, this.messageOf(event.id), event.partition, event.offset);
        break;
      case 'drain':
        this.drain(event, at);
        break;
      default:
        // Phases, commits, faults and info events explain a run but decide no anomaly.
        break;
    }
  }

  send(at: number, message: number, producer: number, seq: number, key: string): void {
    this.mention(message);
    const flags = this.flags[message] ?? 0;
    // The first send of an id counts; a resend of the same id by the application is not a new message.
    if ((flags & SENT) !== 0) return;
    this.flags[message] = flags | SENT;
    this.sendAt[message] = at;
    this.sendSeq[message] = seq;
    this.nextInGroup[message] = NONE;
    const group = this.groupOf(producer, key, seq, message);
    const last = this.groupLast[group] ?? NONE;
    if (last !== message) this.nextInGroup[last] = message;
    this.groupLast[group] = message;
  }

  ack(at: number, message: number): void {
    this.mention(message);
    const flags = this.flags[message] ?? 0;
    if ((flags & ACKNOWLEDGED) === 0) {
      this.flags[message] = flags | ACKNOWLEDGED;
      this.ackAt[message] = at;
    }
  }

  process(at: number, message: number, partition: number, offset: number): void {
    this.mention(message);
    // A pipeline's processing counts only once its transaction committed the output.
    if (!this.pipeline) this.addProcessed(message, at);
    this.appear(message, at, 'processed');
    this.read(message, partition, offset, at, BY_PROCESS);
  }

  /** The send group of a producer and key, made with `message` as its first send when new. */
  private groupOf(producer: number, key: string, seq: number, message: number): number {
    let byKey = this.groupsByProducer.get(producer);
    if (byKey === undefined) {
      byKey = new Map();
      this.groupsByProducer.set(producer, byKey);
    }
    let group = byKey.get(key);
    if (group === undefined) {
      group = this.groupKey.length;
      byKey.set(key, group);
      this.groupProducer.push(producer);
      this.groupKey.push(key);
      this.groupFirst.push(message);
      this.groupLast.push(message);
      this.groupInSeqOrder.push(true);
      this.groupLastSeq.push(seq);
    }
    if (seq < (this.groupLastSeq[group] ?? seq)) this.groupInSeqOrder[group] = false;
    this.groupLastSeq[group] = seq;
    return group;
  }

  delivered(at: number, message: number, partition: number, offset: number): void {
    this.mention(message);
    this.flags[message] = (this.flags[message] ?? 0) | DELIVERED;
    this.appear(message, at, 'delivered');
    const place = this.read(message, partition, offset, at, BY_POLL);
    const placeFlags = this.placeFlags[place] ?? 0;
    if ((placeFlags & POLLED) === 0) {
      this.placeFlags[place] = placeFlags | POLLED;
      if (placeFlags >> FIRST_READ_SHIFT !== BY_POLL) this.laterFirstPolls.set(place, { message, at, kind: BY_POLL });
    }
  }

  private drain(event: DrainEvent, at: number): void {
    if (event.output === true) {
      // The output topic has places of its own: its records are the pipeline's processing.
      if (event.aborted === true || !this.pipeline) return;
      const message = this.messageOf(event.id);
      this.mention(message);
      this.addProcessed(message, at);
      this.appear(message, at, 'processed');
      return;
    }
    if (event.aborted === true) {
      const message = this.messageOf(event.id);
      const place = this.read(message, event.partition, event.offset, at, BY_DRAIN);
      const placeFlags = this.placeFlags[place] ?? 0;
      if ((placeFlags & ABORTED) === 0) {
        this.placeFlags[place] = placeFlags | ABORTED;
        this.abortedDrains.set(place, { message, at, kind: BY_DRAIN });
      }
      return;
    }
    this.stored(at, this.messageOf(event.id), event.partition, event.offset);
  }

  stored(at: number, message: number, partition: number, offset: number): void {
    this.mention(message);
    const place = this.read(message, partition, offset, at, BY_DRAIN);
    this.appear(message, at, 'stored');
    // A drain that lists the same record twice does not make it a duplicate.
    if (this.firstStoredThere(message, place)) this.addStored(message, at, place);
  }

  /** The dense index of a message id, with room for it in every table. */
  messageOf(id: string): number {
    const message = this.ids.indexOf(id);
    if (message >= this.messageRoom) this.growMessages(message + 1);
    return message;
  }

  runnerMessage(producer: number, seq: number): number {
    const message = this.ids.indexOfRunnerId(producer, seq);
    if (message >= this.messageRoom) this.growMessages(message + 1);
    return message;
  }

  /** Makes a message one of the verdicts', in the order of first mention. */
  private mention(message: number): void {
    const flags = this.flags[message] ?? 0;
    if ((flags & MENTIONED) === 0) {
      this.flags[message] = flags | MENTIONED;
      this.mentioned[this.mentionedCount++] = message;
    }
  }

  /** Keeps the first line that delivered, stored or processed a message: the evidence of a phantom. */
  private appear(message: number, at: number, as: Appearance): void {
    const flags = this.flags[message] ?? 0;
    if ((flags & APPEARED) !== 0) return;
    this.flags[message] = flags | APPEARED;
    if ((flags & SENT) === 0) this.unsentAppearances.set(message, { at, as });
  }

  private addStored(message: number, at: number, place: number): void {
    const flags = this.flags[message] ?? 0;
    if ((flags & STORED) === 0) {
      this.flags[message] = flags | STORED;
      this.storedAt[message] = at;
      this.lowestPlace[message] = place;
      return;
    }
    this.flags[message] = flags | STORED_AGAIN;
    pushTo(this.moreStoredAt, message, at);
    const lowest = this.lowestPlace[message] ?? place;
    if (this.offsetOf(place) < this.offsetOf(lowest)) this.lowestPlace[message] = place;
  }

  private addProcessed(message: number, at: number): void {
    const flags = this.flags[message] ?? 0;
    if ((flags & PROCESSED) === 0) {
      this.flags[message] = flags | PROCESSED;
      this.processedAt[message] = at;
      return;
    }
    this.flags[message] = flags | PROCESSED_AGAIN;
    pushTo(this.moreProcessedAt, message, at);
  }

  /** Records a read of (partition, offset) that returned `message`; returns the place's index. */
  private read(message: number, partition: number, offset: number, at: number, kind: number): number {
    const candidate = this.placeCount;
    const small = isSmallIndex(partition) && isSmallIndex(offset);
    const place = small
      ? this.placeIndex.intern(partition, offset, candidate)
      : internKey(this.placeByText, `${partition}:${offset}`, candidate);
    if (place === candidate) {
      this.placeCount = candidate + 1;
      if (place >= this.placeRoom) this.growPlaces(place + 1);
      if (small && !Object.is(partition, -0) && !Object.is(offset, -0)) {
        this.placePartition[place] = partition;
        this.placeOffset[place] = offset;
        this.placeFlags[place] = kind << FIRST_READ_SHIFT;
      } else {
        this.inexactPlaces.set(place, { partition, offset });
        this.placeFlags[place] = INEXACT | (kind << FIRST_READ_SHIFT);
      }
      this.firstReadMessage[place] = message;
      this.firstReadAt[place] = at;
      return place;
    }
    const placeFlags = this.placeFlags[place] ?? 0;
    if ((placeFlags & CONFLICTING) === 0 && this.firstReadMessage[place] !== message) {
      this.placeFlags[place] = placeFlags | CONFLICTING;
      this.conflicts.set(place, { message, at, kind });
    }
    return place;
  }

  /** The partition of a place, as its first read named it. */
  partitionOf(place: number): number {
    if (((this.placeFlags[place] ?? 0) & INEXACT) === 0) return this.placePartition[place] ?? 0;
    return this.inexactPlaces.get(place)?.partition ?? 0;
  }

  /** The offset of a place, as its first read named it. */
  offsetOf(place: number): number {
    if (((this.placeFlags[place] ?? 0) & INEXACT) === 0) return this.placeOffset[place] ?? 0;
    return this.inexactPlaces.get(place)?.offset ?? 0;
  }

  /** Whether the drain names `message` at `place` for the first time. */
  private firstStoredThere(message: number, place: number): boolean {
    const there = this.storedMessage[place] ?? 0;
    if (there === 0) {
      this.storedMessage[place] = message + 1;
      return true;
    }
    if (there === message + 1) return false;
    const pair = `${message}:${place}`;
    if (this.otherStoredPairs.has(pair)) return false;
    this.otherStoredPairs.add(pair);
    return true;
  }

  /**
   * Room for `needed` messages: made at first, then by doubling when initialCapacity guessed low.
   * Every column gets at least the same room, and only that room counts as room: the pool may
   * lend a spare longer than asked, and a typed array silently drops writes past its end, so
   * judging the room by one column left another, shorter one losing entries after a few checks.
   */
  private growMessages(needed: number): void {
    const room = Math.max(needed, this.messageRoom * 2);
    this.messageRoom = room;
    needed = room;
    this.flags = this.pool.grown(this.flags, needed);
    this.sendAt = this.pool.grown(this.sendAt, needed);
    this.sendSeq = this.pool.grown(this.sendSeq, needed);
    this.ackAt = this.pool.grown(this.ackAt, needed);
    this.storedAt = this.pool.grown(this.storedAt, needed);
    this.processedAt = this.pool.grown(this.processedAt, needed);
    this.lowestPlace = this.pool.grown(this.lowestPlace, needed);
    this.nextInGroup = this.pool.grown(this.nextInGroup, needed);
    this.mentioned = this.pool.grown(this.mentioned, needed);
  }

  /** Room for `needed` places, as growMessages makes room for messages. */
  private growPlaces(needed: number): void {
    const room = Math.max(needed, this.placeRoom * 2);
    this.placeRoom = room;
    needed = room;
    this.placePartition = this.pool.grown(this.placePartition, needed);
    this.placeOffset = this.pool.grown(this.placeOffset, needed);
    this.placeFlags = this.pool.grown(this.placeFlags, needed);
    this.firstReadMessage = this.pool.grown(this.firstReadMessage, needed);
    this.firstReadAt = this.pool.grown(this.firstReadAt, needed);
    this.storedMessage = this.pool.grown(this.storedMessage, needed);
  }
}

/** Appends `value` to the list of `key`, making the list when it is the first. */
function pushTo(lists: Map<number, number[]>, key: number, value: number): void {
  const list = lists.get(key);
  if (list === undefined) lists.set(key, [value]);
  else list.push(value);
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
