// The command line's contract with scripts and CI: what each bad argument says (one line on
// stderr) and which exit code it gives, driven through `main` in-process with captured io.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Adapter } from '../../adapters/contract.js';
import { adapterNames } from '../../adapters/registry.js';
import { loadScenarios } from '../../harness/conformance/loader.js';
import { main, type CliDeps, type CliIo } from '../../harness/cli/cli.js';
import { resultSchema, type ScenarioResult } from '../../spec/result.js';
import { packageVersion } from '../../core/package-root.js';
import type { Scenario } from '../../spec/scenario.js';
import type { Capability } from '../../spec/vocabulary.js';

interface Captured {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

function capture(env: Record<string, string> = {}): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
      isTTY: false,
      env,
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

async function cli(argv: string[], deps?: CliDeps, env?: Record<string, string>) {
  const captured = capture(env);
  const code = await main(argv, captured.io, deps);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

function fakeAdapter(name: string, defects: Adapter['defects']): Adapter {
  return {
    name,
    description: `the ${name} test double`,
    capabilities: new Set<Capability>(['ack.all', 'commit.after-process']),
    retention: 'log',
    defects,
    open: () => Promise.reject(new Error('a test double opens nothing')),
  };
}

const flaky = fakeAdapter('flaky', [
  { name: 'lose-acked', description: 'acknowledges writes it never stores' },
  { name: 'double-deliver', description: 'delivers every tenth record twice' },
]);
const plain = fakeAdapter('plain', []);

/** The real loader with fake adapters and a runner that answers from `outcome`. */
function fakeDeps(outcome: (scenario: Scenario) => ScenarioResult['status'] | Error): CliDeps & { runs: string[] } {
  const runs: string[] = [];
  return {
    runs,
    adapterNames: () => ['flaky', 'plain'],
    loadAdapter: (name) => Promise.resolve(name === 'flaky' ? flaky : name === 'plain' ? plain : undefined),
    loadScenarios,
    runScenario: (scenario, options) => {
      runs.push(scenario.name);
      const status = outcome(scenario);
      if (status instanceof Error) return Promise.reject(status);
      const seed = options.seed ?? scenario.seed;
      return Promise.resolve({
        file: scenario.file,
        name: scenario.name,
        seed,
        status,
        ...(status === 'skipped' || status === 'error' ? { reason: `made ${status} by the test` } : {}),
        counts: { sent: 10, acknowledged: 10, stored: 10, delivered: 10, processed: 10 },
        anomalies: {
          lost: { expect: 'none', count: status === 'failed' ? 1 : 0, held: status !== 'failed', witnesses: [] },
        },
        durationMs: 5,
        reproduce: `npx deliverycheck run ${scenario.file} --adapter ${options.adapter.name} --seed ${seed}`,
      });
    },
  };
}

const validYaml = `name: acks=all keeps acknowledged writes
description: With acks=all on one broker nothing acknowledged is lost.
cluster: { brokers: 1 }
topic: { partitions: 1, replication: 1 }
producer: { ack: all }
consumer: { commit: after-process }
workload: { messages: 10, keys: 2 }
expect: { guarantee: at-least-once }
`;

let folder = '';
let validFile = '';
let invalidFile = '';
let emptyFolder = '';
let goodFolder = '';

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'deliverycheck-cli-'));
  validFile = join(folder, 'suites', 'valid.yaml');
  invalidFile = join(folder, 'suites', 'invalid.yaml');
  emptyFolder = join(folder, 'empty');
  goodFolder = join(folder, 'good');
  await mkdir(join(folder, 'suites'), { recursive: true });
  await mkdir(emptyFolder);
  await mkdir(goodFolder);
  await writeFile(validFile, validYaml);
  await writeFile(invalidFile, validYaml.replace('ack: all', 'ack: sometimes'));
  await writeFile(join(goodFolder, 'a.yaml'), validYaml.replace('name: acks', 'name: first acks'));
  await writeFile(join(goodFolder, 'b.yaml'), validYaml.replace('name: acks', 'name: second acks'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Every complaint is one line on stderr and nothing on stdout. */
function expectOneLineError(result: { code: number; stdout: string; stderr: string }, line: string): void {
  expect(result.stderr).toBe(`${line}\n`);
  expect(result.stdout).toBe('');
  expect(result.code).toBe(2);
}

describe('help and version', () => {
  it('prints the version', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${packageVersion()}\n`, stderr: '' });
  });

  it.each([['help'], ['--help'], ['-h'], ['run', '--help'], ['validate', '-h'], ['adapters', '--help']])(
    'prints the usage for %s',
    async (...argv) => {
      const result = await cli(argv);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage:');
      expect(result.stdout).toContain('deliverycheck run [PATH...]');
      expect(result.stderr).toBe('');
    },
  );

  it('prints the usage on stderr and exits 2 without a command', async () => {
    const result = await cli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Usage:');
  });
});

describe('argument errors', () => {
  it.each([
    [['run', '--foo'], 'deliverycheck: unknown option --foo (see deliverycheck --help)'],
    [['--foo'], 'deliverycheck: unknown option --foo (see deliverycheck --help)'],
    [['run', '-x'], 'deliverycheck: unknown option -x (see deliverycheck --help)'],
    [['validate', '--adapter', 'reference'], 'deliverycheck: unknown option --adapter (see deliverycheck --help)'],
    [['frobnicate'], 'deliverycheck: unknown command frobnicate (see deliverycheck --help)'],
    [['run', '--adapter'], 'deliverycheck: option --adapter needs a value (see deliverycheck --help)'],
    [
      ['run', '--adapter', '--seed', '3'],
      'deliverycheck: option --adapter needs a value (write --adapter=--seed for one that starts with a dash) (see deliverycheck --help)',
    ],
    [['run', '--help=yes'], 'deliverycheck: option --help takes no value (see deliverycheck --help)'],
    [['adapters', 'extra'], 'deliverycheck: unexpected argument extra (see deliverycheck --help)'],
    [['run', '--seed', 'abc'], 'deliverycheck: --seed must be an integer from 0 to 2147483647, not "abc"'],
    [['run', '--seed=-1'], 'deliverycheck: --seed must be an integer from 0 to 2147483647, not "-1"'],
    [['run', '--seed', '1.5'], 'deliverycheck: --seed must be an integer from 0 to 2147483647, not "1.5"'],
    [['run', '--seed', '2147483648'], 'deliverycheck: --seed must be an integer from 0 to 2147483647, not "2147483648"'],
    [['run', '--adapter', 'nope'], `deliverycheck: unknown adapter nope (known: ${adapterNames().join(', ')})`],
  ])('%j is refused in one line with exit code 2', async (argv, line) => {
    expectOneLineError(await cli(argv), line);
  });

  it('refuses a defect the adapter does not have, naming the ones it has', async () => {
    const deps = fakeDeps(() => 'passed');
    expectOneLineError(
      await cli(['run', validFile, '--adapter', 'flaky', '--defect', 'lose-acked', '--defect', 'bogus'], deps),
      'deliverycheck: unknown defect bogus for adapter flaky (known: lose-acked, double-deliver)',
    );
    expectOneLineError(
      await cli(['run', validFile, '--adapter', 'plain', '--defect', 'lose-acked'], deps),
      'deliverycheck: unknown defect lose-acked for adapter plain (it has none)',
    );
    expect(deps.runs).toEqual([]);
  });

  it('reports an unexpected exception in one line, with the stack only under DELIVERYCHECK_DEBUG', async () => {
    const deps: CliDeps = {
      ...fakeDeps(() => 'passed'),
      loadScenarios: () => Promise.reject(new Error('disk on fire\nsecond line')),
    };
    expectOneLineError(await cli(['validate', 'x'], deps), 'deliverycheck: disk on fire');
    const debug = await cli(['validate', 'x'], deps, { DELIVERYCHECK_DEBUG: '1' });
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/^deliverycheck: disk on fire\nError: disk on fire\nsecond line\n\s+at /u);
  });
});

describe('validate', () => {
  it('says ok for a valid file', async () => {
    expect(await cli(['validate', validFile])).toEqual({ code: 0, stdout: 'ok: 1 scenario\n', stderr: '' });
  });

  it('prints each load error on one line and exits 2', async () => {
    const result = await cli(['validate', join(folder, 'suites')]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${invalidFile.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')}:5:\\d+: .*producer\\.ack`, 'u'));
  });

  it('refuses a folder without scenarios and a path that does not exist', async () => {
    const empty = await cli(['validate', emptyFolder]);
    expect(empty.code).toBe(2);
    expect(empty.stderr.trimEnd().split('\n')).toHaveLength(1);
    const missing = await cli(['validate', join(folder, 'missing.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing.yaml');
  });
});

describe('run, with a stand-in runner', () => {
  it('runs nothing when a scenario file is invalid', async () => {
    const deps = fakeDeps(() => 'passed');
    const result = await cli(['run', join(folder, 'suites'), '--adapter', 'flaky'], deps);
    expect(result.code).toBe(2);
    expect(deps.runs).toEqual([]);
    expect(result.stdout).toBe('');
  });

  it.each([
    ['passed', 0],
    ['skipped', 0],
    ['failed', 1],
    ['error', 2],
  ] as const)('exits for a %s scenario with %i', async (status, code) => {
    const result = await cli(['run', validFile, '--adapter', 'flaky'], fakeDeps(() => status));
    expect(result.code).toBe(code);
    expect(result.stdout).toContain('1 scenario: ');
  });

  it('turns a runner exception into an error result and goes on', async () => {
    const deps = fakeDeps(() => new Error('boom'));
    const result = await cli(['run', goodFolder, '--adapter', 'flaky'], deps);
    expect(result.code).toBe(2);
    expect(deps.runs).toEqual(['first acks=all keeps acknowledged writes', 'second acks=all keeps acknowledged writes']);
    expect(result.stdout.match(/^ERROR .* — the runner failed: boom$/gmu)).toHaveLength(2);
    expect(result.stdout).toContain('2 scenarios: 0 passed, 0 failed, 0 skipped, 2 errors');
    expect(result.stdout).toContain(`reproduce: npx deliverycheck run ${join(goodFolder, 'a.yaml')} --adapter flaky --seed 1`);
  });

  it('colours and draws progress only on a terminal, and honours NO_COLOR', async () => {
    const runOn = async (isTTY: boolean, env: Record<string, string>) => {
      const captured = capture(env);
      const code = await main(['run', validFile, '--adapter', 'flaky'], { ...captured.io, isTTY }, fakeDeps(() => 'passed'));
      return { code, stdout: captured.stdout(), stderr: captured.stderr() };
    };
    const terminal = await runOn(true, {});
    expect(terminal.stdout).toContain('\u001b[32mPASS');
    expect(terminal.stderr).toBe(`\r\u001b[K[1/1] running ${validFile}\r\u001b[K`);
    const noColor = await runOn(true, { NO_COLOR: '1' });
    expect(noColor.stdout).not.toContain('\u001b[');
    expect(noColor.stderr).toContain('[1/1] running');
    const piped = await runOn(false, {});
    expect(piped.stdout).not.toContain('\u001b[');
    expect(piped.stderr).toBe('');
  });

  it('writes JSON valid against the schema and JUnit, with the seed and defects given', async () => {
    const json = join(folder, 'out', 'run.json');
    const junit = join(folder, 'out', 'junit.xml');
    const deps = fakeDeps(() => 'failed');
    const args = ['run', validFile, '--adapter', 'flaky', '--seed', '42', '--defect', 'lose-acked'];
    const result = await cli([...args, '--json', json, '--junit', junit], deps);
    expect(result.code).toBe(1);
    const run: unknown = JSON.parse(await readFile(json, 'utf8'));
    expect(new Ajv2020({ allErrors: true }).validate(resultSchema, run)).toBe(true);
    expect(run).toMatchObject({ tool: 'deliverycheck', adapter: 'flaky', defects: ['lose-acked'], scenarios: [{ seed: 42 }] });
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('<testsuite name="deliverycheck (flaky)" tests="1" failures="1" errors="0" skipped="0"');
    expect(xml).toContain('<failure message="lost: expected none, got 1"');
  });
});

describe('adapters', () => {
  it('lists each adapter with its description, capabilities and defect switches', async () => {
    const result = await cli(['adapters'], fakeDeps(() => 'passed'));
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'flaky',
        '  the flaky test double',
        '  capabilities: ack.all commit.after-process',
        '  defects (--defect NAME):',
        '    lose-acked      acknowledges writes it never stores',
        '    double-deliver  delivers every tenth record twice',
        '',
        'plain',
        '  the plain test double',
        '  capabilities: ack.all commit.after-process',
        '',
      ].join('\n'),
    );
  });
});
