// The suite's test of itself, as pure logic: a stand-in adapter with defect switches and a
// stand-in runner whose answers each test writes down, so the matrix, its Markdown, the false
// alarms and the two commands' output and exit codes can be checked exactly and in milliseconds.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Adapter, DefectInfo } from '../../adapters/contract.js';
import { main, type CliDeps, type CliIo } from '../../harness/cli/cli.js';
import { loadScenarioText } from '../../harness/conformance/loader.js';
import type { RunOptions } from '../../harness/conformance/runner.js';
import {
  formatDefectLine,
  renderSensitivityMarkdown,
  sensitivityMatrix,
  specificityCheck,
  renderSpecificityMarkdown,
  type RunStep,
} from '../../harness/conformance/sensitivity.js';
import type { AnomalyVerdict, ScenarioResult } from '../../spec/result.js';
import type { Scenario } from '../../spec/scenario.js';
import type { Anomaly, Capability, ScenarioStatus } from '../../spec/vocabulary.js';

function fakeAdapter(name: string, defects: readonly DefectInfo[]): Adapter {
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
  { name: 'double-deliver', description: 'delivers every tenth record twice | sometimes' },
  { name: 'harmless', description: 'renames a log file nobody reads' },
]);
const plain = fakeAdapter('plain', []);

function scenario(file: string, seed: number, requires = ''): Scenario {
  const text = `name: scenario ${file}
description: A stand-in scenario.
seed: ${seed}
${requires}
cluster: { brokers: 1 }
topic: { partitions: 1, replication: 1 }
producer: { ack: all }
consumer: { commit: after-process }
workload: { messages: 10, keys: 2 }
expect: { guarantee: at-least-once }
`;
  const loaded = loadScenarioText(text, file);
  if (loaded.scenario === undefined) throw new Error(loaded.errors.map((error) => error.format()).join('\n'));
  return loaded.scenario;
}

const suite = [scenario('suites/a.yaml', 7), scenario('suites/b.yaml', 3), scenario('suites/c.yaml', 1)];

/** What the stand-in runner answers for one run: a status and the anomalies it counted. */
interface Outcome {
  readonly status: ScenarioStatus;
  readonly counts?: { readonly [A in Anomaly]?: number };
  readonly reason?: string;
}

type Oracle = (file: string, defects: readonly string[], seed: number) => Outcome;

/** lose-acked breaks a.yaml and c.yaml, double-deliver makes b.yaml end in error, harmless nothing. */
const defaultOracle: Oracle = (file, defects) => {
  if (defects.includes('lose-acked') && file !== 'suites/b.yaml') return { status: 'failed', counts: { lost: file === 'suites/a.yaml' ? 74 : 2 } };
  if (defects.includes('double-deliver') && file === 'suites/b.yaml') return { status: 'error', reason: 'poll timed out\nafter 30s' };
  return { status: 'passed' };
};

interface Recorded {
  readonly file: string;
  readonly seed: number;
  readonly defects: readonly string[];
}

function fakeRunner(oracle: Oracle = defaultOracle) {
  const runs: Recorded[] = [];
  let clock = 0;
  const runScenario = (scenario: Scenario, options: RunOptions): Promise<ScenarioResult> => {
    const seed = options.seed ?? scenario.seed;
    runs.push({ file: scenario.file, seed, defects: options.defects });
    const outcome = oracle(scenario.file, options.defects, seed);
    const anomalies: { [A in Anomaly]?: AnomalyVerdict } = {};
    for (const [anomaly, count] of Object.entries(outcome.counts ?? {}) as [Anomaly, number][]) {
      anomalies[anomaly] = { expect: 'none', count, held: count === 0, witnesses: [] };
    }
    // Durations differ from run to run, as they do for real, so the Markdown must not show them.
    clock += 17;
    const defectWords = options.defects.map((defect) => ` --defect ${defect}`).join('');
    return Promise.resolve({
      file: scenario.file,
      name: scenario.name,
      seed,
      status: outcome.status,
      ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
      counts: { sent: 10, acknowledged: 10, stored: 10, delivered: 10, processed: 10 },
      anomalies,
      durationMs: clock,
      reproduce: `npx deliverycheck run ${scenario.file} --adapter ${options.adapter.name} --seed ${seed}${defectWords}`,
    });
  };
  return { runs, runScenario };
}

