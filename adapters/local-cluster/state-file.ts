// state.json: what a local cluster's folder says about the processes running from it, so a later
// process (a second test file, the status and stop commands) can check, reuse and stop them.
// The start lock beside it keeps two processes from starting a cluster in one folder at once.

import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterError } from './errors.js';
import { pidAlive } from './processes.js';

const STATE_FILE = 'state.json';

export function statePath(dataDir: string): string {
  return join(dataDir, STATE_FILE);
}

/** The folder's state, or undefined when there is none, it is unreadable, or of another format. */
export async function readState<S extends { readonly format: number; readonly nodes: unknown }>(
  dataDir: string,
  format: number,
): Promise<S | undefined> {
  let text: string;
  try {
    text = await readFile(statePath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const state = JSON.parse(text) as S;
    return state.format === format && Array.isArray(state.nodes) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole to a temporary file and renamed, so a reader never sees half a state. */
export async function writeState(dataDir: string, state: unknown): Promise<void> {
  const temporary = `${statePath(dataDir)}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, statePath(dataDir));
}

/**
 * Takes the folder's start lock, so two processes starting a cluster in one folder at the same
 * time cannot wipe each other's node folders. A lock whose holder has died is taken over.
 * `brokerName` names the broker in the error, such as "Kafka".
 */
export async function acquireStartLock(dataDir: string, brokerName: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, 'start.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST')) throw error;
      const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
        throw new ClusterError(
          `process ${holder} is starting a ${brokerName} cluster in ${dataDir} right now; wait for it or use another folder`,
        );
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new ClusterError(`could not take the start lock ${lockPath}`);
}
