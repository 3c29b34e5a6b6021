// Broker processes by pid: what has become of one, signals to it, and waiting for a change. A pid
// comes from state.json as often as from a spawn, so every check works from any process, and a
// pid counts as a node only while its command line still names the node's own arguments: a
// recycled pid, or a broker of the same kind that is not ours, is never signalled.

import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { ClusterError } from './errors.js';

export type ProcessCondition = 'running' | 'paused' | 'gone';

const EXIT_POLL_INTERVAL_MS = 50;

/**
 * What has become of a node's process. On Linux a pid counts as the node only when every one of
 * `markers` is an argument of its command line (such as the node's own configuration file). A
 * zombie (dead, not yet reaped) counts as gone.
 */
export function processCondition(pid: number, markers: readonly string[]): ProcessCondition {
  try {
    process.kill(pid, 0);
  } catch {
    // EPERM means the pid exists but belongs to someone else: not our node either way.
    return 'gone';
  }
  if (!existsSync('/proc')) return 'running';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    const stateLetter = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (stateLetter === 'Z' || stateLetter === 'X') return 'gone';
    const condition = stateLetter === 'T' || stateLetter === 't' ? 'paused' : 'running';
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // A process in the middle of execve reads as having no command line for a moment. A node
    // just started is in that state while its shell becomes the broker, and on a loaded machine a
    // check can land in it; counting it as gone marked fresh nodes as "exited on its own".
    if (text === '') return condition;
    const commandLine = text.split('\0');
    if (!markers.every((marker) => commandLine.includes(marker))) return 'gone';
    return condition;
  } catch {
    return 'gone';
  }
}

export function signal(pid: number, name: NodeJS.Signals): void {
  // Pid 0 and negative pids address whole process groups, our own included: never a node.
  if (!Number.isInteger(pid) || pid <= 0) throw new ClusterError(`refusing to signal pid ${pid}`);
  try {
    process.kill(pid, name);
  } catch {
    // The process ended between our check and the signal: the effect we wanted.
  }
}

/** True when the pid exists at all, whoever owns it; for the owner of a state file or a lock. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}

/** Polls the process until its condition is wanted (true) or timeoutMs has passed (false). */
export async function waitForCondition(
  pid: number | null,
  markers: readonly string[],
  wanted: (condition: ProcessCondition) => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pid === null || wanted(processCondition(pid, markers))) return true;
    if (Date.now() >= deadline) return false;
    await delay(EXIT_POLL_INTERVAL_MS);
  }
}
