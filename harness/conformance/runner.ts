// The runner: turns one scenario into a run against an adapter and a verdict.
//
// A run has phases, each recorded in the history:
//   workload  producers send, consumers poll, process and commit, faults fire on their triggers;
//   catch-up  producers are done; consumers go on until the group has committed every partition's
//             end, or make no progress for a while (faults triggered by `processed` still fire);
//   heal      every fault still in force is undone (brokers restarted and resumed), and the
//             replicas settle back in sync;
//   catch-up  once more, now that the cluster is whole and the end offsets final;
//   drain     consumers leave, and every partition is read from its start.
// The checker then judges the history against the scenario's expectations.
//
// Every adapter call has a real-time deadline. Actors (producers and consumers) are plain async
// loops, the same for every adapter; on the reference broker their awaits are settled by the
// simulation, which is why the same seed gives the same history.

import { join } from 'node:path';
import type { Adapter, TopicRole } from '../../adapters/contract.js';
import type { MessageRef } from '../../spec/history.js';
import type { ScenarioResult } from '../../spec/result.js';
import type { Fault, Scenario } from '../../spec/scenario.js';
import type { TriggerKind } from '../../spec/vocabulary.js';
import { messageId } from '../../core/message-id.js';
import { ActorContext, isFatal } from '../actors/context.js';
import { consumerActor, drain, pipelineActor } from '../actors/consumers.js';
import { ProducerActors } from '../actors/producers.js';
import { withDeadline } from '../../core/deadline.js';
import { describeFailure } from '../actors/failure.js';
import { FaultDriver } from './faults.js';
import { errorText, HistoryRecorder, slug } from '../history/recorder.js';
import { InterruptedError, interruptionReason } from '../../core/interrupt.js';
import { resultOfHistory } from './outcome.js';
import { Random } from '../../core/random.js';
import { reproduceCommand } from './reproduce.js';

export interface RunOptions {
  readonly adapter: Adapter;
  /** Overrides the scenario's seed. */
  readonly seed?: number;
  readonly defects: readonly string[];
  /** Keep the history as JSON Lines in this folder. */
  readonly historyDir?: string;
  /** Deadline of each broker operation, in real milliseconds. */
  readonly operationTimeoutMs?: number;
  /** Deadline of the producers' whole workload, in real milliseconds (RUN.workloadTimeoutMs says why). */
  readonly workloadTimeoutMs?: number;
  /** The command-line options that named the user's cluster, for the reproduce command. */
  readonly clusterArgs?: readonly string[];
  /** Aborted when the user interrupts the run (SIGINT, SIGTERM): the scenario ends `interrupted`. */
  readonly signal?: AbortSignal;
}

/** Settings of the run that are not part of the scenario language (yet). */
const RUN = {
  operationTimeoutMs: 30_000,
  /** Opening a session may start a cluster. */
  openTimeoutMs: 180_000,
  maxPollRecords: 50,
  pollTimeoutMs: 100,
  /** Clock milliseconds the first catch-up waits without progress before it moves on. */
  stallMs: 2_000,
  /** Clock milliseconds each catch-up may take at most. */
  catchUpTimeoutMs: 60_000,
  catchUpCheckMs: 50,
  settleTimeoutMs: 60_000,
  /**
   * Real milliseconds the producers may take over their messages. A workload whose every send
   * fails slowly for good (a client stuck on a server cut off from the rest, a heal that waits for
   * acknowledgments that cannot come) would otherwise run for as long as it has messages. The
   * longest bundled scenario takes under 30 s on Kafka on an idle two-core machine and over 5 min
   * on one running three Kafka clusters at once, hence the room.
   */
  workloadTimeoutMs: 600_000,
  /** How often one transaction of a transactional producer is tried before its messages fail. */
  transactionAttempts: 5,
} as const;

