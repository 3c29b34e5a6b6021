// `deliverycheck check` as a user runs it: on the histories a run kept, it must give the run's
// verdicts, JSON, JUnit, human output and exit code (all but the durations), and refuse what
// is not a history with one line that names the file and the line.

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../spec/result.js';
import { resultSchema } from '../../spec/result.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'deliverycheck.js');

function deliverycheck(args: readonly string[]) {
  return execa('node', [bin, ...args], { cwd: root, reject: false, timeout: 120_000, env: { NO_COLOR: '1' } });
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'deliverycheck-check-'));
}

const validateResult = new Ajv2020({ strict: true, allErrors: true }).compile(resultSchema);

/** The result with every duration set to 0: the one field a check cannot reproduce. */
function withoutDurations(path: string): RunResult {
  const result = JSON.parse(readFileSync(path, 'utf8')) as RunResult;
  expect(validateResult(result), JSON.stringify(validateResult.errors)).toBe(true);
  return { ...result, scenarios: result.scenarios.map((scenario) => ({ ...scenario, durationMs: 0 })) };
}

const durations = (text: string) => text.replace(/\(\d+(\.\d+)?m?s\)|\(\d+m \d+s\)/g, '(T)');

describe('deliverycheck check', () => {
  it('gives the run its own JSON, JUnit, output and exit code again from the histories alone', async () => {
    const dir = scratch();
    const histories = join(dir, 'h');
    // A violated claim too, so that the failure, its witnesses and exit code 1 come back as well.
    const text = readFileSync(join(root, 'suites/producer-acks/ack-leader-leader-crash-witnesses-loss.yaml'), 'utf8');
    mkdirpWrite(join(dir, 's', 'a-claims-no-loss.yaml'), text.replace('lost: witnessed', 'lost: none'));
    mkdirpWrite(
      join(dir, 's', 'b-duplicates.yaml'),
      readFileSync(join(root, 'suites/consumer-commit/after-process-crash-after-process-witnesses-duplicates.yaml'), 'utf8'),
    );
    const suite = join(dir, 's');
    const run = await deliverycheck(['run', suite, '--repeat', '2', '--history', histories, '--json', join(dir, 'a.json'), '--junit', join(dir, 'a.xml')]);
    expect(run.exitCode).toBe(1);
    expect(readdirSync(histories)).toHaveLength(4);
    const check = await deliverycheck(['check', histories, '--json', join(dir, 'b.json'), '--junit', join(dir, 'b.xml')]);
    expect(check.stderr).toBe('');
    expect(check.exitCode).toBe(1);
    expect(withoutDurations(join(dir, 'b.json'))).toEqual(withoutDurations(join(dir, 'a.json')));
    const junit = (path: string) => readFileSync(path, 'utf8').replace(/time="[\d.]+"/g, 'time=""');
    expect(junit(join(dir, 'b.xml'))).toBe(junit(join(dir, 'a.xml')));
    expect(durations(check.stdout)).toBe(durations(run.stdout));
    expect(check.stdout).toContain('Over repeated runs:');
    expect(check.stdout).toMatch(/lost: expected none, got \d+/);
  }, 120_000);

  it('checks single history files and reports a partial history as an error that says what it cannot judge', async () => {
    const dir = scratch();
    await deliverycheck(['run', 'suites/ordering/one-producer-one-key-in-order.yaml', '--history', dir]);
    const [name] = readdirSync(dir);
    const file = join(dir, name as string);
    const whole = await deliverycheck(['check', file]);
    expect(whole.exitCode).toBe(0);
    expect(whole.stdout).toMatch(/^PASS {2}suites\/ordering\/one-producer-one-key-in-order\.yaml/);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const drainAt = lines.findIndex((line) => line.includes('"name":"drain"'));
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, `${lines.slice(0, drainAt).join('\n')}\n`);
    const partial = await deliverycheck(['check', cut, '--json', join(dir, 'p.json')]);
    expect(partial.exitCode).toBe(2);
    expect(partial.stdout).toContain(`partial history: it ends at line ${drainAt} in phase catch-up, before the drain finished`);
    const [result] = (JSON.parse(readFileSync(join(dir, 'p.json'), 'utf8')) as RunResult).scenarios;
    expect(result?.status).toBe('error');
    expect(result?.anomalies).toEqual({});
  }, 60_000);

  it('checks the history a SIGKILLed run left: a prefix of the whole history, ending in a whole line', async () => {
    const dir = scratch();
    const child = execa('node', [bin, 'run', 'suites', '--history', dir], { cwd: root, reject: false, env: { NO_COLOR: '1' } });
    // Killed in the middle of its second scenario, well before any 64 KB buffer would fill again.
    let partialName: string | undefined;
    const startedMs = performance.now();
    while (partialName === undefined && performance.now() - startedMs < 60_000) {
      await delay(5);
      const names = readdirSync(dir).sort();
      if (names.length < 2) continue;
      partialName = names.find((name) => {
        const text = readFileSync(join(dir, name), 'utf8');
        return text.length > 20_000 && !text.includes('"type":"end"');
      });
    }
    child.kill('SIGKILL');
    await child;
    expect(partialName).toBeDefined();
    // The scenario seen unfinished may have finished before the kill landed; the one after it has not.
    partialName = readdirSync(dir).find((name) => {
      const text = readFileSync(join(dir, name), 'utf8');
      return text !== '' && !text.includes('"type":"end"');
    });
    expect(partialName).toBeDefined();
    const partialPath = join(dir, partialName as string);
    const partial = readFileSync(partialPath, 'utf8');
    expect(partial.endsWith('\n')).toBe(true);
    expect(partial).not.toContain('"type":"end"');
    const setup = JSON.parse(partial.slice(0, partial.indexOf('\n'))) as { file: string; seed: number };
    // The same scenario and seed give the same history byte for byte: the killed one is its prefix.
    const whole = scratch();
    await deliverycheck(['run', setup.file, '--seed', String(setup.seed), '--history', whole]);
    const complete = readFileSync(join(whole, partialName as string), 'utf8');
    expect(complete.startsWith(partial)).toBe(true);
    const check = await deliverycheck(['check', partialPath]);
    expect(check.exitCode).toBe(2);
    expect(check.stderr).toBe('');
    expect(check.stdout).toMatch(/ERROR .* partial history: it ends at line \d+ in phase [a-z-]+, before the drain finished/);
  }, 120_000);

  it('refuses what is not a history with one line naming the file and the line, and exits 2', async () => {
    const dir = scratch();
    await deliverycheck(['run', 'suites/ordering/one-producer-one-key-in-order.yaml', '--history', dir]);
    const [name] = readdirSync(dir);
    const lines = readFileSync(join(dir, name as string), 'utf8').trimEnd().split('\n');
    const cases: [string, string, RegExp][] = [
      ['yaml.jsonl', 'name: a scenario\nseed: 1\n', /yaml\.jsonl:1: not a history line: not JSON/],
      ['no-setup.jsonl', `${lines.slice(1).map((line, index) => line.replace(/^\{"i":\d+/, `{"i":${index + 1}`)).join('\n')}\n`, /no-setup\.jsonl:1: a history begins with its setup line, not with a phase line/],
      ['cut.jsonl', `${lines.slice(0, 40).join('\n')}\n${(lines[40] as string).slice(0, 20)}`, /cut\.jsonl:41: the last line is cut short/],
      ['gap.jsonl', `${lines.slice(0, 10).join('\n')}\n\n${lines.slice(10).join('\n')}\n`, /gap\.jsonl:11: not a history line: an empty line/],
      ['renumbered.jsonl', `${[...lines.slice(0, 5), ...lines.slice(6)].join('\n')}\n`, /renumbered\.jsonl:6: not a history line: its i is 7, not its line number 6/],
      ['field.jsonl', `${lines.map((line) => line.replace(/"type":"send","id":"p0-3",/, '"type":"send",')).join('\n')}\n`, /field\.jsonl:\d+: a send line needs id as a string/],
      ['empty.jsonl', '', /empty\.jsonl: empty: not a history/],
    ];
    for (const [file, content, message] of cases) {
      writeFileSync(join(dir, file), content);
      const check = await deliverycheck(['check', join(dir, file), '--json', join(dir, 'r.json')]);
      expect(check.exitCode, file).toBe(2);
      expect(check.stderr, file).toMatch(message);
      expect(check.stderr.trimEnd().split('\n'), file).toHaveLength(1);
      expect(check.stdout, file).toBe('');
    }
    const missing = await deliverycheck(['check', join(dir, 'nothing-here')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/nothing-here: no such file or folder/);
  }, 60_000);
});

function mkdirpWrite(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}
