// Just enough of the Kafka wire protocol to ask a broker "are you serving, and which brokers do
// you see?" without a client library. Readiness of a local cluster needs exactly this: an open
// port only says the JVM bound a socket, while a Metadata answer says the broker finished
// starting, was unfenced by the controller quorum and knows its peers.
//
// Only three requests are spoken: ApiVersions v0 (every broker answers it, whatever its version,
// so it tells us which Metadata versions this broker accepts), Metadata v4..v8 (the newest
// versions before the flexible encoding, so no compact arrays or tagged fields are needed), and
// ListOffsets v1..v5 for one replica's log end. The same Metadata answer also names a topic's
// partition leaders and ISR, which fault injection needs.

import { Socket } from 'node:net';

const API_KEY_LIST_OFFSETS = 2;
const API_KEY_METADATA = 3;
const API_KEY_API_VERSIONS = 18;
/** The ListOffsets versions spoken: v1 has replica_id and one timestamp per partition, v6 went flexible. */
const LIST_OFFSETS_MIN_VERSION = 1;
const LIST_OFFSETS_MAX_VERSION = 5;
/**
 * The replica id Kafka reserves for debugging tools: a broker answers it from its own replica,
 * leader or follower, and, as for another broker, with the log end offset rather than the high
 * watermark a consumer (replica id -1) would get.
 */
const DEBUGGING_REPLICA_ID = -2;
/** The timestamp that asks ListOffsets for the latest offset. */
const LATEST_TIMESTAMP = -1n;
/** The Metadata versions this encoder speaks: v4 added allow_auto_topic_creation, v9 went flexible. */
const METADATA_MIN_VERSION = 4;
const METADATA_MAX_VERSION = 8;
const CLIENT_ID = 'deliverycheck-cluster';
/** A response bigger than this is not the small answer we asked for; refuse rather than buffer it. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface BrokerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface ClusterView {
  readonly clusterId: string | null;
  readonly controllerId: number;
  /** The brokers this node knows as registered and unfenced, by node id. */
  readonly brokers: readonly BrokerAddress[];
  /** The Metadata version that was used, for diagnostics. */
  readonly metadataVersion: number;
}

export class KafkaProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaProtocolError';
  }
}

/** Writes the big-endian primitives of the classic (non-flexible) Kafka encoding. */
class Writer {
  private readonly chunks: Buffer[] = [];

  int8(value: number): this {
    const buffer = Buffer.alloc(1);
    buffer.writeInt8(value);
    this.chunks.push(buffer);
    return this;
  }

  int16(value: number): this {
    const buffer = Buffer.alloc(2);
    buffer.writeInt16BE(value);
    this.chunks.push(buffer);
    return this;
  }

  int32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32BE(value);
    this.chunks.push(buffer);
    return this;
  }

  int64(value: bigint): this {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64BE(value);
    this.chunks.push(buffer);
    return this;
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    const bytes = Buffer.from(value, 'utf8');
    this.int16(bytes.length);
    this.chunks.push(bytes);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Reads the same primitives, failing with a protocol error instead of a RangeError on short input. */
export class Reader {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) {
      throw new KafkaProtocolError(`response ended early at byte ${this.offset} (needed ${bytes} more)`);
    }
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** An int64 as a number: offsets stay far below 2^53. */
  int64(): number {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return Number(value);
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    this.need(length);
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  int8(): number {
    this.need(1);
    const value = this.buffer.readInt8(this.offset);
    this.offset += 1;
    return value;
  }

  string(): string {
    const value = this.nullableString();
    if (value === null) throw new KafkaProtocolError('a non-nullable string was null');
    return value;
  }

  /** Reads an array length, refusing lengths the remaining bytes cannot possibly hold. */
  arrayLength(minimumItemBytes: number): number {
    const length = this.int32();
    if (length < 0) return 0;
    if (length * minimumItemBytes > this.buffer.length - this.offset) {
      throw new KafkaProtocolError(`array of ${length} items does not fit in the response`);
    }
    return length;
  }
}

/** Frames a request: size, then request header v1 (key, version, correlation id, client id), then body. */
export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, body: Buffer): Buffer {
  const header = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).nullableString(CLIENT_ID).toBuffer();
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

