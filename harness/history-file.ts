// Reads a history file (spec/history.md) back into events, fast enough for 10^7 lines
// (bench/micro/check-file.ts measures it), and refuses anything that is not a history with one
// line that names the file, the line and what is wrong there.
//
// Speed: one JSON.parse per line costs more in calls than in parsing, so the file is read in
// large chunks and each chunk's lines are parsed by one call as the elements of one array (a
// history line is one JSON object, and JSON escapes every newline inside a string, so each
// newline in the file ends a line). Only when a chunk does not parse, or an element is not the
// history line its position says, are its lines parsed one by one, to find the line at fault.
// Every element's `i` must be its line number; that finds lines lost, added, doubled or shuffled,
// and histories run together. One thing the fast path cannot see is a line that holds two whole
// events numbered in turn (`{"i":5,...},{"i":6,...}`): it takes them as two lines. No recorder
// writes that; it is left unchecked rather than count every newline, which would cost as much
// as the parse saves.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { HistoryEvent } from '../spec/history.js';
import { HISTORY_EVENT_TYPES } from '../spec/vocabulary.js';

/** Bytes read at a time: big enough that a chunk's JSON.parse call costs nothing in comparison. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/** A longer line is no history line: it is refused rather than read into memory whole. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export class HistoryFileError extends Error {
  constructor(
    readonly file: string,
    /** 1-based; 0 when the fault is the file's as a whole. */
    readonly line: number,
    readonly problem: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`);
    this.name = 'HistoryFileError';
  }
}

type FieldKind = 'string' | 'number' | 'array' | 'object';

/** The fields the checker and the verdict read of each type of line, and what each must be. */
const REQUIRED: Readonly<Record<HistoryEvent['type'], readonly (readonly [string, FieldKind])[]>> = {
  setup: [
    ['scenario', 'string'],
    ['file', 'string'],
    ['adapter', 'string'],
    ['seed', 'number'],
    ['topic', 'string'],
    ['partitions', 'number'],
    ['ack', 'string'],
    ['commit', 'string'],
    ['isolation', 'string'],
    ['defects', 'array'],
  ],
  phase: [['name', 'string']],
  send: [
    ['id', 'string'],
    ['producer', 'number'],
    ['seq', 'number'],
    ['key', 'string'],
  ],
  ack: [
    ['producer', 'number'],
    ['id', 'string'],
    ['partition', 'number'],
    ['offset', 'number'],
  ],
  error: [
    ['producer', 'number'],
    ['id', 'string'],
    ['error', 'string'],
  ],
  poll: [
    ['consumer', 'number'],
    ['records', 'array'],
  ],
  process: [
    ['consumer', 'number'],
    ['id', 'string'],
    ['partition', 'number'],
    ['offset', 'number'],
  ],
  commit: [
    ['consumer', 'number'],
    ['offsets', 'object'],
  ],
  'commit-error': [
    ['consumer', 'number'],
    ['offsets', 'object'],
    ['error', 'string'],
  ],
  fault: [
    ['do', 'string'],
    ['result', 'string'],
  ],
  info: [
    ['source', 'string'],
    ['message', 'string'],
  ],
  drain: [
    ['id', 'string'],
    ['partition', 'number'],
    ['offset', 'number'],
  ],
  end: [],
};

const PLACED: readonly (readonly [string, FieldKind])[] = [
  ['id', 'string'],
  ['partition', 'number'],
  ['offset', 'number'],
];

const TYPES: ReadonlySet<string> = new Set(HISTORY_EVENT_TYPES);

function hasKind(value: unknown, kind: FieldKind): boolean {
  if (kind === 'array') return Array.isArray(value);
  if (kind === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
  return typeof value === kind;
}

/** Why a parsed value is not the history line numbered `line`, or undefined when it is one. */
function problemOf(value: unknown, line: number): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a history line: not a JSON object';
  const event = value as Record<string, unknown>;
  if (event.i !== line) return `not a history line: its i is ${JSON.stringify(event.i)}, not its line number ${line}`;
  if (typeof event.t !== 'number') return 'not a history line: it has no number t';
  const type = event.type;
  if (typeof type !== 'string' || !TYPES.has(type)) return `not a history line: unknown type ${JSON.stringify(type)}`;
  for (const [field, kind] of REQUIRED[type as HistoryEvent['type']]) {
    if (!hasKind(event[field], kind)) return `a ${type} line needs ${field} as ${kind === 'array' || kind === 'object' ? `an ${kind}` : `a ${kind}`}`;
  }
  if (type === 'poll') {
    for (const [index, record] of (event.records as unknown[]).entries()) {
      if (typeof record !== 'object' || record === null) return `a poll line's records[${index}] is not an object`;
      for (const [field, kind] of PLACED) {
        if (!hasKind((record as Record<string, unknown>)[field], kind)) return `a poll line's records[${index}] needs ${field} as a ${kind}`;
      }
    }
  }
  return undefined;
}

