// The benchmark's producers: what they send and when. Unlike a conformance run's producers
// (harness/actors/producers.ts), which keep a number of sends outstanding, a benchmark producer
// sends on the open-loop schedule (schedule.ts), since that schedule is what a benchmark measures:
// message i is meant to leave at start + i / rate on the adapter's clock, whatever became of the
// messages before it. A send that starts later than its intended time by more than a threshold is
// a missed schedule, the driver's watch on itself.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { BenchProducer, BenchProducerOptions, Producer, SendCallbacks, SendResult } from '../adapters/contract.js';
import { DeadlineError } from '../core/deadline.js';
import { messageId } from '../core/message-id.js';
import { Random } from '../core/random.js';
import type { ActorContext } from '../harness/actors/context.js';
import { recordSend } from '../harness/actors/producers.js';
import { errorText } from '../harness/history/recorder.js';
import type { BenchWorkload } from '../spec/bench-workload.js';
import type { MessageRef } from '../spec/history.js';
import { DRIVER } from './driver-settings.js';
import { InFlightLimit, sendWithCallbacks } from './in-flight.js';
import { intendedTimeMs, producerOf } from './schedule.js';
import { SendDeadlines } from './send-deadlines.js';
import type { StepMeasurements } from './step-measurements.js';

/**
 * What the benchmark asks of a session's benchmark extension: values of the workload's size, and
 * sends batched into one request per partition, as a Java producer's would, rather than one
 * request per record, so that it measures the guarantee rather than a client's per-call cost.
 */
export function benchExtrasOf(workload: BenchWorkload): BenchProducerOptions {
  return { valueBytes: workload.messageBytes, batching: true };
}

/** The key index of each of a step's `total` messages. */
export function messageKeys(seed: number, total: number, keys: number): Uint32Array {
  const keyOf = new Uint32Array(total);
  // Keys come from the run's seed, so every adapter gets the same messages in the same order.
  const random = new Random(seed ^ 0x6b657973);
  for (let index = 0; index < total; index++) keyOf[index] = random.int(0, keys - 1);
  return keyOf;
}

/** A producer with the session's benchmark extras (padded values, batching) where it has them. */
export async function openBenchProducer(ctx: ActorContext, workload: BenchWorkload, index: number, opTimeoutMs: number): Promise<Producer | BenchProducer> {
  const options = { index, topic: 'input', ack: workload.ack, retries: workload.adapter.retries, idempotent: workload.idempotent } as const;
  const bench = ctx.session.bench;
  const opening = bench === undefined ? ctx.session.producer(options) : bench.producer({ ...options, ...benchExtrasOf(workload) });
  return ctx.track(await ctx.op(opening, `opening producer ${index}`, opTimeoutMs));
}

/** The step as its producers see it. */
export interface OpenLoopStep {
  readonly ctx: ActorContext;
  readonly workload: BenchWorkload;
  readonly rate: number;
  /** Messages the step sends, warm-up included. */
  readonly total: number;
  /** Per message index: the key index. */
  readonly keys: Uint32Array;
  /** Whether the session's clock is the wall clock. */
  readonly wall: boolean;
  readonly opTimeoutMs: number;
  /** Where the sends' outcomes are counted; its startMs is the schedule's start. */
  readonly measurements: StepMeasurements;
}

/**
 * Producer `index` sends its share of the messages (every producers-th, round robin) on the
 * schedule, waits for the last of them to settle and closes; an error ends the step.
 */
export async function produceOnSchedule(step: OpenLoopStep, index: number, producer: Producer | BenchProducer): Promise<void> {
  const { ctx, workload, measurements } = step;
  const clock = ctx.session.clock;
  const limit = new InFlightLimit(workload.adapter.maxInFlight);
  const deadlines = new SendDeadlines(Math.ceil(step.total / workload.producers), step.opTimeoutMs);
  // Resolved when the last send settles after the schedule ended, rejected by the watchdog.
  let finished: { readonly resolve: () => void; readonly reject: (error: Error) => void } | undefined;
  let scheduled = false;
  const settle = (seq: number): void => {
    deadlines.settle(seq);
    limit.release();
    if (scheduled && deadlines.outstanding === 0) finished?.resolve();
  };
  const callbacks: SendCallbacks = {
    sent: (result, message) => {
      settle(Math.floor(message / workload.producers));
      recordAcknowledgment(step, index, message, result);
    },
    failed: (error, message) => {
      settle(Math.floor(message / workload.producers));
      measurements.sendErrors++;
      ctx.recorder.record({ type: 'error', producer: index, id: messageId(index, Math.floor(message / workload.producers)), error: errorText(error) });
    },
  };
  // One timer watches every outstanding send's deadline (send-deadlines.ts says why): a hung
  // send is fatal to the step.
  const watchdog = setInterval(() => {
    const seq = deadlines.overdue();
    if (seq < 0) return;
    const error = new DeadlineError(`producer ${index} sending ${messageId(index, seq)}`, step.opTimeoutMs);
    ctx.abort(error, `producer ${index}`);
    finished?.reject(error);
  }, DRIVER.sendDeadlineCheckMs);
  try {
    let sinceYield = 0;
    for (let message = index; message < step.total; message += workload.producers) {
      if (ctx.aborted !== undefined) break;
      const intendedMs = intendedTimeMs(measurements.startMs, message, step.rate);
      const nowMs = clock.now();
      if (intendedMs > nowMs) {
        sinceYield = 0;
        await ctx.op(clock.sleep(intendedMs - nowMs), `producer ${index} waiting for its schedule`, step.opTimeoutMs);
      } else if (step.wall && ++sinceYield >= DRIVER.wallYieldEvery) {
        // A burst of overdue sends would otherwise hold the event loop and delay every ack.
        sinceYield = 0;
        await yieldToEventLoop();
      }
      if (limit.full) measurements.inFlightLimitHits++;
      if (!limit.tryAcquire()) await limit.acquire();
      const lagMs = clock.now() - intendedMs;
      const { producer: producerIndex, seq } = producerOf(message, workload.producers);
      const ref: MessageRef = {
        id: messageId(producerIndex, seq),
        producer: producerIndex,
        seq,
        key: `k${step.keys[message] ?? 0}`,
      };
      recordSend(ctx, ref);
      measurements.sendStarted(lagMs);
      deadlines.start(seq);
      sendWithCallbacks(producer, ref, callbacks, message);
    }
    scheduled = true;
    if (deadlines.outstanding > 0) {
      await new Promise<void>((resolve, reject) => {
        finished = { resolve, reject };
      });
    }
    ctx.untrack(producer);
    await ctx.op(producer.close(), `closing producer ${index}`, step.opTimeoutMs);
  } catch (error) {
    ctx.abort(error, `producer ${index}`);
  } finally {
    clearInterval(watchdog);
  }
}

/** Records an acknowledgment (or, with ack none, the client's acceptance) of `message`. */
function recordAcknowledgment(step: OpenLoopStep, index: number, message: number, result: SendResult): void {
  const atMs = step.ctx.session.clock.now();
  const seq = Math.floor(message / step.workload.producers);
  if (result.offset !== null) {
    step.ctx.recorder.record({ type: 'ack', producer: index, id: messageId(index, seq), partition: result.partition, offset: result.offset });
  }
  step.measurements.acknowledgedAt(message, atMs, result.offset !== null);
}
