import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkloads, loadWorkloadText } from '../../bench/workload.js';
import { scheduleWindow } from '../../bench/schedule.js';
import { BENCH_LIMITS, type BenchWorkload } from '../../spec/bench-workload.js';
import { packageRoot } from '../../core/package-root.js';

// A valid workload with a fixed layout, so the tests can name the line and column of each field.
// Tests change one line at a time with `edit`. Lines:
//  1 name           5 partitions    9 commit
//  2 description    6 replication  10 rate (column 7)
//  3 messageBytes   7 minInsync    11 durationMs
//  4 keys           8 ack
const BASE = `name: tiny
description: A workload for the loader tests.
messageBytes: 100
keys: 10
partitions: 3
replication: 3
minInsync: 2
ack: all
commit: after-process
rate: 1000
durationMs: 500
`;

function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`test setup: ${JSON.stringify(from)} is not in the text`);
  return text.replace(from, to);
}

function load(text: string): BenchWorkload {
  const result = loadWorkloadText(text, 'w.yaml');
  expect(result.errors.map((error) => error.format())).toEqual([]);
  if (result.workload === undefined) throw new Error('no workload');
  return result.workload;
}

function errorLines(text: string): string[] {
  const result = loadWorkloadText(text, 'w.yaml');
  expect(result.workload).toBeUndefined();
  return result.errors.map((error) => error.format());
}

describe('loadWorkloadText: valid workloads', () => {
  it('applies the defaults and makes a fixed rate a series of one step', () => {
    expect(load(BASE)).toEqual({
      file: 'w.yaml',
      name: 'tiny',
      description: 'A workload for the loader tests.',
      messageBytes: 100,
      keys: 10,
      partitions: 3,
      replication: 3,
      minInsync: 2,
      producers: 1,
      consumers: 1,
      ack: 'all',
      commit: 'after-process',
      idempotent: false,
      rates: [1000],
      stepped: false,
      warmupMs: 0,
      durationMs: 500,
      seed: 1,
      adapter: {
        brokers: 3,
        retries: 0,
        maxInFlight: 1024,
        maxPollRecords: 500,
        pollTimeoutMs: 100,
        isolation: 'read-uncommitted',
      },
      requires: ['ack.all', 'commit.after-process'],
    });
  });

  it('takes a stepped series, every optional field, and the capabilities they need', () => {
    const text = `${edit(BASE, 'rate: 1000\n', 'rates: [100, 200, 400]\n')}producers: 2
consumers: 3
idempotent: true
warmupMs: 50
seed: 9
adapter:
  brokers: 5
  retries: 7
  maxInFlight: 10
  maxPollRecords: 20
  pollTimeoutMs: 30
  isolation: read-committed
`;
    const workload = load(edit(text, 'commit: after-process', 'commit: transactional'));
    expect(workload.rates).toEqual([100, 200, 400]);
    expect(workload.stepped).toBe(true);
    expect(workload.adapter).toEqual({ brokers: 5, retries: 7, maxInFlight: 10, maxPollRecords: 20, pollTimeoutMs: 30, isolation: 'read-committed' });
    expect(workload.requires).toEqual([
      'ack.all',
      'commit.transactional',
      'producer.idempotent',
      'producer.transactional',
      'isolation.read-committed',
    ]);
  });

  it('loads every workload that ships in bench/workloads, with the modes the issue asks for', async () => {
    const { workloads, errors } = await loadWorkloads([join(packageRoot(), 'bench', 'workloads')]);
    expect(errors.map((error) => error.format())).toEqual([]);
    const fixed = workloads.filter((workload) => !workload.stepped);
    for (const ack of ['none', 'leader', 'all'] as const) {
      expect(fixed.some((workload) => workload.ack === ack), `ack ${ack}`).toBe(true);
    }
    for (const commit of ['before-process', 'after-process', 'transactional'] as const) {
      expect(workloads.some((workload) => workload.commit === commit), `commit ${commit}`).toBe(true);
    }
    expect(workloads.some((workload) => workload.stepped && workload.rates.length >= 3)).toBe(true);
    // Small enough for the reference bench of all of them to finish in well under a minute: about
    // 700 000 messages took half a minute on the 2-core development machine, most of them the
    // curve's steps up to 80 000 msg/s, which a real cluster needs to show where it saturates.
    const messages = workloads.reduce(
      (sum, workload) => sum + workload.rates.reduce((steps, rate) => steps + scheduleWindow(rate, workload.warmupMs, workload.durationMs).total, 0),
      0,
    );
    expect(messages).toBeLessThan(750_000);
  });
});

