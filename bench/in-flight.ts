// How the benchmark's producers hand sends to an adapter: through a BenchProducer's callbacks
// where there is one, and under a counting limit on outstanding sends, both written to cost no
// promise per send at hundreds of thousands of sends a second.

import type { BenchProducer, Producer, SendCallbacks } from '../adapters/contract.js';
import type { MessageRef } from '../spec/history.js';

/**
 * Sends `message`, its outcome going to `callbacks` with `token`: through the producer's
 * sendWith() where it is a BenchProducer, which costs no promise per send, else through send().
 */
export function sendWithCallbacks(producer: Producer | BenchProducer, message: MessageRef, callbacks: SendCallbacks, token: number): void {
  if ('sendWith' in producer) {
    producer.sendWith(message, callbacks, token);
    return;
  }
  producer.send(message).then(
    (result) => callbacks.sent(result, token),
    (error: unknown) => callbacks.failed(error instanceof Error ? error : new Error(String(error)), token),
  );
}

/**
 * A counting limit on outstanding sends, like a client's buffer. Waiting on it costs one promise
 * per waiting send; Promise.race over every outstanding send would cost one reaction per
 * outstanding send each time, which at saturation made the driver the slowest part.
 */
export class InFlightLimit {
  private outstanding = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number) {}

  get full(): boolean {
    return this.outstanding >= this.limit;
  }

  async acquire(): Promise<void> {
    if (this.tryAcquire()) return;
    // release() hands its place to the first waiter, so waking up is holding it.
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /**
   * Takes a place at once when one is free and nobody waits for one, without the promise and the
   * turn of the microtask queue that acquire() costs: at hundreds of thousands of sends a second
   * that cost showed in the sender's profile.
   */
  tryAcquire(): boolean {
    if (this.outstanding >= this.limit || this.waiters.length > 0) return false;
    this.outstanding++;
    return true;
  }

  release(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.outstanding--;
    else next();
  }
}
