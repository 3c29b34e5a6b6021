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
// What is measured, on the adapter's clock, is in step-measurements.ts; the producers and their
// schedule in open-loop-producer.ts; the result, with the checker's judgment and the notes, in
// step-result.ts. This file runs the phases.
//
// The driver also watches itself: a send that starts later than its intended time by more than
// a threshold is a missed schedule. With a wall clock, Node's event-loop delay is recorded too,
// since a busy loop delays acknowledgments. With a virtual clock neither says anything about
// this machine, so the real CPU time per simulated message is reported instead.

import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Adapter, Clock } from '../adapters/contract.js';
import { ActorContext } from '../harness/actors/context.js';
import { awaitAssignment, consumerActor, drain, pipelineActor } from '../harness/actors/consumers.js';
import { withDeadline } from '../core/deadline.js';
import { errorText, HistoryRecorder, slug } from '../harness/history/recorder.js';
import type { BenchWorkload } from '../spec/bench-workload.js';
import type { BenchRun, ClockKind } from '../spec/bench-result.js';
import { probeClockKind } from './clock.js';
import { DRIVER } from './driver-settings.js';
import { benchExtrasOf, messageKeys, openBenchProducer, produceOnSchedule, type OpenLoopStep } from './open-loop-producer.js';
import { emptyRun } from './run-shape.js';
import { scheduleWindow, type ScheduleWindow } from './schedule.js';
import { StepMeasurements } from './step-measurements.js';
import { stepResult, type RealCost } from './step-result.js';

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

  /** Per message index: the key index. */
  private readonly keys: Uint32Array;
  private readonly measurements: StepMeasurements;

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
    this.keys = messageKeys(seed, this.window.total, workload.keys);
    const measurements = new StepMeasurements(this.window, rate, workload);
    this.measurements = measurements;
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
          if (!pipeline) measurements.processed(records, this.clock.now());
        },
        acknowledged: (_index, startMs, records) => {
          const nowMs = this.clock.now();
          measurements.committed(startMs, nowMs);
          if (pipeline) measurements.processed(records, nowMs);
        },
        ackFailed: () => {
          measurements.commitErrors++;
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
    const m = this.measurements;
    return {
      phase: this.phase,
      sent: m.sent,
      total: this.window.total,
      acknowledged: m.acknowledged,
      processed: m.processedDistinct,
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
    const opening = Array.from({ length: workload.producers }, (_, index) => openBenchProducer(this.ctx, workload, index, this.opTimeoutMs));
    const opened = await this.ctx.untilAborted(Promise.all(opening));
    const unformed = await awaitAssignment(this.ctx, workload.consumers, workload.partitions, DRIVER.joinTimeoutMs, DRIVER.joinCheckMs);
    if (unformed !== undefined) this.notes.push(unformed);

    this.setPhase('schedule');
    this.measurements.startMs = this.clock.now();
    const schedule: OpenLoopStep = {
      ctx: this.ctx,
      workload,
      rate: this.rate,
      total: this.window.total,
      keys: this.keys,
      wall: this.clockKind === 'wall',
      opTimeoutMs: this.opTimeoutMs,
      measurements: this.measurements,
    };
    const producers = opened.map((producer, index) => produceOnSchedule(schedule, index, producer));
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

  // ------------------------------------------------------------------ catch-up

  /**
   * Waits until every message the broker promised to keep has been processed, or nothing moved
   * for a while: a before-process consumer whose commit failed never processes that batch.
   */
  private async catchUp(): Promise<void> {
    const clock = this.clock;
    const m = this.measurements;
    const startMs = clock.now();
    let lastProcessed = -1;
    let lastProgressMs = startMs;
    for (;;) {
      if (this.ctx.aborted !== undefined) throw this.ctx.aborted;
      if (m.processedDistinct >= m.promised) return;
      const nowMs = clock.now();
      if (m.processedDistinct !== lastProcessed) {
        lastProcessed = m.processedDistinct;
        lastProgressMs = nowMs;
      }
      const behind = m.promised - m.processedDistinct;
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

  private result(failure: unknown, real: RealCost): BenchRun {
    // Without a clock the session never opened, so there is nothing measured to report.
    if (this.clockKind === undefined) {
      return emptyRun(this.workload, this.adapter.name, this.seed, this.options.step, this.rate, 'error', errorText(failure), DRIVER.missedScheduleThresholdMs);
    }
    return stepResult(
      {
        workload: this.workload,
        adapter: this.adapter.name,
        seed: this.seed,
        step: this.options.step,
        rate: this.rate,
        clockKind: this.clockKind,
        window: this.window,
        recorder: this.recorder,
        measurements: this.measurements,
        benchExtension: this.ctx.session.bench !== undefined,
        notes: this.notes,
        failure,
      },
      real,
    );
  }
}
