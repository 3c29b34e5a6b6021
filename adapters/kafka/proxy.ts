// A TCP proxy between the kafka adapter's clients and the brokers of the local cluster, for the
// drop-acks fault: a broker does the work a request asks for, and its answer never reaches the
// client.
//
// Each node gets a listening socket on its proxy port that forwards every connection to the
// node's EXTERNAL listener (cluster/cluster.ts). That listener advertises the proxy ports, so a
// client bootstrapped through the proxy learns only proxy addresses and all of its traffic passes
// here. The proxy reads just enough of the Kafka framing to pair answers with requests:
//
//   client -> broker  int32 size, int16 apiKey, int16 apiVersion, int32 correlationId, ...
//   broker -> client  int32 size, int32 correlationId, ...
//
// Bytes stream through as they arrive; only the few header bytes of a frame split across two
// reads are held and copied. When a drop is armed for a node, the next answer that node gives to
// a Produce request or to a transaction or offset commit request is swallowed and the connection
// is closed both ways. On TCP that is what a lost acknowledgment looks like: the broker has done
// the write, and the client sees its connection end before the answer came, takes the request as
// failed, and retries it on a new connection (or gives up).
//
// Unlike the reference broker, which loses only successful answers, the proxy loses the next
// matching answer whatever it says: telling success from an error code would mean decoding every
// version of six response bodies, and an error answer lost makes the client retry just the same.

import { connect, createServer, type Server, type Socket } from 'node:net';

/** The requests whose answers a drop swallows: writes, and what commits a transaction or offsets. */
export const DROPPABLE_API_KEYS: ReadonlyMap<number, string> = new Map([
  [0, 'Produce'],
  [8, 'OffsetCommit'],
  [24, 'AddPartitionsToTxn'],
  [25, 'AddOffsetsToTxn'],
  [26, 'EndTxn'],
  [28, 'TxnOffsetCommit'],
]);

/** int32 size, int16 apiKey, int16 apiVersion, int32 correlationId. */
const REQUEST_HEADER_BYTES = 12;
/** int32 size, int32 correlationId. */
const RESPONSE_HEADER_BYTES = 8;
/**
 * A frame larger than this is taken for garbage and ends the connection. Frames stream through
 * and are never buffered whole, so this is a sanity bound, set above the brokers' own 100 MiB
 * socket.request.max.bytes and kafkajs's largest fetch.
 */
const DEFAULT_MAX_FRAME_BYTES = 128 * 1024 * 1024;
/**
 * Requests remembered per connection until their answers pass. Kafka answers the requests of a
 * connection in order, so an answer also retires every older request still remembered: those had
 * no answer coming (Produce with acks=0). The bound covers a long run of such requests.
 */
const MAX_REMEMBERED_REQUESTS = 1_024;
/** The kafkajs clients connect to one proxy port per broker: a few dozen connections at most. */
const DEFAULT_MAX_CONNECTIONS = 512;
/** Longer than kafkajs's own 3 s connection timeout, so the client gives up first and says why. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** How long a closing connection may take to flush what was forwarded before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

export interface ProxyRoute {
  readonly nodeId: number;
  /** The port the proxy listens on for this node (the port its EXTERNAL listener advertises); 0 lets the system choose. */
  readonly listenPort: number;
  /** The node's EXTERNAL listener, where the proxy forwards to. */
  readonly targetPort: number;
}

export interface DroppedAnswer {
  readonly nodeId: number;
  readonly apiKey: number;
  /** The request's name, such as Produce or EndTxn. */
  readonly apiName: string;
  readonly correlationId: number;
  /** How many answers of this node are still to be dropped after this one. */
  readonly remaining: number;
}

export interface KafkaProxyOptions {
  /** Where the proxy listens and where the brokers are, such as 127.0.0.1. */
  readonly host: string;
  readonly routes: readonly ProxyRoute[];
  /** Called for every answer the proxy swallowed. */
  readonly onDrop?: (dropped: DroppedAnswer) => void;
  /** Called for a connection the proxy ended on its own account, such as for a malformed frame. */
  readonly onProblem?: (message: string) => void;
  readonly connectTimeoutMs?: number;
  readonly maxConnections?: number;
  readonly maxFrameBytes?: number;
}

