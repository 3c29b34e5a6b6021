// The sends of a client thread that wait for their outcome, found by id.
//
// A benchmark keeps hundreds of thousands of sends outstanding at once. A Map entry and a
// { resolve, reject } object per send kept the main thread's garbage collector busy (every one of
// them lives until its acknowledgment, long enough to be promoted), and the hashing showed in its
// profile. Ids grow by one per send or request, so the table is two arrays indexed by
// (id - baseId): requests, which take ids of the same counter, leave holes. A send's outcome goes
// to two functions and a token: a promise's resolving functions (which ignore the token), or the
// callbacks shared by every send of a Producer.sendWith() caller, which tell sends apart by it.

import type { SendResult } from '../contract.js';

export type Resolved = (result: SendResult, token: number) => void;
export type Rejected = (error: Error, token: number) => void;

/** Settled places at the front of the arrays that make them worth moving down. */
const COMPACT_AFTER_SLOTS = 4_096;

export class SendTable {
  private resolves: (Resolved | undefined)[] = [];
  private rejects: (Rejected | undefined)[] = [];
  private tokens: number[] = [];
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
  add(id: number, resolve: Resolved, reject: Rejected, token = 0): void {
    if (this.outstanding === 0) {
      // Nothing waits: start afresh at this id rather than keep the holes before it.
      this.resolves.length = 0;
      this.rejects.length = 0;
      this.tokens.length = 0;
      this.baseId = id;
      this.start = 0;
    }
    const index = id - this.baseId;
    if (index < this.resolves.length) throw new Error(`send ${id} was added after a later one`);
    while (this.resolves.length < index) {
      this.resolves.push(undefined);
      this.rejects.push(undefined);
      this.tokens.push(0);
    }
    this.resolves.push(resolve);
    this.rejects.push(reject);
    this.tokens.push(token);
    this.outstanding++;
  }

  /** Resolves send `id`; false when it is not (or no longer) outstanding. */
  resolve(id: number, result: SendResult): boolean {
    const index = id - this.baseId;
    const resolve = index >= 0 ? this.resolves[index] : undefined;
    if (resolve === undefined) return false;
    const token = this.tokens[index] ?? 0;
    this.clear(index);
    resolve(result, token);
    return true;
  }

  /** Rejects send `id`; false when it is not (or no longer) outstanding. */
  reject(id: number, error: Error): boolean {
    const index = id - this.baseId;
    const reject = index >= 0 ? this.rejects[index] : undefined;
    if (reject === undefined) return false;
    const token = this.tokens[index] ?? 0;
    this.clear(index);
    reject(error, token);
    return true;
  }

  /** Rejects the outstanding sends with ids below `id`, in the order of their ids. */
  rejectBefore(id: number, error: Error): void {
    const end = Math.min(id - this.baseId, this.rejects.length);
    for (let index = this.start; index < end; index++) {
      const reject = this.rejects[index];
      if (reject === undefined) continue;
      const token = this.tokens[index] ?? 0;
      this.forget(index);
      reject(error, token);
    }
    this.advance();
  }

  /** Rejects every outstanding send with the same error, in the order of their ids. */
  rejectAll(error: Error): void {
    const { rejects, tokens } = this;
    this.resolves = [];
    this.rejects = [];
    this.tokens = [];
    this.outstanding = 0;
    this.start = 0;
    rejects.forEach((reject, index) => reject?.(error, tokens[index] ?? 0));
  }

  private clear(index: number): void {
    this.forget(index);
    this.advance();
  }

  private forget(index: number): void {
    this.resolves[index] = undefined;
    this.rejects[index] = undefined;
    this.outstanding--;
  }

  /** Moves the start past what is settled, and the live part down when that is worth it. */
  private advance(): void {
    while (this.start < this.resolves.length && this.resolves[this.start] === undefined) this.start++;
    // Moving the live part down costs at most what was settled since the last move.
    if (this.start >= COMPACT_AFTER_SLOTS && this.start * 2 >= this.resolves.length) {
      this.resolves.splice(0, this.start);
      this.rejects.splice(0, this.start);
      this.tokens.splice(0, this.start);
      this.baseId += this.start;
      this.start = 0;
    }
  }
}
