// What every client thread of the kafka adapter shares: its end of the message port to the main
// thread (requests answered, events posted, lines logged) and the patient first connect of its
// client.

import { parentPort, workerData } from 'node:worker_threads';
import {
  describeError,
  KAFKA_TIMING,
  sendBatchSize,
  withBudget,
  type ClientEvent,
  type ClientSpec,
  type OperationName,
  type Operations,
  type SendBatch,
  type ToClient,
} from './messages.js';

export type Handlers = { readonly [K in OperationName]?: (args: Operations[K]['args']) => Promise<Operations[K]['result']> };

const port = parentPort;
if (port === null) throw new Error('adapters/kafka/worker.js runs only as a client thread of the kafka adapter');
export const spec = workerData as ClientSpec;

export function post(event: ClientEvent): void {
  port?.postMessage(event);
}

export function log(line: string): void {
  post({ event: 'log', message: line });
}

/**
 * DELIVERYCHECK_KAFKA_DEBUG=1 puts each consumer batch's course (handed over, given up, resolved)
 * and each seek in the history, for when a delivery needs explaining.
 */
export const debug = process.env.DELIVERYCHECK_KAFKA_DEBUG === '1' ? log : () => undefined;

// kafkajs starts promises nobody awaits (a retried request that lost a race, a background
// rejoin); one of them failing is worth a line in the history, not the death of the client.
process.on('unhandledRejection', (reason) => log(`unhandled error in kafkajs: ${describeError(reason)}`));

/** How long a client may take to connect (and a transactional one to fence its predecessor). */
const CONNECT_BUDGET_MS = 22_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs a client's first steps again, after disconnecting, until they succeed or the budget is
 * spent. A client that starts while a broker is paused or restarting may meet kafkajs's stuck
 * connection ("Broker not connected", see admin.ts), which only a new connection clears.
 */
export async function patiently(what: string, steps: () => Promise<void>, disconnect: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + CONNECT_BUDGET_MS;
  for (;;) {
    try {
      await withBudget(steps(), Math.max(1, deadline - Date.now()), what);
      return;
    } catch (error) {
      if (Date.now() + KAFKA_TIMING.maxRetryTimeMs >= deadline) throw error;
      log(`${what} failed (${describeError(error)}); trying again`);
      await disconnect().catch(() => undefined);
      await sleep(KAFKA_TIMING.maxRetryTimeMs);
    }
  }
}

async function answer(id: number, run: () => Promise<unknown>): Promise<void> {
  try {
    post({ event: 'reply', id, ok: true, value: await run() });
  } catch (error) {
    post({ event: 'reply', id, ok: false, error: describeError(error) });
  }
}

/** What a client thread does with the main thread's messages besides requests. */
export interface Listeners {
  readonly onConsumed?: (batch: number) => void;
  readonly onSend?: (batch: SendBatch) => void;
}

export function listen(handlers: Handlers, listeners: Listeners): void {
  port?.on('message', (message: ToClient) => {
    if (message.kind === 'consumed') {
      listeners.onConsumed?.(message.batch);
      return;
    }
    if (message.kind === 'send') {
      const { batch } = message;
      if (listeners.onSend !== undefined) listeners.onSend(batch);
      else post({ event: 'sent', ids: [], partitions: [], offsets: [], errors: Array.from({ length: sendBatchSize(batch) }, (_, index) => [batch.firstId + index, `a ${spec.kind} does not send`]) });
      return;
    }
    // The main thread's typed call() pairs each operation with its own arguments, so the handler
    // found by name accepts them; the map's union of signatures cannot express that pairing.
    const handler = handlers[message.op] as ((args: unknown) => Promise<unknown>) | undefined;
    void answer(message.id, () =>
      handler === undefined ? Promise.reject(new Error(`a ${spec.kind} does not ${message.op}`)) : handler(message.args),
    );
  });
}
