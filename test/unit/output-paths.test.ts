// Output paths are checked before anything runs, folders are made without Node's recursive mkdir
// (which loops for ever under /proc), and seeds never run past the top: each refusal is one line
// naming the option, exit 2, and no scenario has run.

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Adapter } from '../../adapters/contract.js';
import { main, type CliDeps } from '../../harness/cli/cli.js';
import { loadScenarios } from '../../harness/conformance/loader.js';
import { checkOutputPath, makeFolders } from '../../core/output-paths.js';
import { writeReportFile } from '../../harness/report/json.js';
import type { ScenarioResult } from '../../spec/result.js';

// The smallest valid scenario; it needs ack.leader and commit.before-process.
const SCENARIO = readFileSync(fileURLToPath(new URL('../fixtures/scenarios/valid/minimal.yml', import.meta.url)), 'utf8');

const stub: Adapter = {
  name: 'stub',
  description: 'opens nothing',
  capabilities: new Set(['ack.leader', 'commit.before-process']),
  retention: 'log',
  defects: [{ name: 'some-defect', description: 'does nothing' }],
  open: () => Promise.reject(new Error('the stub opens nothing')),
};

/** The real loader, a stub adapter, and a runner that passes at once and records its seeds. */
function deps(seeds: number[]): CliDeps {
  return {
    adapterNames: () => ['stub'],
    loadAdapter: (name) => Promise.resolve(name === 'stub' ? stub : undefined),
    loadScenarios,
    runScenario: (scenario, options) => {
      const seed = options.seed ?? scenario.seed;
      seeds.push(seed);
      const result: ScenarioResult = {
        file: scenario.file,
        name: scenario.name,
        seed,
        status: 'passed',
        counts: { sent: 1, acknowledged: 1, stored: 1, delivered: 1, processed: 1 },
        anomalies: {},
        durationMs: 1,
        reproduce: 'npx deliverycheck run x',
      };
      return Promise.resolve(result);
    },
  };
}

async function cli(argv: string[], seeds: number[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, isTTY: false, env: {} };
  const code = await main(argv, io, deps(seeds));
  return { code, stdout: out.join(''), stderr: err.join('') };
}

let dir = '';
let scenario = '';
let aFile = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'output-paths-'));
  scenario = join(dir, 'ok.yaml');
  aFile = join(dir, 'a-file');
  await writeFile(scenario, SCENARIO);
  await writeFile(aFile, 'not a folder');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('output paths are checked before the first scenario runs', () => {
  it.each([
    [['--json', '/proc/x/y.json'], 'deliverycheck: --json /proc/x/y.json: /proc is on a virtual file system (proc), where no report can be written'],
    [['--junit', '/proc/j.xml'], 'deliverycheck: --junit /proc/j.xml: /proc is on a virtual file system (proc), where no report can be written'],
    [['--rates', '/sys/rates.md'], 'deliverycheck: --rates /sys/rates.md: /sys is on a virtual file system (sysfs), where no report can be written'],
    [['--history', '/proc/h'], 'deliverycheck: --history /proc/h: /proc is on a virtual file system (proc), where no report can be written'],
    [['--history', ''], 'deliverycheck: --history needs a folder name, not an empty string'],
    [['--json', ''], 'deliverycheck: --json needs a file name, not an empty string'],
    [['--json', 'DIR'], 'deliverycheck: --json DIR: is a folder; name a file'],
    [['--history', 'DIR/a-file'], 'deliverycheck: --history DIR/a-file: is a file, not a folder'],
    [['--junit', 'DIR/a-file/x/junit.xml'], 'deliverycheck: --junit DIR/a-file/x/junit.xml: DIR/a-file is a file, not a folder'],
    [['--json', 'DIR/same.json', '--junit', 'DIR/same.json'], 'deliverycheck: --json and --junit both name DIR/same.json; give each its own file'],
  ])('run %j: one line, exit 2, nothing ran', async (options, line) => {
    const seeds: number[] = [];
    const started = Date.now();
    const result = await cli(['run', scenario, '--adapter', 'stub', ...options.map((option) => option.replace('DIR', dir))], seeds);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `${line.replaceAll('DIR', dir)}\n` });
    expect(seeds).toEqual([]);
  });

  it.each([
    [['--json', '/proc/b.json'], '--json /proc/b.json'],
    [['--markdown', '/proc/b.md'], '--markdown /proc/b.md'],
    [['--chart', '/proc/b.svg'], '--chart /proc/b.svg'],
  ])('bench %j: one line, exit 2, before any workload loads', async (options, named) => {
    const result = await cli(['bench', join(dir, 'no-such-workload.yaml'), ...options]);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `deliverycheck: ${named}: /proc is on a virtual file system (proc), where no report can be written\n` });
  });

  it('sensitivity --markdown: one line, exit 2', async () => {
    const result = await cli(['sensitivity', scenario, '--adapter', 'stub', '--markdown', '/proc/s.md']);
    expect(result.stderr).toBe('deliverycheck: --markdown /proc/s.md: /proc is on a virtual file system (proc), where no report can be written\n');
    expect(result.code).toBe(2);
  });

  it('makes the --history folder only once the scenarios loaded, and writes reports into new folders', async () => {
    const history = join(dir, 'history', 'deep');
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'name: [\n');
    const failed = await cli(['run', broken, '--adapter', 'stub', '--history', history]);
    expect(failed.code).toBe(2);
    expect(existsSync(join(dir, 'history'))).toBe(false);

    const json = join(dir, 'reports', 'new', 'run.json');
    const passed = await cli(['run', scenario, '--adapter', 'stub', '--history', history, '--json', json]);
    expect(passed.code).toBe(0);
    expect(existsSync(history)).toBe(true);
    expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject({ adapter: 'stub' });
  });

  it('fails at once where recursive mkdir would loop, and checks an existing file as writable', async () => {
    const started = Date.now();
    await expect(makeFolders('/proc/deliverycheck-x/y')).rejects.toThrow('cannot create the folder /proc/deliverycheck-x (ENOENT)');
    await expect(writeReportFile('/proc/deliverycheck-x/y.json', '{}')).rejects.toThrow('ENOENT');
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(checkOutputPath({ option: '--json', path: aFile, kind: 'file' })).resolves.toBeUndefined();
    await expect(checkOutputPath({ option: '--json', path: '/dev/null', kind: 'file' })).resolves.toBeUndefined();
  });
});

