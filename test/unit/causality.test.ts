// The causality check as pure logic: stand-in controls and a stand-in runner whose answers depend
// on what the scenario it is handed still contains, so the test shows both that the check removes
// the adverse ingredients and that it flags a control whose anomaly does not need them.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Adapter } from '../../adapters/contract.js';
import {
  causalityCheck,
  renderCausalityMarkdown,
  withoutAdverseIngredients,
} from '../../harness/conformance/causality.js';
import { main, type CliDeps, type CliIo } from '../../harness/cli/cli.js';
import { loadScenarioText } from '../../harness/conformance/loader.js';
import type { RunOptions } from '../../harness/conformance/runner.js';
import type { AnomalyVerdict, ScenarioResult } from '../../spec/result.js';
import type { Scenario } from '../../spec/scenario.js';
import type { Anomaly, Capability, ScenarioStatus } from '../../spec/vocabulary.js';

const adapter: Adapter = {
  name: 'double',
  description: 'a test double',
  capabilities: new Set<Capability>(['ack.leader', 'ack.all', 'commit.after-process', 'fault.crash-broker', 'producer.transactional']),
  retention: 'log',
  defects: [],
  open: () => Promise.reject(new Error('a test double opens nothing')),
};

function scenario(file: string, body: string): Scenario {
  const text = `name: scenario ${file}
description: A stand-in scenario.
cluster: { brokers: 3 }
topic: { partitions: 1, replication: 3 }
consumer: { commit: after-process }
workload: { messages: 10, keys: 2 }
${body}`;
  const loaded = loadScenarioText(text, file);
  if (loaded.scenario === undefined) throw new Error(loaded.errors.map((error) => error.format()).join('\n'));
  return loaded.scenario;
}

/** Loses writes only while it has a fault: its anomaly comes from its fault. */
const caused = scenario(
  'suites/caused.yaml',
  `producer: { ack: leader }
faults:
  - { at: { acked: 3 }, do: crash-broker, target: leader }
expect: { lost: witnessed }
`,
);
/** Reorders with or without its fault: the broker does it anyway. */
const uncaused = scenario(
  'suites/uncaused.yaml',
  `producer: { ack: all, maxInFlight: 5 }
faults:
  - { at: { acked: 3 }, do: crash-broker, target: leader }
expect: { guarantee: at-least-once, reordered: witnessed }
`,
);
/** Reads aborted records only while the application aborts. */
const aborts = scenario(
  'suites/aborts.yaml',
  `producer: { ack: all, transactional: true, transactionSize: 2, abortEvery: 3 }
expect: { aborted-read: witnessed }
`,
);
/** No control: it expects nothing witnessed, so causality does not run it. */
const claim = scenario('suites/claim.yaml', 'producer: { ack: all }\nexpect: { guarantee: at-least-once }\n');

interface Run {
  readonly file: string;
  readonly seed: number;
  readonly faults: number;
  readonly abortEvery: number;
  readonly requires: readonly Capability[];
}

/** Answers like a broker whose anomalies come from what the handed scenario still contains. */
function fakeRunner(errorAt?: { file: string; seed: number }) {
  const runs: Run[] = [];
  const runScenario = (handed: Scenario, options: RunOptions): Promise<ScenarioResult> => {
    const seed = options.seed ?? handed.seed;
    runs.push({ file: handed.file, seed, faults: handed.faults.length, abortEvery: handed.producer.abortEvery, requires: handed.requires });
    const counts: Partial<Record<Anomaly, number>> = {};
    if (handed.file === 'suites/caused.yaml' && handed.faults.length > 0) counts.lost = 5;
    if (handed.file === 'suites/uncaused.yaml') counts.reordered = seed === 2 ? 0 : 3 + seed;
    if (handed.file === 'suites/aborts.yaml' && handed.producer.abortEvery > 0) counts['aborted-read'] = 9;
    const anomalies: { [A in Anomaly]?: AnomalyVerdict } = {};
    for (const [anomaly, count] of Object.entries(counts) as [Anomaly, number][]) {
      anomalies[anomaly] = { expect: handed.expect[anomaly], count, held: count > 0, witnesses: [] };
    }
    const failed = errorAt !== undefined && errorAt.file === handed.file && errorAt.seed === seed;
    const status: ScenarioStatus = failed ? 'error' : 'failed';
    return Promise.resolve({
      file: handed.file,
      name: handed.name,
      seed,
      status,
      ...(failed ? { reason: 'opening adapter double timed out' } : {}),
      counts: { sent: 10, acknowledged: 10, stored: 10, delivered: 10, processed: 10 },
      anomalies,
      durationMs: 1,
      reproduce: `npx deliverycheck run ${handed.file} --seed ${seed}`,
    });
  };
  return { runs, runScenario };
}

