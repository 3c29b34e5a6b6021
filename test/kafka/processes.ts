// Which processes still use a folder, so a Kafka test can prove it left no JVM (and no watchdog
// shell of an owned node) behind.

import { readdirSync, readFileSync } from 'node:fs';

/** Every process but this one whose command line names the folder. */
export function processesUsing(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(dir)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
