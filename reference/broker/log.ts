// One broker's copy of one partition: the log and the state Kafka derives from it.
//
// Producer state (the last sequence number of each idempotent producer), the open transactions
// and the set of aborted records are all functions of the log's records. Followers get them by
// copying records, a new leader already has them, and a truncation recomputes them from what
// is left: the same way Kafka rebuilds its producer state snapshots from the log.

/** A transaction marker: the record that ends a producer's transaction in one partition. */
export type ControlKind = 'commit' | 'abort';

export interface LogRecord {
  readonly offset: number;
  /** The leader epoch in which the record was appended: it identifies the record's history. */
  readonly epoch: number;
  /** The message id; empty for a transaction marker, which is not a message. */
  readonly id: string;
  readonly producer: number;
  readonly seq: number;
  readonly key: string;
  /** The idempotent producer id, its epoch and its sequence number in this partition. */
  readonly pid?: number;
  readonly producerEpoch?: number;
  readonly pseq?: number;
  /** Part of a transaction: visible to read-committed consumers only once committed. */
  readonly txn?: boolean;
  readonly control?: ControlKind;
}

/** What the leader remembers of an idempotent producer, to drop resent duplicates. */
export interface ProducerEntry {
  epoch: number;
  lastSeq: number;
  /** Offsets of the producer's latest sequence numbers, to answer a resend with its offset. */
  readonly recent: Map<number, number>;
}

/** How many recent sequence numbers per producer keep their offsets (Kafka keeps 5 batches). */
const RECENT_SEQUENCES = 16;

export class Replica {
  readonly log: LogRecord[] = [];
  /** This replica's knowledge of the high watermark; the leader's is the one that counts. */
  hw = 0;
  /** Records below this offset are on disk; a power loss takes the rest. */
  flushed = 0;
  readonly producers = new Map<number, ProducerEntry>();
  /** Each producer's open transaction in this partition: the offsets of its records so far. */
  readonly openTxns = new Map<number, number[]>();
  /** Offsets of data records whose transaction was aborted. */
  readonly aborted = new Set<number>();

  get leo(): number {
    return this.log.length;
  }

  append(record: LogRecord): void {
    this.log.push(record);
    this.apply(record);
  }

  truncateTo(offset: number): number {
    const removed = this.log.length - offset;
    if (removed <= 0) return 0;
    this.log.length = offset;
    if (this.hw > offset) this.hw = offset;
    if (this.flushed > offset) this.flushed = offset;
    this.rebuild();
    return removed;
  }

  /**
   * The last stable offset: below it, every transaction has ended. Read-committed consumers
   * read no further, so they never see a record whose transaction may still abort.
   */
  lso(): number {
    let lso = this.hw;
    for (const offsets of this.openTxns.values()) {
      const first = offsets[0];
      if (first !== undefined && first < lso) lso = first;
    }
    return lso;
  }

  /** Whether some producer's transaction is still open in this partition. */
  hasOpenTransactions(): boolean {
    return this.openTxns.size > 0;
  }

  private apply(record: LogRecord): void {
    const pid = record.pid;
    if (pid === undefined) return;
    if (record.control !== undefined) {
      const open = this.openTxns.get(pid);
      if (open !== undefined && record.control === 'abort') for (const offset of open) this.aborted.add(offset);
      this.openTxns.delete(pid);
      // A marker written after a fencing carries the new epoch: older writes are refused from now on.
      const entry = this.producers.get(pid);
      if (entry !== undefined && (record.producerEpoch ?? 0) > entry.epoch) {
        entry.epoch = record.producerEpoch ?? 0;
        entry.lastSeq = -1;
        entry.recent.clear();
      } else if (entry === undefined) {
        this.producers.set(pid, { epoch: record.producerEpoch ?? 0, lastSeq: -1, recent: new Map() });
      }
      return;
    }
    let entry = this.producers.get(pid);
    const epoch = record.producerEpoch ?? 0;
    if (entry === undefined || epoch > entry.epoch) {
      entry = { epoch, lastSeq: -1, recent: new Map() };
      this.producers.set(pid, entry);
    }
    const pseq = record.pseq ?? entry.lastSeq + 1;
    if (pseq > entry.lastSeq) entry.lastSeq = pseq;
    entry.recent.set(pseq, record.offset);
    if (entry.recent.size > RECENT_SEQUENCES) {
      const oldest = entry.recent.keys().next().value;
      if (oldest !== undefined) entry.recent.delete(oldest);
    }
    if (record.txn === true) {
      const open = this.openTxns.get(pid);
      if (open === undefined) this.openTxns.set(pid, [record.offset]);
      else open.push(record.offset);
    }
  }

  private rebuild(): void {
    this.producers.clear();
    this.openTxns.clear();
    this.aborted.clear();
    for (const record of this.log) this.apply(record);
  }
}
