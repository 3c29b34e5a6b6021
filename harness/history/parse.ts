// A fast path for the common lines of a history file: send, ack, poll, process and drain lines
// as the recorder writes them (JSON.stringify of its events, so always the same keys in the same
// order), read with a scanner of their exact layout instead of JSON.parse. At 10^7 lines JSON.parse
// is most of the time of `deliverycheck check`, and these five kinds are nearly every line.
//
// The scanner is exact or it declines: it accepts only what JSON.parse would turn into the same
// object (strings of ASCII without escapes or control characters, integers without sign, leading
// zeros or exponent, `t` as digits with an optional fraction of few enough digits to be exact),
// and for anything else (another layout, another type, an escape, a byte outside ASCII, an
// optional field such as `aborted`) it declines and the caller parses the line with JSON.parse. A
// property test holds the scanner equal to JSON.parse (test/unit/history-file.test.ts).
//
// It reads the file's bytes, not a decoded string: a byte of a typed array is about three times
// quicker to read than a character of a string, and nothing needs decoding but the few strings
// kept. Outside ASCII, UTF-8 and a byte's own code differ, which is why such a byte is declined.
// Positions are passed and returned rather than kept in a variable of the module, which V8 would
// load and store in memory at every character.
//
// scanLine does not build the event: it leaves its fields in `scanned`, ids and keys as ranges of
// the bytes, so that the checker can be fed from them without an object or a string per line
// (harness/history/check.ts). scanCommonLine builds the event from them, for readHistoryFile.

import type { HistoryEvent, PlacedRecord } from '../../spec/history.js';
import { MAX_RUNNER_ID_DIGITS } from '../../core/dense.js';

const NEWLINE = 10;
const QUOTE = 34;
const DASH = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const BACKSLASH = 92;
const LETTER_E = 101;
const CAPITAL_E = 69;
const LETTER_P = 112;
const LETTER_O = 111;
/** Bytes from here on are not ASCII, and a string holding one is declined. */
const NOT_ASCII = 128;
/** More digits than this may not be exact in a double: such numbers go to JSON.parse. */
const MAX_DIGITS = 15;
const POWERS_OF_TEN = Array.from({ length: MAX_DIGITS + 1 }, (_, power) => 10 ** power);

/** What scanLine found on a line. */
export const DECLINED = 0;
export const SEND = 1;
export const ACK = 2;
export const POLL = 3;
export const PROCESS = 4;
export const DRAIN = 5;
export type ScannedKind = typeof DECLINED | typeof SEND | typeof ACK | typeof POLL | typeof PROCESS | typeof DRAIN;

/**
 * The fields of the line scanLine read last. Ids and keys are ranges [from, to) of the bytes it was
 * given; an id of the runner's form `p<producer>-<seq>`, spelled as IdIndex parses it, is also
 * given by its two numbers (idSeq is -1 for any other id). A poll's records are in the parallel
 * `record…` columns, the first `recordCount` entries.
 */
class ScannedLine {
  /** Where the line ends: at its newline. */
  end = 0;
  t = 0;
  idFrom = 0;
  idTo = 0;
  idProducer = 0;
  idSeq = -1;
  producer = 0;
  seq = 0;
  keyFrom = 0;
  keyTo = 0;
  consumer = 0;
  partition = 0;
  offset = 0;
  recordCount = 0;
  recordIdFrom = new Int32Array(64);
  recordIdTo = new Int32Array(64);
  recordIdProducer = new Int32Array(64);
  recordIdSeq = new Int32Array(64);
  recordPartition = new Float64Array(64);
  recordOffset = new Float64Array(64);

  /** Keeps the place just read as the next record of a poll. */
  pushRecord(): void {
    const index = this.recordCount++;
    if (index === this.recordIdFrom.length) {
      const room = index * 2;
      this.recordIdFrom = grownTo(this.recordIdFrom, new Int32Array(room));
      this.recordIdTo = grownTo(this.recordIdTo, new Int32Array(room));
      this.recordIdProducer = grownTo(this.recordIdProducer, new Int32Array(room));
      this.recordIdSeq = grownTo(this.recordIdSeq, new Int32Array(room));
      this.recordPartition = grownTo(this.recordPartition, new Float64Array(room));
      this.recordOffset = grownTo(this.recordOffset, new Float64Array(room));
    }
    this.recordIdFrom[index] = this.idFrom;
    this.recordIdTo[index] = this.idTo;
    this.recordIdProducer[index] = this.idProducer;
    this.recordIdSeq[index] = this.idSeq;
    this.recordPartition[index] = this.partition;
    this.recordOffset[index] = this.offset;
  }
}

