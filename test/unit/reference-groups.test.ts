// Unit tests of the reference broker's consumer groups: assignment, session timeouts, generations
// and the commits they fence, positions after a rebalance, the high watermark as the limit of
// what a consumer sees, and leaving a group. Commit-mode guarantees rest on exactly these rules:
// a replay after a rebalance is what at-least-once allows, a delivery above the high watermark
// would be a read of a write that may yet be lost.

import { describe, expect, it } from 'vitest';
import type { DeliveredRecord, TopicSettings } from '../../adapters/contract.js';
import { hashKey } from '../../core/random.js';
import { ClientClosed } from '../../reference/client-requests.js';
import { ReferenceProducer } from '../../reference/clients.js';
import { ReferenceConsumer } from '../../reference/consumer.js';
import { BrokerError, Cluster, TIMING } from '../../reference/broker/cluster.js';
import { Simulation } from '../../reference/substrate/sim.js';
import { TransactionCoordinator } from '../../reference/broker/transactions.js';
import type { AckMode } from '../../spec/vocabulary.js';

const GROUP = 'readers';

interface Rig {
  readonly sim: Simulation;
  readonly cluster: Cluster;
  /** Producers need one for their producer ids, even when they are not idempotent. */
  readonly coordinator: TransactionCoordinator;
  readonly info: string[];
}

function rig(seed: number, partitions: number): Rig {
  const sim = new Simulation(seed);
  const info: string[] = [];
  const topic: TopicSettings = { name: 'orders', partitions, replication: 3, minInsync: 2, uncleanElection: false };
  const cluster = new Cluster(sim, { brokers: 3, topic, info: (source, message) => info.push(`${source}: ${message}`) });
  return { sim, cluster, coordinator: new TransactionCoordinator(cluster), info };
}

/** Member ids are `consumer-<index>.1`; the assignment hands out partitions by sorted member id. */
function consumer({ cluster, coordinator, info }: Rig, index: number): ReferenceConsumer {
  return new ReferenceConsumer(
    cluster,
    coordinator,
    { index, group: GROUP, isolation: 'read-uncommitted', autoCommit: false, maxPollRecords: 100 },
    1,
    (source, message) => info.push(`${source}: ${message}`),
  );
}

function memberId(index: number): string {
  return `consumer-${index}.1`;
}

/** A key the reference producer sends to `partition`. */
function keyFor(partition: number, partitions: number): string {
  for (let i = 0; ; i++) if (hashKey(`key-${i}`) % partitions === partition) return `key-${i}`;
}

/** Writes `perPartition` messages to each partition, named `p<partition>-<n>`, and waits for every acknowledgment. */
async function produce(
  { cluster, coordinator, info }: Rig,
  perPartition: number,
  ack: AckMode = 'all',
  only?: readonly number[],
): Promise<void> {
  const producer = new ReferenceProducer(
    cluster,
    coordinator,
    { index: 0, topic: 'input', ack, retries: 0, idempotent: false },
    (source, message) => info.push(`${source}: ${message}`),
  );
  const partitions = cluster.partitions.length;
  const targets = only ?? Array.from({ length: partitions }, (_, p) => p);
  let seq = 0;
  for (const p of targets) {
    for (let n = 0; n < perPartition; n++) {
      await producer.send({ id: `p${p}-${n}`, producer: 0, seq: seq++, key: keyFor(p, partitions) });
    }
  }
}

function partitionsOf(records: readonly DeliveredRecord[]): number[] {
  return [...new Set(records.map((record) => record.partition))].sort();
}

function assignmentOf(cluster: Cluster, index: number): readonly number[] {
  return cluster.groups.group(GROUP).assignment.get(memberId(index)) ?? [];
}

/** Polls until `durationMs` of virtual time has passed, keeping the member alive in its group. */
async function pollFor(sim: Simulation, member: ReferenceConsumer, durationMs: number): Promise<DeliveredRecord[]> {
  const until = sim.now + durationMs;
  const delivered: DeliveredRecord[] = [];
  while (sim.now < until) delivered.push(...(await member.poll(10)));
  return delivered;
}

/** Two members joined, both in the latest generation. */
async function twoMembers(setup: Rig): Promise<[ReferenceConsumer, ReferenceConsumer]> {
  const first = consumer(setup, 0);
  const second = consumer(setup, 1);
  await first.poll(0);
  await second.poll(0);
  await first.poll(0);
  return [first, second];
}

