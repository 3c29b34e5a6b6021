// Bad input found by tests nobody wrote: a few hundred seeded mutants of the bundled scenarios,
// workloads and a cluster config, odd files and odd command lines, fed to the command line
// in-process (test/fuzz/run-fuzz.ts says what each must and must not do). `npm run fuzz` runs
// thousands; DELIVERYCHECK_FUZZ_INPUTS and DELIVERYCHECK_FUZZ_SEED set how many and which, and
// DELIVERYCHECK_FUZZ_DEADLINE_MS how long one input may take before it counts as a hang.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzz } from '../fuzz/run-fuzz.js';

const inputs = Number(process.env.DELIVERYCHECK_FUZZ_INPUTS ?? 400);
const seed = Number(process.env.DELIVERYCHECK_FUZZ_SEED ?? 1);
const deadlineMs = Number(process.env.DELIVERYCHECK_FUZZ_DEADLINE_MS ?? 10_000);

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deliverycheck-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fuzzed input', () => {
  it(`answers ${inputs} mutated inputs (seed ${seed}) with exit 2 or 0, lines naming the file or option, no stack trace, control character or hang`, { timeout: Math.max(120_000, inputs * 100) }, async () => {
    const report = await runFuzz({ inputs, seed, dir, deadlineMs });
    // The long run's figures, for its report.
    const problems: Record<string, number> = {};
    for (const finding of report.findings) {
      const problem = finding.problem.split(':')[0] ?? finding.problem;
      problems[problem] = (problems[problem] ?? 0) + 1;
    }
    console.log(JSON.stringify({ ...report, findings: report.findings.length, problems }));
    for (const finding of report.findings.slice(0, 20)) console.log(JSON.stringify(finding));
    expect(report.inputs).toBe(inputs);
    expect(report.findings).toEqual([]);
    // A generator whose mutants were all valid, or all refused at once, would test little.
    expect(report.exitCodes['2']).toBeGreaterThan(inputs / 2);
    expect(report.exitCodes['0']).toBeGreaterThan(0);
  });
});