describe('sensitivityMatrix', () => {
  it('runs the baseline, then each defect alone, at every scenario own seed, one after another', async () => {
    const runner = fakeRunner();
    const steps: RunStep[] = [];
    const rowsAsTheyCome: string[] = [];
    let baselineSeen = 0;
    await sensitivityMatrix(suite, flaky, {
      runScenario: runner.runScenario,
      onProgress: (step) => steps.push(step),
      onBaseline: (results) => {
        baselineSeen = results.length;
        expect(runner.runs).toHaveLength(3);
      },
      onDefectRow: (row) => rowsAsTheyCome.push(row.defect.name),
    });
    expect(runner.runs).toEqual([
      { file: 'suites/a.yaml', seed: 7, defects: [] },
      { file: 'suites/b.yaml', seed: 3, defects: [] },
      { file: 'suites/c.yaml', seed: 1, defects: [] },
      { file: 'suites/a.yaml', seed: 7, defects: ['lose-acked'] },
      { file: 'suites/b.yaml', seed: 3, defects: ['lose-acked'] },
      { file: 'suites/c.yaml', seed: 1, defects: ['lose-acked'] },
      { file: 'suites/a.yaml', seed: 7, defects: ['double-deliver'] },
      { file: 'suites/b.yaml', seed: 3, defects: ['double-deliver'] },
      { file: 'suites/c.yaml', seed: 1, defects: ['double-deliver'] },
      { file: 'suites/a.yaml', seed: 7, defects: ['harmless'] },
      { file: 'suites/b.yaml', seed: 3, defects: ['harmless'] },
      { file: 'suites/c.yaml', seed: 1, defects: ['harmless'] },
    ]);
    expect(baselineSeen).toBe(3);
    expect(rowsAsTheyCome).toEqual(['lose-acked', 'double-deliver', 'harmless']);
    expect(steps.map((step) => step.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(steps.every((step) => step.total === 12)).toBe(true);
    expect(steps[0]).toMatchObject({ seed: 7, scenario: { file: 'suites/a.yaml' } });
    expect(steps[0]?.defect).toBeUndefined();
    expect(steps[4]).toMatchObject({ defect: 'lose-acked', seed: 3, scenario: { file: 'suites/b.yaml' } });
  });

  it('names the scenarios that catch each defect with their violated claims, and the defects nothing catches', async () => {
    const matrix = await sensitivityMatrix(suite, flaky, { runScenario: fakeRunner().runScenario });
    expect(matrix.adapter).toBe('flaky');
    expect(matrix.baselineAlarms).toEqual([]);
    expect(matrix.defects.map((row) => [row.defect.name, row.caughtBy.map((alarm) => alarm.file)])).toEqual([
      ['lose-acked', ['suites/a.yaml', 'suites/c.yaml']],
      ['double-deliver', ['suites/b.yaml']],
      ['harmless', []],
    ]);
    expect(matrix.defects[0]?.caughtBy[0]).toEqual({
      file: 'suites/a.yaml',
      name: 'scenario suites/a.yaml',
      seed: 7,
      status: 'failed',
      violated: [{ anomaly: 'lost', expect: 'none', count: 74, text: 'lost: expected none, got 74' }],
      reproduce: 'npx deliverycheck run suites/a.yaml --adapter flaky --seed 7 --defect lose-acked',
    });
    expect(matrix.defects[1]?.caughtBy[0]).toMatchObject({ status: 'error', violated: [], reason: 'poll timed out\nafter 30s' });
    expect(matrix.uncaught).toEqual([{ name: 'harmless', description: 'renames a log file nobody reads' }]);
    expect(matrix.ok).toBe(false);
  });

  it('is ok when the baseline passes and every defect is caught; skips count as a pass', async () => {
    const adapter = fakeAdapter('flaky', flaky.defects.slice(0, 2));
    const oracle: Oracle = (file, defects) => (file === 'suites/c.yaml' ? { status: 'skipped' } : defaultOracle(file, defects, 0));
    const matrix = await sensitivityMatrix(suite, adapter, { runScenario: fakeRunner(oracle).runScenario });
    expect(matrix.uncaught).toEqual([]);
    expect(matrix.baselineAlarms).toEqual([]);
    expect(matrix.ok).toBe(true);
  });

  it('lets no scenario that fails without a defect claim to catch one', async () => {
    const oracle: Oracle = (file, defects) =>
      file === 'suites/a.yaml' ? { status: 'failed', counts: { duplicated: 1 } } : defaultOracle(file, defects, 0);
    const matrix = await sensitivityMatrix(suite, flaky, { runScenario: fakeRunner(oracle).runScenario });
    expect(matrix.baselineAlarms.map((alarm) => [alarm.file, alarm.violated.map((claim) => claim.text)])).toEqual([
      ['suites/a.yaml', ['duplicated: expected none, got 1']],
    ]);
    expect(matrix.defects[0]?.caughtBy.map((alarm) => alarm.file)).toEqual(['suites/c.yaml']);
    expect(matrix.ok).toBe(false);
  });
});

describe('inconclusive runs in the matrix and in specificity', () => {
  const SHORT = 'only 0 of 10 messages were acknowledged (at least 5, 50%, needed)';

  it('counts a defect that leaves a passing scenario inconclusive as caught, and says it was inconclusive', async () => {
    const adapter = fakeAdapter('flaky', flaky.defects.slice(0, 1));
    const oracle: Oracle = (file, defects) =>
      defects.includes('lose-acked') && file === 'suites/b.yaml' ? { status: 'inconclusive', reason: SHORT } : { status: 'passed' };
    const matrix = await sensitivityMatrix(suite, adapter, { runScenario: fakeRunner(oracle).runScenario });
    const row = matrix.defects[0];
    expect(row?.caughtBy).toEqual([
      {
        file: 'suites/b.yaml',
        name: 'scenario suites/b.yaml',
        seed: 3,
        status: 'inconclusive',
        violated: [],
        reason: SHORT,
        reproduce: 'npx deliverycheck run suites/b.yaml --adapter flaky --seed 3 --defect lose-acked',
      },
    ]);
    expect(formatDefectLine(row!)).toBe('caught by 1: suites/b.yaml (inconclusive)');
    expect(renderSensitivityMarkdown(matrix)).toContain(`| 1:<br>\`suites/b.yaml\` (inconclusive: ${SHORT}) |`);
    expect(matrix.ok).toBe(true);
  });

  it('makes an inconclusive baseline an alarm that catches nothing', async () => {
    const adapter = fakeAdapter('flaky', flaky.defects.slice(0, 1));
    const oracle: Oracle = (file) => (file === 'suites/a.yaml' ? { status: 'inconclusive', reason: SHORT } : { status: 'passed' });
    const matrix = await sensitivityMatrix(suite, adapter, { runScenario: fakeRunner(oracle).runScenario });
    expect(matrix.baselineAlarms.map((alarm) => [alarm.file, alarm.status])).toEqual([['suites/a.yaml', 'inconclusive']]);
    expect(matrix.defects[0]?.caughtBy).toEqual([]);
    expect(matrix.ok).toBe(false);
    const markdown = renderSensitivityMarkdown(matrix);
    expect(markdown).toContain('With no defect switched on, 3 scenarios: 2 passed, 0 failed, 0 skipped, 1 inconclusive, 0 errors.');
    expect(markdown).toContain(`- \`suites/a.yaml\`: inconclusive: ${SHORT}; reproduce with`);
  });

  it('makes an inconclusive run a false alarm of specificity, printed with its reason', async () => {
    const oracle: Oracle = (file, _defects, seed) =>
      file === 'suites/c.yaml' && seed === 2 ? { status: 'inconclusive', reason: SHORT } : { status: 'passed' };
    const result = await specificityCheck(suite, flaky, { seeds: 2, firstSeed: 1, runScenario: fakeRunner(oracle).runScenario });
    expect(result.statuses).toEqual({ passed: 5, failed: 0, 'known-failure': 0, skipped: 0, error: 0, inconclusive: 1, interrupted: 0 });
    expect(result.falseAlarms.map((alarm) => [alarm.file, alarm.seed, alarm.status, alarm.reason])).toEqual([
      ['suites/c.yaml', 2, 'inconclusive', SHORT],
    ]);
    const printed = await cli(['specificity', 'suites', '--adapter', 'flaky', '--seeds', '2'], fakeDeps(oracle));
    expect(printed.code).toBe(1);
    expect(printed.stdout).toContain(
      `INCONCLUSIVE suites/c.yaml seed 2 — inconclusive: ${SHORT}\n      reproduce: npx deliverycheck run suites/c.yaml --adapter flaky --seed 2\n`,
    );
  });
});

describe('renderSensitivityMarkdown', () => {
  it('renders the title, the command, the baseline, the table and the defects caught by nothing', async () => {
    const matrix = await sensitivityMatrix(suite, flaky, { runScenario: fakeRunner().runScenario });
    const markdown = renderSensitivityMarkdown(matrix, { command: 'npx deliverycheck sensitivity suites --markdown docs/s.md' });
    expect(markdown).toBe(
      [
        "# Sensitivity of the suite to the flaky adapter's defects",
        '',
        'This file lists the scenarios that catch each deliberate defect of the `flaky` adapter, switched on alone at ' +
          "every scenario's own seed, and is regenerated by `npx deliverycheck sensitivity suites --markdown docs/s.md`.",
        '',
        '## Baseline',
        '',
        'With no defect switched on, 3 scenarios: 3 passed, 0 failed, 0 skipped, 0 errors.',
        '',
        '## Defects',
        '',
        '| defect | what it breaks | caught by |',
        '|---|---|---|',
        '| `lose-acked` | acknowledges writes it never stores | 2:<br>`suites/a.yaml` (lost: expected none, got 74)<br>`suites/c.yaml` (lost: expected none, got 2) |',
        '| `double-deliver` | delivers every tenth record twice \\| sometimes | 1:<br>`suites/b.yaml` (error: poll timed out after 30s) |',
        '| `harmless` | renames a log file nobody reads | **nothing** |',
        '',
        '## Caught by nothing',
        '',
        '- `harmless`: renames a log file nobody reads',
        '',
      ].join('\n'),
    );
  });

  it('renders the same bytes for the same results, whatever the runs took', async () => {
    const first = await sensitivityMatrix(suite, flaky, { runScenario: fakeRunner().runScenario });
    // A runner that has already run takes longer per run: the durations differ, the verdicts do not.
    const slow = fakeRunner();
    await sensitivityMatrix(suite, flaky, { runScenario: slow.runScenario });
    const second = await sensitivityMatrix(suite, flaky, { runScenario: slow.runScenario });
    expect(second.baseline[0]?.durationMs).not.toBe(first.baseline[0]?.durationMs);
    expect(renderSensitivityMarkdown(second)).toBe(renderSensitivityMarkdown(first));
    expect(renderSensitivityMarkdown(first)).toContain('is regenerated by `npm run sensitivity`');
  });

  it('says when every defect is caught, and lists a failing baseline with its reproduce commands', async () => {
    const adapter = fakeAdapter('flaky', flaky.defects.slice(0, 1));
    const oracle: Oracle = (file, defects) =>
      file === 'suites/b.yaml' ? { status: 'failed', counts: { unprocessed: 5 } } : defaultOracle(file, defects, 0);
    const markdown = renderSensitivityMarkdown(await sensitivityMatrix(suite, adapter, { runScenario: fakeRunner(oracle).runScenario }));
    expect(markdown).toContain('With no defect switched on, 3 scenarios: 2 passed, 1 failed, 0 skipped, 0 errors.');
    expect(markdown).toContain(
      '- `suites/b.yaml`: unprocessed: expected none, got 5; reproduce with `npx deliverycheck run suites/b.yaml --adapter flaky --seed 3`',
    );
    expect(markdown).toContain('None: every defect is caught by at least one scenario.');
  });
});

describe('specificityCheck', () => {
  it('runs every scenario at each seed with no defect and returns the false alarms', async () => {
    const oracle: Oracle = (file, _defects, seed) => {
      if (file === 'suites/c.yaml') return { status: 'skipped' };
      if (file === 'suites/a.yaml' && seed === 11) return { status: 'failed', counts: { lost: 1 } };
      if (file === 'suites/b.yaml' && seed === 12) return { status: 'error', reason: 'the broker hung' };
      return { status: 'passed' };
    };
    const runner = fakeRunner(oracle);
    const steps: RunStep[] = [];
    const streamed: string[] = [];
    const result = await specificityCheck(suite, flaky, {
      seeds: 3,
      firstSeed: 10,
      runScenario: runner.runScenario,
      onProgress: (step) => steps.push(step),
      onFalseAlarm: (alarm) => streamed.push(`${alarm.file}@${alarm.seed}`),
    });
    // Seed by seed over the whole suite, so an interrupted check has sampled every scenario.
    expect(runner.runs.map((run) => `${run.file}@${run.seed}`)).toEqual([
      'suites/a.yaml@10', 'suites/b.yaml@10', 'suites/c.yaml@10',
      'suites/a.yaml@11', 'suites/b.yaml@11', 'suites/c.yaml@11',
      'suites/a.yaml@12', 'suites/b.yaml@12', 'suites/c.yaml@12',
    ]);
    expect(runner.runs.every((run) => run.defects.length === 0)).toBe(true);
    expect(steps.map((step) => `${step.position}/${step.total}@${step.seed}`).slice(0, 4)).toEqual(['1/9@10', '2/9@10', '3/9@10', '4/9@11']);
    expect(result.runs).toBe(9);
    expect(result.statuses).toEqual({ passed: 4, failed: 1, 'known-failure': 0, skipped: 3, error: 1, inconclusive: 0, interrupted: 0 });
    expect(streamed).toEqual(['suites/a.yaml@11', 'suites/b.yaml@12']);
    expect(result.falseAlarms).toEqual([
      {
        file: 'suites/a.yaml',
        name: 'scenario suites/a.yaml',
        seed: 11,
        status: 'failed',
        violated: [{ anomaly: 'lost', expect: 'none', count: 1, text: 'lost: expected none, got 1' }],
        reproduce: 'npx deliverycheck run suites/a.yaml --adapter flaky --seed 11',
      },
      {
        file: 'suites/b.yaml',
        name: 'scenario suites/b.yaml',
        seed: 12,
        status: 'error',
        violated: [],
        reason: 'the broker hung',
        reproduce: 'npx deliverycheck run suites/b.yaml --adapter flaky --seed 12',
      },
    ]);
  });
});

describe('renderSpecificityMarkdown', () => {
  it('renders per-scenario counts, the total and each false alarm with its reproduction', async () => {
    const oracle: Oracle = (file, _defects, seed) => {
      if (file === 'suites/c.yaml') return { status: 'skipped' };
      if (file === 'suites/a.yaml' && seed === 2) return { status: 'failed', counts: { lost: 1 } };
      return { status: 'passed' };
    };
    const result = await specificityCheck(suite, flaky, { seeds: 2, firstSeed: 1, runScenario: fakeRunner(oracle).runScenario });
    expect(result.rows.map((row) => [row.file, row.statuses.passed, row.statuses.skipped, row.statuses.failed])).toEqual([
      ['suites/a.yaml', 1, 0, 1],
      ['suites/b.yaml', 2, 0, 0],
      ['suites/c.yaml', 0, 2, 0],
    ]);
    const markdown = renderSpecificityMarkdown(result, { command: 'npx deliverycheck specificity suites --markdown docs/x.md' });
    expect(markdown).toContain('at seeds 1 to 2.');
    expect(markdown).toContain('Regenerated by `npx deliverycheck specificity suites --markdown docs/x.md`.');
    expect(markdown).toContain('6 runs: 3 passed, 2 skipped, 1 failed, 0 errors, 0 inconclusive, 0 interrupted; 1 false alarm.');
    expect(markdown).toContain('| `suites/a.yaml` | 1 | 0 | **1** |');
    expect(markdown).toContain('| `suites/c.yaml` | 0 | 2 | 0 |');
    expect(markdown).toContain('- `suites/a.yaml` seed 2: lost: expected none, got 1; reproduce with `npx deliverycheck run suites/a.yaml --adapter flaky --seed 2`');
    const clean = await specificityCheck(suite, flaky, { seeds: 1, firstSeed: 1, runScenario: fakeRunner().runScenario });
    expect(renderSpecificityMarkdown(clean)).toContain('None: no scenario accused the broker without a defect.');
  });
});

// ---------------------------------------------------------------------------------------------
// The two commands, driven in-process through main with stand-in dependencies.

interface Captured {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

function capture(isTTY = false): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
      isTTY,
      env: {},
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

function fakeDeps(oracle: Oracle = defaultOracle, adapter: Adapter = flaky): CliDeps & { runs: Recorded[] } {
  const runner = fakeRunner(oracle);
  return {
    runs: runner.runs,
    adapterNames: () => ['flaky', 'plain'],
    loadAdapter: (name) => Promise.resolve(name === 'flaky' ? adapter : name === 'plain' ? plain : undefined),
    loadScenarios: () => Promise.resolve({ scenarios: suite, errors: [] }),
    runScenario: runner.runScenario,
  };
}

async function cli(argv: string[], deps: CliDeps = fakeDeps(), isTTY = false) {
  const captured = capture(isTTY);
  const code = await main(argv, captured.io, deps);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

let folder = '';

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'deliverycheck-sensitivity-'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('deliverycheck sensitivity', () => {
  it('prints the baseline and one line per defect, and exits 1 when a defect is caught by nothing', async () => {
    const result = await cli(['sensitivity', 'suites', '--adapter', 'flaky']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'baseline: 3 scenarios: 3 passed, 0 failed, 0 skipped, 0 errors',
        'lose-acked      caught by 2: suites/a.yaml (lost), suites/c.yaml (lost)',
        'double-deliver  caught by 1: suites/b.yaml (error)',
        'harmless        NOT CAUGHT',
        '',
        '3 defects: 2 caught, 1 not caught',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(1);
  });

  it('exits 0 when every defect is caught, and writes Markdown that --check then accepts', async () => {
    const deps = fakeDeps(defaultOracle, fakeAdapter('flaky', flaky.defects.slice(0, 2)));
    const file = join(folder, 'docs', 'sensitivity.md');
    const written = await cli(['sensitivity', 'suites', '--adapter', 'flaky', '--markdown', file], deps);
    expect(written.code).toBe(0);
    const markdown = await readFile(file, 'utf8');
    expect(markdown).toContain(`is regenerated by \`npx deliverycheck sensitivity suites --adapter flaky --markdown ${file}\`.`);
    expect(markdown).toContain('None: every defect is caught by at least one scenario.');
    const checked = await cli(['sensitivity', 'suites', '--adapter', 'flaky', '--check', file], deps);
    expect(checked.stderr).toBe('');
    expect(checked.code).toBe(0);
  });

  it('exits 1 with one line when the checked file is not current', async () => {
    const deps = fakeDeps(defaultOracle, fakeAdapter('flaky', flaky.defects.slice(0, 2)));
    const file = join(folder, 'stale.md');
    await writeFile(file, '# an older matrix\n');
    const result = await cli(['sensitivity', 'suites', '--adapter', 'flaky', '--check', file], deps);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `deliverycheck: ${file} is not the Markdown of this run; regenerate it with npx deliverycheck sensitivity suites --adapter flaky --markdown ${file}\n`,
    );
    expect(await readFile(file, 'utf8')).toBe('# an older matrix\n');
  });

  it('prints the failures of a failing baseline with their reproduce commands and exits 1', async () => {
    const oracle: Oracle = (file, defects) =>
      file === 'suites/b.yaml' ? { status: 'failed', counts: { lost: 4 } } : defaultOracle(file, defects, 0);
    const result = await cli(['sensitivity', 'suites', '--adapter', 'flaky'], fakeDeps(oracle, fakeAdapter('flaky', flaky.defects.slice(0, 1))));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      [
        'baseline: 3 scenarios: 2 passed, 1 failed, 0 skipped, 0 errors',
        '  FAIL  suites/b.yaml seed 3 — lost: expected none, got 4',
        '      reproduce: npx deliverycheck run suites/b.yaml --adapter flaky --seed 3',
      ].join('\n'),
    );
    expect(result.stdout).toContain('1 defect: 1 caught, 0 not caught; the baseline failed in 1 scenario\n');
  });

  it('draws progress on a terminal only, and clears it before each line', async () => {
    const terminal = await cli(['sensitivity', 'suites', '--adapter', 'flaky'], fakeDeps(), true);
    expect(terminal.stderr).toContain('\r\u001b[K[1/12] baseline: running suites/a.yaml');
    expect(terminal.stderr).toContain('\r\u001b[K[4/12] defect lose-acked: running suites/a.yaml');
    expect(terminal.stderr.endsWith('\r\u001b[K')).toBe(true);
    const piped = await cli(['sensitivity', 'suites', '--adapter', 'flaky']);
    expect(piped.stderr).toBe('');
  });

  it.each([
    [['sensitivity', '--adapter', 'plain'], 'deliverycheck: adapter plain has no defect switches, so there is no sensitivity to measure'],
    [['sensitivity', '--adapter', 'nope'], 'deliverycheck: unknown adapter nope (known: flaky, plain)'],
    [['sensitivity', '--seed', '3'], 'deliverycheck: unknown option --seed (see deliverycheck --help)'],
    [['sensitivity', '--markdown', 'a.md', '--check', 'b.md'], 'deliverycheck: give --markdown or --check, not both'],
  ])('%j is refused in one line with exit code 2, running nothing', async (argv, line) => {
    const deps = fakeDeps();
    const result = await cli(argv, deps);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `${line}\n` });
    expect(deps.runs).toEqual([]);
  });

  it('refuses a check file it cannot read before running anything', async () => {
    const deps = fakeDeps();
    const missing = join(folder, 'missing.md');
    const result = await cli(['sensitivity', '--adapter', 'flaky', '--check', missing], deps);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^deliverycheck: cannot read ${missing.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')}: .*ENOENT.*\n$`, 'u'));
    expect(deps.runs).toEqual([]);
  });
});

describe('deliverycheck specificity', () => {
  it('exits 0 with a summary when there is no false alarm, over seeds 1 to 200 by default', async () => {
    const deps = fakeDeps();
    const result = await cli(['specificity', '--adapter', 'flaky'], deps);
    expect(result).toEqual({ code: 0, stdout: '600 runs, 0 false alarms (3 scenarios, seeds 1 to 200)\n', stderr: '' });
    expect(deps.runs.at(-1)).toEqual({ file: 'suites/c.yaml', seed: 200, defects: [] });
  });

  it('prints each false alarm with its reproduce command and exits 1', async () => {
    const oracle: Oracle = (file, _defects, seed) =>
      file === 'suites/a.yaml' && seed === 6 ? { status: 'failed', counts: { lost: 3 } } : { status: 'passed' };
    const result = await cli(['specificity', '--adapter', 'flaky', '--seeds', '2', '--first-seed', '5'], fakeDeps(oracle));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'FAIL  suites/a.yaml seed 6 — lost: expected none, got 3',
        '      reproduce: npx deliverycheck run suites/a.yaml --adapter flaky --seed 6',
        '',
        '6 runs, 1 false alarm (3 scenarios, seeds 5 to 6)',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(1);
  });

  it('draws progress on a terminal only', async () => {
    const terminal = await cli(['specificity', '--adapter', 'flaky', '--seeds', '1'], fakeDeps(), true);
    expect(terminal.stderr).toContain('\r\u001b[K[2/3] seed 1: running suites/b.yaml');
    expect(terminal.stdout).toBe('3 runs, 0 false alarms (3 scenarios, seeds 1 to 1)\n');
  });

  it.each([
    [['specificity', '--seeds', '0'], 'deliverycheck: --seeds must be an integer from 1 to 2147483647, not "0"'],
    [['specificity', '--seeds', 'many'], 'deliverycheck: --seeds must be an integer from 1 to 2147483647, not "many"'],
    [['specificity', '--first-seed', '-1'], 'deliverycheck: option --first-seed needs a value (write --first-seed=-1 for one that starts with a dash) (see deliverycheck --help)'],
    [['specificity', '--first-seed', '2147483647', '--seeds', '2'], 'deliverycheck: --seeds must be an integer from 1 to 1, not "2"'],
    [['specificity', '--check', 'x.md'], 'deliverycheck: unknown option --check (see deliverycheck --help)'],
  ])('%j is refused in one line with exit code 2, running nothing', async (argv, line) => {
    const deps = fakeDeps();
    const result = await cli(argv, deps);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `${line}\n` });
    expect(deps.runs).toEqual([]);
  });

  it.each([['sensitivity', '--help'], ['specificity', '-h']])('prints the usage for %s %s', async (...argv) => {
    const result = await cli(argv);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('deliverycheck sensitivity [PATH...]');
    expect(result.stdout).toContain('deliverycheck specificity [PATH...]');
  });
});
