// A session of the kafka adapter: the topics of one scenario or benchmark run, the client threads
// it started, and, on the local cluster, the nodes its faults act on (nodes.ts).
//
// Each session creates its topics under the runner's names with a suffix unique to the session,
// and prefixes the consumer groups and transactional ids with the input topic's name, so that
// sessions on one cluster (a rerun, a killed run's leftovers) never share state. close() deletes
// the topics and groups it made.

import { randomBytes } from 'node:crypto';
import type {
  BenchExtension,
  BenchProducerOptions,
  Clock,
  Consumer,
  ConsumerOptions,
  OpenOptions,
  ProducerOptions,
  Session,
  StoredRecord,
  TopicRole,
  TopicSettings,
  TransactionalProducer,
  TransactionalProducerOptions,
} from '../contract.js';
import { KafkaAdmin } from './admin.js';
import { kafkaBareLoop } from './perf/bare-loop.js';
import {
  ClientThread,
  KafkaConsumer,
  KafkaProducer,
  KafkaTransactionalProducer,
  type ClientRegistry,
  type OffsetSource,
} from './clients.js';
import type { ClusterHandle } from './cluster/cluster.js';
import { describeError, THREAD_PROTOCOL_VERSION, type ClientEvent, type ClientSpec, type KafkaSecurity, type ProducerSpec } from './messages.js';
import type { KafkaProxy } from './proxy.js';
import { offsetBacklog } from '../offset-log.js';
import { wallClock } from '../local-cluster/node-acts.js';
import { KafkaNodes, SETTLE_CHECK_MS } from './nodes.js';

/** The internal topics whose replicas must also be in sync before the cluster counts as settled. */
const INTERNAL_TOPICS = ['__consumer_offsets', '__transaction_state'];
/** The same line from the same client within this window is kept once: kafkajs repeats itself. */
const REPEATED_INFO_WINDOW_MS = 1_000;

/** A kafka session, with the offsets its tests and the Kafka performance comparison read. */
export interface KafkaSessionView extends Session {
  readonly bench: BenchExtension;
  /** The offset after the last record (or marker) of each input partition, partition to offset. */
  endOffsets(): Promise<ReadonlyMap<number, number>>;
  /** The group's committed next offsets, partition to offset. */
  committedOffsets(group: string): Promise<ReadonlyMap<number, number>>;
}

/** The addresses of the local cluster's running nodes (all of them, should none run). */
function runningAddresses(cluster: ClusterHandle, addresses: readonly string[]): string[] {
  const running = cluster.nodes.flatMap((node, index) => (node.state === 'running' && addresses[index] !== undefined ? [addresses[index]] : []));
  return running.length > 0 ? running : [...addresses];
}

/** A session's drop-acks proxy, and how to close it and let the adapter forget it. */
export interface SessionProxy {
  readonly proxy: KafkaProxy;
  release(): Promise<void>;
}

export class KafkaSession implements KafkaSessionView, ClientRegistry {
  readonly clock: Clock;
  /** The local cluster's nodes; none on a user's cluster, where the adapter declares no broker fault. */
  readonly nodes: KafkaNodes | undefined;
  private readonly threads = new Set<ClientThread>();
  private readonly groups = new Set<string>();
  private readonly clientCounts = new Map<string, number>();
  private readonly lastInfo = new Map<string, { message: string; atMs: number }>();
  private firstTransactionalId: string | undefined;
  private closed = false;

  private constructor(
    /** Where the clients connect: the brokers, or the proxy ports in front of them. */
    private readonly brokers: readonly string[],
    private readonly security: KafkaSecurity,
    private readonly cluster: ClusterHandle | undefined,
    private readonly proxy: SessionProxy | undefined,
    private readonly admin: KafkaAdmin,
    private readonly input: TopicSettings,
    private readonly output: TopicSettings | undefined,
    private readonly options: OpenOptions,
  ) {
    this.clock = wallClock();
    this.nodes =
      cluster === undefined
        ? undefined
        : new KafkaNodes(cluster, admin, input.name, () => this.firstTransactionalId, options.seed, (message) => this.info('kafka', message), proxy?.proxy);
  }

