// Checks a history file without holding its events: the lines are read in chunks
// (readLineChunks), the common ones scanned in place (harness/history/parse.ts) and fed to the
// checker by their fields (HistoryFeed in harness/conformance/tally.ts), the rest parsed and checked line by
// line as readHistoryFile does and fed whole. Nothing per event outlives its line but the checker's
// own tables; that is what makes `deliverycheck check` of 10^7 lines fast (bench/micro/check-file.ts):
// making and keeping an object per event cost more than scanning and judging together.
//
// A witness still needs the few events it names, and the result needs the first and last lines;
// those are read back from the file when asked for (FileHistory). The result is exactly that of
// check() on readHistoryFile's events, refusals included (a property test holds the two equal:
// test/unit/history-check.test.ts).

import { closeSync, fstatSync, readSync } from 'node:fs';
import type { HistoryEvent } from '../../spec/history.js';
import { checkFed, type CheckResult } from '../conformance/checker.js';
import { initialCapacity, type HistoryAccess, type HistoryFeed } from '../conformance/tally.js';
import {
  emptyHistoryError,
  HistoryFileError,
  lineText,
  openHistoryFile,
  parseLine,
  readLineChunks,
  type LineChunk,
} from './file.js';
import { ACK, asciiText, DECLINED, DRAIN, POLL, PROCESS, scanLine, scanned, SEND } from './parse.js';
import type { HistoryOutline } from '../conformance/outcome.js';

/**
 * The file offset of every STRIDE-th line start is kept, so that reading one line back reads at
 * most STRIDE lines (some 13 KB of a runner's history) and the offsets of 10^7 lines take 600 KB.
 */
const STRIDE_BITS = 7;
const STRIDE = 1 << STRIDE_BITS;
const STRIDE_MASK = STRIDE - 1;

/** About this many bytes make a line of a runner's history: a guess at the lines of a file from its size. */
const BYTES_PER_LINE = 100;

/**
 * The events of a history file by position, read back from the file: the checker asks for the
 * few that its witnesses name. The file must stay open, and unchanged, while it is asked.
 */
class FileHistory implements HistoryAccess {
  length = 0;
  /** The file offset of lines 1, STRIDE + 1, 2 STRIDE + 1, ..., and then of the end of the last line. */
  readonly strideStarts: number[] = [];
  /** The last stride read back, which a witness's next event is often in. */
  private cachedStride = -1;
  private cachedBytes = Buffer.alloc(0);

  constructor(
    private readonly file: string,
    private readonly fd: number,
  ) {}

  eventAt(at: number): HistoryEvent | undefined {
    if (!(at >= 0 && at < this.length)) return undefined;
    const stride = at >>> STRIDE_BITS;
    if (stride !== this.cachedStride) {
      const from = this.strideStarts[stride] ?? 0;
      const to = this.strideStarts[stride + 1] ?? from;
      const bytes = Buffer.allocUnsafe(to - from);
      let filled = 0;
      while (filled < bytes.length) {
        const read = readSync(this.fd, bytes, filled, bytes.length - filled, from + filled);
        if (read === 0) throw new HistoryFileError(this.file, at + 1, 'the file changed while it was checked');
        filled += read;
      }
      this.cachedStride = stride;
      this.cachedBytes = bytes;
    }
    const bytes = this.cachedBytes;
    let start = 0;
    for (let skip = at & STRIDE_MASK; skip > 0; skip--) start = bytes.indexOf(10, start) + 1;
    const newline = bytes.indexOf(10, start);
    // The lines were all read and checked once; parseLine checks again, in case the file changed.
    return parseLine(this.file, bytes.toString('utf8', start, newline < 0 ? bytes.length : newline), at + 1);
  }
}

/** A history file's verdicts and its outline, for resultOfOutline. */
export interface CheckedFile {
  readonly checked: CheckResult;
  readonly outline: HistoryOutline;
}

/**
 * Reads, validates and checks one history file: the checker's result is check()'s of the file's
 * events, and HistoryFileError refuses what readHistoryFile refuses, naming the same line.
 */
