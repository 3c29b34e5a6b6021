// What one benchmark step measures, on the adapter's clock, and the driver's tallies of itself.
//
// - publish latency: acknowledgment time minus INTENDED send time; end-to-end latency: first
//   processing minus intended send time. Measuring from the intended time means a broker (or a
//   driver) that falls behind shows up as latency, instead of silently lowering the load.
// - commit latency: one commit call (transactional: adding the offsets and committing).
// - throughput: completions whose time lies in the measured window, divided by its length.
// Latencies count messages whose intended time lies in the window; warm-up messages are sent,
// recorded and checked, but not measured.

import type { DeliveredRecord } from '../adapters/contract.js';
import { parseMessageId } from '../core/message-id.js';
import { DRIVER } from './driver-settings.js';
import { Histogram } from './histogram.js';
import { inWindow, intendedTimeMs, type ScheduleWindow } from './schedule.js';

/** The counts and latencies of one step, fed by its producers and by the shared actors' hooks. */
export class StepMeasurements {
  /** The clock time message 0 is meant to leave; set when the schedule starts. */
  startMs = 0;
  /** Per message index: when it was first processed (NaN: not yet). */
  private readonly processedAtMs: Float64Array;

  readonly publish = new Histogram();
  readonly endToEnd = new Histogram();
  readonly commitLatency = new Histogram();
  sent = 0;
  acknowledged = 0;
  /** Messages the broker promised to keep: acknowledged, or under ack none sent without an error. */
  promised = 0;
  processedDistinct = 0;
  measuredAcknowledged = 0;
  measuredProcessed = 0;
  producerCompletionsInWindow = 0;
  consumerCompletionsInWindow = 0;
  sendErrors = 0;
  commitErrors = 0;
  missedSchedule = 0;
  maxLagMs = 0;
  inFlightLimitHits = 0;

  constructor(
    private readonly window: ScheduleWindow,
    private readonly rate: number,
    private readonly workload: { readonly producers: number; readonly warmupMs: number; readonly durationMs: number },
  ) {
    this.processedAtMs = new Float64Array(window.total).fill(Number.NaN);
  }

  /** A send started `lagMs` after its intended time. */
  sendStarted(lagMs: number): void {
    if (lagMs > DRIVER.missedScheduleThresholdMs) this.missedSchedule++;
    if (lagMs > this.maxLagMs) this.maxLagMs = lagMs;
    this.sent++;
  }

  /**
   * Measures an acknowledgment (or, with ack none, the client's acceptance) of `message` at
   * `atMs`; `withOffset` says whether the broker acknowledged it with a place.
   */
  acknowledgedAt(message: number, atMs: number, withOffset: boolean): void {
    if (withOffset) this.acknowledged++;
    this.promised++;
    if (this.isMeasured(message)) {
      this.measuredAcknowledged++;
      this.publish.record((atMs - intendedTimeMs(this.startMs, message, this.rate)) * 1000);
    }
    if (this.inWindow(atMs)) this.producerCompletionsInWindow++;
  }

  /** A commit that began at `startMs` went through at `nowMs`. */
  committed(startMs: number, nowMs: number): void {
    if (this.inWindow(startMs)) this.commitLatency.record((nowMs - startMs) * 1000);
  }

  /**
   * Measures the first processing of each of the batch's messages at `atMs`: end-to-end latency
   * for the measured ones, and the consumer's completions inside the window.
   */
  processed(records: readonly DeliveredRecord[], atMs: number): void {
    const counted = this.inWindow(atMs);
    for (const record of records) {
      const message = this.messageIndex(record.id);
      if (message === undefined || !Number.isNaN(this.processedAtMs[message] ?? 0)) continue;
      this.processedAtMs[message] = atMs;
      this.processedDistinct++;
      if (this.isMeasured(message)) {
        this.measuredProcessed++;
        this.endToEnd.record((atMs - intendedTimeMs(this.startMs, message, this.rate)) * 1000);
      }
      if (counted) this.consumerCompletionsInWindow++;
    }
  }

  private isMeasured(message: number): boolean {
    return message >= this.window.firstMeasured && message < this.window.endMeasured;
  }

  private inWindow(timeMs: number): boolean {
    return inWindow(timeMs, this.startMs, this.workload.warmupMs, this.workload.durationMs);
  }

  /** The index of one of this step's messages, or undefined for an id it never sent. */
  private messageIndex(id: string): number | undefined {
    const parsed = parseMessageId(id);
    if (parsed === undefined) return undefined;
    const { producer, seq } = parsed;
    if (producer >= this.workload.producers) return undefined;
    const message = seq * this.workload.producers + producer;
    return message < this.window.total ? message : undefined;
  }
}
