// What the Kafka tests need from the machine, checked once per test file before any test: Java 17
// or newer, and either the cached Kafka jars or Maven to fetch them.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultKafkaCacheDir, DEFAULT_KAFKA_VERSION, javaCommand, parseJavaMajor } from '../../adapters/kafka/cluster/fetch.js';

/** Why Kafka cannot run here, or undefined when it can. */
export function missingKafkaPrerequisite(): string | undefined {
  const java = spawnSync(javaCommand(), ['-version'], { encoding: 'utf8' });
  if (java.error !== undefined) return `Java was not found ("${javaCommand()}")`;
  const major = parseJavaMajor(`${java.stderr}${java.stdout}`);
  if (major === undefined || major < 17) return `Kafka 4 needs Java 17 or newer, found ${major ?? 'an unknown version'}`;
  const cached = existsSync(join(defaultKafkaCacheDir(), DEFAULT_KAFKA_VERSION, 'complete.json'));
  if (!cached && spawnSync('mvn', ['-v'], { encoding: 'utf8' }).error !== undefined) {
    return 'Maven was not found and the Kafka jars are not cached';
  }
  return undefined;
}

/**
 * Whether the Kafka tests of a file are skipped: only when something is missing and this is not
 * CI, where a Kafka that cannot start must fail the build instead. A skip is printed with its reason.
 */
export function kafkaSkip(what: string): { readonly skip: boolean; readonly title: (title: string) => string } {
  const missing = missingKafkaPrerequisite();
  const skip = missing !== undefined && process.env.CI !== 'true';
  if (skip) console.warn(`[test/kafka] SKIPPED ${what}: ${missing}. Install Java 17+ (and Maven, or cached jars) to run them.`);
  return { skip, title: (title: string) => (skip ? `${title} (skipped: ${missing})` : title) };
}

/** The pids of processes, other than this one, whose command line mentions the folder. */
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
