// The benchmark driver: runs one rate step of one workload on one adapter and measures it.
//
// A step has phases, like a conformance run (harness/conformance/runner.ts), records the same history, and
// runs the same consumers and pipelines (harness/actors/), timed through their hooks; only its
// producers are its own, since an open-loop schedule is what a benchmark measures:
//   join      consumers start polling; the schedule waits until they have their partitions, so
//             the first measured messages do not wait for a rebalance;
//   schedule  producers send on an open-loop schedule on the adapter's clock: message i is meant
//             to leave at start + i / rate, whatever became of the messages before it;
//   catch-up  producers are done; consumers go on until every promised message is processed,
//             or nothing moves for a while;
//   drain     the replicas settle, consumers leave, every partition is read from its start.
// The checker then counts lost and duplicated messages, so every benchmark also says whether the
// workload's ack and commit modes kept their promises at that load.
//
// What is measured, on the adapter's clock:
// - publish latency: acknowledgment time minus INTENDED send time; end-to-end latency: first
//   processing minus intended send time. Measuring from the intended time means a broker (or a
//   driver) that falls behind shows up as latency, instead of silently lowering the load.
// - commit latency: one commit call (transactional: adding the offsets and committing).
// - throughput: completions whose time lies in the measured window, divided by its length.
// Latencies count messages whose intended time lies in the window; warm-up messages are sent,
// recorded and checked, but not measured.
//
// The driver also watches itself: a send that starts later than its intended time by more than
// a threshold is a missed schedule. With a wall clock, Node's event-loop delay is recorded too,
// since a busy loop delays acknowledgments. With a virtual clock neither says anything about
// this machine, so the real CPU time per simulated message is reported instead.

import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Adapter, BenchProducer, BenchProducerOptions, Clock, DeliveredRecord, Producer, SendCallbacks, SendResult } from '../adapters/contract.js';
import { messageId, parseMessageId } from '../core/message-id.js';
import { ActorContext } from '../harness/actors/context.js';
import { awaitAssignment, consumerActor, drain, pipelineActor } from '../harness/actors/consumers.js';
import { recordSend } from '../harness/actors/producers.js';
import { check, judge } from '../harness/conformance/checker.js';
import { DeadlineError, withDeadline } from '../core/deadline.js';
import { errorText, HistoryRecorder, slug } from '../harness/history/recorder.js';
import { Random } from '../core/random.js';
import type { BenchWorkload } from '../spec/bench-workload.js';
import type { BenchRun, ClockKind } from '../spec/bench-result.js';
import type { MessageRef } from '../spec/history.js';
import { ANOMALIES, type Anomaly, type Expectation } from '../spec/vocabulary.js';
import { probeClockKind } from './clock.js';
import { backlog, claimOf } from './claims.js';
import { describeWorkload, emptyRun } from './run-shape.js';
import { InFlightLimit, sendWithCallbacks } from './in-flight.js';
import { SendDeadlines } from './send-deadlines.js';
import { Histogram, summarize } from './histogram.js';
import { inWindow, intendedTimeMs, producerOf, scheduleWindow, type ScheduleWindow } from './schedule.js';

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

/**
 * What the benchmark asks of a session's benchmark extension: values of the workload's size, and
 * sends batched into one request per partition, as a Java producer's would, rather than one
 * request per record, so that it measures the guarantee rather than a client's per-call cost.
 */
function benchExtrasOf(workload: BenchWorkload): BenchProducerOptions {
  return { valueBytes: workload.messageBytes, batching: true };
}

export interface StepProgress {
  readonly phase: 'open' | 'join' | 'schedule' | 'catch-up' | 'drain';
  readonly sent: number;
  readonly total: number;
  readonly acknowledged: number;
  readonly processed: number;
}

export interface StepOptions {
  readonly adapter: Adapter;
  /** Overrides the workload's seed. */
  readonly seed?: number;
  /** Which of the workload's rates to run. */
  readonly step: number;
  /** Deadline of each broker operation, in real milliseconds. */
  readonly operationTimeoutMs?: number;
  /** Called now and then in real time while the step runs, for a progress line. */
  readonly onProgress?: (progress: StepProgress) => void;
}

