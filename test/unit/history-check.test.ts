// Checking a history file as `deliverycheck check` does (harness/history/check.ts: the checker fed
// from a scanner of the file's bytes, witnesses read back from the file) must give exactly what
// check() gives on JSON.parse of every line: the same counts and witnesses, the same result of the
// whole history, and the same refusal, naming the same line. The histories are random and messy
// (random-history.ts), and their lines are written now as the recorder writes them, now in forms
// the scanner must decline (other key orders, spaces, escapes, characters outside ASCII, numbers
// it cannot read exactly), so both the fast path and JSON.parse feed the checker in one file.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateHistory } from '../../bench/micro/history.js';
import { checkHistoryFile } from '../../harness/cli/check-command.js';
import { check } from '../../harness/conformance/checker.js';
import { checkHistoryLines } from '../../harness/history/check.js';
import { HistoryFileError, readHistoryFile } from '../../harness/history/file.js';
import { resultOfHistory } from '../../harness/conformance/outcome.js';
import { Random } from '../../core/random.js';
import type { HistoryEvent } from '../../spec/history.js';
import { ANOMALIES, type Expectation } from '../../spec/vocabulary.js';
import { randomHistory } from './random-history.js';

const dir = mkdtempSync(join(tmpdir(), 'deliverycheck-history-check-'));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The event with its keys in reverse order: the same object to JSON.parse, not to the scanner. */
function reversed(event: HistoryEvent): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).reverse());
}

/** One line of `event`, usually in the recorder's layout, now and then in another that means the same or nearly. */
function lineOf(random: Random, event: HistoryEvent): string {
  const line = JSON.stringify(event);
  if (!random.chance(0.15)) return line;
  switch (random.int(0, 6)) {
    case 0:
      return JSON.stringify(reversed(event));
    case 1:
      return line.replace(',', ' , ');
    case 2:
      // An escaped letter in a string: the same id to JSON.parse, which alone may read it.
      return line.replace('"p', '"\\u0070');
    case 3:
      // An id or key outside ASCII, which the scanner must leave to JSON.parse's UTF-8.
      return line.replace(/"(id|key)":"/, '"$1":"é');
    case 4:
      return line.replace(/"t":\d+(?=,)/, `"t":${random.pick(['1e3', '0.1', '-0', '12345678901234567'])}`);
    case 5:
      return line.replace(/"partition":(\d+)(?=[,}])/, random.chance(0.5) ? '"partition":$1.0' : '"partition":$1e0');
    default:
      return `${line}\r`;
  }
}

/** A setup line with an expectation of every anomaly, so that the history has a result. */
function withExpectations(random: Random, history: HistoryEvent[]): HistoryEvent[] {
  const [first, ...rest] = history;
  if (first?.type !== 'setup') return history;
  const expectations: readonly Expectation[] = ['none', 'allowed', 'witnessed'];
  const expect = Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, random.pick(expectations)]));
  return [{ ...first, expect } as HistoryEvent, ...rest];
}

/** The history again with an end line, now and then one saying the run failed, or without one. */
function withEnd(random: Random, history: HistoryEvent[]): HistoryEvent[] {
  if (random.chance(0.3)) return history;
  const end = random.chance(0.8)
    ? { type: 'end', notes: random.chance(0.5) ? ['a note'] : [] }
    : { type: 'end', status: 'error', reason: 'the broker went away' };
  return [...history, { i: history.length + 1, t: history.length, ...end } as HistoryEvent];
}

describe('checking a history file', () => {
  it('gives check() of JSON.parse of its lines, and the same result, for random histories in mixed layouts', () => {
    let witnessed = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const random = new Random(seed);
      const history = withEnd(random, withExpectations(random, randomHistory(random, random.int(0, seed <= 140 ? 60 : 3000))));
      const text = history.map((event) => lineOf(random, event)).join('\n');
      const file = write(`random-${seed}.jsonl`, random.chance(0.5) ? `${text}\n` : text);
      const parsed = text.split('\n').map((line) => JSON.parse(line) as HistoryEvent);
      const expected = check(parsed);
      expect(checkHistoryLines(file).checked, `seed ${seed}`).toStrictEqual(expected);
      witnessed += ANOMALIES.filter((anomaly) => expected.anomalies[anomaly].witnesses.length > 0).length;

      let expectedResult: unknown;
      try {
        expectedResult = { ...resultOfHistory(parsed, { history: file, durationMs: 0 }), durationMs: 0 };
      } catch (error) {
        expectedResult = error instanceof Error ? error.message : error;
      }
      let result: unknown;
      try {
        result = { ...checkHistoryFile(file).result, durationMs: 0 };
      } catch (error) {
        // checkHistoryFile names the file and line; resultOfHistory only says what is wrong.
        result = error instanceof HistoryFileError ? error.problem : error;
      }
      expect(result, `seed ${seed}`).toStrictEqual(expectedResult);
    }
    // Agreeing proves little unless the checker had witnesses to read back.
    expect(witnessed).toBeGreaterThan(300);
  });

  it('refuses a malformed line as readHistoryFile does, naming the same line', () => {
    const breakages: readonly ((line: string) => string)[] = [
      (line) => line.replace('"type":"', '"type":"x'),
      (line) => line.replace(/"i":\d+/, '"i":0'),
      (line) => line.slice(0, line.length - 1),
      (line) => line.replace(/"(id|consumer|producer|partition)":/, '"$1x":'),
      (line) => line.replace(/"offset":\d+/, '"offset":"1"'),
      () => '',
      () => '[1]',
    ];
    for (let seed = 1; seed <= 60; seed++) {
      const random = new Random(seed + 500);
      const lines = randomHistory(random, random.int(1, 40)).map((event) => JSON.stringify(event));
      const at = random.int(0, lines.length - 1);
      lines[at] = random.pick(breakages)(lines[at] ?? '');
      const file = write(`broken-${seed}.jsonl`, `${lines.join('\n')}${random.chance(0.5) ? '\n' : ''}`);
      let refusal: string | undefined;
      try {
        readHistoryFile(file);
      } catch (error) {
        refusal = error instanceof Error ? error.message : String(error);
      }
      if (refusal === undefined) {
        // The breakage left a line that is still a history line: then both read it.
        expect(checkHistoryLines(file).checked, `seed ${seed}`).toStrictEqual(check(readHistoryFile(file)));
      } else {
        expect(() => checkHistoryLines(file), `seed ${seed}`).toThrow(refusal);
      }
    }
    expect(() => checkHistoryLines(write('empty.jsonl', ''))).toThrow('empty.jsonl: empty: not a history');
    expect(() => checkHistoryLines(join(dir, 'missing.jsonl'))).toThrow('missing.jsonl: cannot read it');
  });

  it('reads witnesses back from later chunks of a file larger than its chunks', () => {
    // About 18 MB, more than two of the reader's 8 MiB chunks; some drain records are given to
    // ids nobody sent, which makes lost and phantom witnesses all through the file.
    const history = generateHistory(220_000).map((event): HistoryEvent =>
      event.type === 'drain' && event.i % 997 === 0 ? { ...event, id: `p9-${event.i}` } : event,
    );
    const file = write('large.jsonl', `${history.map((event) => JSON.stringify(event)).join('\n')}\n`);
    const expected = check(history);
    expect(expected.anomalies.lost.witnesses.length).toBeGreaterThan(0);
    expect(expected.anomalies.phantom.count).toBeGreaterThan(0);
    expect(checkHistoryLines(file).checked).toStrictEqual(expected);
  });
});
