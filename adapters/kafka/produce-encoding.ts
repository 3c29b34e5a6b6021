// The body of a Produce request (versions 3 to 7, which share one layout) with its record
// batches (magic 2), written by the adapter's own code into one buffer, byte for byte what kafkajs
// 2.2.4's encoder writes for the same arguments.
//
// kafkajs builds each record in an Encoder of its own (a zero-filled 512-byte buffer per record),
// writes every varint through a temporary array and Buffer, every 64-bit varint through BigInt
// arithmetic, and copies the bytes again at each level (record, batch, partition, topic,
// request). Profiles of a benchmark producer thread put about two thirds of its busy time there.
// This encoder measures everything first, allocates once and writes each byte once; the CRC-32C
// uses eight tables (slicing-by-8) instead of one. It handles what kafkajs handles without
// compression: string or Buffer keys, values and headers, null keys and values, header arrays,
// timestamps, producer ids and sequences of idempotent and transactional producers.
// kafkajs-fix.ts installs it for producers that batch (benchmarks); test/unit compares its bytes
// with kafkajs's encoder.

/** A 64-bit integer as kafkajs accepts one: a number, a decimal string, a bigint or its Long. */
export type Int64Like = number | string | bigint | { readonly value: bigint };

export type HeaderValue = string | Buffer;

/** A message as kafkajs's producer.send() takes it (the fields the encoding reads). */
export interface ProduceMessage {
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly headers?: { readonly [name: string]: HeaderValue | readonly HeaderValue[] | undefined };
  /** Milliseconds since the epoch, as a number or a decimal string; the send time when absent. */
  readonly timestamp?: number | string | null;
}

export interface ProducePartitionData {
  readonly partition: number;
  /** The sequence number of the first record, for an idempotent producer; 0 otherwise. */
  readonly firstSequence?: number;
  readonly messages: readonly ProduceMessage[];
}

export interface ProduceTopicData {
  readonly topic: string;
  readonly partitions: readonly ProducePartitionData[];
}

/** What kafkajs's Produce v3 request function receives (compression none). */
export interface ProduceRequestFields {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null;
  readonly producerId?: Int64Like;
  readonly producerEpoch?: number;
  readonly topicData: readonly ProduceTopicData[];
}

const MAGIC_BYTE = 2;
/** The attributes bit that marks a batch as part of a transaction. */
const TRANSACTIONAL_ATTRIBUTE = 16;
/** Attributes, last offset delta, first and max timestamp, producer id, epoch, first sequence, record count. */
const BATCH_BODY_HEADER_BYTES = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

// ------------------------------------------------------------------------------- CRC-32C

/** The Castagnoli polynomial, bit-reversed. */
const CASTAGNOLI_REVERSED = 0x82f63b78;

/**
 * Eight tables of 256 entries: table 0 is the classic byte-at-a-time table, and table k gives the
 * CRC contribution of a byte followed by k zero bytes, so eight bytes cost eight look-ups and no
 * loop-carried shifts between them.
 */
const CRC_TABLES: Int32Array = (() => {
  const tables = new Int32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ CASTAGNOLI_REVERSED : crc >>> 1;
    tables[byte] = crc;
  }
  for (let byte = 0; byte < 256; byte++) {
    for (let table = 1; table < 8; table++) {
      const previous = tables[(table - 1) * 256 + byte] ?? 0;
      tables[table * 256 + byte] = (previous >>> 8) ^ (tables[previous & 0xff] ?? 0);
    }
  }
  return tables;
})();

