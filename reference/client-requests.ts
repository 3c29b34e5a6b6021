// What every client of the reference broker shares: its timings, the error of a closed client,
// and the two ways it talks to the cluster, a request to a broker with the client's timeout and a
// round trip to the always-available controller and coordinators. They are apart so that the
// producers (clients.ts) and the consumer (consumer.ts) use one set of them without importing
// each other's file.

import { BrokerError, type Cluster, type ErrorCode } from './broker/cluster.js';
import type { Endpoint } from './substrate/network.js';

export const CLIENT_TIMING = {
  /** How long a client waits for any answer before it calls the request timed out. */
  requestTimeoutMs: 400,
  retryBackoffMs: 50,
  /** The time one message takes on the producer's wire; it bounds a producer's rate. */
  sendCostMs: 0.05,
  /** How long a producer waits for a partition leader before it gives up on a send. */
  maxBlockMs: 1000,
  /** How long a refused connection counts as down before the client tries it again. */
  reconnectBackoffMs: 50,
  /** How long a send may wait for a usable connection before it fails. */
  deliveryTimeoutMs: 2000,
  /** How long a request to the transaction coordinator is retried before it fails. */
  coordinatorTimeoutMs: 5000,
  autoCommitIntervalMs: 100,
  /** How often a consumer's background thread tells the group it is alive. */
  heartbeatIntervalMs: 50,
  /** How long an empty consumer poll waits before it looks again. */
  pollIdleMs: 10,
} as const;

export class ClientClosed extends Error {
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = 'ClientClosed';
  }
}

export type Outcome<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly code: ErrorCode };

/**
 * One request from the client at endpoint `client` to a broker and its answer, with the client's
 * timeout. `handle` runs at the broker and answers through `reply`; the answer must cross the
 * network back itself, on the same connection (Cluster.replyFrom to `client`).
 */
export function request<T>(
  cluster: Cluster,
  client: Endpoint,
  brokerId: number,
  handle: (reply: (outcome: Outcome<T>) => void) => void,
): Promise<Outcome<T>> {
  return cluster.sim.wait<Outcome<T>>((resolve) => {
    const timer = cluster.sim.schedule(CLIENT_TIMING.requestTimeoutMs, () =>
      resolve({ kind: 'error', code: 'REQUEST_TIMED_OUT' }),
    );
    const settle = (outcome: Outcome<T>): void => {
      timer.cancel();
      resolve(outcome);
    };
    cluster.deliver(client, brokerId, () => handle(settle), () => settle({ kind: 'error', code: 'BROKER_NOT_AVAILABLE' }));
  });
}

/** A request whose work runs at the broker at once; the answer crosses the network back. */
export function call<T>(cluster: Cluster, client: Endpoint, brokerId: number, work: () => T | BrokerError): Promise<Outcome<T>> {
  return request<T>(cluster, client, brokerId, (reply) => {
    const incarnation = cluster.broker(brokerId).incarnation;
    const result = work();
    cluster.replyFrom(brokerId, incarnation, client, () =>
      reply(result instanceof BrokerError ? { kind: 'error', code: result.code } : { kind: 'ok', value: result }),
    );
  });
}

/** What a failed request was and what it waited for, for its error: `Produce to broker 1 (after 3 resends)`. */
export function requestFailure(what: string, broker: number, code: ErrorCode, resends: number): string {
  const waited = code === 'REQUEST_TIMED_OUT' ? ` got no answer within ${CLIENT_TIMING.requestTimeoutMs} ms` : '';
  const tries = resends > 0 ? ` (after ${resends} ${resends === 1 ? 'resend' : 'resends'})` : '';
  return `${what} to broker ${broker}${waited}${tries}`;
}

/**
 * A round trip of the client at endpoint `client` to the controller or group coordinator, which
 * this model keeps always available. It goes over the client's one connection to it, so one
 * client's requests are handled, and answered, in the order it made them.
 */
export function roundTrip<T>(cluster: Cluster, client: Endpoint, work: () => T): Promise<T> {
  const network = cluster.network;
  const controller = cluster.controllerEndpoint;
  return cluster.sim.wait<T>((resolve, reject) => {
    network.send(client, controller, () => {
      let value: T;
      try {
        value = work();
      } catch (error) {
        // The caller gets the work's error as a rejection, as from any awaited call; thrown
        // inside an event, it would end the whole simulation instead.
        network.send(controller, client, () => reject(error instanceof Error ? error : new Error(String(error))));
        return;
      }
      network.send(controller, client, () => resolve(value));
    });
  });
}
