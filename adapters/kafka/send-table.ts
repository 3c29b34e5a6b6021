// The sends of a client thread that wait for their outcome, found by id.
//
// A benchmark keeps hundreds of thousands of sends outstanding at once. A Map entry and a
// { resolve, reject } object per send kept the main thread's garbage collector busy (every one of
// them lives until its acknowledgment, long enough to be promoted), and the hashing showed in its
// profile. Ids grow by one per send or request, so the table is two arrays indexed by
// (id - baseId): requests, which take ids of the same counter, leave holes.

import type { SendResult } from '../contract.js';

/** Settled places at the front of the arrays that make them worth moving down. */
const COMPACT_AFTER_SLOTS = 4_096;

export class SendTable {
  private resolves: (((result: SendResult) => void) | undefined)[] = [];
  private rejects: (((error: Error) => void) | undefined)[] = [];
  /** The id at index 0 of the arrays. */
  private baseId = 0;
  /** Every index below this one is settled or a hole. */
  private start = 0;
  private outstanding = 0;

  /** Sends waiting for their outcome. */
  get size(): number {
    return this.outstanding;
  }

  /** Records send `id`; ids must grow from one call to the next. */
  add(id: number, resolve: (result: SendResult) => void, reject: (error: Error) => void): void {
    if (this.outstanding === 0) {
      // Nothing waits: start afresh at this id rather than keep the holes before it.
      this.resolves.length = 0;
      this.rejects.length = 0;
      this.baseId = id;
      this.start = 0;
    }
    const index = id - this.baseId;
    if (index < this.resolves.length) throw new Error(`send ${id} was added after a later one`);
    while (this.resolves.length < index) {
      this.resolves.push(undefined);
      this.rejects.push(undefined);
    }
    this.resolves.push(resolve);
    this.rejects.push(reject);
    this.outstanding++;
  }

  /** Resolves send `id`; false when it is not (or no longer) outstanding. */
  resolve(id: number, result: SendResult): boolean {
    const index = id - this.baseId;
    const resolve = index >= 0 ? this.resolves[index] : undefined;
    if (resolve === undefined) return false;
    this.clear(index);
    resolve(result);
    return true;
  }

  /** Rejects send `id`; false when it is not (or no longer) outstanding. */
  reject(id: number, error: Error): boolean {
    const index = id - this.baseId;
    const reject = index >= 0 ? this.rejects[index] : undefined;
    if (reject === undefined) return false;
    this.clear(index);
    reject(error);
    return true;
  }

  /** Rejects every outstanding send with the same error. */
  rejectAll(error: Error): void {
    const rejects = this.rejects;
    this.resolves = [];
    this.rejects = [];
    this.outstanding = 0;
    this.start = 0;
    for (const reject of rejects) reject?.(error);
  }

  private clear(index: number): void {
    this.resolves[index] = undefined;
    this.rejects[index] = undefined;
    this.outstanding--;
    while (this.start < this.resolves.length && this.resolves[this.start] === undefined) this.start++;
    // Moving the live part down costs at most what was settled since the last move.
    if (this.start >= COMPACT_AFTER_SLOTS && this.start * 2 >= this.resolves.length) {
      this.resolves.splice(0, this.start);
      this.rejects.splice(0, this.start);
      this.baseId += this.start;
      this.start = 0;
    }
  }
}
