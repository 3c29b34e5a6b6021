// The local Kafka cluster's nodes as the harness sees them (NodeControl): the fault acts on them,
// and the line about the input partition recorded before each fault. adapter.ts says what each
// fault does to a broker, and why.

import type { NodeControl, ShardObservation } from '../contract.js';
import { Random } from '../../core/random.js';
import type { KafkaAdmin } from './admin.js';
import type { ClusterHandle } from './cluster/cluster.js';
import { describeTopics, replicaLogEnd, type PartitionView } from './cluster/protocol.js';
import { describeError } from './messages.js';
import type { KafkaProxy } from './proxy.js';
import { LocalNodeActs } from '../local-cluster/node-acts.js';

/**
 * Finding a fault's target may take a metadata request that first meets a killed or paused
 * broker; naming the target's role afterwards is a decoration that gets less time.
 */
const TARGET_METADATA_BUDGET_MS = 15_000;
const ROLE_METADATA_BUDGET_MS = 2_000;
/** How long one node may take to answer one metadata request before it is asked again. */
const NODE_METADATA_TIMEOUT_MS = 3_000;
/** How long to wait before asking the cluster again, here for metadata and in a session's settle(). */
export const SETTLE_CHECK_MS = 500;
/**
 * The longest stall-replication: well under the local cluster's broker.session.timeout.ms (4000)
 * and replica.lag.time.max.ms (5000), so the stopped followers stay registered and in the ISR,
 * with room for a loaded machine's late SIGCONT.
 */
export const STALL_MAX_MS = 2_000;
/** How long one node may take to tell its log end for the line recorded before each fault. */
const LOG_END_TIMEOUT_MS = 1_000;

/**
 * The local cluster's nodes, by node id (1..3), in the order of the scenario's broker indices:
 * index i is node i + 1. Every act waits for its effect: a killed JVM is gone, a paused one
 * stopped by the kernel.
 */
export class KafkaNodes extends LocalNodeActs<ClusterHandle> implements NodeControl {
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
