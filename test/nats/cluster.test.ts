// The local NATS JetStream cluster against real nats-server processes: start three nodes, create
// an R3 stream, publish with a PubAck, find the stream leader, kill it and see a new leader and
// publishes succeed again, restart the killed node, pause and resume one, heal, cut the stream
// leader off from the others (as root, in network namespaces) and heal, reuse a detached
// cluster from a second start, and prove that no process of ours is left, not even after the
// owner is SIGKILLed. Without nats-server the cluster tests are skipped with a printed reason,
// except under CI=true, where a cluster that cannot start must fail the build instead.
//
// Ports 24222.. (3 a node) and .cache/nats-cluster-*-test keep clear of a cluster a developer
// started with `npm run nats:start` (14222.., .cache/nats-cluster) and of the system's own
// nats-server on 4222, which these tests check they leave alone. DELIVERYCHECK_NATS_TEST_PORT
// moves the ports.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type PubAck } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  environmentNatsClusterOptions,
  natsClusterStatus,
  NatsServerMissingError,
  renderServerConfig,
  startNatsCluster,
  stopNatsClusterInDir,
  type NatsClusterHandle,
} from '../../adapters/nats/cluster/cluster.js';
import { monitor } from '../../adapters/nats/cluster/monitor.js';
import { netnsPrefix } from '../../adapters/local-cluster/netns.js';
import { packageRoot } from '../../core/package-root.js';
import { natsSkip, processesUsing, processesWhere } from './prerequisites.js';

const HOST = '127.0.0.1';
const BASE_PORT = Number(process.env.DELIVERYCHECK_NATS_TEST_PORT ?? 24222);
const DATA_DIR = join(packageRoot(), '.cache', 'nats-cluster-test');
const REUSE_DATA_DIR = join(packageRoot(), '.cache', 'nats-cluster-reuse-test');
const OWNER_DATA_DIR = join(packageRoot(), '.cache', 'nats-cluster-owner-test');
const TEST_TIMEOUT_MS = 180_000;
const STREAM = 'ORDERS';

const { skip: skipCluster, title: clusterTitle } = natsSkip('the local NATS cluster tests');

/** The nats-server processes that are not ours, such as the system's on 4222: left as they were. */
function foreignServers(): number[] {
  return processesWhere((commandLine) => commandLine.includes('nats-server') && !commandLine.includes(join(packageRoot(), '.cache')))
    .map((found) => found.pid)
    .sort((a, b) => a - b);
}

/** The network namespaces of the cluster in dataDir that exist now (none without root). */
function ourNamespaces(dataDir: string): string[] {
  const prefix = netnsPrefix(resolve(dataDir));
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 });
  return (listed.stdout ?? '').split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name.startsWith(`${prefix}-`));
}

/** Polls a condition on real server answers until it holds or the time is up. */
async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await delay(200);
  }
}

/**
 * Publishes until a PubAck comes back. After a leader's crash the cluster answers with errors
 * (no responders, timeouts, "stream not available") for seconds while it elects a new leader, so
 * each failure waits longer than the one before. The msgID makes a retry of a publish whose
 * PubAck was lost a duplicate the stream drops, not a second message.
 */
async function publishWithRetry(connection: NatsConnection, subject: string, payload: string, msgID: string): Promise<{ ack: PubAck; attempts: number }> {
  const js = jetstream(connection);
  const deadline = Date.now() + 60_000;
  let backoffMs = 100;
  for (let attempts = 1; ; attempts++) {
    try {
      return { ack: await js.publish(subject, payload, { msgID, timeout: 2_000 }), attempts };
    } catch (error) {
      if (Date.now() + backoffMs > deadline) throw error;
      await delay(backoffMs);
      backoffMs = Math.min(2 * backoffMs, 2_000);
    }
  }
}

