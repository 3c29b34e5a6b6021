// The deliverycheck command line. `main` takes the arguments and an optional io object and
// returns the exit code instead of exiting, so tests can drive every path in-process, and so the
// process ends by itself once the work is done, which shows that nothing was left running.
//
// Exit codes (DESIGN.md): 0 every claim held (skips and known failures allowed), 1 a claim was violated, 2 bad input,
// setup failure or an error.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Adapter, ClusterConnection } from '../../adapters/contract.js';
import { adapterNames, expectationsFileOf, loadAdapter } from '../../adapters/registry.js';
import type { ScenarioResult } from '../../spec/result.js';
import { BROKER_ADDRESS_PATTERN } from '../../spec/connection.js';
import { packageRoot, packageVersion } from '../../core/package-root.js';
import { LIMITS, type Scenario } from '../../spec/scenario.js';
import { CAPABILITIES } from '../../spec/vocabulary.js';
import { loadClusterConfig } from './connection.js';
import { applyExpectations, loadExpectations, type Expectations } from '../conformance/expectations.js';
import { checkOutputPaths, makeFolders, OutputPathError, outputFile } from '../../core/output-paths.js';
import { exitCodeFor } from '../report/claims.js';
import { oneLine } from '../../core/one-line.js';
import { formatSummary, HumanReporter, ProgressLine, STATUS_WORDS, type TextSink } from '../report/human.js';
import { buildRunResult, formatJson, writeReportFile } from '../report/json.js';
import { formatRates, formatRatesMarkdown, scenarioRates } from '../report/rates.js';
import { formatJunit } from '../report/junit.js';
import { reproduceCommand, shellQuote } from '../conformance/reproduce.js';
import { INTERRUPTED_EXIT_CODE, watchInterrupts } from '../../core/interrupt.js';
import type { RunOptions } from '../conformance/runner.js';
// The sensitivity module loads no broker and no runner until a check runs, so importing it here
// keeps --help and argument errors as fast as before.
import { causalityCheck, describeFinding, renderCausalityMarkdown } from '../conformance/causality.js';
import {
  alarmOf,
  describeAlarm,
  formatDefectLine,
  renderSensitivityMarkdown,
  sensitivityMatrix,
  specificityCheck,
  renderSpecificityMarkdown,
  type RunStep,
  type ScenarioAlarm,
  type SensitivityMatrix,
} from '../conformance/sensitivity.js';

export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Whether stdout is a terminal: colour and the progress line are only drawn on one. */
  readonly isTTY: boolean;
  /** Whether stderr, where the progress line goes, is a terminal; defaults to `isTTY`. */
  readonly stderrIsTTY?: boolean;
  /** The terminal's width, so the progress line never wraps. */
  readonly columns?: number;
  /** The environment to read NO_COLOR and DELIVERYCHECK_DEBUG from; defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted when the user interrupts (SIGINT, SIGTERM): the command stops, reports what finished
   * and exits 130. Without an io object, main() watches the process's signals itself.
   */
  readonly signal?: AbortSignal;
}

/** The part of the loader's answer the CLI uses; `format()` gives one line naming file, line and field. */
export interface LoadedScenarios {
  readonly scenarios: readonly Scenario[];
  readonly errors: readonly { format(): string }[];
}

/** What the CLI drives. Tests replace these; the defaults are the real registry, loader and runner. */
export interface CliDeps {
  adapterNames(): readonly string[];
  loadAdapter(name: string): Promise<Adapter | undefined>;
  loadScenarios(paths: readonly string[]): Promise<LoadedScenarios>;
  runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult>;
}

// The loader and the runner are imported when a command needs them, so `--version`, `--help` and
// argument errors answer at once without loading the YAML parser, the schemas or a broker.
const defaultDeps: CliDeps = {
  adapterNames,
  loadAdapter,
  loadScenarios: async (paths) => (await import('../conformance/loader.js')).loadScenarios(paths),
  runScenario: async (scenario, options) => (await import('../conformance/runner.js')).runScenario(scenario, options),
};

/** An error whose message is the whole story: printed as one line, never with a stack. */
class CliError extends Error {}

const SEE_HELP = '(see deliverycheck --help)';

