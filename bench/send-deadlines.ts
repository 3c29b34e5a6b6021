// Real-time deadlines for the many sends a benchmark producer has outstanding, kept with one timer
// instead of one per send. Every broker operation has a deadline; at tens of thousands of sends a
// second a timer, a race of promises and a message text per send were a large part of the
// driver's own work, enough for it to fall behind the schedule it measures against.
//
// A producer's sends start in order, numbered 0, 1, 2, ... (its `seq`), and may settle in any
// order. The oldest unsettled send is the first to miss its deadline, so it is the only one to
// look at: a cursor moves past settled sends, and a send that is still unsettled `timeoutMs` after
// it started is overdue.

export class SendDeadlines {
  private readonly startedMs: Float64Array;
  private readonly settled: Uint8Array;
  /** Sends started so far: 0 .. started - 1. */
  private started = 0;
  /** Every send below this one has settled. */
  private oldest = 0;
  private unsettled = 0;

  constructor(
    capacity: number,
    private readonly timeoutMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.startedMs = new Float64Array(capacity);
    this.settled = new Uint8Array(capacity);
  }

  /** Sends started and not settled. */
  get outstanding(): number {
    return this.unsettled;
  }

  /** Send `seq` starts now; sends start in order of `seq`. */
  start(seq: number): void {
    if (seq !== this.started) throw new Error(`send ${seq} started out of order (next is ${this.started})`);
    this.startedMs[seq] = this.nowMs();
    this.started++;
    this.unsettled++;
  }

  /** Send `seq` settled; a second settling of one send is ignored. */
  settle(seq: number): void {
    if (seq >= this.started || this.settled[seq] === 1) return;
    this.settled[seq] = 1;
    this.unsettled--;
  }

  /** The oldest send past its deadline, or -1 when there is none. */
  overdue(): number {
    while (this.oldest < this.started && this.settled[this.oldest] === 1) this.oldest++;
    if (this.oldest >= this.started) return -1;
    return this.nowMs() - (this.startedMs[this.oldest] ?? 0) > this.timeoutMs ? this.oldest : -1;
  }
}
