// The reference broker: a replicated, partitioned log in the manner of Apache Kafka, simulated.
//
// What it models, because each of these decides whether a delivery guarantee holds:
// - Brokers that crash (a killed process: its log survives, its unreplicated tail is lost to the
//   cluster once another replica leads), pause (requests queue and time out) and restart.
// - Per partition: a leader, followers that copy the leader's log by long-polling fetches, the
//   in-sync replica set (ISR), the high watermark (HW, the offset below which every ISR member
//   has the record), `minInsync` for ack `all`, leader epochs, and truncation of a rejoining
//   replica to the point where its log diverged from the leader's.
// - A controller that notices a lost broker after a session timeout and elects a new leader from
//   the ISR, or from any replica when unclean election is on.
// - Network partitions between brokers, and between brokers and the controller: a broker cut off
//   from the controller goes on with what it knew (network-partition.ts).
// - Consumer groups with generations, assignment, committed offsets and session timeouts
//   (groups.ts).
// Everything takes virtual time from the simulation, and every choice that could vary draws
// from its one seeded random source. The timings, error codes and the state of brokers and
// partitions are in state.ts, the followers' fetch loops and the leaders' ISR checks in
// replication.ts, the controller's fencing and elections in controller.ts, the crashes, pauses
// and stalls of broker processes in processes.ts, and the network partition in
// network-partition.ts.

import type { IsolationLevel } from '../../spec/vocabulary.js';
import type { TopicRole, TopicSettings } from '../../adapters/contract.js';
import { hashKey } from '../../core/random.js';
import { Defects } from './defects.js';
import { Replica, type ControlKind, type LogRecord } from './log.js';
import { Network, type Endpoint } from '../substrate/network.js';
import type { Simulation } from '../substrate/sim.js';
import { GroupCoordinator } from './groups.js';
import { Controller } from './controller.js';
import { NetworkPartition } from './network-partition.js';
import { BrokerProcesses } from './processes.js';
import { Replication } from './replication.js';
import {
  Broker,
  BrokerError,
  fmt,
  PartitionState,
  TIMING,
  type FetchResult,
  type Leadership,
  type ProduceRequest,
} from './state.js';

export { BrokerError, PartitionState, TIMING, type ErrorCode, type FetchResult, type ProduceRequest } from './state.js';

export interface ClusterOptions {
  readonly brokers: number;
  readonly topic: TopicSettings;
  readonly outputTopic?: TopicSettings;
  readonly info: (source: string, message: string) => void;
  readonly defects?: Defects;
}

export class Cluster {
  readonly brokers: Broker[];
  /** Every partition of every topic, input first; a partition's key is its place here. */
  readonly partitions: PartitionState[] = [];
  readonly topic: TopicSettings;
  readonly defects: Defects;
  /** The group coordinator: consumer groups, their members and committed offsets. */
  readonly groups: GroupCoordinator;
  /** The followers' fetch loops and the leaders' ISR checks. */
  private readonly replication: Replication;
  /** Fences lost brokers and elects leaders; the broker faults (processes.ts) call it too. */
  readonly controller: Controller;
  /** Crashes, restarts, pauses, power losses and stalls of broker processes. */
  private readonly processes: BrokerProcesses;
  readonly info: (source: string, message: string) => void;
  /** The most recently crashed and paused brokers, for the targets `crashed` and `paused`. */
  readonly crashedOrder: number[] = [];
  readonly pausedOrder: number[] = [];
  readonly network: Network;
  /**
   * The end of the controller and group coordinator. Clients always reach it; a network partition
   * cuts it off from the brokers outside the side that holds the controller quorum.
   */
  readonly controllerEndpoint: Endpoint;
  /** The partition fault: the links it cut, and what the brokers cut off from the controller believe. */
  readonly links: NetworkPartition;

  constructor(
    readonly sim: Simulation,
    options: ClusterOptions,
  ) {
    this.topic = options.topic;
    this.info = options.info;
    this.defects = options.defects ?? new Defects([]);
    this.groups = new GroupCoordinator(sim, this.info, this.defects, () => this.topicPartitions('input'));
    this.replication = new Replication(this);
    this.controller = new Controller(this);
    this.processes = new BrokerProcesses(this);
    this.network = new Network(sim, () => this.latency());
    this.links = new NetworkPartition(this);
    this.brokers = Array.from({ length: options.brokers }, (_, id) => new Broker(id, this.network.endpoint()));
    this.controllerEndpoint = this.network.endpoint();
    this.addTopic('input', options.topic);
    if (options.outputTopic !== undefined) this.addTopic('output', options.outputTopic);
    for (const broker of this.brokers) this.startBrokerLoops(broker);
  }

