// A nats session's consumer groups: each group is one durable pull consumer per input stream,
// shared by the group's members, since JetStream has no per-member assignment. The durables are
// made once per session, in the background for a member that opens (so that a fault as consumers
// open delays their first deliveries instead of failing them), and a group's backlog is read from
// them.

import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { streamMessages, type NatsConsumer } from './clients.js';
import { retrying } from './connection.js';
import { describeError } from './nodes.js';
import { streamSafe } from './streams.js';

/**
 * How long a delivered message stays with the member it went to before the group delivers it to
 * another. A scenario's consumers acknowledge within milliseconds of a poll, so 5 s is far beyond
 * a healthy member's need, while a crashed member's messages come back within the runner's
 * catch-up (which waits up to 60 s after the heal).
 */
export const ACK_WAIT_MS = 5_000;

/** The groups of one session: their durables on the input streams, and their members. */
export class GroupDurables {
  private readonly consumersOf = new Map<string, Set<NatsConsumer>>();
  /** The durable consumers made so far, by group, with whether they acknowledge nothing (AckNone). */
  private readonly durables = new Map<string, { readonly ackNone: boolean; readonly made: Promise<void> }>();

  constructor(
    private readonly jsm: JetStreamManager,
    /** The input streams, on each of which a group has its durable. */
    private readonly streams: readonly string[],
    /** Whether the session has closed, which ends the asking again. */
    private readonly closed: () => boolean,
    private readonly info: (message: string) => void,
  ) {}

  /**
   * Starts making the durables of a member's group (durableInBackground); throws when the group
   * already acknowledges otherwise than the member would.
   */
  forMember(group: string, ackNone: boolean): Promise<void> {
    const known = this.durables.get(group);
    if (known !== undefined && known.ackNone !== ackNone) throw new Error(`group ${group} mixes automatic and explicit acknowledgments`);
    return this.durableInBackground(group, ackNone);
  }

  /** Counts `consumer` among the group's members until its connection closes. */
  join(group: string, consumer: NatsConsumer, connection: NatsConnection): void {
    const members = this.consumersOf.get(group) ?? new Set();
    members.add(consumer);
    this.consumersOf.set(group, members);
    void connection.closed().then(() => members.delete(consumer));
  }

  /** The group's durable consumer on every input stream, made once per session. */
  private durable(group: string, ackNone: boolean): Promise<void> {
    const known = this.durables.get(group);
    if (known !== undefined) {
      if (known.ackNone !== ackNone) return Promise.reject(new Error(`group ${group} mixes automatic and explicit acknowledgments`));
      return known.made;
    }
    const made = (async () => {
      for (const stream of this.streams) {
        // Adding a durable with the same configuration again is no change, so a retry is safe.
        await retrying(`creating the durable consumer ${group} on ${stream}`, () =>
          this.jsm.consumers.add(stream, {
            durable_name: streamSafe(group),
            ack_policy: ackNone ? AckPolicy.None : AckPolicy.Explicit,
            ack_wait: nanos(ACK_WAIT_MS),
            deliver_policy: DeliverPolicy.All,
            max_ack_pending: -1,
          }),
        );
      }
    })();
    made.catch(() => this.durables.delete(group));
    this.durables.set(group, { ackNone, made });
    return made;
  }

  /**
   * Makes the group's durables, asking again until they exist or the session closes. A consumer
   * does not wait for them: a scenario's fault can take the JetStream meta leader's quorum away
   * for seconds right when its consumers open, which must delay their first deliveries, not fail
   * them. Its pull loops start once the durables exist (assignment() is empty until then). The
   * promise resolves then, or when the session closes.
   */
  private durableInBackground(group: string, ackNone: boolean): Promise<void> {
    return new Promise((resolve) => {
      const attempt = (): void => {
        if (this.closed()) return resolve();
        this.durable(group, ackNone).then(resolve, (error: unknown) => {
          if (this.closed()) return resolve();
          this.info(`${describeError(error)}; asking again`);
          attempt();
        });
      };
      attempt();
    });
  }

  /**
   * Per stream, what the group's durable has not had acknowledged: messages it has not delivered
   * (num_pending) and those delivered and waiting for an ack (num_ack_pending). A stream the group
   * never consumed counts all its messages. With AckNone a delivery counts as acknowledged when
   * sent, so the deliveries waiting in the members' buffers are added.
   */
  async backlog(group: string): Promise<number> {
    let behind = 0;
    for (const stream of this.streams) {
      behind += await retrying(`reading the backlog of group ${group} on ${stream}`, () => this.streamBacklog(stream, streamSafe(group)));
    }
    if (this.durables.get(group)?.ackNone === true) {
      for (const member of this.consumersOf.get(group) ?? []) behind += member.buffered;
    }
    return behind;
  }

  private async streamBacklog(stream: string, durable: string): Promise<number> {
    try {
      const info = await this.jsm.consumers.info(stream, durable);
      return info.num_pending + info.num_ack_pending;
    } catch (error) {
      if (/consumer not found/i.test(describeError(error))) return streamMessages(this.jsm, stream);
      throw error;
    }
  }
}
