// What each micro-benchmark reports, and the small table they are printed in.

import type { Bench } from 'tinybench';

export interface MicroResult {
  /** What was measured, such as `checker` or `reference append + fetch`. */
  readonly name: string;
  /** The size of one operation, in words: `10^6 events`, `18 files`. */
  readonly size: string;
  /** Mean real milliseconds per operation (one check, one batch, one pass over the files). */
  readonly meanMs: number;
  /** Operations measured. */
  readonly samples: number;
  /** Units per second: events, messages or files. */
  readonly rate: number;
  readonly unit: string;
  /** Anything a reader needs to read the figure right. */
  readonly note?: string;
  /** Resident memory before the operations, with their input in memory, in bytes. */
  readonly rssBeforeBytes?: number;
  /** The highest resident memory while the operations ran, in bytes. */
  readonly peakRssBytes?: number;
}

/** 1234567 → `1.23 M`, 12345 → `12.3 k`, 12.5 → `12.5`. */
export function formatCount(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e8 ? 0 : 2)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)} k`;
  return value.toFixed(1);
}

/** 1536 MiB → `1.50 GiB`, 12 MiB → `12 MiB`. */
export function formatBytes(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${mib.toFixed(0)} MiB`;
}

function formatMeanMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(1)} µs`;
}

export function formatMicroTable(results: readonly MicroResult[]): string {
  // Memory columns only when some benchmark measured memory, so the others keep a narrow table.
  const withMemory = results.some((result) => result.peakRssBytes !== undefined);
  const memory = (bytes: number | undefined): string => (bytes === undefined ? '' : formatBytes(bytes));
  const rows = results.map((result) => [
    result.name,
    result.size,
    formatMeanMs(result.meanMs),
    String(result.samples),
    `${formatCount(result.rate)} ${result.unit}/s`,
    ...(withMemory ? [memory(result.rssBeforeBytes), memory(result.peakRssBytes)] : []),
  ]);
  const header = ['benchmark', 'size', 'mean per op', 'samples', 'rate', ...(withMemory ? ['RSS before', 'peak RSS'] : [])];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (column >= 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd();
  // One line per distinct note of a benchmark, with the sizes it applies to, so that a note every
  // size shares is printed once.
  const sizesByNote = new Map<string, string[]>();
  for (const result of results) {
    if (result.note === undefined) continue;
    const key = `${result.name}\u0000${result.note}`;
    sizesByNote.set(key, [...(sizesByNote.get(key) ?? []), result.size]);
  }
  const notes = [...sizesByNote].map(([key, sizes]) => {
    const [name, note] = key.split('\u0000');
    return `  ${name} (${sizes.join(', ')}): ${note}`;
  });
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line), ...(notes.length > 0 ? ['', 'notes:', ...notes] : [])].join('\n');
}

/** The mean time and sample count of a task that ran; throws when it failed or did not run. */
export function describeTask(bench: Bench, name: string): { readonly meanMs: number; readonly samples: number } {
  const result = bench.getTask(name)?.result;
  if (result === undefined) throw new Error(`micro-benchmark task ${name} did not run`);
  if (result.error !== undefined) throw result.error;
  return { meanMs: result.latency.mean, samples: result.latency.samples.length };
}
