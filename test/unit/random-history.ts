// Messy random histories for the checker's property tests (checker-property.test.ts,
// history-check.test.ts), from a seeded generator: resends, acks before sends, phantoms,
// conflicting reads, aborted and output drains, sends out of `seq` order, ids and places the dense
// tables cannot hold, and now and then more messages than the checker expects from the length.

import type { Random } from '../../core/random.js';
import type { HistoryEvent, HistoryEventInput, PlacedRecord } from '../../spec/history.js';

/** Ids the dense index must send to its Map: not the canonical `p<producer>-<seq>`. */
const ODD_IDS = ['a', 'p01-3', 'p1-03', 'p-1', 'p1-', 'p1-2-3', 'p1234567890-1', 'P1-1', 'p1-1 ', 'q1-1', ''];

/** Offsets and partitions a PairIndex cannot hold, so they take the string-keyed path. */
export const ODD_NUMBERS = [-1, 0.5, 2 ** 31, 2 ** 40, -0];

interface Message {
  readonly id: string;
  readonly producer: number;
  readonly seq: number;
  readonly key: string;
  /** Where the final drain finds it; empty when it was lost. */
  readonly places: PlacedRecord[];
}

/** Plans the messages of one history: ids, send order and where each one ends up in the log. */
function planMessages(random: Random, count: number, partitions: number): Message[] {
  // A base offset per partition: usually 0, sometimes past a page of the PairIndex, or odd.
  const nextOffset = Array.from({ length: partitions }, () =>
    random.chance(0.8) ? 0 : random.chance(0.5) ? random.int(4000, 9000) : random.pick(ODD_NUMBERS),
  );
  const seqs = [0, 0, 0];
  const keys = random.int(1, 6);
  const messages: Message[] = [];
  for (let index = 0; index < count; index++) {
    const producer = random.int(0, 2);
    // Now and then a producer's sequence jumps back, which the checker must sort out.
    const seq = random.chance(0.03) ? Math.max(0, (seqs[producer] ?? 0) - random.int(1, 3)) : (seqs[producer] ?? 0);
    seqs[producer] = seq + 1;
    const id = random.chance(0.03) ? random.pick(ODD_IDS) : `p${producer}-${seq}`;
    const keyIndex = random.int(0, keys - 1);
    const places: PlacedRecord[] = [];
    const copies = random.chance(0.1) ? 0 : random.chance(0.1) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      const partition = random.chance(0.9) ? keyIndex % partitions : random.int(0, partitions - 1);
      const offset = nextOffset[partition] ?? 0;
      nextOffset[partition] = offset + 1;
      places.push({ id, partition: random.chance(0.01) ? random.pick(ODD_NUMBERS) : partition, offset });
    }
    messages.push({ id, producer, seq, key: `k${keyIndex}`, places });
  }
  // Swap a few neighbours' places so that some sends are stored below an earlier one.
  for (let index = 1; index < messages.length; index++) {
    const a = messages[index - 1];
    const b = messages[index];
    if (a === undefined || b === undefined || !random.chance(0.03)) continue;
    const [pa] = a.places;
    const [pb] = b.places;
    if (pa === undefined || pb === undefined) continue;
    a.places[0] = { id: a.id, partition: pb.partition, offset: pb.offset };
    b.places[0] = { id: b.id, partition: pa.partition, offset: pa.offset };
  }
  return messages;
}