/** Runs one rate step of a workload on an adapter; never throws for broker trouble. */
export async function runBenchStep(workload: BenchWorkload, options: StepOptions): Promise<BenchRun> {
  const rate = workload.rates[options.step];
  if (rate === undefined) throw new RangeError(`workload ${workload.name} has no rate step ${options.step}`);
  const seed = options.seed ?? workload.seed;
  const adapter = options.adapter;
  const missing = workload.requires.filter((capability) => !adapter.capabilities.has(capability));
  if (missing.length > 0) {
    return emptyRun(workload, adapter.name, seed, options.step, rate, 'skipped', `adapter ${adapter.name} lacks ${missing.join(', ')}`, DRIVER.missedScheduleThresholdMs);
  }
  const step = new Step(workload, adapter, seed, rate, options);
  return step.execute();
}


/** One rate step of one workload on one adapter. */
class Step {
  private readonly recorder = new HistoryRecorder();
  private readonly opTimeoutMs: number;
  private readonly window: ScheduleWindow;
  /** Names the topic, and with it the group and the transactional ids, so runs never share them. */
  private readonly runName: string;
  private clockKind: ClockKind | undefined;
  private phase: StepProgress['phase'] = 'open';
  private readonly notes: string[] = [];
  /** The session, the deadlines and the clients every actor of the step shares. */
  private readonly ctx: ActorContext;

  /** The clock time message 0 is meant to leave; set when the schedule starts. */
  private startMs = 0;
  /** Per message index: the key index, and when it was acknowledged and first processed (NaN: not yet). */
  private readonly keys: Uint32Array;
  private readonly ackedAtMs: Float64Array;
  private readonly processedAtMs: Float64Array;

  private readonly publish = new Histogram();
  private readonly endToEnd = new Histogram();
  private readonly commitLatency = new Histogram();
  private sent = 0;
  private acknowledged = 0;
  /** Messages the broker promised to keep: acknowledged, or under ack none sent without an error. */
  private promised = 0;
  private processedDistinct = 0;
  private measuredAcknowledged = 0;
  private measuredProcessed = 0;
  private producerCompletionsInWindow = 0;
  private consumerCompletionsInWindow = 0;
  private sendErrors = 0;
  private commitErrors = 0;
  private missedSchedule = 0;
  private maxLagMs = 0;
  private inFlightLimitHits = 0;

  constructor(
    private readonly workload: BenchWorkload,
    private readonly adapter: Adapter,
    private readonly seed: number,
    private readonly rate: number,
    private readonly options: StepOptions,
  ) {
    this.opTimeoutMs = options.operationTimeoutMs ?? DRIVER.operationTimeoutMs;
    this.window = scheduleWindow(rate, workload.warmupMs, workload.durationMs);
    this.runName = `deliverycheck-bench-${slug(workload.name)}-${seed}-${rate}`;
    const total = this.window.total;
    this.keys = new Uint32Array(total);
    // Keys come from the run's seed, so every adapter gets the same messages in the same order.
    const random = new Random(seed ^ 0x6b657973);
    for (let index = 0; index < total; index++) this.keys[index] = random.int(0, workload.keys - 1);
    this.ackedAtMs = new Float64Array(total).fill(Number.NaN);
    this.processedAtMs = new Float64Array(total).fill(Number.NaN);
    const group = `${this.runName}-group`;
    const pipeline = workload.commit === 'transactional';
    this.ctx = new ActorContext(
      this.recorder,
      {
        group,
        commit: workload.commit,
        operationTimeoutMs: this.opTimeoutMs,
        pollTimeoutMs: workload.adapter.pollTimeoutMs,
        consumer: (index) => ({
          index,
          group,
          isolation: workload.adapter.isolation,
          autoCommit: workload.commit === 'auto',
          maxPollRecords: workload.adapter.maxPollRecords,
        }),
        pipelineProducer: (index) => ({
          index,
          topic: 'output',
          ack: 'all',
          retries: workload.adapter.retries,
          idempotent: true,
          transactionalId: `${this.runName}-pipeline-${index}`,
        }),
        benchExtras: benchExtrasOf(workload),
      },
      {
        // A pipeline's batch counts as processed when its transaction commits, since only then
        // is its output seen.
        processed: (_index, records) => {
          if (!pipeline) this.measureProcessed(records, this.clock.now());
        },
        acknowledged: (_index, startMs, records) => {
          const nowMs = this.clock.now();
          if (this.inWindow(startMs)) this.commitLatency.record((nowMs - startMs) * 1000);
          if (pipeline) this.measureProcessed(records, nowMs);
        },
        ackFailed: () => {
          this.commitErrors++;
        },
      },
    );
  }

  private op<T>(operation: Promise<T>, what: string, timeoutMs = this.opTimeoutMs): Promise<T> {
    return this.ctx.op(operation, what, timeoutMs);
  }

