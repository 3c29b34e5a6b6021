// The main thread's side of a producer's sends: the compact form in which the messages of one
// turn cross to the client thread, and the table of sends waiting for their outcome.

import { describe, expect, it } from 'vitest';
import { SendBatchReader, SendBatchWriter, sendBatchSize, type SendBatch } from '../../adapters/kafka/messages.js';
import { SendTable } from '../../adapters/kafka/send-table.js';
import type { SendResult } from '../../adapters/contract.js';
import type { MessageRef } from '../../spec/history.js';

function readAll(batch: SendBatch): { id: number; message: MessageRef }[] {
  const reader = new SendBatchReader(batch);
  const read: { id: number; message: MessageRef }[] = [];
  while (!reader.done) {
    const id = reader.nextId;
    read.push({ id, message: reader.read() });
  }
  return read;
}

describe('SendBatchWriter and SendBatchReader', () => {
  const messages: MessageRef[] = [
    { id: 'p0-0', producer: 0, seq: 0, key: 'k7' },
    { id: 'p3-123456789012', producer: 3, seq: 123_456_789_012, key: '' },
    // The runner's own ids and keys with any characters, empty or not ASCII, survive as they are.
    { id: '', producer: 2, seq: 5, key: 'clé\n\u0000😀' },
    { id: 'marker-é', producer: 1_000_000, seq: 2 ** 53 - 1, key: 'k' },
  ];

  it('gives back every message, in order, under consecutive ids, after a structured clone', () => {
    const writer = new SendBatchWriter();
    for (const message of messages) writer.add(message);
    expect(writer.size).toBe(messages.length);
    const batch = structuredClone(writer.take(41)) as SendBatch;
    expect(sendBatchSize(batch)).toBe(messages.length);
    expect(readAll(batch)).toEqual(messages.map((message, index) => ({ id: 41 + index, message })));
    // Taking starts afresh.
    expect(writer.size).toBe(0);
    writer.add(messages[1] as MessageRef);
    expect(readAll(writer.take(7))).toEqual([{ id: 7, message: messages[1] }]);
  });

  it('reads a message again after unread(), as a request that had no room for it does', () => {
    const writer = new SendBatchWriter();
    for (const message of messages) writer.add(message);
    const reader = new SendBatchReader(writer.take(1));
    expect(reader.read()).toEqual(messages[0]);
    expect(reader.read()).toEqual(messages[1]);
    reader.unread();
    expect(reader.nextId).toBe(2);
    expect(reader.read()).toEqual(messages[1]);
    expect(reader.read()).toEqual(messages[2]);
    expect(reader.read()).toEqual(messages[3]);
    expect(reader.done).toBe(true);
  });

  it('is empty when nothing was added', () => {
    const batch = new SendBatchWriter().take(5);
    expect(sendBatchSize(batch)).toBe(0);
    expect(new SendBatchReader(batch).done).toBe(true);
  });
});

describe('SendTable', () => {
  /** A table with sends at the given ids, and what became of each. */
  function tableWith(ids: readonly number[]): { table: SendTable; outcomes: Map<number, SendResult | string> } {
    const table = new SendTable();
    const outcomes = new Map<number, SendResult | string>();
    for (const id of ids) {
      table.add(
        id,
        (result) => outcomes.set(id, result),
        (error) => outcomes.set(id, error.message),
      );
    }
    return { table, outcomes };
  }

  it('settles the send each id names, in any order, resolved or rejected, and each only once', () => {
    // Ids 3 and 6 went to requests: holes in the table.
    const { table, outcomes } = tableWith([1, 2, 4, 5, 7]);
    expect(table.size).toBe(5);
    expect(table.resolve(5, { partition: 2, offset: 10 })).toBe(true);
    expect(table.reject(2, new Error('timed out'))).toBe(true);
    expect(table.resolve(1, { partition: 0, offset: null })).toBe(true);
    expect(table.resolve(3, { partition: 0, offset: 0 })).toBe(false);
    expect(table.resolve(5, { partition: 2, offset: 11 })).toBe(false);
    expect(table.reject(5, new Error('late'))).toBe(false);
    expect(table.resolve(0, { partition: 0, offset: 0 })).toBe(false);
    expect(table.resolve(8, { partition: 0, offset: 0 })).toBe(false);
    expect(table.size).toBe(2);
    table.rejectAll(new Error('stopped'));
    expect(table.size).toBe(0);
    expect(outcomes).toEqual(
      new Map<number, SendResult | string>([
        [5, { partition: 2, offset: 10 }],
        [2, 'timed out'],
        [1, { partition: 0, offset: null }],
        [4, 'stopped'],
        [7, 'stopped'],
      ]),
    );
  });

  it('rejects the sends before an id in the order of their ids, and only those', () => {
    const { table, outcomes } = tableWith([1, 2, 4, 6]);
    table.resolve(2, { partition: 0, offset: 1 });
    table.rejectBefore(5, new Error('stopped'));
    expect([...outcomes]).toEqual([
      [2, { partition: 0, offset: 1 }],
      [1, 'stopped'],
      [4, 'stopped'],
    ]);
    expect(table.size).toBe(1);
    expect(table.resolve(6, { partition: 3, offset: 0 })).toBe(true);
  });

  it("hands each send's token to the callbacks that all its sends share", () => {
    const table = new SendTable();
    const seen: string[] = [];
    const sent = (result: SendResult, token: number): void => void seen.push(`sent ${token} at ${result.offset}`);
    const failed = (error: Error, token: number): void => void seen.push(`failed ${token}: ${error.message}`);
    table.add(10, sent, failed, 500);
    table.add(11, sent, failed, 501);
    table.add(13, sent, failed, 502);
    table.resolve(11, { partition: 0, offset: 7 });
    table.reject(10, new Error('timed out'));
    table.rejectAll(new Error('stopped'));
    expect(seen).toEqual(['sent 501 at 7', 'failed 500: timed out', 'failed 502: stopped']);
  });

  it('keeps finding sends while it moves its settled front away, and refuses ids out of order', () => {
    const { table, outcomes } = tableWith([]);
    let nextId = 100;
    const live: number[] = [];
    // A window of 1 000 outstanding sends over 50 000, settled out of order within each pair.
    for (let round = 0; round < 50_000; round++) {
      const id = nextId++;
      table.add(
        id,
        (result) => outcomes.set(id, result),
        (error) => outcomes.set(id, error.message),
      );
      live.push(id);
      if (live.length === 1_000) {
        const [a, b] = live.splice(0, 2) as [number, number];
        expect(table.resolve(b, { partition: 1, offset: b })).toBe(true);
        expect(table.reject(a, new Error(`failed ${a}`))).toBe(true);
      }
    }
    expect(table.size).toBe(live.length);
    for (const id of live) expect(table.resolve(id, { partition: 0, offset: id })).toBe(true);
    expect(table.size).toBe(0);
    expect(outcomes.size).toBe(50_000);
    expect(outcomes.get(100)).toBe('failed 100');
    expect(outcomes.get(101)).toEqual({ partition: 1, offset: 101 });
    expect(outcomes.get(nextId - 1)).toEqual({ partition: 0, offset: nextId - 1 });
    // An emptied table starts again at whatever id comes next.
    table.add(5, () => undefined, () => undefined);
    expect(() => table.add(4, () => undefined, () => undefined)).toThrow(/after a later one/);
  });
});