export function encodeMetadataRequestBody(version: number, topics: readonly string[] = []): Buffer {
  // An empty topic array (not null) asks for no topics at all: for readiness, only the broker list.
  const writer = new Writer().int32(topics.length);
  for (const topic of topics) writer.nullableString(topic);
  writer.int8(0);
  if (version >= 8) writer.int8(0).int8(0);
  return writer.toBuffer();
}

export interface ApiVersionRange {
  readonly min: number;
  readonly max: number;
}

export function decodeApiVersionsResponse(body: Buffer): Map<number, ApiVersionRange> {
  const reader = new Reader(body);
  const errorCode = reader.int16();
  if (errorCode !== 0) throw new KafkaProtocolError(`ApiVersions failed with error code ${errorCode}`);
  const ranges = new Map<number, ApiVersionRange>();
  const count = reader.arrayLength(6);
  for (let index = 0; index < count; index++) {
    const apiKey = reader.int16();
    const min = reader.int16();
    const max = reader.int16();
    ranges.set(apiKey, { min, max });
  }
  return ranges;
}

/** Decodes the head of a Metadata v4..v8 response; the topic list that follows is not needed. */
export function decodeMetadataResponse(body: Buffer, version: number): ClusterView {
  return readMetadataHead(new Reader(body), version);
}

function readMetadataHead(reader: Reader, version: number): ClusterView {
  reader.int32(); // throttle_time_ms
  const brokers: BrokerAddress[] = [];
  const count = reader.arrayLength(12);
  for (let index = 0; index < count; index++) {
    const nodeId = reader.int32();
    const host = reader.string();
    const port = reader.int32();
    reader.nullableString(); // rack
    brokers.push({ nodeId, host, port });
  }
  const clusterId = reader.nullableString();
  const controllerId = reader.int32();
  brokers.sort((a, b) => a.nodeId - b.nodeId);
  return { clusterId, controllerId, brokers, metadataVersion: version };
}

/** One partition as a broker's metadata describes it. */
export interface PartitionView {
  readonly partition: number;
  /** The leader's node id, or -1 while the partition has none. */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface TopicView {
  readonly name: string;
  /** Kafka's error code for the topic (0: none; 3: unknown topic). */
  readonly errorCode: number;
  readonly partitions: readonly PartitionView[];
}

function readInt32Array(reader: Reader): number[] {
  const count = reader.arrayLength(4);
  return Array.from({ length: count }, () => reader.int32());
}

/** Decodes a whole Metadata v4..v8 response: the brokers and the topics asked for. */
export function decodeTopicMetadataResponse(body: Buffer, version: number): { cluster: ClusterView; topics: TopicView[] } {
  const reader = new Reader(body);
  const cluster = readMetadataHead(reader, version);
  const topics: TopicView[] = [];
  const topicCount = reader.arrayLength(9);
  for (let index = 0; index < topicCount; index++) {
    const errorCode = reader.int16();
    const name = reader.string();
    reader.int8(); // is_internal
    const partitions: PartitionView[] = [];
    const partitionCount = reader.arrayLength(18);
    for (let at = 0; at < partitionCount; at++) {
      reader.int16(); // error_code
      const partition = reader.int32();
      const leader = reader.int32();
      if (version >= 7) reader.int32(); // leader_epoch
      const replicas = readInt32Array(reader);
      const isr = readInt32Array(reader);
      if (version >= 5) readInt32Array(reader); // offline_replicas
      partitions.push({ partition, leader, replicas, isr });
    }
    if (version >= 8) reader.int32(); // topic_authorized_operations
    partitions.sort((a, b) => a.partition - b.partition);
    topics.push({ name, errorCode, partitions });
  }
  return { cluster, topics };
}

/** Picks the newest Metadata version both sides speak, or explains why there is none. */
export function chooseMetadataVersion(ranges: ReadonlyMap<number, ApiVersionRange>): number {
  const range = ranges.get(API_KEY_METADATA);
  if (range === undefined) throw new KafkaProtocolError('the broker does not list the Metadata API');
  const version = Math.min(range.max, METADATA_MAX_VERSION);
  if (version < Math.max(range.min, METADATA_MIN_VERSION)) {
    throw new KafkaProtocolError(
      `the broker accepts Metadata v${range.min}..v${range.max}, this check speaks v${METADATA_MIN_VERSION}..v${METADATA_MAX_VERSION}`,
    );
  }
  return version;
}

/**
 * One connection that sends requests one at a time and reads their framed responses. Every
 * step runs under the caller's deadline: a broker that accepts the connection but never answers
 * (still starting, or paused with SIGSTOP) must end as an error, not a hang.
 */
class Connection {
  private buffered = Buffer.alloc(0);
  private waiting: { resolve: (frame: Buffer) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private nextCorrelationId = 1;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
    socket.on('error', (error: Error) => this.fail(error));
    socket.on('close', () => this.fail(new KafkaProtocolError('the broker closed the connection')));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.setNoDelay(true);
      // The caller's deadline cannot reach a socket it has not been given yet, so the socket
      // carries its own: an attempt that outlives the check must not linger as an open handle.
      socket.setTimeout(timeoutMs, () => socket.destroy(new KafkaProtocolError(`connect took over ${timeoutMs} ms`)));
      socket.once('error', reject);
      socket.connect(port, host, () => {
        socket.setTimeout(0);
        socket.off('error', reject);
        resolve(new Connection(socket));
      });
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(this.failure);
  }