  private addTopic(role: TopicRole, settings: TopicSettings): void {
    const brokers = this.brokers.length;
    // Replicas are placed round-robin from a seeded starting broker, as Kafka's assignment does.
    const start = this.sim.random.int(0, brokers - 1);
    for (let p = 0; p < settings.partitions; p++) {
      const replicas = Array.from({ length: settings.replication }, (_, r) => (start + p + r) % brokers);
      const part = new PartitionState(this.partitions.length, role, p, settings, replicas);
      this.partitions.push(part);
      for (const b of replicas) this.broker(b).replicas.set(part.key, new Replica());
    }
  }

  /** The partitions of one topic, in partition order. */
  topicPartitions(role: TopicRole): PartitionState[] {
    return this.partitions.filter((part) => part.topic === role);
  }

  /** Partition `index` of a topic. */
  partitionOf(role: TopicRole, index: number): PartitionState {
    const part = this.partitions.find((candidate) => candidate.topic === role && candidate.index === index);
    if (part === undefined) throw new Error(`no partition ${index} in the ${role} topic`);
    return part;
  }

  // ---------------------------------------------------------------- network

  private latency(): number {
    return this.sim.random.between(TIMING.latencyMinMs, TIMING.latencyMaxMs);
  }

  broker(id: number): Broker {
    const broker = this.brokers[id];
    if (broker === undefined) throw new Error(`no broker ${id}`);
    return broker;
  }

  /**
   * Delivers work from endpoint `from` to a broker after one network hop on their connection. A
   * crashed broker refuses the connection (`onRefused` runs back at the sender after another
   * hop); a paused one queues the work, and runs it in arrival order when it resumes.
   */
  deliver(from: Endpoint, to: number, work: () => void, onRefused: () => void): void {
    const broker = this.broker(to);
    this.network.send(from, broker.endpoint, () => {
      if (broker.state === 'crashed') {
        this.network.send(broker.endpoint, from, onRefused);
      } else if (broker.state === 'paused') {
        broker.inbox.push(work);
      } else {
        work();
      }
    });
  }

  /**
   * Sends a reply from a broker back to endpoint `to` after one hop on their connection, unless
   * the broker's process died since (its incarnation changed) or is paused (then it leaves on
   * resume, after the replies queued before it).
   */
  replyFrom(brokerId: number, incarnation: number, to: Endpoint, send: () => void): void {
    const broker = this.broker(brokerId);
    if (broker.incarnation !== incarnation || broker.state === 'crashed') return;
    if (broker.state === 'paused') {
      broker.inbox.push(() => this.replyFrom(brokerId, incarnation, to, send));
      return;
    }
    this.network.send(broker.endpoint, to, send);
  }

  // ---------------------------------------------------------------- produce

  /**
   * Whether the drop-acks fault eats this successful answer of the broker: the work is done,
   * the acknowledgment never reaches the client.
   */
  dropAck(brokerId: number, what: string): boolean {
    const broker = this.broker(brokerId);
    if (broker.dropAcks <= 0) return false;
    broker.dropAcks--;
    this.info(`broker-${brokerId}`, `dropped the acknowledgment of ${what}`);
    return true;
  }

