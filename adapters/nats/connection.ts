// How the nats adapter's connections and admin requests ride out a node's crash or pause: a client
// connection that notices a silent server within seconds and moves to another, and admin
// operations asked again until the cluster answers.

import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { describeError } from './nodes.js';

/** How long an admin request (stream info, consumer info) waits for its answer. */
export const ADMIN_TIMEOUT_MS = 5_000;
/**
 * How long an admin operation (creating a durable, reading a backlog, draining a stream) asks
 * again before it gives up: right after a node's crash or pause the admin connection may still
 * be on that node, and requests time out until it has moved to another (about 3 s), or the
 * stream's leader is being elected (several seconds; when the killed node also led the meta
 * group, both elections). A durable made at the moment of a leader's kill on a loaded 2-core
 * machine once took longer than 20 s, so the budget is what the runner's 30 s deadline leaves
 * after one more attempt's timeout.
 */
const ADMIN_BUDGET_MS = 25_000;
/** How often settle() looks at the cluster again, and retrying() asks again. */
export const SETTLE_CHECK_MS = 500;

/** The operation's value, asked again every half second until it answers or ADMIN_BUDGET_MS have passed. */
export async function retrying<T>(what: string, operation: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ADMIN_BUDGET_MS;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (Date.now() + SETTLE_CHECK_MS + ADMIN_TIMEOUT_MS >= deadline) throw new Error(`${what} failed: ${describeError(error)}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_CHECK_MS));
    }
  }
}

/**
 * A client connection. It pings every second and counts the server gone after two missed pongs,
 * so a paused server (SIGSTOP keeps its sockets open) is left within about three seconds instead
 * of the default two minutes; it reconnects forever, every 250 ms, to whichever server answers;
 * and it ignores the servers' own lists of client URLs, so a producer behind the drop-acks proxy
 * never learns the servers' real ports.
 */
export async function connectClient(base: NodeConnectionOptions, name: string): Promise<NatsConnection> {
  return connect({
    ...base,
    name,
    pingInterval: 1_000,
    maxPingOut: 2,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ignoreClusterUpdates: true,
    timeout: ADMIN_TIMEOUT_MS,
  });
}
