// Unit tests of the order in which the reference broker's transactional producer stores its
// sends. Kafka's transactional producer appends records in send() order, and adds a partition
// new to the transaction (AddPartitionsToTxn) before the partition's first batch; sends made
// while that request is out must still take their sequence numbers in send() order, whichever
// answer comes back first.

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SendResult, TopicSettings } from '../../adapters/contract.js';
import { FaultDriver } from '../../harness/conformance/faults.js';
import { referenceAdapter } from '../../reference/adapter.js';
import { CLIENT_TIMING } from '../../reference/client-requests.js';
import { reorderedAtSeeds } from './reference-seeds.js';

const TRANSACTIONAL_SCENARIO = fileURLToPath(
  new URL('../fixtures/scenarios/model/transactional-in-flight-keeps-send-order.yaml', import.meta.url),
);

const TOPIC: TopicSettings = { name: 'orders', partitions: 1, replication: 3, minInsync: 2, uncleanElection: false };

describe('transactional producer', { timeout: 10_000 }, () => {
  it('stores sends made at once to a partition new to the transaction in send order, though the first AddPartitionsToTxn answer is lost', async () => {
    const info: string[] = [];
    const session = await referenceAdapter.open({
      seed: 3,
      brokers: 3,
      topic: TOPIC,
      defects: [],
      info: (source, text) => info.push(`${source}: ${text}`),
    });
    const producer = await session.transactionalProducer({
      index: 0,
      topic: 'input',
      ack: 'all',
      retries: 5,
      idempotent: true,
      transactionalId: 'orders-0',
    });
    await producer.begin();
    // The coordinator loses the answer to the first AddPartitionsToTxn: that send's request
    // times out and is asked again, while the answer to the second send's comes back at once.
    if (session.nodes === undefined) throw new Error('the reference broker controls its nodes');
    await new FaultDriver(session.nodes, (source, text) => info.push(`${source}: ${text}`)).inject({ do: 'drop-acks', target: 'coordinator', partition: 0, count: 1 });
    const startedMs = session.clock.now();
    const sends = ['m0', 'm1', 'm2'].map((id, seq) => producer.send({ id, producer: 0, seq, key: 'key' }));
    const results: SendResult[] = await Promise.all(sends);
    // The lost answer really cost the first send a request timeout: the situation under test.
    expect(info.some((line) => line.includes('dropped the acknowledgment of AddPartitionsToTxn'))).toBe(true);
    expect(session.clock.now() - startedMs).toBeGreaterThanOrEqual(CLIENT_TIMING.requestTimeoutMs);
    expect(results.map((result) => result.offset)).toEqual([0, 1, 2]);
    await producer.commit();
    expect(await session.settle(5_000)).toBe(true);
    const stored = (await session.drain()).filter((record) => !record.aborted).map((record) => record.id);
    expect(stored).toEqual(['m0', 'm1', 'm2']);
    await session.close();
  });
});

describe('transactional producers with five sends in flight, no faults and no aborts', { timeout: 60_000 }, () => {
  it('store no key out of send order at seeds 1 to 10', async () => {
    expect(await reorderedAtSeeds(TRANSACTIONAL_SCENARIO, 1, 10)).toEqual(Array.from({ length: 10 }, () => 0));
  });
});
