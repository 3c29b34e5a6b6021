// The adapter's own Produce request encoder (adapters/kafka/produce-encoding.ts) against kafkajs
// 2.2.4's: the same arguments must give the same bytes, for the records the adapter sends and for
// everything else kafkajs accepts without compression (null keys and values, Buffers, multi-byte
// strings, headers, timestamps, idempotent and transactional batches).

import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useFastProduceEncoding } from '../../adapters/kafka/kafkajs-fix.js';
import { encodeValue } from '../../adapters/kafka/messages.js';
import {
  crc32c,
  encodeProduceRequest,
  type ProduceMessage,
  type ProducePartitionData,
  type ProduceRequestFields,
} from '../../adapters/kafka/produce-encoding.js';
import { Random } from '../../core/random.js';

const require = createRequire(import.meta.url);

interface KafkaRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  expectResponse(): boolean;
  encode(): Promise<{ readonly buffer: Buffer }>;
}
type ProduceRequestFunction = (fields: ProduceRequestFields & { readonly compression?: number }) => KafkaRequest;

const V3_PATH = 'kafkajs/src/protocol/requests/produce/v3/request.js';
// Loaded before the fast encoding replaces the module, so this is kafkajs's own encoder.
const kafkajsProduceV3 = require(V3_PATH) as ProduceRequestFunction;
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: string): { readonly value: bigint } };

const NOW_MS = 1_700_000_000_123;

async function kafkajsBytes(fields: ProduceRequestFields): Promise<Buffer> {
  return (await kafkajsProduceV3(fields).encode()).buffer;
}

function request(partitions: readonly ProducePartitionData[], extra: Partial<ProduceRequestFields> = {}): ProduceRequestFields {
  return { acks: -1, timeout: 10_000, topicData: [{ topic: 'deliverycheck-input', partitions }], ...extra };
}

/** Messages as the adapter's batching producer sends them: a key of 100, a padded JSON value. */
function adapterMessages(count: number, partitions: number, valueBytes: number): ProducePartitionData[] {
  const random = new Random(7);
  const byPartition: ProduceMessage[][] = Array.from({ length: partitions }, () => []);
  for (let seq = 0; seq < count; seq++) {
    const message = { id: `p0-${seq}`, producer: 0, seq, key: `k${random.int(0, 99)}` };
    byPartition[seq % partitions]?.push({ key: message.key, value: encodeValue(message, valueBytes) });
  }
  return byPartition.map((messages, partition) => ({ partition, messages }));
}

function randomText(random: Random, length: number): string {
  const alphabet = ['a', 'Z', '0', ' ', '"', 'é', 'ß', '€', '日', '😀'];
  let text = '';
  for (let index = 0; index < length; index++) text += alphabet[random.int(0, alphabet.length - 1)];
  return text;
}

function randomBytes(random: Random, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => random.int(0, 255)));
}

/** Any message kafkajs encodes without compression, drawn from the seed. */
function randomMessage(random: Random): ProduceMessage {
  const pick = random.int(0, 3);
  const key = pick === 0 ? null : pick === 1 ? undefined : pick === 2 ? randomText(random, random.int(0, 40)) : randomBytes(random, random.int(0, 40));
  const valueLength = random.chance(0.05) ? random.int(100, 20_000) : random.int(0, 300);
  const value = random.chance(0.1) ? null : random.chance(0.5) ? randomText(random, valueLength) : randomBytes(random, valueLength);
  const message: { key?: string | Buffer | null; value: string | Buffer | null; headers?: ProduceMessage['headers'] } = { value };
  if (key !== undefined) message.key = key;
  if (random.chance(0.3)) {
    const headers: Record<string, string | Buffer | (string | Buffer)[]> = {};
    for (let index = random.int(0, 3); index > 0; index--) {
      const name = randomText(random, random.int(0, 12));
      headers[name] = random.chance(0.3)
        ? [randomText(random, random.int(0, 20)), randomBytes(random, random.int(0, 20))]
        : random.chance(0.5)
          ? randomText(random, random.int(0, 30))
          : randomBytes(random, random.int(0, 30));
    }
    message.headers = headers;
  }
  return message;
}

describe('CRC-32C', () => {
  it('gives the check value of "123456789" and what kafkajs computes, on any range', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    const random = new Random(3);
    for (let length = 0; length < 200; length++) {
      const bytes = randomBytes(random, length);
      expect(crc32c(bytes)).toBe(kafkajsCrc32c(bytes));
      const start = random.int(0, length);
      const end = random.int(start, length);
      expect(crc32c(bytes, start, end)).toBe(kafkajsCrc32c(bytes.subarray(start, end)));
    }
  });
});

