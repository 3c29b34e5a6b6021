// Node module hooks that load a mutated checker in place of the compiled one. The tool starts each
// run of the CLI with `--import register.js` and the mutant's name in DELIVERYCHECK_MUTANT; the hooks
// run in Node's loader thread and answer the import of dist/harness/conformance/checker.js (or whichever files
// the mutant changes) with the mutated source, compiled. Nothing on disk changes, so a run that is
// killed half way leaves no mutant behind.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileMutated, mutantNamed, mutatedSources } from './apply.js';

interface HookData {
  readonly mutant: string;
  readonly root: string;
}

/** The compiled module's URL, for each mutated source file. */
let replaced = new Map<string, string>();

export function initialize(data: HookData): void {
  const sources = mutatedSources(mutantNamed(data.mutant), data.root);
  replaced = new Map(
    [...sources].map(([file, source]) => [
      pathToFileURL(join(data.root, 'dist', file.replace(/\.ts$/, '.js'))).href,
      compileMutated(source, file),
    ]),
  );
}

interface LoadResult {
  readonly format?: string | null;
  readonly source?: string | ArrayBuffer | Uint8Array;
  readonly shortCircuit?: boolean;
}

type NextLoad = (url: string, context?: unknown) => Promise<LoadResult>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const source = replaced.get(url);
  if (source === undefined) return nextLoad(url, context);
  return { format: 'module', source, shortCircuit: true };
}
