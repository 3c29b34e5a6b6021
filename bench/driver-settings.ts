// The benchmark driver's own settings, in a file of their own because the driver (driver.ts), its
// open-loop producer and its measurements all read them: deadlines, the waits of the phases, and
// how often the driver looks at itself.

/** Settings of the driver that are not part of the workload language. */
export const DRIVER = {
  /** Real-time deadline of each adapter call, as in the conformance runner. */
  operationTimeoutMs: 30_000,
  /** Opening a session may start a cluster. */
  openTimeoutMs: 180_000,
  /** A send that starts later than its intended time by more than this missed its schedule. */
  missedScheduleThresholdMs: 5,
  /** Clock milliseconds the schedule waits for consumers to get their partitions. */
  joinTimeoutMs: 30_000,
  joinCheckMs: 5,
  /** Clock milliseconds the catch-up waits without progress before it gives up. */
  catchUpStallMs: 2_000,
  /** Clock milliseconds the catch-up may take at most. */
  catchUpTimeoutMs: 60_000,
  catchUpCheckMs: 10,
  settleTimeoutMs: 10_000,
  /** With a wall clock, a run of overdue sends yields to the event loop this often, so acks get in. */
  wallYieldEvery: 64,
  /** Real milliseconds between two looks for a producer's overdue sends (send-deadlines.ts). */
  sendDeadlineCheckMs: 1_000,
  /** Real milliseconds between progress reports. */
  progressIntervalMs: 200,
  /** Resolution of Node's event-loop delay monitor. */
  eventLoopResolutionMs: 10,
} as const;
