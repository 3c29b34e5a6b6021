// The kafka adapter: a real Apache Kafka cluster through the kafkajs client.
//
// Why kafkajs 2.2.4: it is pure JavaScript and runs on Node 20, the version deliverycheck
// supports. @platformatic/kafka needs Node 22, and @confluentinc/kafka-javascript needs a native
// build of librdkafka, which a plain `npm ci` on a CI runner should not depend on. kafkajs is
// pinned exactly, since admin.ts reaches one private factory of it (and says why).
//
// Without --brokers the adapter starts a local three-node KRaft cluster (cluster/cluster.ts) at
// the first open, keeps it for every scenario of the process, and stops it at dispose() or, at
// the latest, when the process exits; the cluster module's watchdog ends the JVMs even when the
// process is killed. Broker faults are real: crash-broker SIGKILLs the node that leads the
// partition (found with a metadata request), restart-broker starts it again on its own data,
// pause-broker and resume-broker send SIGSTOP and SIGCONT; stall-replication sends SIGSTOP to
// followers and SIGCONT after at most STALL_MAX_MS, short enough that they stay registered and in
// the ISR, since a process stopped that way cannot stop just its fetchers. drop-acks goes through a TCP proxy of
// our own (proxy.ts): a session whose scenario has drop-acks among its faults starts the proxy
// and bootstraps its clients through it (no other session pays for it), and the fault arms the
// proxy to swallow the target node's next answers to Produce and to transaction and offset commit
// requests and to close the connection, so the client retries a request the broker has already
// done. A user's cluster (--brokers) gets no broker faults: the adapter cannot reach its
// processes, nor route its listeners through a proxy.
//
// Not declared, so the scenarios that need them are skipped, never passed: partition would need
// the proxy to cut brokers off from each other too, and their replication does not pass it; and
// power-loss needs the unflushed page cache of a machine to vanish, which killing a process does
// not do.
//
// Each session creates its topics under the runner's names with a suffix unique to the session,
// and prefixes the consumer groups and transactional ids with the input topic's name, so that
// sessions on one cluster (a rerun, a killed run's leftovers) never share state. close() deletes
// the topics and groups it made.

import { randomBytes } from 'node:crypto';
import type {
  Adapter,
  BenchExtension,
  BenchProducerOptions,
  Clock,
  ClusterConnection,
  Consumer,
  ConsumerOptions,
  NodeControl,
  OpenOptions,
  ProducerOptions,
  Session,
  ShardObservation,
  StoredRecord,
  TopicRole,
  TopicSettings,
  TransactionalProducer,
  TransactionalProducerOptions,
} from '../contract.js';
import { Random } from '../../core/random.js';
import { BROKER_FAULT_CAPABILITIES, capabilitiesWithout } from '../../spec/vocabulary.js';
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
import { defaultClusterDir, environmentClusterOptions, startCluster, type ClusterHandle, type ClusterOptions } from './cluster/cluster.js';
import { describeTopics, replicaLogEnd, type PartitionView } from './cluster/protocol.js';
import { describeError, THREAD_PROTOCOL_VERSION, type ClientEvent, type ClientSpec, type KafkaSecurity, type ProducerSpec } from './messages.js';
import { KafkaProxy } from './proxy.js';
import { offsetBacklog } from '../offset-log.js';
import { LocalNodeActs, ProcessCluster, wallClock } from '../local-cluster/node-acts.js';

/**
 * On the local cluster: everything but network partitions (no network namespaces here yet) and
 * power loss (killing a process keeps the page cache, so nothing unflushed is lost).
 */
const LOCAL_CLUSTER_CAPABILITIES = capabilitiesWithout(['fault.partition', 'fault.power-loss']);
/** On a user's cluster the adapter controls no node: the client's capabilities and client faults only. */
const CLIENT_CAPABILITIES = capabilitiesWithout(BROKER_FAULT_CAPABILITIES);

/**
 * Finding a fault's target may take a metadata request that first meets a killed or paused
 * broker; naming the target's role afterwards is a decoration that gets less time.
 */
const TARGET_METADATA_BUDGET_MS = 15_000;
const ROLE_METADATA_BUDGET_MS = 2_000;
/** How long one node may take to answer one metadata request before it is asked again. */
const NODE_METADATA_TIMEOUT_MS = 3_000;
const SETTLE_CHECK_MS = 500;
/**
 * The longest stall-replication: well under the local cluster's broker.session.timeout.ms (4000)
 * and replica.lag.time.max.ms (5000), so the stopped followers stay registered and in the ISR,
 * with room for a loaded machine's late SIGCONT.
 */
