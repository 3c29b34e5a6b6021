// Checks a parsed YAML document's shape before it becomes data. Scenarios, workloads and cluster
// configs hold plain values, lists and mappings a few levels deep; anything else in them is a
// mistake or garbage, and some of it would hurt: a deep nesting overflows the stack of the
// recursive steps after parsing, a list or mapping used as a key makes the YAML library print a
// warning and stringify it, and a `!!binary` value becomes bytes that no field can hold.

import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { LoadError } from './load-error.js';

/** Deeper than any input needs (a scenario is four levels deep) and far from the stack's limit. */
export const MAX_YAML_DEPTH = 32;

/** The tags of plain YAML values; any other tag (`!!binary`, `!!set`, `!!timestamp`) is refused. */
const PLAIN_TAGS: ReadonlySet<string> = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((name) => `tag:yaml.org,2002:${name}`),
);

type ErrorAt = (offset: number, field: string, message: string) => LoadError;

function start(node: unknown): number {
  return (node as Partial<Node> | null)?.range?.[0] ?? 0;
}

function shortTag(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}

/**
 * The top-level field a line belongs to: the nearest line at or above it that starts a key at
 * column 1. Used to name the field of an error the parser reports without one.
 */
export function topLevelFieldAt(text: string, line: number): string {
  const lines = text.split('\n', line);
  for (let index = Math.min(line, lines.length) - 1; index >= 0; index--) {
    const match = /^([A-Za-z_][\w-]*)\s*:/u.exec(lines[index] ?? '');
    if (match !== null) return match[1] as string;
  }
  return '';
}

/** One error per offending node, in document order; empty when the document has a plain shape. */
export function checkYamlShape(doc: Document, errorAt: ErrorAt): LoadError[] {
  const errors: LoadError[] = [];
  // Iterative, not recursive: the point is to survive documents deeper than the stack.
  const pending: { node: unknown; depth: number; field: string }[] = [{ node: doc.contents, depth: 1, field: '' }];
  // A path 32 levels deep is too long to read; its start says where to look.
  const describe = (field: string): string => {
    if (field === '') return 'the top level';
    if (field.length <= 60) return field;
    const cut = Math.max(field.lastIndexOf('[', 60), field.lastIndexOf('.', 60));
    return `${field.slice(0, cut > 0 ? cut : 60)}…`;
  };
  while (pending.length > 0) {
    const { node, depth, field } = pending.pop() as { node: unknown; depth: number; field: string };
    if (isAlias(node)) continue;
    const tag = (node as Partial<Node> | null)?.tag;
    if (tag !== undefined && tag !== null && !PLAIN_TAGS.has(tag)) {
      errors.push(
        errorAt(start(node), field, `${describe(field)} has the tag ${shortTag(tag)}; only plain values, lists and mappings are read`),
      );
      continue;
    }
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > MAX_YAML_DEPTH) {
      errors.push(errorAt(start(node), field, `${describe(field)} nests lists or mappings more than ${MAX_YAML_DEPTH} levels deep`));
      continue;
    }
    const children: { node: unknown; depth: number; field: string }[] = [];
    if (isSeq(node)) {
      node.items.forEach((item, index) => children.push({ node: item, depth: depth + 1, field: `${field}[${index}]` }));
    } else {
      for (const pair of node.items) {
        // An empty key (`? ` with nothing after it, or `"": 1`) names no field either.
        const empty = pair.key === null || (isScalar(pair.key) && (pair.key.value === null || pair.key.value === ''));
        if (!isScalar(pair.key) || empty) {
          const what = isSeq(pair.key) ? 'a list' : isMap(pair.key) ? 'a mapping' : isAlias(pair.key) ? 'an alias' : 'empty';
          errors.push(errorAt(start(pair.key) || start(pair.value) || start(node), field, `a key in ${describe(field)} is ${what}; keys must be plain names`));
          continue;
        }
        const name = String(pair.key.value);
        children.push({ node: pair.value, depth: depth + 1, field: field === '' ? name : `${field}.${name}` });
      }
    }
    // Reversed, so the stack hands them out in document order.
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i] as (typeof children)[number]);
  }
  return errors;
}
