// kafkajs alone, as an application writes it: one producer in the main thread, one send() per
// message with its partition and acks, at most `window` outstanding. The benchmark divides its
// own producer's throughput by this one's (bench/overhead.ts). kafkajs gathers nothing by itself:
// each send() is a request of its own, where the adapter's benchmark producer batches the sends
// of one turn into one request per partition, so on Kafka the ratio shows what the harness costs
// together with what its batching saves.

import { Kafka } from 'kafkajs';
import { runBareLoop } from '../../bare-loop.js';
import type { BareLoopOptions, BareLoopResult } from '../../contract.js';
import { KAFKA_TIMING, kafkaAcks, kafkaConfig, type KafkaSecurity } from '../messages.js';

export interface KafkaBareTarget {
  readonly brokers: readonly string[];
  readonly security: KafkaSecurity;
  readonly topic: string;
  readonly partitions: number;
}

export async function kafkaBareLoop(target: KafkaBareTarget, options: BareLoopOptions): Promise<BareLoopResult> {
  const kafka = new Kafka(kafkaConfig(target.brokers, 'deliverycheck-bare-loop', 0, undefined, KAFKA_TIMING.requestTimeoutMs, target.security));
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  try {
    const value = 'x'.repeat(options.valueBytes);
    const acks = kafkaAcks(options.ack);
    return await runBareLoop(options, (index) =>
      producer.send({ topic: target.topic, acks, messages: [{ key: `k${index % 100}`, value, partition: index % target.partitions }] }),
    );
  } finally {
    await producer.disconnect();
  }
}
