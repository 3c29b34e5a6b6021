// Reading a history file: the fast path (many lines per JSON.parse) must give exactly the events
// the file holds, across chunk boundaries, and name the right line when one is wrong.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHistoryFile } from '../../harness/history-file.js';
import { generateHistory } from '../../bench/micro/history.js';

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
