// A scenario that ends in error says why in words a user can act on: which client, doing what,
// and what the broker's client library waited for, not a bare broker code.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenarios, loadScenarioText } from '../../harness/conformance/loader.js';
import { runScenario } from '../../harness/conformance/runner.js';
import { referenceAdapter } from '../../reference/adapter.js';
import type { HistoryEvent } from '../../spec/history.js';

const fixtures = fileURLToPath(new URL('../fixtures/scenarios/ends-in-error', import.meta.url));

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'error-reasons-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(name: string) {
  const { scenarios, errors } = await loadScenarios([join(fixtures, name)]);
  expect(errors.map(String)).toEqual([]);
  return scenarios[0] as NonNullable<(typeof scenarios)[0]>;
}

describe('reasons of runs that end in error', { timeout: 30_000 }, () => {
  it('names the actor, the operation and the request that gave up after how long', async () => {
    const scenario = await load('pipeline-with-every-broker-paused.yaml');
    const result = await runScenario(scenario, { adapter: referenceAdapter, defects: [] });
    expect(result.status).toBe('error');
    expect(result.reason).toBe(
      'pipeline consumer 0: opening transactional producer pipeline-0: InitProducerId gave up after 5000 ms finding no coordinator: NOT_COORDINATOR',
    );
  });

  it('notes in the result a restart-broker that found nothing to restart', async () => {
    const scenario = await load('restart-with-nothing-crashed.yaml');
    const result = await runScenario(scenario, { adapter: referenceAdapter, defects: [] });
    expect(result.status).toBe('passed');
    expect(result.notes).toEqual(['fault restart-broker at sent 20 did nothing: no crashed broker: nothing to restart-broker']);
  });

  it('keeps in the history what a failed send waited for and on which broker', async () => {
    const loaded = loadScenarioText(
      `name: sends to a paused leader
description: The leader is paused, so sends without retries time out at the client.
cluster:  { brokers: 3 }
topic:    { partitions: 1, replication: 3 }
producer: { ack: leader }
consumer: { commit: after-process }
workload: { messages: 60, keys: 3 }
faults:
  - { at: { sent: 30 }, do: pause-broker, target: leader }
expect: { guarantee: at-most-once }
`,
      'paused-leader.yaml',
    );
    if (loaded.scenario === undefined) throw new Error(loaded.errors.map(String).join('\n'));
    const result = await runScenario(loaded.scenario, { adapter: referenceAdapter, defects: [], historyDir: dir });
    const events = (await readFile(result.history ?? '', 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as HistoryEvent);
    const errors = events.flatMap((event) => (event.type === 'error' ? [event.error] : []));
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatch(/^Produce to broker \d got no answer within 400 ms: REQUEST_TIMED_OUT$/u);
  });
});
