// The consuming actors: a consumer that polls, processes and acknowledges in the order of its
// commit mode, and a read-process-write pipeline that writes its output and its input's
// acknowledgment in one transaction. The runner crashes them at the scenario's points through
// the `crashAt` hook; the benchmark times them through the others.

import type { Acknowledgment, Consumer, DeliveredRecord, Producer, TransactionalProducer } from '../../adapters/contract.js';
import type { CrashPoint } from '../../spec/vocabulary.js';
import { errorText, offsetsRecord } from '../history/recorder.js';
import { type ActorContext, isFatal } from './context.js';

export async function openConsumer(ctx: ActorContext, index: number): Promise<Consumer> {
  const consumer = ctx.track(await ctx.op(ctx.session.consumer(ctx.settings.consumer(index)), `opening consumer ${index}`));
  ctx.members[index] = consumer;
  ctx.polledOnce[index] ??= false;
  return consumer;
}

async function openPipelineProducer(ctx: ActorContext, index: number): Promise<TransactionalProducer> {
  const options = ctx.settings.pipelineProducer(index);
  const { bench } = ctx.session;
  const extras = ctx.settings.benchExtras;
  const opening =
    bench === undefined || extras === undefined ? ctx.session.transactionalProducer(options) : bench.transactionalProducer({ ...options, ...extras });
  return ctx.track(await ctx.op(opening, `opening transactional producer ${options.transactionalId}`));
}

/** Polls once and records what was delivered. */
async function poll(ctx: ActorContext, consumer: Consumer, index: number): Promise<readonly DeliveredRecord[]> {
  const records = await ctx.op(consumer.poll(ctx.settings.pollTimeoutMs), `consumer ${index} polling`);
  ctx.polledOnce[index] = true;
  if (records.length > 0) {
    ctx.recorder.record({
      type: 'poll',
      consumer: index,
      records: records.map((r) => ({ id: r.id, partition: r.partition, offset: r.offset })),
    });
  }
  return records;
}

function processBatch(ctx: ActorContext, index: number, records: readonly DeliveredRecord[]): void {
  for (const record of records) {
    ctx.recorder.record({ type: 'process', consumer: index, id: record.id, partition: record.partition, offset: record.offset });
  }
  ctx.hooks.processed?.(index, records);
}

/** Acknowledges the batch the consumer just polled; says whether the acknowledgment went through. */
async function commit(
  ctx: ActorContext,
  consumer: Consumer,
  index: number,
  acknowledgment: Acknowledgment,
  records: readonly DeliveredRecord[],
): Promise<boolean> {
  const offsets = offsetsRecord(acknowledgment.positions);
  const startMs = ctx.session.clock.now();
  try {
    await ctx.op(consumer.ack(acknowledgment), `consumer ${index} committing`);
    ctx.recorder.record({ type: 'commit', consumer: index, offsets });
    ctx.hooks.acknowledged?.(index, startMs, records);
    return true;
  } catch (error) {
    if (isFatal(error)) throw error;
    ctx.recorder.record({ type: 'commit-error', consumer: index, offsets, error: errorText(error) });
    ctx.hooks.ackFailed?.(index);
    return false;
  }
}

/**
 * Crashes the consumer here if a crash waits for this consumer at this point; a pipeline's
 * producer dies with it, since they are one process.
 */
async function crashPoint(
  ctx: ActorContext,
  consumer: Consumer,
  index: number,
  point: CrashPoint,
  producer?: Producer,
): Promise<boolean> {
  if (ctx.hooks.crashAt?.(index, point) !== true) return false;
  await ctx.drop(consumer, 'crash');
  if (producer !== undefined) await ctx.drop(producer, 'crash');
  ctx.recorder.record({ type: 'fault', do: 'crash-consumer', target: index, result: `consumer ${index} crashed ${point}; restarted it` });
  return true;
}

/** Polls, processes and acknowledges in the order of the commit mode, until consumers stop. */
export async function consumerActor(ctx: ActorContext, index: number): Promise<void> {
  try {
    let consumer = await openConsumer(ctx, index);
    const commitMode = ctx.settings.commit;
    while (ctx.consuming) {
      const records = await poll(ctx, consumer, index);
      let crashed = await crashPoint(ctx, consumer, index, 'after-poll');
      // A poll that returned nothing may still have something to acknowledge (on Kafka, a
      // position past transaction markers): it is what lets the group's backlog reach 0.
      if (!crashed && records.length === 0 && commitMode !== 'auto') {
        const nothing = consumer.acknowledgment(records);
        if (nothing.positions.size > 0) await commit(ctx, consumer, index, nothing, records);
      }
      if (!crashed && records.length > 0) {
        if (commitMode === 'before-process') {
          // At-most-once processes only what it managed to commit: a batch whose commit
          // failed belongs to whichever member the group gives the partition next.
          const committed = await commit(ctx, consumer, index, consumer.acknowledgment(records), records);
          crashed = await crashPoint(ctx, consumer, index, 'after-commit');
          if (!crashed && committed) processBatch(ctx, index, records);
          if (!crashed && committed) crashed = await crashPoint(ctx, consumer, index, 'after-process');
        } else {
          processBatch(ctx, index, records);
          crashed = await crashPoint(ctx, consumer, index, 'after-process');
          if (!crashed && commitMode === 'after-process') {
            await commit(ctx, consumer, index, consumer.acknowledgment(records), records);
            crashed = await crashPoint(ctx, consumer, index, 'after-commit');
          }
        }
      }
      if (crashed) consumer = await openConsumer(ctx, index);
    }
    ctx.untrack(consumer);
    await ctx.op(consumer.close(), `closing consumer ${index}`);
  } catch (error) {
    ctx.abort(error, `consumer ${index}`);
  }
}

