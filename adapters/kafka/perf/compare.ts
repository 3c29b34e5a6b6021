// `deliverycheck bench --compare-kafka-perf`: Kafka's own producer benchmark and deliverycheck's
// producer, back to back on the local Kafka cluster, with the same acks, message size,
// partitions, replication, record count and producer buffer, and the ratios of their figures.
//
// For each ack mode (acks 0, 1 and all by default) the command
//   1. creates a fresh topic and runs org.apache.kafka.tools.ProducerPerformance into it
//      (producer-performance.ts), from the jars the cluster runs on;
//   2. opens a kafka adapter session on another fresh topic and sends the same number of
//      messages through deliverycheck's producer at full speed (closed-loop.ts says why a closed
//      loop, and how the measurement matches the tool's);
//   3. reads both topics' high watermarks, so the table says what the cluster stored and not
//      only what each producer claims;
// then prints the figures side by side with the ratios deliverycheck ÷ ProducerPerformance and
// the load average before each pair: the machine may be shared, and a ratio measured back to
// back is worth more than either figure alone.
//
// The cluster is the local one of the kafka adapter (DELIVERYCHECK_KAFKA_DIR and
// DELIVERYCHECK_KAFKA_PORT move it): reused when it runs detached (`npm run kafka:start`), else
// started for the command and stopped at its end.

import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createKafkaAdapter } from '../adapter.js';
import type { KafkaSessionView } from '../session.js';
import { KafkaAdmin } from '../admin.js';
import { environmentClusterOptions, startCluster, type ClusterHandle, type ClusterOptions } from '../cluster/cluster.js';
import { checkJava, ensureKafka, javaCommand, kafkaClasspath } from '../cluster/fetch.js';
import { withDeadline } from '../../../core/deadline.js';
import type { TextSink } from '../../../harness/report/human.js';
import { checkOutputPath } from '../../../core/output-paths.js';
import { writeReportFile } from '../../../harness/report/json.js';
import {
  PRODUCER_LATENCY_FIELDS,
  type KafkaPerfComparison,
  type KafkaPerfPair,
  type ProducerLatencyUs,
  type ProducerPass,
} from '../../../spec/bench-kafka-perf.js';
import { packageVersion } from '../../../core/package-root.js';
import type { AckMode } from '../../../spec/vocabulary.js';
import { runClosedLoop } from '../../../bench/closed-loop.js';
import { runProducerPerformance, producerPerformanceCommand } from './producer-performance.js';
import { formatMs, formatRate } from '../../../bench/report.js';

export const COMPARE_KAFKA_PERF_USAGE = `Usage:
  deliverycheck bench --compare-kafka-perf [OPTIONS]
      Runs Kafka's ProducerPerformance and deliverycheck's kafka producer back to back on the
      local Kafka cluster, per ack mode, and prints their figures and ratios.
      --acks LIST            ack modes to compare, of 0, 1, all (default 0,1,all)
      --records N            messages per run (default 200000)
      --message-bytes N      record value size (default 100)
      --partitions N         partitions of each fresh topic (default 6; replication 3, min.insync 2)
      --buffer-bytes N       both producers' buffer: Kafka's buffer.memory, deliverycheck's window
                             of outstanding sends times the message size (default 33554432)
      --rate N               hold both producers to N messages per second (the tool's --throughput),
                             to compare latencies below saturation (default: full speed)
      --json FILE            write the result as JSON (spec/bench-kafka-perf.schema.json)

The local cluster is the kafka adapter's (DELIVERYCHECK_KAFKA_DIR, DELIVERYCHECK_KAFKA_PORT):
reused when it runs, else started and stopped again. Exit code 0 when every pair ran, 2 otherwise.
`;

export interface CompareKafkaSettings {
  readonly acks: readonly AckMode[];
  readonly records: number;
  readonly messageBytes: number;
  readonly partitions: number;
  readonly bufferBytes: number;
  /** Messages per second both producers are held to; full speed when absent. */
  readonly rate?: number;
}

export const COMPARE_KAFKA_DEFAULTS: CompareKafkaSettings = {
  acks: ['none', 'leader', 'all'],
  records: 200_000,
  messageBytes: 100,
  partitions: 6,
  // Kafka's default buffer.memory.
  bufferBytes: 33_554_432,
};

