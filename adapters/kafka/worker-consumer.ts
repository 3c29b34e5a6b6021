// The consumer of a client thread of the kafka adapter: its group membership, the batches it
// hands the main thread, and its commits and seeks.
//
// A consumer hands the main thread one fetched batch at a time and waits until the main thread's
// poll has taken all of it before it tells kafkajs the batch is done (resolveOffset). kafkajs
// fetches from the offsets resolved so far, and an auto-committing consumer commits them, so
// resolving only what was delivered keeps both honest: nothing is fetched twice, and auto-commit
// never saves a position past records the application has not seen. The batch in hand is also
// the bound on what is buffered. While it waits, the thread keeps sending heartbeats, and it
// gives the batch up (unresolved, so kafkajs reads it again) when the group rebalances, a seek
// moves the partition, or the consumer closes.

import { Kafka, type Consumer, type EachBatchPayload } from 'kafkajs';
import { describeError, KAFKA_TIMING, kafkaConfig, recordId, withBudget, type ConsumerSpec } from './messages.js';
import { debug, log, patiently, post, type Handlers } from './worker-thread.js';

interface ConsumerState {
  /** Counts group generations and seeks; see ClientEvent. */
  epoch: number;
  /** True between joining the group and the next rebalance or crash. */
  member: boolean;
  assigned: number[];
  closing: boolean;
  lastBatch: number;
  consumedBatch: number;
  wake: (() => void) | undefined;
}

