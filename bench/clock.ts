// Which kind of clock an adapter has, found by watching it rather than by trusting a name.
//
// A virtual clock (the reference broker's simulation) moves only while somebody awaits one of its
// promises: between two awaits, however much real time passes, now() stands still. A wall clock
// moves on its own. So the probe reads now(), spins on the CPU for a few real milliseconds
// without awaiting anything, and reads it again. This needs nothing from the adapter contract
// and cannot be fooled by a new adapter's name; a wall clock that counts whole milliseconds
// (the kafka adapter's does) still moves during a spin of more than one millisecond.

import { performance } from 'node:perf_hooks';
import type { Clock } from '../adapters/contract.js';
import type { ClockKind } from '../spec/bench-result.js';

/** Real milliseconds the probe spins: long enough for a whole-millisecond clock to tick twice. */
export const CLOCK_PROBE_SPIN_MS = 3;

export function probeClockKind(clock: Pick<Clock, 'now'>, spinMs: number = CLOCK_PROBE_SPIN_MS): ClockKind {
  const before = clock.now();
  const untilMs = performance.now() + spinMs;
  // A busy wait on purpose: any await here would let a virtual clock move and spoil the probe.
  while (performance.now() < untilMs) {
    // Spinning.
  }
  return clock.now() > before ? 'wall' : 'virtual';
}