  static async open(
    brokers: readonly string[],
    cluster: ClusterHandle | undefined,
    proxy: SessionProxy | undefined,
    options: OpenOptions,
    security: KafkaSecurity,
  ): Promise<KafkaSession> {
    const suffix = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const input = { ...options.topic, name: `${options.topic.name}-${suffix}` };
    const output = options.outputTopic === undefined ? undefined : { ...options.outputTopic, name: `${options.outputTopic.name}-${suffix}` };
    // The adapter's own client asks the nodes of its local cluster that run, when it has one.
    const addresses = cluster === undefined ? brokers : (): string[] => runningAddresses(cluster, brokers);
    const admin = new KafkaAdmin(addresses, `deliverycheck-admin-${suffix}`, security);
    try {
      await admin.connect();
      await admin.createTopic(input);
      if (output !== undefined) await admin.createTopic(output);
    } catch (error) {
      await admin.deleteQuietly([input.name, ...(output === undefined ? [] : [output.name])], []);
      await admin.disconnect();
      throw new Error(`setting up the topics on ${brokers.join(',')} failed: ${describeError(error)}`);
    }
    const where = cluster === undefined ? brokers.join(',') : `the local cluster ${cluster.bootstrap}${cluster.reused ? ' (already running)' : ''}`;
    options.info('kafka', `created topic ${input.name}${output === undefined ? '' : ` and ${output.name}`} on ${where}`);
    // The admin client above talks to the brokers directly; the scenario's clients go through the
    // proxy when there is one, so only their answers can be lost.
    const clientBrokers = cluster !== undefined && proxy !== undefined ? cluster.nodes.map((node) => `${cluster.host}:${node.proxyPort}`) : brokers;
    if (proxy !== undefined) options.info('kafka', `clients connect through the drop-acks proxy at ${clientBrokers.join(',')}`);
    return new KafkaSession(clientBrokers, security, cluster, proxy, admin, input, output, options);
  }

  // The registry the clients report to.

  add(thread: ClientThread): void {
    this.threads.add(thread);
  }

  delete(thread: ClientThread): void {
    this.threads.delete(thread);
  }

  info(source: string, message: string): void {
    const nowMs = performance.now();
    const last = this.lastInfo.get(source);
    if (last !== undefined && last.message === message && nowMs - last.atMs < REPEATED_INFO_WINDOW_MS) return;
    this.lastInfo.set(source, { message, atMs: nowMs });
    this.options.info(source, message);
  }

  private topicName(role: TopicRole): string {
    if (role === 'input') return this.input.name;
    if (this.output === undefined) throw new Error('this session has no output topic');
    return this.output.name;
  }

  private partitionsOf(role: TopicRole): number {
    return role === 'input' ? this.input.partitions : (this.output ?? this.input).partitions;
  }

  /** A client's name in the history, and its kafkajs clientId, unique per thread. */
  private clientName(base: string): { name: string; clientId: string } {
    const count = (this.clientCounts.get(base) ?? 0) + 1;
    this.clientCounts.set(base, count);
    return { name: count === 1 ? base : `${base}#${count}`, clientId: `deliverycheck-${base}-${count}` };
  }

  private async startThread(name: string, spec: ClientSpec, onEvent: (event: ClientEvent) => void): Promise<ClientThread> {
    if (this.closed) throw new Error('the session is closed');
    const thread = await ClientThread.start(name, spec, onEvent);
    // A run that ends in an error closes its session while actors may still be opening clients;
    // a client that started after the close would outlive it, and keep the process alive.
    if (this.closed) {
      await thread.terminate();
      throw new Error('the session closed while the client started');
    }
    this.add(thread);
    return thread;
  }

  private forwardLogs(name: string): (event: ClientEvent) => void {
    return (event) => {
      if (event.event === 'log') this.info(name, event.message);
    };
  }

  /** The benchmark's producers: padded values, batched requests, callback sends. */
  readonly bench: BenchExtension = {
    producer: (options) => this.producer(options),
    transactionalProducer: (options) => this.transactionalProducer(options),
    bareLoop: (options) =>
      kafkaBareLoop({ brokers: this.brokers, security: this.security, topic: this.input.name, partitions: this.input.partitions }, options),
  };

  async producer(options: ProducerOptions & BenchProducerOptions): Promise<KafkaProducer> {
    const { name, clientId } = this.clientName(`producer-${options.index}`);
    const thread = await this.startThread(name, this.producerSpec(options, clientId), this.forwardLogs(name));
    return new KafkaProducer(thread, this);
  }

  async transactionalProducer(options: TransactionalProducerOptions & BenchProducerOptions): Promise<TransactionalProducer> {
    const transactionalId = `${this.input.name}.${options.transactionalId}`;
    this.firstTransactionalId ??= transactionalId;
    const { name, clientId } = this.clientName(options.transactionalId);
    const thread = await this.startThread(name, this.producerSpec(options, clientId, transactionalId), this.forwardLogs(name));
    return new KafkaTransactionalProducer(thread, this, (consumer) => this.offsetSource(consumer));
  }

  /** What a producer's client thread is told; a transactional producer is idempotent too. */
  private producerSpec(options: ProducerOptions & BenchProducerOptions, clientId: string, transactionalId?: string): ProducerSpec {
    return {
      kind: 'producer',
      protocolVersion: THREAD_PROTOCOL_VERSION,
      brokers: this.brokers,
      security: this.security,
      clientId,
      topic: this.topicName(options.topic),
      partitions: this.partitionsOf(options.topic),
      ack: options.ack,
      retries: options.retries,
      idempotent: transactionalId !== undefined || options.idempotent,
      valueBytes: options.valueBytes ?? 0,
      batching: options.batching ?? false,
      ...(transactionalId !== undefined ? { transactionalId } : {}),
    };
  }