describe('seeds of repeated runs', () => {
  it('refuses --repeat that would run past the highest seed, instead of running the top seed twice', async () => {
    const seeds: number[] = [];
    const result = await cli(['run', scenario, '--adapter', 'stub', '--repeat', '3', '--seed', '2147483646'], seeds);
    expect(result.stderr).toBe(
      'deliverycheck: --seed 2147483646 with --repeat 3 would run seeds up to 2147483648, past the highest seed 2147483647; give --seed 2147483645 or less\n',
    );
    expect(result.code).toBe(2);
    expect(seeds).toEqual([]);
  });

  it('runs the last seeds up to the top, each once', async () => {
    const seeds: number[] = [];
    const result = await cli(['run', scenario, '--adapter', 'stub', '--repeat', '2', '--seed', '2147483646'], seeds);
    expect(result.code).toBe(0);
    expect(seeds).toEqual([2147483646, 2147483647]);
  });

  it("refuses --repeat past the top from a scenario's own seed", async () => {
    const file = join(dir, 'top-seed.yaml');
    await writeFile(file, `${SCENARIO}seed: 2147483647\n`);
    const seeds: number[] = [];
    const result = await cli(['run', file, '--adapter', 'stub', '--repeat', '2'], seeds);
    expect(result.stderr).toBe(
      `deliverycheck: --repeat 2 would run ${file} at seeds up to 2147483648, past the highest seed 2147483647; give --seed or a smaller --repeat\n`,
    );
    expect(seeds).toEqual([]);
  });

  it('escapes control characters of scenario names and file names in the human output', async () => {
    const file = join(dir, 'clear\u001b[2J.yaml');
    await writeFile(file, SCENARIO.replace(/^name: .*$/mu, 'name: "\\e[2J\\e[31mred"'));
    const result = await cli(['run', file, '--adapter', 'stub']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('clear\\x1b[2J.yaml  \\x1b[2J\\x1b[31mred');
    expect(result.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u);
  });

  it('escapes control characters of arguments in its errors', async () => {
    const result = await cli(['run', scenario, '--adapter', 'no\u001b[2Jsuch']);
    expect(result.stderr).toBe('deliverycheck: unknown adapter no\\x1b[2Jsuch (known: stub)\n');
  });
});