describe('loadWorkloadText: one-line errors with file, line and column', () => {
  it('names an unknown field and lists the known ones', () => {
    const [line] = errorLines(`${BASE}speed: 3\n`);
    expect(line).toMatch(/^w\.yaml:12:1: speed is not a known field \(known: name, description, messageBytes, .*adapter\)$/);
  });

  it('names an unknown field of the adapter settings', () => {
    expect(errorLines(`${BASE}adapter:\n  linger: 5\n`)).toEqual([
      'w.yaml:13:3: adapter.linger is not a known field (known: brokers, retries, maxInFlight, maxPollRecords, pollTimeoutMs, isolation)',
    ]);
  });

  it('names a value outside its vocabulary or its limits', () => {
    expect(errorLines(edit(BASE, 'ack: all', 'ack: most'))).toEqual(['w.yaml:8:6: ack must be one of none, leader, all (got "most")']);
    expect(errorLines(edit(BASE, 'rate: 1000', 'rate: 0'))).toEqual([`w.yaml:10:7: rate must be an integer from 1 to ${BENCH_LIMITS.rate} (got 0)`]);
    expect(errorLines(edit(BASE, 'rate: 1000', 'rate: fast'))).toEqual([`w.yaml:10:7: rate must be an integer from 1 to ${BENCH_LIMITS.rate} (got "fast")`]);
    expect(errorLines(edit(BASE, 'messageBytes: 100', 'messageBytes: 2000000'))).toEqual([
      `w.yaml:3:15: messageBytes must be an integer from 1 to ${BENCH_LIMITS.messageBytes} (got 2000000)`,
    ]);
  });

  it('asks for a missing required field at the top of the file', () => {
    expect(errorLines(edit(BASE, 'keys: 10\n', ''))).toEqual(['w.yaml:1:1: keys is required']);
  });

  it('wants exactly one of rate and rates', () => {
    expect(errorLines(edit(BASE, 'rate: 1000\n', ''))).toEqual([
      'w.yaml:1:1: rate (one fixed rate in messages per second) or rates (a stepped series) is required',
    ]);
    expect(errorLines(`${BASE}rates: [1, 2]\n`)).toEqual([
      'w.yaml:12:1: rates and rate exclude each other: give one fixed rate or a stepped series',
    ]);
  });

  it('wants the steps of a series to ascend, pointing at the step that does not', () => {
    expect(errorLines(edit(BASE, 'rate: 1000', 'rates: [100, 300, 200]'))).toEqual([
      'w.yaml:10:19: rates[2] must be higher than rates[1], which is 300 (got 200): the steps ascend so the curve reads left to right',
    ]);
    expect(errorLines(edit(BASE, 'rate: 1000', 'rates: [100, 100]'))).toEqual(['w.yaml:10:14: rates[1] is a duplicate of rates[0] (100)']);
  });

  it('refuses settings that contradict each other', () => {
    expect(errorLines(edit(BASE, 'minInsync: 2', 'minInsync: 4'))).toEqual([
      'w.yaml:7:12: minInsync must be at most replication, which is 3 (got 4)',
    ]);
    expect(errorLines(`${edit(BASE, 'ack: all', 'ack: leader')}idempotent: true\n`)).toEqual([
      'w.yaml:12:13: idempotent needs ack all, as in Kafka: sequence numbers only guard writes the in-sync replicas acknowledged',
    ]);
    expect(errorLines(`${BASE}adapter:\n  brokers: 2\n`)).toEqual(['w.yaml:6:14: replication must be at most adapter.brokers, which is 2 (got 3)']);
  });

  it('refuses a step that would send too many messages, or measure none', () => {
    expect(errorLines(edit(BASE, 'durationMs: 500', 'durationMs: 3000000'))).toEqual([
      `w.yaml:10:7: rate 1000 for warmupMs + durationMs 3000000 would send 3000000 messages in one step; at most ${BENCH_LIMITS.messagesPerStep} are allowed`,
    ]);
    // At one message per second with 100 ms of warm-up, the only message (at 0 ms) is warm-up.
    expect(errorLines(`${edit(edit(BASE, 'rate: 1000', 'rate: 1'), 'durationMs: 500', 'durationMs: 400')}warmupMs: 100\n`)).toEqual([
      'w.yaml:11:13: durationMs 400 at 1 messages per second measures no message; make durationMs at least 1000',
    ]);
    // Without warm-up the first message, sent at once, is measured.
    expect(load(edit(edit(BASE, 'rate: 1000', 'rate: 1'), 'durationMs: 500', 'durationMs: 400')).rates).toEqual([1]);
  });

  it('reports YAML syntax errors, an empty file and a top level that is not a mapping', () => {
    const [syntax] = errorLines('name: [unclosed\n');
    expect(syntax).toMatch(/^w\.yaml:\d+:\d+: /);
    expect(errorLines('')).toEqual([
      'w.yaml:1:1: the file is empty; it must hold one benchmark workload, a mapping of name, description, messageBytes, keys, partitions, replication, ack, commit, rate or rates, and durationMs',
    ]);
    expect(errorLines('- a\n- b\n')).toEqual(['w.yaml:1:1: the top level must be a mapping of workload fields (got a list of 2 entries)']);
  });

  it('reports every error of a file at once, in file order', () => {
    const lines = errorLines(edit(edit(BASE, 'ack: all', 'ack: most'), 'keys: 10', 'keys: 0'));
    expect(lines).toEqual([
      `w.yaml:4:7: keys must be an integer from 1 to ${BENCH_LIMITS.keys} (got 0)`,
      'w.yaml:8:6: ack must be one of none, leader, all (got "most")',
    ]);
  });
});

describe('loadWorkloads: files and folders', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('says so when a path does not exist or a folder holds no workload', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-workload-'));
    await writeFile(join(dir, 'notes.txt'), 'not a workload');
    const missing = join(dir, 'missing.yaml');
    const result = await loadWorkloads([missing, dir]);
    expect(result.workloads).toEqual([]);
    expect(result.errors.map((error) => error.format())).toEqual([
      `${missing}: no such file or folder`,
      `${dir}: the folder holds no workload files (*.yaml or *.yml)`,
    ]);
  });

  it('loads the files of a folder in path order and keeps the errors of the bad ones', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-workload-'));
    await writeFile(join(dir, 'b.yaml'), BASE);
    await writeFile(join(dir, 'a.yml'), edit(BASE, 'name: tiny', 'name: first'));
    await writeFile(join(dir, 'c.yaml'), `${BASE}oops: 1\n`);
    const result = await loadWorkloads([dir]);
    expect(result.workloads.map((workload) => workload.name)).toEqual(['first', 'tiny']);
    expect(result.errors.map((error) => error.format())).toEqual([
      expect.stringMatching(/c\.yaml:12:1: oops is not a known field/),
    ]);
  });
});
