// The sensitivity, specificity and causality commands: the studies that run a whole suite many
// times (once per defect, over many seeds, or without each control's faults) to measure the
// suite itself rather than a broker. They are apart from cli.ts because they share their own
// helpers (the interruptible runner, the --check comparison, the regenerating command) that the
// run, check, validate and adapters commands never use.

import { parseArgs } from 'node:util';
import type { Adapter } from '../../adapters/contract.js';
import type { ScenarioResult } from '../../spec/result.js';
import type { Scenario } from '../../spec/scenario.js';
import { outputFile } from '../../core/output-paths.js';
import { oneLine } from '../../core/one-line.js';
import { formatSummary, ProgressLine, STATUS_WORDS } from '../report/human.js';
import { shellQuote } from '../conformance/reproduce.js';
import { INTERRUPTED_EXIT_CODE } from '../../core/interrupt.js';
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
import {
  CAUSALITY_OPTIONS,
  CliError,
  DEFAULT_CAUSALITY_SEEDS,
  DEFAULT_SPECIFICITY_SEEDS,
  parseSeedRange,
  parseStrict,
  SENSITIVITY_OPTIONS,
  SPECIFICITY_COMMAND_OPTIONS,
  USAGE,
} from './options.js';
import {
  checkOutputs,
  defaultPaths,
  disposeAdapter,
  drawsProgress,
  reportLoad,
  resolveAdapter,
  runGuarded,
  writeReport,
  type Context,
} from './command-context.js';

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

export async function sensitivityCommand(args: readonly string[], context: Context): Promise<number> {
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

export async function specificityCommand(args: readonly string[], context: Context): Promise<number> {
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

export async function causalityCommand(args: readonly string[], context: Context): Promise<number> {
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
