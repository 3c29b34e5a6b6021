// The local NATS cluster's nodes as the harness sees them (NodeControl): node i + 1 is the
// scenario's broker index i. Which node leads a stream comes from the servers' monitoring
// endpoints (the leader's own word, cluster.streamRoles), how far each replica is behind from
// the stream's info, which the leader answers through the JetStream API.

import type { JetStreamManager } from '@nats-io/jetstream';
import type { NodeControl, ShardObservation } from '../contract.js';
import { LocalNodeActs } from '../local-cluster/node-acts.js';
import { Random } from '../../core/random.js';
import type { NatsClusterHandle, StreamRoles } from './cluster/cluster.js';
import type { NatsAckProxy } from './proxy.js';

/** Finding a fault's target may take an election after a crash; naming the roles for the history only gets a moment. */
const TARGET_ROLES_BUDGET_MS = 10_000;
const HISTORY_ROLES_BUDGET_MS = 1_500;

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The promise's value, or undefined when it fails or takes longer than the time. */
async function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export class NatsNodes extends LocalNodeActs<NatsClusterHandle> implements NodeControl {
  private readonly random: Random;

  constructor(
    cluster: NatsClusterHandle,
    private readonly jsm: JetStreamManager,
    /** The input stream of each shard. */
    private readonly inputStreams: readonly string[],
    /** Every stream of the session, whose PubAcks a drop-acks on their leader loses. */
    private readonly allStreams: readonly string[],
    seed: number,
    info: (message: string) => void,
    private readonly proxy: NatsAckProxy | undefined,
  ) {
    super(cluster, info);
    this.random = new Random(seed ^ 0x6e617473);
  }

  private roles(stream: string, timeoutMs: number): Promise<StreamRoles | undefined> {
    return within(this.cluster.streamRoles(stream, { timeoutMs }), timeoutMs + 500);
  }

  /**
   * The shard's stream as the cluster sees it: its leader and replicas from the monitoring
   * endpoints, each follower's lag from the stream's info. A target that depends on the roles
   * waits for an election; otherwise the line gets a moment, or the fault would move.
   */
  async observe(shard: number, needsRoles: boolean): Promise<ShardObservation> {
    const stream = this.inputStreams[shard];
    if (stream === undefined) throw new Error(`there is no partition ${shard}`);
    const budgetMs = needsRoles ? TARGET_ROLES_BUDGET_MS : HISTORY_ROLES_BUDGET_MS;
    const [roles, others, info] = await Promise.all([
      this.roles(stream, budgetMs),
      Promise.all(this.inputStreams.map((each) => (each === stream ? undefined : this.roles(each, HISTORY_ROLES_BUDGET_MS)))),
      within(this.jsm.streams.info(stream), HISTORY_ROLES_BUDGET_MS),
    ]);
    const lags = (info?.cluster?.replicas ?? []).map(
      (replica) => `${replica.name} ${replica.offline ? 'offline' : replica.current ? 'current' : 'not current'} lag ${replica.lag ?? 0}`,
    );
    const head =
      roles === undefined
        ? `partition ${shard} (stream ${stream}): no leader (no running node claimed the lead within ${budgetMs} ms), replicas [${this.allNodeIds().join(',')}]`
        : `partition ${shard} (stream ${stream}): leader ${roles.leader}, replicas [${roles.replicas.join(',')}], current followers [${roles.followers
            .filter((follower) => follower.current)
            .map((follower) => follower.id)
            .join(',')}]`;
    const tail = info === undefined ? ', stream info unknown' : `, last sequence ${info.state.last_seq}, followers: ${lags.join(', ') || 'none listed'}`;
    return {
      description: `${head}${tail}`,
      // Without a leader (no quorum of running nodes) the replicas are still every node: an R3
      // stream on a three-node cluster is placed on all of them.
      shard: roles === undefined ? { leader: null, replicas: this.allNodeIds() } : { leader: roles.leader, replicas: roles.replicas },
      leaders: this.inputStreams.map((each, index) => ({
        label: `${index}`,
        leader: (each === stream ? roles : others[index])?.leader ?? null,
      })),
    };
  }

  private allNodeIds(): number[] {
    return this.cluster.nodes.map((node) => node.id);
  }

  async coordinator(): Promise<number | undefined> {
    // No transactions, so no coordinator.
    return undefined;
  }

  pick<T>(choices: readonly T[]): T {
    return this.random.pick(choices);
  }

  /** Arms the proxy to lose the next PubAcks of every stream of the session the node leads now. */
  async dropAcks(id: number, count: number): Promise<string> {
    if (this.proxy === undefined) {
      throw new Error('drop-acks needs a session opened with drop-acks among its faults: only then do its producers connect through the proxy');
    }
    const led = new Set<string>();
    for (const stream of this.allStreams) {
      const roles = await this.roles(stream, TARGET_ROLES_BUDGET_MS);
      if (roles?.leader === id) led.add(stream);
    }
    if (led.size === 0) return `leads no stream of the session: nothing to drop-acks`;
    const armed = this.proxy.arm(id, count, led);
    return `will lose its next ${count} PubAcks (of ${[...led].join(', ')}; ${armed} armed in the proxy)`;
  }

  /** Drops the packets between the servers of different groups, in their network namespaces. */
  async cut(groups: readonly (readonly number[])[]): Promise<string> {
    await this.cluster.cut(groups);
    return ' (packets between their network namespaces dropped both ways; clients reach every node)';
  }

  async heal(): Promise<string> {
    await this.cluster.healNetwork();
    return '';
  }

  async clear(id: number): Promise<readonly string[]> {
    const left = this.proxy?.disarm(id) ?? 0;
    return left > 0 ? [`node ${id} stopped losing PubAcks (${left} were still to be lost)`] : [];
  }
}
