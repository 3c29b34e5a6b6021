// The kafka adapter against real Kafka JVMs: a session on a local cluster, ack-all sends, a
// consumer with after-process commits, transactions seen by read-committed and read-uncommitted
// readers and by the drain, fencing, a crashed and restarted leader, lost acknowledgments through
// the drop-acks proxy, and the command line with --brokers. test/kafka/conformance.test.ts runs the bundled suites.
//
// Without Java 17 the Kafka tests are skipped with a printed reason, except under CI=true, where
// a cluster that cannot start must fail the build instead. They use their own folders and ports
// (29192..29203), clear of a cluster a developer started with `kafka-cluster start` and of the other
// Kafka tests; DELIVERYCHECK_KAFKA_ADAPTER_TEST_PORT
// moves them. The machine may have two busy cores, so every wait is generous.

import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaAdapter, type KafkaAdapter } from '../../adapters/kafka/adapter.js';
import { describeCluster } from '../../adapters/kafka/cluster/protocol.js';
import { filterAbortedMessages, groupMessagesPerPartition } from '../../adapters/kafka/kafkajs-fix.js';
import { encodeValue, kafkaAcks, kafkaConfig, placeSends, recordId } from '../../adapters/kafka/messages.js';
import type { Consumer, DeliveredRecord, OpenOptions, Producer, Session } from '../../adapters/contract.js';
import { main, type CliIo } from '../../harness/cli/cli.js';
import { FaultDriver } from '../../harness/conformance/faults.js';
import type { RunResult } from '../../spec/result.js';
import { packageRoot } from '../../core/package-root.js';
import { kafkaSkip, processesUsing } from './prerequisites.js';

const HOST = '127.0.0.1';
const BASE_PORT = Number(process.env.DELIVERYCHECK_KAFKA_ADAPTER_TEST_PORT ?? 29192);
const DATA_DIR = join(packageRoot(), '.cache', 'kafka-adapter-test');
const KAFKA_TEST_TIMEOUT_MS = 10 * 60_000;

const { skip: skipKafka, title: kafkaTitle } = kafkaSkip('the kafka adapter tests');

function capture(): { io: CliIo; stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, isTTY: false, env: {} },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

