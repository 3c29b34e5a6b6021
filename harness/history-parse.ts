// A fast path for the common lines of a history file: send, ack, process and drain lines as the
// recorder writes them (JSON.stringify of its events, so always the same keys in the same order),
// read with a scanner of their exact layout instead of JSON.parse. At 10^7 lines JSON.parse is
// most of the time of `deliverycheck check`, and these four kinds are nine lines in ten.
//
// The scanner is exact or it declines: it accepts only what JSON.parse would turn into the same
// object (strings without escapes or control characters, integers without sign, leading zeros or
// exponent, `t` as digits with an optional fraction of few enough digits to be exact), and for
// anything else (another layout, another type, an escape, an optional field such as `aborted`)
// it returns undefined and the caller parses the line with JSON.parse. A property test holds the
// two equal (test/unit/history-file.test.ts).

import type { HistoryEvent } from '../spec/history.js';

const QUOTE = 34;
const BACKSLASH = 92;
const ZERO = 48;
const NINE = 57;
const DOT = 46;
/** More digits than this may not be exact in a double: such numbers go to JSON.parse. */
const MAX_DIGITS = 15;
const POWERS_OF_TEN = Array.from({ length: MAX_DIGITS + 1 }, (_, power) => 10 ** power);

/** Where the scanner stopped; set by every successful read. */
let at = 0;

/** A non-negative integer at `at` in JSON's form (no leading zero but 0 itself), or -1. */
function readInteger(text: string): number {
  let position = at;
  let value = 0;
  const first = text.charCodeAt(position);
  if (first < ZERO || first > NINE) return -1;
  if (first === ZERO) {
    at = position + 1;
    const next = text.charCodeAt(at);
    return next >= ZERO && next <= NINE ? -1 : 0;
  }
  while (position - at < MAX_DIGITS) {
    const code = text.charCodeAt(position);
    if (code < ZERO || code > NINE) break;
    value = value * 10 + (code - ZERO);
    position++;
  }
  const after = text.charCodeAt(position);
  if (after >= ZERO && after <= NINE) return -1;
  at = position;
  return value;
}

/**
 * A non-negative number with an optional fraction at `at`, or -1. The value is the integer of all
 * its digits divided by a power of ten: both exact, and IEEE division rounds correctly, so it is
 * the double nearest the decimal, as JSON.parse gives.
 */
function readDecimal(text: string): number {
  const start = at;
  const whole = readInteger(text);
  if (whole < 0) return -1;
  if (text.charCodeAt(at) !== DOT) return whole;
  let position = at + 1;
  let digits = at - start;
  let mantissa = whole;
  let fraction = 0;
  for (;;) {
    const code = text.charCodeAt(position);
    if (code < ZERO || code > NINE) break;
    mantissa = mantissa * 10 + (code - ZERO);
    fraction++;
    digits++;
    position++;
  }
  if (fraction === 0 || digits > MAX_DIGITS) return -1;
  const after = text.charCodeAt(position);
  if (after === 101 || after === 69) return -1; // an exponent: left to JSON.parse
  at = position;
  return mantissa / (POWERS_OF_TEN[fraction] as number);
}

/** A string without escapes or control characters at `at` (its opening quote), or undefined. */
function readString(text: string): string | undefined {
  if (text.charCodeAt(at) !== QUOTE) return undefined;
  const start = at + 1;
  let position = start;
  for (;;) {
    const code = text.charCodeAt(position);
    if (code === QUOTE) break;
    if (code === BACKSLASH || code < 32 || Number.isNaN(code)) return undefined;
    position++;
  }
  at = position + 1;
  return text.slice(start, position);
}

/** Steps over `literal` at `at`; false when the text there is something else. */
function expect(text: string, literal: string): boolean {
  if (!text.startsWith(literal, at)) return false;
  at += literal.length;
  return true;
}

/**
 * The event on the line that starts at `start` and ends at `end` (its newline, or the text's
 * end), when it is a send, ack, process or drain line in the recorder's layout numbered `line`;
 * undefined when the fast path declines it.
 */
export function scanCommonLine(text: string, start: number, end: number, line: number): HistoryEvent | undefined {
  at = start;
  if (!expect(text, '{"i":') || readInteger(text) !== line) return undefined;
  if (!expect(text, ',"t":')) return undefined;
  const t = readDecimal(text);
  if (t < 0 || !expect(text, ',"type":"')) return undefined;
  let event: HistoryEvent | undefined;
  switch (text.charCodeAt(at)) {
    case 115: // s
      event = scanSend(text, line, t);
      break;
    case 97: // a
      event = scanAck(text, line, t);
      break;
    case 112: // p
      event = scanProcess(text, line, t);
      break;
    case 100: // d
      event = scanDrain(text, line, t);
      break;
    default:
      return undefined;
  }
  return event !== undefined && at === end ? event : undefined;
}

function scanSend(text: string, i: number, t: number): HistoryEvent | undefined {
  if (!expect(text, 'send","id":')) return undefined;
  const id = readString(text);
  if (id === undefined || !expect(text, ',"producer":')) return undefined;
  const producer = readInteger(text);
  if (producer < 0 || !expect(text, ',"seq":')) return undefined;
  const seq = readInteger(text);
  if (seq < 0 || !expect(text, ',"key":')) return undefined;
  const key = readString(text);
  if (key === undefined || !expect(text, '}')) return undefined;
  return { i, t, type: 'send', id, producer, seq, key };
}

/** The id, partition and offset read by readPlace. */
let placeId = '';
let placePartition = 0;
let placeOffset = 0;

/** `"id":"…","partition":N,"offset":N}` at `at`, the tail of ack, process and drain lines. */
function readPlace(text: string): boolean {
  if (!expect(text, '"id":')) return false;
  const id = readString(text);
  if (id === undefined || !expect(text, ',"partition":')) return false;
  placePartition = readInteger(text);
  if (placePartition < 0 || !expect(text, ',"offset":')) return false;
  placeOffset = readInteger(text);
  // A drain line's `aborted` and `output` are rare: such lines go to JSON.parse.
  if (placeOffset < 0 || !expect(text, '}')) return false;
  placeId = id;
  return true;
}

function scanAck(text: string, i: number, t: number): HistoryEvent | undefined {
  if (!expect(text, 'ack","producer":')) return undefined;
  const producer = readInteger(text);
  if (producer < 0 || !expect(text, ',') || !readPlace(text)) return undefined;
  return { i, t, type: 'ack', producer, id: placeId, partition: placePartition, offset: placeOffset };
}

function scanProcess(text: string, i: number, t: number): HistoryEvent | undefined {
  if (!expect(text, 'process","consumer":')) return undefined;
  const consumer = readInteger(text);
  if (consumer < 0 || !expect(text, ',') || !readPlace(text)) return undefined;
  return { i, t, type: 'process', consumer, id: placeId, partition: placePartition, offset: placeOffset };
}

function scanDrain(text: string, i: number, t: number): HistoryEvent | undefined {
  if (!expect(text, 'drain",') || !readPlace(text)) return undefined;
  return { i, t, type: 'drain', id: placeId, partition: placePartition, offset: placeOffset };
}
