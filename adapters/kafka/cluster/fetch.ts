// Fetches the Apache Kafka broker and its runtime dependencies from Maven Central into a local
// cache, so tests and benchmarks can start a real KRaft cluster without Docker or a Kafka
// download. Maven does the resolving: it already knows Maven Central, proxies and the user's
// ~/.m2 cache, and it resolves version conflicts the way Kafka's own build expects.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../../../core/package-root.js';

/**
 * The Kafka release used when none is named: the newest 4.x that Maven Central serves and that
 * runs on Java 17 (checked when this was written; 4.x brokers need Java 17 or newer).
 */
export const DEFAULT_KAFKA_VERSION = '4.4.0';
/** Kafka 4.x logs through SLF4J 1.7; this Log4j 2 binding writes those logs to a file. */
const LOG4J_VERSION = '2.25.4';
/** Pinned so Maven never has to look up "the latest plugin", which needs the network every time. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const MINIMUM_JAVA_MAJOR = 17;
const MARKER_FILE = 'complete.json';

/** A required program is absent or too old; the message is one line, fit for a terminal. */
export class ToolMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolMissingError';
  }
}

export interface FetchOptions {
  /** Kafka version, such as "4.4.0". */
  readonly version?: string;
  /** The folder holding one folder per version; default `<package>/.cache/kafka`. */
  readonly cacheDir?: string;
  /** Progress lines for a human; silent when absent. */
  readonly log?: (line: string) => void;
  /** A cold fetch downloads about 45 MB; give up after this long. */
  readonly timeoutMs?: number;
}

export interface KafkaInstall {
  readonly version: string;
  /** The folder of jars; the JVM class path is `<libDir>/*`. */
  readonly libDir: string;
  readonly jars: readonly string[];
  /** False when the cache was already complete. */
  readonly fetched: boolean;
  readonly durationMs: number;
}

interface Marker {
  readonly version: string;
  readonly jars: readonly string[];
  readonly fetchedAt: string;
}

/** The JVM class path of an install: every jar of its lib folder (the JVM expands the `*`). */
export function kafkaClasspath(install: Pick<KafkaInstall, 'libDir'>): string {
  return join(install.libDir, '*');
}

export function defaultKafkaCacheDir(): string {
  return join(packageRoot(), '.cache', 'kafka');
}

