// The transaction coordinator, in the manner of Kafka's: it hands out producer ids and epochs,
// records which partitions and which consumer offsets belong to each open transaction, and
// ends a transaction by writing a commit or abort marker to every partition in it and, on
// commit, storing its offsets in the consumer group.
//
// Fencing is its job too: a producer that starts with the transactional id of an older one
// gets a higher epoch, the older one's open transaction is aborted, and every request of the
// older epoch is refused from then on. Without that, a paused "zombie" could still commit.
//
// The coordinator's state is kept durable (Kafka replicates it in __transaction_state); it is
// served by the broker coordinatorFor() names, so a crash of that broker makes clients wait
// and retry until the controller moves the coordinator, as in Kafka.

import { BrokerError, type Cluster } from './cluster.js';

export const TRANSACTION_TIMING = {
  /** An open transaction older than this is aborted by the coordinator (transaction.timeout.ms). */
  transactionTimeoutMs: 1000,
  timeoutCheckMs: 100,
  /** How long the coordinator waits before writing a marker again to a partition with no leader. */
  markerRetryMs: 20,
  /** How long the coordinator waits for a marker's answer before it writes the marker again. */
  markerTimeoutMs: 400,
} as const;

type TxnPhase = 'empty' | 'ongoing' | 'completing';

interface TxnState {
  readonly transactionalId: string;
  readonly pid: number;
  epoch: number;
  phase: TxnPhase;
  readonly partitions: Set<number>;
  readonly offsets: Map<string, Map<number, number>>;
  startedMs: number;
}

export interface ProducerIdentity {
  readonly pid: number;
  readonly epoch: number;
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnState>();
  private nextPid = 1000;

  constructor(private readonly cluster: Cluster) {
    this.timeoutLoop();
  }

  /** A producer id for an idempotent producer that has no transactional id. */
  allocatePid(): number {
    return this.nextPid++;
  }

  /**
   * Whether an open or ending transaction holds offsets of this group's partition. A consumer
   * that takes the partition over must wait for it (Kafka answers its offset fetch with
   * UNSTABLE_OFFSET_COMMIT, KIP-447): starting from the older committed offset would process
   * again what that transaction may yet commit.
   */
  hasPendingOffsets(group: string, partition: number): boolean {
    for (const txn of this.txns.values()) {
      if (txn.phase !== 'empty' && txn.offsets.get(group)?.has(partition) === true) return true;
    }
    return false;
  }

  /** Whether some transaction is still being started or ended. */
  busy(): boolean {
    for (const txn of this.txns.values()) if (txn.phase !== 'empty') return true;
    return false;
  }

  initProducerId(transactionalId: string): ProducerIdentity | BrokerError {
    const txn = this.txns.get(transactionalId);
    if (txn === undefined) {
      const fresh: TxnState = {
        transactionalId,
        pid: this.allocatePid(),
        epoch: 0,
        phase: 'empty',
        partitions: new Set(),
        offsets: new Map(),
        startedMs: 0,
      };
      this.txns.set(transactionalId, fresh);
      return { pid: fresh.pid, epoch: fresh.epoch };
    }
    if (txn.phase === 'completing') return new BrokerError('CONCURRENT_TRANSACTIONS');
    txn.epoch++;
    if (txn.phase === 'ongoing') {
      this.cluster.info(
        'txn-coordinator',
        `${transactionalId}: a new producer fenced epoch ${txn.epoch - 1}; aborting its open transaction`,
      );
      this.complete(txn, 'abort');
      return new BrokerError('CONCURRENT_TRANSACTIONS');
    }
    return { pid: txn.pid, epoch: txn.epoch };
  }

  addPartitions(transactionalId: string, identity: ProducerIdentity, keys: readonly number[]): BrokerError | null {
    const txn = this.txns.get(transactionalId);
    const refused = this.check(txn, identity);
    if (refused !== null || txn === undefined) return refused ?? new BrokerError('INVALID_TXN_STATE');
    this.open(txn);
    for (const key of keys) txn.partitions.add(key);
    return null;
  }

