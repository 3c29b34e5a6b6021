// The scenario loader: finds scenario files, parses their YAML with positions, validates them
// against the scenario schema, runs the checks a schema cannot express, applies the defaults and
// expands `expect.guarantee`, so the runner only ever sees complete, consistent scenarios.
// Every file is read and every error is reported, each as one line with file, line and column,
// because a user fixing a suite wants the whole list at once rather than one error per run.
//
// This file finds and reads the files and puts each one through the steps; the parsing with
// positions and the schema's errors are in yaml-file.ts (benchmark workloads and cluster config
// files load with them too), and the scenario's own checks and defaults in scenario-fields.ts.

import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { scenarioSchema, type Scenario, type ScenarioSource } from '../../spec/scenario.js';
import { LoadError } from '../../core/load-error.js';
import { checkMinimum } from './load-minimum.js';
import { capErrors, readInputFile } from '../../core/input-file.js';
import { parseYamlMapping, schemaErrors, sortErrors } from './yaml-file.js';
import { buildScenario, checkScenario } from './scenario-fields.js';

export { LoadError } from '../../core/load-error.js';

export interface LoadResult {
  /** The valid scenarios, in the order of the paths given and, inside a folder, sorted by path. */
  readonly scenarios: Scenario[];
  /** Every problem found, in the same order; a file with errors yields no scenario. */
  readonly errors: LoadError[];
}

/** A scenario exactly when there are no errors. */
export type ScenarioTextResult =
  | { readonly scenario: Scenario; readonly errors: readonly [] }
  | { readonly scenario?: undefined; readonly errors: readonly LoadError[] };

const SCENARIO_FILE = /\.ya?ml$/;

// ---------------------------------------------------------------------------------------------
// Finding and reading files

/**
 * Loads scenario files and folders. Folders are searched recursively for `*.yaml` and `*.yml`
 * (hidden files and folders are skipped) and their files sorted by path, so two runs of the same
 * folder load the same scenarios in the same order.
 */
export async function loadScenarios(paths: readonly string[]): Promise<LoadResult> {
  const { items, errors } = await loadYamlFiles(paths, 'scenario files', (text, file) => {
    const result = loadScenarioText(text, file);
    return { item: result.scenario, errors: result.errors };
  });
  return { scenarios: items, errors };
}

/**
 * Finds, reads and loads YAML files with `loadText`, all side by side, keeping the path order;
 * scenarios and benchmark workloads both load this way.
 */
export async function loadYamlFiles<T>(
  paths: readonly string[],
  noun: string,
  loadText: (text: string, file: string) => { readonly item?: T | undefined; readonly errors: readonly LoadError[] },
): Promise<{ items: T[]; errors: LoadError[] }> {
  const found = await findScenarioFiles(paths, noun);
  const loaded = await Promise.all(
    found.map(async (entry) => {
      if (entry.error !== undefined) return { errors: [entry.error] };
      const input = await readInputFile(entry.file, noun.replace(/s$/u, ''));
      if (input.error !== undefined) return { errors: [input.error] };
      const result = loadText(input.text, entry.file);
      return { ...result, errors: capErrors(result.errors, entry.file) };
    }),
  );
  const items: T[] = [];
  const errors: LoadError[] = [];
  for (const result of loaded) {
    if ('item' in result && result.item !== undefined) items.push(result.item);
    errors.push(...result.errors);
  }
  return { items, errors };
}

export type FoundEntry = { readonly file: string; readonly error?: undefined } | { readonly error: LoadError };

/**
 * Finds the YAML files of the given files and folders, in the order described at loadScenarios.
 * `noun` names what a folder without any holds, in its error; the benchmark's workloads use it too.
 */
export async function findScenarioFiles(paths: readonly string[], noun = 'scenario files'): Promise<FoundEntry[]> {
  const entries: FoundEntry[] = [];
  // The same file named twice (a folder and a file in it) runs once.
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    entries.push({ file });
  };
  for (const given of paths) {
    let isFolder: boolean;
    try {
      isFolder = (await stat(given)).isDirectory();
    } catch (error) {
      const message = errorCode(error) === 'ENOENT' ? 'no such file or folder' : `cannot be read (${errorCode(error)})`;
      entries.push({ error: wholeFileError(given, message) });
      continue;
    }
    if (!isFolder) {
      // A file named explicitly is loaded whatever its extension: the user asked for it.
      add(given);
      continue;
    }
    const relativePaths: string[] = [];
    try {
      await collectScenarioFiles(given, '', new Set(), relativePaths);
    } catch (error) {
      entries.push({ error: wholeFileError(given, `cannot be read (${errorCode(error)})`) });
      continue;
    }
    if (relativePaths.length === 0) {
      // Zero scenarios would make a run pass without checking anything, so it is bad input.
      entries.push({ error: wholeFileError(given, `the folder holds no ${noun} (*.yaml or *.yml)`) });
      continue;
    }
    // Code-unit order, not localeCompare, so the order does not depend on the machine's locale.
    relativePaths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const prefix = given.endsWith(sep) || given.endsWith('/') ? given : `${given}${sep}`;
    for (const relativePath of relativePaths) add(`${prefix}${relativePath}`);
  }
  return entries;
}

async function collectScenarioFiles(
  folder: string,
  relativeFolder: string,
  visited: Set<string>,
  out: string[],
): Promise<void> {
  // Symbolic links are followed, and a folder reached twice is read once, so a link cycle ends.
  const real = await realpath(folder);
  if (visited.has(real)) return;
  visited.add(real);
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    const relativePath = relativeFolder === '' ? entry.name : `${relativeFolder}${sep}${entry.name}`;
    let isFolder = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        const target = await stat(path);
        isFolder = target.isDirectory();
        isFile = target.isFile();
      } catch {
        // A dangling link (an editor's lock file, say) is not a scenario.
        continue;
      }
    }
    if (isFolder) await collectScenarioFiles(path, relativePath, visited, out);
    else if (isFile && SCENARIO_FILE.test(entry.name)) out.push(relativePath);
  }
}

export function errorCode(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

export function wholeFileError(file: string, message: string): LoadError {
  return new LoadError({ file, line: 0, column: 0, field: '', message });
}

// ---------------------------------------------------------------------------------------------
// One file

let compiledValidator: ValidateFunction<ScenarioSource> | undefined;

/** The scenario schema, compiled once: compiling is far slower than validating. */
function scenarioValidator(): ValidateFunction<ScenarioSource> {
  if (compiledValidator === undefined) {
    // `verbose` puts each failing value and its schema on the error, which the messages quote.
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    compiledValidator = ajv.compile<ScenarioSource>(scenarioSchema);
  }
  return compiledValidator;
}

/** Parses, validates and completes one scenario; `file` names it in errors and in `Scenario.file`. */
export function loadScenarioText(text: string, file: string): ScenarioTextResult {
  const parsed = parseYamlMapping(text, file, {
    expected:
      'one scenario, a mapping of name, description, cluster, topic, producer, consumer, workload and expect',
    fields: 'scenario fields',
  });
  if (parsed.errors !== undefined) return failed(parsed.errors);
  const { data, context } = parsed;
  const validate = scenarioValidator();
  if (!validate(data)) return failed(schemaErrors(validate.errors ?? [], context));
  const semanticErrors = [...checkScenario(data, context), ...checkMinimum(data, context)];
  if (semanticErrors.length > 0) return failed(semanticErrors);
  return { scenario: buildScenario(data, file), errors: [] };
}

function failed(errors: readonly LoadError[]): ScenarioTextResult {
  return { errors: sortErrors(errors) };
}
