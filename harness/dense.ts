// Dense integer indexes for the checker's tables. The checker keeps what it learns about each
// message and each place of the log in typed arrays indexed by small integers, because at 10^7
// history events a Map keyed by strings, and one object per message, outgrow the processor's
// caches and the garbage collector's comfort by far. These are the pieces that turn ids and
// places into such integers, and the arrays that grow to hold them.

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
      page = new Int32Array(PAGE_SIZE);
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
  private readonly bySequence = new PairIndex();
  private readonly byText = new Map<string, number>();

  /** `capacity`: how many ids to make room for at first; more are room made by doubling. */
  constructor(capacity: number) {
    this.producers = new Int32Array(capacity);
    this.seqs = new Int32Array(capacity);
  }

  /** The dense index of `id`; a new id gets the next one, which equals the size before the call. */
  indexOf(id: string): number {
    const candidate = this.count;
    if (id.charCodeAt(0) === LETTER_P) {
      const dash = id.indexOf('-', 1);
      if (dash > 0) {
        const producer = canonicalDigits(id, 1, dash);
        const seq = producer < 0 ? -1 : canonicalDigits(id, dash + 1, id.length);
        if (seq >= 0) {
          const found = this.bySequence.intern(producer, seq, candidate);
          if (found === candidate) this.add(producer, seq);
          return found;
        }
      }
    }
    const found = internKey(this.byText, id, candidate);
    if (found === candidate) {
      this.others.set(candidate, id);
      this.add(0, -1);
    }
    return found;
  }

  /** The id of an index. */
  idOf(index: number): string {
    const seq = this.seqs[index] ?? -1;
    return seq < 0 ? (this.others.get(index) ?? '') : `p${this.producers[index] ?? 0}-${seq}`;
  }

  private add(producer: number, seq: number): void {
    const index = this.count++;
    this.producers = grown(this.producers, index + 1);
    this.seqs = grown(this.seqs, index + 1);
    this.producers[index] = producer;
    this.seqs[index] = seq;
  }
}

type Column = Int32Array | Float64Array | Uint16Array | Uint8Array;

/**
 * `column` itself when it has room for `needed` entries, else a copy of it at least twice as long,
 * so that growing one entry at a time costs amortized constant time per entry.
 */
export function grown<T extends Column>(column: T, needed: number): T {
  if (needed <= column.length) return column;
  // Every typed array's constructor takes a length; TypeScript types `constructor` as Function.
  const Make = column.constructor as new (length: number) => T;
  const copy = new Make(Math.max(needed, column.length * 2));
  copy.set(column);
  return copy;
}
