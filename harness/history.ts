// Records a run's history: numbers and times each event, keeps it for the checker, and, when
// asked, writes it as JSON Lines while the run goes, so a run that dies can still be checked.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HistoryEvent, HistoryEventInput } from '../spec/history.js';

/** Written out once this much is buffered, and at every fault and phase change. */
const FLUSH_BYTES = 64 * 1024;

export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  /** The adapter's clock; until a session exists, time stands at zero. */
  clock: () => number = () => 0;
  private fd: number | undefined;
  private buffer: string[] = [];
  private bufferedBytes = 0;

  constructor(readonly path?: string) {
    if (path !== undefined) {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, 'w');
    }
  }

  record(input: HistoryEventInput): HistoryEvent {
    const event = { i: this.events.length + 1, t: Math.round(this.clock() * 1000) / 1000, ...input } as HistoryEvent;
    this.events.push(event);
    if (this.fd !== undefined) {
      const line = `${JSON.stringify(event)}\n`;
      this.buffer.push(line);
      this.bufferedBytes += line.length;
      if (this.bufferedBytes >= FLUSH_BYTES || event.type === 'fault' || event.type === 'phase') this.flush();
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
