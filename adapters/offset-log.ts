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

/** The Kafka-shaped consumer underneath: positions are next offsets, partition to offset. */
export interface OffsetClient {
  /** The next offset to read of each assigned partition, past transaction markers too. */
  positions(): ReadonlyMap<number, number>;
  /** Commits next offsets; rejects when the group has moved on. */
  commit(offsets: ReadonlyMap<number, number>): Promise<void>;
  /** Goes back to the committed offsets. */
  seekToCommitted(): Promise<void>;
}

/**
 * Acknowledgments on a log: to acknowledge a batch is to commit the consumer's positions, which
 * are past it. An empty poll may still have moved past transaction markers, and saving that
 * position is what lets the group's committed offsets reach the log end; so an acknowledgment
 * of nothing saves the positions when they moved since the last commit, and is empty otherwise.
 */
export class OffsetAcks {
  /** What this consumer last saved, by a commit or by a transaction that committed. */
  private saved: ReadonlyMap<number, number> | undefined;

  constructor(private readonly client: OffsetClient) {}

  acknowledgment(deliveries: readonly DeliveredRecord[]): Acknowledgment {
    const next = this.client.positions();
    if (deliveries.length === 0 && !this.movedSinceSaved(next)) return { positions: new Map() };
    return { positions: next };
  }

  async ack(acknowledgment: Acknowledgment): Promise<void> {
    await this.client.commit(acknowledgment.positions);
    this.saved = acknowledgment.positions;
  }

  /** A transaction that held this acknowledgment committed. */
  savedByTransaction(acknowledgment: Acknowledgment): void {
    this.saved = acknowledgment.positions;
  }

  rewind(): Promise<void> {
    return this.client.seekToCommitted();
  }

  private movedSinceSaved(next: ReadonlyMap<number, number>): boolean {
    for (const [partition, offset] of next) if (this.saved?.get(partition) !== offset) return true;
    return false;
  }
}

/**
 * A consumer over such a log: acknowledging is committing its positions, written once here for
 * every adapter whose client has positions, commits and a seek to the committed offsets.
 */
export abstract class OffsetLogConsumer implements OffsetClient {
  private readonly acks = new OffsetAcks(this);

  abstract positions(): ReadonlyMap<number, number>;
  abstract commit(offsets: ReadonlyMap<number, number>): Promise<void>;
  abstract seekToCommitted(): Promise<void>;

  acknowledgment(deliveries: readonly DeliveredRecord[]): Acknowledgment {
    return this.acks.acknowledgment(deliveries);
  }

  ack(acknowledgment: Acknowledgment): Promise<void> {
    return this.acks.ack(acknowledgment);
  }

  rewind(): Promise<void> {
    return this.acks.rewind();
  }

  /** A transaction that held this consumer's acknowledgment committed. */
  savedByTransaction(acknowledgment: Acknowledgment): void {
    this.acks.savedByTransaction(acknowledgment);
  }
}