/** CRC-32C of bytes[start, end), as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = CRC_TABLES;
  let crc = ~0;
  let index = start;
  // The indexed reads below stay within [start, end) and the tables' 2048 entries, so the `?? 0`
  // that noUncheckedIndexedAccess asks for would only cost time; the non-null forms say so.
  for (; index + 8 <= end; index += 8) {
    const low = crc ^ (bytes[index]! | (bytes[index + 1]! << 8) | (bytes[index + 2]! << 16) | (bytes[index + 3]! << 24));
    crc =
      t[1792 + (low & 0xff)]! ^
      t[1536 + ((low >>> 8) & 0xff)]! ^
      t[1280 + ((low >>> 16) & 0xff)]! ^
      t[1024 + (low >>> 24)]! ^
      t[768 + bytes[index + 4]!]! ^
      t[512 + bytes[index + 5]!]! ^
      t[256 + bytes[index + 6]!]! ^
      t[bytes[index + 7]!]!;
  }
  for (; index < end; index++) crc = t[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

// ------------------------------------------------------------------------------- varints

/**
 * kafkajs's 32-bit zigzag, (value << 1) ^ (value >> 31), kept as it is so that even lengths past
 * 2^30 come out as kafkajs writes them.
 */
function zigzag32(value: number): number {
  return (value << 1) ^ (value >> 31);
}

/** Bytes of an unsigned varint of a zigzagged value, with kafkajs's 32-bit loop. */
function unsignedVarIntSize(zigzagged: number): number {
  let value = zigzagged;
  let bytes = 1;
  while ((value & 0xffffff80) !== 0) {
    bytes++;
    value >>>= 7;
  }
  return bytes;
}

function varIntSize(value: number): number {
  return unsignedVarIntSize(zigzag32(value));
}

function writeVarInt(buffer: Buffer, offset: number, value: number): number {
  let rest = zigzag32(value);
  while ((rest & 0xffffff80) !== 0) {
    buffer[offset++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  buffer[offset++] = rest & 0x7f;
  return offset;
}

/** Below this magnitude a 64-bit zigzag equals the 32-bit one, and numbers do. */
const SMALL_VARLONG = 2 ** 30;

/** The 64-bit zigzag of an integer kafkajs would turn into a Long (NaN counts as 0). */
function zigzag64(value: number): bigint {
  const long = Number.isNaN(value) ? 0n : BigInt(value);
  return BigInt.asUintN(64, (long << 1n) ^ (long >> 63n));
}

function varLongSize(value: number): number {
  if (value > -SMALL_VARLONG && value < SMALL_VARLONG) return varIntSize(value);
  let rest = zigzag64(value);
  let bytes = 1;
  while (rest >= 0x80n) {
    bytes++;
    rest >>= 7n;
  }
  return bytes;
}

function writeVarLong(buffer: Buffer, offset: number, value: number): number {
  if (value > -SMALL_VARLONG && value < SMALL_VARLONG) return writeVarInt(buffer, offset, value);
  let rest = zigzag64(value);
  while (rest >= 0x80n) {
    buffer[offset++] = Number(rest & 0x7fn) | 0x80;
    rest >>= 7n;
  }
  buffer[offset++] = Number(rest);
  return offset;
}

// ------------------------------------------------------------------------------- fixed widths

/** A 64-bit value as kafkajs's Long.fromValue reads it. */
function int64(value: Int64Like): bigint {
  if (typeof value === 'number') return Number.isNaN(value) ? 0n : BigInt(value);
  if (typeof value === 'string') {
    if (value === 'NaN' || value === 'Infinity' || value === '+Infinity' || value === '-Infinity') return 0n;
    return BigInt(value);
  }
  if (typeof value === 'bigint') return value;
  return value.value;
}

function writeInt64(buffer: Buffer, offset: number, value: Int64Like): number {
  buffer.writeBigInt64BE(BigInt.asIntN(64, int64(value)), offset);
  return offset + 8;
}

/** Bytes of a string or Buffer, as kafkajs measures them (UTF-8 for strings). */
function byteLengthOf(value: string | Buffer): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
}

function writeBytes(buffer: Buffer, offset: number, value: string | Buffer, length: number): number {
  if (typeof value === 'string') buffer.write(value, offset, length, 'utf8');
  else value.copy(buffer, offset);
  return offset + length;
}

// ------------------------------------------------------------------------------- records

interface Header {
  readonly key: string;
  readonly value: HeaderValue;
}

function headerList(headers: ProduceMessage['headers']): Header[] {
  const list: Header[] = [];
  if (headers === undefined) return list;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (Array.isArray(value)) {
      for (const each of value as readonly HeaderValue[]) list.push({ key, value: each });
    } else if (value === undefined) {
      // kafkajs fails on a header without a value (it measures it with Buffer.byteLength).
      throw new TypeError(`header ${JSON.stringify(key)} has no value`);
    } else {
      list.push({ key, value: value as HeaderValue });
    }
  }
  return list;
}

