// The fuzz run: mutants of the bundled scenarios (suites/), benchmark workloads
// (bench/workloads/) and a cluster config, odd files (a FIFO, a link to /dev/urandom) and odd
// command lines, each fed to the command line in-process, and each outcome held to the contract
// for bad input: exit 2 (0 when the mutant happens to be valid), every line naming the file
// (with line and column where there is one) or the option, no stack trace, no raw control
// character, no warning of Node's, no hang.

import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWorkloads } from '../../bench/workload.js';
import { main, type CliIo } from '../../harness/cli/cli.js';
import { Random } from '../../core/random.js';
import { oneLine } from '../../core/one-line.js';
import { mutantFileName, mutate } from './mutate.js';

export type InputKind = 'scenario' | 'workload' | 'cluster-config' | 'arguments' | 'special';

export interface FuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  /** An empty folder the mutants are written to. */
  readonly dir: string;
  /** Real milliseconds one input may take before it counts as a hang. */
  readonly deadlineMs: number;
}

export interface Finding {
  readonly index: number;
  readonly kind: InputKind;
  /** The mutations or arguments that made the input. */
  readonly input: readonly string[];
  readonly problem: string;
  readonly output: string;
}

export interface FuzzReport {
  readonly inputs: number;
  readonly byKind: Readonly<Record<InputKind, number>>;
  /** How many inputs ended with each exit code. */
  readonly exitCodes: Readonly<Record<string, number>>;
  readonly findings: readonly Finding[];
  readonly slowestMs: number;
  readonly durationMs: number;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/** No scenario under a path that does not exist ever runs, whatever the options around it. */
const NO_SUCH_PATH = '/nonexistent-deliverycheck-fuzz/none.yaml';

const CLUSTER_CONFIG = `brokers: [localhost:9092, 127.0.0.1:9093]
tls:
  ca: ca.pem
  servername: kafka.example.com
  rejectUnauthorized: true
sasl:
  mechanism: scram-sha-256
  username: alice
  passwordEnv: FUZZ_PASSWORD
`;

async function yamlFiles(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/u.test(entry.name)) found.push(join(entry.parentPath, entry.name));
  }
  return found.sort();
}

async function bases(): Promise<{ scenarios: string[]; workloads: string[] }> {
  const read = async (files: string[]) => Promise.all(files.map((file) => readFile(file, 'utf8')));
  return {
    scenarios: await read(await yamlFiles(join(root, 'suites'))),
    workloads: await read(await yamlFiles(join(root, 'bench', 'workloads'))),
  };
}

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function captureIo(): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, isTTY: false, env: {} },
    out,
    err,
  };
}