export class ProxyFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyFrameError';
  }
}

/**
 * Finds the frames in a byte stream and passes their header to `onHeader`, which says whether the
 * frame goes on (true) or is swallowed (false). scan() returns the parts of a read to forward:
 * pieces of the read itself (no copy), and a copy of a header only when it straddled two reads.
 */
export class FrameScanner {
  /** The header of the next frame, while it arrives over more than one read. */
  private readonly held: Buffer;
  private heldBytes = 0;
  /** Bytes of the current frame still to come after its header. */
  private bodyRemaining = 0;

  /**
   * @param headerBytes how many bytes from the frame start (size field included) onHeader needs
   * @param onHeader sees the frame's first headerBytes bytes; valid only during the call
   */
  constructor(
    private readonly headerBytes: number,
    private readonly maxFrameBytes: number,
    private readonly onHeader: (header: Buffer) => boolean,
  ) {
    this.held = Buffer.alloc(headerBytes);
  }

  /** The pieces of `chunk` to forward, and whether a frame was swallowed (nothing after it is read). */
  scan(chunk: Buffer): { readonly forward: Buffer[]; readonly swallowed: boolean } {
    const forward: Buffer[] = [];
    /** Where the run of this read's bytes still to forward began. */
    let runStart = 0;
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyRemaining > 0) {
        const step = Math.min(this.bodyRemaining, chunk.length - at);
        this.bodyRemaining -= step;
        at += step;
        continue;
      }
      if (this.heldBytes === 0 && chunk.length - at >= this.headerBytes) {
        // The whole header is in this read: look at it in place; it stays in the run.
        if (!this.startFrame(chunk.subarray(at, at + this.headerBytes))) {
          pushPiece(forward, chunk.subarray(runStart, at));
          return { forward, swallowed: true };
        }
        at += this.headerBytes;
        continue;
      }
      // A header split across reads: forward what came before it and keep its bytes aside.
      if (this.heldBytes === 0) pushPiece(forward, chunk.subarray(runStart, at));
      const take = Math.min(this.headerBytes - this.heldBytes, chunk.length - at);
      chunk.copy(this.held, this.heldBytes, at, at + take);
      this.heldBytes += take;
      at += take;
      runStart = at;
      if (this.heldBytes === this.headerBytes) {
        this.heldBytes = 0;
        if (!this.startFrame(this.held)) return { forward, swallowed: true };
        // The held buffer is reused for the next split header, so what is forwarded is a copy.
        forward.push(Buffer.from(this.held));
      }
    }
    pushPiece(forward, chunk.subarray(runStart, chunk.length));
    return { forward, swallowed: false };
  }

  /** Checks a frame's header and lets onHeader decide; the body is counted from here. */
  private startFrame(header: Buffer): boolean {
    const size = header.readInt32BE(0);
    const afterSize = this.headerBytes - 4;
    if (size < afterSize || size > this.maxFrameBytes) {
      throw new ProxyFrameError(`a frame of ${size} bytes (expected ${afterSize} to ${this.maxFrameBytes})`);
    }
    if (!this.onHeader(header)) return false;
    this.bodyRemaining = size - afterSize;
    return true;
  }
}

function pushPiece(pieces: Buffer[], piece: Buffer): void {
  if (piece.length > 0) pieces.push(piece);
}

/** What a connection asks of its proxy: whether to swallow an answer of its node. */
interface DropDecider {
  takeDrop(nodeId: number, apiKey: number, correlationId: number): boolean;
  forget(connection: ProxyConnection): void;
  problem(message: string): void;
}

/** One client connection and its connection to the broker. */
class ProxyConnection {
  private readonly upstream: Socket;
  /** Requests sent and not yet answered: correlation id to api key, oldest first. */
  private readonly inFlight = new Map<number, number>();
  private readonly requests: FrameScanner;
  private readonly responses: FrameScanner;
  private closing = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private socketsOpen = 2;

