// Records a run's history: numbers and times each event, keeps it for the checker, and, when
// asked, writes it as JSON Lines while the run goes, so a run that dies can still be checked.
//
// What is buffered is written out at least every FLUSH_INTERVAL_MS of real time, by a timer that
// does not keep the process alive, and at once at every fault and phase change, so a SIGKILLed
// run loses at most about the last 100 ms of its events (more only while the event loop is held
// up, which the reference broker never does for long: it yields after every simulated event).
// Writes are whole lines, so what a killed run leaves ends with a whole line but in the rare case
// that the kill lands inside a write. An ordinary exit (process.exit, a second Ctrl-C) flushes
// every open history in the 'exit' handler.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HistoryEvent, HistoryEventInput } from '../../spec/history.js';

/** Written out once this much is buffered, so a long stretch without a timer keeps memory bounded. */
const FLUSH_BYTES = 64 * 1024;
/** Written out at least this often, in real time. */
export const FLUSH_INTERVAL_MS = 100;

/** Lines written at once: the setup line, so a history is never an empty file, faults and phases. */
const FLUSHED_AT_ONCE: ReadonlySet<string> = new Set(['setup', 'fault', 'phase', 'end']);

/** The recorders with a file open, flushed by one 'exit' handler. */
const openRecorders = new Set<HistoryRecorder>();
let exitHandlerInstalled = false;

function flushAllOnExit(): void {
  for (const recorder of openRecorders) recorder.flush();
}

export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  /** The adapter's clock; until a session exists, time stands at zero. */
  clock: () => number = () => 0;
  private fd: number | undefined;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly path?: string) {
    if (path !== undefined) {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, 'w');
      this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
      this.timer.unref();
      openRecorders.add(this);
      if (!exitHandlerInstalled) {
        exitHandlerInstalled = true;
        process.on('exit', flushAllOnExit);
      }
    }
  }

  record(input: HistoryEventInput): HistoryEvent {
    const event = { i: this.events.length + 1, t: Math.round(this.clock() * 1000) / 1000, ...input } as HistoryEvent;
    this.events.push(event);
    if (this.fd !== undefined) {
      const line = `${JSON.stringify(event)}\n`;
      this.buffer.push(line);
      this.bufferedBytes += line.length;
      if (this.bufferedBytes >= FLUSH_BYTES || FLUSHED_AT_ONCE.has(event.type)) this.flush();
    }
    return event;
  }

  flush(): void {
    if (this.fd === undefined || this.buffer.length === 0) return;
    writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.bufferedBytes = 0;
  }

  close(): void {
    this.flush();
    clearInterval(this.timer);
    this.timer = undefined;
    openRecorders.delete(this);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

// Small pieces the scenario runner and the benchmark driver share.

/** A name's lowercase words joined by dashes, at most 40 characters: for topic and group names. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
}

/** Offsets as the history writes them: partition numbers as keys, in partition order. */
export function offsetsRecord(offsets: ReadonlyMap<number, number>): Record<string, number> {
  return Object.fromEntries([...offsets].sort(([a], [b]) => a - b).map(([p, o]) => [String(p), o]));
}

/** The text a history line keeps of an error. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
