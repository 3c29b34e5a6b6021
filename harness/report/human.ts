// The output a person reads: one line per scenario as it finishes, then a summary line, then the
// evidence for each failure and the command that reproduces it. Colour and the progress line are
// for terminals only; in a CI log or a pipe the output is plain text that greps well.

import type { ScenarioResult } from '../../spec/result.js';
import type { ScenarioStatus } from '../../spec/vocabulary.js';
import { countStatuses, describeClaim, describeWitness, unkeptWitnesses, violatedClaims } from './claims.js';
import { oneLine } from '../../core/one-line.js';

/** At most this many witnesses per violated claim in the terminal; the JSON report has them all. */
export const WITNESSES_SHOWN = 3;

export interface HumanStyle {
  readonly color: boolean;
}

type Paint = (text: string) => string;

function painter(open: string, close: string): (style: HumanStyle) => Paint {
  return (style) => (style.color ? (text) => `\u001b[${open}m${text}\u001b[${close}m` : (text) => text);
}

const green = painter('32', '39');
const red = painter('31', '39');
const yellow = painter('33', '39');
const magenta = painter('35', '39');
const bold = painter('1', '22');
const dim = painter('2', '22');

/** The word a terminal line starts with, per status. */
export const STATUS_WORDS: Readonly<Record<ScenarioStatus, string>> = {
  passed: 'PASS',
  failed: 'FAIL',
  // As test runners call an expected failure: it failed, for a reason the adapter's expectations name.
  'known-failure': 'XFAIL',
  skipped: 'SKIP',
  error: 'ERROR',
  // Spelled out: a run that proves nothing must not be mistaken at a glance for one of the others.
  inconclusive: 'INCONCLUSIVE',
  interrupted: 'INTR',
};

function statusWord(status: ScenarioStatus, style: HumanStyle): string {
  // Padding first, so colour codes do not count against the column width.
  const word = STATUS_WORDS[status].padEnd(5);
  if (status === 'passed') return green(style)(word);
  if (status === 'skipped' || status === 'interrupted' || status === 'known-failure') return yellow(style)(word);
  if (status === 'inconclusive') return bold(style)(magenta(style)(word));
  return bold(style)(red(style)(word));
}

/** `850ms`, `1.2s` or `2m 05s`. */
export function formatDuration(durationMs: number): string {
  if (durationMs < 1000) return `${Math.round(durationMs)}ms`;
  if (durationMs < 60_000) return `${(durationMs / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(durationMs / 1000);
  return `${Math.floor(totalSeconds / 60)}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
}

function head(result: ScenarioResult, style: HumanStyle): string {
  return `${statusWord(result.status, style)} ${oneLine(result.file)}  ${oneLine(result.name)}`;
}

