// Finding a cluster a previous process left in a data folder: reusing it when it was started
// detached, is healthy and has the layout asked for, and otherwise ending whatever is left of it,
// so a fresh start never finds its ports or its folders taken by a forgotten cluster.

import { rm } from 'node:fs/promises';
import { ClusterError } from './errors.js';
import { pidAlive, processCondition, signal, waitForCondition } from './processes.js';
import { readState, statePath } from './state-file.js';
import type { BrokerProfile, NodeState, SupervisedNode, SupervisedState, SupervisionSettings } from './types.js';

/** SIGKILLs what is left of a cluster nobody can use any more (its owner died, or it is replaced). */
export async function reap<N extends SupervisedNode>(
  profile: BrokerProfile<N>,
  state: SupervisedState<N>,
  timeoutMs: number,
): Promise<void> {
  for (const node of state.nodes) {
    if (node.pid !== null && processCondition(node.pid, profile.markers(node)) !== 'gone') signal(node.pid, 'SIGKILL');
  }
  for (const node of state.nodes) {
    if (!(await waitForCondition(node.pid, profile.markers(node), (condition) => condition === 'gone', timeoutMs))) {
      throw new ClusterError(`a leftover ${profile.name} node (pid ${node.pid}) survived SIGKILL`);
    }
  }
}

/** How attachExisting recognises and attaches to a cluster worth reusing. */
export interface Attachment<N extends SupervisedNode, S extends SupervisedState<N>, C> {
  /** True when the recorded cluster is the one the settings ask for (ports, folders, version). */
  sameLayout(state: S): boolean;
  /** A handle on the recorded cluster, neither owned nor started here. */
  attach(state: S): C & { heal(): Promise<readonly string[]> };
  /** How the log names the cluster's address, such as its bootstrap servers. */
  address(cluster: C): string;
}

/**
 * Tries to attach to the cluster state.json describes. Returns undefined when there is none worth
 * attaching to, after reaping whatever is left of it.
 */
export async function attachExisting<N extends SupervisedNode, S extends SupervisedState<N>, C>(
  profile: BrokerProfile<N>,
  settings: SupervisionSettings,
  attachment: Attachment<N, S, C>,
): Promise<C | undefined> {
  const name = profile.name;
  const existing = await readState<S>(settings.dataDir, profile.stateFormat);
  if (existing === undefined) return undefined;
  const alive = existing.nodes.filter((node) => node.pid !== null && processCondition(node.pid, profile.markers(node)) !== 'gone');
  if (alive.length > 0 && !existing.detached && existing.ownerPid !== process.pid && pidAlive(existing.ownerPid)) {
    throw new ClusterError(
      `the ${name} cluster in ${settings.dataDir} belongs to running process ${existing.ownerPid}; ` +
        'use another data folder and base port, or end that process',
    );
  }
  if (alive.length > 0 && existing.ownerPid === process.pid && !existing.detached) {
    throw new ClusterError(`this process already started the ${name} cluster in ${settings.dataDir}; use its handle`);
  }
  if (settings.reuse && existing.detached && alive.length > 0 && attachment.sameLayout(existing)) {
    const cluster = attachment.attach(existing);
    try {
      // A run that injected faults and then died may have left nodes paused or stopped.
      const healed = await cluster.heal();
      if (healed.length > 0) settings.log(`healed the running cluster: ${healed.join(', ')}`);
      settings.log(`reusing the ${name} cluster already running in ${settings.dataDir} (${attachment.address(cluster)})`);
      return cluster;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      settings.log(`the ${name} cluster in ${settings.dataDir} is not healthy (${reason}); replacing it`);
    }
  } else if (alive.length > 0) {
    settings.log(`stopping the ${name} cluster left in ${settings.dataDir} (pids ${alive.map((node) => node.pid).join(', ')})`);
  }
  await reap(profile, existing, settings.stopTimeoutMs);
  await rm(statePath(settings.dataDir), { force: true });
  return undefined;
}

/** A node's process and state as the process table shows them now, for a status command. */
export function observedNode<N extends SupervisedNode>(
  profile: BrokerProfile<N>,
  node: N,
): { readonly pid: number | null; readonly state: NodeState } {
  const condition = node.pid === null ? 'gone' : processCondition(node.pid, profile.markers(node));
  return { pid: condition === 'gone' ? null : node.pid, state: condition === 'gone' ? 'stopped' : condition };
}