  private get clock(): Clock {
    return this.ctx.session.clock;
  }

  async execute(): Promise<BenchRun> {
    const realStartMs = performance.now();
    const cpuStart = process.cpuUsage();
    let loopDelay: IntervalHistogram | undefined;
    const progress = this.options.onProgress;
    const progressTimer =
      progress === undefined
        ? undefined
        : setInterval(() => progress(this.progress()), DRIVER.progressIntervalMs);
    progressTimer?.unref();
    let failure: unknown;
    try {
      await this.open();
      if (this.clockKind === 'wall') {
        loopDelay = monitorEventLoopDelay({ resolution: DRIVER.eventLoopResolutionMs });
        loopDelay.enable();
      }
      await this.run();
    } catch (error) {
      failure = error;
    } finally {
      if (progressTimer !== undefined) clearInterval(progressTimer);
      loopDelay?.disable();
      await this.shutdown();
    }
    const cpu = process.cpuUsage(cpuStart);
    const realDurationMs = performance.now() - realStartMs;
    return this.result(failure, {
      cpuUs: cpu.user + cpu.system,
      realDurationMs,
      ...(loopDelay === undefined ? {} : { loopDelay }),
    });
  }

  private progress(): StepProgress {
    return {
      phase: this.phase,
      sent: this.sent,
      total: this.window.total,
      acknowledged: this.acknowledged,
      processed: this.processedDistinct,
    };
  }

  private async open(): Promise<void> {
    const workload = this.workload;
    const topic = {
      name: this.runName,
      partitions: workload.partitions,
      replication: workload.replication,
      minInsync: workload.minInsync,
      uncleanElection: false,
    };
    const pipeline = workload.commit === 'transactional';
    this.ctx.session = await this.op(
      this.adapter.open({
        seed: this.seed,
        brokers: workload.adapter.brokers,
        topic,
        ...(pipeline ? { outputTopic: { ...topic, name: `${topic.name}-output` } } : {}),
        defects: [],
        info: (source, message) => this.recorder.record({ type: 'info', source, message }),
      }),
      `opening adapter ${this.adapter.name}`,
      DRIVER.openTimeoutMs,
    );
    const session = this.ctx.session;
    this.clockKind = probeClockKind(session.clock);
    this.recorder.clock = () => session.clock.now();
    this.recorder.record({
      type: 'setup',
      scenario: workload.name,
      file: workload.file,
      adapter: this.adapter.name,
      seed: this.seed,
      topic: topic.name,
      partitions: topic.partitions,
      ack: workload.ack,
      commit: workload.commit,
      isolation: workload.adapter.isolation,
      defects: [],
    });
  }

  private async run(): Promise<void> {
    const workload = this.workload;
    const pipeline = workload.commit === 'transactional';
    this.setPhase('join');
    const consumers = Array.from({ length: workload.consumers }, (_, index) =>
      pipeline ? pipelineActor(this.ctx, index) : consumerActor(this.ctx, index),
    );
    // Producers open before the schedule starts: opening one (a client thread and its
    // connections on a real broker) takes tens of milliseconds that would otherwise make the
    // first sends late, and the driver would report its own start as a missed schedule.
    const opening = Array.from({ length: workload.producers }, (_, index) => this.openProducer(index));
    const opened = await this.ctx.untilAborted(Promise.all(opening));
    const unformed = await awaitAssignment(this.ctx, workload.consumers, workload.partitions, DRIVER.joinTimeoutMs, DRIVER.joinCheckMs);
    if (unformed !== undefined) this.notes.push(unformed);

    this.setPhase('schedule');
    this.startMs = this.clock.now();
    const producers = opened.map((producer, index) => this.producerActor(index, producer));
    await this.ctx.untilAborted(Promise.all(producers));

    this.setPhase('catch-up');
    await this.catchUp();

    this.setPhase('drain');
    const settled = await this.op(
      this.ctx.session.settle(DRIVER.settleTimeoutMs),
      'waiting for the replicas to settle',
      DRIVER.settleTimeoutMs + this.opTimeoutMs,
    );
    if (!settled) this.notes.push(`the replicas were not in sync after ${DRIVER.settleTimeoutMs} ms; the drain read what the leaders had`);
    this.ctx.stopConsumers = true;
    await this.ctx.untilAborted(Promise.all(consumers));
    await drain(this.ctx);
    this.recorder.record({ type: 'phase', name: 'done' });
  }

