// `deliverycheck check HISTORY...`: the verdicts of recorded histories, reached by the same step
// that ends a run (harness/conformance/outcome.ts), so that a history checked later gives the result its run
// gave. Folders stand for the `*.jsonl` files directly in them, as `run --history DIR` keeps them.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ScenarioResult } from '../../spec/result.js';
import { checkHistoryLines } from '../history/check.js';
import { HistoryFileError } from '../history/file.js';
import { HistoryShapeError, resultOfOutline, setupOf } from '../conformance/outcome.js';
import { resultsByFile } from '../report/rates.js';

/** Bad input to `check`: every line names a file, and a line where there is one. */
export class CheckInputError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines[0] ?? 'bad input');
    this.name = 'CheckInputError';
  }
}

export interface CheckedHistories {
  readonly adapter: string;
  readonly defects: readonly string[];
  /** In the order `run` lists them (see orderLikeRun). */
  readonly results: readonly ScenarioResult[];
  /** True when the user interrupted the check; `results` holds the histories checked by then. */
  readonly interrupted: boolean;
}

/** The history files a path names: itself, or the `*.jsonl` files in a folder, sorted by name. */
export function historyFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    let isFolder: boolean;
    try {
      isFolder = statSync(path).isDirectory();
    } catch {
      problems.push(`${path}: no such file or folder`);
      continue;
    }
    if (!isFolder) {
      files.push(path);
      continue;
    }
    const names = readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.jsonl') && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (names.length === 0) problems.push(`${path}: no histories (*.jsonl files) in this folder`);
    for (const name of names) files.push(join(path, name));
  }
  if (problems.length > 0) throw new CheckInputError(problems);
  if (files.length === 0) throw new CheckInputError(['no histories given']);
  return files;
}

/** Checks one history file: its result, or the one line that says why it is not a history. */
export function checkHistoryFile(file: string): { result: ScenarioResult; adapter: string; defects: readonly string[] } {
  const startedMs = performance.now();
  // The file's lines are checked as they are read, and no event object is kept (harness/history/check.ts).
  const { checked, outline } = checkHistoryLines(file);
  try {
    const result = resultOfOutline(outline, () => checked, { history: file, durationMs: 0 });
    const setup = setupOf(outline.first);
    return {
      result: { ...result, durationMs: Math.round(performance.now() - startedMs) },
      adapter: setup.adapter,
      defects: setup.defects,
    };
  } catch (error) {
    if (error instanceof HistoryShapeError) throw new HistoryFileError(file, error.line, error.message);
    throw error;
  }
}

/**
 * Checks every history, then orders the results as the run listed them: scenario files in path
 * order, and for repeated runs of one file (its seeds in rising order) round by round.
 */
export async function checkHistories(paths: readonly string[], signal?: AbortSignal): Promise<CheckedHistories> {
  const files = historyFiles(paths);
  const checked: ReturnType<typeof checkHistoryFile>[] = [];
  const problems: string[] = [];
  let interrupted = false;
  for (const file of files) {
    // A turn of the event loop between files lets a Ctrl-C be seen.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted === true) {
      interrupted = true;
      break;
    }
    try {
      checked.push(checkHistoryFile(file));
    } catch (error) {
      if (!(error instanceof HistoryFileError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new CheckInputError(problems);
  const adapters = [...new Set(checked.map((entry) => entry.adapter))];
  const defectSets = [...new Set(checked.map((entry) => entry.defects.join(',')))];
  if (adapters.length > 1) throw new CheckInputError([`the histories come from different adapters (${adapters.join(', ')}): check them apart`]);
  if (defectSets.length > 1) {
    throw new CheckInputError([`the histories come from runs with different defect switches (${defectSets.map((set) => set || 'none').join('; ')}): check them apart`]);
  }
  return {
    adapter: adapters[0] ?? 'reference',
    defects: checked[0]?.defects ?? [],
    results: orderLikeRun(checked.map((entry) => entry.result)),
    interrupted,
  };
}

/** Scenario files in path order; seeds of one file in rising order, taken round by round. */
export function orderLikeRun(results: readonly ScenarioResult[]): ScenarioResult[] {
  const byFile = resultsByFile(results);
  const files = [...byFile.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const runs of byFile.values()) runs.sort((a, b) => a.seed - b.seed);
  const ordered: ScenarioResult[] = [];
  const rounds = Math.max(0, ...[...byFile.values()].map((runs) => runs.length));
  for (let round = 0; round < rounds; round++) {
    for (const file of files) {
      const result = byFile.get(file)?.[round];
      if (result !== undefined) ordered.push(result);
    }
  }
  return ordered;
}
