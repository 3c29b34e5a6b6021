// Running the iproute2 commands (ip, tc) that build and cut the network namespaces of a local
// cluster: each with a deadline, and each failure one line that names the command and what it
// wrote to stderr, so an adapter can quote it as the reason a partition did not happen.

import { execa } from 'execa';
import { ClusterError } from './errors.js';

/** A failure of the network namespaces of a local cluster; the message is one line. */
export class NetnsError extends ClusterError {
  constructor(message: string) {
    super(message);
    this.name = 'NetnsError';
  }
}

/** One ip or tc command seldom takes more than a few milliseconds; a hung one must not hang a run. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

export interface CommandOptions {
  /** Written to the command's stdin, such as the lines of `ip -batch -`. */
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** The command as a person would type it, for messages; stdin shows as "-". */
function shown(command: string, args: readonly string[]): string {
  return [command, ...args].join(' ');
}

/** The lines of what a command wrote, joined into one line. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join('; ');
}

/**
 * Runs the command and resolves with its stdout; throws a NetnsError naming the command and its
 * stderr (or why it did not run, such as a timeout or a missing binary) when it fails.
 */
export async function runCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const result = await execa(command, args, {
    reject: false,
    timeout: timeoutMs,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
  });
  if (!result.failed) return result.stdout;
  let why: string;
  if (result.timedOut) why = `did not finish within ${timeoutMs} ms`;
  else if (result.code === 'ENOENT') why = `${command} was not found`;
  else why = (oneLine(result.stderr) || `exit code ${result.exitCode ?? 'none'}`) + failedLine(result.stderr, options.input);
  throw new NetnsError(`"${shown(command, args)}" failed: ${why}`);
}

/**
 * In batch mode ip and tc name only the number of the line that failed ("Command failed -:3");
 * the line itself says what was being done.
 */
function failedLine(stderr: string, input: string | undefined): string {
  const number = /Command failed -:(\d+)/.exec(stderr)?.[1];
  const line = number === undefined ? undefined : input?.split('\n')[Number(number) - 1];
  return line === undefined ? '' : ` (line ${number}: "${line}")`;
}

/** Runs `ip -batch -` (in the namespace, when given) with one command a line. */
export async function ipBatch(lines: readonly string[], namespace?: string, timeoutMs?: number): Promise<void> {
  if (lines.length === 0) return;
  const args = [...(namespace !== undefined ? ['-n', namespace] : []), '-batch', '-'];
  await runCommand('ip', args, { input: `${lines.join('\n')}\n`, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
}

/** Runs `tc -batch -` with one command a line: one process for any number of filter changes. */
export async function tcBatch(lines: readonly string[], timeoutMs?: number): Promise<void> {
  if (lines.length === 0) return;
  await runCommand('tc', ['-batch', '-'], { input: `${lines.join('\n')}\n`, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
}

/** Parses the JSON an `ip -j` command prints; nothing at all (no namespaces, say) is an empty list. */
export async function ipJson<T>(args: readonly string[], timeoutMs?: number): Promise<T[]> {
  const text = await runCommand('ip', ['-j', ...args], timeoutMs !== undefined ? { timeoutMs } : {});
  if (text.trim() === '') return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error('not a list');
    return parsed as T[];
  } catch (error) {
    throw new NetnsError(`"ip -j ${args.join(' ')}" printed no JSON list: ${error instanceof Error ? error.message : String(error)}`);
  }
}