  /**
   * Handles a produce request at broker `brokerId` from the client at endpoint `from`. `reply`
   * runs at the client with the offset, or an error; with ack `none` it is never called.
   */
  produce(
    brokerId: number,
    from: Endpoint,
    request: ProduceRequest,
    reply: (result: number | BrokerError) => void,
  ): void {
    const broker = this.broker(brokerId);
    const part = this.partition(request.partition);
    const incarnation = broker.incarnation;
    const answer = (result: number | BrokerError): void => {
      if (request.ack === 'none') return;
      if (!(result instanceof BrokerError) && this.dropAck(brokerId, `${request.id} (offset ${result})`)) return;
      this.replyFrom(brokerId, incarnation, from, () => reply(result));
    };
    const leadership = this.leadershipAt(brokerId, part);
    if (leadership === undefined) {
      answer(new BrokerError('NOT_LEADER_OR_FOLLOWER'));
      return;
    }
    if (
      request.ack === 'all' &&
      leadership.isr.length < part.settings.minInsync &&
      !this.defects.has('ignore-min-insync')
    ) {
      answer(new BrokerError('NOT_ENOUGH_REPLICAS'));
      return;
    }
    const replica = this.replica(brokerId, part.key);
    if (request.pid !== undefined) {
      const verdict = this.checkSequence(replica, request);
      if (verdict instanceof BrokerError || typeof verdict === 'number') {
        if (typeof verdict === 'number') {
          this.info(`broker-${brokerId}`, `partition ${part.label}: dropped a resent ${request.id}, stored at offset ${verdict}`);
        }
        answer(verdict);
        return;
      }
    }
    const offset = replica.leo;
    replica.append({
      offset,
      epoch: leadership.epoch,
      id: request.id,
      producer: request.producer,
      seq: request.seq,
      key: request.key,
      ...(request.pid === undefined
        ? {}
        : { pid: request.pid, producerEpoch: request.producerEpoch ?? 0, pseq: request.pseq ?? 0 }),
      ...(request.txn === true ? { txn: true } : {}),
    });
    this.appended(leadership, offset, request.ack, answer);
  }

  /**
   * The idempotence check of an idempotent producer's write: undefined to append it, the offset
   * of the earlier copy for a resend (answered as a success without storing it again), or an
   * error for a fenced epoch or a gap in the sequence.
   */
  private checkSequence(replica: Replica, request: ProduceRequest): number | BrokerError | undefined {
    const entry = replica.producers.get(request.pid ?? -1);
    const epoch = request.producerEpoch ?? 0;
    const pseq = request.pseq ?? 0;
    if (entry === undefined) return undefined;
    if (epoch < entry.epoch) {
      return new BrokerError('INVALID_PRODUCER_EPOCH');
    }
    if (epoch > entry.epoch) return undefined;
    if (pseq <= entry.lastSeq) {
      if (this.defects.has('ignore-idempotence')) return undefined;
      return entry.recent.get(pseq) ?? new BrokerError('OUT_OF_ORDER_SEQUENCE_NUMBER');
    }
    if (pseq > entry.lastSeq + 1) return new BrokerError('OUT_OF_ORDER_SEQUENCE_NUMBER');
    return undefined;
  }

  /** After an append at the leader: wake followers, move the HW, and answer per ack mode. */
  private appended(
    part: Leadership,
    offset: number,
    ack: 'none' | 'leader' | 'all',
    answer: (result: number | BrokerError) => void,
  ): void {
    this.replication.wakeFetchers(part);
    this.advanceHighWatermark(part);
    if (ack === 'leader') answer(offset);
    else if (ack === 'all') {
      if (this.defects.has('ack-before-replication')) {
        answer(offset);
        return;
      }
      part.pending.push({ offset, reply: answer });
      this.completeAcks(part);
    }
  }

  /**
   * Appends a transaction marker at a partition's leader, as the transaction coordinator does,
   * and answers once the ISR has it (or with an error, for the coordinator to try again).
   */
  appendMarker(
    key: number,
    pid: number,
    producerEpoch: number,
    kind: ControlKind,
    reply: (result: number | BrokerError) => void,
  ): void {
    const part = this.partition(key);
    const leaderId = part.leader;
    // The coordinator writes to the leader the controller names; one cut off from the controller
    // counts as out of its reach here, and the coordinator tries again after the heal.
    if (leaderId === null || !this.usable(leaderId) || this.broker(leaderId).isolation !== undefined) {
      reply(new BrokerError('LEADER_NOT_AVAILABLE'));
      return;
    }
    const replica = this.replica(leaderId, key);
    const offset = replica.leo;
    replica.append({ offset, epoch: part.epoch, id: '', producer: -1, seq: -1, key: '', pid, producerEpoch, control: kind });
    this.appended(part, offset, 'all', reply);
  }

