// The nats adapter against a real three-node JetStream cluster: what it stores and where, what
// its acknowledgments and idempotence do, how its consumers share a group, and its node faults.
// Without nats-server the cluster tests are skipped with a printed reason, except under CI=true.
//
// Ports 26222.. (3 a node) and .cache/nats-adapter-test keep clear of the cluster test (24222..),
// of `npm run nats:start` (14222..) and of the system's nats-server on 4222.
// DELIVERYCHECK_NATS_ADAPTER_TEST_PORT moves the ports.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer, DeliveredRecord, OpenOptions, Session } from '../../adapters/contract.js';
import { createNatsAdapter, natsCannotHonour, type NatsAdapter } from '../../adapters/nats/adapter.js';
import { ACK_WAIT_MS } from '../../adapters/nats/durables.js';
import { pubAckOf, ServerStreamFilter } from '../../adapters/nats/proxy.js';
import type { MessageRef } from '../../spec/history.js';
import { packageRoot } from '../../core/package-root.js';
import type { FaultKind } from '../../spec/vocabulary.js';
import { natsSkip, processesUsing } from './prerequisites.js';

const BASE_PORT = Number(process.env.DELIVERYCHECK_NATS_ADAPTER_TEST_PORT ?? 26222);
const DATA_DIR = join(packageRoot(), '.cache', 'nats-adapter-test');
const { skip, title } = natsSkip('the nats adapter tests');

const TOPIC = { replication: 3, minInsync: 2, uncleanElection: false };

function message(seq: number, key = 'k0', producer = 0): MessageRef {
  return { id: `p${producer}-${seq}`, producer, seq, key };
}

describe('the nats adapter without a server', () => {
  it('names the setting it cannot honour in a sentence', () => {
    expect(natsCannotHonour({ brokers: 3, ack: 'all', topic: { partitions: 1, ...TOPIC } })).toBeUndefined();
    expect(natsCannotHonour({ brokers: 1, ack: 'all', topic: { partitions: 1, ...TOPIC } })).toBe('cluster.brokers 1: the nats adapter runs three nodes');
    expect(natsCannotHonour({ brokers: 3, ack: 'all', topic: { partitions: 1, ...TOPIC, replication: 1 } })).toMatch(/^topic\.replication 1: /);
    expect(natsCannotHonour({ brokers: 3, ack: 'all', topic: { partitions: 1, ...TOPIC, minInsync: 1 } })).toMatch(/^topic\.minInsync 1: .*quorum of 2/);
    // minInsync bounds ack all alone: a scenario that never waits for all runs at any minInsync.
    expect(natsCannotHonour({ brokers: 3, ack: 'none', topic: { partitions: 1, ...TOPIC, minInsync: 1 } })).toBeUndefined();
    expect(natsCannotHonour({ brokers: 3, ack: 'all', topic: { partitions: 1, ...TOPIC, uncleanElection: true } })).toMatch(/^topic\.uncleanElection true: .*Raft/);
  });

  it('declares neither ack.leader nor transactions, and no broker fault on a user cluster', () => {
    const local = createNatsAdapter();
    for (const lacking of ['ack.leader', 'producer.transactional', 'commit.transactional', 'isolation.read-committed', 'fault.stall-replication', 'fault.power-loss'] as const) {
      expect(local.capabilities.has(lacking), lacking).toBe(false);
    }
    expect(local.capabilities.has('fault.drop-acks')).toBe(true);
    const remote = local.connect({ brokers: ['127.0.0.1:1'] });
    expect([...remote.capabilities].filter((capability) => capability.startsWith('fault.')).sort()).toEqual(['fault.crash-consumer', 'fault.crash-producer']);
  });

  it('the proxy swallows a PubAck split across chunks and passes every other frame', () => {
    const passed: string[] = [];
    const filter = new ServerStreamFilter(
      (bytes) => passed.push(bytes.toString()),
      (payload) => pubAckOf(payload)?.stream === 'S',
    );
    const ack = '{"stream":"S","seq":7}';
    const other = '{"stream":"T","seq":1}';
    const wire = `PING\r\nMSG _INBOX.a 1 ${ack.length}\r\n${ack}\r\nHMSG s 2 _INBOX.b 12 14\r\nNATS/1.0\r\n\r\nhi\r\nMSG _INBOX.c 1 ${other.length}\r\n${other}\r\n`;
    for (let at = 0; at < wire.length; at += 5) filter.push(Buffer.from(wire.slice(at, at + 5)));
    expect(passed.join('')).toBe(`PING\r\nHMSG s 2 _INBOX.b 12 14\r\nNATS/1.0\r\n\r\nhi\r\nMSG _INBOX.c 1 ${other.length}\r\n${other}\r\n`);
  });
});

