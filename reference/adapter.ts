// The reference broker as an adapter: the embedded default, deterministic under a seed.

import type {
  Adapter,
  ConsumerOptions,
  NodeControl,
  NodeInfo,
  OpenOptions,
  ProducerOptions,
  Session,
  ShardObservation,
  StoredRecord,
  TransactionalProducerOptions,
} from '../adapters/contract.js';
import { capabilitiesWithout } from '../spec/vocabulary.js';
import { offsetBacklog } from '../adapters/offset-log.js';
import { Cluster, TIMING } from './broker/cluster.js';
import { ReferenceProducer, ReferenceTransactionalProducer } from './clients.js';
import { ReferenceConsumer } from './consumer.js';
import { DEFECTS, Defects, isDefectName, type DefectName } from './broker/defects.js';
import { Simulation } from './substrate/sim.js';
import { TransactionCoordinator } from './broker/transactions.js';

/** How often settle() looks whether the replicas are back in sync, in virtual milliseconds. */
const SETTLE_CHECK_MS = 10;

/** The reference broker's brokers as nodes: every act is immediate, in virtual time. */
class ReferenceNodes implements NodeControl {
  readonly noun = 'broker';
  readonly stallMaxMs = TIMING.stallMaxMs;
  /** The first transactional id a producer used: its coordinator is the target `coordinator`. */
  firstTransactionalId: string | undefined;

  constructor(private readonly cluster: Cluster) {}

  nodes(): readonly NodeInfo[] {
    return this.cluster.brokers.map((broker) => ({ id: broker.id, state: broker.state === 'up' ? 'running' : broker.state }));
  }

  async observe(shard: number): Promise<ShardObservation> {
    const cluster = this.cluster;
    const part = cluster.partitionOf('input', shard);
    return {
      // The partition as it is at the instant of the fault, for diagnosing a missed control.
      description: cluster.describeReplicas(part),
      shard: { leader: part.leader, replicas: part.replicas },
      leaders: cluster.partitions.map((entry) => ({ label: entry.label, leader: entry.leader })),
    };
  }

  async coordinator(): Promise<number | undefined> {
    const id = this.firstTransactionalId;
    return (id === undefined ? null : this.cluster.coordinatorFor(id)) ?? undefined;
  }

  pick<T>(choices: readonly T[]): T {
    return this.cluster.sim.random.pick(choices);
  }

  async kill(id: number): Promise<string> {
    this.cluster.crash(id);
    return '';
  }

  async powerLoss(id: number): Promise<string> {
    return this.cluster.powerLoss(id);
  }

  async start(id: number): Promise<string> {
    this.cluster.restart(id);
    return '';
  }

  async pause(id: number): Promise<string> {
    this.cluster.pause(id);
    return '';
  }

  async resume(id: number): Promise<string> {
    this.cluster.resume(id);
    return '';
  }

  async dropAcks(id: number, count: number): Promise<string> {
    this.cluster.broker(id).dropAcks += count;
    return `will drop its next ${count} produce acknowledgments`;
  }

  /** Links between brokers of different groups drop what they carry; see broker/network-partition.ts. */
  async cut(groups: readonly (readonly number[])[]): Promise<string> {
    return this.cluster.links.cut(groups);
  }

  async heal(): Promise<string> {
    return this.cluster.links.heal();
  }

  /** Followers stop fetching; each stall ends by itself after its duration. */
  async stall(ids: readonly number[], durationMs: number): Promise<{ means: string; then: string }> {
    for (const id of ids) this.cluster.stallReplication(id, durationMs);
    return { means: '', then: '' };
  }

  async clear(id: number): Promise<readonly string[]> {
    const done: string[] = [];
    if (this.cluster.endStall(id)) done.push(`replication to broker ${id} resumed`);
    const broker = this.cluster.broker(id);
    if (broker.dropAcks > 0) {
      broker.dropAcks = 0;
      done.push(`broker ${id} stopped dropping acknowledgments`);
    }
    return done;
  }
}

class ReferenceSession implements Session {
  readonly clock;
  readonly nodes: ReferenceNodes;
  private readonly consumerInstances = new Map<number, number>();

  private readonly coordinator: TransactionCoordinator;

  constructor(
    private readonly sim: Simulation,
    private readonly cluster: Cluster,
    private readonly info: OpenOptions['info'],
  ) {
    this.clock = { now: () => sim.now, sleep: (ms: number) => sim.sleep(ms) };
    this.nodes = new ReferenceNodes(cluster);
    this.coordinator = new TransactionCoordinator(cluster);
  }

  async producer(options: ProducerOptions): Promise<ReferenceProducer> {
    return new ReferenceProducer(this.cluster, this.coordinator, options, this.info);
  }

  async transactionalProducer(options: TransactionalProducerOptions): Promise<ReferenceTransactionalProducer> {
    this.nodes.firstTransactionalId ??= options.transactionalId;
    const producer = new ReferenceTransactionalProducer(this.cluster, this.coordinator, options, this.info);
    await producer.init();
    return producer;
  }

  async consumer(options: ConsumerOptions): Promise<ReferenceConsumer> {
    // A restarted consumer is a new group member, as a restarted process would be.
    const instance = (this.consumerInstances.get(options.index) ?? 0) + 1;
    this.consumerInstances.set(options.index, instance);
    return new ReferenceConsumer(this.cluster, this.coordinator, options, instance, this.info);
  }

  async backlog(group: string): Promise<number> {
    return offsetBacklog(this.cluster.highWatermarks('input'), this.cluster.groups.committed(group));
  }

  async settle(timeoutMs: number): Promise<boolean> {
    const deadlineMs = this.sim.now + timeoutMs;
    while (!this.cluster.inSync() || this.coordinator.busy()) {
      if (this.sim.now >= deadlineMs) return false;
      await this.sim.sleep(SETTLE_CHECK_MS);
    }
    return true;
  }

  async drain(): Promise<readonly StoredRecord[]> {
    const records: StoredRecord[] = [];
    for (const part of this.cluster.partitions) {
      if (part.leader === null) continue;
      const leader = this.cluster.replica(part.leader, part.key);
      // A record of a transaction still open at the drain was never committed: it counts as aborted.
      const open = new Set([...leader.openTxns.values()].flat());
      for (const record of leader.log.slice(0, leader.hw)) {
        if (record.control !== undefined) continue;
        const aborted = leader.aborted.has(record.offset) || open.has(record.offset);
        records.push({
          topic: part.topic,
          id: record.id,
          partition: part.index,
          offset: record.offset,
          ...(aborted ? { aborted: true } : {}),
        });
      }
    }
    return records;
  }

  async close(): Promise<void> {
    this.sim.close('the session was closed');
  }
}

export const referenceAdapter: Adapter = {
  name: 'reference',
  description: 'the embedded reference broker: a simulated replicated log, deterministic under a seed',
  // Every capability: it models each one, network partitions included, and lacks none.
  capabilities: capabilitiesWithout([]),
  retention: 'log',
  defects: DEFECTS,
  async open(options: OpenOptions): Promise<Session> {
    const unknown = options.defects.filter((name) => !isDefectName(name));
    if (unknown.length > 0) throw new Error(`the reference broker has no defect ${unknown.join(', ')}`);
    const sim = new Simulation(options.seed);
    const cluster = new Cluster(sim, {
      brokers: options.brokers,
      topic: options.topic,
      ...(options.outputTopic === undefined ? {} : { outputTopic: options.outputTopic }),
      info: options.info,
      defects: new Defects(options.defects as DefectName[]),
    });
    return new ReferenceSession(sim, cluster, options.info);
  },
};
