// What every report says the same way: which claims a scenario violated, how a claim and a
// witness read in one line, and how many scenarios ended in each status. The human output and
// the JUnit file share these words, so a developer sees the same sentence in a terminal and in CI.

import type { AnomalyVerdict, ScenarioResult, Witness } from '../../spec/result.js';
import { ANOMALIES, SCENARIO_STATUSES, type Anomaly, type ScenarioStatus } from '../../spec/vocabulary.js';
import { INTERRUPTED_EXIT_CODE } from '../../core/interrupt.js';

export interface ViolatedClaim {
  readonly anomaly: Anomaly;
  readonly verdict: AnomalyVerdict;
}

/** The claims of a result that did not hold, in the vocabulary's order of anomalies. */
export function violatedClaims(result: ScenarioResult): ViolatedClaim[] {
  const claims: ViolatedClaim[] = [];
  for (const anomaly of ANOMALIES) {
    const verdict = result.anomalies[anomaly];
    if (verdict !== undefined && !verdict.held) claims.push({ anomaly, verdict });
  }
  return claims;
}

/** One line such as `lost: expected none, got 3`. */
export function describeClaim(claim: ViolatedClaim): string {
  const { anomaly, verdict } = claim;
  // A negative control fails when the anomaly did not show; "expected witnessed" alone would
  // read as if the word were a count, so the line says what witnessed means.
  const expected = verdict.expect === 'witnessed' ? 'witnessed (at least 1)' : verdict.expect;
  return `${anomaly}: expected ${expected}, got ${verdict.count}`;
}

/** How many instances of an anomaly were found but not kept as witnesses. */
export function unkeptWitnesses(verdict: AnomalyVerdict, shown: number): number {
  return Math.max(verdict.count, verdict.witnesses.length) - shown;
}

function list(singular: string, plural: string, values: readonly (string | number)[]): string {
  return `${values.length === 1 ? singular : plural} ${values.join(', ')}`;
}

/** One line such as `id m-0-17; partition 2; offset 40; history lines 12, 30: never stored`. */
export function describeWitness(witness: Witness): string {
  const parts: string[] = [];
  if (witness.ids.length > 0) parts.push(list('id', 'ids', witness.ids));
  if (witness.partition !== undefined) parts.push(`partition ${witness.partition}`);
  if (witness.offsets !== undefined && witness.offsets.length > 0) {
    parts.push(list('offset', 'offsets', witness.offsets));
  }
  if (witness.lines.length > 0) parts.push(list('history line', 'history lines', witness.lines));
  const where = parts.join('; ');
  if (witness.note === '') return where;
  return where === '' ? witness.note : `${where}: ${witness.note}`;
}

// C0 and C1 control characters and DEL, the line and paragraph separators, the bidirectional
// overrides and the invisible zero-width characters (a byte order mark inside a key, say).
// Message ids can come from a real broker's log (a phantom is by definition something we did not
// write) and names from the user's files, so they may hold characters that would move the
// cursor, change colours, break a line in a log viewer, reorder what the reader sees, or make
// "topic is not a known field" name a key that only looks like `topic`.
export type StatusCounts = Readonly<Record<ScenarioStatus, number>>;

/** A count of zero for every status. */
export function noStatuses(): Record<ScenarioStatus, number> {
  return Object.fromEntries(SCENARIO_STATUSES.map((status) => [status, 0])) as Record<ScenarioStatus, number>;
}

export function countStatuses(results: readonly ScenarioResult[]): StatusCounts {
  const counts = noStatuses();
  for (const result of results) counts[result.status] += 1;
  return counts;
}

/**
 * The exit code of a run: 130 when a scenario was interrupted (as a shell reports Ctrl-C), else
 * 2 when any scenario ended in error or was inconclusive, else 1 when any failed, else 0. An
 * inconclusive run is no verdict at all, so it must not let a run exit 0; it is not a violated
 * claim either, so it exits as an error does: something to look into.
 */
export function exitCodeFor(results: readonly ScenarioResult[]): 0 | 1 | 2 | typeof INTERRUPTED_EXIT_CODE {
  const counts = countStatuses(results);
  if (counts.interrupted > 0) return INTERRUPTED_EXIT_CODE;
  if (counts.error > 0 || counts.inconclusive > 0) return 2;
  if (counts.failed > 0) return 1;
  return 0;
}
