// The scenario loader: finds scenario files, parses their YAML with positions, validates them
// against the scenario schema, runs the checks a schema cannot express, applies the defaults and
// expands `expect.guarantee`, so the runner only ever sees complete, consistent scenarios.
// Every file is read and every error is reported, each as one line with file, line and column,
// because a user fixing a suite wants the whole list at once rather than one error per run.

import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import {
  scenarioSchema,
  type Fault,
  type FaultSpec,
  type Scenario,
  type ScenarioSource,
} from '../../spec/scenario.js';
import {
  ANOMALIES,
  CAPABILITIES,
  CRASH_POINTS,
  FAULT_CAPABILITY,
  GUARANTEE_ALLOWS,
  GUARANTEE_FORBIDS,
  TRIGGER_KINDS,
  type Anomaly,
  type BrokerTarget,
  type Capability,
  type Expectation,
  type FaultKind,
  type IsolationLevel,
} from '../../spec/vocabulary.js';
import { LoadError } from '../../core/load-error.js';
import { buildMinimum, checkMinimum } from './load-minimum.js';
import { capErrors, readInputFile } from '../../core/input-file.js';
import { checkYamlShape, MAX_YAML_DEPTH, topLevelFieldAt } from '../../core/yaml-shape.js';

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

/** The target a fault acts on when the scenario does not name one. */
export const DEFAULT_FAULT_TARGETS: Readonly<Record<FaultKind, BrokerTarget>> = {
  'crash-broker': 'leader',
  'power-loss': 'leader',
  'restart-broker': 'crashed',
  'pause-broker': 'leader',
  'resume-broker': 'paused',
  partition: 'leader',
  heal: 'any',
  'drop-acks': 'leader',
  'stall-replication': 'followers',
  'crash-consumer': 'any',
  'crash-producer': 'any',
};

/** Faults that act on a broker, so `target` and `partition` name a broker. */
const BROKER_FAULTS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'crash-broker',
  'power-loss',
  'restart-broker',
  'pause-broker',
  'resume-broker',
  'partition',
  'drop-acks',
  'stall-replication',
]);

/** The targets stall-replication takes besides a broker index: followers stall, leaders do not fetch. */
const STALL_TARGETS: ReadonlySet<BrokerTarget | number> = new Set<BrokerTarget>(['followers', 'follower']);

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

/** Where a file's errors go, with what is needed to turn a field's path into a line and column. */
export class FileContext {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly data: unknown,
  ) {}

  /**
   * An error placed at the key (`key`) or the value (`value`) of the field at `segments`; it
   * names that field unless `field` names another (a missing field is placed at its parent).
   */
  errorAt(
    segments: readonly string[],
    place: 'key' | 'value',
    message: string,
    field: string = this.fieldNameOf(segments),
  ): LoadError {
    const located = this.locate(segments);
    const keyOffset = nodeStart(located.key);
    let valueOffset = nodeStart(located.value);
    // `field:` with nothing after it has an empty value at the end of the line; the key is a
    // better place to point at.
    if (isScalar(located.value) && located.value.value === null && isEmptyRange(located.value.range)) {
      valueOffset = undefined;
    }
    const offset = place === 'key' ? (keyOffset ?? valueOffset) : (valueOffset ?? keyOffset);
    return this.errorAtOffset(offset ?? 0, field, message);
  }

  fieldNameOf(segments: readonly string[]): string {
    return fieldName(segments, this.data);
  }

  errorAtOffset(offset: number, field: string, message: string): LoadError {
    const { line, col } = this.lineCounter.linePos(offset);
    return new LoadError({ file: this.file, line, column: col, field, message });
  }

  /** The key and value nodes of a field; the deepest existing field when the path runs out. */
  private locate(segments: readonly string[]): { key?: unknown; value?: unknown } {
    let located: { key?: unknown; value?: unknown } = { value: this.doc.contents };
    for (const segment of segments) {
      let container = located.value;
      if (isAlias(container)) container = container.resolve(this.doc);
      if (isMap(container)) {
        const pair = container.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
        if (pair === undefined) break;
        located = { key: pair.key, value: pair.value };
      } else if (isSeq(container)) {
        const item: unknown = container.items[Number(segment)];
        if (item === undefined) break;
        located = { value: item };
      } else {
        break;
      }
    }
    return located;
  }
}