export async function startConsumer(consumerSpec: ConsumerSpec): Promise<{ handlers: Handlers; onConsumed: (batch: number) => void }> {
  const kafka = new Kafka(kafkaConfig(consumerSpec.brokers, consumerSpec.clientId, 10, log, KAFKA_TIMING.requestTimeoutMs, consumerSpec.security));
  const consumer: Consumer = kafka.consumer({
    groupId: consumerSpec.group,
    sessionTimeout: KAFKA_TIMING.sessionTimeoutMs,
    rebalanceTimeout: KAFKA_TIMING.rebalanceTimeoutMs,
    heartbeatInterval: KAFKA_TIMING.heartbeatIntervalMs,
    maxWaitTimeInMs: KAFKA_TIMING.fetchMaxWaitMs,
    maxBytesPerPartition: KAFKA_TIMING.maxBytesPerPartition,
    readUncommitted: consumerSpec.readUncommitted,
    allowAutoTopicCreation: false,
    retry: {
      retries: 10,
      initialRetryTime: KAFKA_TIMING.initialRetryTimeMs,
      maxRetryTime: KAFKA_TIMING.maxRetryTimeMs,
      // A Java consumer keeps polling through broker trouble; kafkajs stops for good after an
      // error it does not know to be transient unless told to restart.
      restartOnFailure: async () => true,
    },
  });
  const state: ConsumerState = {
    epoch: 0,
    member: false,
    assigned: [],
    closing: false,
    lastBatch: 0,
    consumedBatch: 0,
    wake: undefined,
  };
  const nudge = (): void => {
    const wake = state.wake;
    state.wake = undefined;
    wake?.();
  };
  const nap = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        state.wake = undefined;
        resolve();
      }, ms);
      state.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const topic = consumerSpec.topic;

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    state.epoch++;
    state.member = true;
    state.assigned = [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    post({ event: 'assigned', epoch: state.epoch, partitions: state.assigned });
    nudge();
  });
  consumer.on(consumer.events.REBALANCING, () => {
    state.member = false;
    post({ event: 'rebalancing' });
    nudge();
  });
  consumer.on(consumer.events.CRASH, (event) => {
    state.member = false;
    // kafkajs restarts a consumer only after an error it knows to be transient, and otherwise
    // stops for good, as after "Broker not connected" while a broker restarts. A Java consumer
    // would go on polling, so this one is started again too: it rejoins as a new member.
    const restartHere = !event.payload.restart && !state.closing;
    post({ event: 'stopped', error: describeError(event.payload.error), restart: event.payload.restart || restartHere });
    nudge();
    if (restartHere) setTimeout(startRunning, KAFKA_TIMING.maxRetryTimeMs);
  });
  // A fetched batch holding only transaction markers or aborted records never reaches eachBatch:
  // kafkajs moves past it by itself. The main thread's positions must move with it, or a
  // consumer could never commit the end of a partition whose last record is a marker.
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const batch = event.payload;
    if (batch.batchSize === 0 && batch.topic === topic) {
      debug(`advance: partition ${batch.partition} past ${batch.lastOffset}, epoch ${state.epoch}`);
      post({ event: 'advance', epoch: state.epoch, partition: batch.partition, next: Number(batch.lastOffset) + 1 });
    }
  });

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const last = batch.messages.at(-1);
    if (last === undefined || batch.topic !== topic) return;
    // A batch fetched before a seek may reach this handler after it; kafkajs then calls it stale.
    // It must not be handed over under the new epoch, or the main thread would deliver records
    // from the position the seek left.
    if (state.closing || !isRunning() || isStale()) return;
    const epoch = state.epoch;
    const id = ++state.lastBatch;
    const first = batch.messages[0]?.offset;
    debug(`batch ${id}: partition ${batch.partition} offsets ${first}..${last.offset}, epoch ${epoch}`);
    post({
      event: 'records',
      epoch,
      batch: id,
      partition: batch.partition,
      records: batch.messages.map((message) => ({
        id: recordId(message.value, batch.partition, Number(message.offset)),
        partition: batch.partition,
        offset: Number(message.offset),
      })),
      next: Number(batch.lastOffset()) + 1,
    });
    while (state.consumedBatch < id) {
      if (state.closing || !isRunning() || isStale() || state.epoch !== epoch) {
        debug(`batch ${id}: given up (closing ${state.closing}, running ${isRunning()}, stale ${isStale()}, epoch ${state.epoch})`);
        return;
      }
      await nap(200);
      // Sends a heartbeat once the interval has passed, and throws when the group rebalances,
      // which makes kafkajs rejoin.
      await heartbeat();
    }
    // kafkajs resolves the transaction markers that close the batch along with its last record.
    resolveOffset(last.offset);
    debug(`batch ${id}: resolved through ${last.offset}`);
  };

  function startRunning(): void {
    if (state.closing) return;
    consumer
      .run({
        autoCommit: consumerSpec.autoCommit,
        autoCommitInterval: consumerSpec.autoCommit ? KAFKA_TIMING.autoCommitIntervalMs : null,
        eachBatchAutoResolve: false,
        eachBatch,
      })
      .catch((error: unknown) => post({ event: 'stopped', error: describeError(error), restart: false }));
  }

  const checkGeneration = (epoch: number): void => {
    if (!state.member) throw new Error('the consumer is rejoining its group, so its assignment is not settled');
    if (epoch !== state.epoch) {
      throw new Error(`the consumer's assignment or position changed since its last poll (epoch ${epoch}, now ${state.epoch})`);
    }
  };

  await patiently(
    'connecting the consumer',
    async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
    },
    () => consumer.disconnect(),
  );
  // run() resolves once the first join is done, which with other members may take a rebalance;
  // the consumer is ready before that, and joining is reported by the GROUP_JOIN event.
  startRunning();

  const handlers: Handlers = {
    commit: async ({ epoch, offsets }) => {
      checkGeneration(epoch);
      await withBudget(
        consumer.commitOffsets(offsets.map(([partition, offset]) => ({ topic, partition, offset: String(offset) }))),
        KAFKA_TIMING.operationBudgetMs,
        'committing offsets',
      );
      return null;
    },
    'check-generation': async ({ epoch }) => {
      checkGeneration(epoch);
      return null;
    },
    seek: async ({ offsets }) => {
      const wanted = new Map(offsets);
      for (const partition of state.assigned) {
        const offset = wanted.get(partition);
        if (offset !== undefined) consumer.seek({ topic, partition, offset: String(offset) });
      }
      state.epoch++;
      debug(`seek to ${offsets.map(([partition, offset]) => `${partition}:${offset}`).join(' ')} of [${state.assigned.join(', ')}], epoch ${state.epoch}`);
      nudge();
      return { epoch: state.epoch, assigned: [...state.assigned] };
    },
    close: async () => {
      state.closing = true;
      nudge();
      await withBudget(consumer.disconnect(), KAFKA_TIMING.operationBudgetMs, 'leaving the group');
      return null;
    },
  };
  const onConsumed = (batch: number): void => {
    state.consumedBatch = Math.max(state.consumedBatch, batch);
    nudge();
  };
  return { handlers, onConsumed };
}
