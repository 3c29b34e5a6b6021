// A small Node program the network namespace tests run inside each namespace, and its remote
// control from the root namespace. The agent listens on a control port for one JSON request a
// line and on a sink port that records every line it receives. On request it tries a connection
// to an address (connected, refused, timed out), opens a lasting connection to another agent's
// sink, and writes on it, so a test sees from the root what passes between two namespaces and
// what does not, both for new connections and for established ones.

import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

export const CONTROL_PORT = 7000;
export const SINK_PORT = 7001;
/** Nothing listens there: before a cut a connect is refused at once, during one it times out. */
export const CLOSED_PORT = 7002;

/**
 * The agent, run as `node --input-type=module -e AGENT_SCRIPT MARKER LIFETIME_MS`. MARKER only
 * names the process on its command line, for the checks of processes.ts. The agent ends by itself
 * after LIFETIME_MS, so that a detached one outlives a killed test run by that long at most.
 */
export const AGENT_SCRIPT = `
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
setTimeout(() => process.exit(0), Number(process.argv[2]));
const received = [];
const links = new Map();
const attempt = ({ host, port, timeoutMs }, keep) => new Promise((resolve) => {
  const started = Date.now();
  const socket = connect({ host, port });
  const settle = (reply) => { clearTimeout(timer); resolve({ ...reply, elapsedMs: Date.now() - started }); };
  const timer = setTimeout(() => { socket.destroy(); settle({ outcome: 'timeout' }); }, timeoutMs);
  socket.once('connect', () => { if (keep) keep(socket); else socket.destroy(); settle({ outcome: 'connected' }); });
  socket.once('error', (error) => settle({ outcome: 'error', code: error.code }));
});
const handle = async (request) => {
  if (request.op === 'probe') return attempt(request);
  if (request.op === 'open') return attempt(request, (socket) => { socket.on('error', () => {}); links.set(request.name, socket); });
  if (request.op === 'send') {
    const socket = links.get(request.name);
    if (socket === undefined) return { outcome: 'error', code: 'NO_LINK' };
    socket.write(request.text + '\\n');
    return { outcome: 'written' };
  }
  if (request.op === 'received') return { lines: received };
  return { outcome: 'error', code: 'UNKNOWN_OP' };
};
createServer((socket) => {
  socket.on('error', () => {});
  createInterface({ input: socket }).on('line', (line) => received.push(line));
}).listen(${SINK_PORT}, '0.0.0.0');
createServer((socket) => {
  socket.on('error', () => {});
  let chain = Promise.resolve();
  createInterface({ input: socket }).on('line', (line) => {
    chain = chain.then(async () => socket.write(JSON.stringify(await handle(JSON.parse(line))) + '\\n'));
  });
}).listen(${CONTROL_PORT}, '0.0.0.0');
`;

export type Outcome = 'connected' | 'timeout' | 'error';

export interface AttemptReply {
  readonly outcome: Outcome;
  readonly code?: string;
  readonly elapsedMs: number;
}

/** The root namespace's end of an agent's control connection: one request at a time. */
export class AgentClient {
  private readonly replies: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly socket: Socket) {
    createInterface({ input: socket }).on('line', (line) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting !== undefined) waiting(line);
      else this.replies.push(line);
    });
  }

  /** Connects to the agent's control port, trying until it listens or the deadline passes. */
  static async connect(host: string, timeoutMs: number): Promise<AgentClient> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no attempt yet';
    while (Date.now() < deadline) {
      const socket = new Socket();
      const connected = await new Promise<boolean>((resolve) => {
        socket.setTimeout(Math.max(100, deadline - Date.now()), () => resolve(false));
        socket.once('connect', () => resolve(true));
        socket.once('error', (error: NodeJS.ErrnoException) => {
          last = error.code ?? error.message;
          resolve(false);
        });
        socket.connect(CONTROL_PORT, host);
      });
      if (connected) {
        socket.setTimeout(0);
        socket.on('error', () => undefined);
        return new AgentClient(socket);
      }
      socket.destroy();
      // Between two attempts on a refused port, so the polling does not spin a core.
      await delay(50);
    }
    throw new Error(`the agent at ${host}:${CONTROL_PORT} did not answer within ${timeoutMs} ms (${last})`);
  }

  private nextLine(timeoutMs: number): Promise<string> {
    const ready = this.replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`the agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  private request<T>(body: object, timeoutMs: number): Promise<T> {
    const next = this.queue.then(async () => {
      this.socket.write(`${JSON.stringify(body)}\n`);
      return JSON.parse(await this.nextLine(timeoutMs)) as T;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Tries a new connection from the agent's namespace; the answer comes after at most timeoutMs. */
  probe(host: string, port: number, timeoutMs: number): Promise<AttemptReply> {
    return this.request({ op: 'probe', host, port, timeoutMs }, timeoutMs + 5_000);
  }

  /** Opens a lasting connection, named `name`, from the agent to another agent's sink. */
  open(name: string, host: string, timeoutMs: number): Promise<AttemptReply> {
    return this.request({ op: 'open', name, host, port: SINK_PORT, timeoutMs }, timeoutMs + 5_000);
  }

  /** Writes a line on the lasting connection `name`. */
  async send(name: string, text: string): Promise<void> {
    const reply = await this.request<{ outcome: string; code?: string }>({ op: 'send', name, text }, 5_000);
    if (reply.outcome !== 'written') throw new Error(`the agent could not write on ${name}: ${reply.code ?? reply.outcome}`);
  }

  /** Every line the agent's sink has received so far. */
  async received(): Promise<readonly string[]> {
    return (await this.request<{ lines: string[] }>({ op: 'received' }, 5_000)).lines;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Polls until check() holds; fails naming what did not happen once timeoutMs has passed. */
export async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await delay(100);
  }
}
