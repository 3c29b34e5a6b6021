// The suite tests itself. A checker and a suite that pass a broken broker prove nothing, so:
//   sensitivity  switches on each deliberate defect of an adapter, one at a time, runs the whole
//                suite at the scenarios' own seeds, and names the scenarios that catch it. A
//                defect no scenario catches is a hole in the suite.
//   specificity  runs the whole suite with no defect over many seeds. Any result other than
//                passed or skipped is a false alarm: a claim that does not hold on a correct
//                broker, a negative control that only witnesses its anomaly at some seeds, or a
//                run that did too little for a verdict (inconclusive).
// An inconclusive run is an alarm in both. In the baseline and in specificity, a correct broker
// must let every scenario do what it sets out to do. Under a defect, a scenario that passed
// without it and is inconclusive with it counts as catching the defect, as an error does: the
// suite no longer passes, the command exits 2, and the matrix says `inconclusive` so a reader
// sees that the defect stopped the run from doing enough rather than being witnessed. Counting
// it as not caught would call a defect that stops a broker from acknowledging anything harmless.
// Both run one scenario after another, so a matrix is the same on every machine and every run.

import type { Adapter, DefectInfo } from '../../adapters/contract.js';
import type { ScenarioResult } from '../../spec/result.js';
import type { Scenario } from '../../spec/scenario.js';
import type { Anomaly, Expectation, ScenarioStatus } from '../../spec/vocabulary.js';
import { countStatuses, describeClaim, violatedClaims } from '../report/claims.js';
import { oneLine } from '../../core/one-line.js';
import { formatSummary } from '../report/human.js';
import type { RunOptions } from './runner.js';

export type RunScenario = (scenario: Scenario, options: RunOptions) => Promise<ScenarioResult>;

/** One run about to start: reported before it starts, so a long check shows where it is. */
export interface RunStep {
  /** Counts from 1 over every run of the check. */
  readonly position: number;
  readonly total: number;
  readonly scenario: Scenario;
  /** The seed the run uses: the scenario's own in a sensitivity matrix. */
  readonly seed: number;
  /** The defect switched on; absent for a run without one. */
  readonly defect?: string;
}

export interface SensitivityOptions {
  /** Runs one scenario; the real runner when absent. Tests and the CLI replace it. */
  readonly runScenario?: RunScenario;
  readonly onProgress?: (step: RunStep) => void;
  /** Called once the baseline has run, so a long check can show it before the defects run. */
  readonly onBaseline?: (results: readonly ScenarioResult[]) => void;
  /** Called as each defect's row is complete. */
  readonly onDefectRow?: (row: DefectRow) => void;
}

/** A violated claim as the matrix keeps it: enough to say `lost: expected none, got 74`. */
export interface ViolatedClaimSummary {
  readonly anomaly: Anomaly;
  readonly expect: Expectation;
  readonly count: number;
  /** `lost: expected none, got 74`. */
  readonly text: string;
}

/** A scenario whose result was neither passed nor skipped: failed, error or inconclusive. */
export interface ScenarioAlarm {
  readonly file: string;
  readonly name: string;
  readonly seed: number;
  readonly status: AlarmStatus;
  /**
   * The claims that did not hold; empty for an error, whose `reason` says what happened, and for
   * an inconclusive run but for its controls that saw nothing, its `reason` saying what was too little.
   */
  readonly violated: readonly ViolatedClaimSummary[];
  readonly reason?: string;
  readonly reproduce: string;
}

/** The statuses that raise an alarm. */
export type AlarmStatus = Extract<ScenarioStatus, 'failed' | 'error' | 'inconclusive'>;

export interface DefectRow {
  readonly defect: DefectInfo;
  /** The scenarios that failed, ended in error or were inconclusive with this defect alone, in suite order. */
  readonly caughtBy: readonly ScenarioAlarm[];
}

