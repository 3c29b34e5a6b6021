// What the two adapters over a log with numeric offsets per partition share (Kafka and the
// reference broker, which models it): the group's backlog, and acknowledgments as commits of the
// consumer's positions.

import type { Acknowledgment, DeliveredRecord } from './contract.js';

/** Per partition, end minus committed (a partition never committed counts from 0), never below 0. */
export function offsetBacklog(ends: ReadonlyMap<number, number>, committed: ReadonlyMap<number, number>): number {
  let behind = 0;
  for (const [partition, end] of ends) behind += Math.max(0, end - (committed.get(partition) ?? 0));
  return behind;
}

/**
 * A consumer over a log with numeric offsets (Kafka's shape): acknowledging a batch is committing
 * the consumer's positions, which are past it, written once here for every adapter whose client
 * has positions, commits and a seek to the committed offsets. An empty poll may still have moved
 * past transaction markers, and saving that position is what lets the group's committed offsets
 * reach the log end; so an acknowledgment of nothing saves the positions when they moved since the
 * last save, and is empty otherwise.
 */
export abstract class OffsetLogConsumer {
  /** What this consumer last saved, by a commit or by a transaction that committed. */
  private saved: ReadonlyMap<number, number> | undefined;

  /** The next offset to read of each assigned partition, past transaction markers too. */
  abstract positions(): ReadonlyMap<number, number>;
  /** Commits next offsets; rejects when the group has moved on. */
  abstract commit(offsets: ReadonlyMap<number, number>): Promise<void>;
  /** Goes back to the committed offsets. */
  abstract seekToCommitted(): Promise<void>;

  acknowledgment(deliveries: readonly DeliveredRecord[]): Acknowledgment {
    const next = this.positions();
    if (deliveries.length === 0 && !this.movedSinceSaved(next)) return { positions: new Map() };
    return { positions: next };
  }

  async ack(acknowledgment: Acknowledgment): Promise<void> {
    await this.commit(acknowledgment.positions);
    this.saved = acknowledgment.positions;
  }

  rewind(): Promise<void> {
    return this.seekToCommitted();
  }

  /** A transaction that held this consumer's acknowledgment committed. */
  savedByTransaction(acknowledgment: Acknowledgment): void {
    this.saved = acknowledgment.positions;
  }

  private movedSinceSaved(next: ReadonlyMap<number, number>): boolean {
    for (const [partition, offset] of next) if (this.saved?.get(partition) !== offset) return true;
    return false;
  }
}
