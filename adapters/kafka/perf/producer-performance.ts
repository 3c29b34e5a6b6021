// Kafka's own producer benchmark, org.apache.kafka.tools.ProducerPerformance (the class behind
// kafka-producer-perf-test.sh), run from the jars the local cluster uses, and the parser of its
// summary line. `deliverycheck bench --compare-kafka-perf` (compare-kafka.ts) puts its figures
// next to deliverycheck's own producer.

import { execa } from 'execa';
import type { ProducerLatencyUs } from '../../../spec/bench-kafka-perf.js';

/** The tool's main class; kafka-tools is among the jars adapters/kafka/cluster/fetch.ts fetches. */
export const PRODUCER_PERFORMANCE_CLASS = 'org.apache.kafka.tools.ProducerPerformance';

/**
 * The JVM options kafka-producer-perf-test.sh gives the tool (its KAFKA_HEAP_OPTS, and
 * kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS), so the figures are those of Kafka's tool as
 * its users run it. The tool prints its figures with String.format in the default locale; an
 * English locale keeps the decimal point a point, which the parser below expects.
 */
export const PRODUCER_PERFORMANCE_JVM_OPTIONS: readonly string[] = [
  '-Xmx512M',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
  '-Duser.language=en',
  '-Duser.country=US',
];

/** The final summary line of a run, as the tool prints it. */
export interface ProducerPerformanceSummary {
  readonly records: number;
  readonly recordsPerSecond: number;
  /** The tool's "MB/sec" is bytes / 2^20, so mebibytes. */
  readonly mebibytesPerSecond: number;
  /** The tool's latencies, converted from its milliseconds. */
  readonly latencyUs: ProducerLatencyUs;
}

/**
 * The summary line, e.g. "200000 records sent, 25710.245533 records/sec (2.45 MB/sec), 2402.66 ms
 * avg latency, 3605.00 ms max latency, 2618 ms 50th, 3348 ms 95th, 3489 ms 99th, 3562 ms 99.9th."
 * The periodic progress lines end after "max latency." and have no percentiles.
 */
const SUMMARY_LINE =
  /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$/;

/**
 * Reads the tool's figures from its output: the last summary line, which with --warmup-records
 * would be the steady-state one. Returns undefined when the output holds none (the run failed).
 */
export function parseProducerPerformance(output: string): ProducerPerformanceSummary | undefined {
  let summary: ProducerPerformanceSummary | undefined;
  for (const line of output.split(/\r?\n/)) {
    const match = SUMMARY_LINE.exec(line.trim());
    if (match === null) continue;
    const [records, perSecond, mebibytes, meanMs, maxMs, p50Ms, p95Ms, p99Ms, p999Ms] = match.slice(1).map(Number);
    const us = (ms: number | undefined): number => Math.round((ms ?? 0) * 1000);
    summary = {
      records: records ?? 0,
      recordsPerSecond: perSecond ?? 0,
      mebibytesPerSecond: mebibytes ?? 0,
      latencyUs: { mean: us(meanMs), p50: us(p50Ms), p95: us(p95Ms), p99: us(p99Ms), p999: us(p999Ms), max: us(maxMs) },
    };
  }
  return summary;
}

export interface ProducerPerformanceOptions {
  readonly java: string;
  readonly classpath: string;
  readonly bootstrap: string;
  readonly topic: string;
  readonly records: number;
  readonly recordBytes: number;
  /** The producer's acks setting. */
  readonly acks: '0' | '1' | 'all';
  /** The producer's buffer.memory. */
  readonly bufferBytes: number;
  /** Messages per second the tool holds itself to (its --throughput); unthrottled when absent. */
  readonly rate?: number;
}

/** The tool's arguments after the JVM's. */
export function producerPerformanceArguments(options: ProducerPerformanceOptions): string[] {
  return [
    '--topic',
    options.topic,
    '--num-records',
    String(options.records),
    '--record-size',
    String(options.recordBytes),
    // -1: no throttle, the tool sends as fast as its producer takes records.
    '--throughput',
    options.rate === undefined ? '-1' : String(options.rate),
    '--bootstrap-server',
    options.bootstrap,
    // --command-property is what Kafka 4 calls --producer-props, which it deprecates.
    '--command-property',
    `acks=${options.acks}`,
    // Java producers are idempotent by default with acks=all, and then keep sequence numbers the
    // deliverycheck workloads' plain producers do not; both sides run without idempotence.
    'enable.idempotence=false',
    `buffer.memory=${options.bufferBytes}`,
  ];
}

/** The whole java command line. */
export function producerPerformanceCommand(options: ProducerPerformanceOptions): string[] {
  return [
    options.java,
    ...PRODUCER_PERFORMANCE_JVM_OPTIONS,
    '-cp',
    options.classpath,
    PRODUCER_PERFORMANCE_CLASS,
    ...producerPerformanceArguments(options),
  ];
}

export interface ProducerPerformanceRun {
  readonly summary: ProducerPerformanceSummary;
  /** Real time from starting the JVM to its exit. */
  readonly wallMs: number;
  readonly output: string;
}

/**
 * Runs the tool and waits for it, within the deadline: a tool that takes longer is killed
 * (SIGTERM, then SIGKILL two seconds later), so no JVM outlives the comparison.
 */
export async function runProducerPerformance(options: ProducerPerformanceOptions, timeoutMs: number): Promise<ProducerPerformanceRun> {
  const [java, ...args] = producerPerformanceCommand(options);
  const startedMs = performance.now();
  const result = await execa(java ?? options.java, args, {
    all: true,
    reject: false,
    timeout: timeoutMs,
    forceKillAfterDelay: 2_000,
    stdin: 'ignore',
  });
  const wallMs = performance.now() - startedMs;
  const output = result.all ?? '';
  const tail = output.split('\n').slice(-6).join('\n');
  if (result.timedOut) throw new Error(`ProducerPerformance did not finish within ${timeoutMs} ms and was killed:\n${tail}`);
  if (result.failed) throw new Error(`ProducerPerformance exited with code ${result.exitCode ?? 'none'}:\n${tail}`);
  const summary = parseProducerPerformance(output);
  if (summary === undefined) throw new Error(`ProducerPerformance printed no summary line:\n${tail}`);
  return { summary, wallMs, output };
}