describe('consumer groups', { timeout: 10_000 }, () => {
  it('splits the partitions between two members, each reading only its own', async () => {
    const setup = rig(101, 4);
    const { sim, cluster } = setup;
    const [first, second] = await twoMembers(setup);
    expect(assignmentOf(cluster, 0)).toEqual([0, 2]);
    expect(assignmentOf(cluster, 1)).toEqual([1, 3]);
    // Each member knows its partitions before it has read anything from them.
    expect(first.assignment()).toEqual(new Set([0, 2]));
    expect(second.assignment()).toEqual(new Set([1, 3]));
    await produce(setup, 3);
    const [fromFirst, fromSecond] = await Promise.all([pollFor(sim, first, 100), pollFor(sim, second, 100)]);
    expect(partitionsOf(fromFirst)).toEqual([0, 2]);
    expect(partitionsOf(fromSecond)).toEqual([1, 3]);
    expect(fromFirst.length + fromSecond.length).toBe(12);
    sim.close();
  });

  it("hands a crashed member's partitions to the others after the consumer session timeout, not before", async () => {
    const setup = rig(102, 4);
    const { sim, cluster, info } = setup;
    const [survivor, doomed] = await twoMembers(setup);
    const lastSeenMs = cluster.groups.group(GROUP).members.get(memberId(1))?.lastSeenMs ?? -1;
    await doomed.crash();
    while (assignmentOf(cluster, 0).length < 4) {
      await survivor.poll(10);
      expect(sim.now - lastSeenMs).toBeLessThan(1_000);
    }
    const silentFor = sim.now - lastSeenMs;
    expect(silentFor).toBeGreaterThan(TIMING.consumerSessionTimeoutMs);
    expect(silentFor).toBeLessThanOrEqual(TIMING.consumerSessionTimeoutMs + TIMING.groupCheckIntervalMs + 15);
    expect(info.some((line) => line.includes(`after ${memberId(1)} timed out`))).toBe(true);
    // The survivor now reads the partitions the crashed member had.
    await produce(setup, 1, 'all', [1, 3]);
    expect(partitionsOf(await pollFor(sim, survivor, 50))).toEqual([1, 3]);
    sim.close();
  });

  it('rejects a commit from a stale generation with REBALANCE_IN_PROGRESS and keeps the committed offsets', async () => {
    const setup = rig(103, 1);
    const { sim, cluster } = setup;
    const first = consumer(setup, 0);
    const second = consumer(setup, 1);
    await first.poll(0);
    await first.commit(new Map([[0, 0]]));
    // The second member's join starts a new generation the first has not heard of yet.
    await second.poll(0);
    const stale = first.commit(new Map([[0, 5]]));
    await expect(stale).rejects.toBeInstanceOf(BrokerError);
    await expect(stale).rejects.toMatchObject({ code: 'REBALANCE_IN_PROGRESS' });
    expect(cluster.groups.committed(GROUP)).toEqual(new Map([[0, 0]]));
    // Once it heard of the new generation (and still owns the partition), it commits again.
    await first.poll(0);
    await first.commit(new Map([[0, 5]]));
    expect(cluster.groups.committed(GROUP)).toEqual(new Map([[0, 5]]));
    sim.close();
  });

  it('restarts positions at the committed offset after a rebalance, so records read but not committed come again', async () => {
    const setup = rig(104, 1);
    const { sim, cluster } = setup;
    const reader = consumer(setup, 0);
    await reader.poll(0);
    await produce(setup, 10);
    const firstRead = await reader.poll(100);
    expect(firstRead.map((record) => record.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await reader.commit(new Map([[0, 4]]));
    // Without a rebalance the position stays where reading left it: nothing comes twice.
    expect(await reader.poll(0)).toEqual([]);
    // A second member joins; partition 0 stays with the first, which starts again at offset 4.
    await consumer(setup, 1).poll(0);
    expect(assignmentOf(cluster, 0)).toEqual([0]);
    const reread = await reader.poll(100);
    expect(reread.map((record) => record.offset)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(reread.map((record) => record.id)).toEqual(firstRead.slice(4).map((record) => record.id));
    sim.close();
  });

  it('never delivers a record above the high watermark', async () => {
    const setup = rig(105, 1);
    const { sim, cluster } = setup;
    const reader = consumer(setup, 0);
    await produce(setup, 2);
    // A paused follower holds the high watermark back while ack leader writes go on.
    const part = cluster.partition(0);
    const paused = part.replicas.find((r) => r !== part.leader) as number;
    cluster.pause(paused);
    const producer = new ReferenceProducer(
      cluster,
      setup.coordinator,
      { index: 1, topic: 'input', ack: 'leader', retries: 0, idempotent: false },
      () => undefined,
    );
    for (let i = 0; i < 3; i++) await producer.send({ id: `above-${i}`, producer: 1, seq: i, key: 'k' });
    const leader = cluster.replica(part.leader as number, 0);
    expect(leader.leo).toBe(5);
    expect(leader.hw).toBe(2);
    const early = await pollFor(sim, reader, 60);
    expect(early.map((record) => record.offset)).toEqual([0, 1]);
    // Once the paused follower leaves the ISR the high watermark moves and the rest comes.
    await sim.sleep(TIMING.brokerSessionTimeoutMs);
    expect(leader.hw).toBe(5);
    const late = await pollFor(sim, reader, 60);
    expect(late.map((record) => record.id)).toEqual(['above-0', 'above-1', 'above-2']);
    sim.close();
  });

  it('leaves the group at once on close(), and the remaining member takes over its partitions', async () => {
    const setup = rig(106, 4);
    const { sim, cluster, info } = setup;
    const [staying, leaving] = await twoMembers(setup);
    const generation = cluster.groups.group(GROUP).generation;
    const closedAt = sim.now;
    await leaving.close();
    // No session timeout: the member is gone as soon as close() returns.
    expect(sim.now - closedAt).toBeLessThan(5);
    expect(cluster.groups.group(GROUP).members.has(memberId(1))).toBe(false);
    expect(cluster.groups.group(GROUP).generation).toBe(generation + 1);
    expect(assignmentOf(cluster, 0)).toEqual([0, 1, 2, 3]);
    expect(info.some((line) => line.includes(`after ${memberId(1)} left`))).toBe(true);
    await produce(setup, 1);
    expect(partitionsOf(await pollFor(sim, staying, 50))).toEqual([0, 1, 2, 3]);
    await expect(leaving.poll(0)).rejects.toBeInstanceOf(ClientClosed);
    sim.close();
  });

  it('holds back a partition whose offsets an open transaction still holds, until it ends (KIP-447)', async () => {
    const setup = rig(108, 2);
    const { sim, cluster, coordinator } = setup;
    const [holder, other] = await twoMembers(setup);
    await produce(setup, 4);
    const heldPartition = assignmentOf(cluster, 0)[0] as number;
    // The holder's transaction carries offset 3 of its partition, and is not yet committed.
    const identity = coordinator.initProducerId('pipeline-x');
    if (identity instanceof BrokerError) throw identity;
    expect(coordinator.addOffsets('pipeline-x', identity, GROUP, holder.groupMetadata(), new Map([[heldPartition, 3]]))).toBeNull();
    await holder.crash();
    while (!assignmentOf(cluster, 1).includes(heldPartition)) await other.poll(10);
    // The new owner must not start from the older committed offset while the transaction may commit.
    const waiting = await pollFor(sim, other, 100);
    expect(waiting.filter((record) => record.partition === heldPartition)).toEqual([]);
    expect(other.positions().has(heldPartition)).toBe(false);
    expect(coordinator.endTxn('pipeline-x', identity, true)).toBeNull();
    const after = await pollFor(sim, other, 100);
    // It starts where the committed transaction left off: offset 3, not 0.
    expect(after.filter((record) => record.partition === heldPartition).map((record) => record.offset)).toEqual([3]);
    sim.close();
  });

  it('makes a crashed member reject polls and commits with ClientClosed', async () => {
    const setup = rig(107, 1);
    const { sim } = setup;
    const member = consumer(setup, 0);
    await member.poll(0);
    await member.crash();
    await expect(member.poll(0)).rejects.toBeInstanceOf(ClientClosed);
    await expect(member.commit(new Map([[0, 0]]))).rejects.toBeInstanceOf(ClientClosed);
    sim.close();
  });
});
