// The NATS client alone, as an application writes it: one connection, a JetStream publish per
// message awaiting its PubAck (ack all), or a core publish (ack none), at most `window`
// outstanding, the shards' subjects in turn. The benchmark divides its own producer's throughput
// by this one's (bench/overhead.ts).

import { jetstream } from '@nats-io/jetstream';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { runBareLoop } from '../bare-loop.js';
import type { BareLoopOptions, BareLoopResult } from '../contract.js';

/** How long one publish waits for its PubAck. */
const PUBLISH_TIMEOUT_MS = 10_000;

export async function natsBareLoop(base: NodeConnectionOptions, subjects: readonly string[], options: BareLoopOptions): Promise<BareLoopResult> {
  if (options.ack === 'leader') throw new Error('JetStream has no leader-only acknowledgment');
  const connection = await connect({ ...base, name: 'deliverycheck-bare-loop' });
  try {
    const js = jetstream(connection);
    const payload = 'x'.repeat(options.valueBytes);
    const subjectOf = (index: number): string => subjects[index % subjects.length] as string;
    if (options.ack === 'none') {
      return await runBareLoop(options, async (index) => {
        connection.publish(subjectOf(index), payload);
      });
    }
    return await runBareLoop(options, (index) => js.publish(subjectOf(index), payload, { timeout: PUBLISH_TIMEOUT_MS }));
  } finally {
    await connection.close();
  }
}
