// Dense integer indexes for the checker's tables. The checker keeps what it learns about each
// message and each place of the log in typed arrays indexed by small integers, because at 10^7
// history events a Map keyed by strings, and one object per message, outgrow the processor's
// caches and the garbage collector's comfort by far. These are the pieces that turn ids and
// places into such integers, and the arrays that grow to hold them.

import { messageId } from './message-id.js';

/** Slots per page of a PairIndex: 4096 slots of 4 bytes are 16 KiB. */
const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

/**
 * True for an integer in [0, 2^31): what a PairIndex can take, and what offsets and sequences are.
 * -0 passes as well, and is the same slot as 0, just as `${-0}` is '0'.
 */
export function isSmallIndex(value: number): boolean {
  return (value | 0) === value && value >= 0;
}

/**
 * A map from a pair of small non-negative integers (a producer and its sequence number, a partition
 * and an offset) to a dense index. The second integer addresses a slot in pages of PAGE_SIZE slots,
 * allocated when first touched, so memory follows the range of values a history really uses and a
 * lookup is two array loads, with no hashing and no allocation once the page exists.
 */
export class PairIndex {
  /** Per first integer, the pages of slots; a slot holds the index plus one, 0 when empty. */
  private readonly pagesByFirst: (Int32Array | undefined)[][] = [];

  /** `pool`: where pages come from, zeroed (see ColumnPool). */
  constructor(private readonly pool: ColumnPool) {}

  /**
   * The index stored for (first, second), or, when there is none, stores `candidate` there and
   * returns it: a caller tells a new pair by getting its own candidate back. Both integers must
   * pass isSmallIndex.
   */
  intern(first: number, second: number, candidate: number): number {
    let pages = this.pagesByFirst[first];
    if (pages === undefined) {
      pages = [];
      this.pagesByFirst[first] = pages;
    }
    const pageNumber = second >>> PAGE_BITS;
    let page = pages[pageNumber];
    if (page === undefined) {
      page = this.pool.page();
      pages[pageNumber] = page;
    }
    const slot = second & PAGE_MASK;
    const stored = page[slot] ?? 0;
    if (stored !== 0) return stored - 1;
    page[slot] = candidate + 1;
    return candidate;
  }
}

/** The index stored for `key` in `map`, or, when there is none, `candidate`, stored there. */
export function internKey<K>(map: Map<K, number>, key: K, candidate: number): number {
  const found = map.get(key);
  if (found !== undefined) return found;
  map.set(key, candidate);
  return candidate;
}

const DIGIT_0 = 0x30;
const LETTER_P = 0x70;
const MAX_DIGITS = 9;
/** The most digits either number of a runner's id `p<producer>-<seq>` has for IdIndex to parse it. */
export const MAX_RUNNER_ID_DIGITS = MAX_DIGITS;

/**
 * The value of the decimal digits text[from, to), or -1 unless they are 1 to 9 digits without a
 * leading zero: the canonical spelling of a number below 10^9, the only one that round-trips.
 */
