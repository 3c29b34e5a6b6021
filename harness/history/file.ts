// Reads a history file (spec/history.md) back into events, fast enough for 10^7 lines
// (bench/micro/check-file.ts measures it), and refuses anything that is not a history with one
// line that names the file, the line and what is wrong there.
//
// Speed: at 10^7 lines JSON.parse alone would be slower than the target of 2 M events/s, so the
// common lines (send, ack, poll, process, drain) are read by a scanner of their exact layout
// (harness/history/parse.ts) that declines anything else; the other lines, and any it declines,
// go to JSON.parse and are then checked field by field. The file is read in large chunks.
// `deliverycheck check` does not use readHistoryFile but the same pieces (readLineChunks,
// parseLine), feeding the checker without making the events (harness/history/check.ts).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { HistoryEvent } from '../../spec/history.js';
import { HISTORY_EVENT_TYPES } from '../../spec/vocabulary.js';
import { scanCommonLine } from './parse.js';

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

/** The event of one line for JSON.parse; throws a HistoryFileError naming the line. */
export function parseLine(file: string, text: string, line: number): HistoryEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = text.trim() === '' ? 'an empty line' : `not JSON (${error instanceof Error ? error.message : String(error)})`;
    throw new HistoryFileError(file, line, `not a history line: ${detail}`);
  }
  const problem = problemOf(value, line);
  if (problem !== undefined) throw new HistoryFileError(file, line, problem);
  return value as HistoryEvent;
}

/**
 * Whole lines of a history file, as readLineChunks hands them over: the first `length` bytes of
 * `buffer`, the first line numbered `firstLine`, at `fileOffset` in the file. The byte at `length`
 * is a newline: the last line's own, or one put there when the file's last line has none, so
 * every line ends in one and a scanner stops there.
 */
export interface LineChunk {
  readonly buffer: Buffer;
  readonly length: number;
  readonly firstLine: number;
  readonly fileOffset: number;
}

/** The line [start, end) of a chunk as UTF-8 decodes it: what JSON.parse must be given. */
export function lineText(chunk: LineChunk, start: number, end: number): string {
  return chunk.buffer.toString('utf8', start, end);
}

/**
 * Reads an open history file in chunks of whole lines and hands each to `onChunk`, which returns
 * how many lines the chunk held; returns how many lines the file held. Throws a HistoryFileError
 * for a line too long to be a history line, and for a last line cut short.
 */
export function readLineChunks(file: string, fd: number, onChunk: (chunk: LineChunk) => number): number {
  // Bytes are cut at their last newline: a newline byte is never part of a multi-byte UTF-8
  // character, so each piece, and each line of it, decodes on its own.
  let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let kept = 0;
  let nextLine = 1;
  let fileOffset = 0;
  for (;;) {
    if (kept === buffer.length) {
      if (kept > MAX_LINE_BYTES) throw new HistoryFileError(file, nextLine, `not a history line: longer than ${MAX_LINE_BYTES} bytes`);
      const larger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(larger, 0, 0, kept);
      buffer = larger;
    }
    const read = readSync(fd, buffer, kept, buffer.length - kept, null);
    if (read === 0) break;
    const filled = kept + read;
    const end = buffer.lastIndexOf(10, filled - 1);
    if (end < 0) {
      kept = filled;
      continue;
    }
    nextLine += onChunk({ buffer, length: end, firstLine: nextLine, fileOffset });
    fileOffset += end + 1;
    kept = filled - end - 1;
    buffer.copy(buffer, 0, end + 1, filled);
  }
  if (kept > 0) {
    // The last line has no newline. A whole line is taken as it is; a cut one is what a run
    // killed in the middle of a write leaves, and is refused with that said.
    try {
      JSON.parse(buffer.toString('utf8', 0, kept));
    } catch {
      throw new HistoryFileError(file, nextLine, 'the last line is cut short (no newline at its end, not JSON): remove it to check the lines before');
    }
    if (kept === buffer.length) {
      const larger = Buffer.allocUnsafe(kept + 1);
      buffer.copy(larger, 0, 0, kept);
      buffer = larger;
    }
    buffer[kept] = 10;
    nextLine += onChunk({ buffer, length: kept, firstLine: nextLine, fileOffset });
  }
  return nextLine - 1;
}

/**
 * Appends the events of a chunk's lines to `events`. Throws a HistoryFileError at the first line
 * that is not a history line.
 */
function parseLines(file: string, chunk: LineChunk, events: HistoryEvent[]): number {
  const { buffer } = chunk;
  let line = chunk.firstLine;
  let start = 0;
  for (;;) {
    // The chunk's newline at `length` ends the search.
    const end = buffer.indexOf(10, start);
    events.push(scanCommonLine(buffer, start, end, line) ?? parseLine(file, lineText(chunk, start, end), line));
    if (end >= chunk.length) return line - chunk.firstLine + 1;
    start = end + 1;
    line++;
  }
}

/** Opens a history file for reading, or throws the HistoryFileError that says why it cannot. */
export function openHistoryFile(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new HistoryFileError(file, 0, `cannot read it: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new HistoryFileError(file, 0, 'not a regular file');
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** The refusal of a file without a single line. */
export function emptyHistoryError(file: string): HistoryFileError {
  return new HistoryFileError(file, 0, 'empty: not a history');
}

/** Reads and parses one history file. Throws HistoryFileError for anything that is not one. */
export function readHistoryFile(file: string): HistoryEvent[] {
  const fd = openHistoryFile(file);
  try {
    const events: HistoryEvent[] = [];
    readLineChunks(file, fd, (chunk) => parseLines(file, chunk, events));
    if (events.length === 0) throw emptyHistoryError(file);
    return events;
  } finally {
    closeSync(fd);
  }
}