  constructor(
    private readonly client: Socket,
    private readonly route: ProxyRoute,
    host: string,
    options: { readonly connectTimeoutMs: number; readonly maxFrameBytes: number },
    private readonly decider: DropDecider,
  ) {
    this.requests = new FrameScanner(REQUEST_HEADER_BYTES, options.maxFrameBytes, (header) => {
      this.remember(header.readInt32BE(8), header.readInt16BE(4));
      return true;
    });
    this.responses = new FrameScanner(RESPONSE_HEADER_BYTES, options.maxFrameBytes, (header) => this.passAnswer(header.readInt32BE(4)));

    client.setNoDelay(true);
    // Kafka is request and answer: Nagle's algorithm would hold small answers back for tens of ms.
    this.upstream = connect({ host, port: route.targetPort });
    this.upstream.setNoDelay(true);
    this.upstream.setTimeout(options.connectTimeoutMs, () => {
      this.decider.problem(`node ${route.nodeId}: no connection to port ${route.targetPort} within ${options.connectTimeoutMs} ms`);
      this.destroy();
    });
    this.upstream.once('connect', () => this.upstream.setTimeout(0));

    for (const [socket, other, scanner] of [
      [client, this.upstream, this.requests],
      [this.upstream, client, this.responses],
    ] as const) {
      socket.on('data', (chunk: Buffer) => this.relay(chunk, socket, other, scanner));
      // An error (a reset, a refused connection to a node that is down) ends both sides at once,
      // as the client would see it without the proxy; an orderly end is passed on after a flush.
      socket.on('error', () => this.destroy());
      socket.once('end', () => this.close());
      socket.once('close', () => {
        this.socketsOpen--;
        if (this.socketsOpen === 0) this.finished();
        else this.close();
      });
    }
  }

  private remember(correlationId: number, apiKey: number): void {
    this.inFlight.delete(correlationId);
    this.inFlight.set(correlationId, apiKey);
    if (this.inFlight.size > MAX_REMEMBERED_REQUESTS) {
      const oldest = this.inFlight.keys().next();
      if (oldest.done !== true) this.inFlight.delete(oldest.value);
    }
  }

  /** Whether the answer with this correlation id goes on to the client. */
  private passAnswer(correlationId: number): boolean {
    const apiKey = this.inFlight.get(correlationId);
    if (apiKey === undefined) return true;
    // Answers come in request order: the requests before this one will get none.
    for (const id of this.inFlight.keys()) {
      this.inFlight.delete(id);
      if (id === correlationId) break;
    }
    return !this.decider.takeDrop(this.route.nodeId, apiKey, correlationId);
  }

  private relay(chunk: Buffer, source: Socket, destination: Socket, scanner: FrameScanner): void {
    if (this.closing) return;
    let scanned: ReturnType<FrameScanner['scan']>;
    try {
      scanned = scanner.scan(chunk);
    } catch (error) {
      const direction = source === this.client ? 'from a client' : 'from the broker';
      this.decider.problem(`node ${this.route.nodeId}: closed a connection after ${error instanceof Error ? error.message : String(error)} ${direction}`);
      this.destroy();
      return;
    }
    let flowing = true;
    for (const piece of scanned.forward) flowing = destination.write(piece) && flowing;
    if (scanned.swallowed) {
      // The answers before the swallowed one are flushed to the client; nothing after it is sent.
      this.close();
      return;
    }
    // The destination's buffer is past its high-water mark: read no more until it drains, so
    // neither direction buffers more than a read beyond the socket's own limit.
    if (!flowing && !source.isPaused()) {
      source.pause();
      destination.once('drain', () => {
        if (!this.closing) source.resume();
      });
    }
  }

  /** Ends both sides after what was forwarded is flushed; destroys them if that takes too long. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.client.end();
    this.upstream.end();
    this.graceTimer = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    this.graceTimer.unref();
  }

  /** Ends both sides at once, discarding whatever is not yet sent. */
  destroy(): void {
    this.closing = true;
    this.client.destroy();
    this.upstream.destroy();
  }

  private finished(): void {
    clearTimeout(this.graceTimer);
    this.decider.forget(this);
  }
}

