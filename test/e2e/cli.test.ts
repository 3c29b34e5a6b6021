// The command line as a user runs it: the built bin in a child process, its exit codes, its
// JSON against the published schema, its history files, and its one-line errors.

import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { check } from '../../harness/conformance/checker.js';
import type { HistoryEvent } from '../../spec/history.js';
import type { RunResult } from '../../spec/result.js';
import { resultSchema } from '../../spec/result.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'deliverycheck.js');

function deliverycheck(args: readonly string[], cwd = root) {
  return execa('node', [bin, ...args], { cwd, reject: false, timeout: 120_000, env: { NO_COLOR: '1' } });
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'deliverycheck-e2e-'));
}

const validateResult = new Ajv2020({ strict: true, allErrors: true }).compile(resultSchema);

function readJson(path: string): RunResult {
  const result = JSON.parse(readFileSync(path, 'utf8')) as RunResult;
  expect(validateResult(result), JSON.stringify(validateResult.errors)).toBe(true);
  return result;
}

const SMALL = `
name: small ack all run
description: A small run with ack all and no faults.
seed: 3
cluster:  { brokers: 3 }
topic:    { partitions: 2, replication: 3, minInsync: 2 }
producer: { ack: all, retries: 3 }
consumer: { commit: after-process }
workload: { messages: 200, keys: 5, producers: 2, consumers: 2 }
expect:
  guarantee: exactly-once
`;

