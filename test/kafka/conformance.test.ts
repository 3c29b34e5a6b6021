// The Kafka conformance run: every bundled scenario against a real three-node Kafka cluster,
// through the command line exactly as a user runs it (`deliverycheck run suites --adapter kafka`).
//
// What must be true of Kafka, on every run:
// - every claim (a scenario that expects no anomaly to be witnessed) holds, or fails only as the
//   adapter's expectations file (adapters/kafka/expectations.yaml) says a known defect of the
//   client or of the local cluster makes it fail: the run reports those as known failures;
// - no scenario ends in error, and a scenario is skipped only for a capability the adapter does
//   not declare;
// - in a negative control, every expectation other than the witnessed anomaly holds.
// A control on a real broker may miss its anomaly in one run (the faults land a little
// differently each time), so a control that witnessed nothing is printed, not failed; the README
// reports how often each control witnesses over repeated runs (`--repeat`).
//
// The run starts its own cluster in its own folder and ports (29392..), and must leave no JVM
// behind. Without Java 17 it is skipped with a printed reason, except under CI=true.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaAdapter } from '../../adapters/kafka/adapter.js';
import { isControl, runSuitesThroughCli } from '../shared/suites-run.js';
import { packageRoot } from '../../core/package-root.js';
import { CAPABILITIES } from '../../spec/vocabulary.js';
import { kafkaSkip, processesUsing } from './prerequisites.js';

const BASE_PORT = Number(process.env.DELIVERYCHECK_KAFKA_CONFORMANCE_TEST_PORT ?? 29392);
const DATA_DIR = join(packageRoot(), '.cache', 'kafka-conformance-test');
/** The whole Kafka part of CI has 20 minutes; the suites take about 8 on a busy 2-core machine. */
const SUITES_TIMEOUT_MS = 16 * 60_000;

const { skip, title } = kafkaSkip('the Kafka conformance run');


describe('the bundled suites against a local Kafka cluster (real JVMs)', () => {
  it.skipIf(skip)(
    title('every claim holds, nothing ends in error, skips name a capability the adapter lacks, no JVM is left'),
    async () => {
      const run = await runSuitesThroughCli('kafka', { DELIVERYCHECK_KAFKA_DIR: DATA_DIR, DELIVERYCHECK_KAFKA_PORT: String(BASE_PORT) }, SUITES_TIMEOUT_MS);
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
        if (scenario.status === 'known-failure') {
          // The run made it a known failure only if every violated claim is one the file lists.
          expect(scenario.reason, where).toMatch(/^known failure: [a-z0-9, -]+ \(adapters\/kafka\/expectations\.yaml\)$/);
          console.log(`[kafka] ${where}`);
          continue;
        }
        for (const note of scenario.notes ?? []) if (note.startsWith('expected to fail')) console.log(`[kafka] ${scenario.file}: ${note}`);
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
    },
    SUITES_TIMEOUT_MS + 60_000,
  );
});