/** The cluster has three nodes; every topic of the comparison is replicated to all of them. */
const REPLICATION = 3;
const MIN_INSYNC = 2;
/** Starting (or finding) the local cluster. */
const CLUSTER_TIMEOUT_MS = 180_000;
/** Creating or deleting a topic, opening or closing a client, reading the high watermarks. */
const SETUP_TIMEOUT_MS = 60_000;
/** One send of deliverycheck's producer; the kafka adapter itself gives up on a send after 25 s. */
const SEND_TIMEOUT_MS = 60_000;
/** Stopping a cluster this command started. */
const RELEASE_TIMEOUT_MS = 120_000;
/**
 * How long each pass waits between creating its topic and producing to it. Right after a topic
 * is created, a follower often fetches from a leader that has not yet applied the new topic,
 * gets UNKNOWN_TOPIC_ID (the brokers log it), and backs off for replica.fetch.backoff.ms (1 s by
 * default). A produce with acks all waits for every in-sync replica, so a run that began within
 * that second stalled for up to a second at its start: one of three deliverycheck runs did, and
 * ProducerPerformance only less often because its JVM takes a while to start. Both passes wait
 * this long, so neither measures the topic's creation.
 */
export const TOPIC_SETTLE_MS = 1_500;

const waitForTopicToSettle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, TOPIC_SETTLE_MS));

/** A pass may take this long: a minute to start, then at least 1000 records a second. */
export function passTimeoutMs(records: number): number {
  return 60_000 + records;
}

const ACKS_SETTING: Readonly<Record<AckMode, '0' | '1' | 'all'>> = { none: '0', leader: '1', all: 'all' };

export interface CompareIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
}

class CompareInputError extends Error {}

function positiveInteger(text: string | undefined, name: string, fallback: number, maximum: number): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/u.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > maximum) {
    throw new CompareInputError(`--${name} must be an integer from 1 to ${maximum}, not ${JSON.stringify(text)}`);
  }
  return value;
}

function parseAcks(text: string | undefined): AckMode[] {
  if (text === undefined) return [...COMPARE_KAFKA_DEFAULTS.acks];
  const byName: Readonly<Record<string, AckMode>> = { '0': 'none', '1': 'leader', all: 'all', '-1': 'all' };
  const modes = text.split(',').map((name) => {
    const mode = byName[name.trim()];
    if (mode === undefined) throw new CompareInputError(`--acks takes 0, 1 and all separated by commas, not ${JSON.stringify(text)}`);
    return mode;
  });
  return [...new Set(modes)];
}

/** The settings from the command's arguments (the ones after --compare-kafka-perf). */
export function parseCompareArgs(args: readonly string[]): { settings: CompareKafkaSettings; json?: string; help: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        acks: { type: 'string' },
        records: { type: 'string' },
        'message-bytes': { type: 'string' },
        partitions: { type: 'string' },
        'buffer-bytes': { type: 'string' },
        rate: { type: 'string' },
        json: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new CompareInputError(`${error instanceof Error ? error.message.split('\n')[0] : String(error)} (see --compare-kafka-perf --help)`);
  }
  const settings: CompareKafkaSettings = {
    acks: parseAcks(values.acks),
    records: positiveInteger(values.records, 'records', COMPARE_KAFKA_DEFAULTS.records, 10_000_000),
    messageBytes: positiveInteger(values['message-bytes'], 'message-bytes', COMPARE_KAFKA_DEFAULTS.messageBytes, 1_000_000),
    partitions: positiveInteger(values.partitions, 'partitions', COMPARE_KAFKA_DEFAULTS.partitions, 64),
    bufferBytes: positiveInteger(values['buffer-bytes'], 'buffer-bytes', COMPARE_KAFKA_DEFAULTS.bufferBytes, 2 ** 31 - 1),
    ...(values.rate === undefined ? {} : { rate: positiveInteger(values.rate, 'rate', 1, 10_000_000) }),
  };
  return { settings, ...(values.json === undefined ? {} : { json: values.json }), help: values.help === true };
}

