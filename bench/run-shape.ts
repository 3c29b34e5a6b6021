// The parts of a benchmark run's result that do not depend on what was measured: the workload's
// settings as the result repeats them, and the whole result of a run that measured nothing (a
// skipped workload, a session that never opened).

import type { BenchWorkload } from '../spec/bench-workload.js';
import type { BenchClaim, BenchRun, LatencySummary } from '../spec/bench-result.js';
import { ANOMALIES, type Anomaly } from '../spec/vocabulary.js';
import { claimOf } from './claims.js';

export function emptyRun(
  workload: BenchWorkload,
  adapter: string,
  seed: number,
  step: number,
  rate: number,
  status: 'skipped' | 'error',
  reason: string,
  missedScheduleThresholdMs: number,
): BenchRun {
  const none: LatencySummary = { count: 0, minUs: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 };
  const noThroughput = { messagesPerSecond: 0, mebibytesPerSecond: 0 };
  const noClaim = (anomaly: 'lost' | 'duplicated'): BenchClaim => {
    const claim = claimOf(workload, anomaly);
    return { expect: claim.expect, count: 0, held: true, because: claim.because };
  };
  return {
    ...describeWorkload(workload, adapter, seed, step, rate),
    status,
    reason,
    counts: { sent: 0, acknowledged: 0, stored: 0, delivered: 0, processed: 0 },
    measured: { intended: 0, acknowledged: 0, processed: 0 },
    throughput: { producer: noThroughput, consumer: noThroughput },
    latency: { publish: none, endToEnd: none, commit: none },
    errors: { send: 0, commit: 0 },
    anomalies: Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, 0])) as Record<Anomaly, number>,
    claims: { lost: noClaim('lost'), duplicated: noClaim('duplicated') },
    driver: {
      missedSchedule: { count: 0, maxLagUs: 0, thresholdUs: missedScheduleThresholdMs * 1000 },
      inFlightLimitHits: 0,
      cpuUsPerMessage: 0,
      realDurationMs: 0,
    },
    notes: [],
  };
}

export function describeWorkload(workload: BenchWorkload, adapter: string, seed: number, step: number, rate: number) {
  return {
    workload: workload.name,
    file: workload.file,
    adapter,
    seed,
    ack: workload.ack,
    commit: workload.commit,
    idempotent: workload.idempotent,
    messageBytes: workload.messageBytes,
    partitions: workload.partitions,
    replication: workload.replication,
    minInsync: workload.minInsync,
    producers: workload.producers,
    consumers: workload.consumers,
    rate,
    step,
    steps: workload.rates.length,
    warmupMs: workload.warmupMs,
    durationMs: workload.durationMs,
  } as const;
}
