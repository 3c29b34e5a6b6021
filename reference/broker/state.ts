// The reference broker's shared vocabulary and state: its timings, its error codes, the shape of
// a produce request and of fetch answers, and the state of each broker process and each
// partition. They are apart from the cluster's logic so that its parts (the cluster itself, the
// group coordinator in groups.ts) and the clients can all name them without importing each
// other; cluster.ts exports them again, as the broker's one entry point.

import type { TopicRole, TopicSettings } from '../../adapters/contract.js';
import type { LogRecord, Replica } from './log.js';
import type { Endpoint } from '../substrate/network.js';

/** Timings in virtual milliseconds. Kafka's defaults are seconds; the ratios are what matter. */
export const TIMING = {
  /** One-way network latency of one message between any two parties: drawn from this range. */
  latencyMinMs: 0.2,
  latencyMaxMs: 1.0,
  /** How long a follower's fetch waits at the leader for new data before an empty answer. */
  replicaFetchWaitMs: 50,
  /** How much longer than the wait a follower gives a fetch before it sends another. */
  replicaFetchTimeoutMs: 100,
  /** A follower that has not caught up for this long leaves the ISR. */
  replicaLagMaxMs: 300,
  /** How often a leader looks for lagging followers. */
  isrCheckIntervalMs: 50,
  /** How long the controller waits for a silent broker before it fences it. */
  brokerSessionTimeoutMs: 150,
  /** How long a restarted or resumed broker takes to register with the controller. */
  brokerRegistrationMs: 20,
  /** How often the operating system writes a broker's dirty pages to disk. */
  flushIntervalMs: 500,
  /** How long a follower takes to write fetched records before it fetches again. */
  replicaAppendMinMs: 0.5,
  replicaAppendMaxMs: 2,
  /** Back-off of a follower whose fetch failed. */
  replicaBackoffMs: 20,
  /** A consumer not heard from for this long leaves its group. */
  consumerSessionTimeoutMs: 200,
  groupCheckIntervalMs: 50,
  /**
   * The longest stall-replication: two ISR checks short of replicaLagMaxMs, so a stalled
   * follower that had caught up just before stays in the ISR throughout.
   */
  stallMaxMs: 200,
} as const;

export type ErrorCode =
  | 'NOT_LEADER_OR_FOLLOWER'
  | 'NOT_ENOUGH_REPLICAS'
  | 'NOT_ENOUGH_REPLICAS_AFTER_APPEND'
  | 'BROKER_NOT_AVAILABLE'
  | 'LEADER_NOT_AVAILABLE'
  | 'REQUEST_TIMED_OUT'
  | 'REBALANCE_IN_PROGRESS'
  | 'UNKNOWN_MEMBER_ID'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'INVALID_PRODUCER_EPOCH'
  | 'PRODUCER_FENCED'
  | 'CONCURRENT_TRANSACTIONS'
  | 'NOT_COORDINATOR'
  | 'INVALID_TXN_STATE';

export class BrokerError extends Error {
  /**
   * `detail` says which request failed and what it waited for ("AddPartitionsToTxn gave up
   * after 5000 ms"); the message is then `detail: CODE`, and `code` stays the bare code.
   */
  constructor(
    readonly code: ErrorCode,
    detail?: string,
  ) {
    super(detail === undefined ? code : `${detail}: ${code}`);
    this.name = 'BrokerError';
  }
}

export interface ProduceRequest {
  /** The partition's cluster-wide key (see PartitionState.key). */
  readonly partition: number;
  readonly id: string;
  readonly producer: number;
  readonly seq: number;
  readonly key: string;
  readonly ack: 'none' | 'leader' | 'all';
  /** Set by idempotent and transactional producers. */
  readonly pid?: number;
  readonly producerEpoch?: number;
  readonly pseq?: number;
  readonly txn?: boolean;
}

type BrokerState = 'up' | 'crashed' | 'paused';

export class Broker {
  state: BrokerState = 'up';
  /** Bumped at each crash, so callbacks scheduled by an earlier life of the process die. */
  incarnation = 0;
  /** The controller has fenced this broker: it leads nothing until it registers again. */
  fenced = false;
  /** Work that arrived while the process was paused; run in order when it resumes. */
  inbox: Array<() => void> = [];
  /** Produce acknowledgments still to be lost on purpose (the drop-acks fault). */
  dropAcks = 0;
  /** Counts pauses, so the session timer of an earlier pause cannot fence a later one. */
  pauses = 0;
  /**
   * Replication to this broker is stalled (the stall-replication fault): its follower fetch loops
   * wait in `waiting` until the stall ends. The process is up: it answers clients, stays
   * registered, and its replicas stay in the ISR while the stall is shorter than replicaLagMaxMs.
   */
  stall: Stall | undefined;
  /**
   * The broker is cut off from the controller (the partition fault): what it knows is what it
   * knew when the cut came, and the partitions it led it goes on leading with what it knew of
   * them, until the heal lets it hear from the controller again.
   */
  isolation: Isolation | undefined;
  readonly replicas = new Map<number, Replica>();
  constructor(
    readonly id: number,
    /** The broker's end of its connections; it keeps it across restarts, as a host keeps its address. */
    readonly endpoint: Endpoint,
  ) {}
}