function canonicalDigits(text: string, from: number, to: number): number {
  const count = to - from;
  if (count < 1 || count > MAX_DIGITS) return -1;
  if (count > 1 && text.charCodeAt(from) === DIGIT_0) return -1;
  let value = 0;
  for (let at = from; at < to; at++) {
    const digit = text.charCodeAt(at) - DIGIT_0;
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Gives each distinct message id a dense index, in the order the ids are first seen. Ids of the
 * runner's form `p<producer>-<seq>` (spec/history.md) are parsed into their two numbers and looked
 * up in a PairIndex, which is cheap and, because one producer's sequences are handed out in order,
 * walks memory almost in order; any other id (a hand-written test, another adapter) goes to a Map.
 * Only the canonical spelling is parsed (no leading zeros, no sign), so that two different strings
 * can never share an index: `p01-5` is not `p1-5`, and goes to the Map. The id itself is kept as
 * its two numbers, in typed arrays that need no garbage collection, and spelled out again only
 * for a witness; only the other ids are kept as strings.
 */
export class IdIndex {
  private count = 0;
  private producers: Int32Array;
  /** The sequence of a parsed id, or -1 for an id kept in `others`. */
  private seqs: Int32Array;
  private readonly others = new Map<number, string>();
  private readonly bySequence: PairIndex;
  private readonly byText = new Map<string, number>();

  /**
   * `capacity`: how many ids to make room for at first; more are room made by doubling. `pool`:
   * where its arrays come from.
   */
  constructor(
    capacity: number,
    private readonly pool: ColumnPool,
  ) {
    this.producers = pool.column(Int32Array, capacity);
    this.seqs = pool.column(Int32Array, capacity);
    this.bySequence = new PairIndex(pool);
  }

  /** The dense index of `id`; a new id gets the next one, which equals the size before the call. */
  indexOf(id: string): number {
    if (id.charCodeAt(0) === LETTER_P) {
      const dash = id.indexOf('-', 1);
      if (dash > 0) {
        const producer = canonicalDigits(id, 1, dash);
        const seq = producer < 0 ? -1 : canonicalDigits(id, dash + 1, id.length);
        if (seq >= 0) return this.indexOfRunnerId(producer, seq);
      }
    }
    const candidate = this.count;
    const found = internKey(this.byText, id, candidate);
    if (found === candidate) {
      this.others.set(candidate, id);
      this.add(0, -1);
    }
    return found;
  }

  /**
   * The dense index of the id `p<producer>-<seq>`, from its two numbers: what indexOf of that id
   * gives when both are written canonically in at most MAX_RUNNER_ID_DIGITS digits, as the id's
   * reader must have found them.
   */
  indexOfRunnerId(producer: number, seq: number): number {
    const candidate = this.count;
    const found = this.bySequence.intern(producer, seq, candidate);
    if (found === candidate) this.add(producer, seq);
    return found;
  }

  /** The id of an index. */
  idOf(index: number): string {
    const seq = this.seqs[index] ?? -1;
    return seq < 0 ? (this.others.get(index) ?? '') : messageId(this.producers[index] ?? 0, seq);
  }

  private add(producer: number, seq: number): void {
    const index = this.count++;
    this.producers = this.pool.grown(this.producers, index + 1);
    this.seqs = this.pool.grown(this.seqs, index + 1);
    this.producers[index] = producer;
    this.seqs[index] = seq;
  }
}

type Column = Int32Array | Float64Array | Uint16Array | Uint8Array;
type ColumnConstructor<T extends Column> = new (length: number) => T;

/** A spare column longer than this many times what is asked is not worth zeroing for it. */
const MAX_SPARE_WASTE = 4;
/** Spare columns kept between checks, besides pages: a check uses about twenty. */
const MAX_SPARE_COLUMNS = 64;

/**
 * Typed arrays lent to one check and kept for the next. Allocating the checker's tables is cheap,
 * but V8 counts typed arrays as external memory, and once more than 64 MiB of it appears since the
 * last full collection, V8 marks the whole heap. A history of 10^7 events is about 1.7 GB of small
 * objects, and its tables about 150 MB, so every check of it paid a full collection of 1.2 to 1.5
 * seconds, as long again as the check itself. Reusing the tables of the previous check costs a
 * zeroing pass instead, which is what makes repeated checks in one process (repeated runs,
 * sensitivity, specificity, the micro-benchmark) linear in the history's length. The first check in
 * a process still allocates, and at that size still pays one collection.
 *
 * Everything handed out since the last reclaim() is lent; reclaim() makes it all spare again, so
 * the owner must not use any of it afterwards.
 */
export class ColumnPool {
  private readonly spareColumns: Column[] = [];
  private readonly sparePages: Int32Array[] = [];
  private lentColumns: Column[] = [];
  private lentPages: Int32Array[] = [];

  /** A zeroed column of at least `length` entries. */
  column<T extends Column>(Make: ColumnConstructor<T>, length: number): T {
    let best = -1;
    for (let at = 0; at < this.spareColumns.length; at++) {
      const spare = this.spareColumns[at];
      if (!(spare instanceof Make) || spare.length < length || spare.length > MAX_SPARE_WASTE * Math.max(length, PAGE_SIZE)) continue;
      if (best < 0 || spare.length < (this.spareColumns[best]?.length ?? 0)) best = at;
    }
    let column: T;
    if (best < 0) {
      column = new Make(length);
    } else {
      // The instanceof test above is what makes this the asked-for type.
      column = this.spareColumns.splice(best, 1)[0] as T;
      column.fill(0);
    }
    this.lentColumns.push(column);
    return column;
  }

  /** A zeroed page of a PairIndex: PAGE_SIZE slots. */
  page(): Int32Array {
    const spare = this.sparePages.pop();
    const page = spare === undefined ? new Int32Array(PAGE_SIZE) : spare.fill(0);
    this.lentPages.push(page);
    return page;
  }

  /**
   * `column` itself when it has room for `needed` entries, else a copy of it at least twice as
   * long, so that growing one entry at a time costs amortized constant time per entry.
   */
  grown<T extends Column>(column: T, needed: number): T {
    if (needed <= column.length) return column;
    // Every typed array's constructor takes a length; TypeScript types `constructor` as Function.
    const Make = column.constructor as ColumnConstructor<T>;
    const copy = this.column(Make, Math.max(needed, column.length * 2));
    copy.set(column);
    return copy;
  }

  /** Takes back everything lent: the borrower is done with it. */
  reclaim(): void {
    this.spareColumns.push(...this.lentColumns);
    // The newest columns are the likeliest to fit the next check; the oldest go first.
    this.spareColumns.splice(0, Math.max(0, this.spareColumns.length - MAX_SPARE_COLUMNS));
    for (const page of this.lentPages) this.sparePages.push(page);
    this.lentColumns = [];
    this.lentPages = [];
  }
}