function nodeStart(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

function isEmptyRange(range: readonly number[] | null | undefined): boolean {
  return range !== null && range !== undefined && range[0] === range[1];
}

/** `['faults', '1', 'do']` becomes `faults[1].do`, using the data to tell list indexes from keys. */
function fieldName(segments: readonly string[], data: unknown): string {
  let name = '';
  let current = data;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      name += `[${segment}]`;
      current = (current as unknown[])[Number(segment)];
    } else {
      name += name === '' ? segment : `.${segment}`;
      current = isRecord(current) ? current[segment] : undefined;
    }
  }
  return name;
}

/** A YAML file whose top level is a mapping: its data and the context that places errors in it. */
export type ParsedYamlMapping =
  | { readonly data: Record<string, unknown>; readonly context: FileContext; readonly errors?: undefined }
  | { readonly data?: undefined; readonly errors: readonly LoadError[] };

/** What the errors of parseYamlMapping say the file must hold. */
export interface YamlMappingWords {
  /** The end of the empty-file error, after "the file is empty; it must hold ". */
  readonly expected: string;
  /** What the top level's entries are, as in "the top level must be a mapping of scenario fields". */
  readonly fields: string;
}

/**
 * Parses one YAML document whose top level must be a mapping, keeping positions so that later
 * errors can name the line and column of any field. Scenarios and benchmark workloads share it.
 */
export function parseYamlMapping(text: string, file: string, words: YamlMappingWords): ParsedYamlMapping {
  const lineCounter = new LineCounter();
  // Plain (not pretty) YAML errors are one line each; the position comes from the line counter.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const bare = new FileContext(file, doc, lineCounter, undefined);

  // Warnings count too: an unresolved tag, say, would silently turn a value into a string.
  const yamlProblems: readonly YAMLError[] = [...doc.errors, ...doc.warnings];
  if (yamlProblems.length > 0) {
    // After a syntax error the parser often reports follow-on errors at the same place, which
    // only confuse; the first error of each line is the one to fix.
    const firstPerLine = new Map<number, LoadError>();
    for (const problem of yamlProblems) {
      let error = bare.errorAtOffset(problem.pos[0], '', yamlMessage(problem));
      if (isStackOverflow(problem)) {
        const field = topLevelFieldAt(text, error.line);
        if (field !== '') error = bare.errorAtOffset(problem.pos[0], field, `${field}: ${error.message}`);
      }
      if (!firstPerLine.has(error.line)) firstPerLine.set(error.line, error);
    }
    return { errors: sortErrors([...firstPerLine.values()]) };
  }
  if (doc.contents === null) {
    return { errors: [bare.errorAtOffset(0, '', `the file is empty; it must hold ${words.expected}`)] };
  }
  // Too deep a nesting, a collection as a key and tags such as !!binary are refused before the
  // document becomes data: each would otherwise overflow the stack, print a warning of the YAML
  // library, or turn into data no field can hold.
  const shapeErrors = checkYamlShape(doc, (offset, field, message) => bare.errorAtOffset(offset, field, message));
  if (shapeErrors.length > 0) return { errors: sortErrors(shapeErrors) };

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // yaml refuses documents that expand aliases without bound; that is bad input too.
    const message = error instanceof Error ? oneLine(error.message) : String(error);
    return {
      errors: [
        bare.errorAtOffset(
          0,
          '',
          /excessive alias count/iu.test(message)
            ? 'its aliases (*name) expand to too much data; the YAML library refuses such a file as a resource exhaustion attack'
            : message,
        ),
      ],
    };
  }
  if (!isMap(doc.contents) || !isRecord(data)) {
    return {
      errors: [
        bare.errorAtOffset(
          nodeStart(doc.contents) ?? 0,
          '',
          `the top level must be a mapping of ${words.fields} (got ${describeValue(data)})`,
        ),
      ],
    };
  }
  return { data, context: new FileContext(file, doc, lineCounter, data) };
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