  /**
   * Moves the leader's HW to the smallest log end among the ISR, then completes acks. The
   * controller's view of a partition whose leader is cut off from it moves no HW: that leader
   * keeps its own (Isolation), and the controller's changes do not reach it.
   */
  advanceHighWatermark(part: Leadership): void {
    if (part.leader === null) return;
    if (part === this.partitions[part.key] && this.broker(part.leader).isolation !== undefined) return;
    const leader = this.replica(part.leader, part.key);
    let hw = leader.leo;
    for (const member of part.isr) {
      if (member === part.leader) continue;
      hw = Math.min(hw, part.followerLeo.get(member) ?? 0);
    }
    if (hw > leader.hw) leader.hw = hw;
    this.completeAcks(part);
  }

  private completeAcks(part: Leadership): void {
    if (part.leader === null || part.pending.length === 0) return;
    const hw = this.replica(part.leader, part.key).hw;
    // Writes wait in offset order: each was appended at the leader's log end, and a change of
    // leader answers and clears them all. So the writes the high watermark passed are a prefix,
    // and the common case (it passed none) costs one comparison, not a walk of every waiting write.
    let passed = 0;
    while (passed < part.pending.length && (part.pending[passed]?.offset ?? hw) < hw) passed++;
    if (passed === 0) return;
    const ready = part.pending.splice(0, passed);
    for (const pending of ready) {
      // Kafka answers NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below minInsync
      // while the write waited: the record is stored, yet the producer hears an error.
      pending.reply(
        part.isr.length >= part.settings.minInsync || this.defects.has('ignore-min-insync')
          ? pending.offset
          : new BrokerError('NOT_ENOUGH_REPLICAS_AFTER_APPEND'),
      );
    }
  }

  // ---------------------------------------------------------------- replication

  /** Starts a broker process's loops: its followers' fetches, its ISR checks, its page flushes. */
  startBrokerLoops(broker: Broker): void {
    const incarnation = broker.incarnation;
    for (const p of broker.replicas.keys()) this.replication.followerLoop(broker, p, incarnation);
    this.replication.isrCheckLoop(broker, incarnation);
    this.flushLoop(broker, incarnation);
  }

  /** The operating system writes dirty pages back now and then; on a power loss the rest is gone. */
  private flushLoop(broker: Broker, incarnation: number): void {
    this.sim.schedule(TIMING.flushIntervalMs, () => {
      if (broker.incarnation !== incarnation || broker.state === 'crashed') return;
      for (const replica of broker.replicas.values()) replica.flushed = replica.leo;
      this.flushLoop(broker, incarnation);
    });
  }

  // ---------------------------------------------------------------- faults (processes.ts)

  powerLoss(id: number): string {
    return this.processes.powerLoss(id);
  }

  stallReplication(id: number, durationMs: number): void {
    this.processes.stallReplication(id, durationMs);
  }

  endStall(id: number): boolean {
    return this.processes.endStall(id);
  }

  crash(id: number): void {
    this.processes.crash(id);
  }

  restart(id: number): void {
    this.processes.restart(id);
  }

  register(id: number): void {
    this.processes.register(id);
  }

  pause(id: number): void {
    this.processes.pause(id);
  }

  resume(id: number): void {
    this.processes.resume(id);
  }

  /**
   * One line on a partition for the history: its leader and epoch, ISR, high watermark and
   * every replica's log end, marking replicas whose broker is down, paused or stalled.
   */
  describeReplicas(part: PartitionState): string {
    const leader = part.leader === null ? 'no leader' : `leader ${part.leader} (epoch ${part.epoch})`;
    const hw = part.leader === null ? 'unknown' : `${this.replica(part.leader, part.key).hw}`;
    const ends = part.replicas.map((id) => {
      const broker = this.broker(id);
      const marks = [
        ...(broker.state === 'up' ? [] : [broker.state]),
        ...(broker.fenced ? ['fenced'] : []),
        ...(broker.stall !== undefined ? ['stalled'] : []),
        ...(broker.isolation !== undefined ? ['cut off'] : []),
      ];
      return `broker ${id} ${this.replica(id, part.key).leo}${marks.length > 0 ? ` (${marks.join(', ')})` : ''}`;
    });
    return `partition ${part.label}: ${leader}, ISR ${fmt(part.isr)}, high watermark ${hw}, log end offsets: ${ends.join(', ')}`;
  }

  // ---------------------------------------------------------------- reads

