// The Kafka conformance run: every bundled scenario against a real three-node Kafka cluster,
// through the command line exactly as a user runs it (`deliverycheck run suites --adapter kafka`).
//
// What must be true of Kafka, on every run:
// - every claim (a scenario that expects no anomaly to be witnessed) holds, except the claims a
//   known client defect breaks (KNOWN_CLIENT_DEFECTS: their verdicts are printed, and the README
//   reports them);
// - no scenario ends in error, and a scenario is skipped only for a capability the adapter does
//   not declare;
// - in a negative control, every expectation other than the witnessed anomaly holds.
// A control on a real broker may miss its anomaly in one run (the faults land a little
// differently each time), so a control that witnessed nothing is printed, not failed; the README
// reports how often each control witnesses over repeated runs (`--repeat`).
//
// The run starts its own cluster in its own folder and ports (29392..), and must leave no JVM
// behind. Without Java 17 it is skipped with a printed reason, except under CI=true.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { kafkaAdapter } from '../../adapters/kafka/adapter.js';
import { formatRates, scenarioRates } from '../../harness/report/rates.js';
import { resultSchema, type RunResult, type ScenarioResult } from '../../spec/result.js';
import { packageRoot } from '../../spec/root.js';
import { CAPABILITIES } from '../../spec/vocabulary.js';
import { kafkaSkip, processesUsing } from './prerequisites.js';

const BASE_PORT = Number(process.env.DELIVERYCHECK_KAFKA_CONFORMANCE_TEST_PORT ?? 29392);
const DATA_DIR = join(packageRoot(), '.cache', 'kafka-conformance-test');
/** The whole Kafka part of CI has 20 minutes; the suites take about 8 on a busy 2-core machine. */
const SUITES_TIMEOUT_MS = 16 * 60_000;

const { skip, title } = kafkaSkip('the Kafka conformance run');

/**
 * kafkajs 2.2.4 takes back the sequence numbers of an idempotent send whose request failed, even
 * when the broker stored it (its answer was lost), and gives them to the next send waiting for the
 * same broker. The leader takes that next send for a duplicate of the stored one and acknowledges
 * it without storing it, and the resend of the first is stored again under new numbers: with more
 * than one send in flight, a lost answer makes an idempotent producer lose one message and
 * duplicate another. The Java client keeps a batch's sequence numbers across its retries.
 */
const KAFKAJS_SEQUENCE_REUSE = 'kafkajs 2.2.4 gives a failed send\'s sequence numbers to the next send';

/**
 * kafkajs 2.2.4 speaks TxnOffsetCommit v0-v1 and OffsetFetch up to v4: it has none of KIP-447.
 * Its OffsetFetch cannot ask for stable offsets, so right after a transaction commits (its markers
 * are written after EndTxn answers) the group can still answer with the offsets from before it;
 * a pipeline that rewinds to its committed offsets after a failed transaction (kafkajs reports
 * CONCURRENT_TRANSACTIONS while the previous markers are being written) then processes input it
 * already committed, and commits it again. The same gap lets a partition's new owner start from
 * an offset an open transaction is about to replace, and its transactional offset commits carry
 * no group generation, so the broker cannot fence a member that lost its partitions. The adapter
 * checks the generation on the client side, which narrows these windows but cannot close them.
 */
const KAFKAJS_NO_KIP_447 = 'kafkajs 2.2.4 has no KIP-447 (no stable offset fetch, no generation in transactional offset commits)';