const USAGE = `deliverycheck: does this broker really give the delivery guarantee it claims?

Usage:
  deliverycheck run [PATH...]       run scenario files or folders (default: suites/)
      --adapter NAME                the broker adapter (default: reference)
      --seed N                      use this seed in every scenario (an integer >= 0)
      --defect NAME                 switch on one of the adapter's deliberate defects (repeatable)
      --json FILE                   write the result as JSON (spec/result.schema.json)
      --junit FILE                  write the result as JUnit XML for CI
      --history DIR                 keep each scenario's history as JSON Lines
      --brokers HOST:PORT,...       use this running cluster instead of starting one (kafka)
      --cluster-config FILE         the same, with TLS and SASL (spec/cluster-config.schema.json)
      --repeat N                    run every scenario N times, at seeds S, S+1, ..., and report
                                    per scenario how often each control witnessed and each claim held
      --rates FILE                  write those rates (or one run's results) as a Markdown table
  deliverycheck check HISTORY...    judge recorded histories (files, or folders of *.jsonl) again:
                                    the same verdicts and report as the run that wrote them
      --json FILE, --junit FILE     as for run
  deliverycheck validate [PATH...]  check scenario files, run nothing
  deliverycheck adapters            list adapters, their capabilities and defect switches
  deliverycheck sensitivity [PATH...]
                                    run the suite once per defect of the adapter, each alone,
                                    and name the scenarios that catch each one
      --adapter NAME                an adapter with defect switches (default: reference)
      --markdown FILE               write the matrix as Markdown
      --check FILE                  exit 1 when FILE is not the Markdown this run writes
  deliverycheck specificity [PATH...]
                                    run the suite with no defect over many seeds; any result
                                    other than passed or skipped is a false alarm
      --adapter NAME                the broker adapter (default: reference)
      --seeds N                     seeds per scenario (default: 200)
      --first-seed S                the first seed (default: 1)
      --markdown FILE               write the result as Markdown
  deliverycheck causality [PATH...]
                                    run every negative control without its faults and
                                    abortEvery over many seeds; fails when a witnessed
                                    anomaly is still witnessed (docs/causality.md)
      --adapter NAME                the broker adapter (default: reference)
      --seeds N                     seeds per control (default: 10)
      --first-seed S                the first seed (default: 1)
      --markdown FILE               write the result as Markdown
      --check FILE                  exit 1 when FILE is not the Markdown this run writes
  deliverycheck bench [PATH...]     run benchmark workloads (default: bench/workloads/)
      --adapter NAME[,NAME...]      the adapters to compare side by side (default: reference)
      --seed N                      use this seed in every workload
      --json FILE                   write the result as JSON (spec/bench-result.schema.json)
      --markdown FILE               write the result as Markdown tables
      --chart FILE.svg|FILE.html    write the latency percentiles and latency-throughput curve
  deliverycheck --version
  deliverycheck --help

Exit codes: 0 every claim held (skips and known failures allowed), 1 a claim was violated,
            2 bad input, setup failure, an error, or an inconclusive run
              (too little happened for a verdict: see expect.minimum);
            130 interrupted (SIGINT, SIGTERM).
            sensitivity: 1 also when the baseline fails or a defect is caught by nothing;
            specificity: 1 when there is a false alarm;
            causality: 1 when a control's anomaly persists without its faults.
            bench: 1 when a run lost or duplicated messages its modes forbid.
`;

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

const RUN_OPTIONS = {
  ...HELP_OPTION,
  adapter: { type: 'string' },
  seed: { type: 'string' },
  defect: { type: 'string', multiple: true },
  json: { type: 'string' },
  junit: { type: 'string' },
  history: { type: 'string' },
  brokers: { type: 'string' },
  'cluster-config': { type: 'string' },
  repeat: { type: 'string' },
  rates: { type: 'string' },
} as const;

const CHECK_OPTIONS = {
  ...HELP_OPTION,
  json: { type: 'string' },
  junit: { type: 'string' },
} as const;

/** At most this many runs per scenario with --repeat, so a typo cannot start a week-long run. */
const MAX_REPEAT = 10_000;

const SENSITIVITY_OPTIONS = {
  ...HELP_OPTION,
  adapter: { type: 'string' },
  markdown: { type: 'string' },
  check: { type: 'string' },
} as const;

const SPECIFICITY_OPTIONS = {
  ...HELP_OPTION,
  adapter: { type: 'string' },
  seeds: { type: 'string' },
  'first-seed': { type: 'string' },
} as const;

const SPECIFICITY_COMMAND_OPTIONS = { ...SPECIFICITY_OPTIONS, markdown: { type: 'string' } } as const;

/** Seeds per scenario of `specificity` when --seeds is not given. */
const DEFAULT_SPECIFICITY_SEEDS = 200;

const CAUSALITY_OPTIONS = { ...SPECIFICITY_OPTIONS, markdown: { type: 'string' }, check: { type: 'string' } } as const;

/** Seeds per control of `causality` when --seeds is not given. */
const DEFAULT_CAUSALITY_SEEDS = 10;

type OptionSpecs = Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>;

interface Context {
  readonly io: CliIo;
  readonly deps: CliDeps;
  readonly env: Readonly<Record<string, string | undefined>>;
}

function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns,
    env: process.env,
  };
}

/** The commands that stop cleanly on SIGINT and SIGTERM; the others end as Node ends them. */
const INTERRUPTIBLE: ReadonlySet<string | undefined> = new Set(['run', 'check', 'sensitivity', 'specificity', 'bench']);

/** Runs the command line and returns its exit code. */
export async function main(argv: readonly string[], givenIo?: CliIo, deps: CliDeps = defaultDeps): Promise<number> {
  // Only the real process's signals are watched: a test that passes io passes its own signal.
  const watch =
    givenIo === undefined && INTERRUPTIBLE.has(argv[0])
      ? watchInterrupts(
          (line) => process.stderr.write(`${line}\n`),
          (code) => process.exit(code),
        )
      : undefined;
  const io = givenIo ?? { ...processIo(), ...(watch !== undefined ? { signal: watch.signal } : {}) };
  const env = io.env ?? process.env;
  try {
    return await dispatch(argv, { io, deps, env });
  } catch (error) {
    // Arguments may hold control characters; escaped, they cannot drive the terminal.
    io.stderr.write(`deliverycheck: ${oneLine(errorLine(error))}\n`);
    if (!(error instanceof CliError) && isSet(env.DELIVERYCHECK_DEBUG) && error instanceof Error && error.stack) {
      io.stderr.write(`${error.stack}\n`);
    }
    return 2;
  } finally {
    watch?.dispose();
  }
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}

