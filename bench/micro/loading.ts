// Loading scenario and workload files: YAML with positions, the schema, the cross-field checks
// and the defaults. Measured on texts already in memory (the loader's own work) and from disk
// (the folder walk and the reads as well), in files per second.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { findScenarioFiles, loadScenarios, loadScenarioText } from '../../harness/conformance/loader.js';
import { packageRoot } from '../../core/package-root.js';
import { loadWorkloadText } from '../workload.js';
import { describeTask, type MicroResult } from './table.js';

async function readAll(folder: string, noun: string): Promise<{ readonly file: string; readonly text: string }[]> {
  const found = await findScenarioFiles([folder], noun);
  return Promise.all(
    found.map(async (entry) => {
      if (entry.error !== undefined) throw new Error(entry.error.format());
      return { file: entry.file, text: await readFile(entry.file, 'utf8') };
    }),
  );
}

export async function loadingBenchmarks(): Promise<MicroResult[]> {
  const root = packageRoot();
  const suites = join(root, 'suites');
  const scenarios = await readAll(suites, 'scenario files');
  const workloads = await readAll(join(root, 'bench', 'workloads'), 'workload files');
  const bench = new Bench({ time: 1_000, iterations: 20, warmupTime: 200, warmupIterations: 5, throws: true });
  bench.add('scenarios in memory', () => {
    for (const { file, text } of scenarios) {
      if (loadScenarioText(text, file).errors.length > 0) throw new Error(`${file} does not load`);
    }
  });
  bench.add('workloads in memory', () => {
    for (const { file, text } of workloads) {
      if (loadWorkloadText(text, file).errors.length > 0) throw new Error(`${file} does not load`);
    }
  });
  bench.add('scenarios from disk', async () => {
    const loaded = await loadScenarios([suites]);
    if (loaded.errors.length > 0 || loaded.scenarios.length !== scenarios.length) throw new Error('suites/ does not load');
  });
  await bench.run();
  const result = (task: string, name: string, files: number, note: string): MicroResult => {
    const measured = describeTask(bench, task);
    return {
      name,
      size: `${files} files`,
      meanMs: measured.meanMs,
      samples: measured.samples,
      rate: files / (measured.meanMs / 1000),
      unit: 'files',
      note,
    };
  };
  return [
    result('scenarios in memory', 'scenario loading', scenarios.length, 'suites/: parse with positions, schema, checks, defaults'),
    result('workloads in memory', 'workload loading', workloads.length, 'bench/workloads/: the same, for workloads'),
    result('scenarios from disk', 'scenario loading from disk', scenarios.length, 'loadScenarios(suites/): folder walk and reads included'),
  ];
}