/** The proxy for every node of the local cluster; see the module comment. */
export class KafkaProxy implements DropDecider {
  private readonly armed = new Map<number, number>();
  private readonly connections = new Set<ProxyConnection>();
  private closed = false;

  private constructor(
    private readonly servers: readonly Server[],
    private readonly options: KafkaProxyOptions,
  ) {}

  /** Listens on every route's port; resolves once all listen, or fails with none left listening. */
  static async start(options: KafkaProxyOptions): Promise<KafkaProxy> {
    const servers: Server[] = [];
    const proxy = new KafkaProxy(servers, options);
    const connectionOptions = {
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    };
    try {
      for (const route of options.routes) {
        const server = createServer((client) => proxy.accept(client, route, connectionOptions));
        servers.push(server);
        server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
        await new Promise<void>((resolve, reject) => {
          const failed = (error: Error) =>
            reject(new Error(`the Kafka proxy for node ${route.nodeId} cannot listen on ${options.host}:${route.listenPort}: ${error.message}`));
          server.once('error', failed);
          server.listen({ host: options.host, port: route.listenPort, exclusive: true }, () => {
            server.off('error', failed);
            resolve();
          });
        });
        server.on('error', (error) => proxy.problem(`node ${route.nodeId}: the proxy on port ${route.listenPort} failed: ${error.message}`));
        // A proxy somebody forgot to close must not keep the process alive; close() is still owed.
        server.unref();
      }
    } catch (error) {
      await proxy.close();
      throw error;
    }
    return proxy;
  }

  private accept(client: Socket, route: ProxyRoute, connectionOptions: { connectTimeoutMs: number; maxFrameBytes: number }): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    this.connections.add(new ProxyConnection(client, route, this.options.host, connectionOptions, this));
  }

  /** Drops the next `count` answers of the node, on top of those still armed; says how many are armed now. */
  arm(nodeId: number, count: number): number {
    if (!this.options.routes.some((route) => route.nodeId === nodeId)) throw new Error(`the Kafka proxy has no node ${nodeId}`);
    if (!Number.isInteger(count) || count < 0) throw new Error(`a drop count must be a whole number, got ${count}`);
    const total = (this.armed.get(nodeId) ?? 0) + count;
    if (total > 0) this.armed.set(nodeId, total);
    return total;
  }

  /** How many answers of the node are still to be dropped. */
  armedFor(nodeId: number): number {
    return this.armed.get(nodeId) ?? 0;
  }

  /** Stops the node's armed drops; returns how many were still armed. */
  disarm(nodeId: number): number {
    const was = this.armed.get(nodeId) ?? 0;
    this.armed.delete(nodeId);
    return was;
  }

  /** The port the proxy listens on for the node: the route's, or the one the system chose for port 0. */
  portOf(nodeId: number): number {
    const at = this.options.routes.findIndex((route) => route.nodeId === nodeId);
    const address = this.servers[at]?.address();
    if (address === null || address === undefined || typeof address === 'string') throw new Error(`the Kafka proxy does not listen for node ${nodeId}`);
    return address.port;
  }

  /** How many client connections pass through the proxy now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  takeDrop(nodeId: number, apiKey: number, correlationId: number): boolean {
    const apiName = DROPPABLE_API_KEYS.get(apiKey);
    const count = this.armed.get(nodeId) ?? 0;
    if (apiName === undefined || count <= 0) return false;
    const remaining = count - 1;
    if (remaining > 0) this.armed.set(nodeId, remaining);
    else this.armed.delete(nodeId);
    this.options.onDrop?.({ nodeId, apiKey, apiName, correlationId, remaining });
    return true;
  }

  forget(connection: ProxyConnection): void {
    this.connections.delete(connection);
  }

  problem(message: string): void {
    this.options.onProblem?.(message);
  }

  /** Stops listening and ends every connection at once. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.armed.clear();
    for (const connection of this.connections) connection.destroy();
    this.connections.clear();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) {
              resolve();
              return;
            }
            // Every connection is destroyed above, so the close completes at once.
            server.close(() => resolve());
          }),
      ),
    );
  }
}
