// `deliverycheck bench --compare-kafka-perf`: the parser of Kafka's ProducerPerformance output on
// lines the tool printed, the arguments, ratios and table (no Java needed), and one small real
// comparison on a cluster of its own. The tests check that both sides produced every record and
// that the figures are well formed, never how fast either side is: the machine may be shared.
//
// The real run uses .cache/kafka-compare-test and ports 29492..29503, clear of the other Kafka
// tests and of a cluster a developer started; DELIVERYCHECK_KAFKA_COMPARE_TEST_PORT moves them.
// Without Java 17 it is skipped with a printed reason, except under CI=true.

import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  comparisonRatios,
  compareKafkaPerf,
  formatComparison,
  parseCompareArgs,
  passTimeoutMs,
  windowOf,
} from '../../adapters/kafka/perf/compare.js';
import { benchCommand } from '../../harness/cli/bench-command.js';
import { parseProducerPerformance, producerPerformanceArguments, producerPerformanceCommand } from '../../adapters/kafka/perf/producer-performance.js';
import { kafkaPerfComparisonSchema, type KafkaPerfComparison, type ProducerPass } from '../../spec/bench-kafka-perf.js';
import { packageRoot } from '../../core/package-root.js';
import { kafkaSkip, processesUsing } from './prerequisites.js';

const BASE_PORT = Number(process.env.DELIVERYCHECK_KAFKA_COMPARE_TEST_PORT ?? 29492);
const DATA_DIR = join(packageRoot(), '.cache', 'kafka-compare-test');
const RECORDS = 3_000;

const { skip: skipKafka, title: kafkaTitle } = kafkaSkip('the comparison with ProducerPerformance');

/** Output of Kafka 4.4.0's ProducerPerformance, as captured on this project's local cluster. */
const CAPTURED_ACKS_1 = [
  '35306 records sent, 7040.1 records/sec (0.67 MB/sec), 482.3 ms avg latency, 2113.0 ms max latency.',
  '150000 records sent, 16090.967604 records/sec (1.53 MB/sec), 1039.92 ms avg latency, 2113.00 ms max latency, 1062 ms 50th, 1871 ms 95th, 2005 ms 99th, 2109 ms 99.9th.',
  '',
].join('\n');

const CAPTURED_ACKS_ALL_WITH_WARNING = [
  'Option --producer-props has been deprecated and will be removed in a future version. Use --command-property instead.',
  '89094 records sent, 17790.3 records/sec (1.70 MB/sec), 1794.8 ms avg latency, 2828.0 ms max latency.',
  '200000 records sent, 25710.245533 records/sec (2.45 MB/sec), 2402.66 ms avg latency, 3605.00 ms max latency, 2618 ms 50th, 3348 ms 95th, 3489 ms 99th, 3562 ms 99.9th.',
].join('\r\n');

function pass(messagesPerSecond: number, p50: number): ProducerPass {
  return {
    records: 10,
    stored: 10,
    errors: 0,
    messagesPerSecond,
    mebibytesPerSecond: 0.001,
    latencyUs: { mean: p50, p50, p95: p50, p99: p50, p999: p50, max: p50 },
    wallMs: 1000,
  };
}

