// The closed loop a bare client library runs for the benchmark's overhead figure
// (BenchExtension.bareLoop): what an application writes around a client's asynchronous send,
// with at most `window` sends outstanding. Each adapter hands it the one call of its library;
// the loop itself is the same for every broker, so the figures differ by library alone.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { BareLoopOptions, BareLoopResult } from './contract.js';

/** Sends started in one turn of the event loop before it yields, so completions get in. */
const SENDS_PER_TURN = 512;

/**
 * Sends `options.records` messages, message i through `send(i)`, which resolves when the library
 * says the send is done. A send that rejects counts as an error; the loop goes on.
 */
export async function runBareLoop(options: BareLoopOptions, send: (index: number) => Promise<unknown>): Promise<BareLoopResult> {
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let outstanding = 0;
  let lastMs = 0;
  let wake: (() => void) | undefined;
  const settle = (): void => {
    outstanding--;
    lastMs = performance.now();
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  const startMs = performance.now();
  for (let index = 0; index < options.records; index++) {
    if (index % SENDS_PER_TURN === SENDS_PER_TURN - 1) await yieldToEventLoop();
    while (outstanding >= options.window) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    outstanding++;
    send(index).then(
      () => {
        completed++;
        settle();
      },
      (error: unknown) => {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        settle();
      },
    );
  }
  while (outstanding > 0) {
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  const elapsedMs = Math.max(lastMs - startMs, 0);
  return firstError === undefined ? { completed, errors, elapsedMs } : { completed, errors, firstError, elapsedMs };
}