function grownTo<T extends Int32Array | Float64Array>(column: T, longer: T): T {
  longer.set(column);
  return longer;
}

/** The one scratch line: a scan overwrites it, so read it before the next. */
export const scanned = new ScannedLine();

/** The number the last successful readInteger, readDecimal or readIdNumber read. */
let value = 0;

function isDigit(code: number | undefined): boolean {
  // Written so that undefined, past the end of the bytes, is no digit.
  return code !== undefined && code >= ZERO && code <= NINE;
}

/**
 * A non-negative integer at `position` in JSON's form (no leading zero but 0 itself), into
 * `value`; returns the position after it, or -1.
 */
function readInteger(bytes: Uint8Array, position: number): number {
  // Every reader takes -1, a failed step before it, and fails in turn.
  if (position < 0) return -1;
  const first = bytes[position];
  if (!isDigit(first)) return -1;
  if (first === ZERO) {
    value = 0;
    return isDigit(bytes[position + 1]) ? -1 : position + 1;
  }
  const after = readDigits(bytes, position, MAX_DIGITS);
  return isDigit(bytes[after]) ? -1 : after;
}

/** Up to `most` digits at `start`, their number into `value`; returns the position after them. */
function readDigits(bytes: Uint8Array, start: number, most: number): number {
  let position = start;
  let number = 0;
  while (position - start < most) {
    const code = bytes[position];
    if (code === undefined || !(code >= ZERO && code <= NINE)) break;
    number = number * 10 + (code - ZERO);
    position++;
  }
  value = number;
  return position;
}

/**
 * A non-negative number with an optional fraction at `position`, into `value`; returns the
 * position after it, or -1. The value is the integer of all its digits divided by a power of ten:
 * both exact, and IEEE division rounds correctly, so it is the double nearest the decimal, as
 * JSON.parse gives.
 */
function readDecimal(bytes: Uint8Array, start: number): number {
  let position = readInteger(bytes, start);
  if (position < 0) return -1;
  if (bytes[position] !== DOT) return position;
  let digits = position - start;
  let mantissa = value;
  let fraction = 0;
  position++;
  for (;;) {
    const code = bytes[position];
    if (code === undefined || !(code >= ZERO && code <= NINE)) break;
    mantissa = mantissa * 10 + (code - ZERO);
    fraction++;
    digits++;
    position++;
  }
  if (fraction === 0 || digits > MAX_DIGITS) return -1;
  const after = bytes[position];
  if (after === LETTER_E || after === CAPITAL_E) return -1; // an exponent: left to JSON.parse
  value = mantissa / (POWERS_OF_TEN[fraction] as number);
  return position;
}

/**
 * A string of ASCII without escapes or control characters at `position` (its opening quote);
 * returns the position after its closing quote, or -1. Its characters are the bytes between.
 */
function readString(bytes: Uint8Array, position: number): number {
  if (position < 0 || bytes[position] !== QUOTE) return -1;
  for (position++; ; position++) {
    const code = bytes[position];
    if (code === QUOTE) return position + 1;
    if (code === undefined || !(code >= 32 && code < NOT_ASCII) || code === BACKSLASH) return -1;
  }
}

/**
 * The canonical digits of one number of a runner's id at `position` (1 to MAX_RUNNER_ID_DIGITS,
 * no leading zero), into `value`; returns the position after them, or -1.
 */
function readIdNumber(bytes: Uint8Array, start: number): number {
  const position = readDigits(bytes, start, MAX_RUNNER_ID_DIGITS);
  const digits = position - start;
  if (digits === 0 || (digits > 1 && bytes[start] === ZERO) || isDigit(bytes[position])) return -1;
  return position;
}

/**
 * An id at `position` (its opening quote), as readString reads it, into scanned.idFrom, idTo and,
 * for a runner's id, idProducer and idSeq; returns the position after it, or -1.
 */
