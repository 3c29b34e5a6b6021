// Rates over repeated runs of the same scenarios (`deliverycheck run --repeat N`).
//
// On the reference broker one seed decides everything, so one run per scenario says it all. On
// a real broker the same faults land at slightly different moments each time: a negative control
// may witness its anomaly in most runs but not all, and a claim that held once may break on the
// tenth try. Repeating the runs and counting is how a real broker's results are reported: per
// scenario, in how many runs each control's anomaly was witnessed and each claim held.

import type { ScenarioResult } from '../../spec/result.js';
import { ANOMALIES, type Anomaly, type ScenarioStatus } from '../../spec/vocabulary.js';
import { countStatuses } from './claims.js';

/** One scenario's results over its repeated runs. */
export interface ScenarioRates {
  readonly file: string;
  readonly name: string;
  /** Runs that reached a verdict: passed, failed or a known failure (not skipped, error or inconclusive). */
  readonly checked: number;
  readonly statuses: Readonly<Record<ScenarioStatus, number>>;
  /** Per anomaly the scenario expects witnessed: in how many checked runs it was. */
  readonly witnessed: ReadonlyArray<{ readonly anomaly: Anomaly; readonly runs: number }>;
  /** Per anomaly the scenario forbids: in how many checked runs it occurred anyway. */
  readonly violated: ReadonlyArray<{ readonly anomaly: Anomaly; readonly runs: number }>;
  /** Why the scenario was skipped, ended in error or was inconclusive, the first time it was. */
  readonly reason?: string;
  /** The known cause of its known failures, the first time there was one. */
  readonly knownCause?: string;
}

/** Results by scenario file, in the order the files first appear. */
export function resultsByFile(results: readonly ScenarioResult[]): Map<string, ScenarioResult[]> {
  const byFile = new Map<string, ScenarioResult[]>();
  for (const result of results) {
    const runs = byFile.get(result.file);
    if (runs === undefined) byFile.set(result.file, [result]);
    else runs.push(result);
  }
  return byFile;
}

/** Groups results by scenario file, in the order the files first appear, and counts. */
export function scenarioRates(results: readonly ScenarioResult[]): ScenarioRates[] {
  return [...resultsByFile(results).values()].map((runs) => {
    const first = runs[0] as ScenarioResult;
    const statuses = countStatuses(runs);
    const checkedRuns = runs.filter((run) => run.status === 'passed' || run.status === 'failed' || run.status === 'known-failure');
    const witnessed: { anomaly: Anomaly; runs: number }[] = [];
    const violated: { anomaly: Anomaly; runs: number }[] = [];
    for (const anomaly of ANOMALIES) {
      const verdicts = checkedRuns.map((run) => run.anomalies[anomaly]).filter((verdict) => verdict !== undefined);
      if (verdicts.length === 0) continue;
      const occurred = verdicts.filter((verdict) => verdict.count > 0).length;
      const expectation = verdicts[0]?.expect;
      if (expectation === 'witnessed') witnessed.push({ anomaly, runs: occurred });
      if (expectation === 'none') violated.push({ anomaly, runs: occurred });
    }
    const reasonRun = runs.find((run) => run.reason !== undefined && run.status !== 'known-failure');
    const knownRun = runs.find((run) => run.status === 'known-failure' && run.reason !== undefined);
    return {
      file: first.file,
      name: first.name,
      checked: checkedRuns.length,
      statuses,
      witnessed,
      violated,
      ...(reasonRun?.reason !== undefined ? { reason: reasonRun.reason } : {}),
      ...(knownRun?.reason !== undefined ? { knownCause: knownRun.reason } : {}),
    };
  });
}

/** What one scenario's row says, in words: "lost witnessed 3/3", "claims held 3/3". */
export function describeRates(rates: ScenarioRates): string {
  if (rates.checked === 0) {
    const status =
      rates.statuses.error > 0
        ? 'error'
        : rates.statuses.inconclusive > 0
          ? 'inconclusive'
          : rates.statuses.interrupted > 0
            ? 'interrupted'
            : 'skipped';
    return rates.reason === undefined ? status : `${status}: ${rates.reason}`;
  }
  const parts: string[] = [];
  for (const { anomaly, runs } of rates.witnessed) parts.push(`${anomaly} witnessed ${runs}/${rates.checked}`);
  const breaking = rates.violated.filter((entry) => entry.runs > 0);
  const heldRuns = rates.checked - Math.max(0, ...rates.violated.map((entry) => entry.runs));
  if (rates.witnessed.length === 0 || rates.violated.length > 0) {
    parts.push(
      breaking.length === 0
        ? `claims held ${rates.checked}/${rates.checked}`
        : `claims held ${heldRuns}/${rates.checked} (${breaking.map((entry) => `${entry.anomaly} in ${entry.runs}`).join(', ')})`,
    );
  }
  if (rates.statuses['known-failure'] > 0) {
    const known = rates.statuses['known-failure'];
    const cause = rates.knownCause?.replace(/^known failure: /u, '');
    parts.push(`${known} known ${known === 1 ? 'failure' : 'failures'}${cause === undefined ? '' : ` (${cause})`}`);
  }
  if (rates.statuses.error > 0) parts.push(`${rates.statuses.error} error`);
  // Runs that did too little reached no verdict: they are not in the counts above, and say so.
  if (rates.statuses.inconclusive > 0) parts.push(`${rates.statuses.inconclusive} inconclusive`);
  if (rates.statuses.interrupted > 0) parts.push(`${rates.statuses.interrupted} interrupted`);
  return parts.join('; ');
}

/** The rates as terminal lines, one per scenario. */
export function formatRates(all: readonly ScenarioRates[]): string {
  const width = Math.max(0, ...all.map((rates) => rates.file.length));
  const lines = all.map((rates) => `  ${rates.file.padEnd(width)}  ${describeRates(rates)}`);
  return `Over repeated runs:\n${lines.join('\n')}\n`;
}

/** The rates as a Markdown table, for a README. */
export function formatRatesMarkdown(all: readonly ScenarioRates[], adapter: string): string {
  const lines = [
    `| scenario (adapter ${adapter}) | runs | passed | result |`,
    '|---|---:|---:|---|',
    ...all.map((rates) => {
      const runs = Object.values(rates.statuses).reduce((sum, count) => sum + count, 0);
      const scenario = rates.file.replace(/^.*?suites\//, '').replace(/\.yaml$/, '');
      return `| ${scenario} | ${runs} | ${rates.statuses.passed} | ${describeRates(rates).replace(/\|/g, '\\|')} |`;
    }),
  ];
  return `${lines.join('\n')}\n`;
}
