// The backlog of a group on a log with numeric offsets per partition (Kafka and the reference
// broker): how far its committed offsets are behind the end offsets, summed over the partitions.

/** Per partition, end minus committed (a partition never committed counts from 0), never below 0. */
export function offsetBacklog(ends: ReadonlyMap<number, number>, committed: ReadonlyMap<number, number>): number {
  let behind = 0;
  for (const [partition, end] of ends) behind += Math.max(0, end - (committed.get(partition) ?? 0));
  return behind;
}