  private offsetSource(consumer: Consumer): OffsetSource {
    if (!(consumer instanceof KafkaConsumer)) throw new Error('a kafka transaction can only take the offsets of a kafka consumer');
    return consumer;
  }

  private kafkaGroup(group: string): string {
    return `${this.input.name}.${group}`;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    const { name, clientId } = this.clientName(`consumer-${options.index}`);
    const group = this.kafkaGroup(options.group);
    this.groups.add(group);
    const consumer = new KafkaConsumer(
      {
        name,
        group,
        topic: this.input.name,
        maxPollRecords: options.maxPollRecords,
        committedOrStart: () => this.committedOrStart(group),
      },
      this,
    );
    const thread = await this.startThread(
      name,
      {
        kind: 'consumer',
        protocolVersion: THREAD_PROTOCOL_VERSION,
        brokers: this.brokers,
        security: this.security,
        clientId,
        topic: this.input.name,
        group,
        readUncommitted: options.isolation === 'read-uncommitted',
        autoCommit: options.autoCommit,
      },
      consumer.onEvent,
    );
    consumer.attach(thread);
    return consumer;
  }

  private async committedOrStart(group: string): Promise<ReadonlyMap<number, number>> {
    const [committed, starts] = await Promise.all([
      this.admin.committedOffsets(group, this.input.name),
      this.admin.logStartOffsets(this.input.name),
    ]);
    return new Map([...starts].map(([partition, start]) => [partition, committed.get(partition) ?? start]));
  }

  endOffsets(): Promise<ReadonlyMap<number, number>> {
    return this.admin.highWatermarks(this.input.name);
  }

  committedOffsets(group: string): Promise<ReadonlyMap<number, number>> {
    return this.admin.committedOffsets(this.kafkaGroup(group), this.input.name);
  }

  async backlog(group: string): Promise<number> {
    const [ends, committed] = await Promise.all([this.endOffsets(), this.committedOffsets(group)]);
    return offsetBacklog(ends, committed);
  }

  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await this.nodes?.awaitRestarts(deadline);
    let problems: string[] = [];
    for (;;) {
      try {
        problems = await this.syncProblems();
      } catch (error) {
        problems = [`the cluster did not answer: ${describeError(error)}`];
      }
      if (problems.length === 0) return true;
      if (Date.now() + SETTLE_CHECK_MS >= deadline) {
        this.info('kafka', `not settled after ${timeoutMs} ms: ${problems.join('; ')}`);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_CHECK_MS));
    }
  }

  /** What keeps the cluster from being whole: a node down, a partition without a full ISR. */
  private async syncProblems(): Promise<string[]> {
    const problems: string[] = [];
    const expected = this.cluster?.nodes.map((node) => node.id) ?? [];
    for (const node of this.cluster?.nodes ?? []) {
      if (node.state !== 'running') problems.push(`node ${node.id} is ${node.state}`);
    }
    const live = await this.admin.liveBrokers();
    const missing = expected.filter((id) => !live.includes(id));
    if (missing.length > 0) problems.push(`the cluster does not list node ${missing.join(', ')} as live`);
    const topics = [this.input.name, ...(this.output === undefined ? [] : [this.output.name]), ...INTERNAL_TOPICS];
    for (const topic of await this.admin.existingTopicMetadata(topics)) {
      for (const partition of topic.partitions) {
        const label = `${topic.name} partition ${partition.partitionId}`;
        if (partition.leader < 0) problems.push(`${label} has no leader`);
        const inSync = new Set(partition.isr);
        if (partition.replicas.some((replica) => !inSync.has(replica))) {
          problems.push(`${label} has ISR [${partition.isr.join(', ')}] of replicas [${partition.replicas.join(', ')}]`);
        }
      }
    }
    return problems;
  }

  async drain(): Promise<readonly StoredRecord[]> {
    const stored = await this.admin.drain(this.input.name, 'input');
    // concat, not push(...): the output topic can hold more records than a call takes arguments.
    return this.output === undefined ? stored : stored.concat(await this.admin.drain(this.output.name, 'output'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Clients the runner did not close (a run that ended in an error) end as a crash would.
    await Promise.allSettled([...this.threads].map((thread) => thread.terminate()));
    this.threads.clear();
    try {
      await this.admin.deleteQuietly([this.input.name, ...(this.output === undefined ? [] : [this.output.name])], [...this.groups]);
      await this.admin.disconnect();
    } finally {
      // After the clients: closing it first would hand them connection errors for nothing.
      await this.proxy?.release();
    }
  }
}