/** Errors read best in file order; the sort is stable, so errors at one place keep their order. */
export function sortErrors(errors: readonly LoadError[]): LoadError[] {
  return [...errors].sort((a, b) => a.line - b.line || a.column - b.column);
}

function isStackOverflow(problem: YAMLError): boolean {
  return /maximum call stack/iu.test(problem.message);
}

function yamlMessage(problem: YAMLError): string {
  if (problem.code === 'MULTIPLE_DOCS') {
    return 'the file holds more than one YAML document; put each scenario in a file of its own';
  }
  // The parser is recursive: a nesting deep enough to overflow its stack is reported by it as
  // this bare RangeError message, which says nothing a user could act on.
  if (isStackOverflow(problem)) {
    return `lists or mappings nest too deeply to be read (a file may nest at most ${MAX_YAML_DEPTH} levels)`;
  }
  return oneLine(problem.message);
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// Schema errors

/** Keywords whose failure means "this value is not what the schema describes". */
const VALUE_KEYWORDS: ReadonlySet<string> = new Set([
  'type',
  'enum',
  'const',
  'oneOf',
  'anyOf',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
]);

/** Turns Ajv's errors into one-line errors placed at the field; used for scenarios and workloads. */
export function schemaErrors(errors: readonly ErrorObject[], context: FileContext): LoadError[] {
  // A `oneOf` failure comes with a failure of every branch; the `oneOf` error alone describes
  // all the alternatives in one message, so the branch errors are dropped.
  const alternatives = errors.filter((error) => error.keyword === 'oneOf' || error.keyword === 'anyOf');
  const isBranchOfAlternative = (error: ErrorObject): boolean =>
    alternatives.some(
      (alternative) =>
        alternative !== error &&
        error.schemaPath.startsWith(`${alternative.schemaPath}/`) &&
        (error.instancePath === alternative.instancePath ||
          error.instancePath.startsWith(`${alternative.instancePath}/`)),
    );

  const result: LoadError[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (isBranchOfAlternative(error)) continue;
    const loadError = schemaError(error, context);
    // Several keywords can fail for one value (`0.5` fails `type` and `minimum`), and they all
    // produce the same message, which is reported once.
    const key = loadError.format();
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(loadError);
  }
  return result;
}

function schemaError(error: ErrorObject, context: FileContext): LoadError {
  const parent = pointerSegments(error.instancePath);
  const params: Record<string, unknown> = error.params;
  const name = (segments: readonly string[]): string => context.fieldNameOf(segments);

  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    const segments = [...parent, params.missingProperty];
    return context.errorAt(parent, 'value', `${name(segments)} is required`, name(segments));
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    const segments = [...parent, params.additionalProperty];
    const properties = error.parentSchema?.properties as unknown;
    const known = isRecord(properties) ? Object.keys(properties).join(', ') : '';
    return context.errorAt(segments, 'key', `${name(segments)} is not a known field (known: ${known})`);
  }
  if (error.keyword === 'uniqueItems' && typeof params.i === 'number' && typeof params.j === 'number') {
    // Ajv names the pair in either order, depending on the items' type; the later one is the duplicate.
    const laterIndex = Math.max(params.i, params.j);
    const later = [...parent, String(laterIndex)];
    const earlier = [...parent, String(Math.min(params.i, params.j))];
    const value = Array.isArray(error.data) ? (error.data as unknown[])[laterIndex] : undefined;
    return context.errorAt(
      later,
      'value',
      `${name(later)} is a duplicate of ${name(earlier)} (${describeValue(value)})`,
    );
  }
  const field = parent.length > 0 ? name(parent) : 'the scenario';
  if (VALUE_KEYWORDS.has(error.keyword)) {
    return context.errorAt(
      parent,
      'value',
      `${field} must be ${describeSchema(error.parentSchema)} (got ${describeValue(error.data)})`,
      parent.length > 0 ? field : '',
    );
  }
  return context.errorAt(parent, 'value', `${field} ${error.message ?? 'is not valid'}`, parent.length > 0 ? field : '');
}