export const STALL_MAX_MS = 2_000;
/** How long one node may take to tell its log end for the line recorded before each fault. */
const LOG_END_TIMEOUT_MS = 1_000;
/** The internal topics whose replicas must also be in sync before the cluster counts as settled. */
const INTERNAL_TOPICS = ['__consumer_offsets', '__transaction_state'];
/** The same line from the same client within this window is kept once: kafkajs repeats itself. */
const REPEATED_INFO_WINDOW_MS = 1_000;

export interface KafkaAdapterOptions {
  /** HOST:PORT of every broker of the user's cluster; without them a local cluster is started. */
  readonly brokers?: readonly string[];
  /** TLS and SASL for the user's cluster. */
  readonly security?: KafkaSecurity;
  /** Settings of the local cluster, such as another folder and ports (tests use their own). */
  readonly cluster?: ClusterOptions;
}

/** A kafka session, with the offsets its tests and the Kafka performance comparison read. */
export interface KafkaSessionView extends Session {
  readonly bench: BenchExtension;
  /** The offset after the last record (or marker) of each input partition, partition to offset. */
  endOffsets(): Promise<ReadonlyMap<number, number>>;
  /** The group's committed next offsets, partition to offset. */
  committedOffsets(group: string): Promise<ReadonlyMap<number, number>>;
}

/** The kafka adapter, with what it started for the process. */
export interface KafkaAdapter extends Adapter {
  open(options: OpenOptions): Promise<KafkaSessionView>;
  connect(connection: ClusterConnection): KafkaAdapter;
  dispose(): Promise<void>;
}

/** The local cluster's settings: the environment's folder and port, unless the options say otherwise. */
function localClusterOptions(options: ClusterOptions | undefined): ClusterOptions {
  return { ...environmentClusterOptions(), ...options };
}

/** Starts the drop-acks proxy of the local cluster; what it does is reported to the history. */
function startProxy(cluster: ClusterHandle, info: OpenOptions['info']): Promise<KafkaProxy> {
  return KafkaProxy.start({
    host: cluster.host,
    routes: cluster.nodes.map((node) => ({ nodeId: node.id, listenPort: node.proxyPort, targetPort: node.externalPort })),
    // Straight to the history, not through the session's filter of repeated lines: correlation
    // ids count per connection, so two drops may read alike and both must be kept.
    onDrop: (dropped) =>
      info('kafka-proxy', `dropped the answer to ${dropped.apiName} correlation ${dropped.correlationId} from node ${dropped.nodeId}`),
    onProblem: (message) => info('kafka-proxy', message),
  });
}

export function createKafkaAdapter(options: KafkaAdapterOptions = {}): KafkaAdapter {
  const external = options.brokers;
  const cluster = new ProcessCluster(() => startCluster({ reuse: true, ...localClusterOptions(options.cluster) }));
  /** Proxies of sessions not closed yet, which dispose() closes should the runner not have. */
  const openProxies = new Set<KafkaProxy>();

  return {
    name: 'kafka',
    description:
      external === undefined
        ? `Apache Kafka through kafkajs: a local 3-node KRaft cluster in ${options.cluster?.dataDir ?? process.env.DELIVERYCHECK_KAFKA_DIR ?? defaultClusterDir()}, started at first use (Java 17+)`
        : `Apache Kafka through kafkajs: the cluster at ${external.join(',')}${describeSecurity(options.security)}`,
    capabilities: external === undefined ? LOCAL_CLUSTER_CAPABILITIES : CLIENT_CAPABILITIES,
    retention: 'log',
    defects: [],

    async open(openOptions: OpenOptions): Promise<KafkaSessionView> {
      if (openOptions.defects.length > 0) throw new Error(`the kafka adapter has no defect ${openOptions.defects.join(', ')}`);
      const handle = external === undefined ? await cluster.get() : undefined;
      if (handle !== undefined && openOptions.brokers > handle.nodes.length) {
        throw new Error(`the scenario needs ${openOptions.brokers} brokers; the local Kafka cluster has ${handle.nodes.length}`);
      }
      // A scenario that ended in an error never reached its heal phase and may have left nodes
      // crashed or paused; every scenario starts on the whole cluster.
      if (handle !== undefined && handle.nodes.some((node) => node.state !== 'running')) {
        const healed = await handle.heal();
        openOptions.info('kafka', `before the scenario: ${healed.join(', ')}`);
      }
      const brokers = external ?? handle?.bootstrap.split(',') ?? [];
      const security = external === undefined ? {} : (options.security ?? {});
      const proxy = handle !== undefined && openOptions.faults?.includes('drop-acks') === true ? await startProxy(handle, openOptions.info) : undefined;
      if (proxy === undefined) return KafkaSession.open(brokers, handle, undefined, openOptions, security);
      openProxies.add(proxy);
      const release = async (): Promise<void> => {
        await proxy.close();
        openProxies.delete(proxy);
      };
      try {
        return await KafkaSession.open(brokers, handle, { proxy, release }, openOptions, security);
      } catch (error) {
        await release();
        throw error;
      }
    },

    connect(connection: ClusterConnection): KafkaAdapter {
      const { brokers, ...security } = connection;
      return createKafkaAdapter({ ...options, brokers, security });
    },

    async dispose(): Promise<void> {
      await Promise.all([...openProxies].map((proxy) => proxy.close()));
      openProxies.clear();
      // An owned cluster stops; one this process found running (kafka-cluster start) stays up.
      await cluster.release();
    },
  };
}

