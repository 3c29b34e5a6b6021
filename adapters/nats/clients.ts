// The nats adapter's clients: a producer that publishes to one stream per shard, and a consumer
// that pulls from a durable consumer its group shares on each of those streams. Each client has a
// NATS connection of its own, so that crashing one (closing its connection without a flush) is
// what a killed process would do to the broker: its unacknowledged deliveries stay pending until
// their AckWait runs out, and its unanswered publishes get no answer.

import type { JetStreamClient, JetStreamManager, JsMsg, PubAck } from '@nats-io/jetstream';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { Acknowledgment, BenchProducer, Consumer, DeliveredRecord, SendCallbacks, SendResult } from '../contract.js';
import { hashKey } from '../../core/random.js';
import type { MessageRef } from '../../spec/history.js';
import type { AckMode } from '../../spec/vocabulary.js';

/** JetStream's duplicate-detection header: a resend with the same value within the window is dropped. */
const MSG_ID_HEADER = 'Nats-Msg-Id';

/** How long one publish waits for its PubAck before the attempt counts as failed. */
const PUBLISH_ATTEMPT_TIMEOUT_MS = 2_000;
/**
 * A send gives up when this much time has passed since it began, whatever retries are left: the
 * runner's deadline on a send is 30 s, and a send that missed it would end the scenario in error
 * instead of being recorded as a failed send.
 */
const SEND_BUDGET_MS = 25_000;
/**
 * Back-off between attempts: right after a stream leader's crash the cluster answers with errors
 * (no responders, "stream not available") for seconds until a new leader is elected (7.5 s was
 * measured before the first publish succeeded), and retrying at once would use every retry up in
 * that window.
 */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2_000;
/** How long an acknowledgment waits for the server to confirm it. */
const ACK_TIMEOUT_MS = 5_000;
/** How long one pull request waits for messages before the pull loop asks again. */
const FETCH_EXPIRES_MS = 2_000;
/** A pull that failed (a node down, the consumer's leader moving) is tried again after this. */
const FETCH_RETRY_MS = 250;

const utf8 = new TextDecoder();

/**
 * The message id a stored message's payload carries, or `?raw:<shard>:<sequence>` for one that is
 * not ours. The id travels in the payload, not in a header: encoding a header per message was a
 * fifth of the benchmark producer's time at ack none, and the payload is sent anyway.
 */
export function messageIdOf(payload: Uint8Array, shard: number, sequence: number): string {
  try {
    const parsed: unknown = JSON.parse(utf8.decode(payload));
    if (typeof parsed === 'object' && parsed !== null && 'id' in parsed && typeof parsed.id === 'string' && parsed.id !== '') return parsed.id;
  } catch {
    // Not JSON: a message some other publisher put on the subject.
  }
  return `?raw:${shard}:${sequence}`;
}

/** A message's shard: the hash of its key, as the reference broker places keys. */
export function shardOf(message: MessageRef, shards: number): number {
  return hashKey(message.key) % shards;
}

