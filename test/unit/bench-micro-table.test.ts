// The micro-benchmarks' table: figures formatted per row, and a note shared by several sizes
// printed once with every size it applies to.

import { describe, expect, it } from 'vitest';
import { formatMicroTable, type MicroResult } from '../../bench/micro/table.js';

const row = (size: string, note: string): MicroResult => ({
  name: 'checker',
  size,
  meanMs: 1500,
  samples: 2,
  rate: 6_670_000,
  unit: 'events',
  note,
});

describe('formatMicroTable', () => {
  it('prints each row and each distinct note once, with the sizes it belongs to', () => {
    const table = formatMicroTable([row('10^6 events', 'shared'), row('10^7 events', 'shared'), row('10^8 events', 'own')]);
    const lines = table.split('\n');
    expect(lines[2]).toMatch(/^checker\s+10\^6 events\s+1\.50 s\s+2\s+6\.67 M events\/s$/);
    expect(lines.filter((line) => line.includes('shared'))).toEqual(['  checker (10^6 events, 10^7 events): shared']);
    expect(lines.filter((line) => line.includes('own'))).toEqual(['  checker (10^8 events): own']);
  });
});