const NO_COUNTS = { sent: 0, acknowledged: 0, stored: 0, delivered: 0, processed: 0 } as const;

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const adapter = options.adapter;
  const seed = options.seed ?? scenario.seed;
  const startedMs = performance.now();
  const reproduce = reproduceCommand({
    file: scenario.file,
    adapter: adapter.name,
    seed,
    defects: options.defects,
    ...(options.clusterArgs !== undefined ? { clusterArgs: options.clusterArgs } : {}),
  });
  const base = { file: scenario.file, name: scenario.name, seed, reproduce };
  const elapsed = (): number => Math.round(performance.now() - startedMs);

  const missing = scenario.requires.filter((capability) => !adapter.capabilities.has(capability));
  // A setting the adapter cannot honour is a skip with its reason, never an approximate run.
  const unhonoured = missing.length > 0 ? undefined : adapter.cannotHonour?.({ brokers: scenario.cluster.brokers, topic: scenario.topic, ack: scenario.producer.ack });
  if (missing.length > 0 || unhonoured !== undefined) {
    return {
      ...base,
      status: 'skipped',
      reason: unhonoured ?? `adapter ${adapter.name} lacks ${missing.join(', ')}`,
      counts: NO_COUNTS,
      anomalies: {},
      durationMs: elapsed(),
    };
  }

  const historyPath =
    options.historyDir === undefined ? undefined : join(options.historyDir, historyFileName(scenario.file, seed));
  const recorder = new HistoryRecorder(historyPath);
  const run = new Run(scenario, seed, options, recorder);
  let failure: unknown;
  try {
    await run.execute();
  } catch (error) {
    failure = error;
  }
  try {
    await run.shutdown();
  } catch (error) {
    failure ??= error;
  }
  // The end line says how the run stopped, so that the history alone gives this very result.
  const stopped =
    failure === undefined
      ? {}
      : failure instanceof InterruptedError
        ? { status: 'interrupted' as const, reason: errorText(failure) }
        : { status: 'error' as const, reason: describeFailure(failure) };
  recorder.record({ type: 'end', ...stopped, ...(run.notes.length > 0 ? { notes: [...run.notes] } : {}) });
  recorder.close();
  return resultOfHistory(recorder.events, {
    ...(historyPath === undefined ? {} : { history: historyPath }),
    durationMs: elapsed(),
  });
}

/** suites/producer-acks/a.yaml with seed 7 → suites__producer-acks__a.seed-7.jsonl */
export function historyFileName(file: string, seed: number): string {
  const stem = file
    .replace(/\.ya?ml$/i, '')
    .replace(/^(\.\.?\/)+/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '__');
  return `${stem}.seed-${seed}.jsonl`;
}


interface Interruption {
  /** Rejects with the InterruptedError `onAbort` returns when the signal aborts. */
  readonly promise: Promise<never>;
  /** Stops listening: a finished run must not keep a listener on a signal that outlives it. */
  dispose(): void;
}

/**
 * The interruption of one run by a signal; undefined without a signal. Its promise is never left
 * unhandled: a run that is not interrupted never settles it, and one that is may have no
 * operation racing it at that moment.
 */
function interruptionOf(signal: AbortSignal | undefined, onAbort: () => InterruptedError): Interruption | undefined {
  if (signal === undefined) return undefined;
  let fire: () => void = () => undefined;
  const promise = new Promise<never>((_, reject) => {
    fire = () => reject(onAbort());
  });
  promise.catch(() => undefined);
  // Already aborted: the run is interrupted before it opens anything.
  if (signal.aborted) fire();
  else signal.addEventListener('abort', fire, { once: true });
  return { promise, dispose: () => signal.removeEventListener('abort', fire) };
}

/** A crash of a consumer or producer that waits for its actor to reach the right point. */
interface ArmedCrash {
  readonly fault: Fault;
  done: boolean;
}

class Run {
  readonly notes: string[] = [];
  private readonly opTimeoutMs: number;
  private readonly counters: Record<Exclude<TriggerKind, 'ms'>, number> = { sent: 0, acked: 0, processed: 0 };
  private readonly processedIds = new Set<string>();
  private readonly sentIds = new Set<string>();
  private readonly pendingFaults: Fault[];
  private faultQueue: Promise<void> = Promise.resolve();
  /** Injects broker faults through the session's nodes, once it is open and has some. */
  private faults: FaultDriver | undefined;
  private readonly armedConsumerCrashes: ArmedCrash[] = [];
  private readonly armedProducerCrashes: ArmedCrash[] = [];
  /** Rejects when the run is interrupted; undefined when nothing can interrupt it. */
  private readonly interruption: Interruption | undefined;
  private currentPhase = 'setup';
  /** The session, the deadlines and the clients every actor of the run shares. */
  private readonly ctx: ActorContext;
  private readonly producers: ProducerActors;