  private setPhase(name: StepProgress['phase']): void {
    this.phase = name;
    this.recorder.record({ type: 'phase', name });
  }

  /** Closes every client and the session, whatever state the step ended in. */
  private async shutdown(): Promise<void> {
    this.ctx.aborted ??= new Error('the step ended');
    await this.ctx.closeClients();
    if (this.ctx.hasSession) {
      await withDeadline(this.ctx.session.close(), this.opTimeoutMs, 'closing the session').catch((error: unknown) => {
        this.notes.push(`closing the session failed: ${errorText(error)}`);
      });
    }
  }

  // ------------------------------------------------------------------ producers

  /** A producer with the session's benchmark extras (padded values, batching) where it has them. */
  private async openProducer(index: number): Promise<Producer | BenchProducer> {
    const workload = this.workload;
    const options = { index, topic: 'input', ack: workload.ack, retries: workload.adapter.retries, idempotent: workload.idempotent } as const;
    const bench = this.ctx.session.bench;
    const opening = bench === undefined ? this.ctx.session.producer(options) : bench.producer({ ...options, ...benchExtrasOf(workload) });
    return this.ctx.track(await this.op(opening, `opening producer ${index}`));
  }

  private async producerActor(index: number, producer: Producer | BenchProducer): Promise<void> {
    const workload = this.workload;
    const clock = this.clock;
    const wall = this.clockKind === 'wall';
    const limit = new InFlightLimit(workload.adapter.maxInFlight);
    const deadlines = new SendDeadlines(Math.ceil(this.window.total / workload.producers), this.opTimeoutMs);
    // Resolved when the last send settles after the schedule ended, rejected by the watchdog.
    let finished: { readonly resolve: () => void; readonly reject: (error: Error) => void } | undefined;
    let scheduled = false;
    const settle = (seq: number): void => {
      deadlines.settle(seq);
      limit.release();
      if (scheduled && deadlines.outstanding === 0) finished?.resolve();
    };
    const callbacks: SendCallbacks = {
      sent: (result, message) => {
        settle(Math.floor(message / workload.producers));
        this.recordAcknowledgment(index, message, result);
      },
      failed: (error, message) => {
        settle(Math.floor(message / workload.producers));
        this.sendErrors++;
        this.recorder.record({ type: 'error', producer: index, id: messageId(index, Math.floor(message / workload.producers)), error: errorText(error) });
      },
    };
    // One timer watches every outstanding send's deadline (send-deadlines.ts says why): a hung
    // send is fatal to the step.
    const watchdog = setInterval(() => {
      const seq = deadlines.overdue();
      if (seq < 0) return;
      const error = new DeadlineError(`producer ${index} sending ${messageId(index, seq)}`, this.opTimeoutMs);
      this.ctx.abort(error, `producer ${index}`);
      finished?.reject(error);
    }, DRIVER.sendDeadlineCheckMs);
    try {
      let sinceYield = 0;
      for (let message = index; message < this.window.total; message += workload.producers) {
        if (this.ctx.aborted !== undefined) break;
        const intendedMs = intendedTimeMs(this.startMs, message, this.rate);
        const nowMs = clock.now();
        if (intendedMs > nowMs) {
          sinceYield = 0;
          await this.op(clock.sleep(intendedMs - nowMs), `producer ${index} waiting for its schedule`);
        } else if (wall && ++sinceYield >= DRIVER.wallYieldEvery) {
          // A burst of overdue sends would otherwise hold the event loop and delay every ack.
          sinceYield = 0;
          await yieldToEventLoop();
        }
        if (limit.full) this.inFlightLimitHits++;
        if (!limit.tryAcquire()) await limit.acquire();
        const lagMs = clock.now() - intendedMs;
        if (lagMs > DRIVER.missedScheduleThresholdMs) this.missedSchedule++;
        if (lagMs > this.maxLagMs) this.maxLagMs = lagMs;
        const { producer: producerIndex, seq } = producerOf(message, workload.producers);
        const ref: MessageRef = {
          id: messageId(producerIndex, seq),
          producer: producerIndex,
          seq,
          key: `k${this.keys[message] ?? 0}`,
        };
        recordSend(this.ctx, ref);
        this.sent++;
        deadlines.start(seq);
        sendWithCallbacks(producer, ref, callbacks, message);
      }
      scheduled = true;
      if (deadlines.outstanding > 0) {
        await new Promise<void>((resolve, reject) => {
          finished = { resolve, reject };
        });
      }
      this.ctx.untrack(producer);
      await this.op(producer.close(), `closing producer ${index}`);
    } catch (error) {
      this.ctx.abort(error, `producer ${index}`);
    } finally {
      clearInterval(watchdog);
    }
  }

