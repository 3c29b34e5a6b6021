// The drain of a nats session: every message its streams store, read without consuming, so that
// no group's durable moves and the checker sees what the cluster kept.

import { DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import type { StoredRecord, TopicRole } from '../contract.js';
import { messageIdOf } from './clients.js';
import { retrying } from './connection.js';
import { describeError } from './nodes.js';
import type { TopicStreams } from './streams.js';

/** How many stored messages the drain asks for at once. */
const DRAIN_CONCURRENCY = 32;
/** Messages an ordered consumer of the drain asks for at a time, and how long it waits for them. */
const DRAIN_BATCH = 1_000;
const DRAIN_FETCH_EXPIRES_MS = 2_000;
/** Fetches in a row that bring nothing before the drain asks for what is left by sequence. */
const DRAIN_EMPTY_FETCHES = 2;

/** Every stored message of every stream, read in stream order (readStream says how); nothing is consumed. */
export async function drainStreams(jsm: JetStreamManager, topics: readonly TopicStreams[], info: (message: string) => void): Promise<readonly StoredRecord[]> {
  const stored: StoredRecord[] = [];
  for (const topic of topics) {
    for (const [shard, stream] of topic.streams.entries()) {
      const { state } = await retrying(`reading the state of ${stream}`, () => jsm.streams.info(stream));
      const found = state.messages === 0 ? [] : await readStream(jsm, info, stream, shard, topic.role, state.first_seq, state.last_seq);
      // One at a time, not push(...found): a stream can hold more messages than a call takes arguments.
      for (const record of found) stored.push(record);
    }
  }
  return stored;
}

/**
 * Every stored message of a stream from `firstSeq` to `lastSeq`, without consuming: an ordered
 * consumer (ephemeral, no acknowledgments, so no group's durable moves) reads them in batches,
 * which at 300 000 messages took seconds where one request per sequence took minutes. What it
 * has not delivered when it stops getting messages is asked for by sequence, so a message is
 * never missed for the ordered consumer's sake.
 */
async function readStream(
  jsm: JetStreamManager,
  info: (message: string) => void,
  stream: string,
  shard: number,
  role: TopicRole,
  firstSeq: number,
  lastSeq: number,
): Promise<StoredRecord[]> {
  const found: StoredRecord[] = [];
  const seen = new Set<number>();
  const keep = (payload: Uint8Array, seq: number): void => {
    if (seen.has(seq)) return;
    seen.add(seq);
    found.push({ id: messageIdOf(payload, shard, seq), partition: shard, offset: seq, topic: role });
  };
  let lastSeen = firstSeq - 1;
  try {
    const ordered = await jsm.jetstream().consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    for (let emptyFetches = 0; lastSeen < lastSeq && emptyFetches < DRAIN_EMPTY_FETCHES; ) {
      const batch = await ordered.fetch({ max_messages: DRAIN_BATCH, expires: DRAIN_FETCH_EXPIRES_MS });
      let got = 0;
      for await (const message of batch) {
        keep(message.data, message.seq);
        lastSeen = Math.max(lastSeen, message.seq);
        got++;
        if (message.seq >= lastSeq) break;
      }
      emptyFetches = got === 0 ? emptyFetches + 1 : 0;
    }
    await ordered.delete().catch(() => undefined);
  } catch (error) {
    info(`reading ${stream} with an ordered consumer failed (${describeError(error)}); reading the rest by sequence`);
  }
  const missing: number[] = [];
  for (let seq = firstSeq; seq <= lastSeq; seq++) if (!seen.has(seq)) missing.push(seq);
  for (let at = 0; at < missing.length; at += DRAIN_CONCURRENCY) {
    const slice = missing.slice(at, at + DRAIN_CONCURRENCY);
    const messages = await Promise.all(
      slice.map((seq) => retrying(`reading ${stream} sequence ${seq}`, () => jsm.streams.getMessage(stream, { seq }).catch(noSuchMessage))),
    );
    for (const message of messages) if (message !== null) keep(message.data, message.seq);
  }
  found.sort((a, b) => a.offset - b.offset);
  return found;
}

/** A sequence the stream no longer holds (none does under limits retention, but a user may delete one). */
function noSuchMessage(error: unknown): null {
  if (/no message found/i.test(describeError(error))) return null;
  throw error;
}
