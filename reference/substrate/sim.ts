// The reference broker's discrete-event simulation: virtual time, a queue of timed events, and
// a pump that runs one event per turn of Node's event loop.
//
// Why this shape: the runner drives producers and consumers as ordinary async code, the same
// code that drives a real broker. Here every operation the runner awaits is a promise that a
// simulated event settles. Between two events the pump yields to the event loop (setImmediate),
// so all the reactions to one event (the microtasks of the runner's awaits) run before the next
// event, and nothing else is pending: no real I/O and no real timers decide the order. The run
// is then a function of the seed alone, which is what makes histories byte-identical.
//
// Most events settle no wait (a replica's fetch, a hop of a message between brokers), and after
// such an event there are no reactions to run: every promise the runner or a client awaits is,
// at its root, a wait settled by an event. So the pump runs events back to back in one turn until
// one settles a wait, or a bound is reached that keeps real I/O (progress, deadlines) flowing.
// The order of events and reactions is the same as with one event per turn, only with fewer
// turns of the event loop, which cost more than most events.

import { Random } from '../../core/random.js';

/**
 * Events one turn of the event loop may run when none of them settles a wait: enough to make the
 * turn's own cost small, few enough that a turn stays well under a millisecond.
 */
const MAX_EVENTS_PER_TURN = 256;

export class SimulationClosed extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SimulationClosed';
  }
}

export interface Timer {
  readonly at: number;
  cancel(): void;
}

interface QueuedEvent extends Timer {
  readonly order: number;
  readonly run: () => void;
  cancelled: boolean;
}

interface Waiter {
  readonly reject: (error: Error) => void;
}

export class Simulation {
  readonly random: Random;
  /** Virtual milliseconds since the simulation began. */
  now = 0;
  /** How many events have run; a bound on it stops a runaway simulation. */
  eventsRun = 0;
  private readonly heap: QueuedEvent[] = [];
  private order = 0;
  private readonly waiters = new Set<Waiter>();
  private pumpScheduled = false;
  private closedReason: string | undefined;
  /** Waits settled so far: the pump ends its turn after an event that settled one. */
  private settlements = 0;

  constructor(seed: number, private readonly maxEvents = 50_000_000) {
    this.random = new Random(seed);
  }

  /** Runs `run` after `delayMs` of virtual time. Events at the same time run in schedule order. */
  schedule(delayMs: number, run: () => void): Timer {
    return this.scheduleAt(this.now + Math.max(0, delayMs), run);
  }

  /**
   * Runs `run` at virtual time `atMs` (now, if that has passed). An absolute time, so that two
   * events meant for the same instant get exactly the same time and run in schedule order:
   * `now + (atMs - now)` need not equal `atMs` in floating point.
   */
  scheduleAt(atMs: number, run: () => void): Timer {
    const event: QueuedEvent = {
      at: Math.max(this.now, atMs),
      order: this.order++,
      run,
      cancelled: false,
      cancel() {
        this.cancelled = true;
      },
    };
    this.push(event);
    return event;
  }

  /**
   * A promise that simulated events settle. While any such promise is pending, the simulation
   * keeps running; when none is, virtual time stands still, as nobody is waiting for it.
   */
  wait<T>(executor: (resolve: (value: T) => void, reject: (error: Error) => void) => void): Promise<T> {
    if (this.closedReason !== undefined) return Promise.reject(new SimulationClosed(this.closedReason));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const waiter: Waiter = {
        reject: (error) => {
          if (settled) return;
          settled = true;
          this.settlements++;
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      this.schedulePump();
      try {
        executor(
          (value) => {
            if (settled) return;
            settled = true;
            this.settlements++;
            this.waiters.delete(waiter);
            resolve(value);
          },
          waiter.reject,
        );
      } catch (error) {
        // An executor that throws settles nothing later: without this the wait would stay
        // registered and keep virtual time running for nobody.
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  sleep(ms: number): Promise<void> {
    return this.wait<void>((resolve) => {
      this.schedule(ms, () => resolve());
    });
  }

  /** Ends the simulation: every pending wait rejects, and no event runs any more. */
  close(reason = 'the simulation was closed'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.heap.length = 0;
    for (const waiter of [...this.waiters]) waiter.reject(new SimulationClosed(reason));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closedReason !== undefined) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.pumpScheduled = false;
    for (let ran = 0; ran < MAX_EVENTS_PER_TURN; ran++) {
      if (this.closedReason !== undefined || this.waiters.size === 0) return;
      const settledBefore = this.settlements;
      if (!this.runNext()) return;
      // A settled wait has reactions queued as microtasks: they must run before the next event.
      if (this.settlements !== settledBefore) break;
    }
    if (this.waiters.size > 0) this.schedulePump();
  }

  /** Runs the next event; false when the simulation closed instead. */
  private runNext(): boolean {
    const event = this.pop();
    if (event === undefined) {
      // Somebody waits, yet nothing can ever happen: a bug in the simulation, reported as such
      // instead of a hang.
      this.close(`the reference broker stalled at ${this.now.toFixed(3)} ms with nothing scheduled`);
      return false;
    }
    this.now = event.at;
    this.eventsRun++;
    if (this.eventsRun > this.maxEvents) {
      this.close(`the reference broker ran more than ${this.maxEvents} events`);
      return false;
    }
    try {
      event.run();
    } catch (error) {
      // A bug in the model ends the run as an error with its message, not as an uncaught
      // exception that would kill the process with the exit code of a violated claim.
      this.close(`the reference broker failed at ${this.now.toFixed(3)} ms: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    return true;
  }

  private pop(): QueuedEvent | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      const last = this.heap.pop() as QueuedEvent;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.siftDown(0);
      }
      if (!top.cancelled) return top;
    }
  }

  private push(event: QueuedEvent): void {
    const heap = this.heap;
    heap.push(event);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(event, heap[parent] as QueuedEvent)) break;
      heap[index] = heap[parent] as QueuedEvent;
      index = parent;
    }
    heap[index] = event;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const event = heap[start] as QueuedEvent;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && before(heap[right] as QueuedEvent, heap[left] as QueuedEvent) ? right : left;
      if (!before(heap[child] as QueuedEvent, event)) break;
      heap[index] = heap[child] as QueuedEvent;
      index = child;
    }
    heap[index] = event;
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