  /** Records an acknowledgment (or, with ack none, the client's acceptance) of `message`. */
  private recordAcknowledgment(index: number, message: number, result: SendResult): void {
    const atMs = this.clock.now();
    const seq = Math.floor(message / this.workload.producers);
    if (result.offset !== null) {
      this.recorder.record({ type: 'ack', producer: index, id: messageId(index, seq), partition: result.partition, offset: result.offset });
      this.acknowledged++;
    }
    this.promised++;
    this.ackedAtMs[message] = atMs;
    if (this.isMeasured(message)) {
      this.measuredAcknowledged++;
      this.publish.record((atMs - intendedTimeMs(this.startMs, message, this.rate)) * 1000);
    }
    if (this.inWindow(atMs)) this.producerCompletionsInWindow++;
  }

  private isMeasured(message: number): boolean {
    return message >= this.window.firstMeasured && message < this.window.endMeasured;
  }

  private inWindow(timeMs: number): boolean {
    return inWindow(timeMs, this.startMs, this.workload.warmupMs, this.workload.durationMs);
  }

  // ------------------------------------------------------------------ consumers

  /**
   * Measures the first processing of each of the batch's messages at `atMs`: end-to-end latency
   * for the measured ones, and the consumer's completions inside the window.
   */
  private measureProcessed(records: readonly DeliveredRecord[], atMs: number): void {
    const counted = this.inWindow(atMs);
    for (const record of records) {
      const message = this.messageIndex(record.id);
      if (message === undefined || !Number.isNaN(this.processedAtMs[message] ?? 0)) continue;
      this.processedAtMs[message] = atMs;
      this.processedDistinct++;
      if (this.isMeasured(message)) {
        this.measuredProcessed++;
        this.endToEnd.record((atMs - intendedTimeMs(this.startMs, message, this.rate)) * 1000);
      }
      if (counted) this.consumerCompletionsInWindow++;
    }
  }

  /** The index of one of this step's messages, or undefined for an id it never sent. */
  private messageIndex(id: string): number | undefined {
    const parsed = parseMessageId(id);
    if (parsed === undefined) return undefined;
    const { producer, seq } = parsed;
    if (producer >= this.workload.producers) return undefined;
    const message = seq * this.workload.producers + producer;
    return message < this.window.total ? message : undefined;
  }

  // ------------------------------------------------------------------ catch-up

  /**
   * Waits until every message the broker promised to keep has been processed, or nothing moved
   * for a while: a before-process consumer whose commit failed never processes that batch.
   */
  private async catchUp(): Promise<void> {
    const clock = this.clock;
    const startMs = clock.now();
    let lastProcessed = -1;
    let lastProgressMs = startMs;
    for (;;) {
      if (this.ctx.aborted !== undefined) throw this.ctx.aborted;
      if (this.processedDistinct >= this.promised) return;
      const nowMs = clock.now();
      if (this.processedDistinct !== lastProcessed) {
        lastProcessed = this.processedDistinct;
        lastProgressMs = nowMs;
      }
      const behind = this.promised - this.processedDistinct;
      if (nowMs - lastProgressMs >= DRIVER.catchUpStallMs) {
        this.notes.push(`the consumers stopped with ${behind} promised messages unprocessed (no progress for ${DRIVER.catchUpStallMs} ms)`);
        return;
      }
      if (nowMs - startMs >= DRIVER.catchUpTimeoutMs) {
        this.notes.push(`the consumers did not catch up within ${DRIVER.catchUpTimeoutMs} ms (${behind} promised messages unprocessed)`);
        return;
      }
      await this.op(clock.sleep(DRIVER.catchUpCheckMs), 'waiting for the consumers to catch up');
    }
  }

  // ------------------------------------------------------------------ result