/** The java launcher to use: `$JAVA_HOME/bin/java` when JAVA_HOME is set, the one on PATH otherwise. */
export function javaCommand(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.JAVA_HOME;
  return home !== undefined && home !== '' ? join(home, 'bin', 'java') : 'java';
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

/** Parses the major version from `java -version` output ("17.0.15", or "1.8.0_392" for Java 8). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** Checks that Java 17+ runs; returns its major version or throws a one-line ToolMissingError. */
export async function checkJava(java: string = javaCommand()): Promise<number> {
  let output: string;
  try {
    const result = await execa(java, ['-version'], { all: true, timeout: 30_000 });
    output = result.all;
  } catch (error) {
    if (isNotFound(error)) {
      throw new ToolMissingError(
        `Java ${MINIMUM_JAVA_MAJOR}+ is required to run Kafka but "${java}" was not found; install a JDK or set JAVA_HOME`,
      );
    }
    throw new ToolMissingError(`"${java} -version" failed: ${firstLine(error)}`);
  }
  const major = parseJavaMajor(output);
  if (major === undefined || major < MINIMUM_JAVA_MAJOR) {
    throw new ToolMissingError(
      `Java ${MINIMUM_JAVA_MAJOR}+ is required to run Kafka 4, "${java}" is ${major === undefined ? 'of unknown version' : `Java ${major}`}`,
    );
  }
  return major;
}

/** Checks that Maven runs, or throws a one-line ToolMissingError. */
export async function checkMaven(): Promise<void> {
  try {
    await execa('mvn', ['-v', '-B'], { timeout: 60_000 });
  } catch (error) {
    if (isNotFound(error)) {
      throw new ToolMissingError('Maven (mvn) is required to fetch the Kafka jars but was not found on PATH; install Maven 3.6+');
    }
    throw new ToolMissingError(`"mvn -v" failed: ${firstLine(error)}`);
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

function dependency(groupId: string, artifactId: string, version: string, exclusions: readonly string[]): string {
  const excluded = exclusions
    .map((coordinate) => {
      const [group, artifact] = coordinate.split(':');
      return `        <exclusion><groupId>${group}</groupId><artifactId>${artifact}</artifactId></exclusion>`;
    })
    .join('\n');
  return [
    '    <dependency>',
    `      <groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version>`,
    ...(excluded === '' ? [] : ['      <exclusions>', excluded, '      </exclusions>']),
    '    </dependency>',
  ].join('\n');
}

/**
 * The throwaway project whose runtime dependencies are the Kafka server, its tools and a Log4j 2
 * backend. kafka_2.13 brings the KRaft server (kafka-server, kafka-metadata, kafka-raft,
 * kafka-storage and the coordinators) and kafka.tools.StorageTool; kafka-tools brings
 * ProducerPerformance for the benchmarks.
 */
export function renderPom(version: string): string {
  // Some Kafka 4.x modules publish Mockito and JUnit as runtime dependencies by mistake; a broker
  // never needs them. kafka-tools depends on Kafka Connect for its Connect-specific commands,
  // which would add some thirty jars (Jetty, Jersey) that ProducerPerformance never loads.
  const testOnly = ['org.mockito:*', 'org.junit.jupiter:*', 'org.junit.platform:*'];
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deliverycheck to fetch a local Kafka ${version}; safe to delete. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>deliverycheck.local</groupId>
  <artifactId>kafka-cluster-libs</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${dependency('org.apache.kafka', 'kafka_2.13', version, testOnly)}
${dependency('org.apache.kafka', 'kafka-tools', version, [...testOnly, 'org.apache.kafka:connect-runtime'])}
${dependency('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION, [])}
${dependency('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION, [])}
  </dependencies>
</project>
`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}

/** Removes the staging folders of fetches whose process died before it could clean up. */
async function removeAbandonedStaging(versionDir: string): Promise<void> {
  for (const name of await readdir(versionDir)) {
    const match = /^lib\.partial-(\d+)$/.exec(name);
    if (match !== null && !processAlive(Number(match[1]))) {
      await rm(join(versionDir, name), { recursive: true, force: true });
    }
  }
}

async function readMarker(versionDir: string): Promise<Marker | undefined> {
  try {
    return JSON.parse(await readFile(join(versionDir, MARKER_FILE), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/** A cache is complete when its marker exists and every jar the marker lists is present. */
async function completeInstall(versionDir: string, version: string): Promise<readonly string[] | undefined> {
  const marker = await readMarker(versionDir);
  if (marker === undefined || marker.version !== version || marker.jars.length === 0) return undefined;
  const libDir = join(versionDir, 'lib');
  return marker.jars.every((jar) => existsSync(join(libDir, jar))) ? marker.jars : undefined;
}

/** Maven's advice that follows every failure, which says nothing about this one. */
const MAVEN_BOILERPLATE = /^\[ERROR\]\s*($|To see the full stack|Re-run Maven|For more information|\[Help \d+\])/;

/**
 * The part of Maven's output that says what failed, usually which artifact could not be
 * resolved. Colour codes are stripped first: Debian's Maven writes them even with colour off.
 */
export function mavenFailure(output: string): string {
  const lines = output
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
  const errors = lines.filter((line) => line.startsWith('[ERROR]') && !MAVEN_BOILERPLATE.test(line)).slice(0, 8);
  return (errors.length > 0 ? errors : lines.slice(-8)).join('\n');
}

/**
 * Makes sure `<cacheDir>/<version>/lib` holds the Kafka jars, fetching them with Maven when it
 * does not. Idempotent: a complete cache is used as it is. Jars land in a temporary folder that
 * is renamed into place, and the marker is written last, so an interrupted fetch never looks
 * complete.
 */
export async function ensureKafka(options: FetchOptions = {}): Promise<KafkaInstall> {
  const started = Date.now();
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const log = options.log ?? (() => undefined);
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`not a Kafka release version: "${version}"`);
  const versionDir = join(options.cacheDir ?? defaultKafkaCacheDir(), version);
  const libDir = join(versionDir, 'lib');

  const cached = await completeInstall(versionDir, version);
  if (cached !== undefined) {
    return { version, libDir, jars: cached, fetched: false, durationMs: Date.now() - started };
  }

  await checkMaven();
  await mkdir(versionDir, { recursive: true });
  await removeAbandonedStaging(versionDir);
  const workDir = await mkdtemp(join(tmpdir(), 'deliverycheck-kafka-fetch-'));
  const stagingDir = join(versionDir, `lib.partial-${process.pid}`);
  try {
    await rm(stagingDir, { recursive: true, force: true });
    await writeFile(join(workDir, 'pom.xml'), renderPom(version));
    log(`fetching Kafka ${version} and its dependencies from Maven Central into ${libDir}`);
    const result = await execa(
      'mvn',
      [
        '-q',
        '-B',
        '-Dstyle.color=never',
        '-f',
        join(workDir, 'pom.xml'),
        `${DEPENDENCY_PLUGIN}:copy-dependencies`,
        '-DincludeScope=runtime',
        `-DoutputDirectory=${stagingDir}`,
      ],
      { all: true, reject: false, timeout: options.timeoutMs ?? 15 * 60_000, cwd: workDir },
    );
    if (result.failed) {
      const reason = result.timedOut ? 'timed out' : `exited with code ${result.exitCode ?? 'unknown'}`;
      throw new Error(`fetching Kafka ${version} with Maven ${reason}:\n${mavenFailure(result.all ?? '')}`);
    }
    const jars = (await readdir(stagingDir)).filter((name) => name.endsWith('.jar')).sort();
    if (!jars.some((jar) => jar === `kafka_2.13-${version}.jar`)) {
      throw new Error(`Maven finished but kafka_2.13-${version}.jar is not among the fetched jars`);
    }
    // Another process may have completed the same fetch meanwhile; its jars may be in use by a
    // running cluster, so they are kept rather than replaced.
    const completedMeanwhile = await completeInstall(versionDir, version);
    if (completedMeanwhile !== undefined) {
      return { version, libDir, jars: completedMeanwhile, fetched: true, durationMs: Date.now() - started };
    }
    await rm(libDir, { recursive: true, force: true });
    await rename(stagingDir, libDir);
    const marker: Marker = { version, jars, fetchedAt: new Date().toISOString() };
    await writeFile(join(versionDir, MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
    const durationMs = Date.now() - started;
    log(`fetched ${jars.length} jars in ${(durationMs / 1000).toFixed(1)} s`);
    return { version, libDir, jars, fetched: true, durationMs };
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await rm(stagingDir, { recursive: true, force: true });
  }
}