describe('kafka adapter pieces (no Java needed)', () => {
  it('writes a message as JSON and reads back its id, or a phantom id for a record that is not ours', () => {
    const value = Buffer.from(encodeValue({ id: 'p1-7', producer: 1, seq: 7, key: 'k3' }));
    expect(JSON.parse(value.toString('utf8'))).toEqual({ id: 'p1-7', producer: 1, seq: 7 });
    expect(recordId(value, 2, 40)).toBe('p1-7');
    expect(recordId(Buffer.from('not json'), 2, 41)).toBe('?raw:2:41');
    expect(recordId(Buffer.from('{"id":"x"}'), 0, 3)).toBe('?raw:0:3');
    expect(recordId(null, 1, 9)).toBe('?raw:1:9');
    expect([kafkaAcks('none'), kafkaAcks('leader'), kafkaAcks('all')]).toEqual([0, 1, -1]);
  });

  it('pads a value to the message size with spaces and still reads its id back', () => {
    const value = encodeValue({ id: 'p0-12', producer: 0, seq: 12, key: 'k1' }, 100);
    expect(Buffer.byteLength(value)).toBe(100);
    expect(recordId(Buffer.from(value), 0, 0)).toBe('p0-12');
    // A value longer than the size stays whole.
    expect(encodeValue({ id: 'p0-12', producer: 0, seq: 12, key: 'k1' }, 5)).toBe('{"id":"p0-12","producer":0,"seq":12}');
  });

  it("places each message of a produce request at its partition's base offset plus its rank there", () => {
    const sends = [
      { id: 11, partition: 2 },
      { id: 12, partition: 0 },
      { id: 13, partition: 2 },
      { id: 14, partition: 2 },
      { id: 15, partition: 1 },
    ];
    const metadata = [
      { partition: 0, baseOffset: '40' },
      { partition: 2, baseOffset: '7' },
    ];
    expect(placeSends(sends, metadata, true)).toEqual({
      event: 'sent',
      ids: [11, 12, 13, 14],
      partitions: [2, 0, 2, 2],
      offsets: [7, 40, 8, 9],
      // The broker named no place for partition 1: that send fails instead of getting a made-up offset.
      errors: [[15, 'the broker acknowledged partition 1 without saying where it stored the records']],
    });
    // With ack mode none nothing is acknowledged, so no send gets an offset.
    expect(placeSends(sends.slice(0, 2), [], false)).toEqual({ event: 'sent', ids: [11, 12], partitions: [2, 0], offsets: [-1, -1], errors: [] });
  });

  it("groups a send's messages per partition in their order, as kafkajs does", () => {
    const messages = Array.from({ length: 30_000 }, (_, index) => ({ partition: index % 3, index }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => message.partition ?? 0,
    });
    expect(Object.keys(grouped)).toEqual(['0', '1', '2']);
    expect(grouped[1]?.slice(0, 3).map((message) => message.index)).toEqual([1, 4, 7]);
    expect(grouped[2]).toHaveLength(10_000);
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual({});
  });

  it('drops every record of an aborted transaction, also when a fetch starts inside one (kafkajs 2.2.4 did not)', () => {
    const record = (offset: number, producerId: string) => ({
      offset: String(offset),
      key: Buffer.from('k'),
      batchContext: { producerId, inTransaction: true, isControlBatch: false },
    });
    const abortMarker = (offset: number, producerId: string) => ({
      offset: String(offset),
      key: Buffer.from([0, 0, 0, 0]),
      batchContext: { producerId, inTransaction: true, isControlBatch: true },
    });
    // A fetch from offset 170: producer A's aborted transaction began at 169, producer B's at 170.
    const messages = [record(170, 'B'), record(171, 'A'), record(172, 'C'), abortMarker(173, 'A'), record(174, 'A'), record(175, 'B')];
    const aborted = [
      { producerId: 'A', firstOffset: '169' },
      { producerId: 'B', firstOffset: '170' },
    ];
    const kept = filterAbortedMessages({ messages, abortedTransactions: aborted }).map((message) => message.offset);
    // C is in no aborted transaction; A's record after its abort marker starts a new transaction.
    expect(kept).toEqual(['172', '173', '174']);
    expect(filterAbortedMessages({ messages, abortedTransactions: [] })).toHaveLength(messages.length);
  });

  it('refuses a malformed --brokers, and --brokers with an adapter that cannot use it', async () => {
    const bad = capture();
    expect(await main(['run', '--adapter', 'kafka', '--brokers', 'localhost'], bad.io)).toBe(2);
    expect(bad.stderr()).toBe('deliverycheck: --brokers needs HOST:PORT[,HOST:PORT...], not "localhost"\n');
    const reference = capture();
    expect(await main(['run', '--adapter', 'reference', '--brokers', '127.0.0.1:9092'], reference.io)).toBe(2);
    expect(reference.stderr()).toBe('deliverycheck: adapter reference cannot use a running cluster (--brokers, --cluster-config)\n');
  });

  it('declares no broker fault for a cluster given by address, and broker crashes, pauses and lost answers for its own', () => {
    const own = createKafkaAdapter();
    const theirs = own.connect({ brokers: ['127.0.0.1:9092'] });
    expect([...own.capabilities]).toEqual(
      expect.arrayContaining(['fault.crash-broker', 'fault.pause-broker', 'fault.drop-acks', 'commit.transactional']),
    );
    for (const capability of ['fault.partition', 'fault.power-loss'] as const) {
      expect(own.capabilities.has(capability)).toBe(false);
    }
    for (const capability of ['fault.crash-broker', 'fault.pause-broker', 'fault.drop-acks'] as const) {
      expect(theirs.capabilities.has(capability)).toBe(false);
    }
    expect(theirs.capabilities.has('producer.transactional')).toBe(true);
    const secured = own.connect({
      brokers: ['kafka.example.com:9093'],
      tls: { rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'secret' },
    });
    expect(secured.description).toBe('Apache Kafka through kafkajs: the cluster at kafka.example.com:9093 over TLS with SASL scram-sha-512 as alice');
  });

  it('hands TLS and SASL settings to kafkajs, and none for a plain connection', () => {
    const plain = kafkaConfig(['127.0.0.1:9092'], 'plain', 1);
    expect(plain.ssl).toBeUndefined();
    expect(plain.sasl).toBeUndefined();
    const secured = kafkaConfig(['kafka.example.com:9093'], 'secured', 1, undefined, 1000, {
      tls: { ca: 'PEM', rejectUnauthorized: false },
      sasl: { mechanism: 'plain', username: 'bob', password: 'pw' },
    });
    expect(secured.ssl).toEqual({ ca: 'PEM', rejectUnauthorized: false });
    expect(secured.sasl).toEqual({ mechanism: 'plain', username: 'bob', password: 'pw' });
  });
});

