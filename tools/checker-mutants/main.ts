// scripts/checker-mutants: runs the suites with each hand-made mutant of the checker (mutants.ts)
// and names the scenarios whose verdict changes. A mutant is killed when:
// - detection `suite` or `none`: a scenario that passes with the real checker fails or ends in an
//   error with the mutant (`run PATH`, reference broker, each scenario at its own seed);
// - detection `defect`: a scenario that catches a reference defect with the real checker (it fails
//   with `--defect NAME`) passes with the mutant.
// Each run is a child process of the real CLI with the mutated checker loaded in place of the
// compiled one (hook.ts), so nothing on disk is ever changed.
//
//   scripts/checker-mutants [--mutant NAME]... [--quick] [--markdown FILE | --check FILE] [PATH...]
//
// --quick runs each mutant only against the scenarios meant to kill it (`killers`), which is what
// the end-to-end test does; the full run (the default) runs the whole suite and writes the matrix.
// Exit 0 when every `suite` and `defect` mutant is killed and no `none` mutant is; 1 otherwise;
// 2 on bad arguments or a run that broke.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFECTS } from '../../reference/broker/defects.js';
import type { RunResult, ScenarioResult } from '../../spec/result.js';
import { packageRoot } from '../../core/package-root.js';
import { mutantNamed, mutatedSources } from './apply.js';
import { MUTANTS, type Mutant } from './mutants.js';

const USAGE = 'usage: scripts/checker-mutants [--mutant NAME]... [--quick] [--markdown FILE | --check FILE] [PATH...]';

/** One run of the CLI: which scenarios it ran, with what, and how each ended. */
interface RunOutcome {
  readonly statuses: ReadonlyMap<string, ScenarioResult['status']>;
}

/** A run of the CLI that wrote no result: the mutant broke the checker, or the run itself broke. */
class BrokenRun extends Error {}

