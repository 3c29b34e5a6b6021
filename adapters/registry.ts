// The adapters a user can name with --adapter, one line each. Each loads lazily, so a run on the
// reference broker never loads a real broker's client library; an adapter's expectations file
// (spec/expectations.ts), relative to the package root, is read without loading the adapter, so
// `check` applies it to a history from its adapter's name alone.

import type { Adapter } from './contract.js';

interface RegistryEntry {
  readonly load: () => Promise<Adapter>;
  readonly expectations?: string;
}

const ADAPTERS: Readonly<Record<string, RegistryEntry>> = {
  reference: { load: async () => (await import('../reference/adapter.js')).referenceAdapter },
  kafka: { load: async () => (await import('./kafka/adapter.js')).kafkaAdapter, expectations: 'adapters/kafka/expectations.yaml' },
  nats: { load: async () => (await import('./nats/adapter.js')).natsAdapter },
};

/** The expectations file of the named adapter, relative to the package root, if it keeps one. */
export function expectationsFileOf(name: string): string | undefined {
  return Object.hasOwn(ADAPTERS, name) ? ADAPTERS[name]?.expectations : undefined;
}

export function adapterNames(): readonly string[] {
  return Object.keys(ADAPTERS);
}

/** Loads the named adapter, or returns undefined when there is none of that name. */
export async function loadAdapter(name: string): Promise<Adapter | undefined> {
  return Object.hasOwn(ADAPTERS, name) ? ADAPTERS[name]?.load() : undefined;
}
