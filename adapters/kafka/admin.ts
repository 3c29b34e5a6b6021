// The kafka adapter's own view of the cluster, from the main thread: topics, offsets, partition
// metadata, the transaction coordinator, and the final drain read.
//
// kafkajs's admin client lists offsets with isolation level read_committed, which gives the last
// stable offset rather than the high watermark, and it has no way to read a partition without
// joining a consumer group. So next to the admin client this module uses a kafkajs Cluster with
// isolation level read_uncommitted, the object kafkajs builds its own clients on. kafkajs keeps its
// factory behind a private symbol; the adapter pins kafkajs to exactly 2.2.4, and internalCluster()
// fails with a clear message should a different version lack it.

import { Kafka, type Admin, type ITopicMetadata, type PartitionMetadata } from 'kafkajs';
import type { StoredRecord, TopicRole, TopicSettings } from '../contract.js';
import { describeError, KAFKA_TIMING, kafkaConfig, recordId, type KafkaSecurity } from './messages.js';

/** The part of a fetched record this module reads, as kafkajs 2.2.4 decodes it. */
interface FetchedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly batchContext: {
    readonly producerId: string;
    readonly inTransaction: boolean;
    readonly isControlBatch: boolean;
  };
}

interface FetchResponse {
  readonly responses: readonly {
    readonly topicName: string;
    readonly partitions: readonly {
      readonly partition: number;
      readonly highWatermark: string;
      readonly messages: readonly FetchedRecord[];
    }[];
  }[];
}

interface InternalBroker {
  fetch(request: {
    readonly isolationLevel: number;
    readonly maxWaitTime: number;
    readonly minBytes: number;
    readonly maxBytes: number;
    readonly topics: readonly {
      readonly topic: string;
      readonly partitions: readonly { readonly partition: number; readonly fetchOffset: string; readonly maxBytes: number }[];
    }[];
  }): Promise<FetchResponse>;
}

/** The methods of kafkajs's internal Cluster this module calls. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findBroker(node: { nodeId: string }): Promise<InternalBroker>;
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  findGroupCoordinatorMetadata(group: { groupId: string; coordinatorType: number }): Promise<{ coordinator: { nodeId: number } }>;
}

const ISOLATION_READ_UNCOMMITTED = 0;
/** Creating a topic and seeing its leaders elected, on a cluster that may have just started. */
const TOPIC_SETUP_BUDGET_MS = 60_000;
/** FindCoordinator's key type for a transactional id (0 is a consumer group). */
const COORDINATOR_TYPE_TRANSACTION = 1;
const DRAIN_FETCH_BYTES = 4 * 1024 * 1024;
/** Fetches that bring nothing new before the drain decides the partition cannot be read. */
const DRAIN_MAX_EMPTY_FETCHES = 50;
/** A control record's key is a version and a type; type 0 is an abort marker, 1 a commit marker. */
const CONTROL_TYPE_ABORT = 0;

function internalCluster(kafka: Kafka): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((candidate) => candidate.description === 'private:Kafka:createCluster');
  // The factory is a property of the Kafka instance under that symbol; it is read, not typed.
  const create = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof create !== 'function') {
    throw new Error('this kafkajs has no internal cluster factory; the kafka adapter needs kafkajs 2.2.4 exactly');
  }
  return create({ isolationLevel: ISOLATION_READ_UNCOMMITTED, allowAutoTopicCreation: false }) as InternalCluster;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * kafkajs 2.2.4 keeps a broker connection whose handshake failed (its ApiVersions request timed
 * out, as it does against a paused or just-started broker) as connected, but without the table
 * of request versions; every later request on it fails with "Broker not connected" until the
 * client disconnects. Only a reconnect helps.
 */
export function isStuckBroker(error: unknown): boolean {
  return error instanceof Error && error.message.includes('Broker not connected');
}

/** A request that got no answer, as from a paused broker; kafkajs may well ask the same broker again. */
function isUnanswered(error: unknown): boolean {
  return error instanceof Error && /timed out|Connection error|Closed connection/i.test(error.message);
}

/** Reconnecting interrupts whatever else is in flight, so it happens at most this often. */
const RECONNECT_COOLDOWN_MS = 2_000;

