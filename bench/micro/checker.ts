// The checker over generated clean histories of growing size. The checker is meant to be linear
// in the history's length, so events per second should stay about the same from 10^4 to 10^7
// events; the target is at least a million events per second.
//
// What is measured is `check(history)` alone, on an array of event objects already in memory, as
// the runner hands it over: neither generating the history nor reading or parsing JSON Lines is
// timed. Memory is the process's resident set: before checking (the history, the generator's
// leftovers and Node itself) and its peak while this size was checked (see memory.ts).

import { Bench } from 'tinybench';
import { check } from '../../harness/conformance/checker.js';
import { generateHistory } from './history.js';
import { openPeakWindow } from './memory.js';
import { describeTask, type MicroResult } from './table.js';

export const CHECKER_SIZES = [10_000, 100_000, 1_000_000, 10_000_000] as const;

/** Fewer repetitions for bigger histories: one check of 10^7 events takes seconds. */
function repetitions(events: number): { readonly iterations: number; readonly warmupIterations: number } {
  if (events <= 10_000) return { iterations: 200, warmupIterations: 20 };
  if (events <= 100_000) return { iterations: 30, warmupIterations: 3 };
  if (events <= 1_000_000) return { iterations: 5, warmupIterations: 1 };
  return { iterations: 2, warmupIterations: 0 };
}

function exponent(events: number): string {
  const power = Math.log10(events);
  return Number.isInteger(power) ? `10^${power} events` : `${events} events`;
}

export async function checkerBenchmarks(sizes: readonly number[] = CHECKER_SIZES): Promise<MicroResult[]> {
  const results: MicroResult[] = [];
  for (const events of sizes) {
    let history = generateHistory(events);
    globalThis.gc?.();
    const rssBeforeBytes = process.memoryUsage.rss();
    const window = openPeakWindow();
    // The first check in a process allocates the checker's tables; later ones reuse them (see
    // ColumnPool in core/dense.ts). Both are figures a user meets: one `deliverycheck check` of
    // a big history is a first check, repeated runs and sensitivity are the later ones.
    const firstStartMs = performance.now();
    const checked = check(history);
    const firstMs = performance.now() - firstStartMs;
    // The generated history must be what it claims: complete and clean. A generator bug that made
    // the checker skip work would make the figure a lie.
    const anomalies = Object.entries(checked.anomalies).filter(([, finding]) => finding.count > 0);
    if (anomalies.length > 0 || checked.counts.sent === 0 || checked.counts.processed !== checked.counts.sent) {
      throw new Error(`the generated history of ${events} events is not clean: ${JSON.stringify(checked.counts)}`);
    }
    results.push({
      name: 'checker, first check',
      size: exponent(events),
      meanMs: firstMs,
      samples: 1,
      rate: events / (firstMs / 1000),
      unit: 'events',
      note: 'the first check() in the process: its tables are new, and V8 may collect the whole heap for them',
    });
    const { iterations, warmupIterations } = repetitions(events);
    const bench = new Bench({
      time: 0,
      iterations,
      warmup: warmupIterations > 0,
      warmupIterations,
      warmupTime: 0,
      throws: true,
    });
    bench.add('check', () => {
      check(history);
    });
    await bench.run();
    const measured = describeTask(bench, 'check');
    const peakRssBytes = window.peakRssBytes();
    results.push({
      name: 'checker',
      size: exponent(events),
      meanMs: measured.meanMs,
      samples: measured.samples,
      rate: events / (measured.meanMs / 1000),
      unit: 'events',
      rssBeforeBytes,
      peakRssBytes,
      note:
        'check() on event objects in memory, after a first check; generating and JSON parsing not timed' +
        (window.own ? '' : '; peak RSS is the whole process\'s'),
    });
    // Let the next size start without this one's history in the heap.
    history = [];
    globalThis.gc?.();
  }
  return results;
}