/**
 * Appends the events of `lines` (whole lines joined by newlines, the first numbered `firstLine`)
 * to `events`. Throws a HistoryFileError at the first line that is not a history line.
 */
function parseLines(file: string, lines: string, firstLine: number, events: HistoryEvent[]): void {
  let parsed: unknown[] | undefined;
  try {
    parsed = JSON.parse(`[${lines.replaceAll('\n', ',')}]`) as unknown[];
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined) {
    const start = events.length;
    let good = true;
    for (let k = 0; k < parsed.length; k++) {
      if (problemOf(parsed[k], firstLine + k) !== undefined) {
        good = false;
        break;
      }
    }
    if (good) {
      for (let k = 0; k < parsed.length; k++) events.push(parsed[k] as HistoryEvent);
      return;
    }
    events.length = start;
  }
  // Slow path: one line at a time, to name the first line at fault.
  const split = lines.split('\n');
  for (let k = 0; k < split.length; k++) {
    const line = firstLine + k;
    const text = split[k] as string;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const detail = text.trim() === '' ? 'an empty line' : `not JSON (${error instanceof Error ? error.message : String(error)})`;
      throw new HistoryFileError(file, line, `not a history line: ${detail}`);
    }
    const problem = problemOf(value, line);
    if (problem !== undefined) throw new HistoryFileError(file, line, problem);
    events.push(value as HistoryEvent);
  }
}

/** Reads and parses one history file. Throws HistoryFileError for anything that is not one. */
export function readHistoryFile(file: string): HistoryEvent[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new HistoryFileError(file, 0, `cannot read it: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new HistoryFileError(file, 0, 'not a regular file');
    const events: HistoryEvent[] = [];
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let carry = '';
    let nextLine = 1;
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (read === 0) break;
      const text = carry + decoder.write(buffer.subarray(0, read));
      const end = text.lastIndexOf('\n');
      if (end < 0) {
        carry = text;
      } else {
        const whole = text.slice(0, end);
        carry = text.slice(end + 1);
        const before = events.length;
        parseLines(file, whole, nextLine, events);
        nextLine += events.length - before;
      }
      if (carry.length > MAX_LINE_BYTES) {
        throw new HistoryFileError(file, nextLine, `not a history line: longer than ${MAX_LINE_BYTES} bytes`);
      }
    }
    carry += decoder.end();
    if (carry !== '') {
      // The last line has no newline. A whole line is taken as it is; a cut one is what a run
      // killed in the middle of a write leaves, and is refused with that said.
      try {
        JSON.parse(carry);
      } catch {
        throw new HistoryFileError(file, nextLine, 'the last line is cut short (no newline at its end, not JSON): remove it to check the lines before');
      }
      parseLines(file, carry, nextLine, events);
    }
    if (events.length === 0) throw new HistoryFileError(file, 0, 'empty: not a history');
    return events;
  } finally {
    closeSync(fd);
  }
}
