// The deliverycheck command line. `main` takes the arguments and an optional io object and
// returns the exit code instead of exiting, so tests can drive every path in-process, and so the
// process ends by itself once the work is done, which shows that nothing was left running.
//
// Exit codes (DESIGN.md): 0 every claim held (skips and known failures allowed), 1 a claim was violated, 2 bad input,
// setup failure or an error.
//
// This file holds `main`, the dispatch on the command word and the run, check, validate and
// adapters commands; the option specs and their parsing are in options.ts, what every command is
// given and the steps they share in command-context.ts, and the sensitivity, specificity and
// causality studies in study-commands.ts.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Adapter, ClusterConnection } from '../../adapters/contract.js';
import { adapterNames, expectationsFileOf, loadAdapter } from '../../adapters/registry.js';
import type { ScenarioResult } from '../../spec/result.js';
import { BROKER_ADDRESS_PATTERN } from '../../spec/connection.js';
import { packageRoot, packageVersion } from '../../core/package-root.js';
import { CAPABILITIES } from '../../spec/vocabulary.js';
import { loadClusterConfig } from './connection.js';
import { applyExpectations, loadExpectations, type Expectations } from '../conformance/expectations.js';
import { makeFolders, outputFile } from '../../core/output-paths.js';
import { exitCodeFor } from '../report/claims.js';
import { oneLine } from '../../core/one-line.js';
import { HumanReporter } from '../report/human.js';
import { buildRunResult, formatJson } from '../report/json.js';
import { formatRates, formatRatesMarkdown, scenarioRates } from '../report/rates.js';
import { formatJunit } from '../report/junit.js';
import { INTERRUPTED_EXIT_CODE, watchInterrupts } from '../../core/interrupt.js';
import type { RunOptions } from '../conformance/runner.js';
import {
  CHECK_OPTIONS,
  checkScenarioSeedRoom,
  checkSeedRoom,
  CliError,
  errorLine,
  HELP_OPTION,
  MAX_REPEAT,
  parseInteger,
  parseSeed,
  parseStrict,
  RUN_OPTIONS,
  SEE_HELP,
  USAGE,
} from './options.js';
import {
  checkOutputs,
  defaultPaths,
  disposeAdapter,
  drawsProgress,
  isSet,
  reportLoad,
  resolveAdapter,
  runGuarded,
  writeReport,
  type CliDeps,
  type CliIo,
  type Context,
} from './command-context.js';
import { causalityCommand, sensitivityCommand, specificityCommand } from './study-commands.js';

export type { CliDeps, CliIo, LoadedScenarios } from './command-context.js';

// The loader and the runner are imported when a command needs them, so `--version`, `--help` and
// argument errors answer at once without loading the YAML parser, the schemas or a broker.
const defaultDeps: CliDeps = {
  adapterNames,
  loadAdapter,
  loadScenarios: async (paths) => (await import('../conformance/loader.js')).loadScenarios(paths),
  runScenario: async (scenario, options) => (await import('../conformance/runner.js')).runScenario(scenario, options),
};

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
