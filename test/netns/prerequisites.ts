// What the network namespace tests need from the machine, checked once per test file: root and
// a working `ip netns` (netnsUnavailable builds, cuts and removes a real network to find out),
// and how they look at what the machine holds afterwards.

import { readdirSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { netnsUnavailable } from '../../adapters/local-cluster/netns-availability.js';
import { netnsPrefix } from '../../adapters/local-cluster/netns.js';
import { packageRoot } from '../../core/package-root.js';

const COMMAND_TIMEOUT_MS = 10_000;

/**
 * Whether the tests of a file are skipped: when this machine cannot make partitions, except as
 * root under CI=true, where that means a broken machine and the tests must run and fail. A skip
 * is printed with its reason, and each title carries it.
 */
export async function netnsSkip(what: string): Promise<{ readonly skip: boolean; readonly title: (text: string) => string }> {
  const unavailable = await netnsUnavailable();
  const skip = unavailable !== undefined && !(process.env.CI === 'true' && process.getuid?.() === 0);
  if (skip) console.warn(`[test/netns] SKIPPED ${what}: ${unavailable}`);
  return { skip, title: (text: string) => (skip ? `${text} (skipped: ${unavailable ?? ''})` : text) };
}

/** Every namespace and root-namespace link whose name starts with the prefix, sorted. */
export async function namesStartingWith(prefix: string): Promise<string[]> {
  const namespaces = (await execa('ip', ['netns', 'list'], { timeout: COMMAND_TIMEOUT_MS })).stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '');
  const links = (await execa('ip', ['-o', 'link', 'show'], { timeout: COMMAND_TIMEOUT_MS })).stdout
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '');
  return [...namespaces, ...links].filter((name) => name.startsWith(prefix)).sort();
}

/**
 * A network prefix of this checkout and test: two checkouts testing at once keep apart, and the
 * next run of a test that was killed finds and removes what it left.
 */
export function testPrefix(test: string): string {
  return netnsPrefix(`${packageRoot()} test/netns ${test}`);
}

/** The pids of the guard shells (netns-guard.ts) that would remove the prefix's network. */
export function guardsOf(prefix: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (commandLine.includes('netns-guard') && commandLine.some((argument) => argument.includes(`${prefix}-`))) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
