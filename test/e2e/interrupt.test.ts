// Ctrl-C in the middle of a run: the first SIGINT stops the run where it is and still reports
// what finished (human summary, --json, --junit, the history's tail) with exit code 130; a second
// signal exits at once.

import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../spec/result.js';
import { resultSchema } from '../../spec/result.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'deliverycheck.js');
const validateResult = new Ajv2020({ strict: true, allErrors: true }).compile(resultSchema);

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'deliverycheck-interrupt-'));
}

/** Starts `run suites` and waits until its second scenario is under way: one history is whole. */
// The child is returned in an object: an async function would await a returned promise itself.
async function runUntilSecondScenario(dir: string): Promise<{ child: ResultPromise }> {
  const child = execa(
    'node',
    [bin, 'run', 'suites', '--history', join(dir, 'h'), '--json', join(dir, 'r.json'), '--junit', join(dir, 'r.xml')],
    { cwd: root, reject: false, env: { NO_COLOR: '1' }, timeout: 120_000 },
  );
  const startedMs = performance.now();
  for (;;) {
    await delay(5);
    const names = existsSync(join(dir, 'h')) ? readdirSync(join(dir, 'h')) : [];
    if (names.length >= 2) return { child };
    if (performance.now() - startedMs > 60_000) throw new Error('the run never reached its second scenario');
  }
}

function lastLine(path: string): Record<string, unknown> {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as Record<string, unknown>;
}

describe('interrupting deliverycheck run', () => {
  it('on SIGINT reports what finished, marks the scenario in progress interrupted, keeps its history whole and exits 130', async () => {
    const dir = scratch();
    const { child } = await runUntilSecondScenario(dir);
    const signalledMs = performance.now();
    child.kill('SIGINT');
    const run = await child;
    expect(performance.now() - signalledMs).toBeLessThan(10_000);
    expect(run.exitCode).toBe(130);
    expect(run.stderr).toMatch(/^deliverycheck: SIGINT: stopping after closing clients and writing what finished/);
    expect(run.stdout).toMatch(/\n\d+ scenarios?: \d+ passed, 0 failed, 0 skipped, 0 errors, 1 interrupted\n/);
    expect(run.stdout).toMatch(/^INTR {2}suites\/\S+ .* — interrupted by SIGINT in phase [a-z-]+$/m);
    expect(run.stdout).toMatch(/interrupted: \d+ of \d+ runs not started/);

    const result = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as RunResult;
    expect(validateResult(result), JSON.stringify(validateResult.errors)).toBe(true);
    const statuses = result.scenarios.map((scenario) => scenario.status);
    expect(statuses.length).toBeGreaterThanOrEqual(2);
    expect(statuses.slice(0, -1).every((status) => status === 'passed')).toBe(true);
    const interrupted = result.scenarios[result.scenarios.length - 1];
    expect(interrupted?.status).toBe('interrupted');
    expect(interrupted?.reason).toMatch(/^interrupted by SIGINT in phase /);
    expect(readFileSync(join(dir, 'r.xml'), 'utf8')).toContain('type="interrupted"');
    // Every history is whole, the interrupted one too: its end line says how it stopped.
    for (const scenario of result.scenarios) expect(lastLine(scenario.history as string).type).toBe('end');
    expect(lastLine(interrupted?.history as string)).toMatchObject({ type: 'end', status: 'interrupted' });
    expect(readdirSync(join(dir, 'h'))).toHaveLength(result.scenarios.length);
    // And checking them gives the same result, interruption included.
    const check = await execa('node', [bin, 'check', join(dir, 'h'), '--json', join(dir, 'c.json')], { cwd: root, reject: false });
    expect(check.exitCode).toBe(130);
    const checked = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')) as RunResult;
    expect(checked.scenarios.map((scenario) => scenario.status)).toEqual(statuses);
  }, 120_000);

  it('exits at once on a second signal, leaving a history with whole lines that check calls partial', async () => {
    const dir = scratch();
    const { child } = await runUntilSecondScenario(dir);
    // Two different signals, so the kernel cannot merge them into one.
    child.kill('SIGTERM');
    child.kill('SIGINT');
    const run = await child;
    expect(run.exitCode).toBe(130);
    // Node may hand over two signals that came together in either order.
    expect(run.stderr).toMatch(/^deliverycheck: SIG(TERM|INT): stopping .*\ndeliverycheck: SIG(TERM|INT) again: exiting at once$/);
    expect(existsSync(join(dir, 'r.json'))).toBe(false);
    const names = readdirSync(join(dir, 'h')).sort();
    const unfinished = names.filter((name) => lastLine(join(dir, 'h', name)).type !== 'end');
    expect(unfinished).toHaveLength(1);
    const check = await execa('node', [bin, 'check', join(dir, 'h', unfinished[0] as string)], { cwd: root, reject: false });
    expect(check.exitCode).toBe(2);
    expect(check.stdout).toContain('partial history: it ends at line');
  }, 120_000);
});
