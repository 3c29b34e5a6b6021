// Whether a run did enough for its verdict to mean anything. A scenario whose brokers never served
// would otherwise pass at-least-once with nothing acknowledged and nothing stored: no claim can
// fail over no messages. Jepsen reports such a run as unknown; deliverycheck calls it
// `inconclusive` (spec/anomalies.md, "Too little happened").
//
// The rule is a pure function of a run's counts, the scenario's thresholds and its workload size,
// so the runner and a re-check of a recorded history reach the same answer from the same inputs.

import type { AnomalyVerdict, Counts } from '../../spec/result.js';
import type { Minimum, Threshold } from '../../spec/scenario.js';
import { MESSAGE_COUNTS, type AckMode, type Anomaly, type ScenarioStatus } from '../../spec/vocabulary.js';

/**
 * The share of `workload.messages` a run must have acknowledged (stored, under ack mode `none`)
 * and processed when its scenario names no threshold. When it was set, the suites' lowest shares
 * on the reference broker, at their own seeds and at seeds 1 to 20, were 83.7% acknowledged and
 * 83.1% processed (the ack-leader control, whose leader crashes lose writes), and 97.9% stored
 * under ack none; a run whose brokers never served reaches 0. Half leaves room both ways: a
 * control that legitimately loses more than half says so with its own `expect.minimum`.
 */
export const DEFAULT_MINIMUM_PERCENT = 50;

/**
 * The thresholds a scenario gets for the counts it does not name. Every run must have had most of
 * its messages promised by the broker and processed by the consumers: `acknowledged` where the
 * producer waits for acknowledgments, and `stored` under ack mode `none`, where nothing is ever
 * acknowledged and `sent` would count the attempts whether the broker took them or not.
 */
export function defaultMinimum(ack: AckMode): Minimum {
  const share: Threshold = { percent: DEFAULT_MINIMUM_PERCENT };
  return ack === 'none' ? { stored: share, processed: share } : { acknowledged: share, processed: share };
}

/** The number of messages a threshold asks for, out of a workload of `messages`. */
export function neededMessages(threshold: Threshold, messages: number): number {
  if (threshold.count !== undefined) return threshold.count;
  // Rounded up, so 50% of 3 asks for 2; the small epsilon keeps 1.1% of 3000 at 33, not 34
  // (1.1 × 3000 / 100 is a hair above 33 in binary), and the floor at 0 keeps 0% from being -0.
  return Math.max(0, Math.ceil((threshold.percent * messages) / 100 - 1e-9));
}

function describeNeed(threshold: Threshold, needed: number): string {
  return threshold.percent === undefined ? `at least ${needed} needed` : `at least ${needed}, ${threshold.percent}%, needed`;
}

/**
 * Why a run did too little, or undefined when it did enough: one clause per count below its
 * threshold, in the order of MESSAGE_COUNTS, such as "only 0 of 2000 messages were acknowledged
 * (at least 1000, 50%, needed)". A threshold of 0 asks for nothing.
 */
export function progressShortfall(counts: Counts, minimum: Minimum, messages: number): string | undefined {
  const clauses: string[] = [];
  for (const name of MESSAGE_COUNTS) {
    const threshold = minimum[name];
    if (threshold === undefined) continue;
    const needed = neededMessages(threshold, messages);
    const reached = counts[name];
    if (reached >= needed) continue;
    clauses.push(`only ${reached} of ${messages} messages were ${name} (${describeNeed(threshold, needed)})`);
  }
  return clauses.length === 0 ? undefined : clauses.join('; ');
}

/** What a judged run comes to once its progress is weighed. */
export interface ProgressVerdict {
  readonly status: Extract<ScenarioStatus, 'passed' | 'failed' | 'inconclusive'>;
  /** The shortfall, for an inconclusive run. */
  readonly reason?: string;
}

/**
 * The status of a run from its judged anomalies and its shortfall (progressShortfall). A forbidden
 * anomaly that was witnessed fails the run however little it did: the witness is evidence, and a
 * broker that lost one acknowledged message of ten has lost it. Otherwise a run that did too
 * little is inconclusive, whether its claims held (they held over too few messages to mean
 * anything) or a negative control saw nothing (nothing happened for its fault to act on).
 */
export function progressVerdict(
  anomalies: { readonly [A in Anomaly]?: AnomalyVerdict },
  shortfall: string | undefined,
): ProgressVerdict {
  const verdicts = Object.values(anomalies);
  const forbiddenSeen = verdicts.some((verdict) => verdict.expect === 'none' && !verdict.held);
  if (forbiddenSeen) return { status: 'failed' };
  if (shortfall !== undefined) return { status: 'inconclusive', reason: shortfall };
  return { status: verdicts.every((verdict) => verdict.held) ? 'passed' : 'failed' };
}
