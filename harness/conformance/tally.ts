// The checker's first pass (checker.ts holds the rules it serves and the second pass): one walk
// over a history that fills tables indexed by message and by place, the flag bits of those
// tables, and the feed by which a history file hands its events over by their fields. It is
// apart from the judging because it is where the checker's speed is won (dense indexes, typed
// arrays, pooled columns, nothing allocated per event), while the judging is where its rules are
// read; each reads best without the other in the way.

import type { DrainEvent, HistoryEvent } from '../../spec/history.js';
import type { Appearance, ReadKind } from './witnesses.js';
import { IdIndex, internKey, isSmallIndex, PairIndex, type ColumnPool } from '../../core/dense.js';

/** Bits of a message's flags. */
export const SENT = 1 << 0;
export const ACKNOWLEDGED = 1 << 1;
/** Some send of it ended in an error. */
export const FAILED = 1 << 2;
export const DELIVERED = 1 << 3;
/**
 * Named by an event that makes it a message of the verdicts: every event that names an id but an
 * aborted drain record, which only reads its place.
 */
export const MENTIONED = 1 << 4;
/** Stored at one place at least, and at more than one. */
export const STORED = 1 << 5;
export const STORED_AGAIN = 1 << 6;
/** Processed once at least, and more than once. */
export const PROCESSED = 1 << 7;
export const PROCESSED_AGAIN = 1 << 8;
/** Delivered, stored or processed at least once. */
export const APPEARED = 1 << 9;

/** Bits of a place's flags. */
export const POLLED = 1 << 0;
/** Some read returned another id than the first read. */
export const CONFLICTING = 1 << 1;
/** A drain record marked aborted is at this place. */
export const ABORTED = 1 << 2;
/** Its partition or offset is not an integer an Int32Array holds exactly (see Tally.inexactPlaces). */
export const INEXACT = 1 << 3;
/** The kind of the place's first read sits above the flags. */
export const FIRST_READ_SHIFT = 4;
export const READ_KINDS: readonly ReadKind[] = ['poll', 'process', 'drain'];
/** Indexes into READ_KINDS. */
export const BY_POLL = 0, BY_PROCESS = 1, BY_DRAIN = 2;

/** No message, no place: the end of a group's list. */
export const NONE = -1;

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
export interface PlaceRead {
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
export class Tally implements HistoryFeed {
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
