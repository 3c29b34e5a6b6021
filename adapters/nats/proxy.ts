// A TCP proxy between the producers and the nats-servers that can lose JetStream's answers to
// publishes (fault.drop-acks): the servers store the messages, and the producer never hears so.
//
// It reads the NATS protocol from the server to the client: every frame is a line ending in CRLF
// (INFO, PING, PONG, +OK, -ERR), except MSG and HMSG, whose line ends in the byte size of a payload
// that follows with a CRLF of its own (`MSG subject sid [reply] size`, `HMSG subject sid [reply]
// header-size total-size`). A PubAck is a message whose payload is JSON naming a stream and the
// sequence it stored the publish at; an armed drop swallows the next such answers of the streams
// the target node leads, wherever the producer is connected (the stream leader sends the answer
// through the server the client is connected to). The client's request then times out, and it
// publishes again. What the client sends passes unchanged.

import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';

export interface ProxyRoute {
  readonly nodeId: number;
  /** The node's address: its network namespace's own, when it has one. */
  readonly targetHost: string;
  /** The node's client port. */
  readonly targetPort: number;
}

export interface DroppedAnswer {
  readonly stream: string;
  readonly seq: number;
  /** The node the drop was armed for: the stream's leader when it was armed. */
  readonly nodeId: number;
}

export interface ProxyOptions {
  /** Where the proxy listens, on this machine. */
  readonly host: string;
  readonly routes: readonly ProxyRoute[];
  readonly onDrop: (dropped: DroppedAnswer) => void;
}

interface ArmedDrop {
  left: number;
  readonly streams: ReadonlySet<string>;
}

const CRLF = Buffer.from('\r\n');

/** The stream and sequence of a PubAck payload, or undefined for any other message. */
export function pubAckOf(payload: Buffer): { stream: string; seq: number } | undefined {
  if (payload.length === 0 || payload[0] !== 0x7b) return undefined;
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || 'error' in parsed) return undefined;
    if (!('stream' in parsed) || typeof parsed.stream !== 'string' || !('seq' in parsed) || typeof parsed.seq !== 'number') return undefined;
    return { stream: parsed.stream, seq: parsed.seq };
  } catch {
    return undefined;
  }
}

/**
 * Splits the server-to-client byte stream into frames and passes each on, or swallows it when
 * `drop` says so. Bytes of an incomplete frame wait for the rest.
 */
export class ServerStreamFilter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly forward: (bytes: Buffer) => void,
    private readonly drop: (payload: Buffer) => boolean,
  ) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = this.pending.indexOf(CRLF, at);
      if (lineEnd < 0) break;
      const line = this.pending.subarray(at, lineEnd).toString('latin1');
      const isMsg = line.startsWith('MSG ');
      const isHmsg = line.startsWith('HMSG ');
      if (!isMsg && !isHmsg) {
        out.push(this.pending.subarray(at, lineEnd + 2));
        at = lineEnd + 2;
        continue;
      }
      const fields = line.split(' ').filter((field) => field !== '');
      const total = Number(fields.at(-1));
      const headerBytes = isHmsg ? Number(fields.at(-2)) : 0;
      const frameEnd = lineEnd + 2 + total + 2;
      if (!Number.isInteger(total) || total < 0) {
        // Not a frame this parser understands: pass everything on untouched from here.
        out.push(this.pending.subarray(at));
        at = this.pending.length;
        break;
      }
      if (frameEnd > this.pending.length) break;
      const body = this.pending.subarray(lineEnd + 2 + headerBytes, lineEnd + 2 + total);
      if (!this.drop(body)) out.push(this.pending.subarray(at, frameEnd));
      at = frameEnd;
    }
    this.pending = Buffer.from(this.pending.subarray(at));
    if (out.length > 0) this.forward(Buffer.concat(out));
  }
}

export class NatsAckProxy {
  private readonly armed = new Map<number, ArmedDrop>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly servers: readonly { readonly nodeId: number; readonly server: Server; readonly port: number }[],
    private readonly options: ProxyOptions,
  ) {}

  /**
   * Listens on a port the kernel chooses for each route: nothing else is ever told these ports,
   * so, unlike the cluster's own, they cannot be taken by a fixed layout.
   */
  static async start(options: ProxyOptions): Promise<NatsAckProxy> {
    const servers: { nodeId: number; server: Server; port: number }[] = [];
    let proxy: NatsAckProxy | undefined;
    try {
      for (const route of options.routes) {
        const server = createServer((client) => proxy?.accept(client, route));
        const port = await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, options.host, () => {
            const address = server.address();
            resolve(typeof address === 'object' && address !== null ? address.port : 0);
          });
        });
        servers.push({ nodeId: route.nodeId, server, port });
      }
    } catch (error) {
      await Promise.all(servers.map(({ server }) => new Promise((resolve) => server.close(resolve))));
      throw error;
    }
    proxy = new NatsAckProxy(servers, options);
    return proxy;
  }

  /** host:port of the proxy in front of every node, in route order. */
  get addresses(): readonly string[] {
    return this.servers.map(({ port }) => `${this.options.host}:${port}`);
  }

  private accept(client: Socket, route: ProxyRoute): void {
    const upstream = connectTcp(route.targetPort, route.targetHost);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const filter = new ServerStreamFilter(
      (bytes) => client.write(bytes),
      (payload) => this.takeDrop(payload),
    );
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => filter.push(chunk));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }

  private takeDrop(payload: Buffer): boolean {
    if (this.armed.size === 0) return false;
    const ack = pubAckOf(payload);
    if (ack === undefined) return false;
    for (const [nodeId, drop] of this.armed) {
      if (!drop.streams.has(ack.stream)) continue;
      drop.left--;
      if (drop.left <= 0) this.armed.delete(nodeId);
      this.options.onDrop({ ...ack, nodeId });
      return true;
    }
    return false;
  }

  /** Loses the next `count` answers to publishes to the streams the node leads; says how many are armed. */
  arm(nodeId: number, count: number, streams: ReadonlySet<string>): number {
    const existing = this.armed.get(nodeId);
    const left = (existing?.left ?? 0) + count;
    this.armed.set(nodeId, { left, streams: new Set([...(existing?.streams ?? []), ...streams]) });
    return left;
  }

  /** Stops losing the node's answers; says how many were still to be lost. */
  disarm(nodeId: number): number {
    const left = this.armed.get(nodeId)?.left ?? 0;
    this.armed.delete(nodeId);
    return left;
  }

  async close(): Promise<void> {
    this.armed.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all(this.servers.map(({ server }) => new Promise((resolve) => server.close(resolve))));
  }
}