/** A message's payload: its identity as JSON, padded to valueBytes; consumers and the drain read the id back from it. */
function payloadOf(message: MessageRef, valueBytes: number): string {
  const json = JSON.stringify({ id: message.id, producer: message.producer, seq: message.seq });
  return json.length >= valueBytes ? json : json.padEnd(valueBytes, ' ');
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface ProducerSettings {
  /** The subject of each shard's stream, by shard. */
  readonly subjects: readonly string[];
  readonly ack: AckMode;
  readonly retries: number;
  readonly idempotent: boolean;
  readonly valueBytes: number;
  /** Reports a fact for the history. */
  readonly info: (message: string) => void;
}

/**
 * A producer: ack `none` is a core publish (no PubAck is asked for, so nothing is known of the
 * write); `all` is a JetStream publish that resolves with the PubAck, which an R3 stream's leader
 * sends once a quorum of two replicas holds the message. Idempotence is the Nats-Msg-Id header,
 * which makes the stream drop a resend within its duplicate window and answer with the first
 * copy's sequence.
 */
export class NatsProducer implements BenchProducer {
  private closed = false;

  constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly settings: ProducerSettings,
  ) {}

  async send(message: MessageRef): Promise<SendResult> {
    if (this.closed) throw new Error('the producer is closed');
    const partition = shardOf(message, this.settings.subjects.length);
    const subject = this.settings.subjects[partition] as string;
    // A header only where JetStream needs one: the duplicate window keys on Nats-Msg-Id.
    let header: MsgHdrs | undefined;
    if (this.settings.idempotent) {
      header = headers();
      header.set(MSG_ID_HEADER, message.id);
    }
    const payload = payloadOf(message, this.settings.valueBytes);
    if (this.settings.ack === 'none') {
      this.connection.publish(subject, payload, header === undefined ? undefined : { headers: header });
      return { partition, offset: null };
    }
    const ack = await this.publishWithRetries(subject, payload, header, message.id);
    return { partition, offset: ack.seq };
  }

  /**
   * For the benchmark: the same send, its outcome to the callbacks. The client pipelines
   * publishes on its connection by itself, so this saves the caller only its own promise.
   */
  sendWith(message: MessageRef, callbacks: SendCallbacks, token: number): void {
    this.send(message).then(
      (result) => callbacks.sent(result, token),
      (error: unknown) => callbacks.failed(error instanceof Error ? error : new Error(String(error)), token),
    );
  }

  /** Publishes until a PubAck comes, the retries are used up, or the send's time budget is. */
  private async publishWithRetries(subject: string, payload: string, header: MsgHdrs | undefined, id: string): Promise<PubAck> {
    const startedMs = Date.now();
    let backoffMs = FIRST_BACKOFF_MS;
    let firstError: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        // retries: 1 is one attempt: the client's own retry on "no responders" has no back-off.
        const ack = await this.js.publish(subject, payload, {
          ...(header === undefined ? {} : { headers: header }),
          timeout: PUBLISH_ATTEMPT_TIMEOUT_MS,
          retries: 1,
        });
        if (attempt > 1) {
          this.settings.info(`${id} stored at sequence ${ack.seq}${ack.duplicate ? ' (a duplicate the stream dropped)' : ''} on attempt ${attempt}, after: ${firstError ?? ''}`);
        }
        return ack;
      } catch (error) {
        if (this.closed) throw new Error(`the producer closed while sending ${id}`, { cause: error });
        firstError ??= describeError(error);
        const spentMs = Date.now() - startedMs;
        if (attempt > this.settings.retries || spentMs + backoffMs + PUBLISH_ATTEMPT_TIMEOUT_MS > SEND_BUDGET_MS) {
          throw new Error(`gave up on ${id} after ${attempt} attempts in ${spentMs} ms: ${describeError(error)}`, { cause: error });
        }
        await delay(backoffMs);
        backoffMs = Math.min(2 * backoffMs, MAX_BACKOFF_MS);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A core publish (ack none) is only in the client's buffer until flushed: a clean close sends it.
    await this.connection.flush().catch(() => undefined);
    await this.connection.close();
  }

  async crash(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // close() without a flush drops whatever the client still buffers, as a killed process would.
    await this.connection.close();
  }
}

/** The acknowledgment of some deliveries: their JetStream handles, and per shard the next sequence. */
export class NatsAcknowledgment implements Acknowledgment {
  constructor(
    readonly positions: ReadonlyMap<number, number>,
    readonly messages: readonly JsMsg[],
  ) {}
}

export interface ConsumerSettings {
  /** The stream of each shard, by shard. */
  readonly streams: readonly string[];
  /** The durable consumer the group shares on every stream. */
  readonly durable: string;
  readonly maxPollRecords: number;
  /** AckNone: the server counts a message as acknowledged once it delivered it. */
  readonly ackNone: boolean;
  /** Resolves once the group's durables exist (or the session closed): the pull loops start then. */
  readonly durablesMade: Promise<void>;
  readonly info: (message: string) => void;
}

/**
 * A member of a group: one pull loop per shard's stream fills a small buffer from the group's
 * durable pull consumer, and poll() takes from it. The buffer holds at most maxPollRecords
 * messages, so a delivery waits in it only briefly before the harness sees it: its AckWait runs
 * from the moment the server sent it.
 */
export class NatsConsumer implements Consumer {
  private readonly buffer: { readonly shard: number; readonly message: JsMsg }[] = [];
  /** Delivered by poll() and not acknowledged, by `shard:sequence`. */
  private readonly unacked = new Map<string, JsMsg>();
  private readonly ready = new Set<number>();
  private stopped = false;
  private wakePoll: (() => void) | undefined;
  private wakePullers: (() => void)[] = [];
  private readonly loops: Promise<void>[];

  constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly settings: ConsumerSettings,
  ) {
    this.loops = settings.streams.map((stream, shard) => this.pullLoop(stream, shard));
  }

  /** How many deliveries wait in the buffer; with AckNone the server counts them as done already. */
  get buffered(): number {
    return this.buffer.length;
  }

  private async pullLoop(stream: string, shard: number): Promise<void> {
    let reported = '';
    await this.settings.durablesMade;
    while (!this.stopped) {
      try {
        const consumer = await this.js.consumers.get(stream, this.settings.durable);
        this.ready.add(shard);
        while (!this.stopped) {
          while (!this.stopped && this.buffer.length >= this.settings.maxPollRecords) {
            await new Promise<void>((resolve) => this.wakePullers.push(resolve));
          }
          if (this.stopped) return;
          const batch = await consumer.fetch({ max_messages: this.settings.maxPollRecords - this.buffer.length, expires: FETCH_EXPIRES_MS });
          for await (const message of batch) {
            if (this.stopped) {
              // Fetched after a crash or close began: not ours to deliver any more.
              break;
            }
            this.buffer.push({ shard, message });
            this.wakePoll?.();
          }
          reported = '';
        }
      } catch (error) {
        if (this.stopped) return;
        const problem = describeError(error);
        if (problem !== reported) this.settings.info(`pulling from ${stream} failed, trying again: ${problem}`);
        reported = problem;
        await delay(FETCH_RETRY_MS);
      }
    }
  }

  async poll(timeoutMs: number): Promise<readonly DeliveredRecord[]> {
    if (this.stopped) throw new Error('the consumer is closed');
    if (this.buffer.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wakePoll = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakePoll = undefined;
    }
    const taken = this.buffer.splice(0, this.settings.maxPollRecords);
    for (const wake of this.wakePullers.splice(0)) wake();
    return taken.map(({ shard, message }) => {
      if (!this.settings.ackNone) this.unacked.set(`${shard}:${message.seq}`, message);
      return { id: messageIdOf(message.data, shard, message.seq), partition: shard, offset: message.seq };
    });
  }

  acknowledgment(deliveries: readonly DeliveredRecord[]): Acknowledgment {
    const positions = new Map<number, number>();
    // A set: one poll can hold a message twice (its AckWait ran out while it waited in the buffer,
    // and it came again), and both deliveries are the one latest delivery, acknowledged once.
    const messages = new Set<JsMsg>();
    for (const delivery of deliveries) {
      const message = this.unacked.get(`${delivery.partition}:${delivery.offset}`);
      if (message === undefined) continue;
      messages.add(message);
      positions.set(delivery.partition, Math.max(positions.get(delivery.partition) ?? 0, delivery.offset + 1));
    }
    return new NatsAcknowledgment(positions, [...messages]);
  }

  /** Acknowledges each message and waits for the server to confirm it (ackAck), so a lost ack rejects. */
  async ack(acknowledgment: Acknowledgment): Promise<void> {
    if (!(acknowledgment instanceof NatsAcknowledgment)) throw new Error('a nats consumer acknowledges only its own deliveries');
    if (this.stopped) throw new Error('the consumer is closed');
    const outcomes = await Promise.allSettled(acknowledgment.messages.map((message) => message.ackAck({ timeout: ACK_TIMEOUT_MS })));
    const failures: string[] = [];
    outcomes.forEach((outcome, index) => {
      const message = acknowledgment.messages[index] as JsMsg;
      if (outcome.status === 'fulfilled' && outcome.value) {
        this.unacked.delete(`${this.shardOfStream(message.info.stream)}:${message.seq}`);
      } else {
        failures.push(`${message.info.stream} sequence ${message.seq}: ${outcome.status === 'rejected' ? describeError(outcome.reason) : 'already acknowledged'}`);
      }
    });
    if (failures.length > 0) {
      throw new Error(`${failures.length} of ${outcomes.length} acknowledgments were not confirmed, first ${failures[0] ?? ''}`);
    }
  }

  private shardOfStream(stream: string): number {
    return this.settings.streams.indexOf(stream);
  }

  assignment(): ReadonlySet<number> {
    // JetStream gives a durable's messages to whichever member pulls: every member pulls every
    // shard once its pull loops are bound to the group's durable consumers.
    return this.ready.size === this.settings.streams.length ? new Set(this.ready) : new Set();
  }

  /** Negatively acknowledges every unacknowledged delivery, so the group delivers them again at once. */
  async rewind(): Promise<void> {
    this.nakAll();
  }

  private nakAll(): void {
    if (this.settings.ackNone) return;
    for (const message of [...this.unacked.values(), ...this.buffer.map((entry) => entry.message)]) message.nak();
    this.unacked.clear();
    this.buffer.length = 0;
    for (const wake of this.wakePullers.splice(0)) wake();
  }

  private stop(): void {
    this.stopped = true;
    this.wakePoll?.();
    for (const wake of this.wakePullers.splice(0)) wake();
  }

  /** Leaves cleanly: what it holds unacknowledged goes back to the group at once (nak), then the connection drains. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.nakAll();
    this.stop();
    await this.connection.flush().catch(() => undefined);
    await this.connection.close();
    await Promise.allSettled(this.loops);
  }

  /** Dies at once: no acknowledgment, no nak; the server redelivers once each AckWait runs out. */
  async crash(): Promise<void> {
    if (this.stopped) return;
    this.stop();
    await this.connection.close();
    await Promise.allSettled(this.loops);
  }
}

/** The number of messages a stream holds, from its own state. */
export async function streamMessages(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}
