// Real network partitions between network namespaces (adapters/local-cluster/netns.ts): agents
// (agent.ts) run inside the namespaces under the nodes' own watchdog, and the tests show from the
// root namespace what passes between them before a cut, during it and after heal, for new and for
// established TCP connections; that cut and heal are idempotent and quick; and that nothing of a
// network is left behind by teardown, by a killed run (the next setup removes it) or by a
// SIGKILLed owner (its guard removes it). Without root, or where `ip netns` does not work, the
// tests are skipped with the reason; under CI=true as root they must run.

import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { describe, expect, it, onTestFinished } from 'vitest';
import { netnsUnavailable } from '../../adapters/local-cluster/netns-availability.js';
import { removeNetns, setupNetns, type NetnsNetwork } from '../../adapters/local-cluster/netns.js';
import { processCondition, signal, waitForCondition } from '../../adapters/local-cluster/processes.js';
import { spawnDetached, spawnWatched } from '../../adapters/local-cluster/watchdog.js';
import { AGENT_SCRIPT, AgentClient, CLOSED_PORT, eventually, SINK_PORT } from './agent.js';
import { netnsSkip, testPrefix } from './prerequisites.js';

const { skip, title } = await netnsSkip('the network namespace tests');

const AGENT_READY_MS = 10_000;
const TEST_TIMEOUT_MS = 60_000;
/** A connect across a cut must still be waiting after this long; a refused or unroutable one fails in milliseconds. */
const CONNECT_TIMEOUT_MS = 1_500;
/**
 * How long a test watches for lines that must not arrive. TCP retransmits a lost segment after
 * 200 ms at first and doubles the wait after each loss, so within this window the kernel has
 * tried three or four times to deliver what was written across the cut.
 */
const SILENCE_WINDOW_MS = 1_500;

interface RunningAgent {
  readonly pid: number;
  readonly marker: string;
  readonly client: AgentClient;
  readonly watchdog: ResultPromise | undefined;
}

/**
 * A network for one test, and agents in its namespaces; everything is removed when the test
 * ends, passed or failed: the agents are killed first, so the namespaces really go.
 */
async function testNetwork(name: string, nodeCount: number): Promise<{ network: NetnsNetwork; startAgent: (index: number, detached?: boolean) => Promise<RunningAgent> }> {
  const prefix = testPrefix(name);
  const logDir = await mkdtemp(join(tmpdir(), 'deliverycheck-netns-'));
  const agents: RunningAgent[] = [];
  onTestFinished(async () => {
    for (const agent of agents) {
      agent.client.close();
      if (processCondition(agent.pid, [agent.marker]) !== 'gone') signal(agent.pid, 'SIGKILL');
      await waitForCondition(agent.pid, [agent.marker], (condition) => condition === 'gone', 10_000);
    }
    await removeNetns(prefix);
    await rm(logDir, { recursive: true, force: true });
  });
  const network = await setupNetns({ prefix, nodeCount });
  const startAgent = async (index: number, detached = false): Promise<RunningAgent> => {
    const marker = `netns-agent-${prefix}-${index}`;
    const launch = {
      ...network.commandIn(index, process.execPath, ['--input-type=module', '-e', AGENT_SCRIPT, marker, String(TEST_TIMEOUT_MS)]),
      logFile: join(logDir, `agent-${index}.log`),
      label: 'netns-agent',
      what: `agent ${index}`,
    };
    const spawned = detached ? { pid: await spawnDetached(launch), watchdog: undefined } : await spawnWatched(launch);
    const client = await AgentClient.connect(network.node(index).address, AGENT_READY_MS);
    const agent = { pid: spawned.pid, marker, client, watchdog: spawned.watchdog };
    agents.push(agent);
    return agent;
  };
  return { network, startAgent };
}