describe('produce request encoding', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW_MS, toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes the adapter's records as kafkajs does", async () => {
    for (const [count, partitions, valueBytes] of [
      [1, 1, 0],
      [7, 3, 100],
      [5_000, 6, 100],
      [300, 2, 1_000],
    ] as const) {
      const fields = request(adapterMessages(count, partitions, valueBytes), { acks: count % 2 === 0 ? 1 : 0 });
      expect(encodeProduceRequest(fields)).toEqual(await kafkajsBytes(fields));
    }
  });

  it('writes null, Buffer and multi-byte keys and values, empty partitions and several topics as kafkajs does', async () => {
    const fields: ProduceRequestFields = {
      acks: 1,
      timeout: 30_000,
      topicData: [
        {
          topic: 'tópico-ü',
          partitions: [
            {
              partition: 0,
              messages: [
                { key: null, value: null },
                { value: 'no key' },
                { key: '', value: '' },
                { key: Buffer.from([0, 255, 7]), value: Buffer.alloc(0) },
                { key: '日本語のキー', value: '€'.repeat(70) },
                { key: 'big', value: 'x'.repeat(70_000) },
              ],
            },
            { partition: 5, messages: [] },
          ],
        },
        { topic: 'second', partitions: [{ partition: 2, messages: [{ key: 'a', value: 'b' }] }] },
      ],
    };
    expect(encodeProduceRequest(fields)).toEqual(await kafkajsBytes(fields));
  });

  it('writes headers as kafkajs does, arrays of values included', async () => {
    const fields = request([
      {
        partition: 1,
        messages: [
          { key: 'k', value: 'v', headers: {} },
          { key: 'k', value: 'v', headers: { trace: 'abc', binary: Buffer.from([1, 2, 3]), 'ключ': 'значение' } },
          { key: 'k', value: 'v', headers: { many: ['one', Buffer.from('two'), ''], '': 'empty name' } },
        ],
      },
    ]);
    expect(encodeProduceRequest(fields)).toEqual(await kafkajsBytes(fields));
  });

  it('writes timestamps as kafkajs does: given or the send time, sorted as strings, deltas of any size', async () => {
    const cases: readonly (readonly ProduceMessage[])[] = [
      [{ value: 'a', timestamp: NOW_MS - 5 }, { value: 'b', timestamp: NOW_MS + 5 }, { value: 'c' }],
      [{ value: 'a', timestamp: String(NOW_MS) }, { value: 'b', timestamp: String(NOW_MS - 86_400_000) }],
      // Sorted as strings, '1000' comes before '999': the first timestamp is not the smallest.
      [{ value: 'a', timestamp: '999' }, { value: 'b', timestamp: '1000' }, { value: 'c', timestamp: 0 }],
      // Deltas past 2^30 and 2^32 ms, both signs.
      [{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 ** 31 + 5 }, { value: 'c', timestamp: 2 ** 40 }, { value: 'd' }],
      [{ value: 'a', timestamp: 5_000_000_000_000 }, { value: 'b', timestamp: 10_000_000_000 }],
    ];
    for (const messages of cases) {
      const fields = request([{ partition: 0, messages }]);
      expect(encodeProduceRequest(fields)).toEqual(await kafkajsBytes(fields));
    }
  });

  it('writes idempotent and transactional batches as kafkajs does', async () => {
    const messages = adapterMessages(50, 2, 100);
    const variants: readonly Partial<ProduceRequestFields>[] = [
      { producerId: 4_000, producerEpoch: 0 },
      { producerId: '9007199254740993', producerEpoch: 7 },
      { producerId: Long.fromValue('123456789012'), producerEpoch: 32_767, transactionalId: 'tx-ä' },
      { producerId: 12n, producerEpoch: 1, transactionalId: '' },
    ];
    for (const variant of variants) {
      const withSequences = messages.map((data, index) => ({ ...data, firstSequence: index === 0 ? 2 ** 31 - 1 : 17 }));
      const fields = request(withSequences, variant);
      expect(encodeProduceRequest(fields)).toEqual(await kafkajsBytes(fields));
    }
  });

  it('writes any message kafkajs accepts as kafkajs does (random record sets)', async () => {
    const random = new Random(11);
    for (let round = 0; round < 30; round++) {
      const partitions = Array.from({ length: random.int(1, 4) }, (_, partition) => ({
        partition,
        messages: Array.from({ length: random.int(0, 60) }, () => randomMessage(random)),
      }));
      const fields = request(partitions, { acks: [-1, 0, 1][random.int(0, 2)] ?? -1 });
      expect(encodeProduceRequest(fields)).toEqual(await kafkajsBytes(fields));
    }
  });

  it('replaces kafkajs Produce v3 to v7 with the same bytes, and leaves compressed requests to kafkajs', async () => {
    useFastProduceEncoding();
    const fields = request(adapterMessages(200, 3, 100));
    for (const version of [3, 5, 7]) {
      const replaced = (require(`kafkajs/src/protocol/requests/produce/v${version}/request.js`) as ProduceRequestFunction)(fields);
      expect(replaced.apiVersion).toBe(version);
      expect(replaced.apiName).toBe('Produce');
      expect(replaced.expectResponse()).toBe(true);
      expect((await replaced.encode()).buffer).toEqual(await kafkajsBytes(fields));
    }
    const gzip = { ...fields, compression: 1 };
    const compressed = (require(V3_PATH) as ProduceRequestFunction)(gzip);
    expect((await compressed.encode()).buffer).toEqual((await kafkajsProduceV3(gzip).encode()).buffer);
  });
});