/** One messy history, with `count` messages or about. */
export function randomHistory(random: Random, count: number): HistoryEvent[] {
  const events: HistoryEventInput[] = [];
  const ack = random.pick(['none', 'leader', 'all']);
  const commit = random.pick(['after-process', 'before-process', 'transactional', 'auto']);
  const setup = (ackMode: string, commitMode: string): HistoryEventInput => ({
    type: 'setup',
    scenario: 'property',
    file: 'property.yaml',
    adapter: 'reference',
    seed: 1,
    topic: 'property',
    partitions: 3,
    ack: ackMode,
    commit: commitMode,
    isolation: 'read-uncommitted',
    defects: [],
  });
  // Now and then no setup at all, or a second one later that must not change the ack mode.
  if (random.chance(0.9)) events.push(setup(ack, commit));
  events.push({ type: 'phase', name: 'workload' });
  const messages = planMessages(random, count, random.int(1, 4));
  const phantomId = (): string => (random.chance(0.5) ? `p9-${random.int(0, 50)}` : random.pick(ODD_IDS));

  for (const message of messages) {
    const { id, producer, seq, key } = message;
    if (random.chance(0.97)) events.push({ type: 'send', id, producer, seq, key });
    if (random.chance(0.02)) events.push({ type: 'send', id, producer, seq: seq + 1, key: 'other' });
    if (random.chance(0.05)) events.push({ type: 'error', producer, id, error: 'timed out' });
    const [first] = message.places;
    if (ack !== 'none' && random.chance(0.9)) {
      const place = first ?? { partition: 0, offset: random.int(0, 50) };
      events.push({ type: 'ack', producer, id, partition: place.partition, offset: place.offset });
      if (random.chance(0.03)) events.push({ type: 'ack', producer, id, partition: 2, offset: 99 });
    }
    if (random.chance(0.01)) events.push({ type: 'info', source: 'property', message: 'a resend' });
  }
  if (random.chance(0.3)) events.push(setup(random.pick(['none', 'all']), random.pick(['transactional', 'auto'])));

  // Consumers poll what is stored, in batches, and process most of it.
  const stored = messages.flatMap((message) => message.places);
  // Aborted records name sent ids, phantoms, or ids of their own that a later drain may store:
  // a transaction aborted once and retried, where the aborted read is an id's first mention.
  const retriedId = (): string => `p8-${random.int(0, 9)}`;
  const aborted: PlacedRecord[] = Array.from({ length: random.int(0, 6) }, (_, index) => ({
    id: random.pick([phantomId(), `p0-${index}`, retriedId()]),
    partition: random.int(0, 3),
    offset: random.chance(0.5) ? random.int(0, 30) : 10_000 + index,
  }));
  const readable = [...stored, ...aborted.filter(() => random.chance(0.5))];
  for (let from = 0; from < readable.length; from += 20) {
    const batch = readable.slice(from, from + 20).map((record) =>
      random.chance(0.02) ? { ...record, id: phantomId() } : record,
    );
    events.push({ type: 'poll', consumer: 0, records: batch });
    for (const record of batch) {
      if (random.chance(0.05)) continue;
      const times = random.chance(0.05) ? 2 : 1;
      for (let time = 0; time < times; time++) events.push({ type: 'process', consumer: 0, ...record });
    }
    events.push({ type: 'commit', consumer: 0, offsets: { '0': from } });
  }
  // Now and then one poll returns far more records than there are lines, of ids nobody sent: more
  // messages and places than the checker made room for at first, so its tables must grow.
  if (random.chance(0.2)) {
    const burst = Array.from({ length: count * 2 + 2000 }, (_, offset) => ({ id: `p7-${offset}`, partition: 5, offset }));
    events.push({ type: 'poll', consumer: 1, records: burst });
  }

  events.push({ type: 'phase', name: 'drain' });
  const abortedFirst = random.chance(0.5);
  if (abortedFirst) for (const record of aborted) events.push({ type: 'drain', ...record, aborted: true });
  for (const record of stored) {
    events.push({ type: 'drain', ...record });
    if (random.chance(0.03)) events.push({ type: 'drain', ...record });
    if (random.chance(0.01)) events.push({ type: 'drain', ...record, id: phantomId() });
    if (random.chance(0.01)) events.push({ type: 'drain', ...record, id: retriedId(), offset: record.offset + 0.5 });
  }
  if (!abortedFirst) for (const record of aborted) events.push({ type: 'drain', ...record, aborted: true });
  // The output topic of a pipeline: committed records, some aborted ones, some named twice.
  for (const record of stored) {
    if (!random.chance(0.5)) continue;
    const output = { type: 'drain' as const, id: record.id, partition: 0, offset: random.int(0, 100), output: true };
    events.push(random.chance(0.1) ? { ...output, aborted: true } : output);
  }
  events.push({ type: 'phase', name: 'done' });

  // Shuffle a little: acks before sends, polls before acks, drains among polls.
  for (let index = 1; index < events.length; index++) {
    if (!random.chance(0.05)) continue;
    const before = events[index - 1];
    const current = events[index];
    if (before === undefined || current === undefined) continue;
    events[index - 1] = current;
    events[index] = before;
  }
  return events.map((event, index): HistoryEvent => ({ ...event, i: index + 1, t: index } as HistoryEvent));
}