function readId(bytes: Uint8Array, quote: number): number {
  scanned.idSeq = -1;
  if (quote < 0) return -1;
  if (bytes[quote + 1] === LETTER_P) {
    let position = readIdNumber(bytes, quote + 2);
    const producer = value;
    if (position >= 0 && bytes[position] === DASH) {
      position = readIdNumber(bytes, position + 1);
      if (position >= 0 && bytes[position] === QUOTE) {
        scanned.idFrom = quote + 1;
        scanned.idTo = position;
        scanned.idProducer = producer;
        scanned.idSeq = value;
        return position + 1;
      }
    }
  }
  const after = readString(bytes, quote);
  if (after < 0) return -1;
  scanned.idFrom = quote + 1;
  scanned.idTo = after - 1;
  return after;
}

/** The bytes of an ASCII literal. */
function literal(text: string): Uint8Array {
  return Uint8Array.from(text, (character) => character.charCodeAt(0));
}

/** Steps over `expected` at `position`: the position after it, or -1 when the bytes there differ. */
function expect(bytes: Uint8Array, position: number, expected: Uint8Array): number {
  if (position < 0) return -1;
  for (let index = 0; index < expected.length; index++) {
    if (bytes[position + index] !== expected[index]) return -1;
  }
  return position + expected.length;
}

const LINE_START = literal('{"i":');
const T = literal(',"t":');
const TYPE = literal(',"type":"');
const SEND_ID = literal('send","id":');
const PRODUCER = literal(',"producer":');
const SEQ = literal(',"seq":');
const KEY = literal(',"key":');
const ACK_PRODUCER = literal('ack","producer":');
const PROCESS_CONSUMER = literal('process","consumer":');
const POLL_CONSUMER = literal('poll","consumer":');
const RECORDS = literal(',"records":[');
const DRAIN_TYPE = literal('drain",');
const ID = literal('"id":');
const PARTITION = literal(',"partition":');
const OFFSET = literal(',"offset":');
const COMMA = literal(',');
const OPEN = literal('{');
const CLOSE = literal('}');
const CLOSE_RECORDS = literal(']}');

/**
 * Reads the line that starts at `start` into `scanned` when it is a send, ack, poll, process or
 * drain line in the recorder's layout numbered `line`, and says which; DECLINED for any other line,
 * which only JSON.parse may read. The line must end in a newline byte, where the scanner stops
 * (scanned.end): a caller need not look for the newline first, and since the scanner declines at
 * any newline before, it never reads past that one.
 */
export function scanLine(bytes: Uint8Array, start: number, line: number): ScannedKind {
  let position = readInteger(bytes, expect(bytes, start, LINE_START));
  if (position < 0 || value !== line) return DECLINED;
  position = readDecimal(bytes, expect(bytes, position, T));
  if (position < 0) return DECLINED;
  scanned.t = value;
  position = expect(bytes, position, TYPE);
  if (position < 0) return DECLINED;
  let kind: ScannedKind;
  switch (bytes[position]) {
    case 115: // s
      kind = SEND;
      position = scanSend(bytes, position);
      break;
    case 97: // a
      kind = ACK;
      position = scanAck(bytes, position);
      break;
    case LETTER_P:
      if (bytes[position + 1] === LETTER_O) {
        kind = POLL;
        position = scanPoll(bytes, position);
      } else {
        kind = PROCESS;
        position = scanProcess(bytes, position);
      }
      break;
    case 100: // d
      kind = DRAIN;
      position = readPlace(bytes, expect(bytes, position, DRAIN_TYPE));
      break;
    default:
      return DECLINED;
  }
  if (position < 0 || bytes[position] !== NEWLINE) return DECLINED;
  scanned.end = position;
  return kind;
}

function scanSend(bytes: Uint8Array, start: number): number {
  let position = expect(bytes, readId(bytes, expect(bytes, start, SEND_ID)), PRODUCER);
  position = readInteger(bytes, position);
  if (position < 0) return -1;
  scanned.producer = value;
  position = readInteger(bytes, expect(bytes, position, SEQ));
  if (position < 0) return -1;
  scanned.seq = value;
  const keyQuote = expect(bytes, position, KEY);
  if (keyQuote < 0) return -1;
  position = readString(bytes, keyQuote);
  if (position < 0) return -1;
  scanned.keyFrom = keyQuote + 1;
  scanned.keyTo = position - 1;
  return expect(bytes, position, CLOSE);
}

