// What the runner does with an adapter's limits: a setting the adapter says it cannot honour is
// a skip with the adapter's sentence, judged with the scenario's ack mode; and a backlog read
// that fails once, as a real broker's may while a node is down, is no progress rather than the
// end of the run; and a workload whose sends all fail slowly ends at its deadline, not never.

import { describe, expect, it } from 'vitest';
import type { Adapter, ClusterSettings, Session } from '../../adapters/contract.js';
import { loadScenarioText } from '../../harness/conformance/loader.js';
import { runScenario } from '../../harness/conformance/runner.js';
import { referenceAdapter } from '../../reference/adapter.js';
import type { Scenario } from '../../spec/scenario.js';

function scenario(ack: 'all' | 'leader', minInsync: number): Scenario {
  const loaded = loadScenarioText(
    `name: a quorum setting
description: Writes with ack ${ack} and minInsync ${minInsync}, read back at least once.
cluster:  { brokers: 3 }
topic:    { partitions: 1, replication: 3, minInsync: ${minInsync} }
producer: { ack: ${ack} }
consumer: { commit: after-process }
workload: { messages: 40, keys: 2 }
expect: { guarantee: at-least-once }
`,
    'quorum.yaml',
  );
  if (loaded.scenario === undefined) throw new Error(loaded.errors.map(String).join('\n'));
  return loaded.scenario;
}

/** The reference broker with a fixed quorum of two, as a Raft-replicated broker has. */
function fixedQuorum(onSession: (session: Session) => Session = (session) => session): Adapter & { asked: ClusterSettings[] } {
  const asked: ClusterSettings[] = [];
  return {
    asked,
    name: 'fixed-quorum',
    description: 'the reference broker, declaring a fixed quorum of two',
    capabilities: referenceAdapter.capabilities,
    retention: referenceAdapter.retention,
    defects: [],
    cannotHonour(settings) {
      asked.push(settings);
      return settings.ack === 'all' && settings.topic.minInsync !== 2
        ? `fixed-quorum acknowledges ack all at a quorum of 2, not minInsync ${settings.topic.minInsync}`
        : undefined;
    },
    open: async (options) => onSession(await referenceAdapter.open(options)),
  };
}

/** The session with its backlog replaced; every other member is the session's own. */
function withBacklog(session: Session, backlog: (group: string) => Promise<number>): Session {
  return new Proxy(session, {
    get(target, property) {
      if (property === 'backlog') return backlog;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('the runner and what an adapter cannot do', () => {
  it('skips with the adapter sentence a minInsync it cannot honour under ack all, and runs it under ack leader', async () => {
    const adapter = fixedQuorum();
    const skipped = await runScenario(scenario('all', 1), { adapter, defects: [] });
    expect(skipped.status).toBe('skipped');
    expect(skipped.reason).toBe('fixed-quorum acknowledges ack all at a quorum of 2, not minInsync 1');
    expect(skipped.counts.sent).toBe(0);

    const ran = await runScenario(scenario('leader', 1), { adapter, defects: [] });
    expect(ran.status).toBe('passed');
    expect(ran.counts.acknowledged).toBeGreaterThan(0);
    expect(adapter.asked.map((settings) => settings.ack)).toEqual(['all', 'leader']);

    const honoured = await runScenario(scenario('all', 2), { adapter, defects: [] });
    expect(honoured.status).toBe('passed');
  });

  it('takes a backlog read that failed for no progress, records it, and goes on', async () => {
    let failures = 0;
    const adapter = fixedQuorum((session) =>
      withBacklog(session, async (group) => {
        if (failures < 2) {
          failures++;
          throw new Error('the node answering the backlog was just killed');
        }
        return session.backlog(group);
      }),
    );
    const result = await runScenario(scenario('all', 2), { adapter, defects: [] });
    expect(failures).toBe(2);
    expect(result.status).toBe('passed');
    expect(result.counts.processed).toBe(40);
  });

  it('notes that the backlog could not be read when every read fails, and ends the catch-up', async () => {
    const adapter = fixedQuorum((session) =>
      withBacklog(session, async () => {
        throw new Error('no backlog here');
      }),
    );
    const result = await runScenario(scenario('all', 2), { adapter, defects: [] });
    expect(result.notes?.some((note) => note.includes('the backlog could not be read'))).toBe(true);
  });

  it('ends a workload whose every send fails slowly at its deadline, as an error that names the workload', async () => {
    // Each send fails after 50 ms, well within its own deadline, as a client stuck on a server cut
    // off from the rest fails: 40 of them take 2 s, the workload may take 300 ms.
    // A counter per run: a send the first run's producer had begun goes on counting there.
    const counted = { sends: 0 };
    const slowFailures = (count: { sends: number }) => (session: Session): Session =>
      new Proxy(session, {
        get(target, property) {
          if (property === 'producer') {
            return async (...args: Parameters<Session['producer']>) => {
              const producer = await target.producer(...args);
              return new Proxy(producer, {
                get(inner, name) {
                  if (name === 'send') {
                    return async () => {
                      count.sends++;
                      await new Promise((resolve) => setTimeout(resolve, 50));
                      throw new Error('jetstream is not enabled');
                    };
                  }
                  const value: unknown = Reflect.get(inner, name, inner);
                  return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(inner) : value;
                },
              });
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    const startedMs = Date.now();
    const result = await runScenario(scenario('all', 2), { adapter: fixedQuorum(slowFailures(counted)), defects: [], workloadTimeoutMs: 300 });
    expect(result.status).toBe('error');
    expect(result.reason).toMatch(/the workload/);
    // The producer stopped at its next message instead of going through all 40.
    expect(counted.sends).toBeLessThan(20);
    expect(Date.now() - startedMs).toBeLessThan(30_000);

    // The negative control: with room for its 40 slow failures the same workload ends by itself.
    const control = { sends: 0 };
    const finished = await runScenario(scenario('all', 2), { adapter: fixedQuorum(slowFailures(control)), defects: [], workloadTimeoutMs: 30_000 });
    expect(finished.status).not.toBe('error');
    expect(control.sends).toBe(40);
  });
});
