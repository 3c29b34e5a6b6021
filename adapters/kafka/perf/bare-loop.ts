// kafkajs alone, as an application that cares for throughput writes it: one producer in the main
// thread, the sends of one turn of the event loop gathered into one send() call per turn (kafkajs
// sends each call's messages in one request per broker, and gathers nothing across calls by
// itself), at most `window` messages outstanding. The benchmark divides its own producer's
// throughput by this one's (bench/overhead.ts); the adapter's benchmark producer gathers a turn's
// sends the same way, in a worker thread and with its own encoding of the request.

import { Kafka, type Message } from 'kafkajs';
import { runBareLoop } from '../../bare-loop.js';
import type { BareLoopOptions, BareLoopResult } from '../../contract.js';
import { KAFKA_TIMING, kafkaAcks, kafkaConfig, type KafkaSecurity } from '../messages.js';

export interface KafkaBareTarget {
  readonly brokers: readonly string[];
  readonly security: KafkaSecurity;
  readonly topic: string;
  readonly partitions: number;
}

/**
 * An application keeps kafkajs's default of five retries. Right after a topic is created a node
 * may not know its leaders yet, and a send without retries then fails (seen once in CI: 400 of
 * 1000 sends); when nothing fails, retries cost nothing, so the figure stays the library's.
 */
const BARE_LOOP_RETRIES = 5;

export async function kafkaBareLoop(target: KafkaBareTarget, options: BareLoopOptions): Promise<BareLoopResult> {
  const kafka = new Kafka(
    kafkaConfig(target.brokers, 'deliverycheck-bare-loop', BARE_LOOP_RETRIES, undefined, KAFKA_TIMING.requestTimeoutMs, target.security),
  );
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  try {
    const value = 'x'.repeat(options.valueBytes);
    const acks = kafkaAcks(options.ack);
    let turn: { messages: Message[]; done: Promise<unknown> } | undefined;
    return await runBareLoop(options, (index) => {
      if (turn === undefined) {
        const messages: Message[] = [];
        // The turn's messages go out together once the loop yields.
        const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          turn = undefined;
          return producer.send({ topic: target.topic, acks, messages });
        });
        turn = { messages, done };
      }
      turn.messages.push({ key: `k${index % 100}`, value, partition: index % target.partitions });
      return turn.done;
    });
  } finally {
    await producer.disconnect();
  }
}
