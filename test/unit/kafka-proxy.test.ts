// The kafka adapter's drop-acks proxy without Kafka: a fake broker that speaks the Kafka framing
// (size, then a request or answer header, then an opaque body) and cuts what it writes into
// small pieces, so frames and even headers reach the proxy split across reads. Requests and
// answers must pass intact; an armed drop swallows exactly the next answer to a Produce or commit
// request of that node and closes the connection; other answers pass; counts go down.

import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameScanner, KafkaProxy, ProxyFrameError, type DroppedAnswer } from '../../adapters/kafka/proxy.js';

const HOST = '127.0.0.1';
/** Every wait in this file ends by this; all of it is local sockets. */
const WAIT_MS = 10_000;

const PRODUCE = 0;
const FETCH = 1;
const METADATA = 3;
const END_TXN = 26;

function requestFrame(apiKey: number, correlationId: number, body: Buffer): Buffer {
  const frame = Buffer.alloc(12 + body.length);
  frame.writeInt32BE(8 + body.length, 0);
  frame.writeInt16BE(apiKey, 4);
  frame.writeInt16BE(7, 6);
  frame.writeInt32BE(correlationId, 8);
  body.copy(frame, 12);
  return frame;
}

function answerFrame(correlationId: number, body: Buffer): Buffer {
  const frame = Buffer.alloc(8 + body.length);
  frame.writeInt32BE(4 + body.length, 0);
  frame.writeInt32BE(correlationId, 4);
  body.copy(frame, 8);
  return frame;
}

/** Bytes that differ from frame to frame, so a misplaced byte cannot go unnoticed. */
function pattern(length: number, salt: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + salt * 7) & 0xff;
  return bytes;
}

/** A small deterministic generator for the cut points. */
function cutter(seed: number): (max: number) => number {
  let state = seed >>> 0;
  return (max) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return 1 + (state % max);
  };
}

