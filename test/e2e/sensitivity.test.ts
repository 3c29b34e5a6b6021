// The suite tests itself, for real: the built bin runs the bundled suites on the reference broker
// once per defect switch and over a few seeds. The first test fails when a defect slips past
// every scenario, when the baseline fails, or when docs/sensitivity.md is no longer what
// `npm run sensitivity` writes; the second when a scenario fails on a correct broker.

import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'deliverycheck.js');

// About a dozen runs of the whole suite take a minute alone on a 2-core machine; other test
// files run beside this one, so the deadline leaves room for several times that.
const SENSITIVITY_TIMEOUT_MS = 600_000;
const SPECIFICITY_TIMEOUT_MS = 300_000;

function deliverycheck(args: readonly string[], timeoutMs: number) {
  return execa('node', [bin, ...args], { cwd: root, reject: false, timeout: timeoutMs, env: { NO_COLOR: '1' } });
}

describe('the suite tests itself', () => {
  it(
    'catches every defect of the reference broker, passes without one, and docs/sensitivity.md is current',
    async () => {
      const run = await deliverycheck(['sensitivity', 'suites', '--check', 'docs/sensitivity.md'], SENSITIVITY_TIMEOUT_MS);
      expect(run.stderr, run.stdout).toBe('');
      expect(run.stdout).toMatch(/^baseline: \d+ scenarios: (\d+) passed, 0 failed, \d+ skipped, 0 errors$/mu);
      expect(run.stdout).not.toContain('NOT CAUGHT');
      expect(run.stdout).toMatch(/^(\d+) defects: \1 caught, 0 not caught$/mu);
      expect(run.exitCode).toBe(0);
    },
    SENSITIVITY_TIMEOUT_MS,
  );

  it(
    'raises no false alarm over three seeds with no defect',
    async () => {
      const run = await deliverycheck(['specificity', 'suites', '--seeds', '3'], SPECIFICITY_TIMEOUT_MS);
      expect(run.stderr, run.stdout).toBe('');
      expect(run.stdout).toMatch(/^\d+ runs, 0 false alarms \(\d+ scenarios, seeds 1 to 3\)$/mu);
      expect(run.exitCode).toBe(0);
    },
    SPECIFICITY_TIMEOUT_MS,
  );
});
