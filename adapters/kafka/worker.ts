// A client thread of the kafka adapter: runs one kafkajs producer, transactional producer or
// consumer for the main thread (messages.ts says why each client has a thread of its own).
// It answers the main thread's requests and, for a consumer, streams what it reads.
//
// A consumer hands the main thread one fetched batch at a time and waits until the main thread's
// poll has taken all of it before it tells kafkajs the batch is done (resolveOffset). kafkajs
// fetches from the offsets resolved so far, and an auto-committing consumer commits them, so
// resolving only what was delivered keeps both honest: nothing is fetched twice, and auto-commit
// never saves a position past records the application has not seen. The batch in hand is also
// the bound on what is buffered. While it waits, the thread keeps sending heartbeats, and it
// gives the batch up (unresolved, so kafkajs reads it again) when the group rebalances, a seek
// moves the partition, or the consumer closes.

// First of all: corrects kafkajs's read_committed filtering before kafkajs loads (see the module).
import { useFastProduceEncoding } from './kafkajs-fix.js';
import { parentPort, workerData } from 'node:worker_threads';
import {
  Kafka,
  Partitioners,
  type Consumer,
  type EachBatchPayload,
  type PartitionMetadata,
  type Producer,
  type RecordMetadata,
  type Transaction,
} from 'kafkajs';
import {
  describeError,
  encodeValue,
  KAFKA_TIMING,
  kafkaAcks,
  kafkaConfig,
  placeSends,
  recordId,
  SendBatchReader,
  sendBatchSize,
  THREAD_PROTOCOL_VERSION,
  withBudget,
  type ClientEvent,
  type ClientSpec,
  type ConsumerSpec,
  type OperationName,
  type Operations,
  type ProducerSpec,
  type SendBatch,
  type SendPlace,
  type ToClient,
} from './messages.js';

type Handlers = { readonly [K in OperationName]?: (args: Operations[K]['args']) => Promise<Operations[K]['result']> };

const port = parentPort;
if (port === null) throw new Error('adapters/kafka/worker.js runs only as a client thread of the kafka adapter');
const spec = workerData as ClientSpec;

function post(event: ClientEvent): void {
  port?.postMessage(event);
}

function log(line: string): void {
  post({ event: 'log', message: line });
}

/**
 * DELIVERYCHECK_KAFKA_DEBUG=1 puts each consumer batch's course (handed over, given up, resolved)
 * and each seek in the history, for when a delivery needs explaining.
 */
const debug = process.env.DELIVERYCHECK_KAFKA_DEBUG === '1' ? log : () => undefined;

// kafkajs starts promises nobody awaits (a retried request that lost a race, a background
// rejoin); one of them failing is worth a line in the history, not the death of the client.
process.on('unhandledRejection', (reason) => log(`unhandled error in kafkajs: ${describeError(reason)}`));

/** How long a client may take to connect (and a transactional one to fence its predecessor). */
const CONNECT_BUDGET_MS = 22_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs a client's first steps again, after disconnecting, until they succeed or the budget is
 * spent. A client that starts while a broker is paused or restarting may meet kafkajs's stuck
 * connection ("Broker not connected", see admin.ts), which only a new connection clears.
 */
async function patiently(what: string, steps: () => Promise<void>, disconnect: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + CONNECT_BUDGET_MS;
  for (;;) {
    try {
      await withBudget(steps(), Math.max(1, deadline - Date.now()), what);
      return;
    } catch (error) {
      if (Date.now() + KAFKA_TIMING.maxRetryTimeMs >= deadline) throw error;
      log(`${what} failed (${describeError(error)}); trying again`);
      await disconnect().catch(() => undefined);
      await sleep(KAFKA_TIMING.maxRetryTimeMs);
    }
  }
}

async function answer(id: number, run: () => Promise<unknown>): Promise<void> {
  try {
    post({ event: 'reply', id, ok: true, value: await run() });
  } catch (error) {
    post({ event: 'reply', id, ok: false, error: describeError(error) });
  }
}

/** What a client thread does with the main thread's messages besides requests. */
interface Listeners {
  readonly onConsumed?: (batch: number) => void;
  readonly onSend?: (batch: SendBatch) => void;
}