/** The line printed when a scenario finishes; its notes follow on lines of their own. */
export function formatScenarioLine(result: ScenarioResult, style: HumanStyle): string {
  let line = `${head(result, style)}  ${dim(style)(`(${formatDuration(result.durationMs)})`)}`;
  if (result.status === 'failed' || result.status === 'known-failure') {
    const claims = violatedClaims(result).map(describeClaim);
    if (claims.length > 0) line += ` — ${claims.join('; ')}`;
    if (result.reason !== undefined) line += ` — ${oneLine(result.reason)}`;
  } else if (result.reason !== undefined) {
    line += ` — ${oneLine(result.reason)}`;
  }
  for (const note of result.notes ?? []) line += `\n      note: ${oneLine(note)}`;
  return line;
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/**
 * `12 scenarios: 10 passed, 1 failed, 1 skipped, 0 errors`, with `, 1 inconclusive` before the
 * errors when a run did too little; a summary without one reads as it always did.
 */
export function formatSummary(results: readonly ScenarioResult[], style: HumanStyle = { color: false }): string {
  const counts = countStatuses(results);
  const part = (count: number, text: string, paint: Paint) => (count > 0 ? paint(text) : text);
  return [
    `${plural(results.length, 'scenario')}: `,
    part(counts.passed, `${counts.passed} passed`, green(style)),
    ', ',
    part(counts.failed, `${counts.failed} failed`, red(style)),
    ', ',
    // Said only when there are some, so a summary without them reads as it always did.
    counts['known-failure'] > 0 ? `${yellow(style)(`${counts['known-failure']} known ${counts['known-failure'] === 1 ? 'failure' : 'failures'}`)}, ` : '',
    part(counts.skipped, `${counts.skipped} skipped`, yellow(style)),
    ', ',
    counts.inconclusive > 0 ? `${magenta(style)(`${counts.inconclusive} inconclusive`)}, ` : '',
    part(counts.error, plural(counts.error, 'error'), red(style)),
    // Said only when it happened, so the usual summary keeps its four parts.
    counts.interrupted > 0 ? `, ${yellow(style)(`${counts.interrupted} interrupted`)}` : '',
  ].join('');
}

/**
 * The evidence for every failure, error and inconclusive run: its reason, up to WITNESSES_SHOWN
 * witnesses per violated claim, the history file and the exact command that reproduces the run.
 * Empty when all went well.
 */
export function formatDetails(results: readonly ScenarioResult[], style: HumanStyle): string {
  const blocks: string[] = [];
  for (const result of results) {
    if (result.status === 'passed' || result.status === 'skipped') continue;
    const lines = [head(result, style)];
    if (result.status === 'error' || result.status === 'interrupted') {
      lines.push(`  ${oneLine(result.reason ?? `the scenario ended: ${result.status}`)}`);
    }
    if (result.status === 'inconclusive') {
      lines.push(`  too little happened for a verdict: ${oneLine(result.reason ?? 'the run did too little')}`);
    }
    for (const claim of violatedClaims(result)) {
      lines.push(`  ${describeClaim(claim)}`);
      const shown = claim.verdict.witnesses.slice(0, WITNESSES_SHOWN);
      for (const witness of shown) lines.push(`    - ${oneLine(describeWitness(witness))}`);
      const more = unkeptWitnesses(claim.verdict, shown.length);
      if (more > 0) lines.push(dim(style)(`    (${more} more)`));
    }
    if (result.history !== undefined) lines.push(`  history:   ${oneLine(result.history)}`);
    lines.push(`  reproduce: ${oneLine(result.reproduce)}`);
    blocks.push(lines.join('\n'));
  }
  return blocks.join('\n\n');
}

/** `[3/12] running suites/x.yaml`, cut to fit the terminal so the line never wraps. */
export function formatProgress(position: number, total: number, file: string, columns?: number): string {
  return fitLine(`[${position}/${total}] running ${oneLine(file)}`, columns);
}

/** Cuts a line to fit a terminal of `columns` columns, ending it with an ellipsis when cut. */
export function fitLine(text: string, columns?: number): string {
  if (columns === undefined || columns < 2 || text.length < columns) return text;
  // One column is left free: writing the last column makes some terminals wrap at once.
  return `${text.slice(0, columns - 2)}…`;
}

export interface TextSink {
  write(text: string): unknown;
}

export interface HumanReporterOptions {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly color: boolean;
  /** Draw a progress line on stderr; only when it is a terminal, since it relies on `\r`. */
  readonly progress: boolean;
  readonly columns?: number;
}

// Carriage return, then erase to the end of the line.
export const CLEAR_LINE = '\r\u001b[K';

/** Prints results as they come and the summary at the end. */
export class HumanReporter {
  private total = 0;
  private progressShown = false;

  constructor(private readonly options: HumanReporterOptions) {}

  begin(total: number): void {
    this.total = total;
  }

  /** Says which scenario is running; `position` counts from 1. */
  starting(position: number, file: string): void {
    if (!this.options.progress) return;
    this.options.stderr.write(`${CLEAR_LINE}${formatProgress(position, this.total, file, this.options.columns)}`);
    this.progressShown = true;
  }

  finished(result: ScenarioResult): void {
    this.clearProgress();
    this.options.stdout.write(`${formatScenarioLine(result, this.options)}\n`);
  }

  end(results: readonly ScenarioResult[]): void {
    this.clearProgress();
    const details = formatDetails(results, this.options);
    let text = `\n${formatSummary(results, this.options)}\n`;
    if (details !== '') text += `\n${details}\n`;
    this.options.stdout.write(text);
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.options.stderr.write(CLEAR_LINE);
    this.progressShown = false;
  }
}

/** Where a progress line goes: stderr, and the terminal's width so the line never wraps. */
export interface ProgressSink {
  readonly stderr: TextSink;
  readonly columns?: number;
}

/** One line on stderr that each step redraws, and that is erased before anything else prints. */
export class ProgressLine {
  private shown = false;

  constructor(
    private readonly io: ProgressSink,
    private readonly enabled: boolean,
  ) {}

  show(text: string): void {
    if (!this.enabled) return;
    // The text names files and workloads from the user's input: escaped, it cannot move the cursor.
    this.io.stderr.write(`${CLEAR_LINE}${fitLine(oneLine(text), this.io.columns)}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.io.stderr.write(CLEAR_LINE);
    this.shown = false;
  }
}