/** A record measured in the first pass and written in the second. */
interface Measured {
  readonly message: ProduceMessage;
  readonly timestampDelta: number;
  /** -1 for a null key or value. */
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly headers: readonly Header[];
  /** The record's size after its length varint. */
  readonly bodyBytes: number;
}

interface MeasuredPartition {
  readonly data: ProducePartitionData;
  readonly records: readonly Measured[];
  readonly firstTimestamp: number | string;
  readonly maxTimestamp: number | string;
  /** The record batch from the first offset on: what the partition's size field counts. */
  readonly batchBytes: number;
}

function nullableBytesSize(bytes: number): number {
  return bytes < 0 ? varIntSize(-1) : varIntSize(bytes) + bytes;
}

/**
 * Measures a partition's records. The timestamps follow kafkajs: the batch's first and max
 * timestamps are the first and last of the given ones sorted as strings (its plain sort()), or
 * the send time when none is given, and a record without one (or with 0) gets the send time.
 */
function measurePartition(data: ProducePartitionData, nowMs: number): MeasuredPartition {
  const { messages } = data;
  let given: (number | string)[] | undefined;
  for (const message of messages) {
    if (message.timestamp !== undefined && message.timestamp !== null) (given ??= []).push(message.timestamp);
  }
  given?.sort();
  const firstTimestamp = given?.[0] ?? nowMs;
  const maxTimestamp = given?.[given.length - 1] ?? nowMs;
  const firstMs = Number(firstTimestamp);
  const records: Measured[] = new Array<Measured>(messages.length);
  let recordsBytes = 0;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as ProduceMessage;
    const timestampDelta = given === undefined ? 0 : Number(message.timestamp || nowMs) - firstMs;
    const keyBytes = message.key === undefined || message.key === null ? -1 : byteLengthOf(message.key);
    const valueBytes = message.value === null ? -1 : byteLengthOf(message.value);
    const headers = headerList(message.headers);
    let headersBytes = varIntSize(headers.length);
    for (const header of headers) {
      headersBytes += nullableBytesSize(Buffer.byteLength(header.key, 'utf8')) + nullableBytesSize(byteLengthOf(header.value));
    }
    const bodyBytes =
      1 + varLongSize(timestampDelta) + varIntSize(index) + nullableBytesSize(keyBytes) + nullableBytesSize(valueBytes) + headersBytes;
    records[index] = { message, timestampDelta, keyBytes, valueBytes, headers, bodyBytes };
    recordsBytes += varIntSize(bodyBytes) + bodyBytes;
  }
  // First offset and batch length, then leader epoch, magic, CRC and the body.
  const batchBytes = 8 + 4 + 4 + 1 + 4 + BATCH_BODY_HEADER_BYTES + recordsBytes;
  return { data, records, firstTimestamp, maxTimestamp, batchBytes };
}

function writeNullableBytes(buffer: Buffer, offset: number, value: string | Buffer | null | undefined, length: number): number {
  if (value === undefined || value === null) return writeVarInt(buffer, offset, -1);
  return writeBytes(buffer, writeVarInt(buffer, offset, length), value, length);
}

function writeRecord(buffer: Buffer, start: number, record: Measured, offsetDelta: number): number {
  let offset = writeVarInt(buffer, start, record.bodyBytes);
  buffer[offset++] = 0; // attributes: none are used by records
  offset = writeVarLong(buffer, offset, record.timestampDelta);
  offset = writeVarInt(buffer, offset, offsetDelta);
  offset = writeNullableBytes(buffer, offset, record.message.key, record.keyBytes);
  offset = writeNullableBytes(buffer, offset, record.message.value, record.valueBytes);
  offset = writeVarInt(buffer, offset, record.headers.length);
  for (const header of record.headers) {
    offset = writeNullableBytes(buffer, offset, header.key, Buffer.byteLength(header.key, 'utf8'));
    offset = writeNullableBytes(buffer, offset, header.value, byteLengthOf(header.value));
  }
  return offset;
}