function listen(handlers: Handlers, listeners: Listeners): void {
  port?.on('message', (message: ToClient) => {
    if (message.kind === 'consumed') {
      listeners.onConsumed?.(message.batch);
      return;
    }
    if (message.kind === 'send') {
      const { batch } = message;
      if (listeners.onSend !== undefined) listeners.onSend(batch);
      else post({ event: 'sent', ids: [], partitions: [], offsets: [], errors: Array.from({ length: sendBatchSize(batch) }, (_, index) => [batch.firstId + index, `a ${spec.kind} does not send`]) });
      return;
    }
    // The main thread's typed call() pairs each operation with its own arguments, so the handler
    // found by name accepts them; the map's union of signatures cannot express that pairing.
    const handler = handlers[message.op] as ((args: unknown) => Promise<unknown>) | undefined;
    void answer(message.id, () =>
      handler === undefined ? Promise.reject(new Error(`a ${spec.kind} does not ${message.op}`)) : handler(message.args),
    );
  });
}

// ------------------------------------------------------------------------------- producers

/**
 * How a producer turns sends into produce requests. kafkajs has no accumulator of its own: each
 * producer.send() becomes produce requests at once, so one send() per message costs a request,
 * a response and their encoding per message. A Java producer instead gathers records per
 * partition into batches (linger.ms, batch.size). The thread does the same in its own way: while
 * a send() is outstanding, new messages wait in a queue, and the next send() takes all that
 * waited (up to the limits below) as one request with one record batch per partition. Under
 * light load a message leaves at once, alone; under heavy load batches grow by themselves, with
 * no fixed linger.
 *
 * One send() at a time, not the five requests in flight of a Java producer: kafkajs writes a
 * send's requests only after a number of awaits that grows with the leaders the send reaches, so
 * a small send could overtake a large one started just before it, and two messages of one key
 * were stored out of send order (the ack-all workload showed it with five in flight). One at a
 * time keeps the order, also for idempotent and transactional producers, whose sequence numbers
 * kafkajs wants to see in order; and it cost no throughput that could be measured: three in
 * flight instead of one stayed within the noise of `bench --compare-kafka-perf`, with kafkajs's
 * encoder and with the adapter's own (bench/README.md has the figures).
 */
export const PRODUCER_PIPELINE = {
  // These limits hold for a producer opened with `batching` (benchmarks). Without it (scenarios)
  // every send is a request of its own, sent at once however many are in flight, as an
  // application calling kafkajs's send() per message does: the behaviour a scenario tests,
  // overtaking and the client's sequence-number handling included.
  maxRequestsInFlight: 1,
  /**
   * Messages one send() takes at most, so that one request's encoding does not hold the thread
   * (and the acknowledgments of the requests before it) for long.
   */
  maxRecordsPerRequest: 5_000,
  /** Value bytes one send() takes at most: far below a broker's 1 MB record batch limit per partition. */
  maxBytesPerRequest: 512 * 1024,
} as const;

/**
 * A message taken into a produce request: kafkajs's message (key, value, partition; kafkajs
 * ignores the id) and the send whose outcome it is.
 */
interface QueuedSend extends SendPlace {
  readonly key: string;
  readonly value: string;
}

/** Keys whose partition a producer remembers; scenarios and workloads use far fewer. */
const MAX_REMEMBERED_KEYS = 100_000;

