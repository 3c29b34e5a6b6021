// The nats adapter: NATS JetStream through the official nats.js clients (@nats-io/transport-node
// and @nats-io/jetstream).
//
// Without --brokers the adapter starts a local three-node cluster (cluster/cluster.ts) at the
// first open, or reuses one `nats:start` left running, keeps it for every scenario of the
// process, and stops what it started at dispose(); the cluster module's watchdogs end the servers
// even when the process is killed.
//
// The mapping: each scenario partition is an R3 stream with limits retention (what it stored
// stays until the session deletes it, so the drain reads every message by sequence without
// consuming it); a message's shard is its stream's index and its position the stream sequence.
// ack `all` is a JetStream publish that waits for the PubAck, which an R3 stream's leader sends
// once a quorum of two replicas has the message; ack `leader` is not declared, since JetStream
// has no acknowledgment from the leader alone. Idempotence is the Nats-Msg-Id header within the
// stream's duplicate window. A group is a durable pull consumer per stream, which the group's
// members share: JetStream has no per-member assignment, so every member pulls every shard, and
// a crashed member's unacknowledged messages come back to the others once their AckWait ends.
// There are no transactions.
//
// Broker faults are real: crash-broker SIGKILLs the server that leads the stream (as the servers'
// monitoring endpoints say), restart-broker starts it on its own store, pause and resume send
// SIGSTOP and SIGCONT. drop-acks goes through a proxy of our own (proxy.ts) between the producers
// and the servers, which swallows the PubAcks of the streams the target node leads.
//
// Not declared, so the scenarios that need them are skipped: stall-replication (a SIGSTOPped
// JetStream follower stops everything it does, and nats-server has no way to stop replication
// alone; a Kafka-style bounded stop would be a pause-broker under another name), power-loss
// (killing a process keeps the page cache), partition (no network namespaces yet), and the
// transactional capabilities.

import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type {
  BenchExtension,
  BenchProducerOptions,
  Adapter,
  Clock,
  ClusterConnection,
  ClusterSettings,
  Consumer,
  ConsumerOptions,
  OpenOptions,
  ProducerOptions,
  Session,
  StoredRecord,
  TopicRole,
  TopicSettings,
  TransactionalProducer,
} from '../contract.js';
import { BROKER_FAULT_CAPABILITIES, capabilitiesWithout, type Capability } from '../../spec/vocabulary.js';
import { messageIdOf, NatsConsumer, NatsProducer, streamMessages } from './clients.js';
import { defaultNatsClusterDir, environmentNatsClusterOptions, startNatsCluster, type NatsClusterHandle, type NatsClusterOptions } from './cluster/cluster.js';
import { NatsNodes, describeError } from './nodes.js';
import { ProcessCluster, wallClock } from '../local-cluster/node-acts.js';
import { natsBareLoop } from './bare-loop.js';
import { NatsAckProxy } from './proxy.js';

/** What no NATS cluster can do, with the reason beside each. */
const NEVER: readonly Capability[] = [
  // JetStream acknowledges a publish to an R3 stream once a quorum has it; there is no leader-only ack.
  'ack.leader',
  // JetStream has no transactions: no atomic writes, no transactional acknowledgments, no isolation.
  'producer.transactional',
  'commit.transactional',
  'isolation.read-committed',
];
/** On the local cluster: also no network partitions, power loss or stalled replication (see the head of this file). */
const LOCAL_CLUSTER_CAPABILITIES = capabilitiesWithout([...NEVER, 'fault.partition', 'fault.power-loss', 'fault.stall-replication']);
/** On a user's cluster the adapter controls no node: the client's capabilities and client faults only. */
const CLIENT_CAPABILITIES = capabilitiesWithout([...NEVER, ...BROKER_FAULT_CAPABILITIES]);

/**
 * How long a delivered message stays with the member it went to before the group delivers it to
 * another. A scenario's consumers acknowledge within milliseconds of a poll, so 5 s is far beyond
 * a healthy member's need, while a crashed member's messages come back within the runner's
 * catch-up (which waits up to 60 s after the heal).
 */
export const ACK_WAIT_MS = 5_000;
/**
 * The stream's duplicate window: a resend with the same Nats-Msg-Id within it is dropped. A send's
 * retries end within 25 s (clients.ts), so two minutes covers every resend of a scenario.
 */