/** Polls a condition on real broker answers until it holds or the time is up. */
async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Whether something accepts TCP connections on the port. */
async function portOpen(host: string, port: number): Promise<boolean> {
  const socket = connect({ host, port });
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/** Polls until `count` records arrived or the time is up, committing after each batch as after-process does. */
async function consume(consumer: Consumer, count: number, timeoutMs: number, commit: boolean): Promise<DeliveredRecord[]> {
  const records: DeliveredRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (records.length < count && Date.now() < deadline) {
    const batch = await consumer.poll(200);
    records.push(...batch);
    if (commit && batch.length > 0) await consumer.ack(consumer.acknowledgment(batch));
  }
  return records;
}

describe('kafka adapter on a local cluster (real JVMs)', () => {
  let adapter: KafkaAdapter | undefined;
  const infos: string[] = [];
  const openOptions = (name: string, extra: Partial<OpenOptions> = {}): OpenOptions => ({
    seed: 3,
    brokers: 3,
    topic: { name, partitions: 3, replication: 3, minInsync: 2, uncleanElection: false },
    defects: [],
    info: (source, message) => infos.push(`${source}: ${message}`),
    ...extra,
  });
  /** The harness's fault driver over the session's nodes, recording its lines where the session's go. */
  const faultsOf = (session: Session): FaultDriver => {
    if (session.nodes === undefined) throw new Error('the session controls no node');
    return new FaultDriver(session.nodes, (source, message) => infos.push(`${source}: ${message}`));
  };

  beforeAll(() => {
    if (skipKafka) return;
    adapter = createKafkaAdapter({ cluster: { dataDir: DATA_DIR, basePort: BASE_PORT, reuse: false, log: (line) => console.log(`[kafka] ${line}`) } });
  });

  afterAll(async () => {
    // dispose() stops the cluster this adapter started; nothing of it may be left running.
    await adapter?.dispose();
    if (!skipKafka) expect(processesUsing(DATA_DIR)).toEqual([]);
  }, 120_000);

  it.skipIf(skipKafka)(
    kafkaTitle('acknowledges ack-all sends where the drain finds them, and an after-process consumer commits its positions'),
    async () => {
      const started = Date.now();
      const session = await (adapter as KafkaAdapter).open(openOptions('adapter-test-acks'));
      console.log(`[kafka] session open (cluster start included) in ${Date.now() - started} ms`);
      const faults = faultsOf(session);
      try {
        const producer = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 5, idempotent: false });
        const acks = new Map<string, { partition: number; offset: number | null }>();
        for (let seq = 0; seq < 30; seq++) {
          acks.set(`p0-${seq}`, await producer.send({ id: `p0-${seq}`, producer: 0, seq, key: `k${seq % 5}` }));
        }
        await producer.close();
        const places = [...acks.values()].map(({ partition, offset }) => `${partition}:${offset}`);
        expect(new Set(places).size).toBe(30);
        for (const { partition, offset } of acks.values()) {
          expect(partition).toBeGreaterThanOrEqual(0);
          expect(partition).toBeLessThan(3);
          expect(offset).not.toBeNull();
        }
        const ends = await session.endOffsets();
        expect([...ends.values()].reduce((sum, end) => sum + end, 0)).toBe(30);

        const consumer = await session.consumer({ index: 0, group: 'g', isolation: 'read-uncommitted', autoCommit: false, maxPollRecords: 7 });
        // The benchmark's join waits for this: partitions assigned, none of them read yet.
        await eventually('the assignment of every partition', 30_000, async () => consumer.assignment().size === 3);
        expect(consumer.acknowledgment([]).positions.size).toBe(0);
        const delivered = await consume(consumer, 30, 90_000, true);
        expect(delivered.map((record) => record.id).sort()).toEqual([...acks.keys()].sort());
        for (const record of delivered) expect(acks.get(record.id)).toEqual({ partition: record.partition, offset: record.offset });
        expect(consumer.acknowledgment(delivered).positions).toEqual(ends);
        expect(await session.committedOffsets('g')).toEqual(ends);
        await consumer.close();

        // Commit mode auto: the client commits what it delivered every 500 ms, with no commit call.
        const auto = await session.consumer({ index: 1, group: 'auto', isolation: 'read-uncommitted', autoCommit: true, maxPollRecords: 7 });
        expect((await consume(auto, 30, 90_000, false)).map((record) => record.id).sort()).toEqual([...acks.keys()].sort());
        await eventually('the auto-commit of every position', 30_000, async () => {
          await auto.poll(100);
          const committed = await session.committedOffsets('auto');
          return [...ends].every(([partition, end]) => committed.get(partition) === end);
        });
        await auto.close();

        const stored = await session.drain();
        expect(stored).toHaveLength(30);
        for (const record of stored) {
          expect(record.topic).toBe('input');
          expect(record.aborted).toBeUndefined();
          expect(acks.get(record.id)).toEqual({ partition: record.partition, offset: record.offset });
        }
      } finally {
        await session.close();
      }
    },
    KAFKA_TEST_TIMEOUT_MS,
  );

  it.skipIf(skipKafka)(
    kafkaTitle('runs the bare kafkajs loop of the benchmark extension, which stores what it sends'),
    async () => {
      const session = await (adapter as KafkaAdapter).open({
        ...openOptions('adapter-test-bare-loop'),
        topic: { name: 'adapter-test-bare-loop', partitions: 3, replication: 3, minInsync: 2, uncleanElection: false },
      });
      try {
        const bareLoop = session.bench.bareLoop;
        if (bareLoop === undefined) throw new Error('the kafka session has no bare loop');
        for (const ack of ['none', 'all'] as const) {
          const looped = await bareLoop({ ack, records: 1_000, window: 100, valueBytes: 100 });
          expect(looped, `${ack}: ${looped.firstError ?? 'no send failed'}`).toMatchObject({ completed: 1_000, errors: 0 });
        }
        // acks 0 is not waited for, so the end offsets are read once the cluster has settled.
        expect(await session.settle(30_000)).toBe(true);
        let stored = 0;
        for (const end of (await session.endOffsets()).values()) stored += end;
        expect(stored).toBe(2_000);
      } finally {
        await session.close();
      }
    },
    KAFKA_TEST_TIMEOUT_MS,
  );

  it.skipIf(skipKafka)(
    kafkaTitle('drains a partition of more records than one call takes arguments'),
    async () => {
      // One partition of 200 000 records: the drain once appended a partition with push(...records)
      // and failed with "Maximum call stack size exceeded" above about 120 000.
      const records = 200_000;
      const session = await (adapter as KafkaAdapter).open({
        ...openOptions('adapter-test-big-drain'),
        topic: { name: 'adapter-test-big-drain', partitions: 1, replication: 3, minInsync: 2, uncleanElection: false },
      });
      const faults = faultsOf(session);
      try {
        const producer = await session.bench.producer({ index: 0, topic: 'input', ack: 'leader', retries: 5, idempotent: false, batching: true });
        const sends: Promise<unknown>[] = [];
        for (let seq = 0; seq < records; seq++) sends.push(producer.send({ id: `p0-${seq}`, producer: 0, seq, key: 'k' }));
        await Promise.all(sends);
        await producer.close();
        const stored = await session.drain();
        expect(stored).toHaveLength(records);
        expect(stored[records - 1]).toMatchObject({ topic: 'input', id: `p0-${records - 1}`, partition: 0, offset: records - 1 });
      } finally {
        await session.close();
      }
    },
    KAFKA_TEST_TIMEOUT_MS,
  );

  it.skipIf(skipKafka)(
    kafkaTitle('commits and aborts transactions as read-committed and read-uncommitted readers and the drain see them, and fences'),
    async () => {
      // One partition, so the offsets are known: three records, a commit marker, three records,
      // an abort marker, one record, a commit marker.
      const single = { partitions: 1, replication: 3, minInsync: 2, uncleanElection: false };
      const session = await (adapter as KafkaAdapter).open(
        openOptions('adapter-test-txn', {
          topic: { name: 'adapter-test-txn', ...single },
          outputTopic: { name: 'adapter-test-txn-output', ...single },
        }),
      );
      try {
        const options = { index: 0, topic: 'input', ack: 'all', retries: 5, idempotent: true, transactionalId: 'tx' } as const;
        const producer = await session.transactionalProducer(options);
        const send = (id: string, seq: number) => producer.send({ id, producer: 0, seq, key: 'k' });
        await producer.begin();
        for (const [seq, id] of ['c1', 'c2', 'c3'].entries()) await send(id, seq);
        await producer.commit();
        await producer.begin();
        for (const [seq, id] of ['a1', 'a2', 'a3'].entries()) await send(id, seq + 3);
        await producer.abort();
        await producer.begin();
        expect(await send('c4', 6)).toEqual({ partition: 0, offset: 8 });
        await producer.commit();
        // The coordinator writes the commit marker just after it answers the commit.
        await eventually('the commit marker', 30_000, async () => (await session.endOffsets()).get(0) === 10);

        // A successor with the same transactional id fences the producer: its open transaction
        // cannot commit.
        await producer.begin();
        await send('z1', 7);
        // The successor writes the pipeline output below; the transactional id is what fences.
        const successor = await session.transactionalProducer({ ...options, topic: 'output' });
        await expect(producer.commit()).rejects.toThrow();
        await producer.crash();

        const committed = await session.consumer({ index: 0, group: 'rc', isolation: 'read-committed', autoCommit: false, maxPollRecords: 50 });
        const uncommitted = await session.consumer({ index: 1, group: 'ru', isolation: 'read-uncommitted', autoCommit: false, maxPollRecords: 50 });
        const readCommitted = await consume(committed, 4, 90_000, false);
        const readUncommitted = await consume(uncommitted, 7, 90_000, true);
        expect(readCommitted.map((record) => record.id)).toEqual(['c1', 'c2', 'c3', 'c4']);
        expect(readUncommitted.map((record) => record.id).slice(0, 7)).toEqual(['c1', 'c2', 'c3', 'a1', 'a2', 'a3', 'c4']);
        // The position moves past the markers and the fenced transaction's record, to the end.
        const ends = await session.endOffsets();
        expect(ends).toEqual(new Map([[0, 12]]));
        expect(committed.acknowledgment(readCommitted).positions).toEqual(ends);

        // A pipeline step: the committed reader's offsets go into the successor's transaction,
        // with its output, and count as committed only once that transaction commits.
        await successor.begin();
        for (const record of readCommitted) await successor.send({ id: record.id, producer: 0, seq: record.offset, key: 'p0' });
        await successor.stageAck(committed, committed.acknowledgment(readCommitted));
        expect(await session.committedOffsets('rc')).toEqual(new Map());
        await successor.commit();
        // Like the markers, the offsets become visible once the coordinator has completed the commit.
        await eventually('the offsets of the transaction', 30_000, async () => (await session.committedOffsets('rc')).get(0) === 12);
        await successor.close();
        await committed.close();
        await uncommitted.close();

        const stored = await session.drain();
        const input = stored.filter((record) => record.topic === 'input');
        expect(input.map((record) => `${record.id}@${record.offset}${record.aborted === true ? ' aborted' : ''}`)).toEqual([
          'c1@0',
          'c2@1',
          'c3@2',
          'a1@4 aborted',
          'a2@5 aborted',
          'a3@6 aborted',
          'c4@8',
          // The fenced producer's transaction was aborted when its successor started.
          'z1@10 aborted',
        ]);
        expect(stored.filter((record) => record.topic === 'output').map((record) => record.id)).toEqual(['c1', 'c2', 'c3', 'c4']);
      } finally {
        await session.close();
      }
    },
    KAFKA_TEST_TIMEOUT_MS,
  );

  it.skipIf(skipKafka)(
    kafkaTitle('crashes the leader of a partition with SIGKILL, keeps acknowledging ack-all sends, restarts it and settles'),
    async () => {
      const session = await (adapter as KafkaAdapter).open(openOptions('adapter-test-crash'));
      const faults = faultsOf(session);
      try {
        const producer = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 10, idempotent: false });
        const send = (seq: number) => producer.send({ id: `p0-${seq}`, producer: 0, seq, key: `k${seq % 5}` });
        for (let seq = 0; seq < 10; seq++) await send(seq);

        const crashed = await faults.inject({ do: 'crash-broker', target: 'leader', partition: 0, count: 0 });
        console.log(`[kafka] ${crashed}`);
        const node = Number(/^crashed node (\d)/.exec(crashed)?.[1]);
        expect(crashed).toMatch(/^crashed node \d \(leader of partitions? [0-9, ]*0\b.*\) with SIGKILL$/);
        const crashStarted = Date.now();
        // With two of three replicas left, minInsync 2 is still met: sends go on after the election.
        for (let seq = 10; seq < 20; seq++) await send(seq);
        console.log(`[kafka] ten ack-all sends after the crash took ${Date.now() - crashStarted} ms`);
        const survivorPort = node === 1 ? BASE_PORT + 2 : BASE_PORT;
        await eventually(`the survivors dropping node ${node}`, 60_000, async () => {
          const live = (await describeCluster(HOST, survivorPort, 5_000)).brokers.map((broker) => broker.nodeId);
          return !live.includes(node);
        });

        const restarted = await faults.inject({ do: 'restart-broker', target: 'crashed', partition: 0, count: 0 });
        console.log(`[kafka] ${restarted}`);
        expect(restarted).toMatch(new RegExp(`^restarted node ${node}`));
        const settleStarted = Date.now();
        expect(await session.settle(120_000)).toBe(true);
        console.log(`[kafka] settled in ${Date.now() - settleStarted} ms`);
        expect(await faults.healAll()).toEqual([]);
        await producer.close();

        const stored = await session.drain();
        expect(stored.map((record) => record.id).sort()).toEqual(Array.from({ length: 20 }, (_, seq) => `p0-${seq}`).sort());
        expect(await faults.inject({ do: 'restart-broker', target: 'crashed', partition: 0, count: 0 })).toBe(
          'no crashed node: nothing to restart-broker',
        );
      } finally {
        await session.close();
      }
    },
    KAFKA_TEST_TIMEOUT_MS,
  );

  it.skipIf(skipKafka)(
    kafkaTitle('stalls the followers with SIGSTOP while ack-leader sends go on, records each replica log end, and continues them'),
    async () => {
      const session = await (adapter as KafkaAdapter).open(
        openOptions('adapter-test-stall', { topic: { name: 'adapter-test-stall', partitions: 1, replication: 3, minInsync: 1, uncleanElection: false } }),
      );
      const faults = faultsOf(session);
      try {
        const producer = await session.producer({ index: 0, topic: 'input', ack: 'leader', retries: 5, idempotent: false });
        const send = (seq: number) => producer.send({ id: `p0-${seq}`, producer: 0, seq, key: `k${seq % 5}` });
        for (let seq = 0; seq < 10; seq++) await send(seq);
        await eventually('every replica holding the first ten records', 30_000, async () => {
          const before = infos.length;
          await faults.inject({ do: 'restart-broker', target: 'crashed', partition: 0, count: 0 });
          const line = infos.slice(before).find((entry) => entry.startsWith('replicas: before restart-broker'));
          return line !== undefined && /log end offsets: node 1 10, node 2 10, node 3 10$/.test(line);
        });

        const stallStarted = Date.now();
        const stalled = await faults.inject({ do: 'stall-replication', target: 'followers', partition: 0, count: 0, durationMs: 1_500 });
        console.log(`[kafka] ${stalled}`);
        expect(stalled).toMatch(/^stalled replication to nodes \d, \d with SIGSTOP for 1500 ms, then SIGCONT$/);
        // Ack leader needs the leader alone: sends go on while the followers are stopped.
        for (let seq = 10; seq < 20; seq++) await send(seq);
        expect(Date.now() - stallStarted).toBeLessThan(1_500);
        const before = infos.length;
        await faults.inject({ do: 'restart-broker', target: 'crashed', partition: 0, count: 0 });
        const during = infos.slice(before).find((entry) => entry.startsWith('replicas: before restart-broker')) ?? '';
        console.log(`[kafka] ${during}`);
        expect(during).toMatch(/, ISR \[\d,\d,\d\], log end offsets: /);
        expect(during.match(/\(paused\)/g)).toHaveLength(2);
        expect(during).toMatch(/node \d 20/);

        await eventually('the stalled followers running and caught up again', 30_000, async () => {
          const mark = infos.length;
          await faults.inject({ do: 'restart-broker', target: 'crashed', partition: 0, count: 0 });
          const line = infos.slice(mark).find((entry) => entry.startsWith('replicas: before restart-broker'));
          return line !== undefined && /ISR \[\d,\d,\d\], log end offsets: node 1 20, node 2 20, node 3 20$/.test(line);
        });
        expect(infos.filter((line) => /^kafka: node \d: replication resumed after the stall \(SIGCONT\)$/.test(line))).toHaveLength(2);
        await producer.close();
        expect(await session.settle(60_000)).toBe(true);
      } finally {
        await session.close();
      }
    },
    KAFKA_TEST_TIMEOUT_MS,
  );

  it.skipIf(skipKafka)(
    kafkaTitle('loses acknowledgments through the proxy: retried sends store extra copies without idempotence, none with it'),
    async () => {
      const drops = () => infos.filter((line) => /^kafka-proxy: dropped the answer to Produce correlation \d+ from node \d$/.test(line));
      const session = await (adapter as KafkaAdapter).open(openOptions('adapter-test-drop-acks', { faults: ['drop-acks'] }));
      const proxyPorts = [0, 1, 2].map((index) => BASE_PORT + 7 + 2 * index);
      const faults = faultsOf(session);
      try {
        expect(infos).toContain(`kafka: clients connect through the drop-acks proxy at ${proxyPorts.map((port) => `${HOST}:${port}`).join(',')}`);
        const sendAll = async (producer: Producer, prefix: string, first: number, count: number) => {
          for (let seq = first; seq < first + count; seq++) await producer.send({ id: `${prefix}-${seq}`, producer: 0, seq, key: `k${seq % 6}` });
        };

        const plain = await session.producer({ index: 0, topic: 'input', ack: 'all', retries: 5, idempotent: false });
        await sendAll(plain, 'plain', 0, 6);
        const armed = await faults.inject({ do: 'drop-acks', target: 'leader', partition: 0, count: 2 });
        console.log(`[kafka] ${armed}`);
        expect(armed).toMatch(/^node \d \(leader of partitions? [0-9, ]*0\b.*\) will lose its next 2 answers to Produce, transaction and offset commit requests \(2 armed in the proxy\)$/);
        // Each send waits for its acknowledgment, so each Produce request carries one message; keys
        // k2 and k5 go to partition 0 (murmur2), so its leader gets a third of these sends.
        await sendAll(plain, 'plain', 6, 24);
        await plain.close();
        expect(drops()).toHaveLength(2);
        expect(await faults.healAll()).toEqual([]);

        const idempotent = await session.producer({ index: 1, topic: 'input', ack: 'all', retries: 5, idempotent: true });
        await sendAll(idempotent, 'idem', 0, 6);
        await faults.inject({ do: 'drop-acks', target: 'leader', partition: 0, count: 2 });
        await sendAll(idempotent, 'idem', 6, 24);
        await idempotent.close();
        expect(drops()).toHaveLength(4);
        // Armed again and never used up, the drop is undone by the heal.
        await faults.inject({ do: 'drop-acks', target: 1, partition: 0, count: 3 });
        expect(await faults.healAll()).toEqual(['node 2 stopped losing answers (3 were still to be lost)']);

        const stored = await session.drain();
        const copies = (prefix: string) => {
          const counts = new Map<string, number>();
          for (const record of stored) if (record.id.startsWith(`${prefix}-`)) counts.set(record.id, (counts.get(record.id) ?? 0) + 1);
          return counts;
        };
        const plainCopies = copies('plain');
        const idempotentCopies = copies('idem');
        console.log(`[kafka] stored ${stored.length} records; plain ids stored more than once: ${[...plainCopies].filter(([, n]) => n > 1).map(([id, n]) => `${id}×${n}`).join(', ')}`);
        // Nothing is lost either way; the two lost answers cost the plain producer two extra copies.
        expect([...plainCopies.keys()].sort()).toEqual(Array.from({ length: 30 }, (_, seq) => `plain-${seq}`).sort());
        expect([...plainCopies.values()].reduce((sum, n) => sum + n, 0) - plainCopies.size).toBe(2);
        expect([...idempotentCopies.keys()].sort()).toEqual(Array.from({ length: 30 }, (_, seq) => `idem-${seq}`).sort());
        expect([...idempotentCopies.values()].every((n) => n === 1)).toBe(true);
      } finally {
        await session.close();
      }
      // The session's proxy closed with it.
      for (const port of proxyPorts) expect(await portOpen(HOST, port)).toBe(false);
    },
    KAFKA_TEST_TIMEOUT_MS,
  );

  it.skipIf(skipKafka)(
    kafkaTitle('runs scenarios on a cluster given with --brokers, skipping those that need broker faults'),
    async () => {
      // The local cluster is up after the tests above; the command line connects to it by address.
      const bootstrap = [0, 2, 4].map((step) => `${HOST}:${BASE_PORT + step}`).join(',');
      const dir = await mkdtemp(join(tmpdir(), 'deliverycheck-kafka-brokers-'));
      try {
        const result = await execa(
          'node',
          [
            'bin/deliverycheck.js',
            'run',
            'suites/ordering/one-producer-one-key-in-order.yaml',
            'suites/producer-acks/ack-all-min-insync-2-survives-leader-crash.yaml',
            '--adapter',
            'kafka',
            '--brokers',
            bootstrap,
            '--json',
            join(dir, 'out.json'),
          ],
          { cwd: packageRoot(), reject: false, timeout: KAFKA_TEST_TIMEOUT_MS, env: { NO_COLOR: '1' } },
        );
        console.log(`[kafka] --brokers run exited ${result.exitCode}:\n${result.stdout}${result.stderr}`);
        expect([0, 1]).toContain(result.exitCode);
        const run = JSON.parse(await readFile(join(dir, 'out.json'), 'utf8')) as RunResult;
        expect(run.scenarios.map((scenario) => scenario.status)).toEqual([expect.stringMatching(/^(passed|failed)$/), 'skipped']);
        expect(run.scenarios[1]?.reason).toBe('adapter kafka lacks fault.crash-broker, fault.stall-replication');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    KAFKA_TEST_TIMEOUT_MS,
  );
});