describe('withoutAdverseIngredients', () => {
  it('empties the faults, sets abortEvery to 0 and drops the fault capabilities, and keeps the rest', () => {
    const stripped = withoutAdverseIngredients(caused);
    expect(stripped.faults).toEqual([]);
    expect(stripped.requires).toEqual(caused.requires.filter((capability) => capability !== 'fault.crash-broker'));
    expect(caused.requires).toContain('fault.crash-broker');
    expect({ ...stripped, faults: caused.faults, requires: caused.requires }).toEqual(caused);
    expect(withoutAdverseIngredients(aborts).producer).toEqual({ ...aborts.producer, abortEvery: 0 });
  });
});

describe('causalityCheck', () => {
  it('runs each control without its adverse ingredients, seed by seed, and flags the one whose anomaly persists', async () => {
    const runner = fakeRunner();
    const result = await causalityCheck([caused, uncaused, claim, aborts], adapter, {
      seeds: 3,
      firstSeed: 1,
      runScenario: runner.runScenario,
    });
    expect(runner.runs.map((run) => `${run.file}@${run.seed}`)).toEqual([
      'suites/caused.yaml@1',
      'suites/uncaused.yaml@1',
      'suites/aborts.yaml@1',
      'suites/caused.yaml@2',
      'suites/uncaused.yaml@2',
      'suites/aborts.yaml@2',
      'suites/caused.yaml@3',
      'suites/uncaused.yaml@3',
      'suites/aborts.yaml@3',
    ]);
    for (const run of runner.runs) {
      expect(run.faults).toBe(0);
      expect(run.abortEvery).toBe(0);
      expect(run.requires.some((capability) => capability.startsWith('fault.'))).toBe(false);
    }
    expect(result.ok).toBe(false);
    expect(result.notControls).toBe(1);
    expect(result.findings).toEqual([
      {
        file: 'suites/uncaused.yaml',
        name: 'scenario suites/uncaused.yaml',
        seed: 1,
        persisting: [{ anomaly: 'reordered', count: 4 }],
        reproduce: 'npx deliverycheck causality suites/uncaused.yaml --adapter double --first-seed 1 --seeds 1',
      },
      {
        file: 'suites/uncaused.yaml',
        name: 'scenario suites/uncaused.yaml',
        seed: 3,
        persisting: [{ anomaly: 'reordered', count: 6 }],
        reproduce: 'npx deliverycheck causality suites/uncaused.yaml --adapter double --first-seed 3 --seeds 1',
      },
    ]);
    expect(result.rows.map((row) => [row.file, row.removed, row.runs, row.persisted, row.errors])).toEqual([
      ['suites/caused.yaml', '1 fault', 3, 0, 0],
      ['suites/uncaused.yaml', '1 fault', 3, 2, 0],
      ['suites/aborts.yaml', 'abortEvery 3', 3, 0, 0],
    ]);
  });

  it('passes when every anomaly vanishes, and fails on a run that ended in error', async () => {
    const passing = await causalityCheck([caused, aborts, claim], adapter, { seeds: 2, firstSeed: 5, runScenario: fakeRunner().runScenario });
    expect(passing.ok).toBe(true);
    expect(passing.findings).toEqual([]);
    const markdown = renderCausalityMarkdown(passing, { command: 'npm run causality' });
    expect(markdown).toContain('| `suites/aborts.yaml` | aborted-read | abortEvery 3 | 2 | 0 | 0 |');
    expect(markdown).toContain("Every control's anomaly vanished without its adverse ingredients (2 controls; 1 other scenarios");
    expect(markdown).toContain('at seeds 5 to 6');

    const erring = await causalityCheck([caused], adapter, {
      seeds: 2,
      firstSeed: 1,
      runScenario: fakeRunner({ file: 'suites/caused.yaml', seed: 2 }).runScenario,
    });
    expect(erring.ok).toBe(false);
    expect(erring.findings.map((finding) => [finding.seed, finding.error])).toEqual([[2, 'opening adapter double timed out']]);
    expect(erring.rows[0]?.errors).toBe(1);
  });
});