const DUPLICATE_WINDOW_MS = 120_000;
/** How long an admin request (stream info, consumer info) waits for its answer. */
const ADMIN_TIMEOUT_MS = 5_000;
/**
 * How long an admin operation (creating a durable, reading a backlog, draining a stream) asks
 * again before it gives up: right after a node's crash or pause the admin connection may still
 * be on that node, and requests time out until it has moved to another (about 3 s), or the
 * stream's leader is being elected (several seconds; when the killed node also led the meta
 * group, both elections). A durable made at the moment of a leader's kill on a loaded 2-core
 * machine once took longer than 20 s, so the budget is what the runner's 30 s deadline leaves
 * after one more attempt's timeout.
 */
const ADMIN_BUDGET_MS = 25_000;
const SETTLE_CHECK_MS = 500;
/** How many stored messages the drain asks for at once. */
const DRAIN_CONCURRENCY = 32;
/** Messages an ordered consumer of the drain asks for at a time, and how long it waits for them. */
const DRAIN_BATCH = 1_000;
const DRAIN_FETCH_EXPIRES_MS = 2_000;
/** Fetches in a row that bring nothing before the drain asks for what is left by sequence. */
const DRAIN_EMPTY_FETCHES = 2;

export interface NatsAdapterOptions {
  /** HOST:PORT of the user's servers; without them a local cluster is started. */
  readonly connection?: ClusterConnection;
  /** Settings of the local cluster, such as another folder and ports (tests use their own). */
  readonly cluster?: NatsClusterOptions;
}

export interface NatsAdapter extends Adapter {
  connect(connection: ClusterConnection): NatsAdapter;
  dispose(): Promise<void>;
}

/** Why the settings cannot be honoured: the local cluster has three nodes, every stream three replicas and a quorum of two. */
export function natsCannotHonour(settings: ClusterSettings): string | undefined {
  if (settings.brokers !== 3) return `cluster.brokers ${settings.brokers}: the nats adapter runs three nodes`;
  if (settings.topic.replication !== 3) return `topic.replication ${settings.topic.replication}: the nats adapter makes every stream R3`;
  // minInsync bounds the acknowledgment of ack all alone; under the other modes the quorum
  // still stores every message, which no scenario's minInsync contradicts.
  if (settings.ack === 'all' && settings.topic.minInsync !== 2) {
    return `topic.minInsync ${settings.topic.minInsync}: an R3 JetStream stream acknowledges once its quorum of 2 has a message, no more and no fewer`;
  }
  if (settings.topic.uncleanElection) return 'topic.uncleanElection true: JetStream elects its leaders with Raft, which never elects a replica that lacks committed messages';
  return undefined;
}

