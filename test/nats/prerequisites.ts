// What the NATS tests need from the machine, checked once per test file before any test: a
// nats-server that runs (the Debian package's /usr/sbin/nats-server, $NATS_SERVER or one on PATH).

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { natsServerBinary } from '../../adapters/nats/cluster/cluster.js';

/** Why nats-server cannot run here, or undefined when it can. */
export function missingNatsPrerequisite(): string | undefined {
  const binary = natsServerBinary();
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (version.error !== undefined) return `nats-server was not found ("${binary}")`;
  if (version.status !== 0) return `"${binary} --version" failed with exit code ${version.status ?? 'none'}`;
  return undefined;
}

/**
 * Whether the NATS tests of a file are skipped: only when nats-server is missing and this is not
 * CI, where a nats-server that cannot start must fail the build instead. A skip is printed with
 * its reason.
 */
export function natsSkip(what: string): { readonly skip: boolean; readonly title: (title: string) => string } {
  const missing = missingNatsPrerequisite();
  const skip = missing !== undefined && process.env.CI !== 'true';
  if (skip) {
    console.warn(`[test/nats] SKIPPED ${what}: ${missing}. Install it with "apt-get install nats-server" or set NATS_SERVER.`);
  }
  return { skip, title: (title: string) => (skip ? `${title} (skipped: ${missing})` : title) };
}

export interface FoundProcess {
  readonly pid: number;
  readonly commandLine: string;
}

/** Every process other than this one whose command line passes the test. */
export function processesWhere(test: (commandLine: string) => boolean): FoundProcess[] {
  const found: FoundProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (test(commandLine)) found.push({ pid: Number(entry), commandLine });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Every process whose command line names the folder: the servers, and the watchdog shells of owned nodes. */
export function processesUsing(dir: string): FoundProcess[] {
  return processesWhere((commandLine) => commandLine.includes(dir));
}
