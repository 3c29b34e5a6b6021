// The dense tables of the checker: a pool must hand out zeroed arrays, reuse what it took back,
// and never give one array to two borrowers.

import { describe, expect, it } from 'vitest';
import { ColumnPool, IdIndex, PairIndex } from '../../core/dense.js';

describe('ColumnPool', () => {
  it('reuses a reclaimed column, zeroed', () => {
    const pool = new ColumnPool();
    const first = pool.column(Int32Array, 10_000);
    first.fill(7);
    pool.reclaim();
    const second = pool.column(Int32Array, 9_000);
    expect(second).toBe(first);
    expect(second.every((value) => value === 0)).toBe(true);
  });

  it('does not lend one column twice, nor a column of another type', () => {
    const pool = new ColumnPool();
    const lent = pool.column(Int32Array, 5_000);
    pool.reclaim();
    const bytes = pool.column(Uint8Array, 5_000);
    const again = pool.column(Int32Array, 5_000);
    const twice = pool.column(Int32Array, 5_000);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(again).toBe(lent);
    expect(twice).not.toBe(lent);
  });

  it('allocates rather than zero a spare far longer than asked', () => {
    const pool = new ColumnPool();
    const big = pool.column(Int32Array, 1_000_000);
    pool.reclaim();
    expect(pool.column(Int32Array, 100)).not.toBe(big);
    expect(pool.column(Int32Array, 600_000)).toBe(big);
  });

  it('grows a column by copying it into a longer one', () => {
    const pool = new ColumnPool();
    const column = pool.column(Uint16Array, 4);
    column.set([1, 2, 3, 4]);
    const grown = pool.grown(column, 5);
    expect(grown.length).toBeGreaterThanOrEqual(8);
    expect([...grown.subarray(0, 5)]).toEqual([1, 2, 3, 4, 0]);
    expect(pool.grown(grown, 5)).toBe(grown);
  });

  it('hands out pages zeroed after reuse', () => {
    const pool = new ColumnPool();
    const index = new PairIndex(pool);
    expect(index.intern(0, 5, 42)).toBe(42);
    pool.reclaim();
    const next = new PairIndex(pool);
    expect(next.intern(0, 5, 1)).toBe(1);
    expect(next.intern(0, 5, 2)).toBe(1);
  });
});

describe('IdIndex', () => {
  it('gives ids dense indexes in order of first sight and spells them back', () => {
    const pool = new ColumnPool();
    const ids = new IdIndex(2, pool);
    const names = ['p0-0', 'p1-7', 'p01-7', 'odd', 'p0-0', 'p1-7', 'p2-3'];
    const indexes = names.map((name) => ids.indexOf(name));
    expect(indexes).toEqual([0, 1, 2, 3, 0, 1, 4]);
    expect([0, 1, 2, 3, 4].map((index) => ids.idOf(index))).toEqual(['p0-0', 'p1-7', 'p01-7', 'odd', 'p2-3']);
  });

  it('finds a runner id by its two numbers as by its text', () => {
    const ids = new IdIndex(2, new ColumnPool());
    expect(ids.indexOf('p3-14')).toBe(0);
    expect(ids.indexOf('odd')).toBe(1);
    expect(ids.indexOfRunnerId(3, 14)).toBe(0);
    expect(ids.indexOfRunnerId(3, 15)).toBe(2);
    expect(ids.indexOf('p3-15')).toBe(2);
    expect(ids.idOf(2)).toBe('p3-15');
  });
});
