// The causality of the negative controls. A control expects an anomaly `witnessed`, and so shows
// that the checker sees it; but it proves that its faults cause the anomaly only if the anomaly
// goes away without them. A control whose anomaly the broker produces anyway passes for the
// wrong reason (a simulated network that reordered one connection's requests once made the
// reordering control pass with its faults removed).
//
// `causality` runs every control with its adverse ingredients removed, over several seeds, and
// fails when a witnessed anomaly is still there. What is removed, exactly:
//   - every entry of `faults` (broker faults, lost acknowledgments, stalls, client crashes);
//   - `producer.abortEvery` (set to 0): the application's own aborts are what a read-uncommitted
//     consumer's aborted reads come from;
//   - the fault capabilities of `requires`, since no fault is injected any more.
// Everything else (cluster, topic, producer, consumer and workload settings) stays as written,
// because a setting such as ack leader is the claim under test, not its adverse moment.

import type { Adapter } from '../../adapters/contract.js';
import type { ScenarioResult } from '../../spec/result.js';
import type { Scenario } from '../../spec/scenario.js';
import type { Anomaly } from '../../spec/vocabulary.js';
import { ANOMALIES } from '../../spec/vocabulary.js';
import { oneLine } from '../../core/one-line.js';
import { shellQuote } from './reproduce.js';
import { cell, code, realRunner, type RunScenario, type RunStep } from './sensitivity.js';

export interface CausalityOptions {
  readonly seeds: number;
  readonly firstSeed: number;
  /** Runs one scenario; the real runner when absent. Tests and the CLI replace it. */
  readonly runScenario?: RunScenario;
  readonly onProgress?: (step: RunStep) => void;
  /** Called at once for each run whose anomaly persisted or that ended in error. */
  readonly onFinding?: (finding: CausalityFinding) => void;
}

/** A run of a control without its adverse ingredients that did not show them to be the cause. */
export interface CausalityFinding {
  readonly file: string;
  readonly name: string;
  readonly seed: number;
  /** The witnessed anomalies still counted, with their counts; empty for an error. */
  readonly persisting: readonly { readonly anomaly: Anomaly; readonly count: number }[];
  /** Why the run ended in error; absent when it ran. */
  readonly error?: string;
  /** The command that makes this run again. */
  readonly reproduce: string;
}

/** One control's line of the check. */
export interface CausalityRow {
  readonly file: string;
  readonly name: string;
  /** The anomalies the control expects witnessed. */
  readonly anomalies: readonly Anomaly[];
  /** What was taken away, such as `4 faults, abortEvery 3`. */
  readonly removed: string;
  readonly runs: number;
  /** Runs the adapter skipped, lacking a capability the control needs without its faults. */
  readonly skipped: number;
  /** Runs in which a witnessed anomaly was still counted. */
  readonly persisted: number;
  readonly errors: number;
}

export interface CausalityResult {
  readonly adapter: string;
  readonly firstSeed: number;
  readonly seeds: number;
  readonly rows: readonly CausalityRow[];
  /** Scenarios that expect nothing witnessed: they are no controls and are not run. */
  readonly notControls: number;
  readonly findings: readonly CausalityFinding[];
  /** No witnessed anomaly persisted and no run ended in error. */
  readonly ok: boolean;
}

/** The anomalies a scenario expects witnessed: non-empty for a negative control. */
export function witnessedAnomalies(scenario: Scenario): Anomaly[] {
  return ANOMALIES.filter((anomaly) => scenario.expect[anomaly] === 'witnessed');
}

/** The scenario with its adverse ingredients removed, as the file's header says. */
export function withoutAdverseIngredients(scenario: Scenario): Scenario {
  return {
    ...scenario,
    requires: scenario.requires.filter((capability) => !capability.startsWith('fault.')),
    producer: { ...scenario.producer, abortEvery: 0 },
    faults: [],
  };
}