interface BatchContext {
  readonly transactional: boolean;
  readonly producerId: Int64Like;
  readonly producerEpoch: number;
}

function writePartition(buffer: Buffer, start: number, measured: MeasuredPartition, context: BatchContext): number {
  const { data, records } = measured;
  let offset = buffer.writeInt32BE(data.partition, start);
  offset = buffer.writeInt32BE(measured.batchBytes, offset);
  offset = writeInt64(buffer, offset, 0); // first offset: the broker assigns offsets
  offset = buffer.writeInt32BE(measured.batchBytes - 12, offset); // the batch after its first offset and length
  offset = buffer.writeInt32BE(0, offset); // partition leader epoch
  offset = buffer.writeInt8(MAGIC_BYTE, offset);
  const crcAt = offset;
  const bodyStart = crcAt + 4;
  offset = buffer.writeInt16BE(context.transactional ? TRANSACTIONAL_ATTRIBUTE : 0, bodyStart);
  offset = buffer.writeInt32BE(records.length - 1, offset);
  offset = writeInt64(buffer, offset, measured.firstTimestamp);
  offset = writeInt64(buffer, offset, measured.maxTimestamp);
  offset = writeInt64(buffer, offset, context.producerId);
  offset = buffer.writeInt16BE(context.producerEpoch, offset);
  offset = buffer.writeInt32BE(data.firstSequence ?? 0, offset);
  offset = buffer.writeInt32BE(records.length, offset);
  for (let index = 0; index < records.length; index++) offset = writeRecord(buffer, offset, records[index] as Measured, index);
  buffer.writeUInt32BE(crc32c(buffer, bodyStart, offset), crcAt);
  return offset;
}

function writeString(buffer: Buffer, offset: number, value: string | null, length: number): number {
  if (value === null) return buffer.writeInt16BE(-1, offset);
  offset = buffer.writeInt16BE(length, offset);
  return writeBytes(buffer, offset, value, length);
}

/**
 * The Produce request body (what follows the request header) for compression none. `now` is
 * called once per partition, as kafkajs reads Date.now() once per partition.
 */
export function encodeProduceRequest(fields: ProduceRequestFields, now: () => number = Date.now): Buffer {
  const transactionalId = fields.transactionalId ?? null;
  const context: BatchContext = {
    transactional: transactionalId !== null && transactionalId !== '',
    producerId: fields.producerId ?? -1,
    producerEpoch: fields.producerEpoch ?? 0,
  };
  const idBytes = transactionalId === null ? 0 : Buffer.byteLength(transactionalId, 'utf8');
  let total = 2 + idBytes + 2 + 4 + 4;
  const topics = fields.topicData.map((topicData) => {
    const nameBytes = Buffer.byteLength(topicData.topic, 'utf8');
    total += 2 + nameBytes + 4;
    const partitions = topicData.partitions.map((data) => {
      const measured = measurePartition(data, now());
      // The partition's id and the batch's size, then the batch.
      total += 4 + 4 + measured.batchBytes;
      return measured;
    });
    return { topic: topicData.topic, nameBytes, partitions };
  });
  // Every byte below is written, so the buffer need not be zeroed first.
  const buffer = Buffer.allocUnsafe(total);
  let offset = writeString(buffer, 0, transactionalId, idBytes);
  offset = buffer.writeInt16BE(fields.acks, offset);
  offset = buffer.writeInt32BE(fields.timeout, offset);
  offset = buffer.writeInt32BE(topics.length, offset);
  for (const topic of topics) {
    offset = writeString(buffer, offset, topic.topic, topic.nameBytes);
    offset = buffer.writeInt32BE(topic.partitions.length, offset);
    for (const partition of topic.partitions) offset = writePartition(buffer, offset, partition, context);
  }
  if (offset !== total) throw new Error(`the produce request measured ${total} bytes but ${offset} were written`);
  return buffer;
}