/**
 * `"id":"…","partition":N,"offset":N}` at `position`, the tail of ack, process and drain lines
 * and a poll record without its opening brace, into scanned's id fields, partition and offset;
 * returns the position after it, or -1. A drain line's `aborted` and `output` are rare: such lines
 * go to JSON.parse.
 */
function readPlace(bytes: Uint8Array, start: number): number {
  let position = readInteger(bytes, expect(bytes, readId(bytes, expect(bytes, start, ID)), PARTITION));
  if (position < 0) return -1;
  scanned.partition = value;
  position = readInteger(bytes, expect(bytes, position, OFFSET));
  if (position < 0) return -1;
  scanned.offset = value;
  return expect(bytes, position, CLOSE);
}

function scanAck(bytes: Uint8Array, start: number): number {
  const position = readInteger(bytes, expect(bytes, start, ACK_PRODUCER));
  if (position < 0) return -1;
  scanned.producer = value;
  return readPlace(bytes, expect(bytes, position, COMMA));
}

function scanProcess(bytes: Uint8Array, start: number): number {
  const position = readInteger(bytes, expect(bytes, start, PROCESS_CONSUMER));
  if (position < 0) return -1;
  scanned.consumer = value;
  return readPlace(bytes, expect(bytes, position, COMMA));
}

/** `poll","consumer":N,"records":[{place},…]}`: every record is read before any is used. */
function scanPoll(bytes: Uint8Array, start: number): number {
  let position = readInteger(bytes, expect(bytes, start, POLL_CONSUMER));
  if (position < 0) return -1;
  scanned.consumer = value;
  position = expect(bytes, position, RECORDS);
  scanned.recordCount = 0;
  if (position < 0 || bytes[position] === 93) return expect(bytes, position, CLOSE_RECORDS); // ]
  for (;;) {
    position = readPlace(bytes, expect(bytes, position, OPEN));
    if (position < 0) return -1;
    scanned.pushRecord();
    if (bytes[position] !== 44) return expect(bytes, position, CLOSE_RECORDS); // not a comma
    position++;
  }
}

/** The ASCII bytes [from, to) as a string. */
export function asciiText(bytes: Buffer, from: number, to: number): string {
  return bytes.toString('latin1', from, to);
}

/** The records of the poll line scanLine read last. */
function scannedRecords(bytes: Buffer): PlacedRecord[] {
  const records: PlacedRecord[] = [];
  for (let index = 0; index < scanned.recordCount; index++) {
    records.push({
      id: asciiText(bytes, scanned.recordIdFrom[index] ?? 0, scanned.recordIdTo[index] ?? 0),
      partition: scanned.recordPartition[index] ?? 0,
      offset: scanned.recordOffset[index] ?? 0,
    });
  }
  return records;
}

/**
 * The event on the line that starts at `start` and ends at `end`, a newline byte, when scanLine
 * reads it; undefined when the fast path declines it. Its keys are in the recorder's order, as
 * JSON.parse gives them.
 */
export function scanCommonLine(bytes: Buffer, start: number, end: number, line: number): HistoryEvent | undefined {
  const kind = scanLine(bytes, start, line);
  if (kind === DECLINED || scanned.end !== end) return undefined;
  const { t } = scanned;
  const i = line;
  if (kind === POLL) return { i, t, type: 'poll', consumer: scanned.consumer, records: scannedRecords(bytes) };
  const id = asciiText(bytes, scanned.idFrom, scanned.idTo);
  const { partition, offset } = scanned;
  switch (kind) {
    case SEND:
      return { i, t, type: 'send', id, producer: scanned.producer, seq: scanned.seq, key: asciiText(bytes, scanned.keyFrom, scanned.keyTo) };
    case ACK:
      return { i, t, type: 'ack', producer: scanned.producer, id, partition, offset };
    case PROCESS:
      return { i, t, type: 'process', consumer: scanned.consumer, id, partition, offset };
    case DRAIN:
      return { i, t, type: 'drain', id, partition, offset };
  }
}