export function checkHistoryLines(file: string): CheckedFile {
  const fd = openHistoryFile(file);
  try {
    const history = new FileHistory(file, fd);
    let phase = 'setup';
    let bytes = 0;
    const keys = new KeyStrings();
    const capacity = initialCapacity(Math.ceil(fstatSync(fd).size / BYTES_PER_LINE));
    const checked = checkFed(history, capacity, (feed) => {
      history.length = readLineChunks(file, fd, (chunk) => {
        const lines = feedLines(file, chunk, feed, keys, history.strideStarts, (name) => {
          phase = name;
        });
        bytes = chunk.fileOffset + chunk.length;
        return lines;
      });
      if (history.length === 0) throw emptyHistoryError(file);
      // Where the last line ends: the last stride is read up to there.
      history.strideStarts.push(bytes);
    });
    return {
      checked,
      outline: { first: history.eventAt(0), last: history.eventAt(history.length - 1), length: history.length, phase },
    };
  } finally {
    closeSync(fd);
  }
}

/**
 * Feeds the lines of one chunk to the checker and returns how many there were; keeps the file
 * offsets of every STRIDE-th line in `strideStarts`, and tells `onPhase` the name of each phase line.
 */
function feedLines(
  file: string,
  chunk: LineChunk,
  feed: HistoryFeed,
  keys: KeyStrings,
  strideStarts: number[],
  onPhase: (name: string) => void,
): number {
  const { buffer } = chunk;
  let line = chunk.firstLine;
  let start = 0;
  for (;;) {
    const at = line - 1;
    if ((at & STRIDE_MASK) === 0) strideStarts.push(chunk.fileOffset + start);
    const kind = scanLine(buffer, start, line);
    let end = scanned.end;
    switch (kind) {
      case SEND:
        feed.send(at, scannedMessage(feed, buffer), scanned.producer, scanned.seq, keys.text(buffer, scanned.keyFrom, scanned.keyTo));
        break;
      case ACK:
        feed.ack(at, scannedMessage(feed, buffer));
        break;
      case POLL:
        for (let index = 0; index < scanned.recordCount; index++) {
          const seq = scanned.recordIdSeq[index] ?? -1;
          const message =
            seq >= 0
              ? feed.runnerMessage(scanned.recordIdProducer[index] ?? 0, seq)
              : feed.messageOf(asciiText(buffer, scanned.recordIdFrom[index] ?? 0, scanned.recordIdTo[index] ?? 0));
          feed.delivered(at, message, scanned.recordPartition[index] ?? 0, scanned.recordOffset[index] ?? 0);
        }
        break;
      case PROCESS:
        feed.process(at, scannedMessage(feed, buffer), scanned.partition, scanned.offset);
        break;
      case DRAIN:
        feed.stored(at, scannedMessage(feed, buffer), scanned.partition, scanned.offset);
        break;
      case DECLINED: {
        // The chunk's newline at `length` ends the search.
        end = buffer.indexOf(10, start);
        const event = parseLine(file, lineText(chunk, start, end), line);
        if (event.type === 'phase') onPhase(event.name);
        feed.event(event, at);
        break;
      }
    }
    if (end >= chunk.length) return line - chunk.firstLine + 1;
    start = end + 1;
    line++;
  }
}

/** The message of the id on the line scanLine read last. */
function scannedMessage(feed: HistoryFeed, bytes: Buffer): number {
  if (scanned.idSeq >= 0) return feed.runnerMessage(scanned.idProducer, scanned.idSeq);
  return feed.messageOf(asciiText(bytes, scanned.idFrom, scanned.idTo));
}

/** Slots of a KeyStrings: a power of two. */
const KEY_SLOTS = 4096;

/**
 * The strings of send keys, made once per distinct key rather than once per send: a send group is
 * found by its key's string, and a runner's history has few keys and millions of sends. A slot
 * holds the last key that hashed to it, so memory stays bounded whatever the history holds.
 */
class KeyStrings {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(KEY_SLOTS).fill(undefined);

  /** The ASCII bytes [from, to) as a string. */
  text(bytes: Buffer, from: number, to: number): string {
    let hash = 0x811c9dc5;
    for (let at = from; at < to; at++) hash = Math.imul(hash ^ (bytes[at] ?? 0), 0x01000193);
    const slot = hash & (KEY_SLOTS - 1);
    const kept = this.slots[slot];
    if (kept !== undefined && sameText(kept, bytes, from, to)) return kept;
    const made = asciiText(bytes, from, to);
    this.slots[slot] = made;
    return made;
  }
}

function sameText(text: string, bytes: Uint8Array, from: number, to: number): boolean {
  if (text.length !== to - from) return false;
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) !== bytes[from + index]) return false;
  return true;
}
