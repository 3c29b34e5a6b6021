// The reference broker as an adapter: the embedded default, deterministic under a seed.

import type {
  Adapter,
  BrokerFault,
  ConsumerOptions,
  FaultInjector,
  OpenOptions,
  ProducerOptions,
  Session,
  StoredRecord,
  TransactionalProducerOptions,
} from '../adapters/contract.js';
import type { Capability } from '../spec/vocabulary.js';
import { Cluster, TIMING } from './cluster.js';
import { ReferenceConsumer, ReferenceProducer, ReferenceTransactionalProducer } from './clients.js';
import { DEFECTS, Defects, isDefectName, type DefectName } from './defects.js';
import { Simulation } from './sim.js';
import { TransactionCoordinator } from './transactions.js';

const CAPABILITIES: readonly Capability[] = [
  'ack.none',
  'ack.leader',
  'ack.all',
  'commit.before-process',
  'commit.after-process',
  'commit.transactional',
  'commit.auto',
  'producer.idempotent',
  'producer.transactional',
  'isolation.read-committed',
  'fault.crash-broker',
  'fault.power-loss',
  'fault.pause-broker',
  'fault.drop-acks',
  'fault.stall-replication',
  'fault.crash-consumer',
  'fault.crash-producer',
];

/** How often settle() looks whether the replicas are back in sync, in virtual milliseconds. */
const SETTLE_CHECK_MS = 10;

class ReferenceFaults implements FaultInjector {
  /** The first transactional id a producer used: its coordinator is the target `coordinator`. */
  firstTransactionalId: string | undefined;

  constructor(private readonly cluster: Cluster) {}

  async inject(fault: BrokerFault): Promise<string> {
    const cluster = this.cluster;
    if (fault.do === 'partition' || fault.do === 'heal') {
      throw new Error(`the reference broker cannot ${fault.do} the network`);
    }
    // The partition as it is at the instant of the fault, for diagnosing a missed control.
    cluster.info('replicas', `before ${fault.do}: ${cluster.describeReplicas(cluster.partitionOf('input', fault.partition))}`);
    if (fault.do === 'stall-replication') return this.stall(fault);
    const target = this.resolve(fault);
    if (typeof target === 'string') return target;
    const role = describeRole(cluster, target);
    switch (fault.do) {
      case 'crash-broker':
        cluster.crash(target);
        return `crashed broker ${target}${role}`;
      case 'power-loss':
        return `broker ${target}${role} lost power: ${cluster.powerLoss(target)}`;
      case 'restart-broker':
        cluster.restart(target);
        return `restarted broker ${target}${role}`;
      case 'pause-broker':
        cluster.pause(target);
        return `paused broker ${target}${role}`;
      case 'resume-broker':
        cluster.resume(target);
        return `resumed broker ${target}${role}`;
      case 'drop-acks':
        cluster.broker(target).dropAcks += fault.count;
        return `broker ${target}${role} will drop its next ${fault.count} produce acknowledgments`;
    }
  }

  /** Stalls replication to the targeted followers for the fault's duration, capped by TIMING.stallMaxMs. */
  private stall(fault: BrokerFault): string {
    const cluster = this.cluster;
    const part = cluster.partitionOf('input', fault.partition);
    const followers = part.replicas.filter((r) => r !== part.leader && cluster.broker(r).state === 'up');
    let targets: number[];
    if (fault.target === 'followers') targets = followers;
    else {
      const one = this.resolve(fault);
      if (typeof one === 'string') return one;
      targets = [one];
    }
    if (targets.length === 0) return `partition ${fault.partition} has no live follower: nothing to ${fault.do}`;
    const asked = fault.durationMs ?? TIMING.stallMaxMs;
    const durationMs = Math.min(asked, TIMING.stallMaxMs);
    for (const id of targets) cluster.stallReplication(id, durationMs);
    const capped = asked > durationMs ? ` (asked ${asked} ms, capped at the safe bound)` : '';
    const names = targets.map((id) => `${id}`).join(', ');
    return `stalled replication to broker${targets.length > 1 ? 's' : ''} ${names} for ${durationMs} ms${capped}`;
  }