export interface SensitivityMatrix {
  readonly adapter: string;
  /** Every scenario's result with no defect switched on. */
  readonly baseline: readonly ScenarioResult[];
  /** The baseline's alarms; the matrix means something only when there are none. */
  readonly baselineAlarms: readonly ScenarioAlarm[];
  readonly defects: readonly DefectRow[];
  /** The defects no scenario caught, in the adapter's order; should be empty. */
  readonly uncaught: readonly DefectInfo[];
  /** The baseline passed and every defect was caught. */
  readonly ok: boolean;
}

export async function realRunner(): Promise<RunScenario> {
  // Imported on demand, so this module's pure parts (rendering, tests) never load a broker.
  return (await import('./runner.js')).runScenario;
}

function isAlarm(result: ScenarioResult): result is ScenarioResult & { readonly status: AlarmStatus } {
  return result.status === 'failed' || result.status === 'error' || result.status === 'inconclusive';
}

/** The alarm a failed, errored or inconclusive result raises; undefined for passed and skipped. */
export function alarmOf(result: ScenarioResult): ScenarioAlarm | undefined {
  if (!isAlarm(result)) return undefined;
  const violated = violatedClaims(result).map((claim) => ({
    anomaly: claim.anomaly,
    expect: claim.verdict.expect,
    count: claim.verdict.count,
    text: describeClaim(claim),
  }));
  return {
    file: result.file,
    name: result.name,
    seed: result.seed,
    status: result.status,
    violated,
    ...(result.reason !== undefined ? { reason: result.reason } : {}),
    reproduce: result.reproduce,
  };
}

/**
 * Runs the suite with no defect, then once per defect the adapter lists, each alone, at every
 * scenario's own seed, and says which scenarios catch which defect. A scenario that fails or
 * errs in the baseline cannot tell a defect from its own trouble, so it catches nothing.
 */
export async function sensitivityMatrix(
  scenarios: readonly Scenario[],
  adapter: Adapter,
  options: SensitivityOptions = {},
): Promise<SensitivityMatrix> {
  const runScenario = options.runScenario ?? (await realRunner());
  const total = scenarios.length * (adapter.defects.length + 1);
  let position = 0;
  const runSuite = async (defect: string | undefined): Promise<ScenarioResult[]> => {
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      position += 1;
      options.onProgress?.({ position, total, scenario, seed: scenario.seed, ...(defect !== undefined ? { defect } : {}) });
      results.push(await runScenario(scenario, { adapter, defects: defect === undefined ? [] : [defect] }));
    }
    return results;
  };

  const baseline = await runSuite(undefined);
  options.onBaseline?.(baseline);
  const baselineAlarms = baseline.flatMap((result) => alarmOf(result) ?? []);
  const rows: DefectRow[] = [];
  for (const defect of adapter.defects) {
    const results = await runSuite(defect.name);
    const caughtBy = results.flatMap((result, index) => {
      const before = baseline[index];
      if (before === undefined || isAlarm(before)) return [];
      return alarmOf(result) ?? [];
    });
    const row = { defect: { name: defect.name, description: defect.description }, caughtBy };
    rows.push(row);
    options.onDefectRow?.(row);
  }
  const uncaught = rows.filter((row) => row.caughtBy.length === 0).map((row) => row.defect);
  return {
    adapter: adapter.name,
    baseline,
    baselineAlarms,
    defects: rows,
    uncaught,
    ok: baselineAlarms.length === 0 && uncaught.length === 0,
  };
}

/** What an alarm shows in one short parenthesis: the violated anomalies, `error` or `inconclusive`. */
function alarmAnomalies(alarm: ScenarioAlarm): string {
  if (alarm.status === 'error' || alarm.status === 'inconclusive') return alarm.status;
  const names = alarm.violated.map((claim) => claim.anomaly);
  return names.length > 0 ? names.join(', ') : 'failed';
}

/** `caught by 2: a.yaml (lost), b.yaml (duplicated, error)` or `NOT CAUGHT`, for the terminal. */
export function formatDefectLine(row: DefectRow): string {
  if (row.caughtBy.length === 0) return 'NOT CAUGHT';
  const alarms = row.caughtBy.map((alarm) => `${oneLine(alarm.file)} (${alarmAnomalies(alarm)})`);
  return `caught by ${row.caughtBy.length}: ${alarms.join(', ')}`;
}

