// The producing actors of a conformance run: a closed loop that keeps at most `maxInFlight`
// sends outstanding, and a transactional producer that sends in transactions. The runner crashes
// them before a send through the `crashBeforeSend` hook and counts sends and acknowledgments for
// its fault triggers through the others. (The benchmark's producer paces its sends on an open-loop
// schedule instead, which is its measurement, and records through the same `recordSend`.)

import type { Producer, ProducerOptions, SendResult, TransactionalProducer, TransactionalProducerOptions } from '../../adapters/contract.js';
import type { MessageRef } from '../../spec/history.js';
import { errorText } from '../history/recorder.js';
import { type ActorContext, isFatal } from './context.js';

export interface ProducerSettings {
  readonly maxInFlight: number;
  readonly transactionSize: number;
  readonly abortEvery: number;
  /** How often one transaction is tried before its messages fail. */
  readonly transactionAttempts: number;
  readonly producer: (index: number) => ProducerOptions;
  readonly transactionalProducer: (index: number) => TransactionalProducerOptions;
}

export interface ProducerHooks {
  /** Whether producer `index` must crash before its next send, because a fault waits for it. */
  readonly crashBeforeSend?: (index: number) => boolean;
  /** A send line was recorded (a message sent again is sent once more). */
  readonly sent?: (message: MessageRef) => void;
  /** An ack line was recorded. */
  readonly acked?: (index: number, message: MessageRef) => void;
}

/** The send line of one message. */
export function recordSend(ctx: ActorContext, message: MessageRef): void {
  ctx.recorder.record({ type: 'send', ...message });
}

async function openProducer(ctx: ActorContext, settings: ProducerSettings, index: number): Promise<Producer> {
  return ctx.track(await ctx.op(ctx.session.producer(settings.producer(index)), `opening producer ${index}`));
}

async function openTransactionalProducer(ctx: ActorContext, settings: ProducerSettings, index: number): Promise<TransactionalProducer> {
  const options = settings.transactionalProducer(index);
  return ctx.track(
    await ctx.op(ctx.session.transactionalProducer(options), `opening transactional producer ${options.transactionalId}`),
  );
}

export class ProducerActors {
  constructor(
    private readonly ctx: ActorContext,
    private readonly settings: ProducerSettings,
    private readonly hooks: ProducerHooks = {},
  ) {}

  private sendLine(message: MessageRef): void {
    recordSend(this.ctx, message);
    this.hooks.sent?.(message);
  }

  private ackLine(index: number, message: MessageRef, result: SendResult): void {
    this.ctx.recorder.record({ type: 'ack', producer: index, id: message.id, partition: result.partition, offset: result.offset ?? -1 });
    this.hooks.acked?.(index, message);
  }

  /** Sends the plan with at most `maxInFlight` sends outstanding; a crash restarts the producer. */
  async producer(index: number, plan: readonly MessageRef[]): Promise<void> {
    const ctx = this.ctx;
    try {
      let producer = await openProducer(ctx, this.settings, index);
      let generation = 0;
      const inFlight = new Set<Promise<void>>();
      for (const message of plan) {
        if (ctx.aborted !== undefined) return;
        if (this.hooks.crashBeforeSend?.(index) === true) {
          await ctx.op(producer.crash(), `crashing producer ${index}`);
          ctx.untrack(producer);
          ctx.recorder.record({
            type: 'fault',
            do: 'crash-producer',
            target: index,
            result: `crashed producer ${index} with ${inFlight.size} sends in flight; restarted it`,
          });
          inFlight.clear();
          producer = await openProducer(ctx, this.settings, index);
          generation++;
        }
        while (inFlight.size >= this.settings.maxInFlight) await Promise.race(inFlight);
        this.sendLine(message);
        const sending = this.send(producer, index, generation, () => generation, message).finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }
      await Promise.all(inFlight);
      ctx.untrack(producer);
      await ctx.op(producer.close(), `closing producer ${index}`);
    } catch (error) {
      ctx.abort(error, `producer ${index}`);
    }
  }

