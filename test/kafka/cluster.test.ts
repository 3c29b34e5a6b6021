// The local Kafka cluster against real Kafka JVMs: fetch the jars, start three KRaft nodes, kill
// one and see the others serve on, restart it, pause one, heal, stop everything, and prove that no
// process of ours is left. Without Java 17 the cluster tests are skipped with a printed reason,
// except under CI=true, where a cluster that cannot start must fail the build instead.
//
// Ports 29092..29103 (4 a node) and .cache/kafka-cluster-test keep clear of a cluster a developer
// started with `kafka-cluster start` (19092.., .cache/kafka-cluster); the one-node owner test uses
// 29112..29115. DELIVERYCHECK_KAFKA_TEST_PORT moves them.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { environmentClusterOptions, renderServerProperties, startCluster, type ClusterHandle } from '../../adapters/kafka/cluster/cluster.js';
import {
  ensureKafka,
  mavenFailure,
  parseJavaMajor,
  renderPom,
} from '../../adapters/kafka/cluster/fetch.js';
import {
  chooseMetadataVersion,
  decodeMetadataResponse,
  describeCluster,
  encodeMetadataRequestBody,
  encodeRequest,
} from '../../adapters/kafka/cluster/protocol.js';
import { packageRoot } from '../../core/package-root.js';
import { kafkaSkip } from './prerequisites.js';

const HOST = '127.0.0.1';
const BASE_PORT = Number(process.env.DELIVERYCHECK_KAFKA_TEST_PORT ?? 29092);
const DATA_DIR = join(packageRoot(), '.cache', 'kafka-cluster-test');
const OWNER_DATA_DIR = join(packageRoot(), '.cache', 'kafka-cluster-owner-test');
const CLUSTER_TIMEOUT_MS = 10 * 60_000;

const { skip: skipCluster, title: clusterTitle } = kafkaSkip('the local Kafka cluster tests');

