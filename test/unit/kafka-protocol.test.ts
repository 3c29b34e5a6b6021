// The Metadata answer that fault injection reads straight from a Kafka broker to find partition
// leaders: a request naming topics, and a v7/v8 response decoded down to leaders, replicas and ISR.
// Also the ListOffsets request that asks one replica for its own log end before each fault.

import { describe, expect, it } from 'vitest';
import {
  decodeListOffsetsResponse,
  decodeTopicMetadataResponse,
  encodeListOffsetsRequestBody,
  encodeMetadataRequestBody,
} from '../../adapters/kafka/cluster/protocol.js';

/** Writes the classic big-endian encoding, the way a broker answers Metadata v4..v8. */
class Bytes {
  private readonly parts: Buffer[] = [];
  int8(value: number): this {
    const buffer = Buffer.alloc(1);
    buffer.writeInt8(value);
    return this.push(buffer);
  }
  int16(value: number): this {
    const buffer = Buffer.alloc(2);
    buffer.writeInt16BE(value);
    return this.push(buffer);
  }
  int32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32BE(value);
    return this.push(buffer);
  }
  string(value: string): this {
    const bytes = Buffer.from(value);
    return this.int16(bytes.length).push(bytes);
  }
  int64(value: number): this {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64BE(BigInt(value));
    return this.push(buffer);
  }
  int32s(values: readonly number[]): this {
    this.int32(values.length);
    for (const value of values) this.int32(value);
    return this;
  }
  private push(buffer: Buffer): this {
    this.parts.push(buffer);
    return this;
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function response(version: number): Buffer {
  const bytes = new Bytes().int32(0).int32(1).int32(1).string('127.0.0.1').int32(19092).int16(-1).string('cluster').int32(1);
  bytes.int32(1).int16(0).string('input').int8(0).int32(2);
  for (const [partition, leader, replicas, isr] of [
    [1, 3, [3, 1, 2], [3, 1]],
    [0, 2, [2, 3, 1], [2, 3, 1]],
  ] as const) {
    bytes.int16(0).int32(partition).int32(leader);
    if (version >= 7) bytes.int32(5);
    bytes.int32s(replicas).int32s(isr);
    if (version >= 5) bytes.int32s([]);
  }
  if (version >= 8) bytes.int32(-2147483648);
  return bytes.buffer();
}

describe('Kafka Metadata with topics', () => {
  it('asks for the named topics', () => {
    const body = encodeMetadataRequestBody(8, ['input']);
    expect(body.readInt32BE(0)).toBe(1);
    expect(body.readInt16BE(4)).toBe(5);
    expect(body.toString('utf8', 6, 11)).toBe('input');
    expect(body.length).toBe(11 + 3);
    expect(encodeMetadataRequestBody(6, ['input']).length).toBe(11 + 1);
  });

  it.each([6, 7, 8])('decodes leaders, replicas and ISR of every partition at v%i, sorted by partition', (version) => {
    const { cluster, topics } = decodeTopicMetadataResponse(response(version), version);
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: 19092 }]);
    expect(topics).toEqual([
      {
        name: 'input',
        errorCode: 0,
        partitions: [
          { partition: 0, leader: 2, replicas: [2, 3, 1], isr: [2, 3, 1] },
          { partition: 1, leader: 3, replicas: [3, 1, 2], isr: [3, 1] },
        ],
      },
    ]);
  });

  it('fails with a protocol error on a cut-off answer', () => {
    const whole = response(8);
    expect(() => decodeTopicMetadataResponse(whole.subarray(0, whole.length - 10), 8)).toThrow(/ended early|does not fit/);
  });
});

describe('ListOffsets for one replica\'s log end', () => {
  it('asks as the debugging replica (-2) for the latest offset, with the fields of each version', () => {
    const v1 = new Bytes().int32(-2).int32(1).string('t').int32(1).int32(3).int64(-1).buffer();
    expect(encodeListOffsetsRequestBody(1, 't', 3)).toEqual(v1);
    const v5 = new Bytes().int32(-2).int8(0).int32(1).string('t').int32(1).int32(3).int32(-1).int64(-1).buffer();
    expect(encodeListOffsetsRequestBody(5, 't', 3)).toEqual(v5);
  });

  it('reads the offset of a v1 and a v4 answer, and turns an error code into a rejection', () => {
    const v1 = new Bytes().int32(1).string('t').int32(1).int32(0).int16(0).int64(-1).int64(431).buffer();
    expect(decodeListOffsetsResponse(v1, 1)).toBe(431);
    const v4 = new Bytes().int32(0).int32(1).string('t').int32(1).int32(0).int16(0).int64(-1).int64(77).int32(2).buffer();
    expect(decodeListOffsetsResponse(v4, 4)).toBe(77);
    const refused = new Bytes().int32(0).int32(1).string('t').int32(1).int32(0).int16(6).int64(-1).int64(-1).int32(-1).buffer();
    expect(() => decodeListOffsetsResponse(refused, 4)).toThrow('ListOffsets answered error code 6');
  });
});