describe('deliverycheck run', () => {
  it('runs the bundled suites on the reference broker: every claim holds, every control witnesses', async () => {
    const dir = scratch();
    const run = await deliverycheck(['run', 'suites', '--json', join(dir, 'r.json'), '--junit', join(dir, 'r.xml')]);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const result = readJson(join(dir, 'r.json'));
    expect(result.adapter).toBe('reference');
    expect(result.scenarios.length).toBeGreaterThanOrEqual(7);
    for (const scenario of result.scenarios) {
      expect(scenario.status, scenario.file).toBe('passed');
      for (const [anomaly, verdict] of Object.entries(scenario.anomalies)) {
        if (verdict?.expect === 'witnessed') expect(verdict.count, `${scenario.file} ${anomaly}`).toBeGreaterThan(0);
        if (verdict?.expect === 'none') expect(verdict.count, `${scenario.file} ${anomaly}`).toBe(0);
      }
    }
    const junit = readFileSync(join(dir, 'r.xml'), 'utf8');
    expect(junit.match(/<testcase /g)?.length).toBe(result.scenarios.length);
    expect(junit).not.toContain('<failure');
  });

  it('writes the same history byte for byte for the same seed, and another for another seed', async () => {
    const [a, b, c] = [scratch(), scratch(), scratch()];
    const file = 'suites/producer-acks/ack-leader-leader-crash-witnesses-loss.yaml';
    await deliverycheck(['run', file, '--history', a]);
    await deliverycheck(['run', file, '--history', b]);
    await deliverycheck(['run', file, '--history', c, '--seed', '8']);
    const [nameA] = readdirSync(a);
    const [nameC] = readdirSync(c);
    expect(nameA).toBe('suites__producer-acks__ack-leader-leader-crash-witnesses-loss.seed-7.jsonl');
    expect(nameC).toContain('.seed-8.jsonl');
    const historyA = readFileSync(join(a, nameA as string), 'utf8');
    expect(historyA.length).toBeGreaterThan(100_000);
    expect(readFileSync(join(b, nameA as string), 'utf8')).toBe(historyA);
    expect(readFileSync(join(c, nameC as string), 'utf8')).not.toBe(historyA);
  });

  it('reproduces a run with transactions, crashes and fencing byte for byte', async () => {
    const [a, b] = [scratch(), scratch()];
    const file = 'suites/exactly-once/pipeline-survives-producer-crash-mid-transaction.yaml';
    await deliverycheck(['run', file, '--history', a]);
    await deliverycheck(['run', file, '--history', b]);
    const [name] = readdirSync(a);
    const history = readFileSync(join(a, name as string), 'utf8');
    expect(history).toContain('"do":"crash-producer"');
    expect(history).toContain('fenced');
    expect(readFileSync(join(b, name as string), 'utf8')).toBe(history);
  });

  it('keeps a history from which the checker alone reaches the reported verdict', async () => {
    const dir = scratch();
    const file = 'suites/consumer-commit/after-process-crash-after-process-witnesses-duplicates.yaml';
    await deliverycheck(['run', file, '--history', dir, '--json', join(dir, 'r.json')]);
    const [scenario] = readJson(join(dir, 'r.json')).scenarios;
    const events = readFileSync(scenario?.history as string, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as HistoryEvent);
    expect(events.map((event) => event.i)).toEqual(events.map((_, index) => index + 1));
    const checked = check(events);
    expect(checked.counts).toEqual(scenario?.counts);
    expect(checked.anomalies.duplicated.count).toBe(scenario?.anomalies.duplicated?.count);
    expect(checked.anomalies.duplicated.count).toBeGreaterThan(0);
  });

  it('exits 1 on a violated claim, names the witnesses and prints a command that reproduces it', async () => {
    const dir = scratch();
    const text = readFileSync(join(root, 'suites/producer-acks/ack-leader-leader-crash-witnesses-loss.yaml'), 'utf8');
    const claimed = join(dir, 'ack-leader-claims-no-loss.yaml');
    writeFileSync(claimed, text.replace('lost: witnessed', 'lost: none'));
    const run = await deliverycheck(['run', claimed, '--json', join(dir, 'r.json')]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/FAIL/);
    expect(run.stdout).toMatch(/lost: expected none, got \d+/);
    const [scenario] = readJson(join(dir, 'r.json')).scenarios;
    expect(scenario?.status).toBe('failed');
    expect(scenario?.anomalies.lost?.witnesses.length).toBeGreaterThan(0);
    const reproduce = scenario?.reproduce as string;
    expect(run.stdout).toContain(reproduce);
    expect(reproduce).toBe(`npx deliverycheck run ${claimed} --adapter reference --seed 7`);
    const again = await deliverycheck([...reproduce.split(' ').slice(2), '--json', join(dir, 'again.json')]);
    expect(again.exitCode).toBe(1);
    const [repeated] = readJson(join(dir, 'again.json')).scenarios;
    expect(repeated?.anomalies.lost?.count).toBe(scenario?.anomalies.lost?.count);
  });

  it('skips a scenario that needs a capability the adapter lacks, naming it, and exits 0', async () => {
    const dir = scratch();
    const file = join(dir, 'needs-crash.yaml');
    writeFileSync(file, `${SMALL}faults:\n  - at: { sent: 10 }\n    do: crash-broker\n`);
    // The reference broker lacks nothing; kafka on a user's cluster controls no node, and the
    // skip comes before anything connects, so no broker needs to listen at the address.
    const run = await deliverycheck(['run', file, '--adapter', 'kafka', '--brokers', '127.0.0.1:1', '--json', join(dir, 'r.json')]);
    expect(run.exitCode).toBe(0);
    const [scenario] = readJson(join(dir, 'r.json')).scenarios;
    expect(scenario?.status).toBe('skipped');
    expect(scenario?.reason).toBe('adapter kafka lacks fault.crash-broker');
  });

  it('notes the faults whose trigger never came, and never one that fired late in the run', async () => {
    const dir = scratch();
    const file = join(dir, 'late-faults.yaml');
    const faults = [
      '  - { at: { processed: 199 }, do: crash-consumer, target: any, point: after-process }',
      '  - { at: { processed: 10000 }, do: crash-broker, target: leader }',
      '  - { at: { processed: 10000 }, do: crash-consumer, target: any, point: after-poll }',
    ];
    writeFileSync(file, `${SMALL.replace('guarantee: exactly-once', 'guarantee: at-least-once')}faults:\n${faults.join('\n')}\n`);
    const run = await deliverycheck(['run', file, '--json', join(dir, 'r.json'), '--history', dir]);
    expect(run.exitCode, run.stdout).toBe(0);
    const [scenario] = readJson(join(dir, 'r.json')).scenarios;
    const notes = scenario?.notes ?? [];
    expect(notes).toContain('fault crash-broker at processed 10000 never fired: its trigger was not reached');
    expect(notes).toContain('fault crash-consumer at processed 10000 never fired: its trigger was not reached');
    const historyFile = readdirSync(dir).find((name) => name.endsWith('.jsonl')) ?? '';
    const history = readFileSync(join(dir, historyFile), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as HistoryEvent);
    const crashed = history.some((event) => event.type === 'fault' && event.do === 'crash-consumer');
    expect(crashed).toBe(!notes.some((note) => note.includes('processed 199')));
  });

  it('repeats every scenario at consecutive seeds with --repeat and reports how often each claim held', async () => {
    const dir = scratch();
    // Two after-process consumers replay a batch when the second one joins at an unlucky moment,
    // so at some seeds SMALL's exactly-once claim breaks (seed 5 does); at-least-once always holds.
    writeFileSync(join(dir, 'small.yaml'), SMALL.replace('guarantee: exactly-once', 'guarantee: at-least-once'));
    const run = await deliverycheck(['run', dir, '--repeat', '3', '--json', join(dir, 'r.json'), '--rates', join(dir, 'rates.md')]);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(readJson(join(dir, 'r.json')).scenarios.map((scenario) => scenario.seed)).toEqual([3, 4, 5]);
    expect(run.stdout).toMatch(/Over repeated runs:\n.*small\.yaml +claims held 3\/3/);
    expect(readFileSync(join(dir, 'rates.md'), 'utf8')).toContain('| 3 | 3 | claims held 3/3 |');
    const refused = await deliverycheck(['run', dir, '--repeat', '0']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--repeat');
  });

  it('passes a small exactly-once claim without faults', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'small.yaml'), SMALL);
    const run = await deliverycheck(['run', dir, '--json', join(dir, 'r.json')]);
    expect(run.exitCode).toBe(0);
    const [scenario] = readJson(join(dir, 'r.json')).scenarios;
    expect(scenario?.counts).toEqual({ sent: 200, acknowledged: 200, stored: 200, delivered: 200, processed: 200 });
  });
});

