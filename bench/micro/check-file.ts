// `deliverycheck check` on a history file of growing size: reading the file, parsing its JSON
// Lines and judging them, by the very function the command calls for each file
// (checkHistoryFile in harness/cli/check-command.ts). The history is the checker benchmark's clean
// one (history.ts), with an end line as a run writes it, written to a temporary file first; its
// objects are dropped before the timing, so the peak resident memory is that of the check
// alone: the checker's tables and the chunk being read, since the check keeps no event objects
// (harness/history/check.ts). The target is at least 2 M events per second, parsing included.
// readHistoryFile, which makes every line an object, is timed too, for comparison.

import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHistoryFile } from '../../harness/cli/check-command.js';
import { readHistoryFile } from '../../harness/history/file.js';
import { generateHistory } from './history.js';
import { openPeakWindow } from './memory.js';
import type { MicroResult } from './table.js';

export const CHECK_FILE_SIZES = [1_000_000, 10_000_000] as const;

/** Lines written per write call: the text of 10^7 lines would not fit in one string. */
const LINES_PER_WRITE = 100_000;

function exponent(events: number): string {
  const power = Math.log10(events);
  return Number.isInteger(power) ? `10^${power} events` : `${events} events`;
}

/** Writes a clean history of exactly `events` lines, the last its end line; returns its size in bytes. */
function writeHistoryFile(path: string, events: number): number {
  const history = generateHistory(events);
  const last = history[history.length - 1];
  history[history.length - 1] = { i: history.length, t: last?.t ?? 0, type: 'end' };
  const fd = openSync(path, 'w');
  try {
    for (let start = 0; start < history.length; start += LINES_PER_WRITE) {
      const lines = history.slice(start, start + LINES_PER_WRITE).map((event) => JSON.stringify(event));
      writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
  return statSync(path).size;
}

export async function checkFileBenchmarks(sizes: readonly number[] = CHECK_FILE_SIZES): Promise<MicroResult[]> {
  const results: MicroResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'deliverycheck-check-file-'));
  try {
    for (const events of sizes) {
      const path = join(dir, `history-${events}.jsonl`);
      const bytes = writeHistoryFile(path, events);
      const mib = `${(bytes / 2 ** 20).toFixed(0)} MiB`;
      // Parsing alone first, then the whole check, each in a fresh window of peak memory and
      // each as the first in its window: a `deliverycheck check` of a big history does it once.
      for (const [name, work] of [
        ['check-file, read + parse', () => readHistoryFile(path).length],
        [
          'check-file, read + parse + check',
          () => {
            // A clean history must pass: one that did not would mean the check skipped work.
            const { result } = checkHistoryFile(path);
            if (result.status !== 'passed') throw new Error(`the generated history of ${events} events did not pass: ${result.status}`);
            return result.counts.sent;
          },
        ],
      ] as const) {
        globalThis.gc?.();
        const rssBeforeBytes = process.memoryUsage.rss();
        const window = openPeakWindow();
        const startedMs = performance.now();
        const cpuBefore = process.cpuUsage();
        const answer = work();
        const ms = performance.now() - startedMs;
        const cpu = process.cpuUsage(cpuBefore);
        // On a shared machine the real time is mostly waiting for a core; the CPU time is not.
        const cpuSeconds = (cpu.user + cpu.system) / 1e6;
        if (answer <= 0) throw new Error(`${name}: the generated history of ${events} events came back empty`);
        results.push({
          name,
          size: exponent(events),
          meanMs: ms,
          samples: 1,
          rate: events / (ms / 1000),
          unit: 'events',
          rssBeforeBytes,
          peakRssBytes: window.peakRssBytes(),
          note:
            `${cpuSeconds.toFixed(2)} s of CPU (${((events / cpuSeconds) / 1e6).toFixed(2)} M events per CPU second); ` +
            `a ${mib} file, just written, so likely read from the page cache` +
            (window.own ? '' : "; peak RSS is the whole process's"),
        });
        globalThis.gc?.();
      }
      rmSync(path);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
