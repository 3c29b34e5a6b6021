// The benchmark as the CLI runs it: benchCommand in-process on the reference adapter with tiny
// workloads, its reports on disk, its exit codes and its one-line errors.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { Adapter, Consumer, DeliveredRecord, Session } from '../../adapters/contract.js';
import { adapterNames } from '../../adapters/registry.js';
import { OffsetLogConsumer } from '../../adapters/offset-log.js';
import { benchCommand, type BenchDeps } from '../../harness/cli/bench-command.js';
import { runBenchStep } from '../../bench/driver.js';
import { loadWorkloadText } from '../../bench/workload.js';
import { hashKey } from '../../core/random.js';
import { referenceAdapter } from '../../reference/adapter.js';
import { benchResultSchema, type BenchResult, type BenchRun, type LatencySummary } from '../../spec/bench-result.js';

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(benchResultSchema);

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'deliverycheck-bench-'));
}

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function bench(args: readonly string[], options: { isTTY?: boolean; deps?: BenchDeps } = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    isTTY: options.isTTY ?? false,
    columns: 200,
  };
  const code = await benchCommand(args, io, options.deps);
  return { code, stdout, stderr };
}

function readResult(path: string): BenchResult {
  const result = JSON.parse(readFileSync(path, 'utf8')) as BenchResult;
  expect(validate(result), JSON.stringify(validate.errors)).toBe(true);
  return result;
}

function workload(name: string, lines: string): string {
  return `name: ${name}
description: A tiny workload for the end-to-end test.
messageBytes: 100
keys: 10
partitions: 2
replication: 3
minInsync: 2
warmupMs: 50
seed: 3
${lines}`;
}

const TINY_ACK_ALL = workload('tiny-ack-all', 'ack: all\ncommit: after-process\nrate: 1000\ndurationMs: 200\n');
const TINY_CURVE = workload('tiny-curve', 'ack: leader\ncommit: after-process\nrates: [500, 1500]\ndurationMs: 100\n');
const TINY_PIPELINE = workload(
  'tiny-pipeline',
  'ack: all\nidempotent: true\ncommit: transactional\nrate: 300\ndurationMs: 200\nconsumers: 2\n',
);
const TINY_BEFORE = workload('tiny-before', 'ack: all\ncommit: before-process\nrate: 500\ndurationMs: 200\n');

function expectOrdered(summary: LatencySummary, what: string): void {
  expect(summary.count, `${what} count`).toBeGreaterThan(0);
  expect(summary.minUs, what).toBeLessThanOrEqual(summary.p50Us);
  expect(summary.p50Us, what).toBeLessThanOrEqual(summary.p99Us);
  expect(summary.p99Us, what).toBeLessThanOrEqual(summary.maxUs);
  expect(summary.maxUs, `${what} max`).toBeGreaterThan(0);
}

/** An adapter that is the reference broker with some of its parts changed. */
function referenceWith(changes: Partial<Adapter> & { readonly switchOn?: readonly string[] }): BenchDeps {
  const adapter: Adapter = {
    ...referenceAdapter,
    ...changes,
    defects: referenceAdapter.defects,
    open: changes.open ?? ((options) => referenceAdapter.open({ ...options, defects: changes.switchOn ?? options.defects })),
  };
  return { adapterNames, loadAdapter: async (name) => (name === 'reference' ? adapter : undefined) };
}

