// `deliverycheck bench [PATH...]`: runs benchmark workloads on one or more adapters and reports
// throughput, latency and the checker's lost and duplicated counts side by side, per ack mode
// and commit mode. The command line (harness/cli/cli.ts) calls benchCommand with the arguments after
// `bench`; like the CLI's own commands, it returns the exit code instead of exiting:
//   0 every run held its claims (skips allowed),
//   1 a correctness claim failed: lost or duplicated messages where the workload's modes forbid them,
//   2 bad input (arguments, workload files), an adapter that cannot be loaded, or a run that
//     ended in an error.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Adapter } from '../../adapters/contract.js';
import { adapterNames, loadAdapter } from '../../adapters/registry.js';
import { withDeadline } from '../../core/deadline.js';
import { INTERRUPTED_EXIT_CODE } from '../../core/interrupt.js';
import { ProgressLine, type TextSink } from '../report/human.js';
import { checkOutputPaths, OutputPathError, outputFile } from '../../core/output-paths.js';
import { oneLine } from '../../core/one-line.js';
import { writeReportFile } from '../report/json.js';
import { shellQuote } from '../conformance/reproduce.js';
import { BENCH_LIMITS, type BenchWorkload } from '../../spec/bench-workload.js';
import { type BenchRun, type OverheadRow } from '../../spec/bench-result.js';
import { formatOverhead, measureOverhead, OVERHEAD } from '../../bench/overhead.js';
import { packageRoot, packageVersion } from '../../core/package-root.js';
import { renderBenchHtml, renderBenchSvg } from '../../bench/chart.js';
import { runBenchStep, type StepProgress } from '../../bench/driver.js';
import {
  buildBenchResult,
  formatBenchJson,
  formatBenchSummary,
  formatTableHeader,
  formatTableRow,
  renderBenchMarkdown,
  runName,
  STATUS_WORDS,
  tableFootnotes,
  tableWidths,
} from '../../bench/report.js';
import { loadWorkloads } from '../../bench/workload.js';

/** What benchCommand writes to; the CLI's own io object fits it. */
export interface BenchIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Whether stdout is a terminal: the progress line is drawn only on one. */
  readonly isTTY: boolean;
  /** Whether stderr, where the progress line goes, is a terminal; defaults to `isTTY`. */
  readonly stderrIsTTY?: boolean;
  /** The terminal's width, so the progress line never wraps. */
  readonly columns?: number;
  /** Aborted on SIGINT or SIGTERM: no step starts after it, and what ran is reported; exit 130. */
  readonly signal?: AbortSignal;
}

/** What the command drives; tests may replace the registry. */
export interface BenchDeps {
  adapterNames(): readonly string[];
  loadAdapter(name: string): Promise<Adapter | undefined>;
}

const defaultDeps: BenchDeps = { adapterNames, loadAdapter };

export const BENCH_USAGE = `Usage:
  deliverycheck bench [PATH...]     run benchmark workloads (default: bench/workloads/)
      --adapter NAME[,NAME...]      the adapters to compare (default: reference)
      --seed N                      use this seed in every workload (an integer >= 0)
      --json FILE                   write the result as JSON (spec/bench-result.schema.json)
      --markdown FILE               write the result as Markdown tables
      --chart FILE.svg|FILE.html    write latency percentiles per run and, for stepped
                                    rates, latency against throughput, as SVG or HTML
      --overhead                    then measure what the harness costs per adapter and ack
                                    mode: its producer path against the bare client library
  deliverycheck bench --compare-kafka-perf [OPTIONS]
                                    Kafka's ProducerPerformance and the kafka adapter's
                                    producer back to back on the local cluster, per ack
                                    mode, with their ratios (--compare-kafka-perf --help)

Exit codes: 0 every claim held (skips allowed), 1 lost or duplicated messages where the
            workload's ack and commit modes forbid them, 2 bad input or an error.
Figures of the reference adapter are its simulation's virtual time, not this machine's.
`;

const SEE_HELP = '(see deliverycheck bench --help)';

/** Switches to the comparison with Kafka's ProducerPerformance (compare-kafka.ts). */
const COMPARE_KAFKA_PERF_FLAG = '--compare-kafka-perf';

/** Real milliseconds an adapter may take to stop what it started, such as a local cluster. */
const DISPOSE_TIMEOUT_MS = 120_000;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  adapter: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'string' },
  markdown: { type: 'string' },
  chart: { type: 'string' },
  overhead: { type: 'boolean' },
} as const;

/** An error whose message is the whole story: printed as one line, and the exit code is 2. */
class BenchInputError extends Error {}

function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n', 1)[0] ?? '').replace(/^deliverycheck:\s*/u, '') || 'unknown error';
}