describe.skipIf(skip)('the nats adapter on a local cluster (real nats-servers)', () => {
  let adapter: NatsAdapter;
  const infos: string[] = [];

  const open = (partitions: number, faults: readonly FaultKind[] = []): Promise<Session> =>
    adapter.open({
      seed: 1,
      brokers: 3,
      topic: { name: `adapter-test-${partitions}`, partitions, ...TOPIC },
      defects: [],
      faults,
      info: (source, line) => infos.push(`${source}: ${line}`),
    } satisfies OpenOptions);

  /** Polls until `count` records came or the time is up. */
  const pollFor = async (consumer: Consumer, count: number, timeoutMs: number): Promise<DeliveredRecord[]> => {
    const got: DeliveredRecord[] = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < count && Date.now() < deadline) got.push(...(await consumer.poll(200)));
    return got;
  };

  beforeAll(async () => {
    adapter = createNatsAdapter({ cluster: { dataDir: DATA_DIR, basePort: BASE_PORT, reuse: false } });
  });

  afterAll(async () => {
    await adapter?.dispose();
    expect(processesUsing(DATA_DIR)).toEqual([]);
  });

  it(title('the benchmark extension pads values; its bare loop stores what it sends and has no leader-only ack'), async () => {
    const session = await open(3);
    try {
      const bench = session.bench;
      if (bench?.bareLoop === undefined) throw new Error('the nats session has no bare loop');
      const looped = await bench.bareLoop({ ack: 'all', records: 600, window: 50, valueBytes: 200 });
      expect(looped).toMatchObject({ completed: 600, errors: 0 });
      expect(looped.elapsedMs).toBeGreaterThan(0);
      await expect(bench.bareLoop({ ack: 'leader', records: 1, window: 1, valueBytes: 0 })).rejects.toThrow(/no leader-only acknowledgment/);
      const producer = await bench.producer({ index: 0, topic: 'input', ack: 'all', retries: 0, idempotent: false, valueBytes: 200 });
      const sent = await new Promise<number | null>((resolve, reject) =>
        producer.sendWith(message(0, 'k0'), { sent: (result) => resolve(result.offset), failed: reject }, 7),
      );
      await producer.close();
      expect(sent).not.toBeNull();
      // The bare loop's messages carry no id of ours: the drain gives them back as raw places.
      const stored = await session.drain();
      expect(stored.length).toBe(601);
      expect(stored.filter((record) => record.id.startsWith('?raw:')).length).toBe(600);
    } finally {
      await session.close();
    }
  });

  it(title('stores at stream sequences, reads them back by sequence, and ack none waits for nothing'), async () => {
    const session = await open(2);
    try {
      const producer = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 3, idempotent: false });
      const results = [];
      for (let seq = 0; seq < 10; seq++) results.push({ seq, ...(await producer.send(message(seq, `k${seq}`))) });
      await producer.close();
      // Per shard, the stream's sequences count from 1 in send order.
      for (const shard of [0, 1]) {
        const offsets = results.filter((result) => result.partition === shard).map((result) => result.offset);
        expect(offsets).toEqual(offsets.map((_, index) => index + 1));
      }
      const none = await session.producer({ index: 1, topic: 'input', ack: 'none', retries: 0, idempotent: false });
      const unacknowledged = await none.send(message(0, 'k0', 1));
      expect(unacknowledged.offset).toBeNull();
      await none.close();
      // Nothing acknowledges a core publish, so the stream may store it a moment after the
      // producer closed (on a loaded machine the drain once came first); the drain is asked again.
      let stored = await session.drain();
      for (const untilMs = Date.now() + 10_000; stored.length < 11 && Date.now() < untilMs; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        stored = await session.drain();
      }
      for (const result of results) {
        expect(stored).toContainEqual({ id: `p0-${result.seq}`, partition: result.partition, offset: result.offset, topic: 'input' });
      }
      expect(stored.filter((record) => record.id === 'p1-0')).toHaveLength(1);
      expect(stored).toHaveLength(11);
    } finally {
      await session.close();
    }
  });

  it(title('an idempotent resend is stored once; without idempotence twice'), async () => {
    const session = await open(1);
    try {
      const idempotent = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 3, idempotent: true });
      const first = await idempotent.send(message(0));
      expect(await idempotent.send(message(0))).toEqual(first);
      await idempotent.close();
      const plain = await session.producer({ index: 1, topic: 'input', ack: 'all', retries: 3, idempotent: false });
      await plain.send(message(0, 'k0', 1));
      await plain.send(message(0, 'k0', 1));
      await plain.close();
      const ids = (await session.drain()).map((record) => record.id);
      expect(ids).toEqual(['p0-0', 'p1-0', 'p1-0']);
    } finally {
      await session.close();
    }
  });

  it(title('acknowledged messages leave the backlog; a crashed member’s unacknowledged ones come back; rewind redelivers'), async () => {
    const session = await open(2);
    try {
      const producer = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 3, idempotent: true });
      for (let seq = 0; seq < 20; seq++) await producer.send(message(seq, `k${seq}`));
      await producer.close();
      const group = 'g1';
      expect(await session.backlog(group)).toBe(20);
      const first = await session.consumer({ index: 0, group, isolation: 'read-uncommitted', autoCommit: false, maxPollRecords: 5 });
      const batch = await pollFor(first, 5, 10_000);
      // Records of one shard can come before the other shard's pull loop is bound to its durable
      // (on a loaded machine it was), and the assignment names every shard only once both are.
      const boundBy = Date.now() + 10_000;
      while (first.assignment().size < 2 && Date.now() < boundBy) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(first.assignment()).toEqual(new Set([0, 1]));
      const acknowledgment = first.acknowledgment(batch);
      for (const [shard, next] of acknowledgment.positions) {
        expect(next).toBe(Math.max(...batch.filter((record) => record.partition === shard).map((record) => record.offset)) + 1);
      }
      await first.ack(acknowledgment);
      const unacked = await pollFor(first, 5, 10_000);
      await first.rewind();
      // The naked deliveries come again, among the group's other pending messages.
      const again = await pollFor(first, 15, 10_000);
      for (const record of unacked) expect(again.map((each) => each.id), record.id).toContain(record.id);
      await first.crash();
      // The crashed member held `again` unacknowledged (and maybe more in its buffer): another member gets them after AckWait.
      const second = await session.consumer({ index: 1, group, isolation: 'read-uncommitted', autoCommit: false, maxPollRecords: 50 });
      const seen = new Set<string>();
      const deadline = Date.now() + ACK_WAIT_MS + 10_000;
      while ((await session.backlog(group)) > 0 && Date.now() < deadline) {
        const records = await second.poll(200);
        if (records.length > 0) await second.ack(second.acknowledgment(records));
        for (const record of records) seen.add(record.id);
      }
      for (const record of again) expect(seen.has(record.id), record.id).toBe(true);
      expect(await session.backlog(group)).toBe(0);
      await second.close();
    } finally {
      await session.close();
    }
  });

  it(title('after the stream leader is killed, sends with retries succeed on the new leader; pause and resume'), async () => {
    const session = await open(1);
    const nodes = session.nodes;
    if (nodes === undefined) throw new Error('the local cluster has nodes');
    try {
      const producer = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 10, idempotent: true });
      await producer.send(message(0));
      const before = await nodes.observe(0, true);
      const leader = before.shard?.leader;
      expect(leader).toBeTypeOf('number');
      expect(await nodes.kill(leader as number)).toBe(' with SIGKILL');
      expect(nodes.nodes().find((node) => node.id === leader)?.state).toBe('crashed');
      const sent = await producer.send(message(1));
      expect(sent.offset).toBe(2);
      const after = await nodes.observe(0, true);
      expect(after.shard?.leader).not.toBe(leader);
      await nodes.start(leader as number);
      const follower = (after.shard?.replicas ?? []).find((id) => id !== after.shard?.leader) as number;
      expect(await nodes.pause(follower)).toBe(' with SIGSTOP');
      expect(nodes.nodes().find((node) => node.id === follower)?.state).toBe('paused');
      // A quorum of two remains, so the stream goes on taking writes.
      expect((await producer.send(message(2))).offset).toBe(3);
      await nodes.resume(follower);
      expect(await session.settle(60_000)).toBe(true);
      await producer.close();
      expect((await session.drain()).map((record) => record.id)).toEqual(['p0-0', 'p0-1', 'p0-2']);
    } finally {
      await session.close();
    }
  });

  it(title('lost PubAcks make a producer resend: a duplicate without idempotence, none with it'), async () => {
    const session = await open(1, ['drop-acks']);
    const nodes = session.nodes;
    if (nodes?.dropAcks === undefined) throw new Error('the local cluster drops acks');
    try {
      const leader = (await nodes.observe(0, true)).shard?.leader as number;
      const plain = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 5, idempotent: false });
      expect(await nodes.dropAcks(leader, 1)).toMatch(/^will lose its next 1 PubAcks/);
      await plain.send(message(0));
      await plain.close();
      const idempotent = await session.producer({ index: 1, topic: 'input', ack: 'all', retries: 5, idempotent: true });
      await nodes.dropAcks(leader, 1);
      const sent = await idempotent.send(message(0, 'k0', 1));
      await idempotent.close();
      expect(await nodes.clear(leader)).toEqual([]);
      const stored = await session.drain();
      expect(stored.map((record) => record.id)).toEqual(['p0-0', 'p0-0', 'p1-0']);
      // The resend's answer names the first copy's sequence.
      expect(sent.offset).toBe(3);
      expect(infos.filter((line) => line.startsWith('nats-proxy: dropped the PubAck'))).toHaveLength(2);
    } finally {
      await session.close();
    }
  });
});