/** What an alarm says in full: its violated claims with counts, or the reason of its error or shortfall. */
export function describeAlarm(alarm: ScenarioAlarm): string {
  if (alarm.status === 'error') return `error: ${oneLine(alarm.reason ?? 'the scenario ended in an error')}`;
  if (alarm.status === 'inconclusive') return `inconclusive: ${oneLine(alarm.reason ?? 'the run did too little')}`;
  if (alarm.violated.length === 0) return 'failed';
  return alarm.violated.map((claim) => claim.text).join('; ');
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** Makes text safe inside a GFM table cell: one line, no column breaks, no stray HTML. */
export function cell(text: string): string {
  return oneLine(text).replaceAll('\\', '\\\\').replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A code span for a file name or defect name, inside a table cell. */
export function code(text: string): string {
  // A backtick inside would end a single-backtick span early; GFM takes a longer fence then.
  const fence = text.includes('`') ? '``' : '`';
  const pad = text.includes('`') ? ' ' : '';
  return `${fence}${pad}${oneLine(text).replaceAll('|', '\\|')}${pad}${fence}`;
}

export interface MarkdownOptions {
  /** The exact command that regenerates the document. */
  readonly command?: string;
}

/**
 * The matrix as a Markdown document to commit next to the suite. It holds no timings and no
 * dates, so the same suite and broker render the same bytes, and a check can compare them.
 */
export function renderSensitivityMarkdown(matrix: SensitivityMatrix, options: MarkdownOptions = {}): string {
  const command = options.command ?? 'npm run sensitivity';
  const lines: string[] = [
    `# Sensitivity of the suite to the ${matrix.adapter} adapter's defects`,
    '',
    `This file lists the scenarios that catch each deliberate defect of the \`${matrix.adapter}\` adapter, ` +
      `switched on alone at every scenario's own seed, and is regenerated by \`${command}\`.`,
    '',
    '## Baseline',
    '',
    `With no defect switched on, ${formatSummary(matrix.baseline)}.`,
  ];
  if (matrix.baselineAlarms.length > 0) {
    lines.push('', 'The baseline must pass; these scenarios did not, so they catch nothing below:', '');
    for (const alarm of matrix.baselineAlarms) {
      lines.push(`- ${code(alarm.file)}: ${cell(describeAlarm(alarm))}; reproduce with ${code(alarm.reproduce)}`);
    }
  }
  lines.push('', '## Defects', '', '| defect | what it breaks | caught by |', '|---|---|---|');
  for (const row of matrix.defects) {
    const caught =
      row.caughtBy.length === 0
        ? '**nothing**'
        : `${row.caughtBy.length}:<br>` +
          row.caughtBy.map((alarm) => `${code(alarm.file)} (${cell(describeAlarm(alarm))})`).join('<br>');
    lines.push(`| ${code(row.defect.name)} | ${cell(row.defect.description)} | ${caught} |`);
  }
  lines.push('', '## Caught by nothing', '');
  if (matrix.uncaught.length === 0) {
    lines.push('None: every defect is caught by at least one scenario.');
  } else {
    for (const defect of matrix.uncaught) lines.push(`- ${code(defect.name)}: ${cell(defect.description)}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Specificity

export interface SpecificityOptions {
  /** How many seeds each scenario runs with. */
  readonly seeds: number;
  readonly firstSeed: number;
  readonly runScenario?: RunScenario;
  readonly onProgress?: (step: RunStep) => void;
  /** Called at once for each false alarm, so a long check shows them as they come. */
  readonly onFalseAlarm?: (alarm: ScenarioAlarm) => void;
}

export interface SpecificityResult {
  readonly adapter: string;
  readonly firstSeed: number;
  readonly seeds: number;
  /** How many scenario runs were made: scenarios × seeds. */
  readonly runs: number;
  readonly statuses: Readonly<Record<ScenarioStatus, number>>;
  /** One row per scenario, in suite order: how its runs ended. */
  readonly rows: readonly SpecificityRow[];
  /** Every run with no defect that neither passed nor was skipped, in the order they ran. */
  readonly falseAlarms: readonly ScenarioAlarm[];
}

/** How one scenario's runs ended over every seed of a specificity check. */
export interface SpecificityRow {
  readonly file: string;
  readonly statuses: Readonly<Record<ScenarioStatus, number>>;
}

/**
 * Runs every scenario with no defect at seeds firstSeed to firstSeed + seeds - 1. The runs go
 * seed by seed, each seed over the whole suite, so an early stop has still sampled every scenario.
 */
export async function specificityCheck(
  scenarios: readonly Scenario[],
  adapter: Adapter,
  options: SpecificityOptions,
): Promise<SpecificityResult> {
  const runScenario = options.runScenario ?? (await realRunner());
  const total = scenarios.length * options.seeds;
  const results: ScenarioResult[] = [];
  // Per scenario, not per file name: two scenarios may share a file only in tests, never in a suite.
  const perScenario = scenarios.map((): ScenarioResult[] => []);
  const falseAlarms: ScenarioAlarm[] = [];
  let position = 0;
  for (let seed = options.firstSeed; seed < options.firstSeed + options.seeds; seed += 1) {
    for (const [index, scenario] of scenarios.entries()) {
      position += 1;
      options.onProgress?.({ position, total, scenario, seed });
      const result = await runScenario(scenario, { adapter, seed, defects: [] });
      results.push(result);
      perScenario[index]?.push(result);
      const alarm = alarmOf(result);
      if (alarm === undefined) continue;
      falseAlarms.push(alarm);
      options.onFalseAlarm?.(alarm);
    }
  }
  const rows = scenarios.map((scenario, index) => ({ file: scenario.file, statuses: countStatuses(perScenario[index] ?? []) }));
  return {
    adapter: adapter.name,
    firstSeed: options.firstSeed,
    seeds: options.seeds,
    runs: results.length,
    statuses: countStatuses(results),
    rows,
    falseAlarms,
  };
}

/**
 * The check as Markdown to commit in docs/: per scenario, how its runs ended, and every false
 * alarm with the command that reproduces it. No timings and no dates, so a rerun gives the same bytes.
 */
export function renderSpecificityMarkdown(result: SpecificityResult, options: MarkdownOptions = {}): string {
  const command = options.command ?? 'npm run specificity';
  const lastSeed = result.firstSeed + result.seeds - 1;
  const lines = [
    `# Specificity of the suite on the ${result.adapter} adapter`,
    '',
    'Specificity asks whether the suite accuses a correct broker: every scenario runs with no defect switched on, ' +
      `at seeds ${result.firstSeed} to ${lastSeed}. Any run that neither passed nor was skipped is a false alarm ` +
      '(a failed claim, an error or an inconclusive run).',
    '',
    `Regenerated by \`${command}\`.`,
    '',
    `${result.runs} runs: ${result.statuses.passed} passed, ${result.statuses.skipped} skipped, ` +
      `${result.statuses.failed} failed, ${result.statuses.error} errors, ${result.statuses.inconclusive} inconclusive, ` +
      `${result.statuses.interrupted} interrupted; ${result.falseAlarms.length} false ${result.falseAlarms.length === 1 ? 'alarm' : 'alarms'}.`,
    '',
    '| scenario | passed | skipped | false alarms |',
    '|---|---:|---:|---:|',
  ];
  for (const row of result.rows) {
    const alarms = row.statuses.failed + row.statuses.error + row.statuses.inconclusive + row.statuses.interrupted;
    lines.push(`| ${code(row.file)} | ${row.statuses.passed} | ${row.statuses.skipped} | ${alarms > 0 ? `**${alarms}**` : '0'} |`);
  }
  lines.push('', '## False alarms', '');
  if (result.falseAlarms.length === 0) {
    lines.push('None: no scenario accused the broker without a defect.');
  } else {
    for (const alarm of result.falseAlarms) {
      lines.push(`- ${code(alarm.file)} seed ${alarm.seed}: ${cell(describeAlarm(alarm))}; reproduce with ${code(alarm.reproduce)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