  constructor(
    private readonly scenario: Scenario,
    private readonly seed: number,
    private readonly options: RunOptions,
    private readonly recorder: HistoryRecorder,
  ) {
    this.opTimeoutMs = options.operationTimeoutMs ?? RUN.operationTimeoutMs;
    this.pendingFaults = [...scenario.faults];
    const group = `deliverycheck-${seed}`;
    const { producer, consumer } = scenario;
    // Transactions need every in-sync replica's acknowledgment and idempotence.
    const transactional = (index: number, topic: TopicRole, transactionalId: string) =>
      ({ index, topic, ack: 'all', retries: Math.max(producer.retries, 3), idempotent: true, transactionalId }) as const;
    this.ctx = new ActorContext(
      recorder,
      {
        group,
        commit: consumer.commit,
        operationTimeoutMs: this.opTimeoutMs,
        pollTimeoutMs: RUN.pollTimeoutMs,
        consumer: (index) => ({
          index,
          group,
          isolation: consumer.isolation,
          autoCommit: consumer.commit === 'auto',
          maxPollRecords: RUN.maxPollRecords,
        }),
        pipelineProducer: (index) => transactional(index, 'output', `pipeline-${index}`),
      },
      {
        crashAt: (index, point) => this.takeCrash(this.armedConsumerCrashes, index, point) !== undefined,
        processed: (_index, records) => {
          for (const record of records) {
            if (this.processedIds.has(record.id)) continue;
            this.processedIds.add(record.id);
            this.count('processed', 1);
          }
        },
      },
    );
    this.producers = new ProducerActors(
      this.ctx,
      {
        maxInFlight: producer.maxInFlight,
        transactionSize: producer.transactionSize,
        abortEvery: producer.abortEvery,
        transactionAttempts: RUN.transactionAttempts,
        producer: (index) => ({ index, topic: 'input', ack: producer.ack, retries: producer.retries, idempotent: producer.idempotent }),
        transactionalProducer: (index) => transactional(index, 'input', `producer-${index}`),
      },
      {
        crashBeforeSend: (index) => this.takeCrash(this.armedProducerCrashes, index) !== undefined,
        // The `sent` trigger counts each message once, however often it is sent again.
        sent: (message) => {
          if (this.sentIds.has(message.id)) return;
          this.sentIds.add(message.id);
          this.count('sent', 1);
        },
        acked: () => this.count('acked', 1),
      },
    );
    this.interruption = interruptionOf(options.signal, () => this.interrupt());
    this.ctx.interruption = this.interruption?.promise;
  }

  /** Stops the run where it is: no more faults, no more sends or polls; every actor unwinds. */
  private interrupt(): InterruptedError {
    const reason = interruptionReason(this.options.signal as AbortSignal);
    const error = new InterruptedError(`${reason} in phase ${this.currentPhase}`);
    this.ctx.aborted ??= error;
    this.ctx.stopConsumers = true;
    this.pendingFaults.length = 0;
    return error;
  }

