// `npm run bench:micro [-- NAME...] [--max-events N] [--events N,...]`: the micro-benchmarks, with
// tinybench, printed as a small table. NAME picks some of checker, check-file, reference and
// loading; `--max-events` drops the checker's (and check-file's) larger sizes and `--events`
// names the sizes to check (one
// size per process gives each its own memory figures, untouched by an earlier size). The figures are
// real time on this machine, so the table starts with what the machine was doing: on a shared
// or busy machine, they are lower bounds. Tests never assert speed; this is for people.

import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CHECK_FILE_SIZES, checkFileBenchmarks } from './check-file.js';
import { CHECKER_SIZES, checkerBenchmarks } from './checker.js';
import { MIN_GENERATED_EVENTS } from './history.js';
import { loadingBenchmarks } from './loading.js';
import { referenceBenchmarks } from './reference.js';
import { formatMicroTable, type MicroResult } from './table.js';

const SUITES: Readonly<Record<string, () => Promise<MicroResult[]>>> = {
  checker: async () => checkerBenchmarks((sizes ?? CHECKER_SIZES).filter((size) => size <= maxEvents)),
  'check-file': async () => checkFileBenchmarks((sizes ?? CHECK_FILE_SIZES).filter((size) => size <= maxEvents)),
  reference: referenceBenchmarks,
  loading: loadingBenchmarks,
};

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { 'max-events': { type: 'string' }, events: { type: 'string' } },
  allowPositionals: true,
});
const maxEvents = values['max-events'] === undefined ? Number.POSITIVE_INFINITY : Number(values['max-events']);
const sizes = values.events?.split(',').map(Number);
const unknown = positionals.filter((name) => SUITES[name] === undefined);
const badSizes = sizes !== undefined && sizes.some((size) => !Number.isSafeInteger(size) || size < MIN_GENERATED_EVENTS);
if (unknown.length > 0 || Number.isNaN(maxEvents) || badSizes) {
  process.stderr.write(`usage: bench:micro [${Object.keys(SUITES).join('|')}...] [--max-events N] [--events N,...]\n`);
  process.exit(2);
}
const chosen = positionals.length > 0 ? positionals : Object.keys(SUITES);

const load = loadavg().map((value) => value.toFixed(2)).join(' ');
process.stdout.write(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, load average ${load} at start\n\n`,
);
const results: MicroResult[] = [];
for (const name of chosen) {
  process.stderr.write(`running ${name}...\n`);
  results.push(...(await (SUITES[name] as () => Promise<MicroResult[]>)()));
}
process.stdout.write(`${formatMicroTable(results)}\n\nload average ${loadavg().map((value) => value.toFixed(2)).join(' ')} at the end\n`);
