// Deliberate defects of the reference broker. Each breaks one mechanism the way a real class of
// broker or client bug does, so the suite can show that it catches each one: a checker and a
// suite that pass a broken broker prove nothing. `deliverycheck run --defect NAME` turns one on;
// docs/sensitivity.md shows which scenarios catch which defect.

import type { DefectInfo } from '../../adapters/contract.js';

export const DEFECTS = [
  {
    name: 'ack-before-replication',
    description: 'acknowledges ack-all writes as soon as the leader appended them, before the ISR has them',
  },
  {
    name: 'ignore-min-insync',
    description: 'accepts ack-all writes while the ISR is smaller than minInsync',
  },
  {
    name: 'silent-unclean-election',
    description: 'elects an out-of-sync replica when no ISR member is left, although unclean election is off',
  },
  {
    name: 'skip-truncation',
    description: 'a replica that rejoins keeps the records where its log diverged from the leader',
  },
  {
    name: 'read-above-high-watermark',
    description: 'serves consumers records above the high watermark, which a leader change can still replace',
  },
  {
    name: 'duplicate-fetch',
    description: 'a consumer fetch starts one record before the position asked for, delivering that record again',
  },
  {
    name: 'commit-off-by-one',
    description: 'the group coordinator stores each committed offset one too high',
  },
  {
    name: 'ignore-idempotence',
    description: 'the leader stores a resent batch of an idempotent producer again instead of dropping it',
  },
  {
    name: 'expose-uncommitted',
    description: 'read-committed consumers read past the last stable offset and see aborted records',
  },
  {
    name: 'offsets-before-transaction',
    description: 'offsets sent to a transaction are committed at once, before the transaction commits',
  },
  {
    name: 'phantom-on-recovery',
    description: 'after a power loss the broker recovers a torn record as if it were a message',
  },
] as const satisfies readonly DefectInfo[];

export type DefectName = (typeof DEFECTS)[number]['name'];

export function isDefectName(name: string): name is DefectName {
  return DEFECTS.some((defect) => defect.name === name);
}

export class Defects {
  private readonly on: ReadonlySet<DefectName>;
  constructor(names: readonly DefectName[]) {
    this.on = new Set(names);
  }
  has(name: DefectName): boolean {
    return this.on.has(name);
  }
}
