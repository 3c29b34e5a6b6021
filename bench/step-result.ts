// The result of a benchmark step that opened its session: the checker's counts judged against what
// the workload's modes promise (claims.ts), the latency summaries and throughputs of what was
// measured (step-measurements.ts), the notes that say how to read them, and how the driver fared.

import type { IntervalHistogram } from 'node:perf_hooks';
import { check, judge } from '../harness/conformance/checker.js';
import { errorText, type HistoryRecorder } from '../harness/history/recorder.js';
import type { BenchWorkload } from '../spec/bench-workload.js';
import type { BenchRun, ClockKind } from '../spec/bench-result.js';
import { ANOMALIES, type Anomaly, type Expectation } from '../spec/vocabulary.js';
import { backlog, claimOf } from './claims.js';
import { DRIVER } from './driver-settings.js';
import { summarize } from './histogram.js';
import { describeWorkload } from './run-shape.js';
import type { ScheduleWindow } from './schedule.js';
import type { StepMeasurements } from './step-measurements.js';

/** What the step cost in real time, whatever its clock. */
export interface RealCost {
  readonly cpuUs: number;
  readonly realDurationMs: number;
  readonly loopDelay?: IntervalHistogram;
}

/** A step that opened its session, as it ended. */
export interface EndedStep {
  readonly workload: BenchWorkload;
  readonly adapter: string;
  readonly seed: number;
  readonly step: number;
  readonly rate: number;
  readonly clockKind: ClockKind;
  readonly window: ScheduleWindow;
  readonly recorder: HistoryRecorder;
  readonly measurements: StepMeasurements;
  /** Whether the session had a benchmark extension (padded values, batched sends). */
  readonly benchExtension: boolean;
  /** What the driver noted while the step ran. */
  readonly notes: readonly string[];
  /** What ended the step early, if anything did. */
  readonly failure: unknown;
}

export function stepResult(ended: EndedStep, real: RealCost): BenchRun {
  const { workload, adapter, measurements: m } = ended;
  const base = describeWorkload(workload, adapter, ended.seed, ended.step, ended.rate);
  const failure = ended.failure;
  const checked = check(ended.recorder.events);
  const expectations = Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, 'allowed'])) as Record<Anomaly, Expectation>;
  const lostClaim = claimOf(workload, 'lost');
  const duplicatedClaim = claimOf(workload, 'duplicated');
  expectations.lost = lostClaim.expect;
  expectations.duplicated = duplicatedClaim.expect;
  const judged = judge(checked, expectations);
  const claims = {
    lost: { ...lostClaim, count: judged.anomalies.lost.count, held: judged.anomalies.lost.held },
    duplicated: { ...duplicatedClaim, count: judged.anomalies.duplicated.count, held: judged.anomalies.duplicated.held },
  };
  const violated = (['lost', 'duplicated'] as const).filter((anomaly) => !claims[anomaly].held);
  const status = failure !== undefined ? 'error' : violated.length > 0 ? 'failed' : 'ok';
  const reason =
    failure !== undefined
      ? errorText(failure)
      : violated.map((anomaly) => `${anomaly}: ${claims[anomaly].count} (${claims[anomaly].because})`).join('; ');

  const seconds = workload.durationMs / 1000;
  const throughput = (completions: number) => {
    const messagesPerSecond = completions / seconds;
    return {
      messagesPerSecond: Math.round(messagesPerSecond * 10) / 10,
      mebibytesPerSecond: Math.round(((messagesPerSecond * workload.messageBytes) / 2 ** 20) * 1000) / 1000,
    };
  };
  const loopDelay = real.loopDelay;
  const notes = [...ended.notes];
  if (ended.clockKind === 'virtual') {
    notes.push(
      `${adapter} has a virtual clock: it moves only while the driver waits for the adapter, so every latency and rate of this run is the model's, not this machine's; the real cost is the CPU time per simulated message`,
    );
  }
  notes.push(
    ended.benchExtension
      ? `MiB/s counts each message as messageBytes (${workload.messageBytes}); ${adapter}'s benchmark extension pads each value to that size and batches sends`
      : `MiB/s counts each message as messageBytes (${workload.messageBytes}); ${adapter} has no benchmark extension, so its values are as small as they come and every send is a request of its own`,
  );
  const publish = summarize(m.publish);
  const backlogNote = backlog(ended.window.measured, m.producerCompletionsInWindow, publish, workload.durationMs);
  if (backlogNote !== undefined) notes.push(backlogNote);
  if (workload.ack === 'none') notes.push('with ack none, publish latency is the time until the client accepted the send');
  if (workload.commit === 'auto') notes.push('auto-commit runs inside the client, so no commit latency is measured');
  if (m.publish.saturated + m.endToEnd.saturated + m.commitLatency.saturated > 0) {
    notes.push('some latencies were above one hour and were recorded as one hour');
  }
  return {
    ...base,
    clock: ended.clockKind,
    status,
    ...(status === 'ok' ? {} : { reason }),
    counts: checked.counts,
    measured: {
      intended: ended.window.measured,
      acknowledged: m.measuredAcknowledged,
      processed: m.measuredProcessed,
    },
    throughput: {
      producer: throughput(m.producerCompletionsInWindow),
      consumer: throughput(m.consumerCompletionsInWindow),
    },
    latency: {
      publish,
      endToEnd: summarize(m.endToEnd),
      commit: summarize(m.commitLatency),
    },
    errors: { send: m.sendErrors, commit: m.commitErrors },
    anomalies: Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, checked.anomalies[anomaly].count])) as Record<
      Anomaly,
      number
    >,
    claims,
    driver: {
      missedSchedule: {
        count: m.missedSchedule,
        maxLagUs: Math.round(m.maxLagMs * 1000),
        thresholdUs: DRIVER.missedScheduleThresholdMs * 1000,
      },
      inFlightLimitHits: m.inFlightLimitHits,
      ...(loopDelay === undefined || loopDelay.count === 0
        ? {}
        : {
            eventLoopDelayUs: {
              // perf_hooks reports nanoseconds.
              p50: Math.round(loopDelay.percentile(50) / 1000),
              p99: Math.round(loopDelay.percentile(99) / 1000),
              max: Math.round(loopDelay.max / 1000),
            },
          }),
      cpuUsPerMessage: m.sent === 0 ? 0 : Math.round((real.cpuUs / m.sent) * 100) / 100,
      realDurationMs: Math.round(real.realDurationMs),
    },
    notes,
  };
}
