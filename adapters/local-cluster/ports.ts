// Port checks before and during a start: a port already taken fails the start at once with a
// line saying which one, instead of a node that dies with "address in use" in its log; and an
// open port tells "not listening yet" apart from "listening but not serving".

import { createServer, Socket } from 'node:net';
import { ClusterError } from './errors.js';

/** Throws a ClusterError naming the first port that cannot be bound; `stopHint` says what to run. */
export async function assertPortsFree(host: string, ports: readonly number[], stopHint: string): Promise<void> {
  for (const port of ports) {
    const problem = await new Promise<string | undefined>((resolveCheck) => {
      const server = createServer();
      server.once('error', (error: NodeJS.ErrnoException) => resolveCheck(error.code ?? error.message));
      server.listen({ port, host, exclusive: true }, () => server.close(() => resolveCheck(undefined)));
    });
    if (problem !== undefined) {
      throw new ClusterError(
        `port ${host}:${port} is not free (${problem}); stop what uses it (a cluster started earlier stops with ` +
          `${stopHint}) or choose another base port`,
      );
    }
  }
}

/** True when something accepts TCP connections on the port, for telling "closed" from "not serving". */
export async function portOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolveOpen(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}
