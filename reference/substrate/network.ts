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

import type { Simulation, Timer } from './sim.js';

/** One party on the network: a broker process, the controller, or one client instance. */
export type Endpoint = number;

/**
 * Endpoints per side of a connection's key. A run makes a few per client instance and broker,
 * far fewer than this; the product stays below 2^53, so keys are exact integers.
 */
const ENDPOINT_LIMIT = 1 << 24;

export class Network {
  /** When the latest message sent on each directed connection arrives (or arrived). */
  private readonly lastArrivalMs = new Map<number, number>();
  private endpoints = 0;

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
    const atMs = Math.max(this.sim.now + this.latencyMs(), this.lastArrivalMs.get(key) ?? 0);
    this.lastArrivalMs.set(key, atMs);
    return this.sim.scheduleAt(atMs, arrive);
  }
}
