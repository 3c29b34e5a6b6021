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
import type {
  Acknowledgment,
  Adapter,
  Consumer,
  DeliveredRecord,
  Producer,
  SendResult,
  Session,
  TopicRole,
  TransactionalProducer,
} from '../adapters/contract.js';
import type { MessageRef } from '../spec/history.js';
import type { ScenarioResult } from '../spec/result.js';
import type { Fault, Scenario } from '../spec/scenario.js';
import type { TriggerKind } from '../spec/vocabulary.js';
import { DeadlineError, withDeadline } from './deadline.js';
import { describeFailure, noteActor, noteOperation } from './failure.js';
import { FaultDriver } from './faults.js';
import { errorText, HistoryRecorder, offsetsRecord, slug } from './history.js';
import { InterruptedError, interruptionReason } from './interrupt.js';
import { resultOfHistory } from './outcome.js';
import { Random } from './random.js';
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
  /** The command-line options that named the user's cluster, for the reproduce command. */
  readonly clusterArgs?: readonly string[];
  /** Aborted when the user interrupts the run (SIGINT, SIGTERM): the scenario ends `interrupted`. */
  readonly signal?: AbortSignal;
}

/** Errors that end the whole run rather than one operation: a missed deadline, an interruption. */
function isFatal(error: unknown): boolean {
  return error instanceof DeadlineError || error instanceof InterruptedError;
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
  const unhonoured = missing.length > 0 ? undefined : adapter.cannotHonour?.({ brokers: scenario.cluster.brokers, topic: scenario.topic });
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
  private session: Session | undefined;
  private readonly opTimeoutMs: number;
  private readonly counters: Record<Exclude<TriggerKind, 'ms'>, number> = { sent: 0, acked: 0, processed: 0 };
  private readonly processedIds = new Set<string>();
  private readonly sentIds = new Set<string>();
  /** Sequence numbers of the pipeline's output messages, per pipeline consumer. */
  private outputSeq = 0;
  private readonly pendingFaults: Fault[];
  private faultQueue: Promise<void> = Promise.resolve();
  /** Injects broker faults through the session's nodes, once it is open and has some. */
  private faults: FaultDriver | undefined;
  private readonly armedConsumerCrashes: ArmedCrash[] = [];
  private readonly armedProducerCrashes: ArmedCrash[] = [];
  private stopConsumers = false;
  private aborted: unknown;
  /** Rejects when the run is interrupted; undefined when nothing can interrupt it. */
  private readonly interruption: Interruption | undefined;
  private currentPhase = 'setup';
  private readonly group: string;
  private readonly openClients = new Set<Producer | Consumer>();

  constructor(
    private readonly scenario: Scenario,
    private readonly seed: number,
    private readonly options: RunOptions,
    private readonly recorder: HistoryRecorder,
  ) {
    this.opTimeoutMs = options.operationTimeoutMs ?? RUN.operationTimeoutMs;
    this.pendingFaults = [...scenario.faults];
    this.group = `deliverycheck-${seed}`;
    this.interruption = interruptionOf(options.signal, () => this.interrupt());
  }

  /**
   * Runs an adapter operation under its deadline; once the run is interrupted, it gives up at
   * once, so that nothing waits for a broker after Ctrl-C.
   */
  private op<T>(operation: Promise<T>, what: string, timeoutMs = this.opTimeoutMs): Promise<T> {
    const bounded = withDeadline(operation, timeoutMs, what);
    const raced = this.interruption === undefined ? bounded : Promise.race([bounded, this.interruption.promise]);
    return raced.catch((error: unknown) => {
      // Should the error end the run, its reason names the operation (harness/failure.ts).
      noteOperation(error, what);
      throw error;
    });
  }

  /** Stops the run where it is: no more faults, no more sends or polls; every actor unwinds. */
  private interrupt(): InterruptedError {
    const reason = interruptionReason(this.options.signal as AbortSignal);
    const error = new InterruptedError(`${reason} in phase ${this.currentPhase}`);
    this.aborted ??= error;
    this.stopConsumers = true;
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
    if (this.aborted !== undefined) throw this.aborted;
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
      this.session = await this.op(opening, `opening adapter ${adapter.name}`, RUN.openTimeoutMs);
    } catch (error) {
      // A session that opens after the run gave up on it (a deadline, an interruption) is closed then.
      opening.then((late) => late.close(), () => undefined).catch(() => undefined);
      throw error;
    }
    const session = this.session;
    this.recorder.clock = () => session.clock.now();
    if (session.nodes !== undefined) {
      this.faults = new FaultDriver(session.nodes, (source, message) => this.recorder.record({ type: 'info', source, message }));
    }

    this.phase('workload');
    this.armTimeTriggers();
    const consumers = Array.from({ length: scenario.workload.consumers }, (_, index) =>
      pipeline ? this.pipelineActor(index) : this.consumerActor(index),
    );
    const producers = this.producerPlans().map((plan, index) =>
      scenario.producer.transactional ? this.transactionalProducerActor(index, plan) : this.producerActor(index, plan),
    );
    await this.untilAborted(Promise.all(producers));

    this.phase('catch-up');
    await this.catchUp(true);
    await this.untilAborted(this.faultQueue);

    this.phase('heal');
    // A broker fault that fired after the heal would stay unhealed through the drain, so the ones
    // still waiting are dropped here. Client crashes triggered by `processed` may still fire in
    // the last catch-up; they are noted, if they never came, only before the drain.
    this.noteUnfiredFaults((fault) => fault.do !== 'crash-consumer' && fault.do !== 'crash-producer');
    const healed = this.faults === undefined ? [] : await this.op(this.faults.healAll(), 'healing every fault');
    for (const result of healed) this.recorder.record({ type: 'fault', do: 'heal', result });
    // The cluster settles before the last catch-up: until every replica is back in sync, the
    // end offsets consumers chase are not final.
    const settled = await this.op(
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
    this.stopConsumers = true;
    await this.untilAborted(Promise.all(consumers));
    const stored = await this.op(session.drain(), 'the final drain read');
    for (const record of stored) {
      this.recorder.record({
        type: 'drain',
        id: record.id,
        partition: record.partition,
        offset: record.offset,
        ...(record.aborted === true ? { aborted: true } : {}),
        ...(record.topic === 'output' ? { output: true } : {}),
      });
    }
    this.phase('done');
  }

  /** Closes every client and the session, whatever state the run ended in. */
  async shutdown(): Promise<void> {
    this.interruption?.dispose();
    this.stopConsumers = true;
    this.aborted ??= new Error('the run ended');
    // Not this.op: closing must go on after an interruption, under its deadline only.
    for (const client of this.openClients) {
      await withDeadline(client.close(), this.opTimeoutMs, 'closing a client').catch(() => undefined);
    }
    if (this.session !== undefined) {
      await withDeadline(this.session.close(), this.opTimeoutMs, 'closing the session');
    }
  }

  private phase(name: string, note?: string): void {
    this.currentPhase = name;
    this.recorder.record({ type: 'phase', name, ...(note === undefined ? {} : { note }) });
  }

  /** Waits for a promise, but gives up as soon as any actor hit a fatal error. */
  private async untilAborted<T>(promise: Promise<T>): Promise<T> {
    const value = await promise;
    if (this.aborted !== undefined) throw this.aborted;
    return value;
  }

  /** A fatal error in an actor (such as a missed deadline) ends the whole run as an error. */
  private abort(error: unknown, actor: string): void {
    noteActor(error, actor);
    this.aborted ??= error;
  }

  // ------------------------------------------------------------------ producers

  /** Each producer's messages, with keys drawn from the run's seed, so every adapter gets the same. */
  private producerPlans(): MessageRef[][] {
    const { messages, producers, keys } = this.scenario.workload;
    const random = new Random(this.seed ^ 0x6b657973);
    return Array.from({ length: producers }, (_, producer) => {
      const count = Math.floor(messages / producers) + (producer < messages % producers ? 1 : 0);
      return Array.from({ length: count }, (_, seq) => ({
        id: `p${producer}-${seq}`,
        producer,
        seq,
        key: `k${random.int(0, keys - 1)}`,
      }));
    });
  }

  private get live(): Session {
    if (this.session === undefined) throw new Error('no session is open');
    return this.session;
  }

  private async openProducer(index: number): Promise<Producer> {
    const settings = this.scenario.producer;
    const producer = await this.op(
      this.live.producer({
        index,
        topic: 'input',
        ack: settings.ack,
        retries: settings.retries,
        idempotent: settings.idempotent,
      }),
      `opening producer ${index}`,
    );
    this.openClients.add(producer);
    return producer;
  }

  private async producerActor(index: number, plan: readonly MessageRef[]): Promise<void> {
    try {
      let producer = await this.openProducer(index);
      let generation = 0;
      const inFlight = new Set<Promise<void>>();
      for (const message of plan) {
        if (this.aborted !== undefined) return;
        const crash = this.takeCrash(this.armedProducerCrashes, index);
        if (crash !== undefined) {
          await this.op(producer.crash(), `crashing producer ${index}`);
          this.openClients.delete(producer);
          this.recorder.record({
            type: 'fault',
            do: 'crash-producer',
            target: index,
            result: `crashed producer ${index} with ${inFlight.size} sends in flight; restarted it`,
          });
          inFlight.clear();
          producer = await this.openProducer(index);
          generation++;
        }
        while (inFlight.size >= this.scenario.producer.maxInFlight) await Promise.race(inFlight);
        this.recordSend(message);
        const sending = this.send(producer, index, generation, () => generation, message).finally(() =>
          inFlight.delete(sending),
        );
        inFlight.add(sending);
      }
      await Promise.all(inFlight);
      this.openClients.delete(producer);
      await this.op(producer.close(), `closing producer ${index}`);
    } catch (error) {
      this.abort(error, `producer ${index}`);
    }
  }

  private async send(
    producer: Producer,
    index: number,
    generation: number,
    currentGeneration: () => number,
    message: MessageRef,
  ): Promise<void> {
    try {
      const result = await this.op(producer.send(message), `producer ${index} sending ${message.id}`);
      if (currentGeneration() !== generation) return;
      if (result.offset !== null) {
        this.recorder.record({ type: 'ack', producer: index, id: message.id, partition: result.partition, offset: result.offset });
        this.count('acked', 1);
      }
    } catch (error) {
      // A hung send is fatal to the run. It is handed to abort() rather than thrown, since this
      // promise may have nobody awaiting it when it settles.
      if (isFatal(error)) this.abort(error, `producer ${index}`);
      // A crashed producer's sends have no outcome: whether they were stored, only the drain knows.
      else if (currentGeneration() === generation) {
        this.recorder.record({ type: 'error', producer: index, id: message.id, error: errorText(error) });
      }
    }
  }

  private async openTransactionalProducer(index: number, topic: TopicRole): Promise<TransactionalProducer> {
    const transactionalId = topic === 'input' ? `producer-${index}` : `pipeline-${index}`;
    const producer = await this.op(
      this.live.transactionalProducer({
        index,
        topic,
        // Transactions need every in-sync replica's acknowledgment and idempotence.
        ack: 'all',
        retries: Math.max(this.scenario.producer.retries, 3),
        idempotent: true,
        transactionalId,
      }),
      `opening transactional producer ${transactionalId}`,
    );
    this.openClients.add(producer);
    return producer;
  }

  /** Closes or crashes a client and forgets it; a failure to close is not the run's failure. */
  private async drop(client: Producer | Consumer, how: 'close' | 'crash'): Promise<void> {
    this.openClients.delete(client);
    await this.op(how === 'close' ? client.close() : client.crash(), `${how === 'close' ? 'closing' : 'crashing'} a client`).catch(
      (error: unknown) => {
        if (isFatal(error)) throw error;
      },
    );
  }

  /**
   * A transactional producer sends its messages in transactions of `transactionSize`. Every
   * `abortEvery`th transaction the application aborts on purpose and sends the same messages
   * again in the next one. A message is acknowledged when its transaction commits: before that,
   * the broker has promised nothing.
   */
  private async transactionalProducerActor(index: number, plan: readonly MessageRef[]): Promise<void> {
    try {
      const { transactionSize, abortEvery } = this.scenario.producer;
      let producer = await this.openTransactionalProducer(index, 'input');
      let transactions = 0;
      let failures = 0;
      let start = 0;
      while (start < plan.length && this.aborted === undefined) {
        const batch = plan.slice(start, start + transactionSize);
        transactions++;
        const abortOnPurpose = abortEvery > 0 && transactions % abortEvery === 0;
        const outcome = await this.runTransaction(producer, index, batch, abortOnPurpose);
        if (outcome.kind === 'committed') {
          for (const message of batch) {
            const result = outcome.results.get(message.id) as SendResult;
            this.recorder.record({
              type: 'ack',
              producer: index,
              id: message.id,
              partition: result.partition,
              offset: result.offset ?? -1,
            });
            this.count('acked', 1);
          }
          start += batch.length;
          failures = 0;
          continue;
        }
        if (outcome.kind === 'aborted') {
          this.recorder.record({
            type: 'info',
            source: `producer-${index}`,
            message: `aborted transaction ${transactions} on purpose; its ${batch.length} messages go again`,
          });
          continue;
        }
        // A crash, or a transaction that failed: a new producer with the same transactional id
        // fences the old one and aborts what it left open; then the same messages go again.
        if (outcome.kind === 'failed') {
          failures++;
          this.recorder.record({ type: 'info', source: `producer-${index}`, message: `transaction ${transactions} failed: ${outcome.error}` });
          await this.drop(producer, 'close');
        }
        producer = await this.openTransactionalProducer(index, 'input');
        if (failures >= RUN.transactionAttempts) {
          for (const message of batch) {
            this.recorder.record({ type: 'error', producer: index, id: message.id, error: `gave up after ${failures} failed transactions` });
          }
          start += batch.length;
          failures = 0;
        }
      }
      await this.drop(producer, 'close');
    } catch (error) {
      this.abort(error, `transactional producer ${index}`);
    }
  }

  private async runTransaction(
    producer: TransactionalProducer,
    index: number,
    batch: readonly MessageRef[],
    abortOnPurpose: boolean,
  ): Promise<
    | { readonly kind: 'committed'; readonly results: ReadonlyMap<string, SendResult> }
    | { readonly kind: 'aborted' }
    | { readonly kind: 'crashed' }
    | { readonly kind: 'failed'; readonly error: string }
  > {
    const results = new Map<string, SendResult>();
    const errors: string[] = [];
    try {
      await this.op(producer.begin(), `producer ${index} beginning a transaction`);
      const inFlight = new Set<Promise<void>>();
      for (const message of batch) {
        if (this.takeCrash(this.armedProducerCrashes, index) !== undefined) {
          await this.drop(producer, 'crash');
          this.recorder.record({
            type: 'fault',
            do: 'crash-producer',
            target: index,
            result: `crashed producer ${index} inside a transaction with ${results.size} of ${batch.length} sends done; restarted it`,
          });
          return { kind: 'crashed' };
        }
        while (inFlight.size >= this.scenario.producer.maxInFlight) await Promise.race(inFlight);
        this.recordSend(message);
        const sending: Promise<void> = this.op(producer.send(message), `producer ${index} sending ${message.id}`)
          .then((result) => {
            results.set(message.id, result);
          })
          .catch((error: unknown) => {
            if (isFatal(error)) this.abort(error, `transactional producer ${index}`);
            errors.push(`${message.id}: ${errorText(error)}`);
          })
          .finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }
      await Promise.all(inFlight);
      if (this.aborted !== undefined) throw this.aborted;
      if (errors.length > 0 || abortOnPurpose) {
        await this.op(producer.abort(), `producer ${index} aborting a transaction`);
        return errors.length > 0 ? { kind: 'failed', error: errors[0] as string } : { kind: 'aborted' };
      }
      await this.op(producer.commit(), `producer ${index} committing a transaction`);
      return { kind: 'committed', results };
    } catch (error) {
      if (isFatal(error)) throw error;
      return { kind: 'failed', error: errorText(error) };
    }
  }

  /** A send line; the `sent` trigger counts each message once, however often it is sent again. */
  private recordSend(message: MessageRef): void {
    this.recorder.record({ type: 'send', ...message });
    if (!this.sentIds.has(message.id)) {
      this.sentIds.add(message.id);
      this.count('sent', 1);
    }
  }

  // ------------------------------------------------------------------ consumers

  private async openConsumer(index: number): Promise<Consumer> {
    const consumer = await this.op(
      this.live.consumer({
        index,
        group: this.group,
        isolation: this.scenario.consumer.isolation,
        autoCommit: this.scenario.consumer.commit === 'auto',
        maxPollRecords: RUN.maxPollRecords,
      }),
      `opening consumer ${index}`,
    );
    this.openClients.add(consumer);
    return consumer;
  }

  private async consumerActor(index: number): Promise<void> {
    try {
      let consumer = await this.openConsumer(index);
      const commitMode = this.scenario.consumer.commit;
      while (!this.stopConsumers && this.aborted === undefined) {
        const records = await this.poll(consumer, index);
        let crashed = await this.crashPoint(consumer, index, 'after-poll');
        // A poll that returned nothing may still have something to acknowledge (on Kafka, a
        // position past transaction markers): it is what lets the group's backlog reach 0.
        if (!crashed && records.length === 0 && commitMode !== 'auto') {
          const nothing = consumer.acknowledgment(records);
          if (nothing.positions.size > 0) await this.commit(consumer, index, nothing);
        }
        if (!crashed && records.length > 0) {
          if (commitMode === 'before-process') {
            // At-most-once processes only what it managed to commit: a batch whose commit
            // failed belongs to whichever member the group gives the partition next.
            const committed = await this.commit(consumer, index, consumer.acknowledgment(records));
            crashed = await this.crashPoint(consumer, index, 'after-commit');
            if (!crashed && committed) this.process(index, records);
            if (!crashed && committed) crashed = await this.crashPoint(consumer, index, 'after-process');
          } else {
            this.process(index, records);
            crashed = await this.crashPoint(consumer, index, 'after-process');
            if (!crashed && commitMode === 'after-process') {
              await this.commit(consumer, index, consumer.acknowledgment(records));
              crashed = await this.crashPoint(consumer, index, 'after-commit');
            }
          }
        }
        if (crashed) consumer = await this.openConsumer(index);
      }
      this.openClients.delete(consumer);
      await this.op(consumer.close(), `closing consumer ${index}`);
    } catch (error) {
      this.abort(error, `consumer ${index}`);
    }
  }

  /** Polls once and records what was delivered. */
  private async poll(consumer: Consumer, index: number): Promise<readonly DeliveredRecord[]> {
    const records = await this.op(consumer.poll(RUN.pollTimeoutMs), `consumer ${index} polling`);
    if (records.length > 0) {
      this.recorder.record({
        type: 'poll',
        consumer: index,
        records: records.map((r) => ({ id: r.id, partition: r.partition, offset: r.offset })),
      });
    }
    return records;
  }

  private process(index: number, records: readonly DeliveredRecord[]): void {
    for (const record of records) {
      this.recorder.record({ type: 'process', consumer: index, id: record.id, partition: record.partition, offset: record.offset });
      if (!this.processedIds.has(record.id)) {
        this.processedIds.add(record.id);
        this.count('processed', 1);
      }
    }
  }

  /** Acknowledges the batch the consumer just polled; says whether the acknowledgment went through. */
  private async commit(consumer: Consumer, index: number, acknowledgment: Acknowledgment): Promise<boolean> {
    const offsets = offsetsRecord(acknowledgment.positions);
    try {
      await this.op(consumer.ack(acknowledgment), `consumer ${index} committing`);
      this.recorder.record({ type: 'commit', consumer: index, offsets });
      return true;
    } catch (error) {
      if (isFatal(error)) throw error;
      this.recorder.record({ type: 'commit-error', consumer: index, offsets, error: errorText(error) });
      return false;
    }
  }

  /**
   * Crashes the consumer here if a crash waits for this consumer at this point; a pipeline's
   * producer dies with it, since they are one process.
   */
  private async crashPoint(
    consumer: Consumer,
    index: number,
    point: NonNullable<Fault['point']>,
    producer?: Producer,
  ): Promise<boolean> {
    const crash = this.takeCrash(this.armedConsumerCrashes, index, point);
    if (crash === undefined) return false;
    await this.drop(consumer, 'crash');
    if (producer !== undefined) await this.drop(producer, 'crash');
    this.recorder.record({ type: 'fault', do: 'crash-consumer', target: index, result: `consumer ${index} crashed ${point}; restarted it` });
    return true;
  }

  /**
   * A read-process-write pipeline with exactly-once processing: each polled batch becomes
   * output messages (one per input message, with the input's id) written in one transaction
   * with the input offsets. A failed transaction is aborted and the consumer goes back to the
   * committed offsets; a crash kills consumer and producer, and their successors fence them.
   */
  private async pipelineActor(index: number): Promise<void> {
    try {
      let consumer = await this.openConsumer(index);
      let producer = await this.openTransactionalProducer(index, 'output');
      while (!this.stopConsumers && this.aborted === undefined) {
        const records = await this.poll(consumer, index);
        let crashed = await this.crashPoint(consumer, index, 'after-poll', producer);
        // A transaction of an acknowledgment alone moves the group past transaction markers in the input.
        const acknowledgment = crashed ? undefined : consumer.acknowledgment(records);
        if (acknowledgment !== undefined && acknowledgment.positions.size > 0) {
          const offsets = acknowledgment.positions;
          try {
            await this.op(producer.begin(), `pipeline ${index} beginning a transaction`);
            await Promise.all(
              records.map((record) =>
                this.op(
                  producer.send({ id: record.id, producer: index, seq: this.outputSeq++, key: `p${record.partition}` }),
                  `pipeline ${index} writing ${record.id}`,
                ),
              ),
            );
            await this.op(producer.stageAck(consumer, acknowledgment), `pipeline ${index} adding offsets`);
            this.process(index, records);
            // The transaction now holds the output and the offsets: a crash here leaves it open.
            crashed = await this.crashPoint(consumer, index, 'after-process', producer);
            if (!crashed) {
              await this.op(producer.commit(), `pipeline ${index} committing`);
              this.recorder.record({ type: 'commit', consumer: index, offsets: offsetsRecord(offsets) });
              crashed = await this.crashPoint(consumer, index, 'after-commit', producer);
            }
          } catch (error) {
            if (isFatal(error)) throw error;
            this.recorder.record({ type: 'commit-error', consumer: index, offsets: offsetsRecord(offsets), error: errorText(error) });
            // Whatever the transaction wrote is aborted (now, or by the successor's fencing), so
            // the input goes back to the committed offsets and a fresh producer takes over.
            await this.op(producer.abort(), `pipeline ${index} aborting`).catch((abortError: unknown) => {
              if (isFatal(abortError)) throw abortError;
            });
            await this.drop(producer, 'close');
            producer = await this.openTransactionalProducer(index, 'output');
            await this.op(consumer.rewind(), `consumer ${index} going back to the committed offsets`).catch(
              (seekError: unknown) => {
                if (isFatal(seekError)) throw seekError;
              },
            );
          }
        }
        if (crashed) {
          consumer = await this.openConsumer(index);
          producer = await this.openTransactionalProducer(index, 'output');
        }
      }
      await this.drop(producer, 'close');
      await this.drop(consumer, 'close');
    } catch (error) {
      this.abort(error, `pipeline consumer ${index}`);
    }
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
    const session = this.live;
    const clock = session.clock;
    const startMs = clock.now();
    let lastProgressMs = startMs;
    let lastBehind = -1;
    for (;;) {
      if (this.aborted !== undefined) throw this.aborted;
      const behind = await this.op(session.backlog(this.group), 'reading the backlog');
      if (behind === 0) return;
      const now = clock.now();
      if (behind !== lastBehind) {
        lastBehind = behind;
        lastProgressMs = now;
      }
      if (untilStall && now - lastProgressMs >= RUN.stallMs) return;
      if (now - startMs >= RUN.catchUpTimeoutMs) {
        this.notes.push(`consumers did not catch up within ${RUN.catchUpTimeoutMs} ms (${behind} records behind)`);
        this.phase('catch-up', `gave up with ${behind} records behind`);
        return;
      }
      await this.op(clock.sleep(RUN.catchUpCheckMs), 'waiting for consumers');
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
    const clock = this.live.clock;
    for (const fault of this.pendingFaults) {
      if (fault.at.kind !== 'ms') continue;
      clock.sleep(fault.at.value).then(
        () => {
          if (this.pendingFaults.includes(fault) && !this.stopConsumers) this.fire(fault);
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
      if (this.aborted !== undefined) return;
      try {
        if (this.faults === undefined) throw new Error(`the adapter controls no node to ${fault.do}`);
        const result = await this.op(this.faults.inject(brokerFault), `injecting ${fault.do}`);
        this.recorder.record({ type: 'fault', do: fault.do, target: fault.target, result });
        // A fault that found nothing to act on tested nothing; the result says so, not only the history.
        if (/: nothing to [\w-]+$/u.test(result)) this.notes.push(`fault ${fault.do} at ${fault.at.kind} ${fault.at.value} did nothing: ${result}`);
      } catch (error) {
        this.abort(error, `the fault ${fault.do}`);
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


