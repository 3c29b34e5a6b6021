// Starting a broker process in one of two ways. Owned: under a tiny shell watchdog that kills it
// when this process's end of a pipe closes, which happens however this process ends, SIGKILL
// included, so an owner that dies leaves nothing behind. Detached: the shell becomes the broker,
// which then outlives this process with no pipe to it that could break later.

import { Socket } from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { ClusterError } from './errors.js';

/**
 * Runs a program and kills it when stdin reaches end of file, which happens when the owning
 * process ends in any way, SIGKILL included. Its first output line is the program's pid, so
 * signals go to the broker itself (a SIGSTOP to the shell would freeze nothing). It exits with the
 * program's status. Asynchronous commands of a non-interactive shell read /dev/null, hence the
 * copy of stdin on fd 3.
 */
const WATCHDOG_SCRIPT = `
log="$1"; shift
exec 3<&0
"$@" </dev/null >>"$log" 2>&1 3<&- &
child=$!
echo "$child"
( read -r _ <&3; kill -KILL "$child" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$child"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
`;

/** Starts a program that outlives this process: the shell redirects its output and becomes it. */
const DETACHED_SCRIPT = `
log="$1"; shift
exec "$@" </dev/null >>"$log" 2>&1
`;

/** What to run for one node, and where its standard output and error go. */
export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  /** The shell's $0, which `ps` shows for a watchdog, such as "kafka-node". */
  readonly label: string;
  /** Names the node in errors, such as "node 2". */
  readonly what: string;
}

/**
 * Starts a program that outlives this process and returns its pid. It gets its own session
 * (detached), so a Ctrl-C in the terminal does not reach it.
 */
export async function spawnDetached(launch: Launch): Promise<number> {
  const subprocess = execa('sh', ['-c', DETACHED_SCRIPT, launch.label, launch.logFile, launch.command, ...launch.args], {
    detached: true,
    stdio: 'ignore',
    reject: false,
    buffer: false,
  });
  subprocess.unref();
  if (subprocess.pid === undefined) {
    const result = await subprocess;
    throw new ClusterError(`could not start ${launch.what}: ${result.message}`);
  }
  return subprocess.pid;
}

/**
 * Starts a program under a watchdog and returns the program's pid with the watchdog, which ends
 * once the program has ended and been reaped. The watchdog gets its own session too, so a Ctrl-C
 * reaches this process, whose handlers decide, instead of reaching the broker directly.
 */
export async function spawnWatched(launch: Launch): Promise<{ readonly pid: number; readonly watchdog: ResultPromise }> {
  const watchdog = execa('sh', ['-c', WATCHDOG_SCRIPT, launch.label, launch.logFile, launch.command, ...launch.args], {
    detached: true,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'ignore',
    reject: false,
    buffer: false,
  });
  const pid = await new Promise<number>((resolvePid, rejectPid) => {
    let text = '';
    watchdog.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end < 0) return;
      const pid = Number(text.slice(0, end));
      if (Number.isInteger(pid) && pid > 0) resolvePid(pid);
      else rejectPid(new ClusterError(`the watchdog of ${launch.what} printed "${text.slice(0, end)}" instead of a pid`));
    });
    void watchdog.then((result) =>
      rejectPid(new ClusterError(`the watchdog of ${launch.what} ended before starting ${launch.command} (exit code ${result.exitCode})`)),
    );
  });
  // Neither the watchdog nor its pipes may keep this process alive: an owner that is done exits,
  // and its exit handler (or, failing that, the watchdog) ends the broker.
  watchdog.unref();
  for (const stream of [watchdog.stdin, watchdog.stdout]) {
    if (stream instanceof Socket) stream.unref();
  }
  return { pid, watchdog };
}
