// One YAML file read for its data: parsed with positions, refused when its top level is not a
// mapping, and every error (of the YAML, or of the schema, from Ajv) turned into one line placed
// at the field's line and column. It is apart from the scenario loader because benchmark
// workloads and cluster config files are read the same way, so a bad file of any kind is
// reported alike.

import type { ErrorObject } from 'ajv/dist/2020.js';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { LoadError } from '../../core/load-error.js';
import { checkYamlShape, MAX_YAML_DEPTH, topLevelFieldAt } from '../../core/yaml-shape.js';

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
      // A list of a particular shape (groups of broker indices) is said best by its schema.
      if (typeof schema.description === 'string') return schema.description;
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
