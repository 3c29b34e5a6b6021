// Reading a history file: the fast path (a scanner of the common lines) must give exactly the events
// the file holds, across chunk boundaries, and name the right line when one is wrong.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHistoryFile } from '../../harness/history/file.js';
import { scanCommonLine } from '../../harness/history/parse.js';
import { generateHistory } from '../../bench/micro/history.js';
import type { HistoryEvent } from '../../spec/history.js';

const dir = mkdtempSync(join(tmpdir(), 'deliverycheck-history-file-'));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

// About 18 MB: more than two of the reader's 8 MiB chunks.
const events = generateHistory(220_000);
const text = `${events.map((event) => JSON.stringify(event)).join('\n')}\n`;

describe('readHistoryFile', () => {
  it('reads back every event of a file larger than its chunks, with and without a final newline', () => {
    expect(text.length).toBeGreaterThan(16 * 1024 * 1024);
    expect(readHistoryFile(write('whole.jsonl', text))).toEqual(events);
    expect(readHistoryFile(write('no-newline.jsonl', text.trimEnd()))).toEqual(events);
  });

  it('names the line at fault in a later chunk', () => {
    const lines = text.trimEnd().split('\n');
    const at = 200_000;
    const broken = [...lines];
    broken[at - 1] = (broken[at - 1] as string).replace('"type":"', '"type":"x');
    expect(() => readHistoryFile(write('type.jsonl', `${broken.join('\n')}\n`))).toThrow(`type.jsonl:${at}: not a history line: unknown type`);
    // Two histories in one file: the second one's numbering starts again.
    const twice = `${text}${text}`;
    expect(() => readHistoryFile(write('twice.jsonl', twice))).toThrow(`twice.jsonl:${lines.length + 1}: not a history line: its i is 1, not its line number ${lines.length + 1}`);
  });

  it('refuses a line holding a value that is not an object, and a poll record without its place', () => {
    expect(() => readHistoryFile(write('array.jsonl', '[1,2]\n'))).toThrow('array.jsonl:1: not a history line: not a JSON object');
    const poll = '{"i":1,"t":0,"type":"poll","consumer":0,"records":[{"id":"p0-0","partition":0}]}\n';
    expect(() => readHistoryFile(write('poll.jsonl', poll))).toThrow("poll.jsonl:1: a poll line's records[0] needs offset as a number");
  });
});

/** scanCommonLine of one line, given as a file holds it: UTF-8 bytes ending in a newline. */
function scanText(line: string, number: number): HistoryEvent | undefined {
  const bytes = Buffer.from(`${line}\n`);
  return scanCommonLine(bytes, 0, bytes.length - 1, number);
}

describe('scanCommonLine, the fast path for send, ack, poll, process and drain lines', () => {
  // Lines the scanner must read as JSON.parse does, or decline: layouts, numbers and strings at
  // the edges of what it accepts.
  const lines = [
    '{"i":7,"t":0,"type":"send","id":"p0-1","producer":0,"seq":1,"key":"k1"}',
    '{"i":7,"t":12.345,"type":"ack","producer":3,"id":"p3-9","partition":2,"offset":1234567}',
    '{"i":7,"t":0.1,"type":"process","consumer":1,"id":"p1-0","partition":0,"offset":0}',
    '{"i":7,"t":98765.4321,"type":"drain","id":"p0-0","partition":1,"offset":40}',
    '{"i":7,"t":123456789012.345,"type":"drain","id":"p0-0","partition":1,"offset":40}',
    '{"i":7,"t":1.5e3,"type":"drain","id":"p0-0","partition":1,"offset":40}',
    '{"i":7,"t":5,"type":"drain","id":"p0-0","partition":1,"offset":40,"aborted":true}',
    '{"i":7,"t":5,"type":"drain","id":"p\\u0030-0","partition":1,"offset":40}',
    '{"i":7,"t":5,"type":"drain","id":"p0-0","partition":01,"offset":40}',
    '{"i":7,"t":5,"type":"drain","id":"p0-0","partition":-1,"offset":40}',
    '{"i":7,"t":5,"type":"drain","offset":40,"id":"p0-0","partition":1}',
    '{"i":8,"t":5,"type":"drain","id":"p0-0","partition":1,"offset":40}',
    '{"i":7,"t":5,"type":"send","id":"é-ü","producer":0,"seq":12345678901234567,"key":"k"}',
    '{"i":7,"t":5,"type":"send","id":"p0-1","producer":0,"seq":1,"key":"k1"} ',
  ];
  it.each(lines)('reads %s as JSON.parse does, or declines it', (line) => {
    const scanned = scanText(line, 7);
    if (scanned !== undefined) expect(scanned).toEqual(JSON.parse(line));
  });

  it('declines what it cannot read exactly', () => {
    const declined = lines.filter((line) => scanText(line, 7) === undefined);
    // 1.5e3, aborted, an escape, 01, -1, another key order, another line number, 17 digits, a space.
    expect(declined).toHaveLength(9);
  });

  it('reads the recorder layout of every common line of a generated history, and declines only the others', () => {
    let declined = 0;
    for (const event of events.slice(0, 50_000)) {
      const line = JSON.stringify(event);
      const scanned = scanText(line, event.i);
      if (scanned === undefined) {
        declined++;
        expect(['send', 'ack', 'process', 'drain']).not.toContain(event.type);
      } else {
        expect(JSON.stringify(scanned)).toBe(line);
      }
    }
    expect(declined).toBeLessThan(50_000 / 10);
  });
});