  async execute(): Promise<void> {
    const scenario = this.scenario;
    const adapter = this.options.adapter;
    const topic = {
      name: `deliverycheck-${slug(scenario.name)}-${this.seed}`,
      partitions: scenario.topic.partitions,
      replication: scenario.topic.replication,
      minInsync: scenario.topic.minInsync,
      uncleanElection: scenario.topic.uncleanElection,
    };
    // A read-process-write pipeline writes to an output topic set up like the input topic.
    const pipeline = scenario.consumer.commit === 'transactional';
    // The setup line comes first, before the adapter is even opened, so that every history, that
    // of a run that could not open its adapter too, can be checked on its own.
    const clusterArgs = this.options.clusterArgs ?? [];
    this.recorder.record({
      type: 'setup',
      scenario: scenario.name,
      file: scenario.file,
      adapter: adapter.name,
      seed: this.seed,
      topic: topic.name,
      partitions: topic.partitions,
      ack: scenario.producer.ack,
      commit: scenario.consumer.commit,
      isolation: scenario.consumer.isolation,
      defects: [...this.options.defects],
      expect: { ...scenario.expect },
      minimum: scenario.minimum,
      messages: scenario.workload.messages,
      ...(clusterArgs.length > 0 ? { clusterArgs: [...clusterArgs] } : {}),
    });
    if (this.ctx.aborted !== undefined) throw this.ctx.aborted;
    const opening = adapter.open({
      seed: this.seed,
      brokers: scenario.cluster.brokers,
      topic,
      ...(pipeline ? { outputTopic: { ...topic, name: `${topic.name}-output` } } : {}),
      defects: this.options.defects,
      faults: [...new Set(scenario.faults.map((fault) => fault.do))],
      info: (source, message) => this.recorder.record({ type: 'info', source, message }),
    });
    try {
      this.ctx.session = await this.ctx.op(opening, `opening adapter ${adapter.name}`, RUN.openTimeoutMs);
    } catch (error) {
      // A session that opens after the run gave up on it (a deadline, an interruption) is closed then.
      opening.then((late) => late.close(), () => undefined).catch(() => undefined);
      throw error;
    }
    const session = this.ctx.session;
    this.recorder.clock = () => session.clock.now();
    if (session.nodes !== undefined) {
      this.faults = new FaultDriver(session.nodes, (source, message) => this.recorder.record({ type: 'info', source, message }));
    }

    this.phase('workload');
    this.armTimeTriggers();
    const consumers = Array.from({ length: scenario.workload.consumers }, (_, index) =>
      pipeline ? pipelineActor(this.ctx, index) : consumerActor(this.ctx, index),
    );
    const producers = this.producerPlans().map((plan, index) =>
      scenario.producer.transactional ? this.producers.transactionalProducer(index, plan) : this.producers.producer(index, plan),
    );
    const workload = withDeadline(Promise.all(producers), this.options.workloadTimeoutMs ?? RUN.workloadTimeoutMs, 'the workload (the producers sending every message)');
    await this.ctx.untilAborted(
      workload.catch((error: unknown) => {
        // The producers stop at their next message, and the run ends in an error that says why.
        this.ctx.abort(error, 'the workload');
        throw error;
      }),
    );

    this.phase('catch-up');
    await this.catchUp(true);
    await this.ctx.untilAborted(this.faultQueue);

    this.phase('heal');
    // A broker fault that fired after the heal would stay unhealed through the drain, so the ones
    // still waiting are dropped here. Client crashes triggered by `processed` may still fire in
    // the last catch-up; they are noted, if they never came, only before the drain.
    this.noteUnfiredFaults((fault) => fault.do !== 'crash-consumer' && fault.do !== 'crash-producer');
    const healed = this.faults === undefined ? [] : await this.ctx.op(this.faults.healAll(), 'healing every fault');
    for (const result of healed) this.recorder.record({ type: 'fault', do: 'heal', result });
    // The cluster settles before the last catch-up: until every replica is back in sync, the
    // end offsets consumers chase are not final.
    const settled = await this.ctx.op(
      session.settle(RUN.settleTimeoutMs),
      'waiting for the replicas to settle',
      RUN.settleTimeoutMs + this.opTimeoutMs,
    );
    if (!settled) {
      this.notes.push(`the replicas were not back in sync after ${RUN.settleTimeoutMs} ms; the drain read what the leaders had`);
    }

    this.phase('catch-up');
    await this.catchUp(false);

    this.phase('drain');
    this.noteUnfiredFaults(() => true);
    this.ctx.stopConsumers = true;
    await this.ctx.untilAborted(Promise.all(consumers));
    await drain(this.ctx);
    this.phase('done');
  }

  /** Closes every client and the session, whatever state the run ended in. */
  async shutdown(): Promise<void> {
    this.interruption?.dispose();
    this.ctx.aborted ??= new Error('the run ended');
    await this.ctx.closeClients();
    // Not op(): closing must go on after an interruption, under its deadline only.
    if (this.ctx.hasSession) {
      await withDeadline(this.ctx.session.close(), this.opTimeoutMs, 'closing the session');
    }
  }

  private phase(name: string, note?: string): void {
    this.currentPhase = name;
    this.recorder.record({ type: 'phase', name, ...(note === undefined ? {} : { note }) });
  }

  // ------------------------------------------------------------------ producers

  /** Each producer's messages, with keys drawn from the run's seed, so every adapter gets the same. */
  private producerPlans(): MessageRef[][] {
    const { messages, producers, keys } = this.scenario.workload;
    const random = new Random(this.seed ^ 0x6b657973);
    return Array.from({ length: producers }, (_, producer) => {
      const count = Math.floor(messages / producers) + (producer < messages % producers ? 1 : 0);
      return Array.from({ length: count }, (_, seq) => ({
        id: messageId(producer, seq),
        producer,
        seq,
        key: `k${random.int(0, keys - 1)}`,
      }));
    });
  }

  private takeCrash(armed: ArmedCrash[], index: number, point?: Fault['point']): ArmedCrash | undefined {
    const crash = armed.find(
      (entry) => !entry.done && (entry.fault.target === 'any' || entry.fault.target === index) && entry.fault.point === point,
    );
    if (crash !== undefined) crash.done = true;
    return crash;
  }

