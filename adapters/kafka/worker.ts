// A client thread of the kafka adapter: runs one kafkajs producer, transactional producer or
// consumer for the main thread (messages.ts says why each client has a thread of its own).
// It answers the main thread's requests and, for a consumer, streams what it reads.
//
// This module is the thread's entry (clients.ts starts it): it checks that the thread speaks the
// main thread's protocol and starts the client its spec names. The thread's end of the message
// port is in worker-thread.ts, the producer in worker-producer.ts, the consumer in
// worker-consumer.ts.

// First of all: corrects kafkajs's read_committed filtering before kafkajs loads (see the module).
import './kafkajs-fix.js';
import { describeError, THREAD_PROTOCOL_VERSION } from './messages.js';
import { listen, post, spec } from './worker-thread.js';
import { startProducer } from './worker-producer.js';
import { startConsumer } from './worker-consumer.js';

async function start(): Promise<void> {
  if (spec.protocolVersion !== THREAD_PROTOCOL_VERSION) {
    throw new Error(
      `the compiled client thread speaks protocol ${THREAD_PROTOCOL_VERSION}, the adapter ${spec.protocolVersion}; run "npm run build"`,
    );
  }
  if (spec.kind === 'producer') {
    const { handlers, onSend } = await startProducer(spec);
    listen(handlers, { onSend });
  } else {
    const { handlers, onConsumed } = await startConsumer(spec);
    listen(handlers, { onConsumed });
  }
  post({ event: 'ready' });
}

start().catch((error: unknown) => post({ event: 'failed', error: describeError(error) }));
