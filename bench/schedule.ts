// The open-loop schedule: message i of a step is meant to leave at start + i × 1000 / rate
// milliseconds on the adapter's clock, whatever became of the messages before it. Latencies are
// measured from this intended time, not from when the send really started, so a driver or broker
// that falls behind shows up in the latencies instead of quietly lowering the offered load (the
// "coordinated omission" of closed-loop benchmarks).
//
// Counts use exact integer arithmetic: a float rounding at a window's edge would move a message
// between warm-up and measurement and make two runs of the same workload differ.

/** ⌈a / b⌉ for non-negative integers a and positive integers b, exact below 2^53. */
export function ceilDiv(a: number, b: number): number {
  let quotient = Math.floor(a / b);
  // The float quotient may be off by one either way near an integer; the products are exact.
  while (quotient * b < a) quotient++;
  while (quotient > 0 && (quotient - 1) * b >= a) quotient--;
  return quotient;
}

/**
 * Messages a step of `timeMs` sends at `rate` messages per second: every i with
 * i × 1000 / rate < timeMs, so the first leaves at once and none at the end of the time.
 */
export function messageCount(rate: number, timeMs: number): number {
  return ceilDiv(rate * timeMs, 1000);
}

export interface ScheduleWindow {
  /** Messages the step sends, warm-up included. */
  readonly total: number;
  /** The first message whose intended time is in the measured window. */
  readonly firstMeasured: number;
  /** One past the last measured message; equal to total. */
  readonly endMeasured: number;
  /** endMeasured − firstMeasured. */
  readonly measured: number;
}

/** Which messages of a step are warm-up and which are measured. */
export function scheduleWindow(rate: number, warmupMs: number, durationMs: number): ScheduleWindow {
  const firstMeasured = messageCount(rate, warmupMs);
  const total = messageCount(rate, warmupMs + durationMs);
  return { total, firstMeasured, endMeasured: total, measured: total - firstMeasured };
}

/** When message `index` is meant to leave, in the clock's milliseconds. */
export function intendedTimeMs(startMs: number, index: number, rate: number): number {
  return startMs + (index * 1000) / rate;
}

/** The producer that sends message `index`, and its sequence number there: round robin. */
export function producerOf(index: number, producers: number): { readonly producer: number; readonly seq: number } {
  return { producer: index % producers, seq: Math.floor(index / producers) };
}

/** The message index of a producer's `seq`-th message: the inverse of producerOf. */
export function indexOf(producer: number, seq: number, producers: number): number {
  return seq * producers + producer;
}

/** Whether a time on the clock lies in the measured window [start + warm-up, start + warm-up + duration). */
export function inWindow(timeMs: number, startMs: number, warmupMs: number, durationMs: number): boolean {
  return timeMs >= startMs + warmupMs && timeMs < startMs + warmupMs + durationMs;
}