  private result(
    failure: unknown,
    real: { readonly cpuUs: number; readonly realDurationMs: number; readonly loopDelay?: IntervalHistogram },
  ): BenchRun {
    const workload = this.workload;
    const base = describeWorkload(workload, this.adapter.name, this.seed, this.options.step, this.rate);
    // Without a clock the session never opened, so there is nothing measured to report.
    if (this.clockKind === undefined) {
      return emptyRun(workload, this.adapter.name, this.seed, this.options.step, this.rate, 'error', errorText(failure), DRIVER.missedScheduleThresholdMs);
    }
    const checked = check(this.recorder.events);
    const expectations = Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, 'allowed'])) as Record<Anomaly, Expectation>;
    const lostClaim = claimOf(workload, 'lost');
    const duplicatedClaim = claimOf(workload, 'duplicated');
    expectations.lost = lostClaim.expect;
    expectations.duplicated = duplicatedClaim.expect;
    const judged = judge(checked, expectations);
    const claims = {
      lost: { ...lostClaim, count: judged.anomalies.lost.count, held: judged.anomalies.lost.held },
      duplicated: { ...duplicatedClaim, count: judged.anomalies.duplicated.count, held: judged.anomalies.duplicated.held },
    };
    const violated = (['lost', 'duplicated'] as const).filter((anomaly) => !claims[anomaly].held);
    const status = failure !== undefined ? 'error' : violated.length > 0 ? 'failed' : 'ok';
    const reason =
      failure !== undefined
        ? errorText(failure)
        : violated.map((anomaly) => `${anomaly}: ${claims[anomaly].count} (${claims[anomaly].because})`).join('; ');

    const seconds = workload.durationMs / 1000;
    const throughput = (completions: number) => {
      const messagesPerSecond = completions / seconds;
      return {
        messagesPerSecond: Math.round(messagesPerSecond * 10) / 10,
        mebibytesPerSecond: Math.round(((messagesPerSecond * workload.messageBytes) / 2 ** 20) * 1000) / 1000,
      };
    };
    const loopDelay = real.loopDelay;
    const notes = [...this.notes];
    if (this.clockKind === 'virtual') {
      notes.push(
        `${this.adapter.name} has a virtual clock: it moves only while the driver waits for the adapter, so every latency and rate of this run is the model's, not this machine's; the real cost is the CPU time per simulated message`,
      );
    }
    notes.push(
      this.ctx.session.bench === undefined
        ? `MiB/s counts each message as messageBytes (${workload.messageBytes}); ${this.adapter.name} has no benchmark extension, so its values are as small as they come and every send is a request of its own`
        : `MiB/s counts each message as messageBytes (${workload.messageBytes}); ${this.adapter.name}'s benchmark extension pads each value to that size and batches sends`,
    );
    const publish = summarize(this.publish);
    const backlogNote = backlog(this.window.measured, this.producerCompletionsInWindow, publish, workload.durationMs);
    if (backlogNote !== undefined) notes.push(backlogNote);
    if (workload.ack === 'none') notes.push('with ack none, publish latency is the time until the client accepted the send');
    if (workload.commit === 'auto') notes.push('auto-commit runs inside the client, so no commit latency is measured');
    if (this.publish.saturated + this.endToEnd.saturated + this.commitLatency.saturated > 0) {
      notes.push('some latencies were above one hour and were recorded as one hour');
    }
    return {
      ...base,
      clock: this.clockKind,
      status,
      ...(status === 'ok' ? {} : { reason }),
      counts: checked.counts,
      measured: {
        intended: this.window.measured,
        acknowledged: this.measuredAcknowledged,
        processed: this.measuredProcessed,
      },
      throughput: {
        producer: throughput(this.producerCompletionsInWindow),
        consumer: throughput(this.consumerCompletionsInWindow),
      },
      latency: {
        publish,
        endToEnd: summarize(this.endToEnd),
        commit: summarize(this.commitLatency),
      },
      errors: { send: this.sendErrors, commit: this.commitErrors },
      anomalies: Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, checked.anomalies[anomaly].count])) as Record<
        Anomaly,
        number
      >,
      claims,
      driver: {
        missedSchedule: {
          count: this.missedSchedule,
          maxLagUs: Math.round(this.maxLagMs * 1000),
          thresholdUs: DRIVER.missedScheduleThresholdMs * 1000,
        },
        inFlightLimitHits: this.inFlightLimitHits,
        ...(loopDelay === undefined || loopDelay.count === 0
          ? {}
          : {
              eventLoopDelayUs: {
                // perf_hooks reports nanoseconds.
                p50: Math.round(loopDelay.percentile(50) / 1000),
                p99: Math.round(loopDelay.percentile(99) / 1000),
                max: Math.round(loopDelay.max / 1000),
              },
            }),
        cpuUsPerMessage: this.sent === 0 ? 0 : Math.round((real.cpuUs / this.sent) * 100) / 100,
        realDurationMs: Math.round(real.realDurationMs),
      },
      notes,
    };
  }
}

