// The `--json` report: the RunResult exactly as spec/result.schema.json describes it, so other
// tools can read a run without knowing anything about deliverycheck's code.

import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RunResult, ScenarioResult } from '../../spec/result.js';
import { makeFolders } from '../../core/output-paths.js';

export interface RunResultInput {
  readonly version: string;
  readonly adapter: string;
  readonly defects: readonly string[];
  readonly scenarios: readonly ScenarioResult[];
}

export function buildRunResult(input: RunResultInput): RunResult {
  return {
    tool: 'deliverycheck',
    version: input.version,
    adapter: input.adapter,
    // A run without defect switches says nothing about them, so the usual file stays short.
    ...(input.defects.length > 0 ? { defects: [...input.defects] } : {}),
    scenarios: input.scenarios,
  };
}

/** The JSON text of a run: 2-space indent and a final newline, as text files end. */
export function formatJson(run: RunResult): string {
  return `${JSON.stringify(run, null, 2)}\n`;
}

/** Writes a report file, making its folder first so `--json out/run.json` works in a fresh checkout. */
export async function writeReportFile(path: string, text: string): Promise<void> {
  await makeFolders(dirname(path));
  await writeFile(path, text, 'utf8');
}
