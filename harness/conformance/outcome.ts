// From a scenario's history to its result: the one step `deliverycheck run` takes after a run and
// `deliverycheck check` takes on a recorded history, so the two cannot come to different verdicts.
// Everything it reads is in the history: the setup line names the scenario, its seed and its
// expectations, the end line how the run stopped and what it noted; the checker does the rest.

import type { EndEvent, HistoryEvent, SetupEvent } from '../../spec/history.js';
import type { Counts, ScenarioResult } from '../../spec/result.js';
import { ANOMALIES, type Anomaly } from '../../spec/vocabulary.js';
import { check, judge, type CheckResult } from './checker.js';
import { progressShortfall, progressVerdict } from './progress.js';
import { reproduceCommand } from './reproduce.js';

export interface OutcomeContext {
  /** Where the history is kept, when it is kept in a file. */
  readonly history?: string;
  readonly durationMs: number;
}

/** Refusal of a history that lacks what a verdict needs; the message names the line. */
export class HistoryShapeError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'HistoryShapeError';
  }
}

/**
 * The anomalies a partial history still shows from deliveries and processing alone, though only
 * as lower bounds: the ones it names are certain, more may be hidden after its end. The others
 * are decided by the drain (what the broker stored), which a partial history lacks.
 */
export const JUDGED_WITHOUT_DRAIN: readonly Anomaly[] = ['duplicated', 'phantom', 'inconsistent-offset'];

/**
 * What the result of a history reads of it besides the checker's verdicts: a history in memory
 * has it at hand (outlineOf), a history file keeps it while it is checked (harness/history/check.ts).
 */
export interface HistoryOutline {
  readonly first: HistoryEvent | undefined;
  readonly last: HistoryEvent | undefined;
  readonly length: number;
  /** The name of the last phase line, or `setup` when there is none. */
  readonly phase: string;
}

/** The outline of a history in memory. */
export function outlineOf(events: readonly HistoryEvent[]): HistoryOutline {
  let phase = 'setup';
  for (const event of events) if (event.type === 'phase') phase = event.name;
  return { first: events[0], last: events[events.length - 1], length: events.length, phase };
}

export function setupOf(first: HistoryEvent | undefined): SetupEvent & { readonly expect: NonNullable<SetupEvent['expect']> } {
  if (first === undefined) throw new HistoryShapeError(1, 'the history is empty');
  if (first.type !== 'setup') throw new HistoryShapeError(1, `a history begins with its setup line, not with a ${first.type} line`);
  if (first.expect === undefined) {
    throw new HistoryShapeError(1, 'the setup line has no expect: a benchmark history, or one an older deliverycheck wrote');
  }
  for (const anomaly of ANOMALIES) {
    if (first.expect[anomaly] === undefined) throw new HistoryShapeError(1, `the setup line's expect has no ${anomaly}`);
  }
  return first as SetupEvent & { readonly expect: NonNullable<SetupEvent['expect']> };
}

/** The result a history shows. Throws HistoryShapeError when it has no usable setup line. */
export function resultOfHistory(events: readonly HistoryEvent[], context: OutcomeContext): ScenarioResult {
  return resultOfOutline(outlineOf(events), () => check(events), context);
}

/**
 * The result of a history by its outline and its checker's result, which `checked` gives once the
 * setup line was found usable. Throws HistoryShapeError when it is not.
 */
export function resultOfOutline(outline: HistoryOutline, checked: () => CheckResult, context: OutcomeContext): ScenarioResult {
  const setup = setupOf(outline.first);
  const last = outline.last;
  const end: EndEvent | undefined = last?.type === 'end' ? last : undefined;
  const base = {
    file: setup.file,
    name: setup.scenario,
    seed: setup.seed,
    reproduce: reproduceCommand({
      file: setup.file,
      adapter: setup.adapter,
      seed: setup.seed,
      defects: setup.defects,
      ...(setup.clusterArgs !== undefined ? { clusterArgs: setup.clusterArgs } : {}),
    }),
    ...(context.history === undefined ? {} : { history: context.history }),
  };
  const result = checked();
  if (end === undefined) return partialResult(setup, outline, result, base, context);
  const notes = end.notes !== undefined && end.notes.length > 0 ? { notes: [...end.notes] } : {};
  if (end.status !== undefined) {
    return {
      ...base,
      ...notes,
      status: end.status,
      reason: end.reason ?? `the run ended in ${end.status === 'error' ? 'an error' : 'an interruption'}`,
      counts: result.counts,
      anomalies: {},
      durationMs: context.durationMs,
    };
  }
  const judged = judge(result, setup.expect);
  // A history written before thresholds were recorded is judged on its claims alone.
  return {
    ...base,
    ...notes,
    ...progressVerdict(judged.anomalies, shortfallOf(setup, result.counts)),
    counts: result.counts,
    anomalies: judged.anomalies,
    durationMs: context.durationMs,
  };
}

/** What the run did too little of, by the thresholds its setup line recorded. */
function shortfallOf(setup: SetupEvent, counts: Counts): string | undefined {
  // A history written before thresholds were recorded is judged on its claims alone.
  if (setup.minimum === undefined || setup.messages === undefined) return undefined;
  return progressShortfall(counts, setup.minimum, setup.messages);
}

type Base = Pick<ScenarioResult, 'file' | 'name' | 'seed' | 'reproduce' | 'history'>;

/**
 * A history without its end line: the run was killed. When its drain finished (the `done`
 * phase) the verdict stands, only the run's notes are unknown. Before that, what the broker
 * stored is unknown, so no claim can be shown to hold: the result is an error that says where
 * the history stops and what it shows all the same.
 */
function partialResult(
  setup: ReturnType<typeof setupOf>,
  outline: HistoryOutline,
  checked: CheckResult,
  base: Base,
  context: OutcomeContext,
): ScenarioResult {
  const lastLine = outline.length;
  const phase = outline.phase;
  if (phase === 'done') {
    const judged = judge(checked, setup.expect);
    return {
      ...base,
      notes: [`the history ends at line ${lastLine} without its end line: the run's own notes, if it had any, are lost`],
      ...progressVerdict(judged.anomalies, shortfallOf(setup, checked.counts)),
      counts: checked.counts,
      anomalies: judged.anomalies,
      durationMs: context.durationMs,
    };
  }
  const seen = JUDGED_WITHOUT_DRAIN.map((anomaly) => `${anomaly} ${checked.anomalies[anomaly].count}`).join(', ');
  return {
    ...base,
    status: 'error',
    reason:
      `partial history: it ends at line ${lastLine} in phase ${phase}, before the drain finished (the run was killed), ` +
      `so what the broker stored is unknown: lost, unprocessed, reordered and aborted-read cannot be judged, and no claim can be shown to hold`,
    notes: [`seen before the history ends, as lower bounds: ${seen}`],
    counts: checked.counts,
    anomalies: {},
    durationMs: context.durationMs,
  };
}
