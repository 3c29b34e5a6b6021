// Runs one scenario file on the reference broker at several seeds, as the tests of the broker
// model's ordering do: every run must pass with every send acknowledged, and the caller looks
// at how many keys each run stored out of send order.

import { expect } from 'vitest';
import { loadScenarios } from '../../harness/conformance/loader.js';
import { runScenario } from '../../harness/conformance/runner.js';
import { referenceAdapter } from '../../reference/adapter.js';

/** The reordered count of each run at seeds `first` to `last`, in seed order. */
export async function reorderedAtSeeds(file: string, first: number, last: number): Promise<number[]> {
  const { scenarios, errors } = await loadScenarios([file]);
  expect(errors).toEqual([]);
  const scenario = scenarios[0];
  if (scenario === undefined) throw new Error(`${file} holds no scenario`);
  const reordered: number[] = [];
  for (let seed = first; seed <= last; seed++) {
    const result = await runScenario(scenario, { adapter: referenceAdapter, seed, defects: [] });
    expect(result.status, `seed ${seed}: ${result.reason ?? ''}`).toBe('passed');
    // Every send was acknowledged, so the count is over the whole workload.
    expect(result.counts.acknowledged).toBe(scenario.workload.messages);
    reordered.push(result.anomalies.reordered?.count ?? -1);
  }
  return reordered;
}