function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Some modules already name the tool in their messages; it is said once.
  const firstLine = message.split('\n', 1)[0] ?? '';
  return firstLine.replace(/^deliverycheck:\s*/u, '') || 'unknown error';
}

async function dispatch(argv: readonly string[], context: Context): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      context.io.stderr.write(USAGE);
      return 2;
    case '--version':
      context.io.stdout.write(`${packageVersion()}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      context.io.stdout.write(USAGE);
      return 0;
    case 'run':
      return runCommand(rest, context);
    case 'check':
      return checkCommand(rest, context);
    case 'validate':
      return validateCommand(rest, context);
    case 'adapters':
      return adaptersCommand(rest, context);
    case 'sensitivity':
      return sensitivityCommand(rest, context);
    case 'specificity':
      return specificityCommand(rest, context);
    case 'causality':
      return causalityCommand(rest, context);
    case 'bench':
      // Loaded on demand, like the loader and runner: other commands need none of it.
      return (await import('./bench-command.js')).benchCommand(rest, context.io);
    default:
      if (command.startsWith('-')) throw new CliError(`unknown option ${command} ${SEE_HELP}`);
      throw new CliError(`unknown command ${command} ${SEE_HELP}`);
  }
}

/**
 * Parses with parseArgs in strict mode, and when it refuses, explains why in one line of our own:
 * Node's messages are long, multi-line in places, and differ between versions.
 */
function parseStrict<R>(args: readonly string[], options: OptionSpecs, allowPositionals: boolean, parse: () => R): R {
  try {
    return parse();
  } catch (error) {
    throw new CliError(`${explainParseError(args, options, allowPositionals, error)} ${SEE_HELP}`);
  }
}

function explainParseError(args: readonly string[], options: OptionSpecs, allowPositionals: boolean, error: unknown): string {
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'option') {
      const spec = options[token.name];
      if (spec === undefined) return `unknown option ${token.rawName}`;
      if (spec.type === 'boolean' && token.value !== undefined) return `option ${token.rawName} takes no value`;
      if (spec.type === 'string' && token.value === undefined) return `option ${token.rawName} needs a value`;
      if (spec.type === 'string' && token.inlineValue === false && token.value?.startsWith('-') === true) {
        return `option ${token.rawName} needs a value (write ${token.rawName}=${token.value} for one that starts with a dash)`;
      }
    } else if (token.kind === 'positional' && !allowPositionals) {
      return `unexpected argument ${token.value}`;
    }
  }
  return errorLine(error);
}

function parseSeed(text: string, option = '--seed'): number {
  return parseInteger(text, option, 0, LIMITS.seed);
}

function parseInteger(text: string, option: string, min: number, max: number): number {
  const value = /^\d+$/u.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError(`${option} must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`);
  }
  return value;
}

/** Runs the output path checks, turning their refusal into a one-line error of the command. */
async function checkOutputs(outputs: Parameters<typeof checkOutputPaths>[0]): Promise<void> {
  try {
    await checkOutputPaths(outputs);
  } catch (error) {
    if (error instanceof OutputPathError) throw new CliError(error.message);
    throw error;
  }
}

/**
 * `--repeat N` runs seeds S to S+N-1; each must be a valid seed. Clamping the last ones to the
 * top would run one seed several times and report it as several runs.
 */
function checkSeedRoom(seed: number | undefined, repeat: number): void {
  if (seed === undefined || seed + repeat - 1 <= LIMITS.seed) return;
  throw new CliError(
    `--seed ${seed} with --repeat ${repeat} would run seeds up to ${seed + repeat - 1}, past the highest seed ${LIMITS.seed}; give --seed ${LIMITS.seed - repeat + 1} or less`,
  );
}

/** The same check for scenarios that bring their own seed, when --seed is not given. */
function checkScenarioSeedRoom(scenarios: readonly Scenario[], repeat: number): void {
  const scenario = scenarios.find((candidate) => candidate.seed + repeat - 1 > LIMITS.seed);
  if (scenario === undefined) return;
  throw new CliError(
    `--repeat ${repeat} would run ${oneLine(scenario.file)} at seeds up to ${scenario.seed + repeat - 1}, past the highest seed ${LIMITS.seed}; give --seed or a smaller --repeat`,
  );
}

/** `suites/` of the current folder when there is one, else the suites that ship with the package. */
function defaultPaths(): string[] {
  if (existsSync(join(process.cwd(), 'suites'))) return ['suites'];
  return [join(packageRoot(), 'suites')];
}

async function resolveAdapter(name: string, context: Context): Promise<Adapter> {
  const adapter = await context.deps.loadAdapter(name);
  if (adapter === undefined) {
    throw new CliError(`unknown adapter ${name} (known: ${context.deps.adapterNames().join(', ')})`);
  }
  return adapter;
}

/**
 * The adapter for the user's running cluster, when --brokers or --cluster-config names one (the
 * file may add TLS and SASL; --brokers, when also given, replaces its addresses). Undefined
 * after printing the config file's errors, one line each.
 */
async function withCluster(
  adapter: Adapter,
  brokers: string | undefined,
  configFile: string | undefined,
  context: Context,
): Promise<Adapter | undefined> {
  if (brokers === undefined && configFile === undefined) return adapter;
  let connection: ClusterConnection = { brokers: [] };
  if (configFile !== undefined) {
    const loaded = await loadClusterConfig(configFile, context.env);
    if (loaded.errors !== undefined) {
      for (const error of loaded.errors) context.io.stderr.write(`${error.format()}\n`);
      return undefined;
    }
    connection = loaded.connection;
  }
  if (brokers !== undefined) {
    const addresses = brokers.split(',').map((address) => address.trim());
    if (addresses.some((address) => !new RegExp(BROKER_ADDRESS_PATTERN, 'u').test(address))) {
      throw new CliError(`--brokers needs HOST:PORT[,HOST:PORT...], not ${JSON.stringify(brokers)}`);
    }
    connection = { ...connection, brokers: addresses };
  }
  if (adapter.connect === undefined) throw new CliError(`adapter ${adapter.name} cannot use a running cluster (--brokers, --cluster-config)`);
  return adapter.connect(connection);
}

function checkDefects(adapter: Adapter, defects: readonly string[]): void {
  const known = adapter.defects.map((defect) => defect.name);
  for (const defect of defects) {
    if (known.includes(defect)) continue;
    const list = known.length > 0 ? `known: ${known.join(', ')}` : 'it has none';
    throw new CliError(`unknown defect ${defect} for adapter ${adapter.name} (${list})`);
  }
}

/** Prints load errors, one line each, and says whether there is anything to go on with. */
function reportLoad(loaded: LoadedScenarios, paths: readonly string[], context: Context): boolean {
  for (const error of loaded.errors) context.io.stderr.write(`${error.format()}\n`);
  if (loaded.errors.length > 0) return false;
  // Running nothing would let a CI gate pass on a mistyped path, so an empty selection is bad input.
  if (loaded.scenarios.length === 0) throw new CliError(`no scenarios found in ${paths.join(' ')}`);
  return true;
}

/**
 * The known failures of the named adapter, read before anything runs: undefined when it keeps
 * none, null once the file's errors are printed.
 */
async function expectationsOf(adapterName: string, context: Context): Promise<Expectations | undefined | null> {
  const file = expectationsFileOf(adapterName);
  if (file === undefined) return undefined;
  const loaded = await loadExpectations(join(packageRoot(), file));
  if (loaded.errors === undefined) return { ...loaded.expectations, file };
  for (const error of loaded.errors) context.io.stderr.write(`${error.format()}\n`);
  return null;
}

async function runCommand(args: readonly string[], context: Context): Promise<number> {
  const { values, positionals } = parseStrict(args, RUN_OPTIONS, true, () =>
    parseArgs({ args: [...args], options: RUN_OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help === true) {
    context.io.stdout.write(USAGE);
    return 0;
  }
  const seed = values.seed === undefined ? undefined : parseSeed(values.seed);
  const repeat = values.repeat === undefined ? 1 : parseInteger(values.repeat, '--repeat', 1, MAX_REPEAT);
  checkSeedRoom(seed, repeat);
  const historyDir = values.history;
  // Every output path is checked before anything starts, so a long run cannot lose its result.
  await checkOutputs([
    outputFile('--json', values.json),
    outputFile('--junit', values.junit),
    outputFile('--rates', values.rates),
    historyDir === undefined ? undefined : { option: '--history', path: historyDir, kind: 'folder' },
  ]);
  const adapter = await withCluster(await resolveAdapter(values.adapter ?? 'reference', context), values.brokers, values['cluster-config'], context);
  if (adapter === undefined) return 2;
  const defects = [...new Set(values.defect ?? [])];
  checkDefects(adapter, defects);
  const expectations = await expectationsOf(adapter.name, context);
  if (expectations === null) return 2;

  const paths = positionals.length > 0 ? positionals : defaultPaths();
  const loaded = await context.deps.loadScenarios(paths);
  if (!reportLoad(loaded, paths, context)) return 2;
  if (seed === undefined) checkScenarioSeedRoom(loaded.scenarios, repeat);
  // Made only now that the scenarios loaded: a run that never starts leaves no folder behind.
  if (historyDir !== undefined) {
    await makeFolders(historyDir).catch((error: unknown) => {
      throw new CliError(`--history ${historyDir}: ${errorLine(error)}`);
    });
  }

  const { io, env } = context;
  const reporter = new HumanReporter({
    stdout: io.stdout,
    stderr: io.stderr,
    // no-color.org: any non-empty NO_COLOR turns colour off.
    color: io.isTTY && !isSet(env.NO_COLOR),
    progress: drawsProgress(io),
    ...(io.columns !== undefined ? { columns: io.columns } : {}),
  });
  const clusterArgs = [
    ...(values.brokers !== undefined ? ['--brokers', values.brokers] : []),
    ...(values['cluster-config'] !== undefined ? ['--cluster-config', values['cluster-config']] : []),
  ];
  const signal = io.signal;
  const options: RunOptions = { adapter, seed, defects, historyDir, clusterArgs, ...(signal !== undefined ? { signal } : {}) };
  const results: ScenarioResult[] = [];
  const total = loaded.scenarios.length * repeat;
  reporter.begin(total);
  try {
    // Repeated runs go round by round over the whole suite, so that an interrupted run has still
    // sampled every scenario, and a real broker's slow drift (a filling disk, a warming JIT)
    // spreads over all scenarios alike.
    rounds: for (let round = 0; round < repeat; round += 1) {
      for (const [index, scenario] of loaded.scenarios.entries()) {
        if (signal?.aborted === true) break rounds;
        reporter.starting(round * loaded.scenarios.length + index + 1, scenario.file);
        // checkSeedRoom and checkScenarioSeedRoom made sure this stays a valid seed.
        const roundSeed = (seed ?? scenario.seed) + round;
        const result = applyExpectations(await runGuarded(scenario, repeat === 1 ? options : { ...options, seed: roundSeed }, context), expectations);
        results.push(result);
        reporter.finished(result);
      }
    }
  } finally {
    await disposeAdapter(adapter, io);
  }
  reporter.end(results);
  const interrupted = signal?.aborted === true;
  if (interrupted) io.stdout.write(`interrupted: ${total - results.length} of ${total} runs not started\n`);
  const rates = scenarioRates(results);
  if (repeat > 1) io.stdout.write(`\n${formatRates(rates)}`);
  if (values.rates !== undefined) await writeReport(values.rates, formatRatesMarkdown(rates, adapter.name));

  const run = buildRunResult({ version: packageVersion(), adapter: adapter.name, defects, scenarios: results });
  if (values.json !== undefined) await writeReport(values.json, formatJson(run));
  if (values.junit !== undefined) await writeReport(values.junit, formatJunit(run));
  return interrupted ? INTERRUPTED_EXIT_CODE : exitCodeFor(results);
}

async function checkCommand(args: readonly string[], context: Context): Promise<number> {
  const { values, positionals } = parseStrict(args, CHECK_OPTIONS, true, () =>
    parseArgs({ args: [...args], options: CHECK_OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help === true) {
    context.io.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new CliError(`check needs the histories to check (files, or folders of *.jsonl) ${SEE_HELP}`);
  const { io, env } = context;
  const { checkHistories, CheckInputError } = await import('./check-command.js');
  let checked: Awaited<ReturnType<typeof checkHistories>>;
  try {
    checked = await checkHistories(positionals, io.signal);
  } catch (error) {
    if (!(error instanceof CheckInputError)) throw error;
    for (const line of error.lines) io.stderr.write(`deliverycheck: ${oneLine(line)}\n`);
    return 2;
  }
  const expectations = await expectationsOf(checked.adapter, context);
  if (expectations === null) return 2;
  checked = { ...checked, results: checked.results.map((result) => applyExpectations(result, expectations)) };
  // The same report as the run's, printed once every history is checked, in the run's order.
  const reporter = new HumanReporter({ stdout: io.stdout, stderr: io.stderr, color: io.isTTY && !isSet(env.NO_COLOR), progress: false });
  reporter.begin(checked.results.length);
  for (const result of checked.results) reporter.finished(result);
  reporter.end(checked.results);
  // Several seeds of one scenario are a --repeat run's histories: its rates come back too.
  const rates = scenarioRates(checked.results);
  if (rates.length < checked.results.length) io.stdout.write(`\n${formatRates(rates)}`);
  if (checked.interrupted) io.stdout.write('interrupted: not every history was checked\n');
  const run = buildRunResult({ version: packageVersion(), adapter: checked.adapter, defects: checked.defects, scenarios: checked.results });
  if (values.json !== undefined) await writeReport(values.json, formatJson(run));
  if (values.junit !== undefined) await writeReport(values.junit, formatJunit(run));
  return checked.interrupted ? INTERRUPTED_EXIT_CODE : exitCodeFor(checked.results);
}

/**
 * Runs one scenario. The runner reports broker trouble as a result with status `error`; should it
 * throw all the same, that becomes an `error` result too, so the other scenarios still run and
 * the reports still name every scenario.
 */
async function runGuarded(scenario: Scenario, options: RunOptions, context: Context): Promise<ScenarioResult> {
  const startedMs = performance.now();
  try {
    return await context.deps.runScenario(scenario, options);
  } catch (error) {
    if (isSet(context.env.DELIVERYCHECK_DEBUG) && error instanceof Error && error.stack) {
      context.io.stderr.write(`${error.stack}\n`);
    }
    const seed = options.seed ?? scenario.seed;
    return {
      file: scenario.file,
      name: scenario.name,
      seed,
      status: 'error',
      reason: `the runner failed: ${errorLine(error)}`,
      counts: { sent: 0, acknowledged: 0, stored: 0, delivered: 0, processed: 0 },
      anomalies: {},
      durationMs: performance.now() - startedMs,
      reproduce: reproduceCommand({
        file: scenario.file,
        adapter: options.adapter.name,
        seed,
        defects: options.defects,
        ...(options.clusterArgs !== undefined ? { clusterArgs: options.clusterArgs } : {}),
      }),
    };
  }
}

/** What the adapter started for the command, such as a local Kafka cluster, ends with it. */
async function disposeAdapter(adapter: Adapter, io: CliIo): Promise<void> {
  await adapter.dispose?.().catch((error: unknown) => {
    io.stderr.write(`deliverycheck: adapter ${adapter.name} could not stop what it started: ${errorLine(error)}\n`);
  });
}

/** Thrown through sensitivity and specificity once the user interrupts, to stop their loops. */
class StopRequested extends Error {}

/**
 * runGuarded for the commands that run many scenarios: each run gets the command's signal, and
 * once it aborts, the run in progress ends `interrupted` and the loop ends with it. `rethrow`
 * turns that end into undefined and passes any other error on.
 */
function interruptibleRunner(context: Context): {
  run: (scenario: Scenario, options: RunOptions) => Promise<ScenarioResult>;
  rethrow: (error: unknown) => undefined;
  runs: () => number;
} {
  const signal = context.io.signal;
  // A function, not a field read, since the signal aborts while a run is awaited.
  const stopped = (): boolean => signal?.aborted === true;
  let finished = 0;
  return {
    run: async (scenario, options) => {
      if (stopped()) throw new StopRequested();
      const result = await runGuarded(scenario, signal === undefined ? options : { ...options, signal }, context);
      if (stopped()) throw new StopRequested();
      finished += 1;
      return result;
    },
    rethrow: (error) => {
      if (error instanceof StopRequested) return undefined;
      throw error;
    },
    runs: () => finished,
  };
}

async function writeReport(path: string, text: string): Promise<void> {
  try {
    await writeReportFile(path, text);
  } catch (error) {
    throw new CliError(`cannot write ${path}: ${errorLine(error)}`);
  }
}

async function validateCommand(args: readonly string[], context: Context): Promise<number> {
  const { values, positionals } = parseStrict(args, HELP_OPTION, true, () =>
    parseArgs({ args: [...args], options: HELP_OPTION, strict: true, allowPositionals: true }),
  );
  if (values.help === true) {
    context.io.stdout.write(USAGE);
    return 0;
  }
  const paths = positionals.length > 0 ? positionals : defaultPaths();
  const loaded = await context.deps.loadScenarios(paths);
  if (!reportLoad(loaded, paths, context)) return 2;
  const count = loaded.scenarios.length;
  context.io.stdout.write(`ok: ${count} ${count === 1 ? 'scenario' : 'scenarios'}\n`);
  return 0;
}

async function adaptersCommand(args: readonly string[], context: Context): Promise<number> {
  const { values } = parseStrict(args, HELP_OPTION, false, () =>
    parseArgs({ args: [...args], options: HELP_OPTION, strict: true, allowPositionals: false }),
  );
  if (values.help === true) {
    context.io.stdout.write(USAGE);
    return 0;
  }
  let failed = false;
  const blocks: string[] = [];
  for (const name of context.deps.adapterNames()) {
    // One adapter whose client library is missing should not hide the others, so its failure is
    // listed in its place and turns the exit code to 2 at the end.
    let adapter: Adapter | undefined;
    try {
      adapter = await context.deps.loadAdapter(name);
    } catch (error) {
      failed = true;
      blocks.push(`${name}\n  cannot be loaded: ${errorLine(error)}`);
      continue;
    }
    if (adapter !== undefined) blocks.push(describeAdapter(adapter));
  }
  context.io.stdout.write(`${blocks.join('\n\n')}\n`);
  return failed ? 2 : 0;
}

function describeAdapter(adapter: Adapter): string {
  const capabilities = CAPABILITIES.filter((capability) => adapter.capabilities.has(capability));
  const lines = [
    `${adapter.name}`,
    `  ${adapter.description}`,
    `  capabilities: ${capabilities.length > 0 ? capabilities.join(' ') : 'none'}`,
  ];
  if (adapter.defects.length > 0) {
    lines.push('  defects (--defect NAME):');
    const width = Math.max(...adapter.defects.map((defect) => defect.name.length));
    for (const defect of adapter.defects) lines.push(`    ${defect.name.padEnd(width)}  ${defect.description}`);
  }
  return lines.join('\n');
}

/** The progress line is drawn with `\r`, so only when both stdout and stderr are terminals. */
function drawsProgress(io: CliIo): boolean {
  return io.isTTY && (io.stderrIsTTY ?? io.isTTY);
}


/** An adapter with the defects it lists: sensitivity has nothing to measure without them. */
async function resolveAdapterWithDefects(name: string, context: Context): Promise<Adapter> {
  const adapter = await resolveAdapter(name, context);
  if (adapter.defects.length === 0) {
    throw new CliError(`adapter ${adapter.name} has no defect switches, so there is no sensitivity to measure`);
  }
  return adapter;
}

async function readCheckFile(path: string): Promise<string> {
  // Read like every input, so a FIFO or a device named by --check cannot hang the command.
  const input = await (await import('../../core/input-file.js')).readInputFile(path, 'Markdown file');
  if (input.error !== undefined) {
    throw new CliError(input.code !== undefined ? `cannot read ${path}: ${input.code}` : `--check ${input.error.format()}`);
  }
  return input.text;
}

/** The command that writes the same Markdown again: the paths and adapter of this run. */
function regenerateCommand(paths: readonly string[], adapter: string, markdownFile: string): string {
  const words = ['npx', 'deliverycheck', 'sensitivity', ...paths.map(quotePath)];
  if (adapter !== 'reference') words.push('--adapter', shellQuote(adapter));
  words.push('--markdown', quotePath(markdownFile));
  return words.join(' ');
}

/** Quotes a path for a shell; one that starts with a dash would be read as an option. */
function quotePath(path: string): string {
  return shellQuote(path.startsWith('-') ? `./${path}` : path);
}

/** `FAIL  suites/x.yaml seed 17 — lost: expected none, got 3`, then the command that reproduces it. */
function formatAlarm(alarm: ScenarioAlarm): string {
  const word = STATUS_WORDS[alarm.status].padEnd(5);
  return `${word} ${oneLine(alarm.file)} seed ${alarm.seed} — ${describeAlarm(alarm)}\n      reproduce: ${oneLine(alarm.reproduce)}\n`;
}

async function sensitivityCommand(args: readonly string[], context: Context): Promise<number> {
  const { values, positionals } = parseStrict(args, SENSITIVITY_OPTIONS, true, () =>
    parseArgs({ args: [...args], options: SENSITIVITY_OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help === true) {
    context.io.stdout.write(USAGE);
    return 0;
  }
  if (values.markdown !== undefined && values.check !== undefined) {
    throw new CliError('give --markdown or --check, not both');
  }
  await checkOutputs([outputFile('--markdown', values.markdown)]);
  const adapter = await resolveAdapterWithDefects(values.adapter ?? 'reference', context);
  // The committed file is read before the long run, so a mistyped path fails at once.
  const expected = values.check === undefined ? undefined : await readCheckFile(values.check);
  const paths = positionals.length > 0 ? positionals : defaultPaths();
  const loaded = await context.deps.loadScenarios(paths);
  if (!reportLoad(loaded, paths, context)) return 2;

  const { io } = context;
  const progress = new ProgressLine(io, drawsProgress(io));
  const width = Math.max(...adapter.defects.map((defect) => defect.name.length));
  const interruptible = interruptibleRunner(context);
  const matrix = await sensitivityMatrix(loaded.scenarios, adapter, {
    runScenario: interruptible.run,
    onProgress: (step: RunStep) => {
      const phase = step.defect === undefined ? 'baseline' : `defect ${step.defect}`;
      progress.show(`[${step.position}/${step.total}] ${phase}: running ${oneLine(step.scenario.file)}`);
    },
    onBaseline: (results) => {
      progress.clear();
      io.stdout.write(`baseline: ${formatSummary(results)}\n`);
      for (const alarm of results.flatMap((result) => alarmOf(result) ?? [])) io.stdout.write(`  ${formatAlarm(alarm)}`);
    },
    onDefectRow: (row) => {
      progress.clear();
      io.stdout.write(`${row.defect.name.padEnd(width)}  ${formatDefectLine(row)}\n`);
    },
  })
    .catch(interruptible.rethrow)
    .finally(() => disposeAdapter(adapter, io));
  progress.clear();
  if (matrix === undefined) {
    io.stdout.write(`\ninterrupted after ${interruptible.runs()} runs: the matrix is incomplete, and no file was written or compared\n`);
    return INTERRUPTED_EXIT_CODE;
  }
  io.stdout.write(`\n${formatMatrixSummary(matrix)}\n`);

  const markdownFile = values.markdown ?? values.check;
  let current = true;
  if (markdownFile !== undefined) {
    // The resolved paths, not the typed ones, so leaving out the default `suites` changes nothing.
    const command = regenerateCommand(paths, adapter.name, markdownFile);
    const markdown = renderSensitivityMarkdown(matrix, { command });
    if (values.markdown !== undefined) await writeReport(values.markdown, markdown);
    if (expected !== undefined && expected !== markdown) {
      current = false;
      io.stderr.write(`deliverycheck: ${markdownFile} is not the Markdown of this run; regenerate it with ${command}\n`);
    }
  }
  return matrix.ok && current ? 0 : 1;
}

/** `11 defects: 11 caught, 0 not caught`, and what is wrong when the baseline failed. */
function formatMatrixSummary(matrix: SensitivityMatrix): string {
  const total = matrix.defects.length;
  const caught = total - matrix.uncaught.length;
  let line = `${total} ${total === 1 ? 'defect' : 'defects'}: ${caught} caught, ${matrix.uncaught.length} not caught`;
  if (matrix.baselineAlarms.length > 0) {
    line += `; the baseline failed in ${matrix.baselineAlarms.length} ${matrix.baselineAlarms.length === 1 ? 'scenario' : 'scenarios'}`;
  }
  return line;
}

async function specificityCommand(args: readonly string[], context: Context): Promise<number> {
  const { values, positionals } = parseStrict(args, SPECIFICITY_COMMAND_OPTIONS, true, () =>
    parseArgs({ args: [...args], options: SPECIFICITY_COMMAND_OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help === true) {
    context.io.stdout.write(USAGE);
    return 0;
  }
  const { firstSeed, seeds } = parseSeedRange(values, DEFAULT_SPECIFICITY_SEEDS);
  // Checked before the long run, so an unwritable path fails at once.
  await checkOutputs([outputFile('--markdown', values.markdown)]);
  const adapter = await resolveAdapter(values.adapter ?? 'reference', context);
  const loaded = await loadSelection(positionals, context);
  if (loaded === undefined) return 2;

  const { io } = context;
  const progress = new ProgressLine(io, drawsProgress(io));
  const interruptible = interruptibleRunner(context);
  let alarmsSoFar = 0;
  const result = await specificityCheck(loaded.scenarios, adapter, {
    seeds,
    firstSeed,
    runScenario: interruptible.run,
    onProgress: (step: RunStep) => {
      progress.show(`[${step.position}/${step.total}] seed ${step.seed}: running ${oneLine(step.scenario.file)}`);
    },
    onFalseAlarm: (alarm) => {
      alarmsSoFar += 1;
      progress.clear();
      io.stdout.write(formatAlarm(alarm));
    },
  })
    .catch(interruptible.rethrow)
    .finally(() => disposeAdapter(adapter, io));
  progress.clear();
  if (result === undefined) {
    io.stdout.write(`\ninterrupted after ${interruptible.runs()} runs, ${alarmsSoFar} false ${alarmsSoFar === 1 ? 'alarm' : 'alarms'} by then\n`);
    return INTERRUPTED_EXIT_CODE;
  }
  const alarms = result.falseAlarms.length;
  const lastSeed = firstSeed + seeds - 1;
  const scenarios = loaded.scenarios.length;
  io.stdout.write(
    `${alarms > 0 ? '\n' : ''}${result.runs} ${result.runs === 1 ? 'run' : 'runs'}, ` +
      `${alarms} false ${alarms === 1 ? 'alarm' : 'alarms'} ` +
      `(${scenarios} ${scenarios === 1 ? 'scenario' : 'scenarios'}, seeds ${firstSeed} to ${lastSeed})\n`,
  );
  if (values.markdown !== undefined) {
    const words = ['npx', 'deliverycheck', 'specificity', ...loaded.paths.map(quotePath)];
    if (adapter.name !== 'reference') words.push('--adapter', shellQuote(adapter.name));
    if (values.seeds !== undefined) words.push('--seeds', String(seeds));
    if (values['first-seed'] !== undefined) words.push('--first-seed', String(firstSeed));
    words.push('--markdown', quotePath(values.markdown));
    await writeReport(values.markdown, renderSpecificityMarkdown(result, { command: words.join(' ') }));
  }
  return alarms === 0 ? 0 : 1;
}

/** The scenarios the paths name (suites/ without any), or undefined once their load errors are printed. */
async function loadSelection(
  positionals: readonly string[],
  context: Context,
): Promise<{ readonly paths: readonly string[]; readonly scenarios: readonly Scenario[] } | undefined> {
  const paths = positionals.length > 0 ? positionals : defaultPaths();
  const loaded = await context.deps.loadScenarios(paths);
  return reportLoad(loaded, paths, context) ? { paths, scenarios: loaded.scenarios } : undefined;
}

/** The seed options of specificity and causality: the first seed, and how many seeds from it. */
function parseSeedRange(values: { readonly seeds?: string; readonly 'first-seed'?: string }, defaultSeeds: number): { firstSeed: number; seeds: number } {
  const firstSeed = values['first-seed'] === undefined ? 1 : parseSeed(values['first-seed'], '--first-seed');
  // The last seed must still be a valid seed, so the room left above the first bounds the count.
  const seeds = values.seeds === undefined ? defaultSeeds : parseInteger(values.seeds, '--seeds', 1, LIMITS.seed - firstSeed + 1);
  return { firstSeed, seeds };
}

async function causalityCommand(args: readonly string[], context: Context): Promise<number> {
  const { values, positionals } = parseStrict(args, CAUSALITY_OPTIONS, true, () =>
    parseArgs({ args: [...args], options: CAUSALITY_OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help === true) {
    context.io.stdout.write(USAGE);
    return 0;
  }
  if (values.markdown !== undefined && values.check !== undefined) throw new CliError('give --markdown or --check, not both');
  const { firstSeed, seeds } = parseSeedRange(values, DEFAULT_CAUSALITY_SEEDS);
  const adapter = await resolveAdapter(values.adapter ?? 'reference', context);
  // The committed file is read before the long run, so a mistyped path fails at once.
  const expected = values.check === undefined ? undefined : await readCheckFile(values.check);
  const loaded = await loadSelection(positionals, context);
  if (loaded === undefined) return 2;
  const { paths } = loaded;

  const { io } = context;
  const progress = new ProgressLine(io, drawsProgress(io));
  const result = await causalityCheck(loaded.scenarios, adapter, {
    seeds,
    firstSeed,
    runScenario: (scenario, options) => runGuarded(scenario, options, context),
    onProgress: (step: RunStep) => {
      progress.show(`[${step.position}/${step.total}] seed ${step.seed}: running ${oneLine(step.scenario.file)} without its faults`);
    },
    onFinding: (finding) => {
      progress.clear();
      io.stdout.write(`FAIL  ${oneLine(finding.file)} seed ${finding.seed} — ${describeFinding(finding)}\n      reproduce: ${finding.reproduce}\n`);
    },
  });
  progress.clear();
  const runs = result.rows.reduce((sum, row) => sum + row.runs, 0);
  const failing = new Set(result.findings.map((finding) => finding.file)).size;
  io.stdout.write(
    `${result.findings.length > 0 ? '\n' : ''}${result.rows.length} controls, ${runs} runs without their adverse ingredients: ` +
      `${failing} of them still witnessed an anomaly or ended in error ` +
      `(seeds ${firstSeed} to ${firstSeed + seeds - 1})\n`,
  );

  const markdownFile = values.markdown ?? values.check;
  let current = true;
  if (markdownFile !== undefined) {
    const words = ['npx', 'deliverycheck', 'causality', ...paths.map(quotePath)];
    if (adapter.name !== 'reference') words.push('--adapter', shellQuote(adapter.name));
    if (values.seeds !== undefined) words.push('--seeds', String(seeds));
    if (values['first-seed'] !== undefined) words.push('--first-seed', String(firstSeed));
    words.push('--markdown', quotePath(markdownFile));
    const command = words.join(' ');
    const markdown = renderCausalityMarkdown(result, { command });
    if (values.markdown !== undefined) await writeReport(values.markdown, markdown);
    if (expected !== undefined && expected !== markdown) {
      current = false;
      io.stderr.write(`deliverycheck: ${markdownFile} is not the Markdown of this run; regenerate it with ${command}\n`);
    }
  }
  return result.ok && current ? 0 : 1;
}
