// The reference broker's network: one-way hops between endpoints, over connections that keep
// order.
//
// Kafka carries a client's requests to one broker over one TCP connection, and the broker's
// answers come back over it in the order they were sent; replication fetches between two
// brokers travel the same way. TCP never lets a later byte overtake an earlier one, so neither
// may a message here: the latency of each hop is drawn anew (it varies per message and over
// time), yet a message arrives no earlier than the one sent before it on the same connection.
// Without this, concurrent sends of one producer overtake each other on the wire and the log
// holds them out of send order with no retry and no fault, which a real client cannot do.
//
// A link can be cut (the partition fault): a message sent on a cut link is dropped, and so is
// one already on its way when the cut came, as packets on a wire whose rule now drops them. A
// dropped message draws no latency and leaves the connection's order as it was, so every link
// that is not cut keeps its order, and a run without cuts makes exactly the same random draws as
// before links could be cut.

import type { Simulation, Timer } from './sim.js';

/** One party on the network: a broker process, the controller, or one client instance. */
export type Endpoint = number;

/**
 * Endpoints per side of a connection's key. A run makes a few per client instance and broker,
 * far fewer than this; the product stays below 2^53, so keys are exact integers.
 */
const ENDPOINT_LIMIT = 1 << 24;

/** What send() returns for a message it dropped: it arrives never, and there is nothing to cancel. */
const DROPPED: Timer = { at: Infinity, cancel: () => undefined };

export class Network {
  /** When the latest message sent on each directed connection arrives (or arrived). */
  private readonly lastArrivalMs = new Map<number, number>();
  private endpoints = 0;
  /** The directed connections cut now, by key. */
  private readonly cutLinks = new Set<number>();
  /** How many cuts there have been: a message in flight is dropped when a cut since took its link. */
  private cuts = 0;
  /** The last cut that took each directed connection, by key. */
  private readonly lastCutOf = new Map<number, number>();

  constructor(
    private readonly sim: Simulation,
    /** One hop's latency in virtual milliseconds, drawn once per message. */
    private readonly latencyMs: () => number,
  ) {}

  /** A new endpoint. A restarted client is a new instance, so it gets new connections too. */
  endpoint(): Endpoint {
    if (this.endpoints >= ENDPOINT_LIMIT) throw new Error(`more than ${ENDPOINT_LIMIT} network endpoints`);
    return this.endpoints++;
  }

  /**
   * Sends one message from `from` to `to`: `arrive` runs at the receiver after one hop, never
   * before a message sent earlier on the same connection. Messages that arrive at the same
   * instant run in the order they were sent, as the simulation runs equal times in schedule order.
   */
  send(from: Endpoint, to: Endpoint, arrive: () => void): Timer {
    const key = from * ENDPOINT_LIMIT + to;
    if (this.cutLinks.size > 0 && this.cutLinks.has(key)) return DROPPED;
    const atMs = Math.max(this.sim.now + this.latencyMs(), this.lastArrivalMs.get(key) ?? 0);
    this.lastArrivalMs.set(key, atMs);
    const sentAfter = this.cuts;
    return this.sim.scheduleAt(atMs, () => {
      // A cut since it left takes the message with it, even when the link was healed again.
      if (this.cuts !== sentAfter && (this.lastCutOf.get(key) ?? 0) > sentAfter) return;
      arrive();
    });
  }

  /**
   * Cuts the links between each pair, both ways, from now until heal(): what is on its way on
   * them is lost, and what is sent on them is dropped.
   */
  cut(pairs: readonly (readonly [Endpoint, Endpoint])[]): void {
    this.cuts++;
    for (const [a, b] of pairs) {
      for (const key of [a * ENDPOINT_LIMIT + b, b * ENDPOINT_LIMIT + a]) {
        this.cutLinks.add(key);
        this.lastCutOf.set(key, this.cuts);
      }
    }
  }

  /** Whether the link from `from` to `to` is cut now. */
  isCut(from: Endpoint, to: Endpoint): boolean {
    return this.cutLinks.has(from * ENDPOINT_LIMIT + to);
  }

  /** Makes every link whole again; messages sent from now on arrive, in order, as before the cut. */
  heal(): void {
    this.cutLinks.clear();
  }
}