export const kafkaAdapter: KafkaAdapter = createKafkaAdapter();

/** " over TLS with SASL scram-sha-512 as alice", or nothing for a plain connection. */
function describeSecurity(security: KafkaSecurity | undefined): string {
  const parts: string[] = [];
  if (security?.tls !== undefined) parts.push('over TLS');
  if (security?.sasl !== undefined) parts.push(`with SASL ${security.sasl.mechanism} as ${security.sasl.username}`);
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

// ------------------------------------------------------------------------------- faults


/**
 * The local cluster's nodes, by node id (1..3), in the order of the scenario's broker indices:
 * index i is node i + 1. Every act waits for its effect: a killed JVM is gone, a paused one
 * stopped by the kernel.
 */
class KafkaNodes extends LocalNodeActs<ClusterHandle> implements NodeControl {
  readonly stallMaxMs = STALL_MAX_MS;
  /** The nodes stall-replication stopped, with the timer that continues each. */
  private readonly stalls = new Map<number, NodeJS.Timeout>();
  private readonly random: Random;

  constructor(
    cluster: ClusterHandle,
    private readonly admin: KafkaAdmin,
    private readonly inputTopic: string,
    private readonly firstTransactionalId: () => string | undefined,
    seed: number,
    /** Reports a fact for the history. */
    info: (message: string) => void,
    /** The session's drop-acks proxy, when its scenario has drop-acks. */
    private readonly proxy: KafkaProxy | undefined,
  ) {
    super(cluster, info);
    this.random = new Random(seed ^ 0x6b61666b);
  }

  /**
   * The partition as the cluster sees it (leader, ISR, each node's log end). A target that
   * depends on the roles gets time to find them; otherwise the line gets a moment at most: with
   * brokers down it can take seconds, which would move the fault.
   */
  async observe(shard: number, needsRoles: boolean): Promise<ShardObservation> {
    const [metadata, logEnds] = await Promise.all([
      needsRoles
        ? this.inputPartitions(TARGET_METADATA_BUDGET_MS)
        : Promise.race([
            this.inputPartitions(ROLE_METADATA_BUDGET_MS).catch(() => undefined),
            new Promise<undefined>((resolve) => setTimeout(resolve, ROLE_METADATA_BUDGET_MS)),
          ]),
      this.logEnds(shard),
    ]);
    const view = metadata?.find((entry) => entry.partition === shard);
    return {
      description: describePartition(shard, metadata, logEnds),
      ...(view === undefined ? {} : { shard: { leader: view.leader >= 0 ? view.leader : null, replicas: view.replicas } }),
      leaders: [...(metadata ?? [])]
        .sort((a, b) => a.partition - b.partition)
        .map((entry) => ({ label: `${entry.partition}`, leader: entry.leader >= 0 ? entry.leader : null })),
    };
  }

  async coordinator(): Promise<number | undefined> {
    const transactionalId = this.firstTransactionalId();
    return transactionalId === undefined ? undefined : this.admin.transactionCoordinator(transactionalId);
  }

  pick<T>(choices: readonly T[]): T {
    return this.random.pick(choices);
  }

  async dropAcks(id: number, count: number): Promise<string> {
    if (this.proxy === undefined) {
      throw new Error('drop-acks needs a session opened with drop-acks among its faults: only then do its clients connect through the proxy');
    }
    const armed = this.proxy.arm(id, count);
    return `will lose its next ${count} answers to Produce, transaction and offset commit requests (${armed} armed in the proxy)`;
  }

  /**
   * SIGSTOPs the nodes and SIGCONTs them after the duration. Everything in those processes
   * stops, not only their fetchers: what they lead and coordinate waits too, which is why the
   * bound is short and a scenario stalls the followers of a partition whose leader carries the
   * workload.
   */
  async stall(ids: readonly number[], durationMs: number): Promise<{ means: string; then: string }> {
    await Promise.all(ids.map((id) => this.cluster.pause(id)));
    for (const id of ids) {
      const timer = setTimeout(() => {
        if (this.stalls.get(id) !== timer) return;
        this.stalls.delete(id);
        if (this.cluster.node(id).state !== 'paused') return;
        this.cluster.resume(id).then(
          () => this.info(`node ${id}: replication resumed after the stall (SIGCONT)`),
          (error: unknown) => this.info(`node ${id} could not be resumed after its stall: ${describeError(error)}`),
        );
      }, durationMs);
      this.stalls.set(id, timer);
    }
    return { means: ' with SIGSTOP', then: ', then SIGCONT' };
  }

  /** Ends a stall's timer (the heal resumes the node itself) and disarms the node's lost answers. */
  async clear(id: number): Promise<readonly string[]> {
    const timer = this.stalls.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.stalls.delete(id);
    const left = this.proxy?.disarm(id) ?? 0;
    return left > 0 ? [`node ${id} stopped losing answers (${left} were still to be lost)`] : [];
  }

  /**
   * Each running node's log end of an input partition, asked of the node itself. A paused or
   * stopped node cannot answer, and a node without a replica answers an error; those say why.
   */
  private async logEnds(partition: number): Promise<ReadonlyMap<number, number | string>> {
    const host = this.cluster.bootstrap.split(',')[0]?.split(':')[0] ?? '127.0.0.1';
    const entries = await Promise.all(
      this.cluster.nodes.map(async (node): Promise<[number, number | string]> => {
        if (node.state !== 'running') return [node.id, node.state];
        try {
          return [node.id, await replicaLogEnd(host, node.clientPort, this.inputTopic, partition, LOG_END_TIMEOUT_MS)];
        } catch (error) {
          return [node.id, `unknown: ${describeError(error)}`];
        }
      }),
    );
    return new Map(entries);
  }

  /**
   * The input topic's partitions as a running node sees them. Every running node is asked at
   * once, straight over the wire with a short deadline each, and the first answer wins: a client
   * library's metadata request can go to a paused broker and wait out its whole request timeout,
   * which on a loaded machine was longer than the fault could wait.
   */
  private async inputPartitions(budgetMs: number): Promise<readonly PartitionView[]> {
    const host = this.cluster.bootstrap.split(',')[0]?.split(':')[0] ?? '127.0.0.1';
    const deadlineMs = Date.now() + budgetMs;
    let problem = 'no node is running';
    while (Date.now() < deadlineMs) {
      const attemptMs = Math.max(1, Math.min(NODE_METADATA_TIMEOUT_MS, deadlineMs - Date.now()));
      const running = this.cluster.nodes.filter((node) => node.state === 'running');
      try {
        return await Promise.any(
          running.map(async (node) => {
            const [topic] = await describeTopics(host, node.clientPort, [this.inputTopic], attemptMs);
            if (topic === undefined || topic.errorCode !== 0 || topic.partitions.length === 0) {
              throw new Error(`node ${node.id} answered error code ${topic?.errorCode ?? 'none'} for the topic`);
            }
            return topic.partitions;
          }),
        );
      } catch (error) {
        problem = error instanceof AggregateError ? error.errors.map(describeError).join('; ') || problem : describeError(error);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(SETTLE_CHECK_MS, Math.max(0, deadlineMs - Date.now()))));
    }
    throw new Error(`reading the metadata of ${this.inputTopic} failed within ${budgetMs} ms: ${problem}`);
  }
}

