// The benchmark's reports: the JSON result (spec/bench-result.schema.json), the table printed on
// the terminal as runs finish, and Markdown. Latencies are shown in milliseconds with three
// significant figures, the precision of the histogram; rates in messages per second.
//
// Runs on a virtual clock are marked everywhere, because their figures are the reference model's
// simulated time and must never be read as what this machine or a real broker achieves.

import type { BenchResult, BenchRun, LatencySummary, OverheadRow } from '../spec/bench-result.js';
import { formatOverhead } from './overhead.js';

export function buildBenchResult(version: string, runs: readonly BenchRun[], overhead?: readonly OverheadRow[]): BenchResult {
  return { tool: 'deliverycheck', kind: 'bench', version, node: process.version, runs: [...runs], ...(overhead === undefined ? {} : { overhead: [...overhead] }) };
}

export function formatBenchJson(result: BenchResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** Microseconds as milliseconds with three significant figures: 0.523, 1.23, 12.3, 123, 1230. */
export function formatMs(us: number): string {
  const ms = us / 1000;
  if (ms === 0) return '0';
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return String(Math.round(ms));
}

/** A rate in messages per second, whole above 100, else with one decimal. */
export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

function formatMiB(perSecond: number): string {
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(2);
}

/** `p50 / p99 / max` of a latency, or a dash when nothing was measured. */
function percentiles(summary: LatencySummary, which: readonly ('p50Us' | 'p90Us' | 'p99Us' | 'p999Us' | 'maxUs')[]): string {
  if (summary.count === 0) return '—';
  return which.map((key) => formatMs(summary[key])).join(' / ');
}

export const STATUS_WORDS: Readonly<Record<BenchRun['status'], string>> = {
  ok: 'ok',
  failed: 'FAIL',
  skipped: 'SKIP',
  error: 'ERROR',
};

/** The adapter's name, marked with `*` when its clock is virtual (the table's footnote says why). */
function adapterLabel(run: BenchRun): string {
  return run.clock === 'virtual' ? `${run.adapter}*` : run.adapter;
}

/** How the driver fared: CPU per simulated message on a virtual clock, schedule and loop on a wall one. */
export function describeDriver(run: BenchRun): string {
  const driver = run.driver;
  if (run.status === 'skipped' || run.clock === undefined) return '—';
  if (run.clock === 'virtual') return `cpu ${driver.cpuUsPerMessage.toFixed(1)} µs/msg`;
  const parts = [`missed ${driver.missedSchedule.count}`];
  if (driver.missedSchedule.count > 0) parts.push(`lag ≤ ${formatMs(driver.missedSchedule.maxLagUs)} ms`);
  if (driver.inFlightLimitHits > 0) parts.push(`blocked ${driver.inFlightLimitHits}`);
  if (driver.eventLoopDelayUs !== undefined) parts.push(`loop p99 ${formatMs(driver.eventLoopDelayUs.p99)} ms`);
  return parts.join(', ');
}

interface Column {
  readonly title: string;
  readonly right: boolean;
  readonly cell: (run: BenchRun) => string;
}

const COLUMNS: readonly Column[] = [
  { title: 'workload', right: false, cell: (run) => run.workload },
  { title: 'adapter', right: false, cell: adapterLabel },
  { title: 'ack', right: false, cell: (run) => run.ack + (run.idempotent ? '+idem' : '') },
  { title: 'commit', right: false, cell: (run) => run.commit },
  { title: 'rate', right: true, cell: (run) => String(run.rate) },
  { title: 'prod msg/s', right: true, cell: (run) => formatRate(run.throughput.producer.messagesPerSecond) },
  { title: 'MiB/s', right: true, cell: (run) => formatMiB(run.throughput.producer.mebibytesPerSecond) },
  { title: 'cons msg/s', right: true, cell: (run) => formatRate(run.throughput.consumer.messagesPerSecond) },
  { title: 'publish p50/p99/max ms', right: true, cell: (run) => percentiles(run.latency.publish, ['p50Us', 'p99Us', 'maxUs']) },
  { title: 'e2e p50/p99/max ms', right: true, cell: (run) => percentiles(run.latency.endToEnd, ['p50Us', 'p99Us', 'maxUs']) },
  { title: 'commit p99 ms', right: true, cell: (run) => percentiles(run.latency.commit, ['p99Us']) },
  { title: 'lost', right: true, cell: (run) => String(run.claims.lost.count) + (run.claims.lost.held ? '' : '!') },
  { title: 'dup', right: true, cell: (run) => String(run.claims.duplicated.count) + (run.claims.duplicated.held ? '' : '!') },
  { title: 'status', right: false, cell: (run) => STATUS_WORDS[run.status] },
  { title: 'driver', right: false, cell: describeDriver },
];

/** Widths that fit the headers, the workload names given, and typical figures. */
export function tableWidths(workloadNames: readonly string[], adapterNames: readonly string[]): number[] {
  const typical: Readonly<Record<string, number>> = {
    ack: 'leader+idem'.length,
    commit: 'before-process'.length,
    rate: 7,
    'prod msg/s': 9,
    'MiB/s': 6,
    'cons msg/s': 9,
    'publish p50/p99/max ms': 20,
    'e2e p50/p99/max ms': 20,
    'commit p99 ms': 6,
    lost: 4,
    dup: 4,
    status: 5,
    driver: 0,
  };
  return COLUMNS.map((column) => {
    let width = Math.max(column.title.length, typical[column.title] ?? 0);
    if (column.title === 'workload') width = Math.max(width, ...workloadNames.map((name) => name.length));
    if (column.title === 'adapter') width = Math.max(width, ...adapterNames.map((name) => name.length + 1));
    return width;
  });
}

function pad(text: string, width: number, right: boolean): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function joinCells(cells: readonly string[]): string {
  return cells.join('  ').trimEnd();
}

export function formatTableHeader(widths: readonly number[]): string {
  return joinCells(COLUMNS.map((column, index) => pad(column.title, widths[index] ?? 0, column.right)));
}

/** One run as a row of the terminal table; a cell wider than its column pushes the rest right. */
export function formatTableRow(run: BenchRun, widths: readonly number[]): string {
  return joinCells(COLUMNS.map((column, index) => pad(column.cell(run), widths[index] ?? 0, column.right)));
}

/** `runName`: how reports name one run in a sentence. */
export function runName(run: Pick<BenchRun, 'workload' | 'adapter' | 'rate'>): string {
  return `${run.workload} on ${run.adapter} at ${run.rate} msg/s`;
}

/** `12 runs: 11 ok, 1 failed, 0 skipped, 0 errors`. */
export function formatBenchSummary(runs: readonly BenchRun[]): string {
  const count = (status: BenchRun['status']) => runs.filter((run) => run.status === status).length;
  const errors = count('error');
  return (
    `${runs.length} ${runs.length === 1 ? 'run' : 'runs'}: ${count('ok')} ok, ${count('failed')} failed, ` +
    `${count('skipped')} skipped, ${errors} ${errors === 1 ? 'error' : 'errors'}`
  );
}

/** The footnotes the table needs: what `*` and `!` mean, when they appear. */
export function tableFootnotes(runs: readonly BenchRun[]): string[] {
  const notes: string[] = [];
  if (runs.some((run) => run.clock === 'virtual')) {
    notes.push(
      '* virtual clock: the figures are the reference model\'s simulated time, not measurements of this machine; "cpu" is the real CPU time per simulated message',
    );
  }
  if (runs.some((run) => !run.claims.lost.held || !run.claims.duplicated.held)) {
    notes.push('! the workload\'s modes forbid this anomaly, and it occurred');
  }
  notes.push('latencies are measured from each message\'s intended send time on the open-loop schedule');
  return notes;
}

// ---------------------------------------------------------------------------------------------
// Markdown

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  const rule = `|${header.map((_, index) => (right[index] === true ? '---:' : '---')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** A table of figures: its header, rows of cells, and which columns align right. */
export interface FigureTable {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly right: readonly boolean[];
}

/** The main results, one row per run; Markdown and HTML show the same table. */
export function resultsTable(runs: readonly BenchRun[]): FigureTable {
  return {
    header: [
      'workload',
      'adapter',
      'clock',
      'ack',
      'commit',
      'offered msg/s',
      'producer msg/s',
      'producer MiB/s',
      'consumer msg/s',
      'publish latency',
      'end-to-end latency',
      'commit p50 / p99',
      'lost',
      'duplicated',
      'status',
    ],
    rows: runs.map((run) => [
      run.workload,
      run.adapter,
      run.clock ?? '—',
      run.ack + (run.idempotent ? ' (idempotent)' : ''),
      run.commit,
      String(run.rate),
      formatRate(run.throughput.producer.messagesPerSecond),
      formatMiB(run.throughput.producer.mebibytesPerSecond),
      formatRate(run.throughput.consumer.messagesPerSecond),
      percentiles(run.latency.publish, ['p50Us', 'p99Us', 'p999Us', 'maxUs']),
      percentiles(run.latency.endToEnd, ['p50Us', 'p99Us', 'p999Us', 'maxUs']),
      percentiles(run.latency.commit, ['p50Us', 'p99Us']),
      `${run.claims.lost.count} (${run.claims.lost.expect === 'none' ? 'forbidden' : 'allowed'})`,
      `${run.claims.duplicated.count} (${run.claims.duplicated.expect === 'none' ? 'forbidden' : 'allowed'})`,
      STATUS_WORDS[run.status],
    ]),
    right: [false, false, false, false, false, true, true, true, true, true, true, true, true, true, false],
  };
}

export interface MarkdownOptions {
  /** The command that produced the result, shown so a reader can run it again. */
  readonly command?: string;
  /** Why an adapter has no overhead rows (no bare client library to compare with). */
  readonly overheadSkipped?: readonly string[];
}

export function renderBenchMarkdown(result: BenchResult, options: MarkdownOptions = {}): string {
  const runs = result.runs;
  const parts: string[] = ['# deliverycheck bench', ''];
  parts.push(`deliverycheck ${result.version}, Node ${result.node}. ${formatBenchSummary(runs)}.`);
  if (options.command !== undefined) parts.push('', `Produced by \`${options.command}\`.`);
  parts.push(
    '',
    'Latencies are measured from each message\'s intended send time on an open-loop schedule, so a broker or driver that falls behind shows up as latency. Throughput counts completions inside the measured window (after the warm-up). Latencies are in milliseconds (p50 / p99 / p99.9 / max).',
  );
  if (runs.some((run) => run.clock === 'virtual')) {
    parts.push(
      '',
      '**Virtual clock.** Runs marked with a virtual clock ran on the reference broker\'s simulation: time there moves only while the driver waits for the simulated broker, so their latencies and rates are the model\'s, not measurements of this machine or of any real broker. Their real cost is the CPU time per simulated message in the driver table.',
    );
  }
  parts.push('', '## Results', '');
  const results = resultsTable(runs);
  parts.push(markdownTable(results.header, results.rows, results.right));
  parts.push('', '## Driver', '');
  parts.push(
    'A send that started more than the threshold after its intended time missed its schedule; sends blocked by the in-flight limit waited for the broker. Event-loop delay is measured only on a wall clock, where it can delay acknowledgments.',
    '',
  );
  parts.push(
    markdownTable(
      ['workload', 'adapter', 'offered msg/s', 'missed schedule', 'max lag ms', 'in-flight limit hits', 'event-loop delay p99 ms', 'CPU µs per message', 'real time s', 'send errors', 'commit errors'],
      runs.map((run) => [
        run.workload,
        run.adapter,
        String(run.rate),
        `${run.driver.missedSchedule.count} (> ${formatMs(run.driver.missedSchedule.thresholdUs)} ms)`,
        formatMs(run.driver.missedSchedule.maxLagUs),
        String(run.driver.inFlightLimitHits),
        run.driver.eventLoopDelayUs === undefined ? '—' : formatMs(run.driver.eventLoopDelayUs.p99),
        run.driver.cpuUsPerMessage.toFixed(1),
        (run.driver.realDurationMs / 1000).toFixed(1),
        String(run.errors.send),
        String(run.errors.commit),
      ]),
      [false, false, true, true, true, true, true, true, true, true, true],
    ),
  );
  parts.push('', '## Claims', '');
  const claims = new Map<string, string>();
  for (const run of runs) {
    for (const anomaly of ['lost', 'duplicated'] as const) {
      const claim = run.claims[anomaly];
      claims.set(`${run.workload}\n${anomaly}`, `- ${run.workload}, ${anomaly} ${claim.expect === 'none' ? 'forbidden' : 'allowed'}: ${claim.because}.`);
    }
  }
  parts.push(...claims.values());
  const problems = runs.filter((run) => run.status === 'failed' || run.status === 'error' || run.status === 'skipped');
  if (problems.length > 0) {
    parts.push('', '## Failed, skipped and errors', '');
    for (const run of problems) parts.push(`- ${STATUS_WORDS[run.status]} ${runName(run)}: ${run.reason ?? ''}`);
  }
  if (result.overhead !== undefined) parts.push('', '## Harness overhead', '', formatOverhead(result.overhead, options.overheadSkipped ?? []));
  const notes = new Map<string, string[]>();
  for (const run of runs) {
    for (const note of run.notes) notes.set(note, [...(notes.get(note) ?? []), runName(run)]);
  }
  if (notes.size > 0) {
    parts.push('', '## Notes', '');
    for (const [note, where] of notes) {
      parts.push(where.length === runs.length ? `- ${note} (every run).` : `- ${note} (${where.join('; ')}).`);
    }
  }
  return `${parts.join('\n')}\n`;
}