/** deliverycheck's window of outstanding sends: the buffer in messages, at least one. */
export function windowOf(settings: Pick<CompareKafkaSettings, 'bufferBytes' | 'messageBytes'>): number {
  return Math.max(1, Math.floor(settings.bufferBytes / settings.messageBytes));
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function mebibytes(messagesPerSecond: number, messageBytes: number): number {
  return round((messagesPerSecond * messageBytes) / 2 ** 20, 3);
}

/** deliverycheck ÷ ProducerPerformance for throughput and each latency figure. */
export function comparisonRatios(ours: ProducerPass, theirs: ProducerPass): NonNullable<KafkaPerfPair['ratios']> {
  const ratio = (a: number, b: number): number | null => (b === 0 ? null : round(a / b, 3));
  const latency = Object.fromEntries(
    PRODUCER_LATENCY_FIELDS.map((field) => [field, ratio(ours.latencyUs[field], theirs.latencyUs[field])]),
  ) as Record<(typeof PRODUCER_LATENCY_FIELDS)[number], number | null>;
  return { messagesPerSecond: ratio(ours.messagesPerSecond, theirs.messagesPerSecond) ?? 0, latency };
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function loadAverage(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return [round(one, 2), round(five, 2), round(fifteen, 2)];
}

interface Context {
  readonly settings: CompareKafkaSettings;
  readonly bootstrap: string;
  readonly java: string;
  readonly classpath: string;
  readonly suffix: string;
}

/**
 * Runs ProducerPerformance on a topic of its own, with an admin client of its own: kafkajs keeps
 * refreshing the metadata of every topic a client ever asked about, and fails once one of them
 * is deleted, so a client shared between passes would fail from the second pass on.
 */
async function producerPerformancePass(context: Context, ack: AckMode): Promise<{ pass: ProducerPass; command: string[] }> {
  const admin = new KafkaAdmin(context.bootstrap.split(','), `deliverycheck-perf-admin-${context.suffix}-${ACKS_SETTING[ack]}`);
  await withDeadline(admin.connect(), SETUP_TIMEOUT_MS, 'connecting to the local Kafka cluster');
  try {
    return await producerPerformanceOnTopic(context, admin, ack);
  } finally {
    await withDeadline(admin.disconnect(), SETUP_TIMEOUT_MS, 'disconnecting').catch(() => undefined);
  }
}

async function producerPerformanceOnTopic(context: Context, admin: KafkaAdmin, ack: AckMode): Promise<{ pass: ProducerPass; command: string[] }> {
  const { settings } = context;
  const topic = `deliverycheck-perf-pp-${ACKS_SETTING[ack]}-${context.suffix}`;
  const options = {
    java: context.java,
    classpath: context.classpath,
    bootstrap: context.bootstrap,
    topic,
    records: settings.records,
    recordBytes: settings.messageBytes,
    acks: ACKS_SETTING[ack],
    bufferBytes: settings.bufferBytes,
    ...(settings.rate === undefined ? {} : { rate: settings.rate }),
  };
  const command = producerPerformanceCommand(options);
  await withDeadline(
    admin.createTopic({ name: topic, partitions: settings.partitions, replication: REPLICATION, minInsync: MIN_INSYNC, uncleanElection: false }),
    SETUP_TIMEOUT_MS,
    `creating topic ${topic}`,
  );
  try {
    await waitForTopicToSettle();
    const run = await runProducerPerformance(options, passTimeoutMs(settings.records));
    const stored = sum((await withDeadline(admin.highWatermarks(topic), SETUP_TIMEOUT_MS, `reading the end of ${topic}`)).values());
    const { summary } = run;
    return {
      command,
      pass: {
        records: summary.records,
        stored,
        // The tool counts a record as sent only when its callback came without an error (and
        // prints the error otherwise), so the records it does not count are its failed sends.
        errors: Math.max(0, settings.records - summary.records),
        messagesPerSecond: round(summary.recordsPerSecond, 1),
        mebibytesPerSecond: summary.mebibytesPerSecond,
        latencyUs: summary.latencyUs,
        wallMs: Math.round(run.wallMs),
      },
    };
  } finally {
    await withDeadline(admin.deleteQuietly([topic], []), SETUP_TIMEOUT_MS, `deleting topic ${topic}`).catch(() => undefined);
  }
}

async function deliverycheckPass(context: Context, ack: AckMode): Promise<ProducerPass> {
  const { settings } = context;
  const adapter = createKafkaAdapter({ brokers: context.bootstrap.split(',') });
  const session: KafkaSessionView = await withDeadline(
    adapter.open({
      seed: 1,
      brokers: REPLICATION,
      topic: {
        name: `deliverycheck-perf-dc-${ACKS_SETTING[ack]}`,
        partitions: settings.partitions,
        replication: REPLICATION,
        minInsync: MIN_INSYNC,
        uncleanElection: false,
      },
      defects: [],
      info: () => undefined,
    }),
    SETUP_TIMEOUT_MS,
    'opening a kafka adapter session',
  );
  try {
    await waitForTopicToSettle();
    const startedMs = performance.now();
    const producer = await withDeadline(
      session.bench.producer({ index: 0, topic: 'input', ack, retries: 0, idempotent: false, valueBytes: settings.messageBytes, batching: true }),
      SETUP_TIMEOUT_MS,
      'opening the producer',
    );
    let result;
    try {
      result = await withDeadline(
        runClosedLoop(producer, {
          records: settings.records,
          window: windowOf(settings),
          keys: 100,
          seed: 1,
          sendTimeoutMs: SEND_TIMEOUT_MS,
          ...(settings.rate === undefined ? {} : { ratePerSecond: settings.rate }),
        }),
        passTimeoutMs(settings.records),
        `sending ${settings.records} messages`,
      );
    } finally {
      await withDeadline(producer.close(), SETUP_TIMEOUT_MS, 'closing the producer').catch(() => undefined);
    }
    const wallMs = performance.now() - startedMs;
    if (result.distinctPlaces !== result.withOffset) {
      throw new Error(`${result.withOffset - result.distinctPlaces} acknowledgments named an offset another one had named`);
    }
    const stored = sum((await withDeadline(session.endOffsets(), SETUP_TIMEOUT_MS, 'reading the end of the topic')).values());
    return {
      records: result.completed,
      stored,
      errors: result.errors,
      messagesPerSecond: round(result.messagesPerSecond, 1),
      mebibytesPerSecond: mebibytes(result.messagesPerSecond, settings.messageBytes),
      latencyUs: result.latencyUs,
      wallMs: Math.round(wallMs),
    };
  } finally {
    await withDeadline(session.close(), SETUP_TIMEOUT_MS, 'closing the session').catch(() => undefined);
  }
}

/** Runs one pair: the tool, then deliverycheck; never throws for broker trouble. */
async function comparePair(context: Context, ack: AckMode): Promise<KafkaPerfPair> {
  const loadAverageBefore = loadAverage();
  let command = '';
  try {
    const theirs = await producerPerformancePass(context, ack);
    command = theirs.command.join(' ');
    const ours = await deliverycheckPass(context, ack);
    return {
      ack,
      acks: ACKS_SETTING[ack],
      status: 'ok',
      loadAverage: loadAverageBefore,
      command,
      producerPerformance: theirs.pass,
      deliverycheck: ours,
      ratios: comparisonRatios(ours, theirs.pass),
    };
  } catch (error) {
    return {
      ack,
      acks: ACKS_SETTING[ack],
      status: 'error',
      reason: error instanceof Error ? error.message : String(error),
      loadAverage: loadAverageBefore,
      command,
    };
  }
}

export interface CompareOptions {
  /** Progress lines for a human. */
  readonly log?: (line: string) => void;
  /** The local cluster's folder and ports, over DELIVERYCHECK_KAFKA_DIR and _PORT (tests use their own). */
  readonly cluster?: Pick<ClusterOptions, 'dataDir' | 'basePort'>;
}

/** Runs the comparison on the local cluster, starting it when it is not running. */
export async function compareKafkaPerf(settings: CompareKafkaSettings, options: CompareOptions = {}): Promise<KafkaPerfComparison> {
  const log = options.log ?? (() => undefined);
  const java = javaCommand();
  await checkJava(java);
  const install = await ensureKafka({ log });
  const cluster: ClusterHandle = await withDeadline(
    startCluster({ reuse: true, ...environmentClusterOptions(), ...options.cluster, log }),
    CLUSTER_TIMEOUT_MS,
    'starting the local Kafka cluster',
  );
  try {
    const context: Context = {
      settings,
      bootstrap: cluster.bootstrap,
      java,
      classpath: kafkaClasspath(install),
      suffix: `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`,
    };
    const pairs: KafkaPerfPair[] = [];
    for (const ack of settings.acks) {
      log(`acks=${ACKS_SETTING[ack]}: ProducerPerformance, then deliverycheck, ${settings.records} records each (load average ${loadAverage().join(' ')})`);
      pairs.push(await comparePair(context, ack));
    }
    return {
      tool: 'deliverycheck',
      kind: 'kafka-perf-comparison',
      version: packageVersion(),
      node: process.version,
      kafkaVersion: install.version,
      bootstrap: cluster.bootstrap,
      settings: {
        records: settings.records,
        messageBytes: settings.messageBytes,
        partitions: settings.partitions,
        replication: REPLICATION,
        minInsync: MIN_INSYNC,
        bufferBytes: settings.bufferBytes,
        ...(settings.rate === undefined ? {} : { rate: settings.rate }),
      },
      pairs,
    };
  } finally {
    // A cluster this command started stops; one it found running stays up.
    await withDeadline(cluster.release(), RELEASE_TIMEOUT_MS, 'stopping the local Kafka cluster');
  }
}

// ------------------------------------------------------------------------------- report

function formatLatencies(latency: ProducerLatencyUs): string[] {
  return PRODUCER_LATENCY_FIELDS.map((field) => formatMs(latency[field]));
}

function formatRatio(ratio: number | null): string {
  return ratio === null ? '—' : ratio.toFixed(2);
}

/** The side-by-side table: one block per ack mode, each figure's ratio under it. */
export function formatComparison(result: KafkaPerfComparison): string {
  const { settings } = result;
  const header = ['acks', 'producer', 'msg/s', 'MiB/s', 'mean', 'p50', 'p95', 'p99', 'p99.9', 'max', 'stored'];
  const rows: string[][] = [];
  const failures: string[] = [];
  for (const pair of result.pairs) {
    const acks = `acks=${pair.acks}`;
    const pp = pair.producerPerformance;
    const dc = pair.deliverycheck;
    if (pair.status === 'error' || pp === undefined || dc === undefined || pair.ratios === undefined) {
      rows.push([acks, 'error (below)', '', '', '', '', '', '', '', '', '']);
      failures.push(`ERROR ${acks}: ${pair.reason ?? 'unknown'}`);
      continue;
    }
    const side = (name: string, pass: ProducerPass): string[] => [
      '',
      name,
      formatRate(pass.messagesPerSecond),
      pass.mebibytesPerSecond.toFixed(2),
      ...formatLatencies(pass.latencyUs),
      String(pass.stored),
    ];
    rows.push([acks, ...side('ProducerPerformance', pp).slice(1)]);
    rows.push(side('deliverycheck', dc));
    rows.push([
      '',
      'ratio dc/pp',
      formatRatio(pair.ratios.messagesPerSecond),
      formatRatio(pair.ratios.messagesPerSecond),
      ...PRODUCER_LATENCY_FIELDS.map((field) => formatRatio(pair.ratios?.latency[field] ?? null)),
      '',
    ]);
    rows.push(['', `load average ${pair.loadAverage.join(' ')}`, '', '', '', '', '', '', '', '', '']);
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [
    `Kafka ${result.kafkaVersion} at ${result.bootstrap}: ${settings.records} records of ${settings.messageBytes} bytes, ` +
      `${settings.partitions} partitions, replication ${settings.replication}, min.insync ${settings.minInsync}, ` +
      `buffer ${settings.bufferBytes} bytes, ${settings.rate === undefined ? 'full speed' : `both held to ${settings.rate} msg/s`}; ` +
      'latencies in ms from send call to acknowledgment',
    '',
    line(header),
    ...rows.map(line),
    ...(failures.length > 0 ? ['', ...failures] : []),
    '',
    'Ratios are deliverycheck ÷ ProducerPerformance: above 1 is faster for msg/s, slower for latency.',
    'ProducerPerformance reports latencies in whole ms; a ratio over a 0 ms figure is shown as —.',
  ].join('\n');
}

/** Runs `deliverycheck bench --compare-kafka-perf ARGS` and returns the exit code. */
export async function compareKafkaPerfCommand(args: readonly string[], io: CompareIo): Promise<number> {
  try {
    const { settings, json, help } = parseCompareArgs(args);
    if (help) {
      io.stdout.write(COMPARE_KAFKA_PERF_USAGE);
      return 0;
    }
    if (json !== undefined) await checkOutputPath({ option: '--json', path: json, kind: 'file' });
    const result = await compareKafkaPerf(settings, { log: (line) => io.stderr.write(`compare-kafka-perf: ${line}\n`) });
    io.stdout.write(`${formatComparison(result)}\n`);
    if (json !== undefined) await writeReportFile(json, `${JSON.stringify(result, null, 2)}\n`);
    return result.pairs.every((pair) => pair.status === 'ok') ? 0 : 2;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`deliverycheck: ${message.split('\n')[0] ?? message}\n`);
    return 2;
  }
}
