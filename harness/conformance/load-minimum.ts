// Loading `expect.minimum`, how much a run must have done for its verdict to count: the checks the
// schema cannot express, and the thresholds with their defaults (harness/conformance/progress.ts holds the
// rule that applies them to a run).

import type { Minimum, ScenarioSource, Threshold } from '../../spec/scenario.js';
import { MESSAGE_COUNTS } from '../../spec/vocabulary.js';
import type { LoadError } from '../../core/load-error.js';
import type { FileContext } from './yaml-file.js';
import { defaultMinimum } from './progress.js';

/** A threshold as written: an integer is a number of messages, `50%` a share of the workload. */
export function parseThreshold(value: number | string): Threshold {
  if (typeof value === 'number') return { count: value };
  // The schema's pattern guarantees digits, an optional fraction and a trailing `%`.
  return { percent: Number(value.slice(0, -1)) };
}

/** Thresholds no run could reach, or that ask for a count the producer's settings never make. */
export function checkMinimum(source: ScenarioSource, context: FileContext): LoadError[] {
  const errors: LoadError[] = [];
  const minimum = source.expect.minimum ?? {};
  const messages = source.workload.messages;
  for (const name of MESSAGE_COUNTS) {
    const value = minimum[name];
    if (value === undefined) continue;
    const field = ['expect', 'minimum', name];
    const threshold = parseThreshold(value);
    if (threshold.count !== undefined && threshold.count > messages) {
      errors.push(
        context.errorAt(
          field,
          'value',
          `expect.minimum.${name} must be at most workload.messages, which is ${messages} (got ${threshold.count}); no run could reach it`,
        ),
      );
    }
    const asksForSome = (threshold.count ?? threshold.percent ?? 0) > 0;
    if (name === 'acknowledged' && asksForSome && source.producer.ack === 'none') {
      errors.push(
        context.errorAt(
          field,
          'value',
          'expect.minimum.acknowledged cannot be reached under producer.ack none, which acknowledges nothing; ask for stored instead',
        ),
      );
    }
  }
  return errors;
}

/** The defaults for the producer's ack mode, then the scenario's own thresholds over them. */
export function buildMinimum(source: ScenarioSource): Minimum {
  const minimum: { -readonly [C in keyof Minimum]: Minimum[C] } = { ...defaultMinimum(source.producer.ack) };
  const explicit = source.expect.minimum ?? {};
  for (const name of MESSAGE_COUNTS) {
    const value = explicit[name];
    if (value !== undefined) minimum[name] = parseThreshold(value);
  }
  return minimum;
}