  /**
   * Waits until the group has committed every partition's end offset. With `untilStall`, it also
   * stops once nothing moved for a while, since a fault still in force may block progress.
   */
  private async catchUp(untilStall: boolean): Promise<void> {
    const session = this.ctx.session;
    const clock = session.clock;
    const startMs = clock.now();
    let lastProgressMs = startMs;
    let lastBehind = -1;
    let lastFailure: string | undefined;
    for (;;) {
      if (this.ctx.aborted !== undefined) throw this.ctx.aborted;
      // A real broker may fail one read of the backlog while a fault is in force (its node was
      // just killed); that is no progress, not the end of the run. A missed deadline still is.
      const behind = await this.ctx.op(session.backlog(this.ctx.settings.group), 'reading the backlog').catch((error: unknown) => {
        if (isFatal(error)) throw error;
        const failure = errorText(error);
        if (failure !== lastFailure) this.recorder.record({ type: 'info', source: 'runner', message: `reading the backlog failed: ${failure}` });
        lastFailure = failure;
        return lastBehind;
      });
      if (behind === 0) return;
      const now = clock.now();
      if (behind !== lastBehind) {
        lastBehind = behind;
        lastProgressMs = now;
      }
      if (untilStall && now - lastProgressMs >= RUN.stallMs) return;
      if (now - startMs >= RUN.catchUpTimeoutMs) {
        const where = behind < 0 ? 'the backlog could not be read' : `${behind} records behind`;
        this.notes.push(`consumers did not catch up within ${RUN.catchUpTimeoutMs} ms (${where})`);
        this.phase('catch-up', `gave up with ${where}`);
        return;
      }
      await this.ctx.op(clock.sleep(RUN.catchUpCheckMs), 'waiting for consumers');
    }
  }

  // ------------------------------------------------------------------ faults

  private count(kind: Exclude<TriggerKind, 'ms'>, by: number): void {
    this.counters[kind] += by;
    const value = this.counters[kind];
    for (const fault of [...this.pendingFaults]) {
      if (fault.at.kind === kind && value >= fault.at.value) this.fire(fault);
    }
  }

  private armTimeTriggers(): void {
    const clock = this.ctx.session.clock;
    for (const fault of this.pendingFaults) {
      if (fault.at.kind !== 'ms') continue;
      clock.sleep(fault.at.value).then(
        () => {
          if (this.pendingFaults.includes(fault) && !this.ctx.stopConsumers) this.fire(fault);
        },
        () => undefined,
      );
    }
  }

  /** Fires a fault: crashes of clients are armed for their actors; broker faults go in order. */
  private fire(fault: Fault): void {
    this.pendingFaults.splice(this.pendingFaults.indexOf(fault), 1);
    if (fault.do === 'crash-consumer') {
      this.armedConsumerCrashes.push({ fault, done: false });
      return;
    }
    if (fault.do === 'crash-producer') {
      this.armedProducerCrashes.push({ fault, done: false });
      return;
    }
    const brokerFault = {
      do: fault.do,
      target: fault.target,
      partition: fault.partition,
      count: fault.count,
      ...(fault.durationMs === undefined ? {} : { durationMs: fault.durationMs }),
    };
    this.faultQueue = this.faultQueue.then(async () => {
      if (this.ctx.aborted !== undefined) return;
      try {
        if (this.faults === undefined) throw new Error(`the adapter controls no node to ${fault.do}`);
        const result = await this.ctx.op(this.faults.inject(brokerFault), `injecting ${fault.do}`);
        this.recorder.record({ type: 'fault', do: fault.do, target: fault.target, result });
        // A fault that found nothing to act on tested nothing; the result says so, not only the history.
        if (/: nothing to [\w-]+$/u.test(result)) this.notes.push(`fault ${fault.do} at ${fault.at.kind} ${fault.at.value} did nothing: ${result}`);
      } catch (error) {
        this.ctx.abort(error, `the fault ${fault.do}`);
      }
    });
  }

  /** Notes and drops the waiting faults the filter selects, and disarms crashes no client reached. */
  private noteUnfiredFaults(selected: (fault: Fault) => boolean): void {
    for (const fault of this.pendingFaults.filter(selected)) {
      this.pendingFaults.splice(this.pendingFaults.indexOf(fault), 1);
      this.notes.push(`fault ${fault.do} at ${fault.at.kind} ${fault.at.value} never fired: its trigger was not reached`);
    }
    for (const crash of [...this.armedConsumerCrashes, ...this.armedProducerCrashes]) {
      if (!crash.done) {
        crash.done = true;
        this.notes.push(`fault ${crash.fault.do} fired but no client reached ${crash.fault.point ?? 'its next send'}`);
      }
    }
  }
}


