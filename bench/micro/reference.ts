// The reference broker's append and fetch path, in process, with ack all and three replicas.
// Two measurements, because they answer different questions:
// - data path: the leader's and both followers' Replica.append, the high watermark, and the
//   consumer's Cluster.fetch from the leader, called directly with no simulated time at all. This
//   is the cost of the log itself.
// - replicated: Cluster.produce with ack all at the leader, the followers copying the records by
//   their simulated fetches, the high watermark moving and the acknowledgments coming back, then
//   Cluster.fetch. Every network hop is an event of the simulation; events that settle no wait
//   run back to back, and a turn of Node's event loop comes between those that do (reference/substrate/sim.ts
//   explains why), so 1000 messages are produced before waiting for their acknowledgments.
// The reference broker's records carry ids and keys but no payload, so the message size does not
// enter either figure; "100-byte messages" has no meaning for it.

import { Bench } from 'tinybench';
import { BrokerError, Cluster } from '../../reference/broker/cluster.js';
import { Simulation } from '../../reference/substrate/sim.js';
import { describeTask, type MicroResult } from './table.js';

/** Messages per measured operation. */
const MESSAGES = 100_000;
const REPLICATED_MESSAGES = 100_000;
/** Messages produced before waiting for their acknowledgments. */
const BATCH = 1_000;
const FETCH_MAX = 500;

const ids = Array.from({ length: MESSAGES }, (_, seq) => `p0-${seq}`);

function openCluster(): { readonly sim: Simulation; readonly cluster: Cluster } {
  const sim = new Simulation(1);
  const cluster = new Cluster(sim, {
    brokers: 3,
    topic: { name: 'micro', partitions: 1, replication: 3, minInsync: 2, uncleanElection: false },
    info: () => undefined,
  });
  return { sim, cluster };
}

function leaderOf(cluster: Cluster): { readonly leaderId: number; readonly key: number; readonly epoch: number } {
  const part = cluster.partitions[0];
  if (part === undefined || part.leader === null) throw new Error('the micro-benchmark cluster has no leader');
  return { leaderId: part.leader, key: part.key, epoch: part.epoch };
}

/** Reads the partition from `from` to the high watermark as a consumer would; returns the records read. */
function fetchAll(cluster: Cluster, leaderId: number, key: number, from: number, to: number): number {
  let offset = from;
  let read = 0;
  while (offset < to) {
    const result = cluster.fetch(leaderId, key, offset, FETCH_MAX, 'read-uncommitted');
    if (result.kind !== 'records') throw new Error(`fetch at ${offset} failed: ${result.kind}`);
    read += result.records.length;
    offset = result.next;
  }
  return read;
}

function dataPath(): void {
  const { sim, cluster } = openCluster();
  const { leaderId, key, epoch } = leaderOf(cluster);
  const part = cluster.partitions[0];
  if (part === undefined) throw new Error('no partition');
  const leader = cluster.replica(leaderId, key);
  const replicas = part.replicas.map((id) => cluster.replica(id, key));
  for (let seq = 0; seq < MESSAGES; seq++) {
    const record = { offset: leader.leo, epoch, id: ids[seq] ?? '', producer: 0, seq, key: 'k1' };
    for (const replica of replicas) replica.append(record);
    // Every replica has it: the high watermark moves past it, as the followers' next fetches report.
    leader.hw = leader.leo;
  }
  const read = fetchAll(cluster, leaderId, key, 0, leader.hw);
  if (read !== MESSAGES) throw new Error(`read ${read} of ${MESSAGES} records`);
  sim.close();
}

async function replicated(): Promise<void> {
  const { sim, cluster } = openCluster();
  const { leaderId, key } = leaderOf(cluster);
  const client = cluster.network.endpoint();
  let read = 0;
  for (let sent = 0; sent < REPLICATED_MESSAGES; sent += BATCH) {
    await sim.wait<void>((resolve, reject) => {
      let waiting = BATCH;
      for (let seq = sent; seq < sent + BATCH; seq++) {
        cluster.produce(leaderId, client, { partition: key, id: ids[seq] ?? '', producer: 0, seq, key: 'k1', ack: 'all' }, (result) => {
          if (result instanceof BrokerError) reject(result);
          else if (--waiting === 0) resolve();
        });
      }
    });
    read += fetchAll(cluster, leaderId, key, read, cluster.replica(leaderId, key).hw);
  }
  if (read !== REPLICATED_MESSAGES) throw new Error(`read ${read} of ${REPLICATED_MESSAGES} records`);
  sim.close();
}

export async function referenceBenchmarks(): Promise<MicroResult[]> {
  const bench = new Bench({ time: 2_000, iterations: 5, warmupTime: 200, warmupIterations: 2, throws: true });
  bench.add('data path', dataPath);
  bench.add('replicated', replicated);
  await bench.run();
  const data = describeTask(bench, 'data path');
  const simulated = describeTask(bench, 'replicated');
  return [
    {
      name: 'reference append + fetch, data path',
      size: `${MESSAGES / 1000}k messages`,
      meanMs: data.meanMs,
      samples: data.samples,
      rate: MESSAGES / (data.meanMs / 1000),
      unit: 'msg',
      note: 'ack all, 3 replicas: Replica.append on leader and 2 followers, high watermark, Cluster.fetch; no simulated network',
    },
    {
      name: 'reference append + fetch, replicated',
      size: `${REPLICATED_MESSAGES / 1000}k messages`,
      meanMs: simulated.meanMs,
      samples: simulated.samples,
      rate: REPLICATED_MESSAGES / (simulated.meanMs / 1000),
      unit: 'msg',
      note: `ack all, 3 replicas: Cluster.produce, follower fetches and acks as simulated events, batches of ${BATCH}, Cluster.fetch`,
    },
  ];
}
