// The life of a cluster's network namespaces (adapters/local-cluster/netns.ts) apart from what
// passes through them (netns.test.ts): cut and heal are idempotent and take milliseconds;
// teardown leaves no namespace or interface; the next setup removes what a killed run left, and
// nothing that merely looks like it; two setups at the same moment never share a subnet; and a
// SIGKILLed owner's guard removes its network by itself.
// Skipped with the reason without root or a working `ip netns`; under CI=true as root they run.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it, onTestFinished } from 'vitest';
import { attachNetns, removeNetns, setupNetns, type NetnsRecord } from '../../adapters/local-cluster/netns.js';
import { chooseSubnet, machineRoutes, subnetText } from '../../adapters/local-cluster/netns-subnet.js';
import { packageRoot } from '../../core/package-root.js';
import { eventually } from './agent.js';
import { guardsOf, namesStartingWith, netnsSkip, testPrefix } from './prerequisites.js';

const { skip, title } = await netnsSkip('the network namespace lifecycle tests');

const TEST_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 10_000;
const TIMING_ROUNDS = 20;
/** Far above the few milliseconds a cut takes, so only a cut that is broken (a process per filter, a hang) fails. */
const MAX_MEDIAN_MS = 250;

/** The cut filters on a bridge port, as tc lists them: one "match" line each. */
async function filterCount(port: string): Promise<number> {
  const { stdout } = await execa('tc', ['filter', 'show', 'dev', port, 'parent', '1:'], { timeout: COMMAND_TIMEOUT_MS });
  return stdout.split('\n').filter((line) => line.trim().startsWith('match')).length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Removes the prefix's network when the test ends, passed or failed. */
function cleanUpAfter(prefix: string): void {
  onTestFinished(async () => {
    await removeNetns(prefix);
  });
}

describe.skipIf(skip)('the life of a cluster network', () => {
  it(
    title('cuts and heals idempotently, in milliseconds'),
    async () => {
      const prefix = testPrefix('lifecycle idempotent');
      cleanUpAfter(prefix);
      const network = await setupNetns({ prefix, nodeCount: 3 });
      const counts = async () => Promise.all(network.nodes.map((node) => filterCount(node.hostVeth)));
      // Node 0 drops what 1 and 2 send it; 1 and 2 each drop what 0 sends.
      await network.cut([[0], [1, 2]]);
      expect(await counts()).toEqual([2, 1, 1]);
      await network.cut([[0], [1, 2]]);
      expect(await counts()).toEqual([2, 1, 1]);
      // A new cut replaces the old one; node 1, in no group, keeps every link.
      await network.cut([[0], [2]]);
      expect(await counts()).toEqual([1, 0, 1]);
      await network.heal();
      await network.heal();
      expect(await counts()).toEqual([0, 0, 0]);
      await expect(network.cut([[0], [3]])).rejects.toThrow(/node index 3 is not one of 0..2/);

      const cutMs: number[] = [];
      const healMs: number[] = [];
      for (let round = 0; round < TIMING_ROUNDS; round++) {
        let started = performance.now();
        await network.cut([[0], [1, 2]]);
        cutMs.push(performance.now() - started);
        started = performance.now();
        await network.heal();
        healMs.push(performance.now() - started);
      }
      console.info(
        `[test/netns] 3 nodes, ${TIMING_ROUNDS} rounds: cut median ${median(cutMs).toFixed(1)} ms (max ${Math.max(...cutMs).toFixed(1)}), ` +
          `heal median ${median(healMs).toFixed(1)} ms (max ${Math.max(...healMs).toFixed(1)})`,
      );
      expect(median(cutMs)).toBeLessThan(MAX_MEDIAN_MS);
      expect(median(healMs)).toBeLessThan(MAX_MEDIAN_MS);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    title('leaves no namespace, veth or bridge after teardown'),
    async () => {
      const prefix = testPrefix('lifecycle teardown');
      cleanUpAfter(prefix);
      const network = await setupNetns({ prefix, nodeCount: 3 });
      expect(await namesStartingWith(prefix)).toEqual(
        [network.bridge, ...network.nodes.flatMap((node) => [node.namespace, node.hostVeth])].sort(),
      );
      await network.cut([[0], [1, 2]]);
      await network.teardown();
      expect(await namesStartingWith(prefix)).toEqual([]);
      await expect(network.heal()).rejects.toThrow(/was removed/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    title('removes the leftovers of a killed run at the next setup, and nothing that is not ours'),
    async () => {
      const prefix = testPrefix('lifecycle leftovers');
      cleanUpAfter(prefix);
      // Names that start like ours but are not of the network's pattern must survive.
      const foreign = { namespace: `${prefix}-keep`, bridge: `${prefix}x-br` };
      onTestFinished(async () => {
        await execa('ip', ['netns', 'del', foreign.namespace], { reject: false, timeout: COMMAND_TIMEOUT_MS });
        await execa('ip', ['link', 'del', foreign.bridge], { reject: false, timeout: COMMAND_TIMEOUT_MS });
      });
      await execa('ip', ['netns', 'add', foreign.namespace], { timeout: COMMAND_TIMEOUT_MS });
      await execa('ip', ['link', 'add', foreign.bridge, 'type', 'bridge'], { timeout: COMMAND_TIMEOUT_MS });
      // A run with more nodes whose owner died: nothing removed its network, and it was cut.
      const killed = await setupNetns({ prefix, nodeCount: 5, removeOnExit: false });
      await killed.cut([[0, 1], [2, 3, 4]]);

      const network = await setupNetns({ prefix, nodeCount: 3 });
      expect(await namesStartingWith(prefix)).toEqual(
        [network.bridge, ...network.nodes.flatMap((node) => [node.namespace, node.hostVeth]), foreign.namespace, foreign.bridge].sort(),
      );
      expect(await Promise.all(network.nodes.map((node) => filterCount(node.hostVeth)))).toEqual([0, 0, 0]);
      await network.teardown();
      expect(await namesStartingWith(prefix)).toEqual([foreign.namespace, foreign.bridge].sort());
    },
    TEST_TIMEOUT_MS,
  );

  it(
    title('never gives one subnet to two networks set up at the same moment'),
    async () => {
      const prefixes = [testPrefix('lifecycle race a'), testPrefix('lifecycle race b')];
      for (const prefix of prefixes) cleanUpAfter(prefix);
      const free = subnetText(chooseSubnet(prefixes[0] ?? '', undefined, await machineRoutes()));
      const outcomes = await Promise.allSettled(prefixes.map((prefix) => setupNetns({ prefix, nodeCount: 2, subnet: free })));
      const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
      expect(won).toHaveLength(1);
      expect(lost).toEqual([expect.stringContaining(`overlaps the machine's route ${free} dev ${won[0]?.bridge ?? ''}`)]);
    },
    TEST_TIMEOUT_MS,
  );

  // The owner's exit handlers cannot run when it is SIGKILLed; its guard must remove the network,
  // unless the network was to outlive it. The owner is a separate Node process running the
  // compiled module, which `npm test` builds first; under CI a missing build fails instead.
  const compiled = join(packageRoot(), 'dist', 'adapters', 'local-cluster', 'netns.js');
  const withoutBuild = !existsSync(compiled) && process.env.CI !== 'true';

  /** Starts an owner that sets up a cut network and then idles; resolves with the network's record. */
  async function startOwner(prefix: string, outlive: boolean): Promise<{ owner: ResultPromise; record: NetnsRecord }> {
    expect(existsSync(compiled), `${compiled} is missing; run "npm run build"`).toBe(true);
    const script = `
      const { setupNetns } = await import(${JSON.stringify(compiled)});
      const network = await setupNetns({ prefix: ${JSON.stringify(prefix)}, nodeCount: 3 });
      await network.cut([[0], [1, 2]]);
      ${outlive ? 'network.outliveProcess();' : ''}
      console.log(JSON.stringify(network.record));
      setInterval(() => {}, 1000);
    `;
    const owner = execa('node', ['--input-type=module', '-e', script], { reject: false, timeout: TEST_TIMEOUT_MS });
    const record = await new Promise<NetnsRecord>((resolve, reject) => {
      owner.stdout.on('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString('utf8')) as NetnsRecord));
      void owner.then((result) => reject(new Error(`the owner ended before its network was up: ${result.stderr}`)));
    });
    expect(await namesStartingWith(prefix)).toHaveLength(7);
    return { owner, record };
  }

  it.skipIf(withoutBuild)(
    title('removes the network of an owner killed with SIGKILL'),
    async () => {
      const prefix = testPrefix('lifecycle guard');
      cleanUpAfter(prefix);
      const { owner } = await startOwner(prefix, false);
      owner.kill('SIGKILL');
      await owner;
      await eventually('the guard removing the network of the killed owner', 10_000, async () => (await namesStartingWith(prefix)).length === 0);
    },
    TEST_TIMEOUT_MS,
  );

  it.skipIf(withoutBuild)(
    title("keeps a network meant to outlive its owner, which another process attaches to, heals and removes"),
    async () => {
      const prefix = testPrefix('lifecycle outlive');
      cleanUpAfter(prefix);
      const { owner, record } = await startOwner(prefix, true);
      owner.kill('SIGKILL');
      await owner;
      await eventually('the released guard ending', 10_000, () => guardsOf(prefix).length === 0);
      expect(await namesStartingWith(prefix)).toHaveLength(7);
      const network = await attachNetns(record);
      // The dead owner's cut is still in place until someone heals it.
      expect(await Promise.all(network.nodes.map((node) => filterCount(node.hostVeth)))).toEqual([2, 1, 1]);
      await network.heal();
      expect(await Promise.all(network.nodes.map((node) => filterCount(node.hostVeth)))).toEqual([0, 0, 0]);
      await network.teardown();
      expect(await namesStartingWith(prefix)).toEqual([]);
      await expect(attachNetns(record)).rejects.toThrow(new RegExp(`the network ${prefix} \\(${record.subnet}\\) lacks ${prefix}-n0`));
    },
    TEST_TIMEOUT_MS,
  );
});