describe('comparison with ProducerPerformance (no Java needed)', () => {
  it("reads the tool's summary line, and not its progress lines", () => {
    expect(parseProducerPerformance(CAPTURED_ACKS_1)).toEqual({
      records: 150000,
      recordsPerSecond: 16090.967604,
      mebibytesPerSecond: 1.53,
      latencyUs: { mean: 1039920, p50: 1062000, p95: 1871000, p99: 2005000, p999: 2109000, max: 2113000 },
    });
    const withWarning = parseProducerPerformance(CAPTURED_ACKS_ALL_WITH_WARNING);
    expect(withWarning?.records).toBe(200000);
    expect(withWarning?.latencyUs.p999).toBe(3562000);
    // A run that died after progress lines has no summary.
    expect(parseProducerPerformance(CAPTURED_ACKS_1.split('\n')[0] ?? '')).toBeUndefined();
    expect(parseProducerPerformance('Exception in thread "main" org.apache.kafka.common.errors.TimeoutException')).toBeUndefined();
  });

  it('runs the tool unthrottled with the acks, size, count and buffer of the comparison, and without idempotence', () => {
    const options = {
      java: '/usr/bin/java',
      classpath: '/lib/*',
      bootstrap: '127.0.0.1:1',
      topic: 't',
      records: 5,
      recordBytes: 100,
      acks: 'all' as const,
      bufferBytes: 1024,
    };
    const args = producerPerformanceArguments(options);
    expect(args.join(' ')).toBe(
      '--topic t --num-records 5 --record-size 100 --throughput -1 --bootstrap-server 127.0.0.1:1 ' +
        '--command-property acks=all enable.idempotence=false buffer.memory=1024',
    );
    const command = producerPerformanceCommand(options);
    expect(command[0]).toBe('/usr/bin/java');
    expect(command).toContain('org.apache.kafka.tools.ProducerPerformance');
    expect(command.slice(command.indexOf('-cp'), command.indexOf('-cp') + 2)).toEqual(['-cp', '/lib/*']);
  });

  it('holds the tool to --rate when the comparison has one', () => {
    const args = producerPerformanceArguments({
      java: 'java',
      classpath: '/lib/*',
      bootstrap: '127.0.0.1:1',
      topic: 't',
      records: 5,
      recordBytes: 100,
      acks: '1',
      bufferBytes: 1024,
      rate: 500,
    });
    expect(args.slice(args.indexOf('--throughput'), args.indexOf('--throughput') + 2)).toEqual(['--throughput', '500']);
    expect(parseCompareArgs(['--rate', '500']).settings.rate).toBe(500);
    expect(() => parseCompareArgs(['--rate', '0'])).toThrow(/--rate must be an integer from 1/);
  });

  it('parses its options, with defaults, and says which one is wrong', () => {
    const { settings, help } = parseCompareArgs([]);
    expect(help).toBe(false);
    expect(settings).toEqual({ acks: ['none', 'leader', 'all'], records: 200000, messageBytes: 100, partitions: 6, bufferBytes: 33554432 });
    expect(parseCompareArgs(['--acks', 'all,1', '--records', '10', '--json', 'x.json'])).toMatchObject({
      settings: { acks: ['all', 'leader'], records: 10 },
      json: 'x.json',
    });
    expect(() => parseCompareArgs(['--acks', '2'])).toThrow(/--acks takes 0, 1 and all/);
    expect(() => parseCompareArgs(['--records', '0'])).toThrow(/--records must be an integer from 1/);
    expect(() => parseCompareArgs(['--speed', '1'])).toThrow(/Unknown option '--speed'/);
    expect(windowOf({ bufferBytes: 33554432, messageBytes: 100 })).toBe(335544);
    expect(windowOf({ bufferBytes: 10, messageBytes: 100 })).toBe(1);
    expect(passTimeoutMs(200000)).toBeGreaterThan(60_000);
  });

  it('is reached through deliverycheck bench, which hands it the other arguments', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, isTTY: false };
    expect(await benchCommand(['--compare-kafka-perf', '--help'], io)).toBe(0);
    expect(out.join('')).toContain('deliverycheck bench --compare-kafka-perf [OPTIONS]');
    expect(await benchCommand(['--records', 'x', '--compare-kafka-perf'], io)).toBe(2);
    expect(err.join('')).toContain('--records must be an integer');
  });

  it('divides deliverycheck by ProducerPerformance, with no ratio over a 0 ms latency', () => {
    const ratios = comparisonRatios(pass(800, 2000), pass(1000, 1000));
    expect(ratios.messagesPerSecond).toBe(0.8);
    expect(ratios.latency.p50).toBe(2);
    expect(comparisonRatios(pass(800, 500), pass(1000, 0)).latency.p99).toBeNull();
  });

  it('prints both producers, the ratios and the load average of each ack mode, and the errors after the table', () => {
    const result: KafkaPerfComparison = {
      tool: 'deliverycheck',
      kind: 'kafka-perf-comparison',
      version: '0.1.0',
      node: 'v20.0.0',
      kafkaVersion: '4.4.0',
      bootstrap: '127.0.0.1:1',
      settings: { records: 10, messageBytes: 100, partitions: 6, replication: 3, minInsync: 2, bufferBytes: 1000 },
      pairs: [
        {
          ack: 'all',
          acks: 'all',
          status: 'ok',
          loadAverage: [1.5, 1, 0.5],
          command: 'java …',
          producerPerformance: pass(1000, 1000),
          deliverycheck: pass(800, 2000),
          ratios: comparisonRatios(pass(800, 2000), pass(1000, 1000)),
        },
        { ack: 'none', acks: '0', status: 'error', reason: 'the tool failed', loadAverage: [2, 1, 0.5], command: '' },
      ],
    };
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(kafkaPerfComparisonSchema);
    expect(validate(result), JSON.stringify(validate.errors)).toBe(true);
    const text = formatComparison(result);
    expect(text).toMatch(/acks=all\s+ProducerPerformance\s+1000\s/);
    expect(text).toMatch(/\n\s+deliverycheck\s+800\s/);
    expect(text).toMatch(/ratio dc\/pp\s+0\.80\s+0\.80\s+2\.00/);
    expect(text).toContain('load average 1.5 1 0.5');
    expect(text).toContain('ERROR acks=0: the tool failed');
  });
});

describe('comparison with ProducerPerformance (real JVMs)', () => {
  it.skipIf(skipKafka)(
    kafkaTitle(`runs the tool and deliverycheck with acks all on ${RECORDS} records each, and both store them all`),
    async () => {
      const lines: string[] = [];
      const result = await compareKafkaPerf(
        { acks: ['all'], records: RECORDS, messageBytes: 100, partitions: 3, bufferBytes: 33_554_432 },
        { cluster: { dataDir: DATA_DIR, basePort: BASE_PORT }, log: (line) => lines.push(line) },
      );
      const validate = new Ajv2020({ allErrors: true, strict: false }).compile(kafkaPerfComparisonSchema);
      expect(validate(result), JSON.stringify(validate.errors)).toBe(true);
      const [pair] = result.pairs;
      expect(pair?.status, `${pair?.reason ?? ''}\n${lines.join('\n')}`).toBe('ok');
      for (const side of [pair?.producerPerformance, pair?.deliverycheck]) {
        expect(side?.records).toBe(RECORDS);
        expect(side?.stored).toBe(RECORDS);
        expect(side?.errors).toBe(0);
        expect(side?.messagesPerSecond).toBeGreaterThan(0);
      }
      expect(pair?.ratios?.messagesPerSecond).toBeGreaterThan(0);
      // With acks all a record waits for two other nodes, so no latency of either side is 0 ms.
      for (const ratio of Object.values(pair?.ratios?.latency ?? {})) expect(ratio).toBeGreaterThan(0);
      expect(pair?.command).toContain('acks=all');
      // The cluster was started for the comparison and is gone with it.
      expect(processesUsing(DATA_DIR)).toEqual([]);
    },
    5 * 60_000,
  );
});