export interface PendingAck {
  readonly offset: number;
  readonly reply: (result: number | BrokerError) => void;
}

export interface Stall {
  readonly untilMs: number;
  readonly waiting: Array<() => void>;
}

export interface ParkedFetch {
  readonly wake: () => void;
}

/**
 * What a partition's leader keeps to lead it: the epoch and ISR it knows, its followers'
 * progress, the writes waiting for the ISR and the fetches parked until new data. The
 * controller's view of a partition (PartitionState) holds them for the leader it chose; a leader
 * cut off from the controller goes on with a copy of its own (Isolation), since nothing the
 * controller decides reaches it any more.
 */
export interface Leadership {
  readonly key: number;
  readonly label: string;
  readonly settings: TopicSettings;
  readonly replicas: readonly number[];
  readonly leader: number | null;
  readonly epoch: number;
  isr: number[];
  epochStartOffset: number;
  followerLeo: Map<number, number>;
  lastCaughtUpMs: Map<number, number>;
  lastFetchLeo: Map<number, number>;
  lastFetchMs: Map<number, number>;
  pending: PendingAck[];
  parked: ParkedFetch[];
}

/** The controller's view of a partition plus the bookkeeping its current leader keeps. */
export class PartitionState implements Leadership {
  leader: number | null;
  epoch = 0;
  isr: number[];
  /** The offset at which the current epoch began on its leader. */
  epochStartOffset = 0;
  // Leader-side state; reset at every election.
  followerLeo = new Map<number, number>();
  lastCaughtUpMs = new Map<number, number>();
  lastFetchLeo = new Map<number, number>();
  lastFetchMs = new Map<number, number>();
  pending: PendingAck[] = [];
  parked: ParkedFetch[] = [];
  constructor(
    /** The partition's place in Cluster.partitions: its key in every broker's replica map. */
    readonly key: number,
    readonly topic: TopicRole,
    /** The partition's number within its topic, as clients and histories name it. */
    readonly index: number,
    readonly settings: TopicSettings,
    readonly replicas: readonly number[],
  ) {
    this.leader = replicas[0] ?? null;
    this.isr = [...replicas];
  }

  /** How messages name the partition: its number, or `output N` for the output topic. */
  get label(): string {
    return this.topic === 'input' ? `${this.index}` : `output ${this.index}`;
  }
}

/**
 * A leader's own copy of its leadership, taken when it lost the controller: the same epoch, ISR
 * and followers' progress, and the writes that were waiting, which leave the controller's view.
 * The fetches parked at that instant stay there; their answers could not cross the cut anyway.
 */
export function takeLeadership(part: PartitionState, leader: number): Leadership {
  const own: Leadership = {
    key: part.key,
    label: part.label,
    settings: part.settings,
    replicas: part.replicas,
    leader,
    epoch: part.epoch,
    isr: [...part.isr],
    epochStartOffset: part.epochStartOffset,
    followerLeo: new Map(part.followerLeo),
    lastCaughtUpMs: new Map(part.lastCaughtUpMs),
    lastFetchLeo: new Map(part.lastFetchLeo),
    lastFetchMs: new Map(part.lastFetchMs),
    pending: part.pending,
    parked: [],
  };
  part.pending = [];
  return own;
}

/** What a broker cut off from the controller knows, and leads, until it hears from it again. */
export class Isolation {
  /** The partitions it leads on its own, by partition key. */
  readonly leaderships = new Map<number, Leadership>();
  /** Partitions whose ISR it could not change, each said once in the history. */
  readonly refusedIsrChanges = new Set<number>();

  constructor(
    /** It knows itself fenced: restarted, it has not registered since, and can only at the heal. */
    public fenced: boolean,
    /** The leader of each partition as it last heard, by partition key. */
    readonly leaders: ReadonlyMap<number, number | null>,
  ) {}
}

export type FetchResponse =
  | { readonly kind: 'error' }
  | { readonly kind: 'truncate'; readonly offset: number }
  | { readonly kind: 'records'; readonly from: number; readonly records: readonly LogRecord[]; readonly hw: number };

export type FetchResult =
  | { readonly kind: 'error'; readonly code: ErrorCode }
  | { readonly kind: 'out-of-range'; readonly leo: number }
  | { readonly kind: 'records'; readonly records: readonly LogRecord[]; readonly next: number };

export function fmt(ids: readonly number[]): string {
  return `[${ids.join(',')}]`;
}
