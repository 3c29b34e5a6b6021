// The NATS conformance run: every bundled scenario against a real three-node JetStream cluster,
// through the command line exactly as a user runs it (`deliverycheck run suites --adapter nats`).
//
// What must be true of NATS, on every run:
// - every claim holds (the adapter keeps no expectations file: no known defect makes one fail);
// - no scenario ends in error or inconclusive, and a scenario is skipped only for a capability
//   the adapter does not declare or a setting it cannot honour (its cannotHonour sentence);
// - in a negative control, every expectation other than the witnessed anomaly holds.
// A control may miss its anomaly in one run (the faults land a little differently each time), so
// a control that witnessed nothing is printed, not failed.
//
// The run starts its own cluster in its own folder and ports (27222..), and must leave no
// nats-server of ours behind. Without nats-server it is skipped with a printed reason, except
// under CI=true.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { natsAdapter } from '../../adapters/nats/adapter.js';
import { isControl, runSuitesThroughCli } from '../shared/suites-run.js';
import { packageRoot } from '../../core/package-root.js';
import { CAPABILITIES } from '../../spec/vocabulary.js';
import { natsSkip, processesUsing } from './prerequisites.js';

const BASE_PORT = Number(process.env.DELIVERYCHECK_NATS_CONFORMANCE_TEST_PORT ?? 27222);
const DATA_DIR = join(packageRoot(), '.cache', 'nats-conformance-test');
/** The suites took about 3.5 minutes on a busy 2-core machine. */
const SUITES_TIMEOUT_MS = 10 * 60_000;

const { skip, title } = natsSkip('the NATS conformance run');


/** The reasons cannotHonour gives, by the setting they name. */
const CANNOT_HONOUR = /^(cluster\.brokers|topic\.replication|topic\.minInsync|topic\.uncleanElection) [^:]+: /;

describe('the bundled suites against a local NATS cluster (real nats-servers)', () => {
  it.skipIf(skip)(
    title('every claim holds, nothing ends in error, skips name a capability or a setting, no nats-server is left'),
    async () => {
      const run = await runSuitesThroughCli('nats', { DELIVERYCHECK_NATS_DIR: DATA_DIR, DELIVERYCHECK_NATS_PORT: String(BASE_PORT) }, SUITES_TIMEOUT_MS);
      const lacking = CAPABILITIES.filter((capability) => !natsAdapter.capabilities.has(capability));
      for (const scenario of run.scenarios) {
        const where = `${scenario.file}: ${scenario.reason ?? scenario.status}`;
        expect(scenario.status, where).not.toBe('error');
        expect(scenario.status, where).not.toBe('inconclusive');
        expect(scenario.status, where).not.toBe('known-failure');
        if (scenario.status === 'skipped') {
          const reason = scenario.reason ?? '';
          const named = reason.startsWith('adapter nats lacks ')
            ? reason.slice('adapter nats lacks '.length).split(', ').every((capability) => (lacking as readonly string[]).includes(capability))
            : CANNOT_HONOUR.test(reason);
          expect(named, where).toBe(true);
          continue;
        }
        expect(scenario.counts.acknowledged + scenario.counts.sent, where).toBeGreaterThan(0);
        for (const [anomaly, verdict] of Object.entries(scenario.anomalies)) {
          if (verdict.expect === 'witnessed') {
            if (!verdict.held) console.log(`[nats] ${scenario.file}: the control did not witness ${anomaly} this time`);
            continue;
          }
          expect(verdict.held, `${scenario.file}: ${anomaly} ${verdict.expect}, counted ${verdict.count}`).toBe(true);
        }
      }
      const ran = run.scenarios.filter((scenario) => scenario.status !== 'skipped');
      expect(ran.filter((scenario) => !isControl(scenario)).length).toBeGreaterThanOrEqual(3);
      expect(ran.filter(isControl).length).toBeGreaterThanOrEqual(5);
      // dispose() at the end of the run stopped the cluster the run started.
      expect(processesUsing(DATA_DIR)).toEqual([]);
    },
    SUITES_TIMEOUT_MS + 60_000,
  );
});