function runCli(paths: readonly string[], mutant: Mutant | undefined, defect: string | undefined): Promise<RunOutcome> {
  const root = packageRoot();
  const dir = mkdtempSync(join(tmpdir(), 'checker-mutants-'));
  const json = join(dir, 'result.json');
  const args = [
    '--import',
    new URL('./register.js', import.meta.url).href,
    join(root, 'bin', 'deliverycheck.js'),
    'run',
    ...paths,
    ...(defect === undefined ? [] : ['--defect', defect]),
    '--json',
    json,
  ];
  const env = { ...process.env, DELIVERYCHECK_MUTANT: mutant?.name ?? '' };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, env, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      try {
        let text: string;
        try {
          text = readFileSync(json, 'utf8');
        } catch {
          const last = stderr.trim().split('\n').slice(-3).join(' | ');
          throw new BrokenRun(`${mutant?.name ?? 'the real checker'}${defect === undefined ? '' : ` with ${defect}`}: no result (exit ${error?.code ?? 0}): ${last}`);
        }
        const result = JSON.parse(text) as RunResult;
        resolve({ statuses: new Map(result.scenarios.map((scenario) => [scenario.file, scenario.status])) });
      } catch (caught) {
        reject(caught);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** What one mutant did: the scenarios (with the defect, for `defect` mutants) whose verdict moved. */
interface MutantOutcome {
  readonly mutant: Mutant;
  readonly killedBy: readonly string[];
  /** Scenarios that ended in an error with the mutant: it broke the checker there. */
  readonly errors: readonly string[];
}

function killed(outcome: MutantOutcome): boolean {
  return outcome.killedBy.length > 0;
}

/** Whether the outcome is the one the mutant's `detection` promises. */
function asPromised(outcome: MutantOutcome): boolean {
  return outcome.errors.length === 0 && (outcome.mutant.detection === 'none' ? !killed(outcome) : killed(outcome));
}

/**
 * Runs of the real checker, one per defect (and one without), made once and shared by every
 * mutant. Each scenario runs alone at its own seed, so its result does not depend on which other
 * scenarios share the run: one run over every path a mutant will need serves them all.
 */
class Baselines {
  private readonly runs = new Map<string, Promise<RunOutcome>>();

  constructor(private readonly pathsFor: (defect: string | undefined) => readonly string[]) {}

  get(defect: string | undefined): Promise<RunOutcome> {
    const key = defect ?? '';
    let run = this.runs.get(key);
    if (run === undefined) {
      const paths = this.pathsFor(defect);
      // No paths would make the CLI run its default folder, which nobody asked for here.
      run = paths.length === 0 ? Promise.resolve({ statuses: new Map() }) : runCli(paths, undefined, defect);
      this.runs.set(key, run);
    }
    return run;
  }
}

/** The paths a mutant runs: its killers under --quick, else every path given. */
function targetsOf(mutant: Mutant, paths: readonly string[], quick: boolean): readonly string[] {
  return quick ? mutant.killers : paths;
}

/** The defects a mutant runs with: none but for `defect` mutants. */
function defectsOf(mutant: Mutant, quick: boolean): readonly (string | undefined)[] {
  if (mutant.detection !== 'defect') return [undefined];
  return quick ? [mutant.defect] : DEFECTS.map((defect) => defect.name);
}

async function runMutant(mutant: Mutant, paths: readonly string[], quick: boolean, baselines: Baselines): Promise<MutantOutcome> {
  const targets = targetsOf(mutant, paths, quick);
  if (targets.length === 0) return { mutant, killedBy: [], errors: [] };
  const killedBy: string[] = [];
  const errors: string[] = [];
  for (const defect of defectsOf(mutant, quick)) {
    const before = await baselines.get(defect);
    // With a defect only the scenarios that catch it can move, so only they run again.
    const again =
      defect === undefined ? targets : [...before.statuses].filter(([, status]) => status === 'failed').map(([file]) => file);
    if (again.length === 0) continue;
    const after = await runCli(again, mutant, defect);
    for (const [file, now] of after.statuses) {
      const was = before.statuses.get(file);
      if (now === 'error' && was !== 'error') errors.push(file);
      const moved = defect === undefined ? was === 'passed' && now === 'failed' : was === 'failed' && now === 'passed';
      if (moved) killedBy.push(defect === undefined ? file : `${file} with ${defect}`);
    }
  }
  return { mutant, killedBy, errors };
}

function describe(outcome: MutantOutcome): string {
  const { mutant } = outcome;
  const verdict = killed(outcome) ? `killed by ${outcome.killedBy.length}` : 'survived';
  const promise = asPromised(outcome) ? '' : mutant.detection === 'none' ? '  (UNEXPECTED: meant to survive)' : '  (NOT KILLED)';
  const broke = outcome.errors.length > 0 ? `  (broke the checker in ${outcome.errors.join(', ')})` : '';
  return `${verdict.padEnd(12)} ${mutant.name}${promise}${broke}`;
}

const DETECTION_TEXT: Readonly<Record<Mutant['detection'], string>> = {
  suite: 'a passing scenario fails',
  defect: 'a defect goes uncaught',
  none: 'cannot be noticed',
};

function renderMarkdown(outcomes: readonly MutantOutcome[], paths: readonly string[]): string {
  const command = ['scripts/checker-mutants', '--markdown', 'docs/checker-mutants.md', ...paths].join(' ');
  const lines = [
    '# Checker mutants and the suites',
    '',
    'Each row is a hand-made mutant of the checker (`tools/checker-mutants/mutants.ts`): one plausible bug, ' +
      'loaded in place of the real checker while the suites run on the reference broker at each scenario\'s own seed. ' +
      'A mutant meant to be noticed by the suite is killed when a scenario that passes with the real checker fails with it; ' +
      'a mutant that only makes verdicts more permissive cannot make a passing scenario fail, so it is killed when a ' +
      'scenario that catches a reference defect (`--defect`, docs/sensitivity.md) no longer catches it. ' +
      `This file is written by \`${command}\`; \`--check docs/checker-mutants.md\` fails when it is out of date.`,
    '',
    '| mutant | rule | the bug it models | noticed when | killed by |',
    '|---|---|---|---|---|',
  ];
  for (const outcome of outcomes) {
    const { mutant } = outcome;
    const by = killed(outcome)
      ? `${outcome.killedBy.length}:<br>${outcome.killedBy.map((file) => `\`${file}\``).join('<br>')}`
      : mutant.detection === 'none'
        ? `nothing, as expected: ${mutant.why ?? ''}`
        : '**nothing**';
    lines.push(`| \`${mutant.name}\` | ${mutant.rule} | ${mutant.bug} | ${DETECTION_TEXT[mutant.detection]} | ${by} |`);
  }
  const counted = outcomes.filter((outcome) => outcome.mutant.detection !== 'none');
  lines.push(
    '',
    `Killed: ${counted.filter(killed).length} of the ${counted.length} mutants the suites can notice; ` +
      `${outcomes.length - counted.length} more are listed because no suite can notice them, and stay unnoticed.`,
    '',
  );
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  let values: { mutant?: string[]; quick?: boolean; markdown?: string; check?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        mutant: { type: 'string', multiple: true },
        quick: { type: 'boolean' },
        markdown: { type: 'string' },
        check: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    process.stderr.write(`checker-mutants: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.quick === true && (values.markdown !== undefined || values.check !== undefined)) {
    process.stderr.write('checker-mutants: --markdown and --check need the full run, not --quick\n');
    return 2;
  }
  const paths = positionals.length > 0 ? positionals : ['suites'];
  let chosen: readonly Mutant[];
  try {
    chosen = values.mutant === undefined ? MUTANTS : values.mutant.map(mutantNamed);
    // A stale snippet is found before anything runs.
    for (const mutant of chosen) mutatedSources(mutant, packageRoot());
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  const quick = values.quick === true;
  const baselines = new Baselines((defect) => {
    if (!quick) return paths;
    const needed = chosen.filter((mutant) => defectsOf(mutant, true).includes(defect)).flatMap((mutant) => mutant.killers);
    return [...new Set(needed)];
  });
  const outcomes: MutantOutcome[] = [];
  try {
    const baseline = await baselines.get(undefined);
    const notPassing = [...baseline.statuses].filter(([, status]) => status !== 'passed' && status !== 'skipped');
    if (notPassing.length > 0) {
      process.stderr.write(`checker-mutants: with the real checker these do not pass: ${notPassing.map(([file]) => file).join(', ')}\n`);
      return 2;
    }
    for (const mutant of chosen) {
      const outcome = await runMutant(mutant, paths, quick, baselines);
      outcomes.push(outcome);
      process.stdout.write(`${describe(outcome)}\n`);
    }
  } catch (error) {
    process.stderr.write(`checker-mutants: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  const markdown = renderMarkdown(outcomes, positionals);
  if (values.markdown !== undefined) writeFileSync(values.markdown, markdown);
  if (values.check !== undefined) {
    let written = '';
    try {
      written = readFileSync(values.check, 'utf8');
    } catch {
      // A missing file is out of date too.
    }
    if (written !== markdown) {
      process.stderr.write(`checker-mutants: ${values.check} is out of date; write it again with --markdown\n`);
      return 1;
    }
  }
  const failed = outcomes.filter((outcome) => !asPromised(outcome));
  process.stdout.write(
    failed.length === 0
      ? `${outcomes.length} mutants: each noticed or not as its entry says\n`
      : `${failed.length} of ${outcomes.length} mutants not as their entries say: ${failed.map((outcome) => outcome.mutant.name).join(', ')}\n`,
  );
  return failed.length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
