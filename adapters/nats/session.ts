// A session of the nats adapter: the streams of one scenario or benchmark run (streams.ts), the
// clients it opened, its groups' durables (durables.ts), and, on the local cluster, the nodes its
// faults act on (nodes.ts) and the drop-acks proxy its producers connect through (proxy.ts).
// settle() waits until every node runs and every stream's replicas are current; the drain reads
// what the streams store (drain.ts); close() deletes the streams.

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
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
  TransactionalProducer,
} from '../contract.js';
import { wallClock } from '../local-cluster/node-acts.js';
import { natsBareLoop } from './bare-loop.js';
import { NatsConsumer, NatsProducer } from './clients.js';
import type { NatsClusterHandle } from './cluster/cluster.js';
import { ADMIN_TIMEOUT_MS, connectClient, SETTLE_CHECK_MS } from './connection.js';
import { drainStreams } from './drain.js';
import { GroupDurables } from './durables.js';
import { describeError, NatsNodes } from './nodes.js';
import type { NatsAckProxy } from './proxy.js';
import { addStreams, deleteStreams, sessionStreams, streamSafe, type TopicStreams } from './streams.js';

export class NatsSession implements Session {
  readonly clock: Clock;
  readonly nodes: NatsNodes | undefined;
  private readonly clients = new Set<NatsProducer | NatsConsumer>();
  private readonly groups: GroupDurables;
  private readonly counts = new Map<string, number>();
  private closed = false;

  private constructor(
    private readonly base: NodeConnectionOptions,
    private readonly admin: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly input: TopicStreams,
    private readonly output: TopicStreams | undefined,
    cluster: NatsClusterHandle | undefined,
    private readonly proxy: NatsAckProxy | undefined,
    private readonly options: OpenOptions,
    private readonly forgetProxy: () => void,
    seed: number,
  ) {
    this.clock = wallClock();
    this.nodes =
      cluster === undefined
        ? undefined
        : new NatsNodes(cluster, jsm, input.streams, [...input.streams, ...(output?.streams ?? [])], seed, (message) => options.info('nats', message), proxy);
    this.groups = new GroupDurables(jsm, input.streams, () => this.closed, (message) => options.info('nats', message));
  }

  static async open(
    base: NodeConnectionOptions,
    cluster: NatsClusterHandle | undefined,
    proxy: NatsAckProxy | undefined,
    options: OpenOptions,
    forgetProxy: () => void,
  ): Promise<NatsSession> {
    const admin = await connectClient(base, 'deliverycheck-admin');
    // A manager that cannot be had (JetStream not enabled, or no answer in time) must not leave
    // the admin connection open behind the error.
    const jsm = await jetstreamManager(admin, { timeout: ADMIN_TIMEOUT_MS }).catch(async (error: unknown) => {
      await admin.close().catch(() => undefined);
      throw error;
    });
    const { input, output } = sessionStreams(options);
    const all = [input, ...(output === undefined ? [] : [output])];
    try {
      await addStreams(jsm, all);
    } catch (error) {
      await deleteStreams(jsm, all.flatMap((topic) => topic.streams));
      await admin.close();
      throw new Error(`creating the streams on ${(base.servers as string[]).join(',')} failed: ${describeError(error)}`);
    }
    const where = cluster === undefined ? (base.servers as string[]).join(',') : `the local cluster ${cluster.servers.join(',')}${cluster.reused ? ' (already running)' : ''}`;
    options.info('nats', `created R3 streams ${all.flatMap((topic) => topic.streams).join(', ')} on ${where}`);
    if (proxy !== undefined) options.info('nats', `producers connect through the drop-acks proxy at ${proxy.addresses.join(',')}`);
    return new NatsSession(base, admin, jsm, input, output, cluster, proxy, options, forgetProxy, options.seed);
  }

  private clientName(base: string): string {
    const count = (this.counts.get(base) ?? 0) + 1;
    this.counts.set(base, count);
    return count === 1 ? base : `${base}#${count}`;
  }

  private topic(role: TopicRole): TopicStreams {
    if (role === 'input') return this.input;
    if (this.output === undefined) throw new Error('this session has no output topic');
    return this.output;
  }

  /**
   * The benchmark's producers: values padded to the workload's size. Batching is the client's
   * own (it pipelines publishes on one connection), so `batching` asks nothing more of it.
   */
  readonly bench: BenchExtension = {
    producer: (options) => this.producer(options),
    transactionalProducer: () => this.transactionalProducer(),
    // Straight to the servers: the drop-acks proxy is for scenario producers alone.
    bareLoop: (options) => natsBareLoop(this.base, this.input.subjects, options),
  };