  addOffsets(
    transactionalId: string,
    identity: ProducerIdentity,
    group: string,
    member: { readonly memberId: string; readonly generation: number },
    offsets: ReadonlyMap<number, number>,
  ): BrokerError | null {
    const txn = this.txns.get(transactionalId);
    const refused = this.check(txn, identity);
    if (refused !== null || txn === undefined) return refused ?? new BrokerError('INVALID_TXN_STATE');
    // Since KIP-447 the group checks that the offsets come from a current member.
    const stale = this.cluster.groups.checkMember(group, member.memberId, member.generation, offsets);
    if (stale !== null) return new BrokerError(stale);
    this.open(txn);
    if (this.cluster.defects.has('offsets-before-transaction')) {
      this.cluster.groups.storeOffsets(group, offsets);
      return null;
    }
    const pending = txn.offsets.get(group) ?? new Map<number, number>();
    for (const [p, offset] of offsets) pending.set(p, offset);
    txn.offsets.set(group, pending);
    return null;
  }

  /** Ends the open transaction. The answer comes once the decision is durable; markers follow. */
  endTxn(transactionalId: string, identity: ProducerIdentity, commit: boolean): BrokerError | null {
    const txn = this.txns.get(transactionalId);
    const refused = this.check(txn, identity);
    if (refused !== null || txn === undefined) return refused ?? new BrokerError('INVALID_TXN_STATE');
    if (txn.phase === 'empty') return null;
    this.complete(txn, commit ? 'commit' : 'abort');
    return null;
  }

  private check(txn: TxnState | undefined, identity: ProducerIdentity): BrokerError | null {
    if (txn === undefined || txn.pid !== identity.pid) return new BrokerError('INVALID_TXN_STATE');
    if (identity.epoch < txn.epoch) {
      return new BrokerError('PRODUCER_FENCED');
    }
    if (txn.phase === 'completing') return new BrokerError('CONCURRENT_TRANSACTIONS');
    return null;
  }

  private open(txn: TxnState): void {
    if (txn.phase === 'empty') {
      txn.phase = 'ongoing';
      txn.startedMs = this.cluster.sim.now;
    }
  }

  /** Writes the markers of a decided transaction, retrying each until its partition's ISR has it. */
  private complete(txn: TxnState, kind: 'commit' | 'abort'): void {
    txn.phase = 'completing';
    const epoch = txn.epoch;
    const remaining = new Set(txn.partitions);
    const finish = (): void => {
      if (remaining.size > 0) return;
      if (kind === 'commit') for (const [group, offsets] of txn.offsets) this.cluster.groups.storeOffsets(group, offsets);
      txn.partitions.clear();
      txn.offsets.clear();
      txn.phase = 'empty';
    };
    const write = (key: number): void => {
      const host = this.cluster.coordinatorFor(txn.transactionalId);
      if (host === null || this.cluster.broker(host).state !== 'up') {
        this.cluster.sim.schedule(TRANSACTION_TIMING.markerRetryMs, () => write(key));
        return;
      }
      // A leader that crashes with the marker waiting for its ISR never answers: like any
      // client, the coordinator gives up after a while and writes the marker again (a second
      // marker for a transaction already ended changes nothing).
      let answered = false;
      const timeout = this.cluster.sim.schedule(TRANSACTION_TIMING.markerTimeoutMs, () => {
        if (answered) return;
        answered = true;
        write(key);
      });
      this.cluster.appendMarker(key, txn.pid, epoch, kind, (result) => {
        if (answered) return;
        answered = true;
        timeout.cancel();
        if (result instanceof BrokerError) {
          this.cluster.sim.schedule(TRANSACTION_TIMING.markerRetryMs, () => write(key));
          return;
        }
        remaining.delete(key);
        finish();
      });
    };
    for (const key of txn.partitions) write(key);
    finish();
  }

  private timeoutLoop(): void {
    this.cluster.sim.schedule(TRANSACTION_TIMING.timeoutCheckMs, () => {
      const now = this.cluster.sim.now;
      for (const txn of this.txns.values()) {
        if (txn.phase === 'ongoing' && now - txn.startedMs > TRANSACTION_TIMING.transactionTimeoutMs) {
          txn.epoch++;
          this.cluster.info('txn-coordinator', `${txn.transactionalId}: transaction timed out; aborted, epoch now ${txn.epoch}`);
          this.complete(txn, 'abort');
        }
      }
      this.timeoutLoop();
    });
  }
}