describe('deliverycheck bench on the reference adapter', () => {
  it('runs fixed and stepped workloads and writes JSON, Markdown and SVG with sane figures', async () => {
    const dir = scratch();
    const workloads = join(dir, 'workloads');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(workloads);
    writeFileSync(join(workloads, 'a-ack-all.yaml'), TINY_ACK_ALL);
    writeFileSync(join(workloads, 'b-curve.yaml'), TINY_CURVE);
    writeFileSync(join(workloads, 'c-pipeline.yaml'), TINY_PIPELINE);
    const [json, markdown, svg] = [join(dir, 'out', 'r.json'), join(dir, 'out', 'r.md'), join(dir, 'out', 'r.svg')];
    const run = await bench([workloads, '--json', json, '--markdown', markdown, '--chart', svg]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const result = readResult(json);
    expect(result.runs.map((entry) => `${entry.workload}@${entry.rate}`)).toEqual([
      'tiny-ack-all@1000',
      'tiny-curve@500',
      'tiny-curve@1500',
      'tiny-pipeline@300',
    ]);
    for (const entry of result.runs) {
      const what = `${entry.workload}@${entry.rate}`;
      expect(entry.status, what).toBe('ok');
      expect(entry.clock, what).toBe('virtual');
      expect(entry.counts.sent, what).toBeGreaterThan(0);
      expect(entry.measured.intended, what).toBeGreaterThan(0);
      expect(entry.measured.processed, what).toBeGreaterThan(0);
      expect(entry.throughput.producer.messagesPerSecond, what).toBeGreaterThan(0);
      expect(entry.throughput.consumer.messagesPerSecond, what).toBeGreaterThan(0);
      expectOrdered(entry.latency.publish, `${what} publish`);
      expectOrdered(entry.latency.endToEnd, `${what} end-to-end`);
      expectOrdered(entry.latency.commit, `${what} commit`);
      // Processing follows the acknowledgment (with ack leader and all, a consumer reads below the high watermark).
      expect(entry.latency.endToEnd.p50Us, what).toBeGreaterThanOrEqual(entry.latency.publish.p50Us);
      expect(entry.claims.lost.count, what).toBe(0);
      expect(entry.claims.lost.held && entry.claims.duplicated.held, what).toBe(true);
      expect(entry.driver.cpuUsPerMessage, what).toBeGreaterThan(0);
      expect(entry.driver.eventLoopDelayUs, what).toBeUndefined();
      expect(entry.notes.some((note) => note.includes('virtual clock')), what).toBe(true);
    }
    const ackAll = result.runs[0] as BenchRun;
    expect(ackAll.claims.lost.expect).toBe('none');
    expect(ackAll.counts.sent).toBe(250);
    expect(ackAll.measured.intended).toBe(200);
    // The reference broker keeps up with 1000 msg/s: every measured message is acknowledged and processed.
    expect(ackAll.measured.acknowledged).toBe(200);
    expect(ackAll.measured.processed).toBe(200);
    expect(ackAll.throughput.producer.messagesPerSecond).toBeGreaterThan(900);
    expect(ackAll.throughput.producer.messagesPerSecond).toBeLessThan(1100);
    const pipeline = result.runs[3] as BenchRun;
    expect(pipeline.claims.duplicated.expect).toBe('none');
    expect(pipeline.anomalies.duplicated).toBe(0);

    // The terminal table: a header, one row per run, the footnote on the virtual clock, a summary.
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^workload\s+adapter\s+ack\s+commit\s+rate/);
    expect(lines.filter((line) => line.startsWith('tiny-')).length).toBe(4);
    expect(run.stdout).toContain('reference*');
    expect(run.stdout).toContain('* virtual clock');
    expect(run.stdout).toContain('4 runs: 4 ok, 0 failed, 0 skipped, 0 errors');

    const text = readFileSync(markdown, 'utf8');
    expect(text).toMatch(/^# deliverycheck bench\n/);
    expect(text).toContain('| tiny-ack-all | reference | virtual | all | after-process | 1000 |');
    const chart = readFileSync(svg, 'utf8');
    expect(chart.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(chart).toContain('tiny-curve');
    expect(chart).toContain('Latency against throughput (stepped rates)');
  });

  it('gives the same figures for the same seed: the reference broker is deterministic', async () => {
    const dir = scratch();
    const file = join(dir, 'w.yaml');
    writeFileSync(file, TINY_ACK_ALL);
    const figures = async (json: string) => {
      const run = await bench([file, '--seed', '11', '--json', json]);
      expect(run.code).toBe(0);
      const entry = readResult(json).runs[0] as BenchRun;
      expect(entry.seed).toBe(11);
      // The driver's real time and CPU differ between runs; everything measured on the clock does not.
      const { driver, ...measured } = entry;
      return { measured, missed: driver.missedSchedule };
    };
    expect(await figures(join(dir, '1.json'))).toEqual(await figures(join(dir, '2.json')));
  });

  it('writes an HTML chart and draws a progress line only on a terminal', async () => {
    const dir = scratch();
    const file = join(dir, 'w.yaml');
    writeFileSync(file, TINY_ACK_ALL);
    const html = join(dir, 'chart.html');
    const run = await bench([file, '--chart', html], { isTTY: true });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('\r');
    expect(run.stderr).toContain('[1/1] tiny-ack-all on reference at 1000 msg/s');
    const page = readFileSync(html, 'utf8');
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('<svg xmlns=');
  });

  it('exits 1 when a claim fails: duplicates under before-process, from a broker that delivers twice', async () => {
    const dir = scratch();
    const file = join(dir, 'w.yaml');
    writeFileSync(file, TINY_BEFORE);
    const json = join(dir, 'r.json');
    const run = await bench([file, '--json', json], { deps: referenceWith({ switchOn: ['duplicate-fetch'] }) });
    expect(run.code).toBe(1);
    const entry = readResult(json).runs[0] as BenchRun;
    expect(entry.status).toBe('failed');
    expect(entry.claims.duplicated.expect).toBe('none');
    expect(entry.claims.duplicated.count).toBeGreaterThan(0);
    expect(entry.reason).toMatch(/^duplicated: \d+ \(before-process/);
    expect(run.stdout).toMatch(/FAIL\s+tiny-before on reference at 500 msg\/s: duplicated/);
    expect(run.stdout).toContain(`reproduce: npx deliverycheck bench ${file} --adapter reference --seed 3`);
  });

  it('skips a workload whose modes the adapter lacks, and still exits 0', async () => {
    const dir = scratch();
    const file = join(dir, 'w.yaml');
    writeFileSync(file, TINY_PIPELINE);
    const capabilities = new Set([...referenceAdapter.capabilities].filter((capability) => capability !== 'commit.transactional'));
    const json = join(dir, 'r.json');
    const run = await bench([file, '--json', json], { deps: referenceWith({ capabilities }) });
    expect(run.code).toBe(0);
    const entry = readResult(json).runs[0] as BenchRun;
    expect(entry.status).toBe('skipped');
    expect(entry.reason).toBe('adapter reference lacks commit.transactional');
    expect(run.stdout).toContain('SKIP  tiny-pipeline on reference at 300 msg/s: adapter reference lacks commit.transactional');
  });

  it('reports a run whose adapter fails as an error and exits 2', async () => {
    const dir = scratch();
    const file = join(dir, 'w.yaml');
    writeFileSync(file, TINY_ACK_ALL);
    const json = join(dir, 'r.json');
    const run = await bench([file, '--json', json], {
      deps: referenceWith({
        open: async () => {
          throw new Error('no cluster today');
        },
      }),
    });
    expect(run.code).toBe(2);
    const entry = readResult(json).runs[0] as BenchRun;
    expect(entry.status).toBe('error');
    expect(entry.reason).toBe('no cluster today');
  });
});

/**
 * A broker that is a few arrays on the wall clock: enough to drive the benchmark's wall-clock
 * paths (the clock probe, event-loop delay, yielding to acknowledgments) without a real broker.
 * One consumer owns every partition.
 */
function memoryAdapter(): Adapter {
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    name: 'memory',
    description: 'an in-memory log on the wall clock, for tests',
    capabilities: new Set(['ack.none', 'ack.leader', 'ack.all', 'commit.before-process', 'commit.after-process', 'commit.auto']),
    retention: 'log',
    defects: [],
    async open(options): Promise<Session> {
      const openedMs = performance.now();
      const clock = {
        now: () => performance.now() - openedMs,
        sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
      };
      const logs: string[][] = Array.from({ length: options.topic.partitions }, () => []);
      const committed = new Map<number, number>();
      return {
        clock,
        producer: async (producerOptions) => ({
          send: async (message) => {
            const partition = hashKey(message.key) % logs.length;
            const log = logs[partition] as string[];
            log.push(message.id);
            await nextTurn();
            return { partition, offset: producerOptions.ack === 'none' ? null : log.length - 1 };
          },
          close: async () => undefined,
          crash: async () => undefined,
        }),
        transactionalProducer: async () => {
          throw new Error('the memory adapter has no transactions');
        },
        consumer: async (consumerOptions): Promise<Consumer> => {
          const next = new Map(logs.map((_, partition) => [partition, committed.get(partition) ?? 0]));
          return new (class MemoryConsumer extends OffsetLogConsumer implements Consumer {
            positions = () => new Map(next);
            seekToCommitted = async () => {
              for (const partition of next.keys()) next.set(partition, committed.get(partition) ?? 0);
            };
            commit = async (offsets: ReadonlyMap<number, number>) => {
              await nextTurn();
              for (const [partition, offset] of offsets) committed.set(partition, offset);
            };
            poll = async (timeoutMs: number) => {
              const records: DeliveredRecord[] = [];
              for (const [partition, log] of logs.entries()) {
                let offset = next.get(partition) ?? 0;
                while (offset < log.length && records.length < consumerOptions.maxPollRecords) {
                  records.push({ id: log[offset] as string, partition, offset });
                  offset++;
                }
                next.set(partition, offset);
              }
              if (records.length === 0) await clock.sleep(Math.min(2, timeoutMs));
              return records;
            };
            assignment = () => new Set(next.keys());
            close = async () => undefined;
            crash = async () => undefined;
          })();
        },
        backlog: async () => logs.reduce((sum, log, partition) => sum + Math.max(0, log.length - (committed.get(partition) ?? 0)), 0),
        settle: async () => true,
        drain: async () => logs.flatMap((log, partition) => log.map((id, offset) => ({ topic: 'input' as const, id, partition, offset }))),
        close: async () => undefined,
      };
    },
  };
}

describe('deliverycheck bench on a wall-clock adapter', () => {
  it('ends a step in an error naming the send when a send hangs past its deadline', async () => {
    const memory = memoryAdapter();
    const hanging: Adapter = {
      ...memory,
      async open(options): Promise<Session> {
        const session = await memory.open(options);
        return {
          ...session,
          producer: async (producerOptions) => ({
            ...(await session.producer(producerOptions)),
            // The fifth send never settles: a broker that took it and never answered.
            send: (message) =>
              message.seq === 4 ? new Promise(() => undefined) : session.producer(producerOptions).then((producer) => producer.send(message)),
          }),
        };
      },
    };
    const loaded = loadWorkloadText(TINY_ACK_ALL, 'hang.yaml');
    if (loaded.workload === undefined) throw new Error('the tiny workload does not load');
    const run = await runBenchStep(loaded.workload, { adapter: hanging, step: 0, operationTimeoutMs: 500 });
    expect(run.status).toBe('error');
    expect(run.reason).toBe('producer 0 sending p0-4 did not finish within 500 ms');
  });

  it('says the clock is wall, reports event-loop delay, and compares side by side with the reference', async () => {
    const dir = scratch();
    const file = join(dir, 'w.yaml');
    writeFileSync(file, TINY_ACK_ALL);
    const json = join(dir, 'r.json');
    const memory = memoryAdapter();
    const deps: BenchDeps = {
      adapterNames: () => ['reference', 'memory'],
      loadAdapter: async (name) => (name === 'memory' ? memory : name === 'reference' ? referenceAdapter : undefined),
    };
    const run = await bench([file, '--adapter', 'memory,reference', '--json', json], { deps });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [wall, virtual] = readResult(json).runs as [BenchRun, BenchRun];
    expect(wall.adapter).toBe('memory');
    expect(wall.clock).toBe('wall');
    expect(wall.status).toBe('ok');
    expect(wall.driver.eventLoopDelayUs).toBeDefined();
    expect(wall.notes.some((note) => note.includes('virtual clock'))).toBe(false);
    expect(wall.counts.sent).toBe(250);
    expect(wall.claims.lost.count).toBe(0);
    expectOrdered(wall.latency.publish, 'wall publish');
    expectOrdered(wall.latency.endToEnd, 'wall end-to-end');
    expect(virtual.adapter).toBe('reference');
    expect(virtual.clock).toBe('virtual');
    expect(run.stdout).toMatch(/\ntiny-ack-all\s+memory\s/);
    expect(run.stdout).toMatch(/\ntiny-ack-all\s+reference\*\s/);
  });
});

describe('deliverycheck bench: bad input exits 2 with one line', () => {
  it('names the file, line, column and field of a bad workload', async () => {
    const dir = scratch();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, TINY_ACK_ALL.replace('ack: all', 'ack: most'));
    const run = await bench([file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${file}:10:6: ack must be one of none, leader, all (got "most")\n`);
    expect(run.stdout).toBe('');
  });

  it('refuses unknown adapters and options, a bad seed and a chart that is neither SVG nor HTML', async () => {
    const cases: [readonly string[], string][] = [
      [['--adapter', 'pulsar'], `deliverycheck: unknown adapter pulsar (known: ${adapterNames().join(', ')})\n`],
      [['--adapter', 'reference,'], 'deliverycheck: --adapter must be adapter names separated by commas, not "reference,"\n'],
      [['--speed', '3'], 'deliverycheck: unknown option --speed (see deliverycheck bench --help)\n'],
      [['--json'], 'deliverycheck: option --json needs a value (see deliverycheck bench --help)\n'],
      [['--seed', '-1'], 'deliverycheck: option --seed needs a value (write --seed=-1 for one that starts with a dash) (see deliverycheck bench --help)\n'],
      [['--seed', 'x'], 'deliverycheck: --seed must be an integer from 0 to 2147483647, not "x"\n'],
      [['--chart', 'c.png'], 'deliverycheck: --chart must name a .svg or .html file, not "c.png"\n'],
      [['/no/such/folder'], '/no/such/folder: no such file or folder\n'],
    ];
    for (const [args, stderr] of cases) {
      const run = await bench(args);
      expect(run.stderr, args.join(' ')).toBe(stderr);
      expect(run.code, args.join(' ')).toBe(2);
    }
  });

  it('prints its usage for --help and exits 0', async () => {
    const run = await bench(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('deliverycheck bench [PATH...]');
    expect(run.stdout).toContain('--chart FILE.svg|FILE.html');
  });
});