/** Claims that a known defect of the client (not of Kafka) may break, with the defect. */
const KNOWN_CLIENT_DEFECTS: Readonly<Record<string, string>> = {
  'suites/exactly-once/pipeline-survives-consumer-crash.yaml': KAFKAJS_NO_KIP_447,
  'suites/exactly-once/pipeline-survives-leader-and-coordinator-crash.yaml': KAFKAJS_NO_KIP_447,
  'suites/exactly-once/pipeline-survives-producer-crash-mid-transaction.yaml': KAFKAJS_NO_KIP_447,
  'suites/exactly-once/pipeline-survives-lost-commit-acknowledgments.yaml': `${KAFKAJS_SEQUENCE_REUSE}; ${KAFKAJS_NO_KIP_447}`,
  'suites/producer-acks/idempotent-pipelined-resends-store-each-message-once.yaml': KAFKAJS_SEQUENCE_REUSE,
};

function isControl(scenario: ScenarioResult): boolean {
  return Object.values(scenario.anomalies).some((verdict) => verdict.expect === 'witnessed');
}

describe('the bundled suites against a local Kafka cluster (real JVMs)', () => {
  it.skipIf(skip)(
    title('every claim holds, nothing ends in error, skips name a capability the adapter lacks, no JVM is left'),
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'deliverycheck-kafka-conformance-'));
      const json = join(dir, 'out.json');
      const startedMs = Date.now();
      try {
        const result = await execa('node', ['bin/deliverycheck.js', 'run', 'suites', '--adapter', 'kafka', '--json', json], {
          cwd: packageRoot(),
          reject: false,
          timeout: SUITES_TIMEOUT_MS,
          env: { NO_COLOR: '1', DELIVERYCHECK_KAFKA_DIR: DATA_DIR, DELIVERYCHECK_KAFKA_PORT: String(BASE_PORT) },
        });
        console.log(`[kafka] the suites exited ${result.exitCode} after ${Date.now() - startedMs} ms:\n${result.stdout}${result.stderr}`);
        // 0: every claim held and every control witnessed; 1: something did not (judged below);
        // 2 would be bad input, a setup failure, an error or a run that did too little (inconclusive).
        expect([0, 1], result.stderr).toContain(result.exitCode);
        const run = JSON.parse(await readFile(json, 'utf8')) as RunResult;
        expect(new Ajv2020({ allErrors: true }).validate(resultSchema, run)).toBe(true);
        expect(run.adapter).toBe('kafka');
        console.log(`[kafka] ${formatRates(scenarioRates(run.scenarios))}`);

        const lacking = CAPABILITIES.filter((capability) => !kafkaAdapter.capabilities.has(capability));
        for (const scenario of run.scenarios) {
          const where = `${scenario.file}: ${scenario.reason ?? scenario.status}`;
          expect(scenario.status, where).not.toBe('error');
          expect(scenario.status, where).not.toBe('inconclusive');
          if (scenario.status === 'skipped') {
            expect(lacking.some((capability) => scenario.reason === `adapter kafka lacks ${capability}`), where).toBe(true);
            continue;
          }
          expect(scenario.counts.acknowledged + scenario.counts.sent, where).toBeGreaterThan(0);
          const knownDefect = KNOWN_CLIENT_DEFECTS[scenario.file];
          if (knownDefect !== undefined) {
            console.log(`[kafka] ${scenario.file}: ${scenario.status} (a known client defect may break it: ${knownDefect})`);
            continue;
          }
          for (const [anomaly, verdict] of Object.entries(scenario.anomalies)) {
            if (verdict.expect === 'witnessed') continue;
            expect(verdict.held, `${scenario.file}: ${anomaly} ${verdict.expect}, counted ${verdict.count}`).toBe(true);
          }
        }
        // The suites must exercise Kafka, not skip their way to green: most claims and controls ran.
        const ran = run.scenarios.filter((scenario) => scenario.status !== 'skipped');
        expect(ran.filter((scenario) => !isControl(scenario)).length).toBeGreaterThanOrEqual(8);
        expect(ran.filter(isControl).length).toBeGreaterThanOrEqual(5);
        // dispose() at the end of the run stopped the cluster the run started.
        expect(processesUsing(DATA_DIR)).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    SUITES_TIMEOUT_MS + 60_000,
  );
});