/** Connection options for the user's cluster: TLS, and SASL PLAIN as NATS's user and password. */
function userConnectionOptions(connection: ClusterConnection): Partial<NodeConnectionOptions> {
  const options: { tls?: NodeConnectionOptions['tls']; user?: string; pass?: string } = {};
  if (connection.tls !== undefined) {
    const { ca, cert, key, rejectUnauthorized } = connection.tls;
    options.tls = { rejectUnauthorized, ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
  }
  if (connection.sasl !== undefined) {
    if (connection.sasl.mechanism !== 'plain') {
      throw new Error(`NATS has no SASL ${connection.sasl.mechanism}; give --sasl plain for a NATS user and password`);
    }
    options.user = connection.sasl.username;
    options.pass = connection.sasl.password;
  }
  return options;
}

export function createNatsAdapter(options: NatsAdapterOptions = {}): NatsAdapter {
  const external = options.connection;
  const cluster = new ProcessCluster(() => startNatsCluster({ reuse: true, ...environmentNatsClusterOptions(), ...options.cluster }));
  /** Proxies of sessions not closed yet, which dispose() closes should the runner not have. */
  const openProxies = new Set<NatsAckProxy>();

  return {
    name: 'nats',
    description:
      (external === undefined
        ? `NATS JetStream through nats.js: a local 3-node cluster in ${options.cluster?.dataDir ?? process.env.DELIVERYCHECK_NATS_DIR ?? defaultNatsClusterDir()}, started at first use`
        : `NATS JetStream through nats.js: the servers at ${external.brokers.join(',')}`) +
      '; one R3 stream (limits retention) per partition, positions are stream sequences; ack all is the PubAck of the R3 quorum ' +
      '(no leader-only ack, so no ack.leader); idempotence is Nats-Msg-Id in a 2-minute duplicate window; a group is a durable pull ' +
      `consumer per stream shared by its members (AckWait ${ACK_WAIT_MS / 1000} s, auto commit is AckNone); no transactions`,
    capabilities: external === undefined ? LOCAL_CLUSTER_CAPABILITIES : CLIENT_CAPABILITIES,
    retention: 'log',
    defects: [],
    cannotHonour: natsCannotHonour,

    async open(openOptions: OpenOptions): Promise<Session> {
      if (openOptions.defects.length > 0) throw new Error(`the nats adapter has no defect ${openOptions.defects.join(', ')}`);
      const handle = external === undefined ? await cluster.get() : undefined;
      // A scenario that ended in an error never reached its heal and may have left nodes down.
      if (handle !== undefined && handle.nodes.some((node) => node.state !== 'running')) {
        openOptions.info('nats', `before the scenario: ${(await handle.heal()).join(', ')}`);
      }
      const servers = external?.brokers ?? handle?.servers ?? [];
      const base: NodeConnectionOptions = {
        servers: [...servers],
        ...(external === undefined ? {} : userConnectionOptions(external)),
      };
      const proxy =
        handle !== undefined && openOptions.faults?.includes('drop-acks') === true
          ? await NatsAckProxy.start({
              host: handle.host,
              routes: handle.nodes.map((node) => ({ nodeId: node.id, targetPort: node.clientPort })),
              onDrop: (dropped) =>
                openOptions.info('nats-proxy', `dropped the PubAck of ${dropped.stream} sequence ${dropped.seq} (node ${dropped.nodeId} leads it)`),
            })
          : undefined;
      if (proxy !== undefined) openProxies.add(proxy);
      try {
        return await NatsSession.open(base, handle, proxy, openOptions, () => {
          if (proxy !== undefined) openProxies.delete(proxy);
        });
      } catch (error) {
        await proxy?.close();
        if (proxy !== undefined) openProxies.delete(proxy);
        throw error;
      }
    },

    connect(connection: ClusterConnection): NatsAdapter {
      userConnectionOptions(connection);
      return createNatsAdapter({ ...options, connection });
    },

    async dispose(): Promise<void> {
      await Promise.all([...openProxies].map((proxy) => proxy.close()));
      openProxies.clear();
      // An owned cluster stops; one this process found running (nats:start) stays up.
      await cluster.release();
    },
  };
}

export const natsAdapter: NatsAdapter = createNatsAdapter();

/** Stream names: letters, digits, '-' and '_' only (no '.', '*', '>' or white space). */
function streamSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

interface TopicStreams {
  readonly role: TopicRole;
  readonly streams: readonly string[];
  readonly subjects: readonly string[];
}

class NatsSession implements Session {
  readonly clock: Clock;
  readonly nodes: NatsNodes | undefined;
  private readonly clients = new Set<NatsProducer | NatsConsumer>();
  private readonly consumersOf = new Map<string, Set<NatsConsumer>>();
  /** The durable consumers made so far, by group, with whether they acknowledge nothing (AckNone). */
  private readonly durables = new Map<string, { readonly ackNone: boolean; readonly made: Promise<void> }>();
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
  }

  static async open(
    base: NodeConnectionOptions,
    cluster: NatsClusterHandle | undefined,
    proxy: NatsAckProxy | undefined,
    options: OpenOptions,
    forgetProxy: () => void,
  ): Promise<NatsSession> {
    const admin = await connectClient(base, 'deliverycheck-admin');
    const jsm = await jetstreamManager(admin, { timeout: ADMIN_TIMEOUT_MS });
    // Unique per session: a rerun with the same seed, or a killed run's leftovers, never share a stream.
    const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
    const topicStreams = (topic: TopicSettings, role: TopicRole): TopicStreams => {
      const streams = Array.from({ length: topic.partitions }, (_, shard) => streamSafe(`${topic.name}-${suffix}-p${shard}`));
      return { role, streams, subjects: streams.map((stream) => `${stream}.m`) };
    };
    const input = topicStreams(options.topic, 'input');
    const output = options.outputTopic === undefined ? undefined : topicStreams(options.outputTopic, 'output');
    const all = [input, ...(output === undefined ? [] : [output])];
    try {
      for (const topic of all) {
        for (const [shard, name] of topic.streams.entries()) {
          await jsm.streams.add({
            name,
            subjects: [topic.subjects[shard] as string],
            retention: RetentionPolicy.Limits,
            storage: StorageType.File,
            discard: DiscardPolicy.Old,
            num_replicas: 3,
            duplicate_window: nanos(DUPLICATE_WINDOW_MS),
          });
        }
      }
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

  /** The group's durable consumer on every input stream, made once per session. */
  private durable(group: string, ackNone: boolean): Promise<void> {
    const known = this.durables.get(group);
    if (known !== undefined) {
      if (known.ackNone !== ackNone) return Promise.reject(new Error(`group ${group} mixes automatic and explicit acknowledgments`));
      return known.made;
    }
    const made = (async () => {
      for (const stream of this.input.streams) {
        // Adding a durable with the same configuration again is no change, so a retry is safe.
        await retrying(`creating the durable consumer ${group} on ${stream}`, () =>
          this.jsm.consumers.add(stream, {
            durable_name: streamSafe(group),
            ack_policy: ackNone ? AckPolicy.None : AckPolicy.Explicit,
            ack_wait: nanos(ACK_WAIT_MS),
            deliver_policy: DeliverPolicy.All,
            max_ack_pending: -1,
          }),
        );
      }
    })();
    made.catch(() => this.durables.delete(group));
    this.durables.set(group, { ackNone, made });
    return made;
  }

  /**
   * Makes the group's durables, asking again until they exist or the session closes. A consumer
   * does not wait for them: a scenario's fault can take the JetStream meta leader's quorum away
   * for seconds right when its consumers open, which must delay their first deliveries, not fail
   * them. Its pull loops start once the durables exist (assignment() is empty until then). The
   * promise resolves then, or when the session closes.
   */
  private durableInBackground(group: string, ackNone: boolean): Promise<void> {
    return new Promise((resolve) => {
      const attempt = (): void => {
        if (this.closed) return resolve();
        this.durable(group, ackNone).then(resolve, (error: unknown) => {
          if (this.closed) return resolve();
          this.options.info('nats', `${describeError(error)}; asking again`);
          attempt();
        });
      };
      attempt();
    });
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    if (this.closed) throw new Error('the session is closed');
    // Without transactions nothing is ever uncommitted: read-committed is not declared, and the runner asks for it only where it is.
    const known = this.durables.get(options.group);
    if (known !== undefined && known.ackNone !== options.autoCommit) throw new Error(`group ${options.group} mixes automatic and explicit acknowledgments`);
    const durablesMade = this.durableInBackground(options.group, options.autoCommit);
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
    const members = this.consumersOf.get(options.group) ?? new Set();
    members.add(consumer);
    this.consumersOf.set(options.group, members);
    void connection.closed().then(() => members.delete(consumer));
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

  /**
   * Per stream, what the group's durable has not had acknowledged: messages it has not delivered
   * (num_pending) and those delivered and waiting for an ack (num_ack_pending). A stream the group
   * never consumed counts all its messages. With AckNone a delivery counts as acknowledged when
   * sent, so the deliveries waiting in the members' buffers are added.
   */
  async backlog(group: string): Promise<number> {
    let behind = 0;
    for (const stream of this.input.streams) {
      behind += await retrying(`reading the backlog of group ${group} on ${stream}`, () => this.streamBacklog(stream, streamSafe(group)));
    }
    if (this.durables.get(group)?.ackNone === true) {
      for (const member of this.consumersOf.get(group) ?? []) behind += member.buffered;
    }
    return behind;
  }

  private async streamBacklog(stream: string, durable: string): Promise<number> {
    try {
      const info = await this.jsm.consumers.info(stream, durable);
      return info.num_pending + info.num_ack_pending;
    } catch (error) {
      if (/consumer not found/i.test(describeError(error))) return streamMessages(this.jsm, stream);
      throw error;
    }
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

  /** Every stored message of every stream, read by sequence from the stream's leader; nothing is consumed. */
  async drain(): Promise<readonly StoredRecord[]> {
    const stored: StoredRecord[] = [];
    for (const topic of [this.input, ...(this.output === undefined ? [] : [this.output])]) {
      for (const [shard, stream] of topic.streams.entries()) {
        const { state } = await retrying(`reading the state of ${stream}`, () => this.jsm.streams.info(stream));
        const found = state.messages === 0 ? [] : await this.readStream(stream, shard, topic.role, state.first_seq, state.last_seq);
        // One at a time, not push(...found): a stream can hold more messages than a call takes arguments.
        for (const record of found) stored.push(record);
      }
    }
    return stored;
  }

  /**
   * Every stored message of a stream from `firstSeq` to `lastSeq`, without consuming: an ordered
   * consumer (ephemeral, no acknowledgments, so no group's durable moves) reads them in batches,
   * which at 300 000 messages took seconds where one request per sequence took minutes. What it
   * has not delivered when it stops getting messages is asked for by sequence, so a message is
   * never missed for the ordered consumer's sake.
   */
  private async readStream(stream: string, shard: number, role: TopicRole, firstSeq: number, lastSeq: number): Promise<StoredRecord[]> {
    const found: StoredRecord[] = [];
    const seen = new Set<number>();
    const keep = (payload: Uint8Array, seq: number): void => {
      if (seen.has(seq)) return;
      seen.add(seq);
      found.push({ id: messageIdOf(payload, shard, seq), partition: shard, offset: seq, topic: role });
    };
    let lastSeen = firstSeq - 1;
    try {
      const ordered = await this.jsm.jetstream().consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      for (let emptyFetches = 0; lastSeen < lastSeq && emptyFetches < DRAIN_EMPTY_FETCHES; ) {
        const batch = await ordered.fetch({ max_messages: DRAIN_BATCH, expires: DRAIN_FETCH_EXPIRES_MS });
        let got = 0;
        for await (const message of batch) {
          keep(message.data, message.seq);
          lastSeen = Math.max(lastSeen, message.seq);
          got++;
          if (message.seq >= lastSeq) break;
        }
        emptyFetches = got === 0 ? emptyFetches + 1 : 0;
      }
      await ordered.delete().catch(() => undefined);
    } catch (error) {
      this.options.info('nats', `reading ${stream} with an ordered consumer failed (${describeError(error)}); reading the rest by sequence`);
    }
    const missing: number[] = [];
    for (let seq = firstSeq; seq <= lastSeq; seq++) if (!seen.has(seq)) missing.push(seq);
    for (let at = 0; at < missing.length; at += DRAIN_CONCURRENCY) {
      const slice = missing.slice(at, at + DRAIN_CONCURRENCY);
      const messages = await Promise.all(
        slice.map((seq) => retrying(`reading ${stream} sequence ${seq}`, () => this.jsm.streams.getMessage(stream, { seq }).catch(noSuchMessage))),
      );
      for (const message of messages) if (message !== null) keep(message.data, message.seq);
    }
    found.sort((a, b) => a.offset - b.offset);
    return found;
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

/** The operation's value, asked again every half second until it answers or ADMIN_BUDGET_MS have passed. */
async function retrying<T>(what: string, operation: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ADMIN_BUDGET_MS;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (Date.now() + SETTLE_CHECK_MS + ADMIN_TIMEOUT_MS >= deadline) throw new Error(`${what} failed: ${describeError(error)}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_CHECK_MS));
    }
  }
}

/** A sequence the stream no longer holds (none does under limits retention, but a user may delete one). */
function noSuchMessage(error: unknown): null {
  if (/no message found/i.test(describeError(error))) return null;
  throw error;
}

async function deleteStreams(jsm: JetStreamManager, streams: readonly string[]): Promise<void> {
  await Promise.allSettled(streams.map((stream) => jsm.streams.delete(stream)));
}

/**
 * A client connection. It pings every second and counts the server gone after two missed pongs,
 * so a paused server (SIGSTOP keeps its sockets open) is left within about three seconds instead
 * of the default two minutes; it reconnects forever, every 250 ms, to whichever server answers;
 * and it ignores the servers' own lists of client URLs, so a producer behind the drop-acks proxy
 * never learns the servers' real ports.
 */
async function connectClient(base: NodeConnectionOptions, name: string): Promise<NatsConnection> {
  return connect({
    ...base,
    name,
    pingInterval: 1_000,
    maxPingOut: 2,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ignoreClusterUpdates: true,
    timeout: ADMIN_TIMEOUT_MS,
  });
}