describe.skipIf(skip)('network namespaces for local clusters', () => {
  it(title('finds that this machine can make real partitions'), async () => {
    expect(await netnsUnavailable()).toBeUndefined();
  });

  it(
    title('runs a program in a namespace under the watchdog with its own pid and command line'),
    async () => {
      const { network, startAgent } = await testNetwork('watchdog', 2);
      const watched = await startAgent(0);
      const detached = await startAgent(1, true);
      for (const [agent, index] of [[watched, 0], [detached, 1]] as const) {
        // The pid the shell reported is the agent itself, inside the node's namespace, not `ip`.
        expect(processCondition(agent.pid, [agent.marker])).toBe('running');
        expect(statSync(`/proc/${agent.pid}/ns/net`).ino).toBe(statSync(`/run/netns/${network.node(index).namespace}`).ino);
      }
      // The watchdog still kills the program when its owner's pipe closes.
      watched.watchdog?.stdin?.end();
      expect(await waitForCondition(watched.pid, [watched.marker], (condition) => condition === 'gone', 10_000)).toBe(true);
      signal(detached.pid, 'SIGKILL');
      expect(await waitForCondition(detached.pid, [detached.marker], (condition) => condition === 'gone', 10_000)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    title('cuts both ways between groups, silently, keeps clients and the other links, and heals'),
    async () => {
      const { network, startAgent } = await testNetwork('cut', 3);
      const agents = await Promise.all([0, 1, 2].map((index) => startAgent(index)));
      const [zero, one, two] = agents.map((agent) => agent.client) as [AgentClient, AgentClient, AgentClient];
      const address = (index: number): string => network.node(index).address;
      const probe = (from: AgentClient, to: number, port = SINK_PORT) => from.probe(address(to), port, CONNECT_TIMEOUT_MS);

      // Before the cut every node reaches every other; a closed port is refused at once.
      for (const [from, to] of [[zero, 1], [one, 0], [one, 2], [two, 1], [zero, 2]] as const) {
        expect((await probe(from, to)).outcome).toBe('connected');
      }
      expect(await probe(zero, 1, CLOSED_PORT)).toMatchObject({ outcome: 'error', code: 'ECONNREFUSED' });
      // Lasting connections both ways between 0 and 1, and from 2 to 1.
      expect((await zero.open('to-1', address(1), CONNECT_TIMEOUT_MS)).outcome).toBe('connected');
      expect((await one.open('to-0', address(0), CONNECT_TIMEOUT_MS)).outcome).toBe('connected');
      expect((await two.open('to-1', address(1), CONNECT_TIMEOUT_MS)).outcome).toBe('connected');
      await zero.send('to-1', 'zero before');
      await one.send('to-0', 'one before');
      await eventually('the lines written before the cut arriving', 10_000, async () => (await one.received()).includes('zero before') && (await zero.received()).includes('one before'));

      await network.cut([[0], [1, 2]]);
      const cutAt = performance.now();
      expect(network.cutGroups).toEqual([[0], [1, 2]]);
      await zero.send('to-1', 'zero during');
      await one.send('to-0', 'one during');
      await two.send('to-1', 'two during');
      // New connections across the cut time out, both ways, even to a closed port: the RST is dropped too.
      const across = await Promise.all([probe(zero, 1), probe(one, 0), probe(zero, 2), probe(two, 0), probe(zero, 1, CLOSED_PORT)]);
      for (const reply of across) expect(reply.outcome).toBe('timeout');
      // Within a side, and from the root namespace to every node, everything still passes.
      expect((await probe(one, 2)).outcome).toBe('connected');
      expect((await probe(two, 1)).outcome).toBe('connected');
      await eventually('the line from 2 to 1 arriving during the cut', 10_000, async () => (await one.received()).includes('two during'));
      // The root's new connections still reach every node (connect throws when one does not).
      for (const index of [0, 1, 2]) (await AgentClient.connect(address(index), 2_000)).close();
      // The established connections across the cut deliver nothing, though the kernel retransmits meanwhile.
      await new Promise((resolve) => setTimeout(resolve, SILENCE_WINDOW_MS));
      expect(await one.received()).not.toContain('zero during');
      expect(await zero.received()).not.toContain('one during');

      const cutMs = performance.now() - cutAt;
      await network.heal();
      const healedAt = performance.now();
      expect(network.cutGroups).toBeUndefined();
      // The lasting connections resume: TCP's next retransmission gets through.
      await eventually('the lines written during the cut arriving after heal', 20_000, async () => (await one.received()).includes('zero during') && (await zero.received()).includes('one during'));
      console.info(
        `[test/netns] after a cut of ${(cutMs / 1000).toFixed(1)} s the established connections delivered again ` +
          `${((performance.now() - healedAt) / 1000).toFixed(1)} s after heal (TCP's retransmission backoff)`,
      );
      expect((await probe(zero, 1)).outcome).toBe('connected');
      expect((await probe(one, 0)).outcome).toBe('connected');
      expect(await probe(zero, 1, CLOSED_PORT)).toMatchObject({ outcome: 'error', code: 'ECONNREFUSED' });
    },
    TEST_TIMEOUT_MS,
  );
});
