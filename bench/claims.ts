// What a benchmark workload's ack and commit modes promise about lost and duplicated messages,
// and what a measured window that fell behind its load means: the judgments the driver applies
// to every run, apart from the driving itself.

import type { BenchWorkload } from '../spec/bench-workload.js';
import type { LatencySummary } from '../spec/bench-result.js';
import type { Expectation } from '../spec/vocabulary.js';

/**
 * What the workload's modes promise about lost and duplicated messages. A claim is `none` only
 * where the mode forbids the anomaly outright; elsewhere the count is reported, not judged.
 */
export function claimOf(
  workload: Pick<BenchWorkload, 'ack' | 'commit' | 'idempotent' | 'minInsync'> & {
    readonly adapter: Pick<BenchWorkload['adapter'], 'retries'>;
  },
  anomaly: 'lost' | 'duplicated',
): { readonly expect: Extract<Expectation, 'none' | 'allowed'>; readonly because: string } {
  if (anomaly === 'lost') {
    switch (workload.ack) {
      case 'all':
        return {
          expect: 'none',
          because: `ack all: every in-sync replica, at least minInsync ${workload.minInsync}, wrote an acknowledged message, so none may be lost`,
        };
      case 'leader':
        return {
          expect: 'allowed',
          because: 'ack leader: only the leader wrote an acknowledged message, and a leader failure may lose it',
        };
      case 'none':
        return { expect: 'allowed', because: 'ack none promises nothing: a message sent and never stored counts as lost' };
    }
  }
  // A producer resends only after an error or a timeout, and with ack none it never hears one.
  const resends = workload.ack !== 'none' && workload.adapter.retries > 0 && !workload.idempotent;
  const resendRisk = `the producer resends without idempotence (retries ${workload.adapter.retries}), which may store a message twice`;
  const producerSafe = workload.idempotent
    ? 'the producer is idempotent'
    : workload.ack === 'none'
      ? 'the producer never resends (ack none)'
      : 'the producer never resends (retries 0)';
  switch (workload.commit) {
    case 'before-process':
      return resends
        ? { expect: 'allowed', because: `before-process processes each delivery at most once, but ${resendRisk}` }
        : {
            expect: 'none',
            because: `before-process commits before processing (at most once) and ${producerSafe}, so nothing may be stored or processed twice`,
          };
    case 'transactional':
      return resends
        ? { expect: 'allowed', because: `transactional commits each input once, but ${resendRisk}` }
        : {
            expect: 'none',
            because: `transactional commits the output and the offsets in one transaction (exactly once) and ${producerSafe}, so nothing may be stored or processed twice`,
          };
    case 'after-process':
      return {
        expect: 'allowed',
        because: 'after-process commits after processing (at least once): a redelivery may process a message twice',
      };
    case 'auto':
      return { expect: 'allowed', because: 'auto-commit promises neither at most nor at least once' };
  }
}

/** Below this share of its intended messages acknowledged inside it, a window carried a backlog. */
const BACKLOG_SHARE = 0.9;

/**
 * A note when the measured window carried well under the load meant for it because the
 * acknowledgments of its messages came after it: the throughput in the window is then what the
 * broker sustained while a backlog grew, and when half the latencies exceed the window, even
 * that says little. Undefined when the window carried most of its load.
 */
export function backlog(
  intended: number,
  acknowledgedInWindow: number,
  publish: LatencySummary,
  durationMs: number,
): string | undefined {
  if (intended === 0 || acknowledgedInWindow >= BACKLOG_SHARE * intended) return undefined;
  const share = `${acknowledgedInWindow} acknowledgments came inside the measured window against ${intended} messages meant for it`;
  const p50Ms = publish.p50Us / 1000;
  if (publish.count > 0 && p50Ms >= durationMs) {
    return `${share}, and the median publish latency (${p50Ms.toFixed(0)} ms) is longer than the window (${durationMs} ms): the producer and brokers fell behind; lengthen durationMs to measure the rate they sustain`;
  }
  return `${share}: the producer and brokers fell behind the offered rate, and the throughput shown is what they sustained`;
}