describe('NATS cluster configuration (no server needed)', () => {
  it('writes a server configuration with its own ports, store, cluster name and routes to the others', () => {
    // Each node on an address of its own, as in network namespaces: it listens on its own and
    // routes to the others' addresses.
    const nodes = [1, 2, 3].map((id) => ({
      id,
      name: `n${id}`,
      host: `10.9.9.${id + 1}`,
      clientPort: 14219 + 3 * id,
      routePort: 14220 + 3 * id,
      monitorPort: 14221 + 3 * id,
      dir: `/d/n${id}`,
    }));
    const lines = renderServerConfig(nodes[1]!, nodes, 'dc').split('\n');
    for (const line of [
      'server_name: "n2"',
      'listen: "10.9.9.3:14225"',
      'http: "10.9.9.3:14227"',
      '  store_dir: "/d/n2/store"',
      '  name: "dc"',
      '  listen: "10.9.9.3:14226"',
      '  routes: ["nats-route://10.9.9.2:14223", "nats-route://10.9.9.4:14229"]',
    ]) {
      expect(lines).toContain(line);
    }
  });

  it('takes the cluster folder and first port from the environment, and ignores a port that is no number', () => {
    expect(environmentNatsClusterOptions({ DELIVERYCHECK_NATS_DIR: '/tmp/n', DELIVERYCHECK_NATS_PORT: '15222' })).toEqual({
      dataDir: '/tmp/n',
      basePort: 15222,
    });
    expect(environmentNatsClusterOptions({ DELIVERYCHECK_NATS_DIR: '', DELIVERYCHECK_NATS_PORT: 'x' })).toEqual({});
  });

  it('refuses the standard NATS ports and ports from 32768 up, before starting anything', async () => {
    await expect(startNatsCluster({ basePort: 4220, dataDir: join(DATA_DIR, 'never') })).rejects.toThrow(/standard NATS port 4222/);
    await expect(startNatsCluster({ basePort: 32760, dataDir: join(DATA_DIR, 'never') })).rejects.toThrow(/below|between 1024 and 32767/);
  });

  it('says in one line how to install nats-server when the binary is missing', async () => {
    const dataDir = join(DATA_DIR, 'missing-binary');
    const failure = startNatsCluster({ serverBinary: '/nonexistent/nats-server', dataDir });
    await expect(failure).rejects.toBeInstanceOf(NatsServerMissingError);
    await expect(failure).rejects.toThrow(/^nats-server was not found at \/nonexistent\/nats-server; install it with "apt-get install nats-server"/);
    const message = await failure.catch((error: unknown) => (error instanceof Error ? error.message : ''));
    expect(message).not.toContain('\n');
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('local NATS cluster (real nats-server)', () => {
  let cluster: NatsClusterHandle | undefined;
  let connection: NatsConnection | undefined;
  const foreignBefore = foreignServers();

  afterAll(async () => {
    // A failed test must not leave a connection or three servers running.
    await connection?.close().catch(() => undefined);
    await cluster?.stopAll().catch(() => undefined);
    await stopNatsClusterInDir(REUSE_DATA_DIR).catch(() => undefined);
    expect(foreignServers()).toEqual(foreignBefore);
  }, 60_000);

  it.skipIf(skipCluster)(
    clusterTitle('starts three JetStream nodes, fails a stream leader over, restarts, pauses, heals and stops clean'),
    async () => {
      const startStarted = Date.now();
      cluster = await startNatsCluster({ dataDir: DATA_DIR, basePort: BASE_PORT, reuse: false, log: (line) => console.log(`[nats] ${line}`) });
      console.log(`[nats] cluster ready in ${Date.now() - startStarted} ms`);
      expect(cluster.owned).toBe(true);
      expect(cluster.reused).toBe(false);
      const hosts = cluster.nodes.map((node) => node.host);
      expect(cluster.servers).toEqual([`${hosts[0]}:${BASE_PORT}`, `${hosts[1]}:${BASE_PORT + 3}`, `${hosts[2]}:${BASE_PORT + 6}`]);
      if (cluster.partitionsUnavailable === undefined) {
        // In network namespaces: an address of its own per node, none of them loopback.
        expect(new Set(hosts).size).toBe(3);
        expect(hosts).not.toContain(HOST);
        expect(ourNamespaces(DATA_DIR)).toHaveLength(3);
      } else {
        expect(hosts).toEqual([HOST, HOST, HOST]);
      }
      expect(cluster.nodes.map((node) => [node.name, node.state, node.clientPort, node.routePort, node.monitorPort])).toEqual([
        ['n1', 'running', BASE_PORT, BASE_PORT + 1, BASE_PORT + 2],
        ['n2', 'running', BASE_PORT + 3, BASE_PORT + 4, BASE_PORT + 5],
        ['n3', 'running', BASE_PORT + 6, BASE_PORT + 7, BASE_PORT + 8],
      ]);
      const pids = cluster.nodes.map((node) => node.pid);
      const state = JSON.parse(readFileSync(join(DATA_DIR, 'state.json'), 'utf8')) as { nodes: { pid: number }[] };
      expect(state.nodes.map((node) => node.pid)).toEqual(pids);
      for (const pid of pids) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(join(DATA_DIR, 'n'));

      // An R3 stream with limits retention: a PubAck means the leader and one follower stored it.
      connection = await connect({ servers: [...cluster.servers], reconnectTimeWait: 250, maxReconnectAttempts: -1 });
      const jsm = await jetstreamManager(connection);
      await jsm.streams.add({
        name: STREAM,
        subjects: ['orders.>'],
        num_replicas: 3,
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
      });
      const first = await publishWithRetry(connection, 'orders.1', 'first', 'm1');
      expect(first.ack).toMatchObject({ stream: STREAM, seq: 1, duplicate: false });

      // The leader's own monitoring answer and the JetStream API agree on who leads.
      const roles = await cluster.streamRoles(STREAM);
      expect(roles.replicas).toEqual([1, 2, 3]);
      expect(roles.followers.map((follower) => follower.id)).toEqual([1, 2, 3].filter((id) => id !== roles.leader));
      const info = await jsm.streams.info(STREAM);
      expect(info.cluster?.leader).toBe(`n${roles.leader}`);
      expect(info.config.num_replicas).toBe(3);

      // Kill the stream leader: it is gone at once, the survivors elect a new leader, and a
      // publish succeeds again once they have.
      const oldLeader = roles.leader;
      const oldPid = cluster.node(oldLeader).pid;
      const killedAt = Date.now();
      await cluster.kill(oldLeader);
      expect(cluster.node(oldLeader)).toMatchObject({ state: 'stopped', pid: null });
      expect(processesUsing(DATA_DIR).some((found) => found.pid === oldPid)).toBe(false);
      // The publish starts at once, while the survivors are still electing, and retries.
      let ackedMs = 0;
      const publishing = publishWithRetry(connection, 'orders.2', 'second', 'm2').then((outcome) => {
        ackedMs = Date.now() - killedAt;
        return outcome;
      });
      const after = await cluster.streamRoles(STREAM, { timeoutMs: 60_000 });
      const electedMs = Date.now() - killedAt;
      expect(after.leader).not.toBe(oldLeader);
      expect(after.replicas).toContain(oldLeader);
      expect(after.followers.find((follower) => follower.id === oldLeader)?.current).toBe(false);
      const second = await publishing;
      console.log(
        `[nats] new stream leader n${after.leader} seen ${electedMs} ms after killing n${oldLeader}; ` +
          `a publish started at the kill was acknowledged after ${ackedMs} ms, on attempt ${second.attempts}`,
      );
      expect(second.ack).toMatchObject({ stream: STREAM, seq: 2 });
      expect((await jsm.streams.info(STREAM)).state.messages).toBe(2);

      // The killed node starts on its old store and catches up.
      const restartStarted = Date.now();
      await cluster.start(oldLeader);
      console.log(`[nats] n${oldLeader} restarted and ready in ${Date.now() - restartStarted} ms`);
      expect(cluster.node(oldLeader).state).toBe('running');
      expect(cluster.node(oldLeader).pid).not.toBe(oldPid);
      await eventually('the restarted node to be current on the stream', 30_000, async () => {
        const now = await cluster!.streamRoles(STREAM);
        return now.followers.every((follower) => follower.current);
      });

      // A paused follower holds its sockets but answers nothing; the other two still form a
      // quorum, so publishes go on. Resumed, it is ready again. The follower paused is not the
      // server the test's client is connected to: a client keeps its connection to a paused
      // server, whose TCP stays open, and every publish through it would time out.
      const leaderNow = (await cluster.streamRoles(STREAM)).leader;
      const connectedTo = connection.info?.server_name;
      const follower = [1, 2, 3].find((id) => id !== leaderNow && `n${id}` !== connectedTo)!;
      await cluster.pause(follower);
      expect(cluster.node(follower).state).toBe('paused');
      await expect(monitor(cluster.node(follower).host, cluster.node(follower).monitorPort, '/varz', 1_000)).rejects.toThrow(/no answer within 1000 ms/);
      expect((await publishWithRetry(connection, 'orders.3', 'third', 'm3')).ack.seq).toBe(3);
      await cluster.resume(follower);
      expect(cluster.node(follower).state).toBe('running');
      await cluster.waitReady(30_000);

      // heal() undoes every node fault at once, as an adapter's healAll must.
      const others = [1, 2, 3].filter((id) => id !== follower);
      await cluster.kill(others[0]!);
      await cluster.pause(others[1]!);
      // heal() goes through the nodes in order and says what it did to each.
      const undone = [1, 2, 3].flatMap((id) => (id === others[0] ? [`started node ${id}`] : id === others[1] ? [`resumed node ${id}`] : []));
      expect(await cluster.heal()).toEqual(undone);
      expect(cluster.nodes.map((node) => node.state)).toEqual(['running', 'running', 'running']);
      expect((await publishWithRetry(connection, 'orders.4', 'fourth', 'm4')).ack.seq).toBe(4);
      expect((await jsm.streams.info(STREAM)).state.messages).toBe(4);

      // A partition: the stream leader is cut off from the other two, which still reach each
      // other, while clients on this machine reach all three. The isolated leader cannot get a
      // quorum, so a publish through it is never acknowledged; the majority elects a leader of
      // its own and acknowledges; after the heal the old leader follows and nothing it took
      // unacknowledged is in the stream. Only where the nodes have network namespaces.
      if (cluster.partitionsUnavailable === undefined) {
        const isolated = (await cluster.streamRoles(STREAM)).leader;
        const majority = [1, 2, 3].filter((id) => id !== isolated);
        const serverOf = (id: number): string => cluster!.servers[id - 1]!;
        const toIsolated = await connect({ servers: [serverOf(isolated)], maxReconnectAttempts: 0 });
        const toMajority = await connect({ servers: majority.map(serverOf), reconnectTimeWait: 250, maxReconnectAttempts: -1 });
        try {
          const cutAt = Date.now();
          await cluster.cut([[isolated], majority]);
          await expect(jetstream(toIsolated).publish('orders.5', 'unacknowledged', { msgID: 'm5-isolated', timeout: 3_000 })).rejects.toThrow();
          const fifth = await publishWithRetry(toMajority, 'orders.5', 'fifth', 'm5');
          console.log(`[nats] with n${isolated} cut off, the majority acknowledged after ${Date.now() - cutAt} ms, on attempt ${fifth.attempts}`);
          expect(fifth.ack.seq).toBe(5);
          // The meta leader may have been the isolated node too; the majority answers API
          // requests once it has elected one of its own.
          let leaderSeen: string | undefined;
          await eventually('the majority naming a stream leader of its own', 30_000, async () => {
            const view = await jetstreamManager(toMajority, { timeout: 2_000 }).catch(() => undefined);
            leaderSeen = (await view?.streams.info(STREAM).catch(() => undefined))?.cluster?.leader;
            return leaderSeen !== undefined;
          });
          expect(majority.map((id) => `n${id}`)).toContain(leaderSeen);

          await cluster.healNetwork();
          await eventually('one stream leader and every replica current after the heal', 60_000, async () => {
            const now = await cluster!.streamRoles(STREAM, { timeoutMs: 5_000 }).catch(() => undefined);
            return now !== undefined && now.followers.every((follower) => follower.current);
          });
          const majorityView = await jetstreamManager(toMajority);
          const stored = await majorityView.streams.info(STREAM);
          expect(stored.state.messages).toBe(5);
          expect((await majorityView.streams.getMessage(STREAM, { seq: 5 }))?.string()).toBe('fifth');
        } finally {
          await toIsolated.close().catch(() => undefined);
          await toMajority.close().catch(() => undefined);
        }
      }

      await connection.close();
      connection = undefined;
      const stopStarted = Date.now();
      await cluster.stopAll();
      console.log(`[nats] all nodes stopped in ${Date.now() - stopStarted} ms`);
      expect(cluster.nodes.map((node) => node.state)).toEqual(['stopped', 'stopped', 'stopped']);
      expect(existsSync(join(DATA_DIR, 'state.json'))).toBe(false);
      expect(processesUsing(DATA_DIR)).toEqual([]);
      expect(ourNamespaces(DATA_DIR)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it.skipIf(skipCluster)(
    clusterTitle('reuses a healthy detached cluster from a second start, and release leaves it to stop'),
    async () => {
      const options = { dataDir: REUSE_DATA_DIR, basePort: BASE_PORT + 30, detached: true };
      const first = await startNatsCluster(options);
      expect(first.owned).toBe(false);
      expect(first.reused).toBe(false);
      const pids = first.nodes.map((node) => node.pid);
      await first.release();

      const second = await startNatsCluster(options);
      expect(second.reused).toBe(true);
      expect(second.nodes.map((node) => node.pid)).toEqual(pids);
      const status = await natsClusterStatus(REUSE_DATA_DIR);
      expect(status?.nodes.map((node) => [node.name, node.serving])).toEqual([
        ['n1', true],
        ['n2', true],
        ['n3', true],
      ]);
      // Releasing a reused cluster leaves it running for its next user.
      await second.release();
      for (const pid of pids) expect(processesUsing(REUSE_DATA_DIR).map((found) => found.pid)).toContain(pid);

      // The stop command's way: from the state file alone, by pid and configuration file.
      expect(await stopNatsClusterInDir(REUSE_DATA_DIR)).toBe(true);
      expect(processesUsing(REUSE_DATA_DIR)).toEqual([]);
      expect(ourNamespaces(REUSE_DATA_DIR)).toEqual([]);
      expect(await natsClusterStatus(REUSE_DATA_DIR)).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );

  // The owner's exit handlers cannot run when it is SIGKILLed; the watchdog shells must end the
  // servers then. The owner is a separate Node process running the compiled module, which
  // `npm test` builds first; under CI a missing build fails instead of skipping.
  const compiledCluster = join(packageRoot(), 'dist', 'adapters', 'nats', 'cluster', 'cluster.js');
  it.skipIf(skipCluster || (!existsSync(compiledCluster) && process.env.CI !== 'true'))(
    clusterTitle('leaves no nats-server behind when the owning process is killed with SIGKILL'),
    async () => {
      expect(existsSync(compiledCluster), `${compiledCluster} is missing; run "npm run build"`).toBe(true);
      const script = `
        const { startNatsCluster } = await import(${JSON.stringify(compiledCluster)});
        const cluster = await startNatsCluster({ dataDir: ${JSON.stringify(OWNER_DATA_DIR)}, basePort: ${BASE_PORT + 60}, reuse: false });
        console.log(JSON.stringify(cluster.nodes.map((node) => node.pid)));
        setInterval(() => {}, 1000);
      `;
      const owner = execa('node', ['--input-type=module', '-e', script], { reject: false, timeout: 120_000 });
      const pids = await new Promise<number[]>((resolve, reject) => {
        owner.stdout.on('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString('utf8')) as number[]));
        void owner.then((result) => reject(new Error(`the owner ended before the cluster was ready:\n${result.stderr}`)));
      });
      expect(pids).toHaveLength(3);
      expect(processesUsing(OWNER_DATA_DIR).map((found) => found.pid)).toEqual(expect.arrayContaining(pids));
      owner.kill('SIGKILL');
      await owner;
      await eventually('the watchdogs ending the orphaned servers', 10_000, () => processesUsing(OWNER_DATA_DIR).length === 0);
      await eventually('the guard removing the orphaned network namespaces', 10_000, () => ourNamespaces(OWNER_DATA_DIR).length === 0);
    },
    TEST_TIMEOUT_MS,
  );
});
