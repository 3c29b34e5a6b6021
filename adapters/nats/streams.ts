// A nats session's topics as JetStream streams: one R3 stream with limits retention per
// partition, named after the topic, a suffix unique to the session and the partition, with one
// subject each; made when the session opens and deleted when it closes.

import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { OpenOptions, TopicRole, TopicSettings } from '../contract.js';

/**
 * The stream's duplicate window: a resend with the same Nats-Msg-Id within it is dropped. A send's
 * retries end within 25 s (clients.ts), so two minutes covers every resend of a scenario.
 */
const DUPLICATE_WINDOW_MS = 120_000;

/** Stream names: letters, digits, '-' and '_' only (no '.', '*', '>' or white space). */
export function streamSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

export interface TopicStreams {
  readonly role: TopicRole;
  readonly streams: readonly string[];
  readonly subjects: readonly string[];
}

/** The streams and subjects of a session's input topic and, where it has one, its output topic. */
export function sessionStreams(options: OpenOptions): { readonly input: TopicStreams; readonly output: TopicStreams | undefined } {
  // Unique per session: a rerun with the same seed, or a killed run's leftovers, never share a stream.
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const topicStreams = (topic: TopicSettings, role: TopicRole): TopicStreams => {
    const streams = Array.from({ length: topic.partitions }, (_, shard) => streamSafe(`${topic.name}-${suffix}-p${shard}`));
    return { role, streams, subjects: streams.map((stream) => `${stream}.m`) };
  };
  const input = topicStreams(options.topic, 'input');
  const output = options.outputTopic === undefined ? undefined : topicStreams(options.outputTopic, 'output');
  return { input, output };
}

/** Makes every stream of the topics, one after another. */
export async function addStreams(jsm: JetStreamManager, topics: readonly TopicStreams[]): Promise<void> {
  for (const topic of topics) {
    for (const [shard, name] of topic.streams.entries()) {
      await jsm.streams.add({
        name,
        subjects: [topic.subjects[shard] as string],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        num_replicas: 3,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      });
    }
  }
}

export async function deleteStreams(jsm: JetStreamManager, streams: readonly string[]): Promise<void> {
  await Promise.allSettled(streams.map((stream) => jsm.streams.delete(stream)));
}