  partition(p: number): PartitionState {
    const part = this.partitions[p];
    if (part === undefined) throw new Error(`no partition ${p}`);
    return part;
  }

  replica(brokerId: number, p: number): Replica {
    const replica = this.broker(brokerId).replicas.get(p);
    if (replica === undefined) throw new Error(`broker ${brokerId} has no replica of partition ${p}`);
    return replica;
  }

  /**
   * Records a consumer may read at the leader from `offset`: up to the high watermark, or for
   * read-committed up to the last stable offset and without aborted records. Transaction
   * markers are never returned, yet `next` moves past them, as a Kafka consumer's position does.
   */
  fetch(brokerId: number, key: number, offset: number, max: number, isolation: IsolationLevel): FetchResult {
    const part = this.partition(key);
    if (this.leadershipAt(brokerId, part) === undefined) return { kind: 'error', code: 'NOT_LEADER_OR_FOLLOWER' };
    const leader = this.replica(brokerId, key);
    if (offset > leader.leo) return { kind: 'out-of-range', leo: leader.leo };
    const committedOnly = isolation === 'read-committed' && !this.defects.has('expose-uncommitted');
    let end = committedOnly ? leader.lso() : leader.hw;
    if (this.defects.has('read-above-high-watermark')) end = leader.leo;
    const records: LogRecord[] = [];
    let next = this.defects.has('duplicate-fetch') && offset > 0 ? offset - 1 : offset;
    while (next < end && records.length < max) {
      const record = leader.log[next] as LogRecord;
      next++;
      if (record.control !== undefined) continue;
      if (committedOnly && leader.aborted.has(record.offset)) continue;
      records.push(record);
    }
    return { kind: 'records', records, next };
  }

  /** The leader's high watermark of each partition of a topic, by partition number (0 when offline). */
  highWatermarks(role: TopicRole = 'input'): Map<number, number> {
    return new Map(
      this.topicPartitions(role).map((part) => [
        part.index,
        part.leader === null ? 0 : this.replica(part.leader, part.key).hw,
      ]),
    );
  }

  /** The key of the transaction coordinator's broker for an id: the first registered broker from its hash. */
  coordinatorFor(transactionalId: string): number | null {
    const count = this.brokers.length;
    const start = hashKey(transactionalId) % count;
    for (let i = 0; i < count; i++) {
      const candidate = (start + i) % count;
      if (!this.broker(candidate).fenced) return candidate;
    }
    return null;
  }

  /**
   * What broker `id` leads of the partition as it believes: the controller's view when the
   * controller chose it and has not fenced it, or, cut off from the controller, the leadership it
   * kept. Undefined when it does not lead the partition.
   */
  leadershipAt(id: number, part: PartitionState): Leadership | undefined {
    const broker = this.broker(id);
    if (broker.isolation !== undefined) return broker.isolation.leaderships.get(part.key);
    return part.leader === id && !broker.fenced ? part : undefined;
  }

  /** The partition's leader as broker `id` knows it: the controller's choice, or the last it heard. */
  leaderSeenBy(id: number, part: PartitionState): number | null {
    const isolation = this.broker(id).isolation;
    if (isolation === undefined) return part.leader;
    return isolation.leaderships.has(part.key) ? id : (isolation.leaders.get(part.key) ?? null);
  }

  /** Whether broker `id` knows it is fenced: cut off from the controller, it cannot hear that it was. */
  knowsFenced(id: number): boolean {
    const broker = this.broker(id);
    return broker.isolation === undefined ? broker.fenced : broker.isolation.fenced;
  }

  usable(id: number): boolean {
    const broker = this.broker(id);
    return broker.state === 'up' && !broker.fenced;
  }

  usableBroker(id: number): boolean {
    return this.usable(id);
  }

  /** True when every partition has a leader and every replica is in the ISR and caught up. */
  inSync(): boolean {
    return this.partitions.every((part) => {
      if (part.leader === null || !this.usable(part.leader)) return false;
      const leader = this.replica(part.leader, part.key);
      if (leader.hw !== leader.leo || leader.hasOpenTransactions()) return false;
      return part.replicas.every(
        (r) => this.usable(r) && part.isr.includes(r) && this.replica(r, part.key).leo === leader.leo,
      );
    });
  }
}
