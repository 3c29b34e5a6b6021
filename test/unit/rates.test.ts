// Rates over repeated runs: per scenario, how often each control witnessed its anomaly and each
// claim held, counted only over runs that reached a verdict.

import { describe, expect, it } from 'vitest';
import { describeRates, formatRates, formatRatesMarkdown, scenarioRates } from '../../harness/report/rates.js';
import type { AnomalyVerdict, ScenarioResult } from '../../spec/result.js';
import type { Anomaly, Expectation, ScenarioStatus } from '../../spec/vocabulary.js';

const counts = { sent: 10, acknowledged: 10, stored: 10, delivered: 10, processed: 10 };

function verdict(expect: Expectation, count: number): AnomalyVerdict {
  const held = expect === 'none' ? count === 0 : expect === 'witnessed' ? count > 0 : true;
  return { expect, count, held, witnesses: [] };
}

function run(
  file: string,
  seed: number,
  status: ScenarioStatus,
  anomalies: Partial<Record<Anomaly, AnomalyVerdict>>,
  reason?: string,
): ScenarioResult {
  return {
    file,
    name: file,
    seed,
    status,
    ...(reason !== undefined ? { reason } : {}),
    counts,
    anomalies,
    durationMs: 1,
    reproduce: `npx deliverycheck run ${file} --seed ${seed}`,
  };
}

const CONTROL = 'suites/producer-acks/unclean.yaml';
const CLAIM = 'suites/exactly-once/pipeline.yaml';
const SKIPPED = 'suites/producer-acks/power-loss.yaml';

const results: ScenarioResult[] = [
  run(CONTROL, 7, 'passed', { lost: verdict('witnessed', 3), phantom: verdict('none', 0) }),
  run(CLAIM, 7, 'passed', { lost: verdict('none', 0), duplicated: verdict('none', 0) }),
  run(SKIPPED, 7, 'skipped', {}, 'adapter kafka lacks fault.power-loss'),
  run(CONTROL, 8, 'failed', { lost: verdict('witnessed', 0), phantom: verdict('none', 0) }),
  run(CLAIM, 8, 'failed', { lost: verdict('none', 0), duplicated: verdict('none', 2) }),
  run(SKIPPED, 8, 'skipped', {}, 'adapter kafka lacks fault.power-loss'),
  run(CONTROL, 9, 'passed', { lost: verdict('witnessed', 1), phantom: verdict('none', 0) }),
  run(CLAIM, 9, 'error', {}, 'the broker did not answer'),
];

const EMPTY = 'suites/producer-acks/paused.yaml';
const SHORT = 'only 0 of 10 messages were acknowledged (at least 5, 50%, needed)';

describe('scenarioRates', () => {
  const rates = scenarioRates(results);

  it('counts known failures as runs with a verdict, and names their cause', () => {
    const known = scenarioRates([
      run(CLAIM, 1, 'known-failure', { duplicated: verdict('none', 2) }, 'known failure: a-defect (x.yaml)'),
      run(CLAIM, 2, 'passed', { duplicated: verdict('none', 0) }),
    ]);
    expect(known[0]?.checked).toBe(2);
    expect(describeRates(known[0] as (typeof known)[number])).toBe('claims held 1/2 (duplicated in 1); 1 known failure (a-defect (x.yaml))');
  });

  it('groups runs by scenario in the order scenarios first appear', () => {
    expect(rates.map((entry) => entry.file)).toEqual([CONTROL, CLAIM, SKIPPED]);
    expect(rates[0]?.statuses).toEqual({ passed: 2, failed: 1, 'known-failure': 0, skipped: 0, error: 0, inconclusive: 0, interrupted: 0 });
  });

  it('counts the runs that witnessed a control and the runs that broke a claim, over checked runs only', () => {
    expect(rates[0]?.checked).toBe(3);
    expect(rates[0]?.witnessed).toEqual([{ anomaly: 'lost', runs: 2 }]);
    expect(describeRates(rates[0]!)).toBe('lost witnessed 2/3; claims held 3/3');
    expect(rates[1]?.checked).toBe(2);
    expect(describeRates(rates[1]!)).toBe('claims held 1/2 (duplicated in 1); 1 error');
  });

  it('says why a scenario never reached a verdict', () => {
    expect(describeRates(rates[2]!)).toBe('skipped: adapter kafka lacks fault.power-loss');
  });

  it('leaves inconclusive runs out of the checked runs, and says how many there were or why', () => {
    const withEmpty = scenarioRates([
      ...results,
      run(CLAIM, 10, 'inconclusive', { lost: verdict('none', 0), duplicated: verdict('none', 0) }, SHORT),
      run(EMPTY, 7, 'inconclusive', { lost: verdict('witnessed', 0) }, SHORT),
      run(EMPTY, 8, 'inconclusive', { lost: verdict('witnessed', 0) }, SHORT),
    ]);
    expect(withEmpty[1]?.checked).toBe(2);
    expect(withEmpty[1]?.statuses.inconclusive).toBe(1);
    expect(describeRates(withEmpty[1]!)).toBe('claims held 1/2 (duplicated in 1); 1 error; 1 inconclusive');
    expect(withEmpty[3]?.checked).toBe(0);
    expect(describeRates(withEmpty[3]!)).toBe(`inconclusive: ${SHORT}`);
    const table = formatRatesMarkdown(withEmpty, 'reference').trim().split('\n');
    expect(table[3]).toBe('| exactly-once/pipeline | 4 | 1 | claims held 1/2 (duplicated in 1); 1 error; 1 inconclusive |');
    expect(table[5]).toBe(`| producer-acks/paused | 2 | 0 | inconclusive: ${SHORT} |`);
  });

  it('writes one terminal line and one Markdown row per scenario', () => {
    expect(formatRates(rates).trim().split('\n')).toHaveLength(4);
    const table = formatRatesMarkdown(rates, 'kafka').trim().split('\n');
    expect(table[0]).toBe('| scenario (adapter kafka) | runs | passed | result |');
    expect(table[2]).toBe('| producer-acks/unclean | 3 | 2 | lost witnessed 2/3; claims held 3/3 |');
    expect(table[3]).toBe('| exactly-once/pipeline | 3 | 1 | claims held 1/2 (duplicated in 1); 1 error |');
  });
});