/** Runs `deliverycheck bench` with the arguments after `bench` and returns the exit code. */
export async function benchCommand(args: readonly string[], io: BenchIo, deps: BenchDeps = defaultDeps): Promise<number> {
  // The comparison with Kafka's own tool takes no workloads and other options: its own command.
  if (args.includes(COMPARE_KAFKA_PERF_FLAG)) {
    const { compareKafkaPerfCommand } = await import('../../adapters/kafka/perf/compare.js');
    return compareKafkaPerfCommand(
      args.filter((arg) => arg !== COMPARE_KAFKA_PERF_FLAG),
      io,
    );
  }
  try {
    return await bench(args, io, deps);
  } catch (error) {
    io.stderr.write(`deliverycheck: ${oneLine(errorLine(error))}\n`);
    return 2;
  }
}

/** Node's own parse errors are long and vary between versions; this names the argument in one line. */
function explainParseError(args: readonly string[], error: unknown): string {
  const { tokens } = parseArgs({ args: [...args], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = (OPTIONS as Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>)[token.name];
    if (spec === undefined) return `unknown option ${token.rawName}`;
    if (spec.type === 'boolean' && token.value !== undefined) return `option ${token.rawName} takes no value`;
    if (spec.type === 'string' && token.value === undefined) return `option ${token.rawName} needs a value`;
    if (spec.type === 'string' && token.inlineValue === false && token.value?.startsWith('-') === true) {
      return `option ${token.rawName} needs a value (write ${token.rawName}=${token.value} for one that starts with a dash)`;
    }
  }
  return errorLine(error);
}

function parseSeed(text: string): number {
  const value = /^\d+$/u.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > BENCH_LIMITS.seed) {
    throw new BenchInputError(`--seed must be an integer from 0 to ${BENCH_LIMITS.seed}, not ${JSON.stringify(text)}`);
  }
  return value;
}

function parseAdapterList(text: string): string[] {
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) {
    throw new BenchInputError(`--adapter must be adapter names separated by commas, not ${JSON.stringify(text)}`);
  }
  return [...new Set(names)];
}

/** `bench/workloads` of the current folder when there is one, else the workloads that ship with the package. */
function defaultPaths(): string[] {
  if (existsSync(join(process.cwd(), 'bench', 'workloads'))) return [join('bench', 'workloads')];
  return [join(packageRoot(), 'bench', 'workloads')];
}

async function resolveAdapters(names: readonly string[], deps: BenchDeps): Promise<Adapter[]> {
  const adapters: Adapter[] = [];
  for (const name of names) {
    let adapter: Adapter | undefined;
    try {
      adapter = await deps.loadAdapter(name);
    } catch (error) {
      throw new BenchInputError(`adapter ${name} cannot be loaded: ${errorLine(error)}`);
    }
    if (adapter === undefined) throw new BenchInputError(`unknown adapter ${name} (known: ${deps.adapterNames().join(', ')})`);
    adapters.push(adapter);
  }
  return adapters;
}

/** The command that runs one workload again on one adapter with the same seed. */
export function benchReproduceCommand(run: Pick<BenchRun, 'file' | 'adapter' | 'seed'>): string {
  const file = run.file.startsWith('-') ? `./${run.file}` : run.file;
  return `npx deliverycheck bench ${shellQuote(file)} --adapter ${shellQuote(run.adapter)} --seed ${run.seed}`;
}

async function writeOutput(path: string, text: string): Promise<void> {
  try {
    await writeReportFile(path, text);
  } catch (error) {
    throw new BenchInputError(`cannot write ${path}: ${errorLine(error)}`);
  }
}


function describeProgress(position: number, total: number, workload: BenchWorkload, adapter: string, rate: number, progress: StepProgress): string {
  const where = `[${position}/${total}] ${workload.name} on ${adapter} at ${rate} msg/s`;
  if (progress.phase === 'open' || progress.phase === 'join') return `${where}: ${progress.phase === 'open' ? 'opening' : 'waiting for the consumer group'}`;
  return `${where}: ${progress.phase}, sent ${progress.sent}/${progress.total}, acknowledged ${progress.acknowledged}, processed ${progress.processed}`;
}

