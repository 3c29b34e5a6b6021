// What the command lines of the local clusters (kafka-cluster, nats-cluster) share: how they
// write, how they read a number option, how they report a failure, and how a module tells that
// node was asked to run it rather than a test importing it. Exit codes follow deliverycheck's.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** Bad arguments: reported with the usage text. */
export class UsageError extends Error {}

export function integerOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} needs a whole number, got "${value}"`);
  return Number(value);
}

/**
 * The command to run, or the exit code when there is none: 0 after --help, 2 when no command was
 * given (both print the usage text). More than one word is a usage error.
 */
export function commandWord(positionals: readonly string[], help: boolean, usage: string, io: CliIo): string | number {
  const command = positionals[0];
  if (help || command === undefined) {
    io.stdout.write(usage);
    return help ? 0 : 2;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  return command;
}

/**
 * Writes a failure as one line after the program's name, with the usage text after bad
 * arguments (ours, or parseArgs's, which are TypeErrors with a code), and returns exit code 2.
 */
export function reportFailure(error: unknown, program: string, usage: string, io: CliIo): number {
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
    io.stderr.write(`${program}: ${error.message}\n${usage}`);
  } else {
    io.stderr.write(`${program}: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  return 2;
}

/** True when the module at moduleUrl is the program node was asked to run, not one a test imported. */
export function invokedDirectly(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** The `stop` command's output, once the cluster's module has stopped it (or found none). */
export function reportStop(stopped: boolean, brokerName: string, dataDir: string, io: CliIo): number {
  io.stdout.write(stopped ? `stopped the ${brokerName} cluster in ${dataDir}\n` : `no ${brokerName} cluster recorded in ${dataDir}\n`);
  return 0;
}

/** The `status` command's output and exit code: 0 when every node serves, 1 otherwise or with no cluster. */
export function reportStatus<S extends { readonly nodes: readonly { readonly serving: boolean }[] }>(
  status: S | undefined,
  options: { readonly json: boolean; readonly brokerName: string; readonly dataDir: string; readonly format: (status: S) => string },
  io: CliIo,
): number {
  if (status === undefined) {
    io.stdout.write(options.json ? 'null\n' : `no ${options.brokerName} cluster recorded in ${options.dataDir}\n`);
    return 1;
  }
  io.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : options.format(status));
  return status.nodes.every((node) => node.serving) ? 0 : 1;
}