  async producer(options: ProducerOptions & BenchProducerOptions): Promise<NatsProducer> {
    if (this.closed) throw new Error('the session is closed');
    const name = this.clientName(`producer-${options.index}`);
    // Only producers go through the drop-acks proxy: only their answers are to be lost.
    const servers = this.proxy?.addresses ?? this.base.servers;
    const connection = await connectClient({ ...this.base, ...(servers === undefined ? {} : { servers: [...servers] }) }, `deliverycheck-${name}`);
    const producer = new NatsProducer(connection, jetstream(connection), {
      subjects: this.topic(options.topic).subjects,
      ack: options.ack,
      retries: options.retries,
      idempotent: options.idempotent,
      valueBytes: options.valueBytes ?? 0,
      info: (message) => this.options.info(name, message),
    });
    return this.track(producer, connection);
  }

  async transactionalProducer(): Promise<TransactionalProducer> {
    throw new Error('the nats adapter has no transactions: JetStream cannot store several publishes all or none');
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    if (this.closed) throw new Error('the session is closed');
    // Without transactions nothing is ever uncommitted: read-committed is not declared, and the runner asks for it only where it is.
    const durablesMade = this.groups.forMember(options.group, options.autoCommit);
    const name = this.clientName(`consumer-${options.index}`);
    const connection = await connectClient(this.base, `deliverycheck-${name}`);
    const consumer = new NatsConsumer(connection, jetstream(connection), {
      streams: this.input.streams,
      durable: streamSafe(options.group),
      maxPollRecords: options.maxPollRecords,
      ackNone: options.autoCommit,
      durablesMade,
      info: (message) => this.options.info(name, message),
    });
    this.groups.join(options.group, consumer, connection);
    return this.track(consumer, connection);
  }

  private track<T extends NatsProducer | NatsConsumer>(client: T, connection: NatsConnection): T {
    if (this.closed) {
      void connection.close();
      throw new Error('the session closed while the client started');
    }
    this.clients.add(client);
    void connection.closed().then(() => this.clients.delete(client));
    return client;
  }

  /** What the group's durables have not had acknowledged (durables.ts says what counts). */
  backlog(group: string): Promise<number> {
    return this.groups.backlog(group);
  }

  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await this.nodes?.awaitRestarts(deadline);
    let problems: string[] = [];
    for (;;) {
      problems = await this.syncProblems().catch((error: unknown) => [`the cluster did not answer: ${describeError(error)}`]);
      if (problems.length === 0) return true;
      if (Date.now() + SETTLE_CHECK_MS >= deadline) {
        this.options.info('nats', `not settled after ${timeoutMs} ms: ${problems.join('; ')}`);
        return false;
      }
      await this.clock.sleep(SETTLE_CHECK_MS);
    }
  }

  /** What keeps the cluster from being whole: a node down, a stream without a leader or with a replica behind. */
  private async syncProblems(): Promise<string[]> {
    const problems: string[] = [];
    for (const node of this.nodes?.nodes() ?? []) {
      if (node.state !== 'running') problems.push(`node ${node.id} is ${node.state}`);
    }
    for (const topic of [this.input, ...(this.output === undefined ? [] : [this.output])]) {
      for (const stream of topic.streams) {
        const info = await this.jsm.streams.info(stream);
        const cluster = info.cluster;
        if (cluster?.leader === undefined || cluster.leader === '') {
          problems.push(`${stream} has no leader`);
          continue;
        }
        const replicas = cluster.replicas ?? [];
        if (replicas.length < 2) problems.push(`${stream} lists ${replicas.length} replicas besides its leader ${cluster.leader}`);
        for (const replica of replicas) {
          if (!replica.current || replica.offline || replica.lag > 0) {
            problems.push(`${stream} replica ${replica.name} is ${replica.offline ? 'offline' : replica.current ? `${replica.lag} behind` : 'not current'}`);
          }
        }
      }
    }
    return problems;
  }

  /** Every stored message of every stream, without consuming (drain.ts). */
  drain(): Promise<readonly StoredRecord[]> {
    return drainStreams(this.jsm, [this.input, ...(this.output === undefined ? [] : [this.output])], (message) => this.options.info('nats', message));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Clients the runner did not close (a run that ended in an error) end as a crash would.
    await Promise.allSettled([...this.clients].map((client) => client.crash()));
    this.clients.clear();
    try {
      await deleteStreams(this.jsm, [...this.input.streams, ...(this.output?.streams ?? [])]);
      await this.admin.close();
    } finally {
      await this.proxy?.close();
      this.forgetProxy();
    }
  }
}