async function startProducer(producerSpec: ProducerSpec): Promise<{ handlers: Handlers; onSend: Listeners['onSend'] }> {
  const transactional = producerSpec.transactionalId !== undefined;
  // A batching producer's thread is busy encoding records; the adapter's encoder writes the same
  // bytes in a fraction of the time (kafkajs-fix.ts says why scenario producers keep kafkajs's).
  if (producerSpec.batching) useFastProduceEncoding();
  const kafka = new Kafka(kafkaConfig(producerSpec.brokers, producerSpec.clientId, producerSpec.retries, log, KAFKA_TIMING.requestTimeoutMs, producerSpec.security));
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    // A transactional producer is idempotent too, as in every Kafka client.
    idempotent: producerSpec.idempotent || transactional,
    ...(transactional ? { transactionalId: producerSpec.transactionalId, transactionTimeout: KAFKA_TIMING.transactionTimeoutMs } : {}),
    retry: {
      retries: producerSpec.retries,
      initialRetryTime: KAFKA_TIMING.initialRetryTimeMs,
      maxRetryTime: KAFKA_TIMING.maxRetryTimeMs,
    },
  });
  let transaction: Transaction | undefined;
  await patiently(
    transactional ? 'connecting the producer and initialising its transactional id' : 'connecting the producer',
    async () => {
      await producer.connect();
      if (transactional) {
        // kafkajs asks for the producer id and epoch at its first transaction. Asking now is what
        // fences an older producer with the same transactional id, as a new Java producer's
        // initTransactions() does; the empty transaction ends without a request to the broker.
        const first = await producer.transaction();
        await first.abort();
      }
    },
    () => producer.disconnect(),
  );
  const openTransaction = (): Transaction => {
    if (transaction === undefined || !transaction.isActive()) throw new Error('no transaction is open');
    return transaction;
  };

  // The partition is chosen here, with kafkajs's Java-compatible partitioner (murmur2 of the
  // key), so it is known even with ack mode none, whose sends come back without metadata.
  // It depends on the key alone (and the partition count), so each key's is remembered: murmur2
  // in kafkajs runs on 64-bit Long objects and cost more than the rest of taking a message.
  const choosePartition = Partitioners.DefaultPartitioner();
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: producerSpec.partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [],
    isr: [],
  }));
  const partitionByKey = new Map<string, number>();
  const partitionOf = (key: string, value: string): number => {
    let partition = partitionByKey.get(key);
    if (partition === undefined) {
      partition = choosePartition({ topic: producerSpec.topic, partitionMetadata, message: { key, value } });
      if (partitionByKey.size < MAX_REMEMBERED_KEYS) partitionByKey.set(key, partition);
    }
    return partition;
  };
  const acks = kafkaAcks(producerSpec.ack);

  // kafkajs 2.2.4 can keep a broker connection whose handshake failed as connected but unusable
  // ("Broker not connected"; admin.ts says more), and then fails every send to that broker for
  // good. A new connection is what a Java client would make by itself, so the producer
  // reconnects, and sends wait for it.
  let reconnecting: Promise<void> | undefined;
  const reconnectIfStuck = (error: unknown): void => {
    if (!(error instanceof Error) || !error.message.includes('Broker not connected') || reconnecting !== undefined) return;
    log('reconnecting after "Broker not connected"');
    reconnecting = (async () => {
      await producer.disconnect();
      await producer.connect();
    })()
      .catch((reconnectError: unknown) => log(`reconnecting failed: ${describeError(reconnectError)}`))
      .finally(() => {
        reconnecting = undefined;
      });
  };

  // The send pipeline (PRODUCER_PIPELINE says why). `received` from `head` on waits for a
  // request, as the main thread sent it: a message becomes a record (value, partition) only when
  // a request takes it. A benchmark's main thread hands over hundreds of thousands of messages at
  // once; turning them all into records on arrival kept the thread from starting its first
  // requests, and kept every record alive through the garbage collector's young generation.
  let received: SendBatchReader[] = [];
  let head = 0;
  let requestsInFlight = 0;
  let idleWaiters: (() => void)[] = [];
  const maxRequestsInFlight = producerSpec.batching ? PRODUCER_PIPELINE.maxRequestsInFlight : Number.POSITIVE_INFINITY;
  const maxRecordsPerRequest = producerSpec.batching ? PRODUCER_PIPELINE.maxRecordsPerRequest : 1;
  const waiting = (): boolean => head < received.length;

  const takeRequest = (): QueuedSend[] => {
    const taken: QueuedSend[] = [];
    let bytes = 0;
    while (head < received.length && taken.length < maxRecordsPerRequest) {
      const sends = received[head] as SendBatchReader;
      // The value's length is known only once the message is read, so a message that does not fit
      // is put back for the next request.
      const id = sends.nextId;
      const message = sends.read();
      const value = encodeValue(message, producerSpec.valueBytes);
      if (taken.length > 0 && bytes + value.length > PRODUCER_PIPELINE.maxBytesPerRequest) {
        sends.unread();
        break;
      }
      taken.push({ id, key: message.key, value, partition: partitionOf(message.key, value) });
      bytes += value.length;
      if (sends.done) head++;
    }
    if (head === received.length) {
      received = [];
      head = 0;
    }
    return taken;
  };

  const produce = async (sends: QueuedSend[]): Promise<void> => {
    try {
      await reconnecting;
      const record = {
        topic: producerSpec.topic,
        acks,
        timeout: KAFKA_TIMING.produceAckTimeoutMs,
        // kafkajs reads a message's key, value and partition, and nothing else of it.
        messages: sends,
      };
      const sending: Promise<RecordMetadata[]> = transactional ? openTransaction().send(record) : producer.send(record);
      sending.catch(reconnectIfStuck);
      const first = sends[0]?.id;
      const metadata = await withBudget(sending, KAFKA_TIMING.sendBudgetMs, `sending ${sends.length} messages (from send ${first})`);
      post(placeSends(sends, metadata, acks !== 0));
    } catch (error) {
      // The request failed as a whole: each of its messages may or may not be stored, and each
      // send fails, as a Java producer fails every record of a batch whose request failed.
      const reason = describeError(error);
      post({ event: 'sent', ids: [], partitions: [], offsets: [], errors: sends.map((send) => [send.id, reason]) });
    }
  };

  const pump = (): void => {
    while (requestsInFlight < maxRequestsInFlight && waiting()) {
      const sends = takeRequest();
      requestsInFlight++;
      void produce(sends).finally(() => {
        requestsInFlight--;
        pump();
      });
    }
    if (requestsInFlight === 0 && !waiting()) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
    }
  };

  /** Resolves once every message handed over so far has its outcome. */
  const idle = (): Promise<void> => {
    if (requestsInFlight === 0 && !waiting()) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  };

  const onSend = (batch: SendBatch): void => {
    if (sendBatchSize(batch) > 0) received.push(new SendBatchReader(batch));
    pump();
  };

  // Every other operation first waits for the sends before it: a transaction's commit must
  // follow its writes, as a Java producer's commitTransaction() flushes first.
  const afterSends = (what: string): Promise<void> => withBudget(idle(), KAFKA_TIMING.sendBudgetMs * 2, `${what}: waiting for the sends before it`);

  const handlers: Handlers = {
    'begin-transaction': async () => {
      await afterSends('beginning a transaction');
      if (transaction?.isActive() === true) throw new Error('a transaction is already open');
      transaction = await withBudget(producer.transaction(), KAFKA_TIMING.operationBudgetMs, 'beginning a transaction');
      return null;
    },
    'send-offsets': async ({ group, topic, offsets }) => {
      await afterSends('adding offsets to the transaction');
      const partitions = offsets.map(([partition, offset]) => ({ partition, offset: String(offset) }));
      await withBudget(
        openTransaction().sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions }] }),
        KAFKA_TIMING.operationBudgetMs,
        'adding offsets to the transaction',
      );
      return null;
    },
    'commit-transaction': async () => {
      await afterSends('committing the transaction');
      const committing = openTransaction();
      transaction = undefined;
      await withBudget(committing.commit(), KAFKA_TIMING.operationBudgetMs, 'committing the transaction');
      return null;
    },
    'abort-transaction': async () => {
      // Sends still going fail or land in the transaction, which the abort then undoes.
      await afterSends('aborting the transaction').catch(() => undefined);
      const aborting = transaction;
      transaction = undefined;
      // After a failed commit kafkajs holds no transaction it could abort; the coordinator aborts
      // it when the transaction times out or a successor with the same transactional id starts.
      if (aborting?.isActive() === true) {
        await withBudget(aborting.abort(), KAFKA_TIMING.operationBudgetMs, 'aborting the transaction');
      }
      return null;
    },
    close: async () => {
      // A clean close delivers what was handed over first, as a Java producer's close() does.
      await afterSends('closing the producer');
      await withBudget(producer.disconnect(), KAFKA_TIMING.operationBudgetMs, 'disconnecting the producer');
      return null;
    },
  };
  return { handlers, onSend };
}

// ------------------------------------------------------------------------------- consumers

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

async function startConsumer(consumerSpec: ConsumerSpec): Promise<{ handlers: Handlers; onConsumed: (batch: number) => void }> {
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

// ------------------------------------------------------------------------------- start

async function start(): Promise<void> {
  if (spec.protocolVersion !== THREAD_PROTOCOL_VERSION) {
    throw new Error(
      `the compiled client thread speaks protocol ${THREAD_PROTOCOL_VERSION}, the adapter ${spec.protocolVersion}; run "npm run build"`,
    );
  }
  if (spec.kind === 'producer') {
    const { handlers, onSend } = await startProducer(spec);
    listen(handlers, { onSend });
  } else {
    const { handlers, onConsumed } = await startConsumer(spec);
    listen(handlers, { onConsumed });
  }
  post({ event: 'ready' });
}

start().catch((error: unknown) => post({ event: 'failed', error: describeError(error) }));
