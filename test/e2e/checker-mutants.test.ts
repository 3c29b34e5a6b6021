// The suites test the checker, for real: scripts/checker-mutants loads each hand-made mutant of the
// checker in place of the real one and runs, on the reference broker, the scenarios meant to kill
// it (`--quick`). The first test fails when a mutant that the suites should notice passes them;
// the second is its negative control: a mutant run without the scenario that kills it survives,
// and the tool says so and fails. The whole matrix (every mutant against the whole suite, and the
// permissive ones against every defect) takes minutes and is docs/checker-mutants.md, written
// and checked by `scripts/checker-mutants --markdown|--check docs/checker-mutants.md`.

import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../tools/checker-mutants/mutants.js';

const root = join(import.meta.dirname, '..', '..');
const tool = join(root, 'scripts', 'checker-mutants');

// About thirty short runs of the CLI: half a minute alone on a 2-core machine, with room for the
// other test files that run beside this one.
const TIMEOUT_MS = 300_000;

function checkerMutants(args: readonly string[]) {
  return execa(tool, [...args], { cwd: root, reject: false, timeout: TIMEOUT_MS, env: { NO_COLOR: '1' } });
}

describe('the suites test the checker', () => {
  it(
    'kill every mutant they should with the scenarios meant to kill it',
    async () => {
      const run = await checkerMutants(['--quick']);
      expect(run.stderr, run.stdout).toBe('');
      for (const mutant of MUTANTS) {
        const verdict = mutant.detection === 'none' ? 'survived' : 'killed by \\d+';
        expect(run.stdout).toMatch(new RegExp(`^${verdict} +${mutant.name}$`, 'mu'));
      }
      expect(run.stdout).toContain(`${MUTANTS.length} mutants: each noticed or not as its entry says`);
      expect(run.exitCode).toBe(0);
    },
    TIMEOUT_MS,
  );

  it(
    'report a mutant that nothing run kills, and fail',
    async () => {
      const run = await checkerMutants(['--mutant', 'reordered-across-producers', 'suites/ordering/one-producer-one-key-in-order.yaml']);
      expect(run.stderr, run.stdout).toBe('');
      expect(run.stdout).toMatch(/^survived +reordered-across-producers +\(NOT KILLED\)$/mu);
      expect(run.stdout).toContain('1 of 1 mutants not as their entries say: reordered-across-producers');
      expect(run.exitCode).toBe(1);
    },
    TIMEOUT_MS,
  );
});
