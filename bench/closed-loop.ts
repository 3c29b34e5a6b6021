// A producer at full speed: sends a fixed number of messages through an adapter's producer as
// fast as it takes them, with a bounded number outstanding, and measures what Kafka's
// ProducerPerformance measures, so the two can be compared (compare-kafka.ts).
//
// Closed loop, not the open-loop schedule of open-loop-producer.ts, and on purpose.
// ProducerPerformance with `--throughput -1` is itself a closed loop: it calls send() as fast as
// the producer returns, and send() blocks once buffer.memory is full. Its latency is from the
// send() call to the acknowledgment, which includes the time a record waits in that buffer. An
// open loop at a rate above capacity would instead measure how far the schedule ran ahead of the
// broker, a latency that grows with the run's length and says nothing about either client. So this
// loop does what the tool does: a window of outstanding sends of the same size in bytes as the
// tool's buffer.memory, latency from the call (waiting for room in the window included) to the
// acknowledgment, and throughput as records over the time from the first send to the last
// acknowledgment. At saturation both latencies are then mostly the time a record waits behind a
// full buffer, which is buffer ÷ throughput (Little's law).

import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import type { BenchProducer, Producer, SendCallbacks, SendResult } from '../adapters/contract.js';
import { DeadlineError } from '../core/deadline.js';
import { messageId } from '../core/message-id.js';
import { Random } from '../core/random.js';
import type { HistoryRecorder } from '../harness/history/recorder.js';
import type { ProducerLatencyUs } from '../spec/bench-kafka-perf.js';
import { InFlightLimit, sendWithCallbacks } from './in-flight.js';
import { Histogram } from './histogram.js';

export interface ClosedLoopOptions {
  readonly records: number;
  /** Sends outstanding at most; the next send waits for room, as a full producer buffer makes it. */
  readonly window: number;
  /** Keys are drawn from k0..k(keys-1) with the seed, as in workloads. */
  readonly keys: number;
  readonly seed: number;
  /** Real milliseconds the loop waits with sends outstanding and none completing before it gives up. */
  readonly sendTimeoutMs: number;
  /**
   * Messages per second at most, as ProducerPerformance's --throughput: a send that would run
   * ahead of this rate waits until its time. At full speed when absent.
   */
  readonly ratePerSecond?: number;
  /**
   * Where to record each send and its outcome as the benchmark's driver does (send, ack and error
   * lines), so that the loop costs what the harness costs; absent, nothing is recorded.
   */
  readonly recorder?: HistoryRecorder;
}

export interface ClosedLoopResult {
  readonly sent: number;
  /** Sends that resolved; with ack none that is when the client took the message. */
  readonly completed: number;
  /** Completions that came with an offset (every one unless the ack mode is none). */
  readonly withOffset: number;
  /** Distinct (partition, offset) pairs among them: equal to withOffset unless two acks share a place. */
  readonly distinctPlaces: number;
  readonly errors: number;
  readonly firstError?: string;
  /** From the first send call to the last completion, in real milliseconds. */
  readonly elapsedMs: number;
  readonly messagesPerSecond: number;
  readonly latencyUs: ProducerLatencyUs;
}

/** Sends made in one turn of the event loop before the loop yields, so completions get in. */
const SENDS_PER_TURN = 512;

/** A paced send that is at least this far ahead of its time sleeps; a timer is no finer. */
const PACING_SLEEP_MS = 1;

