// What every local cluster's NodeControl does the same way, whatever the broker: the nodes'
// states as the harness names them, and the primitive acts (SIGKILL, a restart that waits a
// while for the node to serve, SIGSTOP, SIGCONT) through the cluster's handle. Each adapter adds
// what only its broker knows: how it finds a shard's roles, and its optional faults.

import type { Clock, NodeInfo } from '../contract.js';
import type { LocalClusterHandle } from './supervised-cluster.js';
import type { NodeState } from './types.js';

/** Resolves true when the promise resolves within the time, false when the time runs out first; rejects when it does. */
export async function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How long a restart waits for the node to serve before it reports the restart as done anyway.
 * The runner allows 30 s per fault; settle() waits for the rest.
 */
export const RESTART_WAIT_MS = 20_000;

/** The nodes of a local cluster, by node id, in the order of the scenario's broker indices: index i is node i + 1. */
export abstract class LocalNodeActs<H extends LocalClusterHandle<{ readonly id: number; readonly state: NodeState }>> {
  readonly noun = 'node';
  /** Restarts still waiting for their node to serve, which settle() waits for. */
  readonly starting = new Map<number, Promise<void>>();

  constructor(
    protected readonly cluster: H,
    /** Reports a fact for the history. */
    protected readonly info: (message: string) => void,
  ) {}

  nodes(): readonly NodeInfo[] {
    return this.cluster.nodes.map((node) => ({ id: node.id, state: node.state === 'stopped' ? 'crashed' : node.state }));
  }

  async kill(id: number): Promise<string> {
    await this.cluster.kill(id);
    return ' with SIGKILL';
  }

  /** Starts a crashed node and waits a while for it to serve; the start goes on in the background. */
  async start(id: number): Promise<string> {
    const starting = this.cluster.start(id);
    const tracked = starting.then(
      () => undefined,
      (error: unknown) => this.info(`node ${id} did not come back: ${error instanceof Error ? error.message : String(error)}`),
    );
    this.starting.set(id, tracked);
    void tracked.finally(() => {
      if (this.starting.get(id) === tracked) this.starting.delete(id);
    });
    if (await settlesWithin(starting, RESTART_WAIT_MS)) return '';
    return `; it was not serving yet after ${RESTART_WAIT_MS} ms`;
  }

  async pause(id: number): Promise<string> {
    await this.cluster.pause(id);
    return ' with SIGSTOP';
  }

  async resume(id: number): Promise<string> {
    await this.cluster.resume(id);
    return ' with SIGCONT';
  }

  /** Waits for the restarts still going on, until the deadline. */
  async awaitRestarts(deadlineMs: number): Promise<void> {
    for (const starting of this.starting.values()) {
      if (!(await settlesWithin(starting, deadlineMs - Date.now()))) return;
    }
  }
}

/**
 * The local cluster an adapter starts at its first open and keeps for every session of the
 * process. A failed start leaves nothing running (the cluster modules see to it), so the next
 * open tries again; release() stops an owned cluster and leaves a reused one running.
 */
export class ProcessCluster<H extends { release(): Promise<void> }> {
  private cluster: Promise<H> | undefined;

  constructor(private readonly startCluster: () => Promise<H>) {}

  get(): Promise<H> {
    this.cluster ??= this.startCluster().catch((error: unknown) => {
      this.cluster = undefined;
      throw error;
    });
    return this.cluster;
  }

  async release(): Promise<void> {
    const starting = this.cluster;
    this.cluster = undefined;
    const handle = await starting?.catch(() => undefined);
    await handle?.release();
  }
}

/** A real broker's session clock: the wall clock, in milliseconds since the session opened. */
export function wallClock(): Clock {
  const openedMs = performance.now();
  return {
    now: () => Math.round(performance.now() - openedMs),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
}