  private async send(
    producer: Producer,
    index: number,
    generation: number,
    currentGeneration: () => number,
    message: MessageRef,
  ): Promise<void> {
    const ctx = this.ctx;
    try {
      const result = await ctx.op(producer.send(message), `producer ${index} sending ${message.id}`);
      if (currentGeneration() !== generation) return;
      if (result.offset !== null) this.ackLine(index, message, result);
    } catch (error) {
      // A hung send is fatal to the run. It is handed to abort() rather than thrown, since this
      // promise may have nobody awaiting it when it settles.
      if (isFatal(error)) ctx.abort(error, `producer ${index}`);
      // A crashed producer's sends have no outcome: whether they were stored, only the drain knows.
      else if (currentGeneration() === generation) {
        ctx.recorder.record({ type: 'error', producer: index, id: message.id, error: errorText(error) });
      }
    }
  }

  /**
   * Sends the plan in transactions of `transactionSize`. Every `abortEvery`th transaction the
   * application aborts on purpose and sends the same messages again in the next one. A message is
   * acknowledged when its transaction commits: before that, the broker has promised nothing.
   */
  async transactionalProducer(index: number, plan: readonly MessageRef[]): Promise<void> {
    const ctx = this.ctx;
    try {
      const { transactionSize, abortEvery, transactionAttempts } = this.settings;
      let producer = await openTransactionalProducer(ctx, this.settings, index);
      let transactions = 0;
      let failures = 0;
      let start = 0;
      while (start < plan.length && ctx.aborted === undefined) {
        const batch = plan.slice(start, start + transactionSize);
        transactions++;
        const abortOnPurpose = abortEvery > 0 && transactions % abortEvery === 0;
        const outcome = await this.runTransaction(producer, index, batch, abortOnPurpose);
        if (outcome.kind === 'committed') {
          for (const message of batch) this.ackLine(index, message, outcome.results.get(message.id) as SendResult);
          start += batch.length;
          failures = 0;
          continue;
        }
        if (outcome.kind === 'aborted') {
          ctx.recorder.record({
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
          ctx.recorder.record({ type: 'info', source: `producer-${index}`, message: `transaction ${transactions} failed: ${outcome.error}` });
          await ctx.drop(producer, 'close');
        }
        producer = await openTransactionalProducer(ctx, this.settings, index);
        if (failures >= transactionAttempts) {
          for (const message of batch) {
            ctx.recorder.record({ type: 'error', producer: index, id: message.id, error: `gave up after ${failures} failed transactions` });
          }
          start += batch.length;
          failures = 0;
        }
      }
      await ctx.drop(producer, 'close');
    } catch (error) {
      ctx.abort(error, `transactional producer ${index}`);
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
    const ctx = this.ctx;
    const results = new Map<string, SendResult>();
    const errors: string[] = [];
    try {
      await ctx.op(producer.begin(), `producer ${index} beginning a transaction`);
      const inFlight = new Set<Promise<void>>();
      for (const message of batch) {
        if (this.hooks.crashBeforeSend?.(index) === true) {
          await ctx.drop(producer, 'crash');
          ctx.recorder.record({
            type: 'fault',
            do: 'crash-producer',
            target: index,
            result: `crashed producer ${index} inside a transaction with ${results.size} of ${batch.length} sends done; restarted it`,
          });
          return { kind: 'crashed' };
        }
        while (inFlight.size >= this.settings.maxInFlight) await Promise.race(inFlight);
        this.sendLine(message);
        const sending: Promise<void> = ctx
          .op(producer.send(message), `producer ${index} sending ${message.id}`)
          .then((result) => {
            results.set(message.id, result);
          })
          .catch((error: unknown) => {
            if (isFatal(error)) ctx.abort(error, `transactional producer ${index}`);
            errors.push(`${message.id}: ${errorText(error)}`);
          })
          .finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }
      await Promise.all(inFlight);
      if (ctx.aborted !== undefined) throw ctx.aborted;
      if (errors.length > 0 || abortOnPurpose) {
        await ctx.op(producer.abort(), `producer ${index} aborting a transaction`);
        return errors.length > 0 ? { kind: 'failed', error: errors[0] as string } : { kind: 'aborted' };
      }
      await ctx.op(producer.commit(), `producer ${index} committing a transaction`);
      return { kind: 'committed', results };
    } catch (error) {
      if (isFatal(error)) throw error;
      return { kind: 'failed', error: errorText(error) };
    }
  }
}
