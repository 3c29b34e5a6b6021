// Whether this machine can make real network partitions, and if not, why, in one line: an
// adapter that cannot leaves fault.partition undeclared and says so in its description, and the
// tests skip with the same line. The check builds a real two-node network, cuts and heals it, and
// removes it, because each piece can fail on its own: root without CAP_SYS_ADMIN in a container
// cannot mount /run/netns, a kernel without veth, bridges, HTB or the u32 classifier cannot cut.

import { oneLine, runCommand } from './netns-commands.js';
import { netnsPrefix } from './netns-plan.js';
import { removeNetns, setupNetns } from './netns.js';

const CHECK_TIMEOUT_MS = 10_000;

let availability: Promise<string | undefined> | undefined;

/** Why the platform and user cannot have network namespaces at all, before anything is run. */
export function platformReason(platform: NodeJS.Platform, uid: number | undefined): string | undefined {
  if (platform !== 'linux') return `network partitions need Linux network namespaces (this is ${platform})`;
  if (uid !== 0) return `network partitions need root: ip netns, veths, a bridge and tc change the machine's network (running as uid ${uid ?? 'unknown'})`;
  return undefined;
}

function message(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}

async function check(): Promise<string | undefined> {
  const reason = platformReason(process.platform, process.getuid?.());
  if (reason !== undefined) return reason;
  try {
    await runCommand('ip', ['netns', 'list'], { timeoutMs: CHECK_TIMEOUT_MS });
    await runCommand('tc', ['-V'], { timeoutMs: CHECK_TIMEOUT_MS });
  } catch (error) {
    return `network partitions need iproute2's ip netns and tc: ${message(error)}`;
  }
  // A prefix of this process's own, so two processes checking at once do not remove each other's.
  const prefix = netnsPrefix(`availability check of pid ${process.pid}`);
  try {
    const network = await setupNetns({ prefix, nodeCount: 2, commandTimeoutMs: CHECK_TIMEOUT_MS });
    try {
      await network.cut([[0], [1]]);
      await network.heal();
    } finally {
      await network.teardown();
    }
  } catch (error) {
    await removeNetns(prefix, CHECK_TIMEOUT_MS).catch(() => undefined);
    return `network namespaces do not work here: ${message(error)}`;
  }
  return undefined;
}

/**
 * Why real partitions cannot be made on this machine, in one line, or undefined when they can.
 * Checked once per process; the check takes a few hundred milliseconds, most of it removing the
 * veths again.
 */
export function netnsUnavailable(): Promise<string | undefined> {
  availability ??= check();
  return availability;
}
