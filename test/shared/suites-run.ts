// The bundled suites run against a real broker through the command line, exactly as a user runs
// them (`deliverycheck run suites --adapter NAME --json FILE`), for the conformance tests of every
// real adapter: the run, its exit code and its result file are checked the same way for each.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { execa } from 'execa';
import { expect } from 'vitest';
import { packageRoot } from '../../core/package-root.js';
import { formatRates, scenarioRates } from '../../harness/report/rates.js';
import { resultSchema, type RunResult, type ScenarioResult } from '../../spec/result.js';

/** A scenario that expects some anomaly to be witnessed: a negative control. */
export function isControl(scenario: ScenarioResult): boolean {
  return Object.values(scenario.anomalies).some((verdict) => verdict.expect === 'witnessed');
}

/**
 * Runs the suites on `adapter` with `env` (the cluster's folder and ports), prints what the run
 * said, and returns its result once the exit code and the result file are what a finished run
 * gives.
 */
export async function runSuitesThroughCli(adapter: string, env: Readonly<Record<string, string>>, timeoutMs: number): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), `deliverycheck-${adapter}-conformance-`));
  const json = join(dir, 'out.json');
  const startedMs = Date.now();
  try {
    const result = await execa('node', ['bin/deliverycheck.js', 'run', 'suites', '--adapter', adapter, '--json', json], {
      cwd: packageRoot(),
      reject: false,
      timeout: timeoutMs,
      env: { NO_COLOR: '1', ...env },
    });
    console.log(`[${adapter}] the suites exited ${result.exitCode} after ${Date.now() - startedMs} ms:\n${result.stdout}${result.stderr}`);
    // 0: every claim held and every control witnessed; 1: something did not (judged by the
    // caller); 2 would be bad input, a setup failure, an error or a run that did too little.
    expect([0, 1], result.stderr).toContain(result.exitCode);
    const run = JSON.parse(await readFile(json, 'utf8')) as RunResult;
    expect(new Ajv2020({ allErrors: true }).validate(resultSchema, run)).toBe(true);
    expect(run.adapter).toBe(adapter);
    console.log(`[${adapter}] ${formatRates(scenarioRates(run.scenarios))}`);
    return run;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