/**
 * A read-process-write pipeline with exactly-once processing: each polled batch becomes output
 * messages (one per input message, with the input's id) written in one transaction with the
 * input's acknowledgment. A failed transaction is aborted and the consumer goes back to what was
 * acknowledged; a crash kills consumer and producer, and their successors fence them.
 */
export async function pipelineActor(ctx: ActorContext, index: number): Promise<void> {
  try {
    let consumer = await openConsumer(ctx, index);
    let producer = await openPipelineProducer(ctx, index);
    while (ctx.consuming) {
      const records = await poll(ctx, consumer, index);
      let crashed = await crashPoint(ctx, consumer, index, 'after-poll', producer);
      // A transaction of an acknowledgment alone moves the group past transaction markers in the input.
      const acknowledgment = crashed ? undefined : consumer.acknowledgment(records);
      if (acknowledgment !== undefined && acknowledgment.positions.size > 0) {
        const offsets = offsetsRecord(acknowledgment.positions);
        try {
          await ctx.op(producer.begin(), `pipeline ${index} beginning a transaction`);
          await Promise.all(
            records.map((record) =>
              ctx.op(
                producer.send({ id: record.id, producer: index, seq: ctx.outputSeq++, key: `p${record.partition}` }),
                `pipeline ${index} writing ${record.id}`,
              ),
            ),
          );
          const startMs = ctx.session.clock.now();
          await ctx.op(producer.stageAck(consumer, acknowledgment), `pipeline ${index} adding offsets`);
          processBatch(ctx, index, records);
          // The transaction now holds the output and the offsets: a crash here leaves it open.
          crashed = await crashPoint(ctx, consumer, index, 'after-process', producer);
          if (!crashed) {
            await ctx.op(producer.commit(), `pipeline ${index} committing`);
            ctx.recorder.record({ type: 'commit', consumer: index, offsets });
            ctx.hooks.acknowledged?.(index, startMs, records);
            crashed = await crashPoint(ctx, consumer, index, 'after-commit', producer);
          }
        } catch (error) {
          if (isFatal(error)) throw error;
          ctx.recorder.record({ type: 'commit-error', consumer: index, offsets, error: errorText(error) });
          ctx.hooks.ackFailed?.(index);
          // Whatever the transaction wrote is aborted (now, or by the successor's fencing), so
          // the input goes back to what was acknowledged and a fresh producer takes over.
          await ctx.op(producer.abort(), `pipeline ${index} aborting`).catch((abortError: unknown) => {
            if (isFatal(abortError)) throw abortError;
          });
          await ctx.drop(producer, 'close');
          producer = await openPipelineProducer(ctx, index);
          await ctx.op(consumer.rewind(), `consumer ${index} going back to the committed offsets`).catch((rewindError: unknown) => {
            if (isFatal(rewindError)) throw rewindError;
          });
        }
      }
      if (crashed) {
        consumer = await openConsumer(ctx, index);
        producer = await openPipelineProducer(ctx, index);
      }
    }
    await ctx.drop(producer, 'close');
    await ctx.drop(consumer, 'close');
  } catch (error) {
    ctx.abort(error, `pipeline consumer ${index}`);
  }
}

/**
 * Waits until every one of `consumers` has polled once and together they receive every one of
 * `shards`, so that measured messages do not wait for the group to form. Returns a note when the
 * group did not form within `timeoutMs` on the session's clock.
 */
export async function awaitAssignment(
  ctx: ActorContext,
  consumers: number,
  shards: number,
  timeoutMs: number,
  checkMs: number,
): Promise<string | undefined> {
  const clock = ctx.session.clock;
  const startMs = clock.now();
  for (;;) {
    if (ctx.aborted !== undefined) throw ctx.aborted;
    const owned = new Set<number>();
    for (const consumer of ctx.members) for (const shard of consumer?.assignment() ?? []) owned.add(shard);
    const everyonePolled = ctx.polledOnce.length === consumers && ctx.polledOnce.every(Boolean);
    if (everyonePolled && owned.size >= shards) return undefined;
    if (clock.now() - startMs >= timeoutMs) {
      return `the consumers owned ${owned.size} of ${shards} partitions after ${timeoutMs} ms; the schedule started anyway`;
    }
    await ctx.op(clock.sleep(checkMs), 'waiting for the consumer group');
  }
}

/** The final drain: reads every shard of every topic from its start and records what was stored. */
export async function drain(ctx: ActorContext): Promise<void> {
  const stored = await ctx.op(ctx.session.drain(), 'the final drain read');
  for (const record of stored) {
    ctx.recorder.record({
      type: 'drain',
      id: record.id,
      partition: record.partition,
      offset: record.offset,
      ...(record.aborted === true ? { aborted: true } : {}),
      ...(record.topic === 'output' ? { output: true } : {}),
    });
  }
}