/** Runs `work` under the deadline; a hang is an outcome too (code -1). */
async function timed(deadlineMs: number, work: (io: CliIo) => Promise<number>): Promise<Outcome> {
  const { io, out, err } = captureIo();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(-1), deadlineMs);
  });
  let code: number;
  try {
    code = await Promise.race([work(io), hang]);
  } catch (error) {
    code = -2;
    err.push(`THREW: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } finally {
    clearTimeout(timer);
  }
  return { code, stdout: out.join(''), stderr: err.join(''), ms: performance.now() - started };
}

/** The bench command's own loading and printing, without running a workload that happens to be valid. */
async function loadWorkloadLikeBench(file: string, io: CliIo): Promise<number> {
  const loaded = await loadWorkloads([file]);
  for (const error of loaded.errors) io.stderr.write(`${error.format()}\n`);
  return loaded.errors.length > 0 ? 2 : 0;
}

// Raw control and invisible characters other than the line feed; oneLine escapes all of them.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/u;
const STACK_TRACE = /^\s+at\s|\b(?:TypeError|RangeError|ReferenceError|SyntaxError)\b|Maximum call stack|\bnode:internal\b/mu;

/** What is wrong with an outcome, or undefined when it keeps the contract. */
function judge(outcome: Outcome, kind: InputKind, paths: readonly string[]): string | undefined {
  if (outcome.code === -1) return 'hang: no answer within the deadline';
  if (outcome.code === -2) return 'main() threw instead of returning an exit code';
  if (outcome.code !== 0 && outcome.code !== 2) return `exit ${outcome.code}, expected 2 (or 0 for a valid input)`;
  const all = `${outcome.stdout}${outcome.stderr}`;
  if (RAW_CONTROL.test(all)) return 'a raw control character in the output';
  if (STACK_TRACE.test(all)) return 'a stack trace or a bare JavaScript error in the output';
  const lines = outcome.stderr.split('\n').filter((line) => line !== '');
  if (outcome.code === 0 && lines.length > 0) return 'exit 0 with lines on stderr';
  if (outcome.code === 2 && lines.length === 0) return 'exit 2 with nothing on stderr';
  if (kind === 'scenario' && outcome.code === 0 && outcome.stdout !== 'ok: 1 scenario\n') return 'exit 0 without "ok: 1 scenario"';
  // One file gives at most 20 errors and a count; a command line may name several files.
  if (kind !== 'arguments' && lines.length > 21) return `${lines.length} error lines for one file (at most 20 and a count)`;
  // `--option=value` names its value as a path too.
  const named = paths.flatMap((path) => [path, path.replace(/^--?[\w-]+=/u, '')]).map((path) => oneLine(path));
  for (const line of lines) {
    const namesFile = named.some((name) => line.startsWith(`${name}: `) || new RegExp(`^${escapeRegExp(name)}:\\d+:\\d+: \\S`, 'u').test(line));
    // Scenario and workload errors must name their file; the command line's own errors name their option.
    const fromCli = kind !== 'scenario' && kind !== 'workload' && line.startsWith('deliverycheck: ');
    if (!namesFile && !fromCli) return `a line that names neither the file nor the option: ${JSON.stringify(line.slice(0, 200))}`;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
}

const OPTION_VALUES: readonly string[] = [
  '',
  '-1',
  '0',
  '1',
  '3',
  '2147483647',
  '2147483648',
  '99999999999999999999',
  '1e3',
  '0x10',
  'abc',
  '\u001b[2J',
  '/proc/x',
  '/proc/x/y.json',
  '/sys/out.md',
  '/dev/null',
  'reference',
  'kafka',
  'no-such-adapter',
  'reference,reference',
  ',',
  'localhost:1',
  'not an address',
  'x'.repeat(5000),
];

const OPTIONS: readonly string[] = [
  '--adapter', '--seed', '--defect', '--json', '--junit', '--history', '--brokers', '--cluster-config', '--repeat', '--rates',
  '--markdown', '--check', '--seeds', '--first-seed', '--chart', '--help', '--unknown', '-x', '--',
];

// `bench --compare-kafka-perf` would start Kafka's own tool, so it is not among the commands.
const COMMANDS: readonly string[] = ['run', 'validate', 'bench', 'specificity', 'sensitivity', 'adapters', 'bogus', '--bogus', '--version'];

function randomArguments(random: Random, files: { fifo: string; folder: string; file: string }): string[] {
  const values = [...OPTION_VALUES, files.fifo, files.folder, files.file, join(files.folder, 'new', 'out.json')];
  const argv = [random.pick(COMMANDS)];
  const count = random.int(0, 4);
  for (let i = 0; i < count; i++) {
    const option = random.pick(OPTIONS);
    if (random.chance(0.2)) argv.push(`${option}=${random.pick(values)}`);
    else argv.push(option, random.pick(values));
  }
  // Every command that could run something gets a path that does not exist, so none runs.
  argv.splice(1, 0, NO_SUCH_PATH);
  return argv;
}

/** Odd files every fuzz run includes: kinds of file no mutation of text can make. */
async function specials(dir: string): Promise<{ name: string; file: string }[]> {
  const fifo = join(dir, 'special-fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  await symlink('/dev/urandom', join(dir, 'special-urandom.yaml'));
  await symlink('/dev/zero', join(dir, 'special-zero.yaml'));
  await symlink(join(dir, 'no-such-target'), join(dir, 'special-dangling.yaml'));
  await mkdir(join(dir, 'special-folder.yaml'));
  await writeFile(join(dir, 'special-empty.yaml'), '');
  return ['fifo', 'urandom', 'zero', 'dangling', 'folder', 'empty'].map((name) => ({ name, file: join(dir, `special-${name}.yaml`) }));
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const random = new Random(options.seed);
  const { scenarios, workloads } = await bases();
  const findings: Finding[] = [];
  const byKind: Record<InputKind, number> = { scenario: 0, workload: 0, 'cluster-config': 0, arguments: 0, special: 0 };
  const exitCodes: Record<string, number> = {};
  let slowestMs = 0;
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(`${warning.name}: ${warning.message}`);
  };
  process.on('warning', onWarning);

  // `paths`: what an error line may name as its file (an argument list may name several).
  const record = (index: number, kind: InputKind, input: readonly string[], outcome: Outcome, paths: readonly string[]): void => {
    byKind[kind] += 1;
    exitCodes[String(outcome.code)] = (exitCodes[String(outcome.code)] ?? 0) + 1;
    slowestMs = Math.max(slowestMs, outcome.ms);
    let problem = judge(outcome, kind, paths);
    if (problem === undefined && warnings.length > 0) problem = `Node printed a warning: ${warnings.join('; ')}`;
    warnings.length = 0;
    if (problem !== undefined) findings.push({ index, kind, input, problem, output: `${outcome.stdout}${outcome.stderr}`.slice(0, 2000) });
  };

  try {
    const odd = await specials(options.dir);
    for (const [index, special] of odd.entries()) {
      const outcome = await timed(options.deadlineMs, (io) => main(['validate', special.file], io));
      record(index, 'special', [special.name], outcome, [special.file]);
      const workload = await timed(options.deadlineMs, (io) => loadWorkloadLikeBench(special.file, io));
      record(index, 'special', [`${special.name} as a workload`], workload, [special.file]);
      const config = await timed(options.deadlineMs, (io) => main(['run', NO_SUCH_PATH, '--cluster-config', special.file], io));
      record(index, 'special', [`${special.name} as a cluster config`], config, [special.file]);
    }
    const fifo = (odd[0] as { file: string }).file;
    // A folder of its own for the command lines: the mutants' folder would grow to thousands of files.
    const argumentsFolder = join(options.dir, 'arguments');
    await mkdir(argumentsFolder);
    const plainFile = join(argumentsFolder, 'plain-file.txt');
    await writeFile(plainFile, 'not a folder\n');

    for (let index = odd.length * 3; index < options.inputs; index++) {
      const draw = random.next();
      if (draw < 0.1) {
        const argv = randomArguments(random, { fifo, folder: argumentsFolder, file: plainFile });
        const outcome = await timed(options.deadlineMs, (io) => main(argv, io));
        record(index, 'arguments', argv, outcome, argv);
        continue;
      }
      const kind: InputKind = draw < 0.55 ? 'scenario' : draw < 0.85 ? 'workload' : 'cluster-config';
      const base = kind === 'scenario' ? random.pick(scenarios) : kind === 'workload' ? random.pick(workloads) : CLUSTER_CONFIG;
      const mutant = mutate(base, random);
      const file = join(options.dir, mutantFileName(random, index, random.chance(0.9) ? '.yaml' : '.yml'));
      await writeFile(file, mutant.bytes);
      const outcome = await timed(options.deadlineMs, (io) => {
        if (kind === 'scenario') return main(['validate', file], io);
        if (kind === 'workload') return loadWorkloadLikeBench(file, io);
        return main(['run', NO_SUCH_PATH, '--cluster-config', file], io);
      });
      record(index, kind, mutant.mutations, outcome, [file]);
    }
  } finally {
    process.off('warning', onWarning);
  }
  return {
    inputs: Object.values(byKind).reduce((sum, count) => sum + count, 0),
    byKind,
    exitCodes,
    findings,
    slowestMs: Math.round(slowestMs),
    durationMs: Math.round(performance.now() - started),
  };
}