/** JSON Pointer (`/faults/1/do`) to segments (`['faults', '1', 'do']`). */
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** What a schema accepts, in words, as the end of "... must be". */
function describeSchema(schema: unknown): string {
  if (!isRecord(schema)) return 'valid';
  if (Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) {
    const branches = (Array.isArray(schema.oneOf) ? schema.oneOf : schema.anyOf) as unknown[];
    return branches.map(describeSchema).join(', or ');
  }
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map(String).join(', ')}`;
  if ('const' in schema) return JSON.stringify(schema.const);
  const minimum = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  const maximum = typeof schema.maximum === 'number' ? schema.maximum : undefined;
  switch (schema.type) {
    case 'integer':
    case 'number': {
      const noun = schema.type === 'integer' ? 'an integer' : 'a number';
      if (minimum !== undefined && maximum !== undefined) return `${noun} from ${minimum} to ${maximum}`;
      if (minimum !== undefined) return `${noun} of at least ${minimum}`;
      if (maximum !== undefined) return `${noun} of at most ${maximum}`;
      return noun;
    }
    case 'string': {
      // A pattern means nothing to a reader; its schema says in words what it accepts.
      if (typeof schema.pattern === 'string' && typeof schema.description === 'string') return schema.description;
      const shortest = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const longest = typeof schema.maxLength === 'number' ? schema.maxLength : undefined;
      return longest === undefined ? 'a string' : `a string of ${shortest} to ${longest} characters`;
    }
    case 'boolean':
      return 'true or false';
    case 'array':
    {
      const fewest = typeof schema.minItems === 'number' && schema.minItems > 0 ? schema.minItems : undefined;
      const most = typeof schema.maxItems === 'number' ? schema.maxItems : undefined;
      if (fewest !== undefined && most !== undefined) return `a list of ${fewest} to ${most} entries`;
      if (fewest !== undefined) return `a list of at least ${fewest} ${fewest === 1 ? 'entry' : 'entries'}`;
      return most !== undefined ? `a list of at most ${most} entries` : 'a list';
    }
    case 'object': {
      const keys = isRecord(schema.properties) ? Object.keys(schema.properties).join(', ') : '';
      if (schema.minProperties === 1 && schema.maxProperties === 1) return `a mapping with exactly one of ${keys}`;
      if (schema.minProperties === 1) return `a mapping with at least one of ${keys}`;
      return 'a mapping';
    }
    default:
      return 'valid';
  }
}

/** A value as a message quotes it: strings quoted and shortened, collections summarized. */
export function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) {
    return value.length === 0 ? 'an empty list' : `a list of ${value.length} ${value.length === 1 ? 'entry' : 'entries'}`;
  }
  if (isRecord(value)) {
    const keys = Object.keys(value);
    return keys.length === 0 ? 'an empty mapping' : `a mapping of ${keys.join(', ')}`;
  }
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Checks the schema cannot express

/** Cross-field rules; each error points at the field to change. */
function checkScenario(source: ScenarioSource, context: FileContext): LoadError[] {
  const errors: LoadError[] = [];
  const { brokers } = source.cluster;
  const { partitions, replication } = source.topic;
  const minInsync = source.topic.minInsync ?? 1;
  const producers = source.workload.producers ?? 1;
  const consumers = source.workload.consumers ?? 1;

  if (replication > brokers) {
    errors.push(
      context.errorAt(
        ['topic', 'replication'],
        'value',
        `topic.replication must be at most cluster.brokers, which is ${brokers} (got ${replication})`,
      ),
    );
  }
  if (minInsync > replication) {
    errors.push(
      context.errorAt(
        ['topic', 'minInsync'],
        'value',
        `topic.minInsync must be at most topic.replication, which is ${replication} (got ${minInsync})`,
      ),
    );
  }
  if (source.producer.abortEvery === 1) {
    errors.push(
      context.errorAt(
        ['producer', 'abortEvery'],
        'value',
        'producer.abortEvery 1 would abort every transaction, so none would ever commit; use 0 (never) or 2 and more',
      ),
    );
  }
  for (const field of ['idempotent', 'transactional'] as const) {
    if (source.producer[field] === true && source.producer.ack !== 'all') {
      errors.push(
        context.errorAt(
          ['producer', field],
          'value',
          `producer.${field} needs producer.ack all, as in Kafka: sequence numbers only guard writes the in-sync replicas acknowledged`,
        ),
      );
    }
  }
  for (const field of ['transactionSize', 'abortEvery'] as const) {
    if (source.producer[field] !== undefined && source.producer.transactional !== true) {
      errors.push(
        context.errorAt(
          ['producer', field],
          'key',
          `producer.${field} needs producer.transactional: true, since only a transactional producer has transactions`,
        ),
      );
    }
  }

  (source.faults ?? []).forEach((fault, index) => {
    const at = (field: string): string[] => ['faults', String(index), field];
    const name = `faults[${index}]`;
    const kind = fault.do;

    if (kind === 'crash-consumer' && fault.point === undefined) {
      errors.push(
        context.errorAt(
          ['faults', String(index)],
          'value',
          `${name}.point is required for crash-consumer (one of ${CRASH_POINTS.join(', ')})`,
          `${name}.point`,
        ),
      );
    }
    if (kind !== 'crash-consumer' && fault.point !== undefined) {
      errors.push(context.errorAt(at('point'), 'key', `${name}.point is only for crash-consumer, not ${kind}`));
    }
    if (kind !== 'drop-acks' && fault.count !== undefined) {
      errors.push(context.errorAt(at('count'), 'key', `${name}.count is only for drop-acks, not ${kind}`));
    }
    if (kind !== 'stall-replication' && fault.durationMs !== undefined) {
      errors.push(context.errorAt(at('durationMs'), 'key', `${name}.durationMs is only for stall-replication, not ${kind}`));
    }
    if (!BROKER_FAULTS.has(kind) && fault.partition !== undefined) {
      // `partition` picks whose leader or follower a broker fault targets; elsewhere it would be
      // silently ignored, which would mislead the reader of the scenario.
      errors.push(
        context.errorAt(at('partition'), 'key', `${name}.partition is only for faults that act on a broker, not ${kind}`),
      );
    }
    if (fault.partition !== undefined && fault.partition >= partitions) {
      errors.push(
        context.errorAt(
          at('partition'),
          'value',
          `${name}.partition must be a partition index from 0 to ${partitions - 1} (got ${fault.partition})`,
        ),
      );
    }
    if (fault.target === undefined) return;
    if (kind === 'stall-replication' && typeof fault.target !== 'number' && !STALL_TARGETS.has(fault.target)) {
      errors.push(
        context.errorAt(
          at('target'),
          'value',
          `${name}.target must be followers, follower or a broker index for stall-replication (got ${describeValue(fault.target)})`,
        ),
      );
    } else if (kind !== 'stall-replication' && fault.target === 'followers') {
      errors.push(
        context.errorAt(at('target'), 'value', `${name}.target followers is only for stall-replication, not ${kind}`),
      );
    }
    if (kind === 'heal') {
      errors.push(
        context.errorAt(at('target'), 'key', `${name}.target is not allowed for heal, which ends every network partition`),
      );
    } else if (kind === 'crash-consumer' || kind === 'crash-producer') {
      const [role, count] = kind === 'crash-consumer' ? ['consumer', consumers] : ['producer', producers];
      if (fault.target !== 'any' && !(typeof fault.target === 'number' && fault.target < count)) {
        errors.push(
          context.errorAt(
            at('target'),
            'value',
            `${name}.target must be any or a ${role} index from 0 to ${count - 1} for ${kind} (got ${describeValue(fault.target)})`,
          ),
        );
      }
    } else if (typeof fault.target === 'number' && fault.target >= brokers) {
      errors.push(
        context.errorAt(
          at('target'),
          'value',
          `${name}.target must be a broker index from 0 to ${brokers - 1} for ${kind} (got ${fault.target})`,
        ),
      );
    }
  });
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Defaults

function buildScenario(source: ScenarioSource, file: string): Scenario {
  const producer = {
    ack: source.producer.ack,
    retries: source.producer.retries ?? 0,
    idempotent: source.producer.idempotent ?? false,
    transactional: source.producer.transactional ?? false,
    maxInFlight: source.producer.maxInFlight ?? 1,
    transactionSize: source.producer.transactionSize ?? 10,
    abortEvery: source.producer.abortEvery ?? 0,
  };
  const consumer = {
    commit: source.consumer.commit,
    isolation: source.consumer.isolation ?? 'read-uncommitted',
  } as const;
  const faults = (source.faults ?? []).map(buildFault);
  return {
    file,
    name: source.name,
    description: source.description,
    requires: requiredCapabilities(source.requires ?? [], producer, consumer, faults),
    seed: source.seed ?? 1,
    cluster: { brokers: source.cluster.brokers },
    topic: {
      partitions: source.topic.partitions,
      replication: source.topic.replication,
      minInsync: source.topic.minInsync ?? 1,
      uncleanElection: source.topic.uncleanElection ?? false,
    },
    producer,
    consumer,
    workload: {
      messages: source.workload.messages,
      keys: source.workload.keys,
      producers: source.workload.producers ?? 1,
      consumers: source.workload.consumers ?? 1,
    },
    faults,
    expect: expandExpectations(source.expect, consumer.isolation),
    minimum: buildMinimum(source),
  };
}

function buildFault(spec: FaultSpec): Fault {
  // The schema guarantees exactly one trigger kind.
  const kind = TRIGGER_KINDS.find((candidate) => spec.at[candidate] !== undefined) ?? 'ms';
  return {
    at: { kind, value: spec.at[kind] ?? 0 },
    do: spec.do,
    target: spec.target ?? DEFAULT_FAULT_TARGETS[spec.do],
    partition: spec.partition ?? 0,
    ...(spec.point === undefined ? {} : { point: spec.point }),
    count: spec.count ?? 1,
    ...(spec.durationMs === undefined ? {} : { durationMs: spec.durationMs }),
  };
}

/** The scenario's own list plus what its settings need, in CAPABILITIES order. */
function requiredCapabilities(
  named: readonly Capability[],
  producer: Scenario['producer'],
  consumer: Scenario['consumer'],
  faults: readonly Fault[],
): Capability[] {
  const needed = new Set<Capability>(named);
  needed.add(`ack.${producer.ack}`);
  needed.add(`commit.${consumer.commit}`);
  if (producer.idempotent) needed.add('producer.idempotent');
  // A read-process-write pipeline writes its output and offsets with a transactional producer.
  if (producer.transactional || consumer.commit === 'transactional') needed.add('producer.transactional');
  if (consumer.isolation === 'read-committed') needed.add('isolation.read-committed');
  for (const fault of faults) needed.add(FAULT_CAPABILITY[fault.do]);
  return CAPABILITIES.filter((capability) => needed.has(capability));
}

/** Defaults first, then the guarantee, then the scenario's own per-anomaly entries. */
function expandExpectations(
  expect: ScenarioSource['expect'],
  isolation: IsolationLevel,
): Record<Anomaly, Expectation> {
  const expectations: Record<Anomaly, Expectation> = {
    lost: 'allowed',
    unprocessed: 'allowed',
    duplicated: 'allowed',
    reordered: 'allowed',
    phantom: 'none',
    // Under read-uncommitted a consumer is entitled to see aborted writes.
    'aborted-read': isolation === 'read-committed' ? 'none' : 'allowed',
    'inconsistent-offset': 'none',
  };
  if (expect.guarantee !== undefined) {
    for (const anomaly of GUARANTEE_ALLOWS[expect.guarantee]) expectations[anomaly] = 'allowed';
    for (const anomaly of GUARANTEE_FORBIDS[expect.guarantee]) expectations[anomaly] = 'none';
  }
  for (const anomaly of ANOMALIES) {
    const explicit = expect[anomaly];
    if (explicit !== undefined) expectations[anomaly] = explicit;
  }
  return expectations;
}