/** Writes the bytes in pieces of 1..maxPiece bytes, each in its own turn of the event loop. */
async function writeInPieces(socket: Socket, bytes: Buffer, maxPiece: number, seed: number): Promise<void> {
  const next = cutter(seed);
  for (let at = 0; at < bytes.length; ) {
    const size = Math.min(next(maxPiece), bytes.length - at);
    socket.write(bytes.subarray(at, at + size));
    at += size;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Reads whole frames of one direction out of a byte stream. */
class FrameReader {
  private buffered = Buffer.alloc(0);
  readonly frames: Buffer[] = [];
  private waiting: (() => void) | undefined;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const end = 4 + this.buffered.readInt32BE(0);
        this.frames.push(this.buffered.subarray(0, end));
        this.buffered = this.buffered.subarray(end);
      }
      this.waiting?.();
    });
  }

  async waitFor(count: number): Promise<Buffer[]> {
    const deadline = Date.now() + WAIT_MS;
    while (this.frames.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.frames.length} of ${count} frames arrived`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.frames.slice(0, count);
  }
}

interface FakeBroker {
  readonly server: Server;
  readonly port: number;
  /** Every request frame the broker received, whole, in order. */
  readonly requests: Buffer[];
  /** The broker's side of every connection, for checking they end. */
  readonly sockets: Set<Socket>;
}

/**
 * A broker that answers every request except Produce with acks=0 (marked by a body starting
 * with 0xff, as the tests choose) with a body derived from the request, written in small pieces.
 */
async function fakeBroker(maxPiece: number): Promise<FakeBroker> {
  const requests: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    const reader = new FrameReader(socket);
    let answered = 0;
    let writing = Promise.resolve();
    socket.on('data', () => {
      while (answered < reader.frames.length) {
        const request = reader.frames[answered++] as Buffer;
        requests.push(request);
        if (request[12] === 0xff) continue;
        const answer = answerFrame(request.readInt32BE(8), expectedAnswerBody(request));
        // A large answer goes out in larger pieces, still cut unevenly, to keep the test quick.
        const piece = answer.length > 10_000 ? maxPiece * 1_000 : maxPiece;
        writing = writing.then(() => writeInPieces(socket, answer, piece, request.readInt32BE(8)));
      }
    });
  });
  server.listen({ host: HOST, port: 0 });
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the fake broker has no port');
  return { server, port: address.port, requests, sockets };
}

/** What the fake broker answers a request with: its api key and length, then a pattern. */
function expectedAnswerBody(request: Buffer): Buffer {
  const body = pattern(Math.max(0, request.length - 12) + 3, request.readInt32BE(8));
  body.writeInt16BE(request.readInt16BE(4), 0);
  return body;
}

async function connectTo(port: number): Promise<Socket> {
  const socket = connect({ host: HOST, port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  return socket;
}

/** Resolves when the socket has closed, or rejects at the deadline. */
async function closed(socket: Socket): Promise<void> {
  if (socket.closed) return;
  await Promise.race([
    once(socket, 'close'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('the connection did not close')), WAIT_MS).unref()),
  ]);
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(maxPiece = 5): Promise<{ broker: FakeBroker; proxy: KafkaProxy; port: number; drops: DroppedAnswer[]; problems: string[] }> {
  const broker = await fakeBroker(maxPiece);
  cleanups.push(async () => {
    for (const socket of broker.sockets) socket.destroy();
    await new Promise<void>((resolve) => broker.server.close(() => resolve()));
  });
  const drops: DroppedAnswer[] = [];
  const problems: string[] = [];
  const proxy = await KafkaProxy.start({
    host: HOST,
    routes: [{ nodeId: 2, listenPort: 0, targetPort: broker.port }],
    onDrop: (dropped) => drops.push(dropped),
    onProblem: (message) => problems.push(message),
  });
  cleanups.push(() => proxy.close());
  return { broker, proxy, port: proxy.portOf(2), drops, problems };
}

describe('FrameScanner', () => {
  it('finds every header however the stream is cut, forwards every byte, and copies only split headers', () => {
    const frames = [requestFrame(PRODUCE, 1, pattern(40, 1)), requestFrame(METADATA, 2, Buffer.alloc(0)), requestFrame(FETCH, 3, pattern(1_000, 3))];
    const stream = Buffer.concat(frames);
    for (let seed = 1; seed <= 50; seed++) {
      const seen: number[] = [];
      const scanner = new FrameScanner(12, 1 << 20, (header) => {
        seen.push(header.readInt32BE(8));
        return true;
      });
      const next = cutter(seed);
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = Math.min(next(seed % 3 === 0 ? 3 : 64), stream.length - at);
        const { forward, swallowed } = scanner.scan(stream.subarray(at, at + size));
        expect(swallowed).toBe(false);
        out.push(...forward);
        at += size;
      }
      expect(seen).toEqual([1, 2, 3]);
      expect(Buffer.concat(out).equals(stream)).toBe(true);
    }
  });

  it('stops at a swallowed frame and forwards only what came before it', () => {
    const stream = Buffer.concat([answerFrame(1, pattern(10, 1)), answerFrame(2, pattern(10, 2)), answerFrame(3, pattern(10, 3))]);
    const scanner = new FrameScanner(8, 1 << 20, (header) => header.readInt32BE(4) !== 2);
    const { forward, swallowed } = scanner.scan(stream);
    expect(swallowed).toBe(true);
    expect(Buffer.concat(forward).equals(answerFrame(1, pattern(10, 1)))).toBe(true);
  });

  it('refuses a frame whose size cannot be', () => {
    const bad = Buffer.alloc(12);
    bad.writeInt32BE(-5, 0);
    expect(() => new FrameScanner(12, 1 << 20, () => true).scan(bad)).toThrow(ProxyFrameError);
    bad.writeInt32BE(2 << 20, 0);
    expect(() => new FrameScanner(12, 1 << 20, () => true).scan(bad)).toThrow(/frame of 2097152 bytes/);
  });
});

describe('KafkaProxy against a fake broker', () => {
  it('forwards requests and answers intact across arbitrary chunk boundaries, a large one included', async () => {
    const { broker, port, drops } = await setUp(7);
    const client = await connectTo(port);
    const answers = new FrameReader(client);
    const requests = Array.from({ length: 30 }, (_, index) =>
      requestFrame([PRODUCE, FETCH, METADATA][index % 3] as number, 100 + index, pattern(index === 17 ? 300_000 : index * 13, index)),
    );
    // Requests go out pipelined, cut at odd places; the broker's answers come back cut as well.
    await writeInPieces(client, Buffer.concat(requests.slice(0, 17)), 11, 5);
    client.write(requests[17] as Buffer);
    await writeInPieces(client, Buffer.concat(requests.slice(18)), 3, 9);
    const received = await answers.waitFor(30);
    expect(broker.requests.map((frame) => frame.toString('hex'))).toEqual(requests.map((frame) => frame.toString('hex')));
    received.forEach((answer, index) => {
      const request = requests[index] as Buffer;
      expect(answer.equals(answerFrame(request.readInt32BE(8), expectedAnswerBody(request)))).toBe(true);
    });
    expect(drops).toEqual([]);
    client.destroy();
  });

  it('swallows exactly the next answer to a Produce request of an armed node and closes the connection both ways', async () => {
    const { broker, proxy, port, drops } = await setUp();
    expect(proxy.arm(2, 1)).toBe(1);
    const client = await connectTo(port);
    const answers = new FrameReader(client);
    // Metadata and Fetch pass while the drop waits for a Produce.
    client.write(Buffer.concat([requestFrame(METADATA, 1, pattern(5, 1)), requestFrame(FETCH, 2, pattern(9, 2))]));
    expect((await answers.waitFor(2)).map((frame) => frame.readInt32BE(4))).toEqual([1, 2]);
    expect(proxy.armedFor(2)).toBe(1);

    client.write(requestFrame(PRODUCE, 3, pattern(20, 3)));
    await closed(client);
    expect(answers.frames).toHaveLength(2);
    // The broker did the work: it got the request whose answer was lost.
    expect(broker.requests.map((frame) => frame.readInt32BE(8))).toEqual([1, 2, 3]);
    expect(drops).toEqual([{ nodeId: 2, apiKey: PRODUCE, apiName: 'Produce', correlationId: 3, remaining: 0 }]);
    expect(proxy.armedFor(2)).toBe(0);
    // The broker's side of the connection is closed too.
    await expect.poll(() => broker.sockets.size, { timeout: WAIT_MS }).toBe(0);
    await expect.poll(() => proxy.connectionCount, { timeout: WAIT_MS }).toBe(0);

    // Disarmed, the next Produce is answered.
    const again = await connectTo(port);
    const againAnswers = new FrameReader(again);
    again.write(requestFrame(PRODUCE, 4, pattern(20, 4)));
    expect((await againAnswers.waitFor(1))[0]?.readInt32BE(4)).toBe(4);
    again.destroy();
  });

  it('delivers the answers that came before the swallowed one, pairs answers past requests that get none, and counts down', async () => {
    const { proxy, port, drops } = await setUp();
    proxy.arm(2, 1);
    expect(proxy.arm(2, 1)).toBe(2);
    const client = await connectTo(port);
    const answers = new FrameReader(client);
    // Correlation 10 is a Produce with acks=0 (the fake broker does not answer 0xff bodies): the
    // drop must wait for the Produce that gets an answer, correlation 12.
    const noAnswer = Buffer.concat([Buffer.from([0xff]), pattern(7, 10)]);
    client.write(Buffer.concat([requestFrame(PRODUCE, 10, noAnswer), requestFrame(METADATA, 11, pattern(4, 11)), requestFrame(PRODUCE, 12, pattern(30, 12))]));
    await closed(client);
    expect(answers.frames.map((frame) => frame.readInt32BE(4))).toEqual([11]);
    expect(drops.map((dropped) => [dropped.correlationId, dropped.remaining])).toEqual([[12, 1]]);

    const second = await connectTo(port);
    second.write(requestFrame(END_TXN, 1, pattern(6, 1)));
    await closed(second);
    expect(drops.map((dropped) => [dropped.apiName, dropped.correlationId, dropped.remaining])).toEqual([
      ['Produce', 12, 1],
      ['EndTxn', 1, 0],
    ]);
    expect(proxy.armedFor(2)).toBe(0);
  });

  it('disarms, ends every connection when closed, and then refuses new ones', async () => {
    const { proxy, port, drops } = await setUp();
    proxy.arm(2, 3);
    expect(proxy.disarm(1)).toBe(0);
    expect(proxy.disarm(2)).toBe(3);
    expect(proxy.armedFor(2)).toBe(0);
    const client = await connectTo(port);
    const answers = new FrameReader(client);
    client.write(requestFrame(PRODUCE, 1, pattern(3, 1)));
    await answers.waitFor(1);
    expect(drops).toEqual([]);
    expect(proxy.connectionCount).toBe(1);
    await proxy.close();
    await closed(client);
    expect(proxy.connectionCount).toBe(0);
    const refused = connect({ host: HOST, port });
    await expect(once(refused, 'connect')).rejects.toThrow(/ECONNREFUSED/);
    await proxy.close();
  });

  it('closes the client connection when the broker is down, and a connection that sends a malformed frame', async () => {
    const { broker, port, problems } = await setUp();
    const client = await connectTo(port);
    client.on('error', () => undefined);
    const bad = Buffer.alloc(12);
    bad.writeInt32BE(-1, 0);
    client.write(bad);
    await closed(client);
    expect(problems).toEqual([expect.stringMatching(/^node 2: closed a connection after a frame of -1 bytes .* from a client$/)]);

    for (const socket of broker.sockets) socket.destroy();
    await new Promise<void>((resolve) => broker.server.close(() => resolve()));
    const orphan = await connectTo(port);
    orphan.on('error', () => undefined);
    await closed(orphan);
  });

  it('fails to start with the node and port it cannot listen on named', async () => {
    const { port } = await setUp();
    await expect(KafkaProxy.start({ host: HOST, routes: [{ nodeId: 1, listenPort: 0, targetPort: 1 }, { nodeId: 2, listenPort: port, targetPort: 1 }] })).rejects.toThrow(
      new RegExp(`node 2 cannot listen on ${HOST}:${port}: .*EADDRINUSE`),
    );
  });
});
