// A generator of large, realistic histories for the checker's micro-benchmark: the lines a clean
// run of the conformance runner writes (sends, acknowledgments, polls of 50 records, processing,
// commits, the final drain), in the order it writes them, with several producers, keys and
// partitions. A clean history makes the checker do all its work (every id is looked up in every
// map) while finding nothing, so its time is the time of the bookkeeping, not of witnesses.

import type { HistoryEvent, HistoryEventInput, PlacedRecord } from '../../spec/history.js';

export interface HistoryShape {
  readonly producers: number;
  readonly partitions: number;
  readonly keys: number;
  /** Records per poll, as the runner's maxPollRecords. */
  readonly pollRecords: number;
}

export const DEFAULT_SHAPE: HistoryShape = { producers: 4, partitions: 6, keys: 1000, pollRecords: 50 };

/**
 * The fewest lines that hold one message: setup, phase, send, ack, poll, process, commit, the
 * drain's phase and record, and the closing phase.
 */
export const MIN_GENERATED_EVENTS = 10;

/** History lines per message: send, ack, process, drain, and a poll and a commit per batch. */
function linesPerMessage(shape: HistoryShape): number {
  return 4 + 2 / shape.pollRecords;
}

/**
 * A clean history of exactly `events` lines (at least MIN_GENERATED_EVENTS). Keys map to partitions as one key to
 * one partition, so one producer's messages of one key are stored in send order.
 */
export function generateHistory(events: number, shape: HistoryShape = DEFAULT_SHAPE): HistoryEvent[] {
  if (!Number.isSafeInteger(events) || events < MIN_GENERATED_EVENTS) {
    throw new RangeError(`a generated history has at least ${MIN_GENERATED_EVENTS} events`);
  }
  const history: HistoryEvent[] = [];
  let t = 0;
  const push = (event: HistoryEventInput): void => {
    t += 0.01;
    history.push({ i: history.length + 1, t: Math.round(t * 1000) / 1000, ...event } as HistoryEvent);
  };
  push({
    type: 'setup',
    scenario: 'generated',
    file: 'generated.yaml',
    adapter: 'reference',
    seed: 1,
    topic: 'generated',
    partitions: shape.partitions,
    ack: 'all',
    commit: 'after-process',
    isolation: 'read-uncommitted',
    defects: [],
    // A clean history holds every claim, so `deliverycheck check` can judge it (check-file.ts).
    expect: { lost: 'none', unprocessed: 'none', duplicated: 'none', reordered: 'none', phantom: 'none', 'aborted-read': 'none', 'inconsistent-offset': 'none' },
  });
  push({ type: 'phase', name: 'workload' });
  // Room for the phase lines around the drain; the remainder is filled with messages.
  const fixedLines = 4;
  let messages = Math.max(1, Math.floor((events - fixedLines) / linesPerMessage(shape)));
  const lineCount = (count: number) => fixedLines + 4 * count + 2 * Math.ceil(count / shape.pollRecords);
  while (lineCount(messages) > events) messages--;

  const nextOffset = new Array<number>(shape.partitions).fill(0);
  const seqs = new Array<number>(shape.producers).fill(0);
  const stored: PlacedRecord[] = [];
  let batch: PlacedRecord[] = [];
  let polled = 0;
  const flushBatch = (): void => {
    if (batch.length === 0) return;
    push({ type: 'poll', consumer: 0, records: batch });
    const offsets: Record<string, number> = {};
    for (const record of batch) {
      push({ type: 'process', consumer: 0, ...record });
      offsets[String(record.partition)] = record.offset + 1;
    }
    push({ type: 'commit', consumer: 0, offsets });
    batch = [];
  };
  for (let message = 0; message < messages; message++) {
    const producer = message % shape.producers;
    const seq = seqs[producer] ?? 0;
    seqs[producer] = seq + 1;
    const keyIndex = (message * 7919) % shape.keys;
    const partition = keyIndex % shape.partitions;
    const offset = nextOffset[partition] ?? 0;
    nextOffset[partition] = offset + 1;
    const id = `p${producer}-${seq}`;
    push({ type: 'send', id, producer, seq, key: `k${keyIndex}` });
    push({ type: 'ack', producer, id, partition, offset });
    const record = { id, partition, offset };
    stored.push(record);
    // Consumers trail the producers a little, as in a real run.
    if (message - polled >= shape.pollRecords * 2) {
      const take = stored.slice(polled, polled + shape.pollRecords);
      polled += take.length;
      batch = take;
      flushBatch();
    }
  }
  while (polled < stored.length) {
    batch = stored.slice(polled, polled + shape.pollRecords);
    polled += batch.length;
    flushBatch();
  }
  push({ type: 'phase', name: 'drain' });
  for (const record of stored) push({ type: 'drain', ...record });
  // Pad with phase lines to the exact size asked for, so the rate divides by the true length.
  while (history.length < events) push({ type: 'phase', name: 'done' });
  return history;
}