/** Every process whose command line names the folder: the JVMs, and the watchdog shells of owned nodes. */
function processesUsing(dir: string): { pid: number; commandLine: string }[] {
  const found: { pid: number; commandLine: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (commandLine.includes(dir)) found.push({ pid: Number(entry), commandLine });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

function residentMb(pid: number | null): number {
  if (pid === null) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match === null ? 0 : Math.round(Number(match[1]) / 1024);
}

/** Polls a condition on real broker answers until it holds or the time is up. */
async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function liveBrokers(port: number): Promise<number[]> {
  const view = await describeCluster(HOST, port, 5_000);
  return view.brokers.map((broker) => broker.nodeId);
}

describe('Kafka wire check and generated files (no Java needed)', () => {
  it('frames a Metadata request and decodes the broker list of a response', () => {
    const request = encodeRequest(3, 8, 7, encodeMetadataRequestBody(8));
    expect(request.readInt32BE(0)).toBe(request.length - 4);
    expect(request.readInt16BE(4)).toBe(3);
    expect(request.readInt16BE(6)).toBe(8);
    expect(request.readInt32BE(8)).toBe(7);

    const host = Buffer.from('127.0.0.1');
    const clusterId = Buffer.from('abc');
    const body = Buffer.alloc(4 + 4 + (4 + 2 + host.length + 4 + 2) + 2 + clusterId.length + 4 + 4);
    let at = body.writeInt32BE(0, 0); // throttle
    at = body.writeInt32BE(1, at); // one broker
    at = body.writeInt32BE(2, at);
    at = body.writeInt16BE(host.length, at);
    at += host.copy(body, at);
    at = body.writeInt32BE(19094, at);
    at = body.writeInt16BE(-1, at); // no rack
    at = body.writeInt16BE(clusterId.length, at);
    at += clusterId.copy(body, at);
    at = body.writeInt32BE(2, at); // controller
    body.writeInt32BE(0, at); // no topics
    expect(decodeMetadataResponse(body, 8)).toEqual({
      clusterId: 'abc',
      controllerId: 2,
      brokers: [{ nodeId: 2, host: '127.0.0.1', port: 19094 }],
      metadataVersion: 8,
    });
    expect(() => decodeMetadataResponse(body.subarray(0, 20), 8)).toThrow(/ended early/);
  });

  it('chooses the newest Metadata version both sides speak, and says when there is none', () => {
    expect(chooseMetadataVersion(new Map([[3, { min: 0, max: 13 }]]))).toBe(8);
    expect(chooseMetadataVersion(new Map([[3, { min: 0, max: 6 }]]))).toBe(6);
    expect(() => chooseMetadataVersion(new Map([[3, { min: 9, max: 13 }]]))).toThrow(/accepts Metadata v9..v13/);
  });

  it('writes a KRaft node configuration with the guarantees the suite relies on', () => {
    const voters = [1, 2, 3].map((id) => ({
      id,
      clientPort: 19090 + 2 * id,
      controllerPort: 19091 + 2 * id,
      externalPort: 19096 + 2 * id,
      proxyPort: 19097 + 2 * id,
      dir: `/d/node-${id}`,
    }));
    const text = renderServerProperties(voters[1]!, voters, HOST, { 'log.retention.ms': 1000 });
    for (const line of [
      'process.roles=broker,controller',
      'node.id=2',
      'controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097',
      'listeners=PLAINTEXT://127.0.0.1:19094,EXTERNAL://127.0.0.1:19100,CONTROLLER://127.0.0.1:19095',
      'advertised.listeners=PLAINTEXT://127.0.0.1:19094,EXTERNAL://127.0.0.1:19101',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=3',
      'transaction.state.log.replication.factor=3',
      'transaction.state.log.min.isr=2',
      'group.initial.rebalance.delay.ms=0',
      'log.retention.ms=1000',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(renderPom('4.4.0')).toContain('<artifactId>kafka-tools</artifactId><version>4.4.0</version>');
  });

  it('takes the cluster folder and first port from the environment, and ignores a port that is no number', () => {
    expect(environmentClusterOptions({ DELIVERYCHECK_KAFKA_DIR: '/tmp/k', DELIVERYCHECK_KAFKA_PORT: '39092' })).toEqual({
      dataDir: '/tmp/k',
      basePort: 39092,
    });
    expect(environmentClusterOptions({ DELIVERYCHECK_KAFKA_DIR: '', DELIVERYCHECK_KAFKA_PORT: '39092x' })).toEqual({});
    expect(environmentClusterOptions({})).toEqual({});
  });

  it('quotes the Maven error that names the missing artifact, without colour codes or boilerplate', () => {
    const output = [
      '\u001b[0m\u001b[0m[ERROR] Failed to execute goal on project x: Could not resolve dependencies: kafka_2.13:jar:9.9.9 was not found',
      '[ERROR] ',
      '[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.',
      '[ERROR] [Help 1] http://cwiki.apache.org/confluence/display/MAVEN/DependencyResolutionException',
    ].join('\n');
    expect(mavenFailure(output)).toBe(
      '[ERROR] Failed to execute goal on project x: Could not resolve dependencies: kafka_2.13:jar:9.9.9 was not found',
    );
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajor('java version "1.8.0_392"')).toBe(8);
  });
});

describe('local Kafka cluster (real JVMs)', () => {
  let cluster: ClusterHandle | undefined;

  afterAll(async () => {
    // A failed test must not leave three JVMs running.
    await cluster?.stopAll().catch(() => undefined);
  }, 120_000);

  it.skipIf(skipCluster)(
    clusterTitle('starts three KRaft nodes, serves through a killed node, restarts, pauses and heals, and stops clean'),
    async () => {
      const fetchStarted = Date.now();
      const install = await ensureKafka({ log: (line) => console.log(`[kafka] ${line}`) });
      console.log(`[kafka] jars ${install.fetched ? 'fetched' : 'already cached'} in ${Date.now() - fetchStarted} ms`);

      const startStarted = Date.now();
      cluster = await startCluster({ dataDir: DATA_DIR, basePort: BASE_PORT, reuse: false, log: (line) => console.log(`[kafka] ${line}`) });
      const startMs = Date.now() - startStarted;
      const rss = cluster.nodes.map((node) => `node ${node.id} ${residentMb(node.pid)} MB`);
      console.log(`[kafka] cluster ready in ${startMs} ms; resident memory ${rss.join(', ')}`);

      expect(cluster.owned).toBe(true);
      expect(cluster.bootstrap).toBe(`${HOST}:${BASE_PORT},${HOST}:${BASE_PORT + 2},${HOST}:${BASE_PORT + 4}`);
      expect(cluster.nodes.map((node) => node.state)).toEqual(['running', 'running', 'running']);
      expect(cluster.nodes.map((node) => [node.clientPort, node.controllerPort, node.externalPort, node.proxyPort])).toEqual([
        [BASE_PORT, BASE_PORT + 1, BASE_PORT + 6, BASE_PORT + 7],
        [BASE_PORT + 2, BASE_PORT + 3, BASE_PORT + 8, BASE_PORT + 9],
        [BASE_PORT + 4, BASE_PORT + 5, BASE_PORT + 10, BASE_PORT + 11],
      ]);
      for (const node of cluster.nodes) {
        const view = await describeCluster(HOST, node.clientPort, 5_000);
        expect(view.clusterId).toBe(cluster.clusterId);
        expect(view.brokers.map((broker) => broker.nodeId)).toEqual([1, 2, 3]);
        expect(view.brokers.map((broker) => broker.port)).toEqual(cluster.nodes.map((each) => each.clientPort));
        // The EXTERNAL listener serves the same cluster but names the proxy ports as every
        // broker's address, which is what routes a proxied client's traffic through the proxy.
        const external = await describeCluster(HOST, node.externalPort, 5_000);
        expect(external.clusterId).toBe(cluster.clusterId);
        expect(external.brokers.map((broker) => broker.port)).toEqual(cluster.nodes.map((each) => each.proxyPort));
      }
      const state = JSON.parse(readFileSync(join(DATA_DIR, 'state.json'), 'utf8')) as { nodes: { pid: number }[] };
      expect(state.nodes.map((node) => node.pid)).toEqual(cluster.nodes.map((node) => node.pid));

      // A killed node is gone at once; the survivors keep serving and, within the 4 s broker
      // session plus a heartbeat, stop listing it as a live broker.
      const killedPid = cluster.node(2).pid ?? 0;
      await cluster.kill(2);
      expect(cluster.node(2)).toMatchObject({ state: 'stopped', pid: null });
      expect(processesUsing(DATA_DIR).some((found) => found.pid === killedPid)).toBe(false);
      const fencedStarted = Date.now();
      await eventually('fencing of the killed node', 30_000, async () => {
        const seen = await Promise.all([liveBrokers(BASE_PORT), liveBrokers(BASE_PORT + 4)]);
        return seen.every((ids) => ids.join() === '1,3');
      });
      console.log(`[kafka] survivors dropped the killed node after ${Date.now() - fencedStarted} ms`);

      const restartStarted = Date.now();
      await cluster.start(2);
      console.log(`[kafka] node 2 restarted and serving in ${Date.now() - restartStarted} ms`);
      expect(cluster.node(2).state).toBe('running');
      expect(cluster.node(2).pid).not.toBe(killedPid);
      for (const node of cluster.nodes) expect(await liveBrokers(node.clientPort)).toEqual([1, 2, 3]);

      // A paused node holds its port open but answers nothing; resumed, it serves again.
      await cluster.pause(3);
      expect(cluster.node(3).state).toBe('paused');
      await expect(describeCluster(HOST, BASE_PORT + 4, 1_000)).rejects.toThrow(/no answer within 1000 ms/);
      expect(await liveBrokers(BASE_PORT)).toContain(1);
      await cluster.resume(3);
      expect(cluster.node(3).state).toBe('running');
      await cluster.waitReady(60_000);

      // heal() undoes every node fault at once, as the adapter's healAll must.
      await cluster.kill(1);
      await cluster.pause(3);
      expect(await cluster.heal()).toEqual(['started node 1', 'resumed node 3']);
      for (const node of cluster.nodes) expect(await liveBrokers(node.clientPort)).toEqual([1, 2, 3]);

      const stopStarted = Date.now();
      await cluster.stopAll();
      console.log(`[kafka] all nodes stopped in ${Date.now() - stopStarted} ms`);
      expect(cluster.nodes.map((node) => node.state)).toEqual(['stopped', 'stopped', 'stopped']);
      expect(existsSync(join(DATA_DIR, 'state.json'))).toBe(false);
      expect(processesUsing(DATA_DIR)).toEqual([]);
    },
    CLUSTER_TIMEOUT_MS,
  );

  // The owner's exit handlers cannot run when it is SIGKILLed; the watchdog shell must end the
  // JVMs then. The owner is a separate Node process running the compiled module.
  const compiledCluster = join(packageRoot(), 'dist', 'adapters', 'kafka', 'cluster', 'cluster.js');
  it.skipIf(skipCluster || !existsSync(compiledCluster))(
    clusterTitle('leaves no JVM behind when the owning process is killed with SIGKILL'),
    async () => {
      const script = `
        const { startCluster } = await import(${JSON.stringify(compiledCluster)});
        const cluster = await startCluster({ dataDir: ${JSON.stringify(OWNER_DATA_DIR)}, basePort: ${BASE_PORT + 20}, nodeCount: 1, reuse: false });
        console.log(JSON.stringify(cluster.nodes.map((node) => node.pid)));
        setInterval(() => {}, 1000);
      `;
      const owner = execa('node', ['--input-type=module', '-e', script], { reject: false, timeout: 180_000 });
      const pids = await new Promise<number[]>((resolve, reject) => {
        owner.stdout.on('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString('utf8')) as number[]));
        void owner.then((result) => reject(new Error(`the owner ended before the cluster was ready:\n${result.stderr}`)));
      });
      expect(processesUsing(OWNER_DATA_DIR).map((found) => found.pid)).toEqual(expect.arrayContaining(pids));
      owner.kill('SIGKILL');
      await owner;
      await eventually('the watchdog ending the orphaned JVM', 30_000, async () => processesUsing(OWNER_DATA_DIR).length === 0);
    },
    CLUSTER_TIMEOUT_MS,
  );
});