export class KafkaAdmin {
  private readonly admin: Admin;
  private readonly cluster: InternalCluster;
  private reconnecting: Promise<void> | undefined;
  private lastReconnectMs = 0;

  /**
   * `brokers` may be a function, asked at each connection: the adapter then names only the
   * nodes of its local cluster that run, so a reconnect never starts at a paused or crashed one.
   */
  constructor(brokers: readonly string[] | (() => string[]), clientId: string, security?: KafkaSecurity) {
    const kafka = new Kafka(kafkaConfig(brokers, clientId, 5, undefined, KAFKA_TIMING.adminRequestTimeoutMs, security));
    this.admin = kafka.admin({
      retry: { retries: 5, initialRetryTime: KAFKA_TIMING.initialRetryTimeMs, maxRetryTime: KAFKA_TIMING.maxRetryTimeMs },
    });
    this.cluster = internalCluster(kafka);
  }

  async connect(): Promise<void> {
    await this.admin.connect();
    await this.cluster.connect();
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([this.admin.disconnect(), this.cluster.disconnect()]);
  }

  /** Starts both clients afresh, with new connections to every broker; see isStuckBroker(). */
  private reconnect(): Promise<void> {
    this.reconnecting ??= (async () => {
      this.lastReconnectMs = Date.now();
      await this.disconnect();
      await Promise.allSettled([this.admin.connect(), this.cluster.connect()]);
    })().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  /**
   * Runs a read that depends on who leads what, again with fresh metadata while it fails, until
   * the budget is spent: during a fault a leader may be gone for the few seconds an election takes.
   */
  private async retrying<T>(what: string, budgetMs: number, read: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + budgetMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await read();
      } catch (error) {
        const pauseMs = Math.min(KAFKA_TIMING.initialRetryTimeMs * 2 ** attempt, KAFKA_TIMING.maxRetryTimeMs);
        if (Date.now() + pauseMs >= deadline) throw new Error(`${what} failed: ${describeError(error)}`);
        await sleep(pauseMs);
        // A stuck connection needs a new one; so does a broker that does not answer, since the
        // kafkajs would ask it again. Anything else may just be stale metadata.
        const reconnect = isStuckBroker(error) || (isUnanswered(error) && Date.now() - this.lastReconnectMs > RECONNECT_COOLDOWN_MS);
        if (reconnect) await this.reconnect();
        else await this.cluster.refreshMetadata().catch(() => undefined);
      }
    }
  }

  /**
   * Creates a topic and waits until every partition has a leader. Right after a cluster starts,
   * its brokers may not all know a new topic yet for a moment, so both steps are retried; the
   * names are unique to the session, so a topic that already exists is this session's own.
   */
  async createTopic(topic: TopicSettings): Promise<void> {
    await this.retrying(`creating topic ${topic.name}`, TOPIC_SETUP_BUDGET_MS, () =>
      this.admin.createTopics({
        waitForLeaders: false,
        timeout: KAFKA_TIMING.requestTimeoutMs,
        topics: [
          {
            topic: topic.name,
            numPartitions: topic.partitions,
            replicationFactor: topic.replication,
            configEntries: [
              { name: 'min.insync.replicas', value: String(topic.minInsync) },
              { name: 'unclean.leader.election.enable', value: String(topic.uncleanElection) },
            ],
          },
        ],
      }),
    );
    await this.retrying(`waiting for the leaders of ${topic.name}`, TOPIC_SETUP_BUDGET_MS, async () => {
      const [metadata] = await this.topicMetadata([topic.name], KAFKA_TIMING.operationBudgetMs);
      const led = (metadata?.partitions ?? []).filter((partition) => partition.leader >= 0).length;
      if (led < topic.partitions) throw new Error(`${led} of ${topic.partitions} partitions have a leader`);
    });
  }

  /** Deletes what a session created; a failure only leaves a topic or a group behind. */
  async deleteQuietly(topics: readonly string[], groups: readonly string[]): Promise<void> {
    await this.admin.deleteGroups([...groups]).catch(() => undefined);
    await this.admin.deleteTopics({ topics: [...topics], timeout: KAFKA_TIMING.requestTimeoutMs }).catch(() => undefined);
  }

  private partitionsOf(topic: string): { partition: number }[] {
    return this.cluster.findTopicPartitionMetadata(topic).map((entry) => ({ partition: entry.partitionId }));
  }

  private async listOffsets(topic: string, fromBeginning: boolean): Promise<Map<number, number>> {
    return this.retrying(`reading the ${fromBeginning ? 'start' : 'end'} offsets of ${topic}`, KAFKA_TIMING.operationBudgetMs, async () => {
      await this.cluster.addMultipleTargetTopics([topic]);
      const answer = await this.cluster.fetchTopicsOffset([{ topic, fromBeginning, partitions: this.partitionsOf(topic) }]);
      const offsets = new Map<number, number>();
      for (const entry of answer.find((candidate) => candidate.topic === topic)?.partitions ?? []) {
        offsets.set(entry.partition, Number(entry.offset));
      }
      return offsets;
    });
  }

  /** The high watermark of every partition: the offset after the last record or marker replicated to the ISR. */
  highWatermarks(topic: string): Promise<Map<number, number>> {
    return this.listOffsets(topic, false);
  }

  logStartOffsets(topic: string): Promise<Map<number, number>> {
    return this.listOffsets(topic, true);
  }

  /** The group's committed offsets of the topic; a partition it never committed is left out. */
  committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    // While the broker hosting the group's coordinator is down, asking fails for the seconds a
    // new coordinator takes to be elected and to load the group.
    return this.retrying(`reading the committed offsets of ${group}`, KAFKA_TIMING.operationBudgetMs, async () => {
      const answer = await this.admin.fetchOffsets({ groupId: group, topics: [topic] });
      const offsets = new Map<number, number>();
      for (const entry of answer.find((candidate) => candidate.topic === topic)?.partitions ?? []) {
        const offset = Number(entry.offset);
        if (offset >= 0) offsets.set(entry.partition, offset);
      }
      return offsets;
    });
  }

  /**
   * Fresh partition metadata (leader, replicas, ISR) of topics that exist. A broker that was
   * just killed or is paused may be asked first, hence the retries within the budget.
   */
  topicMetadata(topics: readonly string[], budgetMs: number = KAFKA_TIMING.operationBudgetMs): Promise<ITopicMetadata[]> {
    if (topics.length === 0) return Promise.resolve([]);
    return this.retrying(`reading the metadata of ${topics.join(', ')}`, budgetMs, async () => {
      const answer = await this.admin.fetchTopicMetadata({ topics: [...topics] });
      // kafkajs answers null instead of failing when no broker answered at all.
      if (answer === null || answer === undefined) throw new Error('no broker answered a metadata request');
      return answer.topics;
    });
  }

  /** The same for those of the topics that exist, such as internal topics made at first use. */
  async existingTopicMetadata(topics: readonly string[]): Promise<ITopicMetadata[]> {
    const existing = new Set(await this.retrying('listing the topics', KAFKA_TIMING.operationBudgetMs, () => this.admin.listTopics()));
    return this.topicMetadata(topics.filter((topic) => existing.has(topic)));
  }

  /** The node ids the cluster lists as live brokers. */
  liveBrokers(): Promise<number[]> {
    return this.retrying('listing the live brokers', KAFKA_TIMING.operationBudgetMs, async () => {
      const answer = await this.admin.describeCluster();
      return answer.brokers.map((broker) => broker.nodeId).sort((a, b) => a - b);
    });
  }

  /** The node hosting the transaction coordinator of a transactional id. */
  transactionCoordinator(transactionalId: string): Promise<number> {
    return this.retrying(`finding the coordinator of ${transactionalId}`, KAFKA_TIMING.operationBudgetMs, async () => {
      const answer = await this.cluster.findGroupCoordinatorMetadata({
        groupId: transactionalId,
        coordinatorType: COORDINATOR_TYPE_TRANSACTION,
      });
      return answer.coordinator.nodeId;
    });
  }

  /**
   * Reads every record of a topic from the log start to the high watermark, read_uncommitted, and
   * marks those of aborted transactions. A record is aborted when the next transaction marker of
   * its producer on its partition is an abort marker; one with no marker up to the high
   * watermark belongs to a transaction never completed, which counts as aborted too. This is the
   * log's own account, made from the markers, independent of the filtering a read_committed
   * client applies: a client that filters wrongly is then caught delivering aborted records.
   */
  async drain(topic: string, role: TopicRole): Promise<StoredRecord[]> {
    await this.cluster.addMultipleTargetTopics([topic]);
    await this.cluster.refreshMetadata();
    const starts = await this.logStartOffsets(topic);
    const partitions = this.partitionsOf(topic).sort((a, b) => a.partition - b.partition);
    const drained: StoredRecord[][] = [];
    for (const { partition } of partitions) drained.push(await this.drainPartition(topic, role, partition, starts.get(partition) ?? 0));
    // Not push(...records): a partition of a few hundred thousand records is more arguments
    // than a call can take, and the drain failed with "Maximum call stack size exceeded".
    return drained.flat();
  }

  private async drainPartition(topic: string, role: TopicRole, partition: number, start: number): Promise<StoredRecord[]> {
    const records: { record: StoredRecord; aborted: boolean }[] = [];
    /** Per producer id, the records of its transaction not yet closed by a marker. */
    const open = new Map<string, number[]>();
    let offset = start;
    let highWatermark = Number.POSITIVE_INFINITY;
    let emptyFetches = 0;
    const markAborted = (index: number, aborted: boolean): void => {
      const entry = records[index];
      if (entry !== undefined) entry.aborted = aborted;
    };
    while (offset < highWatermark) {
      const fetched = await this.retrying(`reading ${topic} partition ${partition} at offset ${offset}`, KAFKA_TIMING.operationBudgetMs, async () => {
        const leader = this.cluster.findTopicPartitionMetadata(topic).find((entry) => entry.partitionId === partition)?.leader;
        if (leader === undefined || leader < 0) throw new Error(`partition ${partition} has no leader`);
        const broker = await this.cluster.findBroker({ nodeId: String(leader) });
        const answer = await broker.fetch({
          isolationLevel: ISOLATION_READ_UNCOMMITTED,
          maxWaitTime: 0,
          minBytes: 0,
          maxBytes: DRAIN_FETCH_BYTES,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: DRAIN_FETCH_BYTES }] }],
        });
        const data = answer.responses.find((entry) => entry.topicName === topic)?.partitions.find((entry) => entry.partition === partition);
        if (data === undefined) throw new Error('the fetch answer does not hold the partition');
        return data;
      });
      highWatermark = Number(fetched.highWatermark);
      // A fetch returns whole record batches, so it may start before the offset asked for.
      const fresh = fetched.messages.filter((message) => Number(message.offset) >= offset && Number(message.offset) < highWatermark);
      if (fresh.length === 0) {
        if (offset < highWatermark && ++emptyFetches > DRAIN_MAX_EMPTY_FETCHES) {
          throw new Error(`reading ${topic} partition ${partition} made no progress at offset ${offset} (high watermark ${highWatermark})`);
        }
        continue;
      }
      emptyFetches = 0;
      for (const message of fresh) {
        const at = Number(message.offset);
        const producer = message.batchContext.producerId;
        if (message.batchContext.isControlBatch) {
          const abort = message.key !== null && message.key.length >= 4 && message.key.readInt16BE(2) === CONTROL_TYPE_ABORT;
          for (const index of open.get(producer) ?? []) markAborted(index, abort);
          open.delete(producer);
        } else {
          const index = records.length;
          records.push({ record: { topic: role, id: recordId(message.value, partition, at), partition, offset: at }, aborted: false });
          if (message.batchContext.inTransaction) {
            const pending = open.get(producer) ?? [];
            pending.push(index);
            open.set(producer, pending);
          }
        }
        offset = at + 1;
      }
    }
    // A transaction still open at the high watermark never completed.
    for (const pending of open.values()) for (const index of pending) markAborted(index, true);
    return records.map(({ record, aborted }) => (aborted ? { ...record, aborted: true } : record));
  }
}