describe('a run that did too little', () => {
  const paused = 'test/fixtures/scenarios/runs/brokers-paused-from-the-start.yaml';
  const pauses = /^faults:\n(?: {2}- .*pause-broker.*\n)+/m;

  it('is inconclusive, not passed, when the brokers never served: exit 2, in the JSON, the JUnit and the terminal', async () => {
    const dir = scratch();
    const run = await deliverycheck(['run', paused, '--json', join(dir, 'r.json'), '--junit', join(dir, 'r.xml')]);
    expect(run.exitCode, run.stdout).toBe(2);
    expect(run.stderr).toBe('');
    const [scenario] = readJson(join(dir, 'r.json')).scenarios;
    expect(scenario?.status).toBe('inconclusive');
    expect(scenario?.counts).toMatchObject({ acknowledged: 0, stored: 0, processed: 0 });
    const reason = 'only 0 of 2000 messages were acknowledged (at least 1000, 50%, needed); only 0 of 2000 messages were processed (at least 1000, 50%, needed)';
    expect(scenario?.reason).toBe(reason);
    // Every claim held over nothing; the verdicts are still reported for the reader.
    expect(Object.values(scenario?.anomalies ?? {}).every((verdict) => verdict.held)).toBe(true);
    expect(run.stdout).toContain(`INCONCLUSIVE ${paused}  brokers paused from the start  (`);
    expect(run.stdout).toContain('1 scenario: 0 passed, 0 failed, 0 skipped, 1 inconclusive, 0 errors');
    expect(run.stdout).toContain(`  too little happened for a verdict: ${reason}`);
    const junit = readFileSync(join(dir, 'r.xml'), 'utf8');
    expect(junit).toContain(`<error message="inconclusive: ${reason}" type="inconclusive">`);
    expect(junit).toContain('tests="1" failures="0" errors="1" skipped="0"');
  });

  it('passes the same scenario with the pauses removed, and with the minimum waived', async () => {
    const dir = scratch();
    const text = readFileSync(join(root, paused), 'utf8');
    expect(text).toMatch(pauses);
    writeFileSync(join(dir, 'served.yaml'), text.replace(pauses, ''));
    const served = await deliverycheck(['run', join(dir, 'served.yaml'), '--json', join(dir, 'served.json')]);
    expect(served.exitCode, served.stdout).toBe(0);
    const [scenario] = readJson(join(dir, 'served.json')).scenarios;
    expect(scenario?.status).toBe('passed');
    expect(scenario?.counts.acknowledged).toBe(2000);
    // An author who means a run to do nothing says so, and the claims then decide alone.
    writeFileSync(join(dir, 'waived.yaml'), text.replace('  guarantee: at-least-once', '  guarantee: at-least-once\n  minimum: { acknowledged: 0, processed: 0% }'));
    const waived = await deliverycheck(['run', join(dir, 'waived.yaml')]);
    expect(waived.exitCode, waived.stdout).toBe(0);
    expect(waived.stdout).toMatch(/^PASS /);
  });
});

describe('bad input', () => {
  it('reports each error in one line with file, line, column and field, and exits 2', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'a.yaml'), SMALL.replace('ack: all', 'ack: al'));
    writeFileSync(join(dir, 'b.yaml'), SMALL.replace('partitions: 2', 'partitons: 2'));
    const run = await deliverycheck(['run', dir]);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    // A misspelt field is two errors: the unknown field and the required one it was meant to be.
    expect(run.stderr.trim().split('\n')).toEqual([
      `${join(dir, 'a.yaml')}:7:18: producer.ack must be one of none, leader, all (got "al")`,
      `${join(dir, 'b.yaml')}:6:11: topic.partitions is required`,
      `${join(dir, 'b.yaml')}:6:13: topic.partitons is not a known field (known: partitions, replication, minInsync, uncleanElection)`,
    ]);
  });

  it('rejects an unknown adapter and an unknown defect in one line each', async () => {
    const adapter = await deliverycheck(['run', 'suites', '--adapter', 'nope']);
    expect(adapter.exitCode).toBe(2);
    expect(adapter.stderr.trim().split('\n')).toHaveLength(1);
    const defect = await deliverycheck(['run', 'suites', '--defect', 'nope']);
    expect(defect.exitCode).toBe(2);
    expect(defect.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('deliverycheck validate and adapters', () => {
  it('validates the bundled suites without running them', async () => {
    const run = await deliverycheck(['validate', 'suites']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^ok: \d+ scenarios/);
  });

  it('lists the reference adapter with its capabilities', async () => {
    const run = await deliverycheck(['adapters']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('reference');
    expect(run.stdout).toContain('fault.crash-broker');
  });
});