  /** The broker a fault's target names now, or a sentence saying why there is none. */
  private resolve(fault: BrokerFault): number | string {
    const cluster = this.cluster;
    const part = cluster.partitionOf('input', fault.partition);
    const up = (id: number): boolean => cluster.broker(id).state === 'up';
    switch (fault.target) {
      case 'coordinator': {
        const id = this.firstTransactionalId;
        const host = id === undefined ? null : cluster.coordinatorFor(id);
        return host ?? `no transaction coordinator is in use: nothing to ${fault.do}`;
      }
      case 'leader':
        return part.leader ?? `partition ${fault.partition} has no leader: nothing to ${fault.do}`;
      case 'follower':
      case 'followers': {
        const followers = part.replicas.filter((r) => r !== part.leader && up(r));
        return followers.length > 0
          ? cluster.sim.random.pick(followers)
          : `partition ${fault.partition} has no live follower: nothing to ${fault.do}`;
      }
      case 'any': {
        const live = cluster.brokers.filter((b) => b.state === 'up').map((b) => b.id);
        return live.length > 0 ? cluster.sim.random.pick(live) : `no live broker: nothing to ${fault.do}`;
      }
      case 'crashed':
        return cluster.crashedOrder.at(-1) ?? `no crashed broker: nothing to ${fault.do}`;
      case 'paused':
        return cluster.pausedOrder.at(-1) ?? `no paused broker: nothing to ${fault.do}`;
      default:
        return fault.target < cluster.brokers.length
          ? fault.target
          : `there is no broker ${fault.target}: nothing to ${fault.do}`;
    }
  }

  async healAll(): Promise<readonly string[]> {
    const done: string[] = [];
    for (const broker of this.cluster.brokers) {
      if (this.cluster.endStall(broker.id)) done.push(`replication to broker ${broker.id} resumed`);
      if (broker.dropAcks > 0) {
        broker.dropAcks = 0;
        done.push(`broker ${broker.id} stopped dropping acknowledgments`);
      }
      if (broker.state === 'paused') {
        this.cluster.resume(broker.id);
        done.push(`resumed broker ${broker.id}`);
      } else if (broker.state === 'crashed') {
        this.cluster.restart(broker.id);
        done.push(`restarted broker ${broker.id}`);
      }
    }
    return done;
  }
}

function describeRole(cluster: Cluster, id: number): string {
  const led = cluster.partitions.filter((part) => part.leader === id).map((part) => part.label);
  return led.length > 0 ? ` (leader of partition${led.length > 1 ? 's' : ''} ${led.join(', ')})` : '';
}

class ReferenceSession implements Session {
  readonly clock;
  readonly faults: ReferenceFaults;
  private readonly consumerInstances = new Map<number, number>();

  private readonly coordinator: TransactionCoordinator;

  constructor(
    private readonly sim: Simulation,
    private readonly cluster: Cluster,
    private readonly info: OpenOptions['info'],
  ) {
    this.clock = { now: () => sim.now, sleep: (ms: number) => sim.sleep(ms) };
    this.faults = new ReferenceFaults(cluster);
    this.coordinator = new TransactionCoordinator(cluster);
  }

  async producer(options: ProducerOptions): Promise<ReferenceProducer> {
    return new ReferenceProducer(this.cluster, this.coordinator, options, this.info);
  }

  async transactionalProducer(options: TransactionalProducerOptions): Promise<ReferenceTransactionalProducer> {
    this.faults.firstTransactionalId ??= options.transactionalId;
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

  async endOffsets(): Promise<ReadonlyMap<number, number>> {
    return this.cluster.highWatermarks('input');
  }

  async committedOffsets(group: string): Promise<ReadonlyMap<number, number>> {
    return this.cluster.committed(group);
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
  capabilities: new Set(CAPABILITIES),
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