describe('deliverycheck causality', () => {
  function io(): CliIo & { out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, isTTY: false };
  }

  function deps(scenarios: readonly Scenario[]): CliDeps {
    return {
      adapterNames: () => ['double'],
      loadAdapter: (name) => Promise.resolve(name === 'double' ? adapter : undefined),
      loadScenarios: () => Promise.resolve({ scenarios, errors: [] }),
      runScenario: fakeRunner().runScenario,
    };
  }

  it('exits 1 naming scenario, seed and the command that reproduces it, and writes Markdown a --check accepts', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'causality-'));
    try {
      const file = join(folder, 'causality.md');
      const first = io();
      const code = await main(['causality', 'suites', '--adapter', 'double', '--seeds', '2', '--markdown', file], first, deps([caused, uncaused]));
      expect(code).toBe(1);
      expect(first.err).toEqual([]);
      expect(first.out.join('')).toBe(
        'FAIL  suites/uncaused.yaml seed 1 — still witnessed without its adverse ingredients: reordered 4\n' +
          '      reproduce: npx deliverycheck causality suites/uncaused.yaml --adapter double --first-seed 1 --seeds 1\n' +
          '\n2 controls, 4 runs without their adverse ingredients: 1 of them still witnessed an anomaly or ended in error (seeds 1 to 2)\n',
      );
      const markdown = await readFile(file, 'utf8');
      expect(markdown).toContain(`Regenerated by \`npx deliverycheck causality suites --adapter double --seeds 2 --markdown ${file}\`.`);
      expect(markdown).toContain('| `suites/uncaused.yaml` | reordered | 1 fault | 2 | **1** | 0 |');
      const again = io();
      expect(await main(['causality', 'suites', '--adapter', 'double', '--seeds', '2', '--check', file], again, deps([caused, uncaused]))).toBe(1);
      expect(again.err).toEqual([]);
      const stale = io();
      expect(await main(['causality', 'suites', '--adapter', 'double', '--seeds', '3', '--check', file], stale, deps([caused]))).toBe(1);
      expect(stale.err.join('')).toMatch(/is not the Markdown of this run; regenerate it with npx deliverycheck causality/u);
      const passing = io();
      expect(await main(['causality', '--adapter', 'double', '--seeds', '1'], passing, deps([caused, aborts]))).toBe(0);
      expect(passing.out.join('')).toBe(
        '2 controls, 2 runs without their adverse ingredients: 0 of them still witnessed an anomaly or ended in error (seeds 1 to 1)\n',
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('refuses bad options with one line and exit 2', async () => {
    const both = io();
    expect(await main(['causality', '--markdown', 'a.md', '--check', 'b.md'], both, deps([caused]))).toBe(2);
    expect(both.err).toEqual(['deliverycheck: give --markdown or --check, not both\n']);
    const seeds = io();
    expect(await main(['causality', '--seeds', '0'], seeds, deps([caused]))).toBe(2);
    expect(seeds.err.join('')).toMatch(/^deliverycheck: --seeds must be an integer from 1 to \d+, not "0"\n$/u);
  });
});
