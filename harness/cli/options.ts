// The command line's option specs and usage text, and the helpers that read them: strict parsing
// that explains a refusal in one line of our own, seeds and bounded integers, and the checks that
// a repeated or many-seed run stays within the valid seeds. They are apart from the commands so
// that cli.ts and study-commands.ts share one set of option words and one error type, and
// study-commands.ts need not import cli.ts, the entry point that dispatches to it.

import { parseArgs } from 'node:util';
import { oneLine } from '../../core/one-line.js';
import { LIMITS, type Scenario } from '../../spec/scenario.js';

/** An error whose message is the whole story: printed as one line, never with a stack. */
export class CliError extends Error {}

export const SEE_HELP = '(see deliverycheck --help)';

export const USAGE = `deliverycheck: does this broker really give the delivery guarantee it claims?

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

export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

export const RUN_OPTIONS = {
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

export const CHECK_OPTIONS = {
  ...HELP_OPTION,
  json: { type: 'string' },
  junit: { type: 'string' },
} as const;

/** At most this many runs per scenario with --repeat, so a typo cannot start a week-long run. */
export const MAX_REPEAT = 10_000;

export const SENSITIVITY_OPTIONS = {
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

export const SPECIFICITY_COMMAND_OPTIONS = { ...SPECIFICITY_OPTIONS, markdown: { type: 'string' } } as const;

/** Seeds per scenario of `specificity` when --seeds is not given. */
export const DEFAULT_SPECIFICITY_SEEDS = 200;

export const CAUSALITY_OPTIONS = { ...SPECIFICITY_OPTIONS, markdown: { type: 'string' }, check: { type: 'string' } } as const;

/** Seeds per control of `causality` when --seeds is not given. */
export const DEFAULT_CAUSALITY_SEEDS = 10;

type OptionSpecs = Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>;

export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Some modules already name the tool in their messages; it is said once.
  const firstLine = message.split('\n', 1)[0] ?? '';
  return firstLine.replace(/^deliverycheck:\s*/u, '') || 'unknown error';
}

/**
 * Parses with parseArgs in strict mode, and when it refuses, explains why in one line of our own:
 * Node's messages are long, multi-line in places, and differ between versions.
 */
export function parseStrict<R>(args: readonly string[], options: OptionSpecs, allowPositionals: boolean, parse: () => R): R {
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

export function parseSeed(text: string, option = '--seed'): number {
  return parseInteger(text, option, 0, LIMITS.seed);
}

export function parseInteger(text: string, option: string, min: number, max: number): number {
  const value = /^\d+$/u.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError(`${option} must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`);
  }
  return value;
}

/**
 * `--repeat N` runs seeds S to S+N-1; each must be a valid seed. Clamping the last ones to the
 * top would run one seed several times and report it as several runs.
 */
export function checkSeedRoom(seed: number | undefined, repeat: number): void {
  if (seed === undefined || seed + repeat - 1 <= LIMITS.seed) return;
  throw new CliError(
    `--seed ${seed} with --repeat ${repeat} would run seeds up to ${seed + repeat - 1}, past the highest seed ${LIMITS.seed}; give --seed ${LIMITS.seed - repeat + 1} or less`,
  );
}

/** The same check for scenarios that bring their own seed, when --seed is not given. */
export function checkScenarioSeedRoom(scenarios: readonly Scenario[], repeat: number): void {
  const scenario = scenarios.find((candidate) => candidate.seed + repeat - 1 > LIMITS.seed);
  if (scenario === undefined) return;
  throw new CliError(
    `--repeat ${repeat} would run ${oneLine(scenario.file)} at seeds up to ${scenario.seed + repeat - 1}, past the highest seed ${LIMITS.seed}; give --seed or a smaller --repeat`,
  );
}

/** The seed options of specificity and causality: the first seed, and how many seeds from it. */
export function parseSeedRange(values: { readonly seeds?: string; readonly 'first-seed'?: string }, defaultSeeds: number): { firstSeed: number; seeds: number } {
  const firstSeed = values['first-seed'] === undefined ? 1 : parseSeed(values['first-seed'], '--first-seed');
  // The last seed must still be a valid seed, so the room left above the first bounds the count.
  const seeds = values.seeds === undefined ? defaultSeeds : parseInteger(values.seeds, '--seeds', 1, LIMITS.seed - firstSeed + 1);
  return { firstSeed, seeds };
}
