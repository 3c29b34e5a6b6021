// The end of a node's logs, for error messages: a node that crashed or never became ready is
// explained by its own last lines, quoted in the error, so nobody has to go looking for files.

import { open } from 'node:fs/promises';

export const LOG_TAIL_LINES = 25;

/**
 * The lines of a log worth quoting in an error. Indented lines are dropped: they are Java stack
 * frames and a broker's dump of its configuration, and without them the exception messages and
 * log lines that say what went wrong fit in the few lines quoted.
 */
export function quotable(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '' && !/^\s/.test(line));
}

/** The last lines of a log file, read from its end so a large log costs nothing. */
export async function tailLines(path: string, count: number): Promise<string[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return quotable(buffer.toString('utf8')).slice(-count);
  } finally {
    await handle.close();
  }
}

/** The last lines of each of a node's log files, or a line saying it wrote none. */
export async function logTail(paths: readonly string[], nobodyWrote: string): Promise<string> {
  const parts: string[] = [];
  for (const path of paths) {
    const lines = await tailLines(path, LOG_TAIL_LINES);
    if (lines.length > 0) parts.push(`--- last ${lines.length} lines of ${path}\n${lines.join('\n')}`);
  }
  return parts.length > 0 ? parts.join('\n') : nobodyWrote;
}