/**
 * The line recorded before each fault: the partition's leader and ISR as a running node's
 * metadata has them, and each node's log end as the node itself told it. Kafka's admin API has
 * no follower log ends (DescribeLogDirs gives sizes in bytes), so they are asked with ListOffsets
 * as a debugging replica; the high watermark and the controller's own view are not shown.
 */
function describePartition(
  partition: number,
  metadata: readonly PartitionView[] | undefined,
  logEnds: ReadonlyMap<number, number | string>,
): string {
  const view = metadata?.find((entry) => entry.partition === partition);
  const head =
    view === undefined
      ? `partition ${partition}: metadata unknown (no running node answered in time)`
      : `partition ${partition}: ${view.leader >= 0 ? `leader ${view.leader}` : 'no leader'}, ISR [${view.isr.join(',')}]`;
  const ends = [...logEnds].map(([node, end]) => `node ${node} ${typeof end === 'number' ? end : `(${end})`}`);
  return `${head}, log end offsets: ${ends.join(', ')}`;
}

/** The addresses of the local cluster's running nodes (all of them, should none run). */
function runningAddresses(cluster: ClusterHandle, addresses: readonly string[]): string[] {
  const running = cluster.nodes.flatMap((node, index) => (node.state === 'running' && addresses[index] !== undefined ? [addresses[index]] : []));
  return running.length > 0 ? running : [...addresses];
}

// ------------------------------------------------------------------------------- session

/** A session's drop-acks proxy, and how to close it and let the adapter forget it. */
interface SessionProxy {
  readonly proxy: KafkaProxy;
  release(): Promise<void>;
}

class KafkaSession implements KafkaSessionView, ClientRegistry {
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