async function bench(args: readonly string[], io: BenchIo, deps: BenchDeps): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new BenchInputError(`${explainParseError(args, error)} ${SEE_HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout.write(BENCH_USAGE);
    return 0;
  }
  const seed = values.seed === undefined ? undefined : parseSeed(values.seed);
  const chart = values.chart;
  if (chart !== undefined && !/\.(svg|html?)$/iu.test(chart)) {
    throw new BenchInputError(`--chart must name a .svg or .html file, not ${JSON.stringify(chart)}`);
  }
  // Checked before any workload runs, so a long benchmark cannot lose its result at the end.
  await checkOutputPaths([outputFile('--json', values.json), outputFile('--markdown', values.markdown), outputFile('--chart', chart)]).catch(
    (error: unknown) => {
      throw error instanceof OutputPathError ? new BenchInputError(error.message) : error;
    },
  );
  const adapters = await resolveAdapters(parseAdapterList(values.adapter ?? 'reference'), deps);
  const paths = positionals.length > 0 ? positionals : defaultPaths();

  try {
    const loaded = await loadWorkloads(paths);
    for (const error of loaded.errors) io.stderr.write(`${error.format()}\n`);
    if (loaded.errors.length > 0) return 2;
    // Benchmarking nothing would let a CI gate pass on a mistyped path, so it is bad input.
    if (loaded.workloads.length === 0) throw new BenchInputError(`no workloads found in ${paths.join(' ')}`);

    const plan = loaded.workloads.flatMap((workload) =>
      adapters.flatMap((adapter) => workload.rates.map((rate, step) => ({ workload, adapter, rate, step }))),
    );
    const progress = new ProgressLine(io, io.isTTY && (io.stderrIsTTY ?? io.isTTY));
    const widths = tableWidths(
      loaded.workloads.map((workload) => workload.name),
      adapters.map((adapter) => adapter.name),
    );
    io.stdout.write(`${formatTableHeader(widths)}\n`);
    const runs: BenchRun[] = [];
    for (const [position, entry] of plan.entries()) {
      // An interrupted benchmark lets its step in progress finish (a step is bounded in time) and
      // starts no other.
      if (io.signal?.aborted === true) break;
      const show = (state: StepProgress) =>
        progress.show(describeProgress(position + 1, plan.length, entry.workload, entry.adapter.name, entry.rate, state));
      show({ phase: 'open', sent: 0, total: 0, acknowledged: 0, processed: 0 });
      let run: BenchRun;
      try {
        run = await runBenchStep(entry.workload, {
          adapter: entry.adapter,
          step: entry.step,
          ...(seed === undefined ? {} : { seed }),
          onProgress: show,
        });
      } catch (error) {
        // The driver reports broker trouble as a run with status error; should it throw all the
        // same, the error ends the whole command, since the driver itself is then broken.
        progress.clear();
        throw error;
      }
      progress.clear();
      runs.push(run);
      // Workload names come from the user's files; escaped, they cannot drive the terminal.
      io.stdout.write(`${oneLine(formatTableRow(run, widths))}\n`);
    }
    io.stdout.write(`\n${tableFootnotes(runs).join('\n')}\n\n${formatBenchSummary(runs)}\n`);
    for (const run of runs.filter((candidate) => candidate.status !== 'ok')) {
      io.stdout.write(`${STATUS_WORDS[run.status].padEnd(5)} ${oneLine(`${runName(run)}: ${run.reason ?? ''}`)}\n`);
      if (run.status === 'failed' || run.status === 'error') io.stdout.write(`      reproduce: ${oneLine(benchReproduceCommand(run))}\n`);
    }

    const overhead: OverheadRow[] = [];
    const overheadSkipped: string[] = [];
    if (values.overhead === true) {
      for (const adapter of adapters) {
        if (io.signal?.aborted === true) break;
        progress.show(`measuring the harness overhead on ${adapter.name}`);
        const measured = await measureOverhead(adapter, { records: OVERHEAD.records }).catch(
          (error: unknown) => `${adapter.name}: the overhead could not be measured: ${errorLine(error)}`,
        );
        progress.clear();
        if (typeof measured === 'string') overheadSkipped.push(measured);
        else overhead.push(...measured);
      }
      // A reason may carry a broker's error text: each line is made safe for the terminal.
      io.stdout.write(`\n${formatOverhead(overhead, overheadSkipped).split('\n').map(oneLine).join('\n')}\n`);
    }

    const result = buildBenchResult(packageVersion(), runs, values.overhead === true ? overhead : undefined);
    if (values.json !== undefined) await writeOutput(values.json, formatBenchJson(result));
    if (values.markdown !== undefined) {
      const command = ['npx deliverycheck bench', ...args.map((arg) => shellQuote(arg))].join(' ');
      await writeOutput(values.markdown, renderBenchMarkdown(result, { command, overheadSkipped }));
    }
    if (chart !== undefined) {
      await writeOutput(chart, /\.svg$/iu.test(chart) ? renderBenchSvg(result) : renderBenchHtml(result));
    }
    if (io.signal?.aborted === true) {
      io.stdout.write(`interrupted: ${plan.length - runs.length} of ${plan.length} steps not run\n`);
      return INTERRUPTED_EXIT_CODE;
    }
    if (runs.some((run) => run.status === 'error')) return 2;
    if (runs.some((run) => run.status === 'failed')) return 1;
    return 0;
  } finally {
    // A run never leaves a broker process behind, whatever happened above; stopping one may hang
    // like any other broker operation, so it has a deadline too.
    for (const adapter of adapters) {
      const disposing = adapter.dispose?.();
      if (disposing === undefined) continue;
      await withDeadline(disposing, DISPOSE_TIMEOUT_MS, `stopping adapter ${adapter.name}`).catch((error: unknown) => {
        io.stderr.write(`deliverycheck: ${errorLine(error)}\n`);
      });
    }
  }
}
