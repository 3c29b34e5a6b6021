// The negative controls' anomalies come from their adverse ingredients, for real: the built bin
// runs every control of the bundled suites on the reference broker without its faults and
// abortEvery, over three seeds, and fails when a witnessed anomaly is still witnessed.

import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'deliverycheck.js');

// Three seeds of every control take about ten seconds alone on a 2-core machine; other test
// files run beside this one, so the deadline leaves room for several times that.
const CAUSALITY_TIMEOUT_MS = 180_000;

describe('the controls are caused by their faults', () => {
  it(
    'witnesses no control anomaly with the adverse ingredients removed, over three seeds',
    async () => {
      const run = await execa('node', [bin, 'causality', 'suites', '--seeds', '3'], {
        cwd: root,
        reject: false,
        timeout: CAUSALITY_TIMEOUT_MS,
        env: { NO_COLOR: '1' },
      });
      expect(run.stderr, run.stdout).toBe('');
      expect(run.stdout).toMatch(/^\d+ controls, \d+ runs without their adverse ingredients: 0 of them still witnessed an anomaly or ended in error \(seeds 1 to 3\)$/mu);
      expect(run.exitCode).toBe(0);
    },
    CAUSALITY_TIMEOUT_MS,
  );
});
