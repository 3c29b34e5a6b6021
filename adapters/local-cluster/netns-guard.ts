// Network namespaces, veths and bridges outlive the process that made them: the kernel keeps a
// named namespace as long as its bind mount under /run/netns exists, and a bridge until someone
// deletes it. An owned cluster's network therefore gets a guard, in the manner of the nodes'
// watchdogs (watchdog.ts): a tiny shell that removes the network once this process's end of a
// pipe closes, which happens however this process ends, SIGKILL included. A network that is to
// outlive its owner (a detached cluster) releases its guard, and `stop` or the next start in the
// same folder removes it instead (removeNetns, by the prefix state.json records).

import { Socket } from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { NetnsError } from './netns-commands.js';

/**
 * Waits for a line on stdin. "keep" ends it without a trace; end of file (the owner is gone) or
 * anything else removes the links, then the namespaces. Deleting a root-side veth deletes its
 * peer inside the namespace too, so the nodes lose the network at once even while their own
 * watchdogs are still killing them. Each command has a deadline, as every command of ours has.
 * The names were checked against the cluster's prefix before they got here, and globbing is off,
 * so the unquoted lists split into exactly those names.
 */
const GUARD_SCRIPT = `
set -f
links="$1"; namespaces="$2"
read -r word || word=""
[ "$word" = keep ] && exit 0
for link in $links; do timeout 10 ip link del "$link" 2>/dev/null; done
for namespace in $namespaces; do timeout 10 ip netns del "$namespace" 2>/dev/null; done
exit 0
`;

/** What a guard removes when its owner ends. */
export interface GuardedNames {
  /** Root-namespace links: the veths first, the bridge last. */
  readonly links: readonly string[];
  readonly namespaces: readonly string[];
}

export class NetnsGuard {
  private released = false;

  private constructor(private readonly shell: ResultPromise) {}

  /**
   * Starts the guard. Its own session keeps a Ctrl-C in the terminal from reaching it before the
   * owner has decided what to do; neither it nor its pipe keeps the owner alive.
   */
  static start(names: GuardedNames): NetnsGuard {
    const shell = execa('sh', ['-c', GUARD_SCRIPT, 'netns-guard', names.links.join(' '), names.namespaces.join(' ')], {
      detached: true,
      stdin: 'pipe',
      stdout: 'ignore',
      stderr: 'ignore',
      reject: false,
      buffer: false,
    });
    if (shell.pid === undefined) throw new NetnsError('could not start the shell that removes the network namespaces when this process ends');
    shell.unref();
    if (shell.stdin instanceof Socket) shell.stdin.unref();
    // A guard that someone killed leaves a closed pipe; releasing it then must not crash the owner.
    shell.stdin?.on('error', () => undefined);
    return new NetnsGuard(shell);
  }

  /** The guard shell's pid, for tests that end the owner and watch the guard work. */
  get pid(): number | undefined {
    return this.shell.pid;
  }

  /** The network is to outlive this process, or was removed already: the guard ends doing nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.shell.stdin?.end('keep\n');
  }
}