/** Mean and percentiles of a histogram in whole microseconds, as the comparison reports them. */
export function producerLatency(histogram: Histogram): ProducerLatencyUs {
  if (histogram.count === 0) return { mean: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  const [p50, p95, p99, p999] = histogram.percentilesUs([50, 95, 99, 99.9]);
  return {
    mean: Math.round(histogram.meanUs),
    p50: p50 ?? 0,
    p95: p95 ?? 0,
    p99: p99 ?? 0,
    p999: p999 ?? 0,
    max: histogram.maxUs,
  };
}

/** How often the loop looks whether its sends stalled. */
const STALL_CHECK_MS = 1_000;

/**
 * Sends `records` messages p0-0, p0-1, … through the producer and measures them. A timer per
 * send would cost more than the send itself at these rates, so the deadline is on progress: the
 * run ends with a DeadlineError when sends are outstanding and none completed for sendTimeoutMs.
 */
export async function runClosedLoop(producer: Producer | BenchProducer, options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const random = new Random(options.seed ^ 0x6b657973);
  const recorder = options.recorder;
  const limit = new InFlightLimit(options.window);
  const latency = new Histogram();
  // Offsets per partition, to prove that each acknowledgment names a place of its own.
  const places = new Map<number, Set<number>>();
  let completed = 0;
  let withOffset = 0;
  let errors = 0;
  let firstError: string | undefined;
  let lastCompletionMs = 0;
  let outstanding = 0;
  let lastProgressMs = performance.now();
  let drained: (() => void) | undefined;
  let stall: (error: Error) => void = () => undefined;
  const stalled = new Promise<never>((_, reject) => {
    stall = reject;
  });
  stalled.catch(() => undefined);
  const watchdog = setInterval(() => {
    if (outstanding > 0 && performance.now() - lastProgressMs > options.sendTimeoutMs) {
      stall(new DeadlineError(`a send (of ${outstanding} outstanding)`, options.sendTimeoutMs));
    }
  }, STALL_CHECK_MS);

  const settle = (): void => {
    lastProgressMs = performance.now();
    outstanding--;
    limit.release();
    if (outstanding === 0) drained?.();
  };

  // Every send's outcome goes to the same two functions with its seq, and its call time waits in
  // an array: with a producer's sendWith() a send then costs no closure and no promise, which
  // kept the loop's garbage collector busy when hundreds of thousands were outstanding.
  const calledMsBySeq = new Float64Array(options.records);
  const callbacks: SendCallbacks = {
    sent: (result: SendResult, seq: number): void => {
      const nowMs = performance.now();
      latency.record(Math.max(0, Math.round((nowMs - (calledMsBySeq[seq] ?? nowMs)) * 1000)));
      lastCompletionMs = nowMs;
      completed++;
      if (recorder !== undefined && result.offset !== null) {
        recorder.record({ type: 'ack', producer: 0, id: messageId(0, seq), partition: result.partition, offset: result.offset });
      }
      if (result.offset !== null) {
        withOffset++;
        let offsets = places.get(result.partition);
        if (offsets === undefined) places.set(result.partition, (offsets = new Set()));
        offsets.add(result.offset);
      }
      settle();
    },
    failed: (error: Error, seq: number): void => {
      // A failed send is counted, as the tool counts its errors, and the run goes on.
      recorder?.record({ type: 'error', producer: 0, id: messageId(0, seq), error: error.message });
      errors++;
      firstError ??= error.message;
      settle();
    },
  };
  // The same key names over and over: made once each.
  const keyNames: string[] = [];

  const startMs = performance.now();
  try {
    for (let seq = 0; seq < options.records; seq++) {
      if (seq % SENDS_PER_TURN === SENDS_PER_TURN - 1) await Promise.race([yieldToEventLoop(), stalled]);
      if (options.ratePerSecond !== undefined) {
        // As the tool's throttler: the send waits out its lead, and its latency starts after.
        const aheadMs = startMs + (seq * 1000) / options.ratePerSecond - performance.now();
        if (aheadMs >= PACING_SLEEP_MS) await Promise.race([sleep(aheadMs), stalled]);
      }
      // The clock starts before the wait for room, as ProducerPerformance's starts before a
      // send() that blocks on a full buffer.
      const calledMs = performance.now();
      if (!limit.tryAcquire()) await Promise.race([limit.acquire(), stalled]);
      if (outstanding === 0) lastProgressMs = calledMs;
      outstanding++;
      calledMsBySeq[seq] = calledMs;
      const keyIndex = random.int(0, options.keys - 1);
      const message = { id: messageId(0, seq), producer: 0, seq, key: (keyNames[keyIndex] ??= `k${keyIndex}`) };
      recorder?.record({ type: 'send', ...message });
      sendWithCallbacks(producer, message, callbacks, seq);
    }
    if (outstanding > 0) {
      await Promise.race([
        new Promise<void>((resolve) => {
          drained = resolve;
        }),
        stalled,
      ]);
    }
  } finally {
    clearInterval(watchdog);
  }
  const elapsedMs = Math.max(0, lastCompletionMs - startMs);
  let distinctPlaces = 0;
  for (const offsets of places.values()) distinctPlaces += offsets.size;
  return {
    sent: options.records,
    completed,
    withOffset,
    distinctPlaces,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    elapsedMs,
    messagesPerSecond: elapsedMs === 0 ? 0 : (completed * 1000) / elapsedMs,
    latencyUs: producerLatency(latency),
  };
}
