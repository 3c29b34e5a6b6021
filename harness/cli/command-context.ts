// What every command of the command line is given (its io object, the loader, runner and
// registry it drives, the environment) and the steps the commands share: resolving the adapter,
// loading the selected scenarios, running one scenario guarded, checking and writing output
// files, and disposing of what the adapter started. They are apart so that cli.ts and
// study-commands.ts both use them, and study-commands.ts need not import cli.ts, which imports
// it.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Adapter } from '../../adapters/contract.js';
import type { ScenarioResult } from '../../spec/result.js';
import { packageRoot } from '../../core/package-root.js';
import type { Scenario } from '../../spec/scenario.js';
import { checkOutputPaths, OutputPathError } from '../../core/output-paths.js';
import type { TextSink } from '../report/human.js';
import { writeReportFile } from '../report/json.js';
import { reproduceCommand } from '../conformance/reproduce.js';
import type { RunOptions } from '../conformance/runner.js';
import { CliError, errorLine } from './options.js';

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

export interface Context {
  readonly io: CliIo;
  readonly deps: CliDeps;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}

/** Runs the output path checks, turning their refusal into a one-line error of the command. */
export async function checkOutputs(outputs: Parameters<typeof checkOutputPaths>[0]): Promise<void> {
  try {
    await checkOutputPaths(outputs);
  } catch (error) {
    if (error instanceof OutputPathError) throw new CliError(error.message);
    throw error;
  }
}

/** `suites/` of the current folder when there is one, else the suites that ship with the package. */
export function defaultPaths(): string[] {
  if (existsSync(join(process.cwd(), 'suites'))) return ['suites'];
  return [join(packageRoot(), 'suites')];
}

export async function resolveAdapter(name: string, context: Context): Promise<Adapter> {
  const adapter = await context.deps.loadAdapter(name);
  if (adapter === undefined) {
    throw new CliError(`unknown adapter ${name} (known: ${context.deps.adapterNames().join(', ')})`);
  }
  return adapter;
}

/** Prints load errors, one line each, and says whether there is anything to go on with. */
export function reportLoad(loaded: LoadedScenarios, paths: readonly string[], context: Context): boolean {
  for (const error of loaded.errors) context.io.stderr.write(`${error.format()}\n`);
  if (loaded.errors.length > 0) return false;
  // Running nothing would let a CI gate pass on a mistyped path, so an empty selection is bad input.
  if (loaded.scenarios.length === 0) throw new CliError(`no scenarios found in ${paths.join(' ')}`);
  return true;
}

/**
 * Runs one scenario. The runner reports broker trouble as a result with status `error`; should it
 * throw all the same, that becomes an `error` result too, so the other scenarios still run and
 * the reports still name every scenario.
 */
export async function runGuarded(scenario: Scenario, options: RunOptions, context: Context): Promise<ScenarioResult> {
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
export async function disposeAdapter(adapter: Adapter, io: CliIo): Promise<void> {
  await adapter.dispose?.().catch((error: unknown) => {
    io.stderr.write(`deliverycheck: adapter ${adapter.name} could not stop what it started: ${errorLine(error)}\n`);
  });
}

export async function writeReport(path: string, text: string): Promise<void> {
  try {
    await writeReportFile(path, text);
  } catch (error) {
    throw new CliError(`cannot write ${path}: ${errorLine(error)}`);
  }
}

/** The progress line is drawn with `\r`, so only when both stdout and stderr are terminals. */
export function drawsProgress(io: CliIo): boolean {
  return io.isTTY && (io.stderrIsTTY ?? io.isTTY);
}
