// The micro-benchmarks: the generator of large histories must make what the checker figure claims
// to measure (a complete, clean history of exactly the size asked), and `npm run bench:micro`
// must run each benchmark and print its table. No speed is asserted: the machine may be shared.

import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateHistory } from '../../bench/micro/history.js';
import { check } from '../../harness/conformance/checker.js';
import { packageRoot } from '../../core/package-root.js';
import { ANOMALIES } from '../../spec/vocabulary.js';

const MICRO = join(packageRoot(), 'dist', 'bench', 'micro', 'index.js');

describe('the generated history of the checker benchmark', () => {
  it.each([10, 1_000, 12_345, 100_000])('has exactly %i events, numbered in order, and is clean and complete', (events) => {
    const history = generateHistory(events);
    expect(history).toHaveLength(events);
    expect(history.every((event, index) => event.i === index + 1)).toBe(true);
    const result = check(history);
    for (const anomaly of ANOMALIES) expect(result.anomalies[anomaly].count, anomaly).toBe(0);
    expect(result.counts.sent).toBeGreaterThan(0);
    expect(result.counts).toEqual({
      sent: result.counts.sent,
      acknowledged: result.counts.sent,
      stored: result.counts.sent,
      delivered: result.counts.sent,
      processed: result.counts.sent,
    });
    // About four lines per message: the checker's figure is per event, and most events name one.
    if (events >= 1_000) expect(result.counts.sent).toBeGreaterThan(events / 5);
  });

  it('refuses a size it cannot fill', () => {
    expect(() => generateHistory(9)).toThrow(/at least 10 events/);
  });
});

describe('npm run bench:micro', { timeout: 120_000 }, () => {
  it('runs the checker at the sizes asked, the first check apart, and prints one table', () => {
    const output = execFileSync(process.execPath, ['--expose-gc', MICRO, 'checker', '--events', '1000,20000'], { encoding: 'utf8' });
    const rows = output.split('\n').filter((line) => line.startsWith('checker'));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^checker, first check\s+10\^3 events\s+\S+ [mµ]?s\s+1\s+[\d.]+ [kM]? ?events\/s$/);
    expect(rows[1]).toMatch(/^checker\s+10\^3 events\s+.+events\/s\s+\d+ MiB\s+\d+ MiB$/);
    expect(rows[3]).toMatch(/^checker\s+20000 events/);
    expect(output).toMatch(/^node v\d+.*load average/);
  });

  it('runs check-file at the sizes asked: reading and parsing apart, then the whole check, with memory', () => {
    const output = execFileSync(process.execPath, ['--expose-gc', MICRO, 'check-file', '--events', '20000'], { encoding: 'utf8' });
    const rows = output.split('\n').filter((line) => line.startsWith('check-file'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^check-file, read \+ parse\s+20000 events\s+.+events\/s\s+\d+ MiB\s+\d+ MiB$/);
    expect(rows[1]).toMatch(/^check-file, read \+ parse \+ check\s+20000 events\s+.+events\/s\s+\d+ MiB\s+\d+ MiB$/);
    expect(output).toMatch(/s of CPU \([\d.]+ M events per CPU second\)/);
  });

  it('runs the reference broker and loading benchmarks', () => {
    const output = execFileSync(process.execPath, [MICRO, 'reference', 'loading'], { encoding: 'utf8' });
    expect(output).toMatch(/reference append \+ fetch, data path\s+100k messages/);
    expect(output).toMatch(/reference append \+ fetch, replicated\s+100k messages/);
    expect(output).toMatch(/scenario loading/);
  });

  it('refuses an unknown benchmark or size with its usage and exit code 2', () => {
    const run = spawnSync(process.execPath, [MICRO, 'nonsense'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^usage: bench:micro/);
    expect(spawnSync(process.execPath, [MICRO, 'checker', '--events', '9'], { encoding: 'utf8' }).status).toBe(2);
  });
});
