// The producer of a client thread of the kafka adapter, plain, idempotent or transactional: its
// send pipeline and its transaction operations.

import { useFastProduceEncoding } from './kafkajs-fix.js';
import { Kafka, Partitioners, type PartitionMetadata, type Producer, type RecordMetadata, type Transaction } from 'kafkajs';
import {
  describeError,
  encodeValue,
  KAFKA_TIMING,
  kafkaAcks,
  kafkaConfig,
  placeSends,
  SendBatchReader,
  sendBatchSize,
  withBudget,
  type ProducerSpec,
  type SendBatch,
  type SendPlace,
} from './messages.js';
import { log, patiently, post, type Handlers, type Listeners } from './worker-thread.js';

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

export async function startProducer(producerSpec: ProducerSpec): Promise<{ handlers: Handlers; onSend: Listeners['onSend'] }> {
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
