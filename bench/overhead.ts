// What the harness itself costs, per adapter and ack mode: the throughput of the benchmark's
// producer path (the adapter's benchmark producer, driven by a closed loop that records every
// send and outcome as the driver does) divided by that of a bare loop of the same client library
// (BenchExtension.bareLoop) in the same session, one pass of each in turn. A ratio well under 1
// says the harness, not the broker, limits what the benchmark can show; the target is 0.8.
//
// Closed loops on both sides, since an open-loop schedule is bounded by its offered rate, and the
// best pass of each side, since a shared machine only ever makes a pass slower.

import type { Adapter, BareLoopResult, BenchExtension } from '../adapters/contract.js';
import { withDeadline } from '../core/deadline.js';
import { HistoryRecorder } from '../harness/history/recorder.js';
import type { OverheadRow } from '../spec/bench-result.js';
import { ACK_MODES, type AckMode } from '../spec/vocabulary.js';
import { runClosedLoop } from './closed-loop.js';

export const OVERHEAD = {
  /**
   * Long enough for the steady state. The harness opens a producer per pass, on Kafka a worker
   * thread whose code starts cold, while the bare loop runs in the warm main thread: at 20 000
   * messages (a third of a second) that start-up alone put Kafka at acks 0 at 0.63 to 0.71; at
   * 100 000 and 200 000 it measured 0.87 to 1.13.
   */
  records: 100_000,
  window: 1_000,
  valueBytes: 100,
  /** Passes of each side per ack mode, alternating. */
  passes: 2,
  partitions: 3,
  /** The ratio below which the harness is said to hold the benchmark back. */
  target: 0.8,
  openTimeoutMs: 180_000,
  operationTimeoutMs: 30_000,
  /** Real milliseconds one pass may take at most. */
  passTimeoutMs: 120_000,
} as const;

export interface OverheadSettings {
  readonly records: number;
}

function messagesPerSecond(result: Pick<BareLoopResult, 'completed' | 'elapsedMs'>): number {
  return result.elapsedMs > 0 ? (result.completed * 1000) / result.elapsedMs : 0;
}

/**
 * The overhead rows of one adapter, one per ack mode it declares; a sentence instead when it has
 * no bare loop to compare with.
 */
export async function measureOverhead(adapter: Adapter, settings: OverheadSettings): Promise<readonly OverheadRow[] | string> {
  const session = await withDeadline(
    adapter.open({
      seed: 1,
      brokers: 3,
      topic: {
        name: `deliverycheck-overhead-${Date.now().toString(36)}`,
        partitions: OVERHEAD.partitions,
        replication: 3,
        minInsync: 2,
        uncleanElection: false,
      },
      defects: [],
      info: () => undefined,
    }),
    OVERHEAD.openTimeoutMs,
    `opening adapter ${adapter.name}`,
  );
  try {
    const bench = session.bench;
    if (bench === undefined) return `${adapter.name} has no benchmark extension`;
    const bareLoop = bench.bareLoop?.bind(bench);
    if (bareLoop === undefined) return `${adapter.name} has no client library apart from the adapter to compare with`;
    const rows: OverheadRow[] = [];
    for (const ack of ACK_MODES.filter((mode) => adapter.capabilities.has(`ack.${mode}`))) {
      let bare = 0;
      let harness = 0;
      let errors = 0;
      for (let pass = 0; pass < OVERHEAD.passes; pass++) {
        const loop = await withDeadline(
          bareLoop({ ack, records: settings.records, window: OVERHEAD.window, valueBytes: OVERHEAD.valueBytes }),
          OVERHEAD.passTimeoutMs,
          `the bare ${adapter.name} loop at ack ${ack}`,
        );
        bare = Math.max(bare, messagesPerSecond(loop));
        errors += loop.errors;
        const through = await harnessPass(adapter.name, bench, ack, settings.records);
        harness = Math.max(harness, messagesPerSecond(through));
        errors += through.errors;
      }
      const ratio = bare > 0 ? harness / bare : 0;
      rows.push({
        adapter: adapter.name,
        ack,
        records: settings.records,
        bareMessagesPerSecond: Math.round(bare),
        harnessMessagesPerSecond: Math.round(harness),
        ratio: Math.round(ratio * 100) / 100,
        meetsTarget: ratio >= OVERHEAD.target,
        errors,
      });
    }
    return rows;
  } finally {
    await withDeadline(session.close(), OVERHEAD.operationTimeoutMs, 'closing the session').catch(() => undefined);
  }
}

async function harnessPass(
  adapterName: string,
  bench: BenchExtension,
  ack: AckMode,
  records: number,
): Promise<{ readonly completed: number; readonly elapsedMs: number; readonly errors: number }> {
  const producer = await withDeadline(
    bench.producer({ index: 0, topic: 'input', ack, retries: 0, idempotent: false, valueBytes: OVERHEAD.valueBytes, batching: true }),
    OVERHEAD.operationTimeoutMs,
    `opening the ${adapterName} benchmark producer`,
  );
  try {
    return await withDeadline(
      runClosedLoop(producer, {
        records,
        window: OVERHEAD.window,
        keys: 100,
        seed: 1,
        sendTimeoutMs: OVERHEAD.operationTimeoutMs,
        // In memory, as the driver keeps a benchmark's history.
        recorder: new HistoryRecorder(),
      }),
      OVERHEAD.passTimeoutMs,
      `the ${adapterName} benchmark producer at ack ${ack}`,
    );
  } finally {
    await withDeadline(producer.close(), OVERHEAD.operationTimeoutMs, 'closing the producer').catch(() => undefined);
  }
}

/** The overhead section of the text and Markdown reports. */
export function formatOverhead(rows: readonly OverheadRow[], skipped: readonly string[]): string {
  const lines = [
    `Harness overhead: the benchmark's producer path against the bare client library, closed loops of ${rows[0]?.records ?? 0} messages (best of ${OVERHEAD.passes}), target ratio >= ${OVERHEAD.target}`,
    '',
    '| adapter | ack | bare msg/s | harness msg/s | ratio | target met |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.adapter} | ${row.ack} | ${row.bareMessagesPerSecond} | ${row.harnessMessagesPerSecond} | ${row.ratio.toFixed(2)} | ${row.meetsTarget ? 'yes' : 'no'}${row.errors > 0 ? ` (${row.errors} send errors)` : ''} |`,
    ),
    ...skipped.map((reason) => `- ${reason}`),
  ];
  return lines.join('\n');
}