  private deliver(): void {
    if (this.waiting === undefined || this.buffered.length < 4) return;
    const size = this.buffered.readInt32BE(0);
    if (size < 4 || size > MAX_RESPONSE_BYTES) {
      this.fail(new KafkaProtocolError(`implausible response size ${size}`));
      this.socket.destroy();
      return;
    }
    if (this.buffered.length < 4 + size) return;
    const frame = this.buffered.subarray(4, 4 + size);
    this.buffered = this.buffered.subarray(4 + size);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve(frame);
  }

  /** Sends one request and resolves with the response body (after the v0 response header). */
  async request(apiKey: number, apiVersion: number, body: Buffer): Promise<Buffer> {
    if (this.failure !== undefined) throw this.failure;
    const correlationId = this.nextCorrelationId++;
    const frame = await new Promise<Buffer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(encodeRequest(apiKey, apiVersion, correlationId, body));
      this.deliver();
    });
    const reader = new Reader(frame);
    const answered = reader.int32();
    if (answered !== correlationId) {
      throw new KafkaProtocolError(`response correlation id ${answered}, expected ${correlationId}`);
    }
    return frame.subarray(4);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Where a readiness check got to, so an error can say "port closed" apart from "no answer". */
export type ProbeStage = 'connect' | 'api-versions' | 'metadata' | 'list-offsets';

export class ProbeError extends Error {
  constructor(readonly stage: ProbeStage, cause: Error) {
    super(`${stage}: ${cause.message}`);
    this.name = 'ProbeError';
  }
}

/**
 * Asks one broker for its view of the cluster. Rejects with a ProbeError naming the stage that
 * failed: `connect` means nothing listens on the port, the later stages mean the JVM listens but
 * the broker does not (yet) serve requests.
 */
export async function describeCluster(host: string, port: number, timeoutMs: number): Promise<ClusterView> {
  return askMetadata(host, port, timeoutMs, [], (body, version) => decodeMetadataResponse(body, version));
}

/**
 * Asks one broker for the partitions of some topics, as that broker's metadata cache has them.
 * Fault injection uses it to find a partition's leader: asking each live node directly, with a
 * short deadline, is not held up by a paused broker the way a client library's request is.
 */
export async function describeTopics(host: string, port: number, topics: readonly string[], timeoutMs: number): Promise<TopicView[]> {
  return askMetadata(host, port, timeoutMs, topics, (body, version) => decodeTopicMetadataResponse(body, version).topics);
}

async function askMetadata<T>(
  host: string,
  port: number,
  timeoutMs: number,
  topics: readonly string[],
  decode: (body: Buffer, version: number) => T,
): Promise<T> {
  return converse(host, port, timeoutMs, async (connection, reached) => {
    const version = chooseMetadataVersion(await askApiVersions(connection));
    reached('metadata');
    const body = await connection.request(API_KEY_METADATA, version, encodeMetadataRequestBody(version, topics));
    return decode(body, version);
  });
}

async function askApiVersions(connection: Connection): Promise<Map<number, ApiVersionRange>> {
  return decodeApiVersionsResponse(await connection.request(API_KEY_API_VERSIONS, 0, Buffer.alloc(0)));
}

/**
 * The log end offset of one partition's replica on the broker at host:port, from that broker's
 * own log, leader or follower. Rejects when the broker holds no replica of it (an error code)
 * or does not answer in time (paused, stopped).
 */
export async function replicaLogEnd(host: string, port: number, topic: string, partition: number, timeoutMs: number): Promise<number> {
  return converse(host, port, timeoutMs, async (connection, reached) => {
    const range = (await askApiVersions(connection)).get(API_KEY_LIST_OFFSETS);
    reached('list-offsets');
    const version = Math.min(range?.max ?? -1, LIST_OFFSETS_MAX_VERSION);
    if (range === undefined || version < Math.max(range.min, LIST_OFFSETS_MIN_VERSION)) {
      throw new KafkaProtocolError(`the broker does not speak ListOffsets v${LIST_OFFSETS_MIN_VERSION}..v${LIST_OFFSETS_MAX_VERSION}`);
    }
    const body = await connection.request(API_KEY_LIST_OFFSETS, version, encodeListOffsetsRequestBody(version, topic, partition));
    return decodeListOffsetsResponse(body, version);
  });
}

export function encodeListOffsetsRequestBody(version: number, topic: string, partition: number): Buffer {
  const writer = new Writer().int32(DEBUGGING_REPLICA_ID);
  if (version >= 2) writer.int8(0); // isolation_level: ignored for a non-consumer replica id
  writer.int32(1).nullableString(topic).int32(1).int32(partition);
  if (version >= 4) writer.int32(-1); // current_leader_epoch: unknown
  writer.int64(LATEST_TIMESTAMP);
  return writer.toBuffer();
}

/** The offset of the one partition a ListOffsets v1..v5 response answers, or its error as a rejection. */
export function decodeListOffsetsResponse(body: Buffer, version: number): number {
  const reader = new Reader(body);
  if (version >= 2) reader.int32(); // throttle_time_ms
  const topics = reader.arrayLength(6);
  for (let t = 0; t < topics; t++) {
    reader.string();
    const partitions = reader.arrayLength(22);
    for (let p = 0; p < partitions; p++) {
      reader.int32(); // partition_index
      const errorCode = reader.int16();
      reader.int64(); // timestamp
      const offset = reader.int64();
      if (version >= 4) reader.int32(); // leader_epoch
      if (errorCode !== 0) throw new KafkaProtocolError(`ListOffsets answered error code ${errorCode}`);
      return offset;
    }
  }
  throw new KafkaProtocolError('ListOffsets answered no partition');
}

/** Opens a connection, holds one conversation under a deadline, and always closes it. */
async function converse<T>(
  host: string,
  port: number,
  timeoutMs: number,
  talk: (connection: Connection, reached: (stage: ProbeStage) => void) => Promise<T>,
): Promise<T> {
  let stage: ProbeStage = 'connect';
  let connection: Connection | undefined;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KafkaProtocolError(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  const conversation = (async () => {
    connection = await Connection.open(host, port, timeoutMs);
    if (finished) connection.destroy();
    stage = 'api-versions';
    return talk(connection, (next) => {
      stage = next;
    });
  })();
  // The losing side of the race must not surface later as an unhandled rejection.
  conversation.catch(() => undefined);
  try {
    return await Promise.race([conversation, expired]);
  } catch (error) {
    throw new ProbeError(stage, error instanceof Error ? error : new Error(String(error)));
  } finally {
    finished = true;
    clearTimeout(timer);
    connection?.destroy();
  }
}
