// The adapters a user can name with --adapter. Each loads lazily, so a run on the reference
// broker never loads a real broker's client library.

import type { Adapter } from './contract.js';

const LOADERS: Readonly<Record<string, () => Promise<Adapter>>> = {
  reference: async () => (await import('../reference/adapter.js')).referenceAdapter,
  kafka: async () => (await import('./kafka/adapter.js')).kafkaAdapter,
};

/**
 * Each adapter's expectations file (spec/expectations.ts), relative to the package root: read
 * without loading the adapter, so `check` applies them to a history from its adapter's name.
 */
const EXPECTATIONS: Readonly<Record<string, string>> = {
  kafka: 'adapters/kafka/expectations.yaml',
};

/** The expectations file of the named adapter, relative to the package root, if it keeps one. */
export function expectationsFileOf(name: string): string | undefined {
  return Object.hasOwn(EXPECTATIONS, name) ? EXPECTATIONS[name] : undefined;
}

export function adapterNames(): readonly string[] {
  return Object.keys(LOADERS);
}

/** Loads the named adapter, or returns undefined when there is none of that name. */
export async function loadAdapter(name: string): Promise<Adapter | undefined> {
  const load = LOADERS[name];
  return load === undefined ? undefined : load();
}