/** `4 faults, abortEvery 3`, or `nothing` for a control that has neither. */
export function describeRemoved(scenario: Scenario): string {
  const parts: string[] = [];
  const faults = scenario.faults.length;
  if (faults > 0) parts.push(`${faults} ${faults === 1 ? 'fault' : 'faults'}`);
  if (scenario.producer.abortEvery > 0) parts.push(`abortEvery ${scenario.producer.abortEvery}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

/** `npx deliverycheck causality FILE --first-seed S --seeds 1`, plus the adapter when not the reference. */
export function causalityReproduce(file: string, adapter: string, seed: number): string {
  const words = ['npx', 'deliverycheck', 'causality', shellQuote(file.startsWith('-') ? `./${file}` : file)];
  if (adapter !== 'reference') words.push('--adapter', shellQuote(adapter));
  words.push('--first-seed', String(seed), '--seeds', '1');
  return words.join(' ');
}

/**
 * Runs every control without its adverse ingredients at seeds firstSeed to firstSeed + seeds - 1,
 * seed by seed over all controls, so that an early stop has still sampled every control.
 */
export async function causalityCheck(
  scenarios: readonly Scenario[],
  adapter: Adapter,
  options: CausalityOptions,
): Promise<CausalityResult> {
  const runScenario = options.runScenario ?? (await realRunner());
  const controls = scenarios.filter((scenario) => witnessedAnomalies(scenario).length > 0);
  const tallies = controls.map((scenario) => ({ runs: 0, skipped: 0, persisted: 0, errors: 0, scenario }));
  const findings: CausalityFinding[] = [];
  const total = controls.length * options.seeds;
  let position = 0;
  for (let seed = options.firstSeed; seed < options.firstSeed + options.seeds; seed += 1) {
    for (const tally of tallies) {
      const scenario = tally.scenario;
      position += 1;
      options.onProgress?.({ position, total, scenario, seed });
      const result = await runScenario(withoutAdverseIngredients(scenario), { adapter, seed, defects: [] });
      tally.runs += 1;
      const finding = judge(scenario, result, adapter.name, seed);
      if (result.status === 'skipped') tally.skipped += 1;
      if (finding === undefined) continue;
      if (finding.error !== undefined) tally.errors += 1;
      else tally.persisted += 1;
      findings.push(finding);
      options.onFinding?.(finding);
    }
  }
  const rows = tallies.map(({ scenario, runs, skipped, persisted, errors }) => ({
    file: scenario.file,
    name: scenario.name,
    anomalies: witnessedAnomalies(scenario),
    removed: describeRemoved(scenario),
    runs,
    skipped,
    persisted,
    errors,
  }));
  return {
    adapter: adapter.name,
    firstSeed: options.firstSeed,
    seeds: options.seeds,
    rows,
    notControls: scenarios.length - controls.length,
    findings,
    ok: findings.length === 0,
  };
}

/** The finding one run makes, or undefined when every witnessed anomaly vanished (or it was skipped). */
function judge(scenario: Scenario, result: ScenarioResult, adapter: string, seed: number): CausalityFinding | undefined {
  const base = { file: scenario.file, name: scenario.name, seed, reproduce: causalityReproduce(scenario.file, adapter, seed) };
  if (result.status === 'skipped') return undefined;
  if (result.status === 'error') {
    return { ...base, persisting: [], error: oneLine(result.reason ?? 'the run ended in an error') };
  }
  const persisting = witnessedAnomalies(scenario).flatMap((anomaly) => {
    const count = result.anomalies[anomaly]?.count ?? 0;
    return count > 0 ? [{ anomaly, count }] : [];
  });
  return persisting.length > 0 ? { ...base, persisting } : undefined;
}

/** `lost 12, reordered 3`, or the error, for one finding. */
export function describeFinding(finding: CausalityFinding): string {
  if (finding.error !== undefined) return `error: ${finding.error}`;
  return `still witnessed without its adverse ingredients: ${finding.persisting.map((entry) => `${entry.anomaly} ${entry.count}`).join(', ')}`;
}

export interface CausalityMarkdownOptions {
  /** The exact command that regenerates the document. */
  readonly command?: string;
}

/** The check as Markdown to commit in docs/: no timings and no dates, so a rerun gives the same bytes. */
export function renderCausalityMarkdown(result: CausalityResult, options: CausalityMarkdownOptions = {}): string {
  const command = options.command ?? 'npm run causality';
  const lastSeed = result.firstSeed + result.seeds - 1;
  const lines = [
    `# Causality of the negative controls on the ${result.adapter} adapter`,
    '',
    'A negative control expects an anomaly `witnessed`. It proves that its faults cause the anomaly only if the anomaly ' +
      'goes away without them, so this check runs every control with its adverse ingredients removed: its `faults` ' +
      'list emptied, `producer.abortEvery` set to 0 (the application\'s own aborts, the cause of a read-uncommitted ' +
      'consumer\'s aborted reads), and the fault capabilities dropped from `requires`. Everything else stays as written. ' +
      `A control passes when none of its witnessed anomalies is counted in any run, at seeds ${result.firstSeed} to ${lastSeed}.`,
    '',
    `Regenerated by \`${command}\`.`,
    '',
    '| control | witnessed | removed | runs | still witnessed | errors |',
    '|---|---|---|---:|---:|---:|',
  ];
  for (const row of result.rows) {
    const runs = row.skipped > 0 ? `${row.runs} (${row.skipped} skipped)` : `${row.runs}`;
    const persisted = row.persisted > 0 ? `**${row.persisted}**` : '0';
    lines.push(`| ${code(row.file)} | ${cell(row.anomalies.join(', '))} | ${cell(row.removed)} | ${runs} | ${persisted} | ${row.errors} |`);
  }
  lines.push('', '## Verdict', '');
  if (result.findings.length === 0) {
    lines.push(`Every control's anomaly vanished without its adverse ingredients (${result.rows.length} controls; ` +
      `${result.notControls} other scenarios expect nothing witnessed and were not run).`);
  } else {
    lines.push('These runs did not show the adverse ingredients to be the cause:', '');
    for (const finding of result.findings) {
      lines.push(`- ${code(finding.file)} seed ${finding.seed}: ${cell(describeFinding(finding))}; reproduce with ${code(finding.reproduce)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
