// Output paths (--json, --junit, --rates, --history, --markdown, --chart) are checked before
// anything runs, so a long run (a Kafka suite takes half an hour) does not lose its result to a
// typo at the end, and folders are made one level at a time: Node's recursive mkdir loops for
// ever under /proc, where mkdir answers ENOENT for a folder whose parent exists.

import { constants, type Stats } from 'node:fs';
import { access, mkdir, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export interface OutputPath {
  /** The option as the user typed it, such as `--json`. */
  readonly option: string;
  readonly path: string;
  /** A report file, or a folder the run fills (--history). */
  readonly kind: 'file' | 'folder';
}

/** A path that cannot take the output; the message names the option and the path. */
export class OutputPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputPathError';
  }
}

/** Virtual file systems that hold no files of ours (statfs magic numbers, linux/magic.h). */
const VIRTUAL_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
]);

function codeOf(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

/** The path itself when it exists, else its nearest existing ancestor, with its stats. */
async function nearestExisting(path: string): Promise<{ readonly path: string; readonly stats: Stats }> {
  let current = resolve(path);
  for (;;) {
    try {
      return { path: current, stats: await stat(current) };
    } catch (error) {
      const code = codeOf(error);
      const parent = dirname(current);
      // ENOTDIR: an ancestor is a file; walking up finds it and says so.
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) throw error;
      current = parent;
    }
  }
}

async function fileSystemOf(path: string): Promise<string | undefined> {
  try {
    return VIRTUAL_FILE_SYSTEMS.get((await statfs(path)).type);
  } catch {
    return undefined;
  }
}

/** Checks one output path without creating anything; throws OutputPathError when it cannot work. */
export async function checkOutputPath(output: OutputPath): Promise<void> {
  const { option, path, kind } = output;
  const noun = kind === 'file' ? 'a file name' : 'a folder name';
  if (path === '') throw new OutputPathError(`${option} needs ${noun}, not an empty string`);
  const named = `${option} ${path}`;
  let existing: { readonly path: string; readonly stats: Stats };
  try {
    existing = await nearestExisting(path);
  } catch (error) {
    throw new OutputPathError(`${named}: cannot be checked (${codeOf(error)})`);
  }
  const virtual = await fileSystemOf(existing.path);
  if (virtual !== undefined) {
    throw new OutputPathError(`${named}: ${existing.path} is on a virtual file system (${virtual}), where no report can be written`);
  }
  const isTarget = existing.path === resolve(path);
  if (isTarget && kind === 'file' && existing.stats.isDirectory()) throw new OutputPathError(`${named}: is a folder; name a file`);
  if (isTarget && kind === 'folder' && !existing.stats.isDirectory()) throw new OutputPathError(`${named}: is a file, not a folder`);
  if (!isTarget && !existing.stats.isDirectory()) throw new OutputPathError(`${named}: ${existing.path} is a file, not a folder`);
  // An existing file must be writable; otherwise the nearest existing folder must let us create in it.
  const mode = isTarget && kind === 'file' ? constants.W_OK : constants.W_OK | constants.X_OK;
  try {
    await access(existing.path, mode);
  } catch (error) {
    const what = isTarget ? 'cannot be written' : `cannot be created in ${existing.path}`;
    throw new OutputPathError(`${named}: ${what} (${codeOf(error)})`);
  }
}

/** Checks every given output path, and that no two options name the same file. */
export async function checkOutputPaths(outputs: readonly (OutputPath | undefined)[]): Promise<void> {
  const given = outputs.filter((output): output is OutputPath => output !== undefined);
  for (const output of given) await checkOutputPath(output);
  for (const [index, output] of given.entries()) {
    const other = given.slice(0, index).find((candidate) => resolve(candidate.path) === resolve(output.path));
    if (other !== undefined) throw new OutputPathError(`${other.option} and ${output.option} both name ${output.path}; give each its own file`);
  }
}

/** An output path for an option that may be absent, for checkOutputPaths. */
export function outputFile(option: string, path: string | undefined): OutputPath | undefined {
  return path === undefined ? undefined : { option, path, kind: 'file' };
}

/**
 * Makes a folder and its missing parents, one mkdir at a time. Unlike mkdir's `recursive`, it
 * fails at once with the folder it could not make, instead of looping where mkdir says ENOENT.
 */
export async function makeFolders(folder: string): Promise<void> {
  const missing: string[] = [];
  let current = resolve(folder);
  for (;;) {
    let stats: Stats;
    try {
      stats = await stat(current);
    } catch (error) {
      const parent = dirname(current);
      if (codeOf(error) !== 'ENOENT' || parent === current) throw error;
      missing.push(current);
      current = parent;
      continue;
    }
    if (!stats.isDirectory()) throw new Error(`${current} is a file, not a folder`);
    break;
  }
  for (const path of missing.reverse()) {
    try {
      await mkdir(path);
    } catch (error) {
      // Another process may have made it in between; a folder that is there is all we need.
      if (codeOf(error) === 'EEXIST' && (await stat(path)).isDirectory()) continue;
      throw new Error(`cannot create the folder ${path} (${codeOf(error)})`);
    }
  }
}
