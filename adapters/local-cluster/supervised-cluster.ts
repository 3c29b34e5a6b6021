// The part of a local cluster that does not depend on the broker: a set of node processes on
// loopback, owned by this process or detached from it, recorded in state.json, with faults that
// wait for their effect to be real before they resolve (a killed node is gone, a paused node is
// stopped by the kernel, a started node serves). Each broker's cluster module extends the class
// with what only it knows: the command line of a node, how to ask a node whether it serves, and
// what its public view of a node holds.

import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { ResultPromise } from 'execa';
import { ClusterError } from './errors.js';
import { endWithProcess, outliveProcess, type KillableNow } from './exit-handlers.js';
import { logTail } from './logs.js';
import { processCondition, signal, waitForCondition } from './processes.js';
import { reap } from './reuse.js';
import { statePath, writeState } from './state-file.js';
import type { BrokerProfile, SupervisedNode, SupervisedState, SupervisionSettings } from './types.js';
import { spawnDetached, spawnWatched, type Launch } from './watchdog.js';

export type { BrokerProfile, LocalClusterHandle, NodeState, SupervisedNode, SupervisedState, SupervisionSettings } from './types.js';
export { attachExisting, observedNode, reap, type Attachment } from './reuse.js';

/** Between two readiness rounds; each round is itself a real request with its own deadline. */
const READY_POLL_INTERVAL_MS = 250;

export async function nodeLogTail<N extends SupervisedNode>(profile: BrokerProfile<N>, node: N): Promise<string> {
  return logTail(profile.logFiles(node), `(node ${node.id} wrote no log in ${node.dir})`);
}

export abstract class SupervisedCluster<N extends SupervisedNode, S extends SupervisedState<N>, View>
  implements KillableNow
{
  /** The watchdog shells of owned nodes, by node id; they end when their node ends. */
  private readonly watchdogs = new Map<number, ResultPromise>();
  /**
   * The nodes that should be up: started or resumed here, or found alive on attach, and neither
   * killed nor stopped since. A node in this set that is found dead has crashed, which waitReady
   * reports at once with the node's log instead of waiting out its deadline.
   */
  private readonly expectedUp = new Set<number>();
  protected released = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    protected readonly profile: BrokerProfile<N>,
    protected readonly state: S,
    protected readonly settings: SupervisionSettings,
    readonly owned: boolean,
    readonly reused: boolean,
  ) {
    for (const node of state.nodes) {
      this.refresh(node);
      if (node.pid !== null) this.expectedUp.add(node.id);
    }
  }

  /** The command line of a node; may prepare its folder first. */
  protected abstract launch(node: N): Promise<Omit<Launch, 'label' | 'what'>>;

  /** One readiness check of one node: undefined when it serves, or what is still missing. */
  protected abstract probe(node: N, runningIds: readonly number[], deadline: number): Promise<string | undefined>;

  /** The public view of a node, taken after refresh. */
  protected abstract view(node: N): View;

  get dataDir(): string {
    return this.settings.dataDir;
  }

  get host(): string {
    return this.state.host;
  }

  get nodes(): readonly View[] {
    return this.state.nodes.map((node) => this.snapshot(node));
  }

  node(id: number): View {
    return this.snapshot(this.stateNode(id));
  }

  protected stateNode(id: number): N {
    const node = this.state.nodes.find((candidate) => candidate.id === id);
    if (node === undefined) {
      throw new ClusterError(`no node ${id}; this cluster has nodes ${this.state.nodes.map((n) => n.id).join(', ')}`);
    }
    return node;
  }

  /** Brings the recorded state up to date with the process table: a node may have died alone. */
  protected refresh(node: N): void {
    if (node.pid === null) return;
    const condition = processCondition(node.pid, this.profile.markers(node));
    if (condition === 'gone') {
      node.pid = null;
      node.state = 'stopped';
    } else {
      node.state = condition;
    }
  }

  private snapshot(node: N): View {
    this.refresh(node);
    return this.view(node);
  }

  /**
   * Writes state.json. Writes go one at a time, each with the state as it is by then: nodes
   * started side by side (an adapter restarts every crashed node at once when it heals) save
   * concurrently, and two writes through the one temporary file would trip over each other.
   */
  private save(): Promise<void> {
    const written = this.saving.then(() => (this.released ? undefined : writeState(this.settings.dataDir, this.state)));
    this.saving = written.catch(() => undefined);
    return written;
  }

  /** Starts a node's process and records its pid; does not wait for it to serve. */
  async spawn(node: N): Promise<void> {
    const launch: Launch = {
      ...(await this.launch(node)),
      label: `${this.profile.name.toLowerCase()}-node`,
      what: `node ${node.id}`,
    };
    if (this.state.detached) {
      node.pid = await spawnDetached(launch);
    } else {
      const { pid, watchdog } = await spawnWatched(launch);
      this.watchdogs.set(node.id, watchdog);
      node.pid = pid;
    }
    node.state = 'running';
    this.expectedUp.add(node.id);
    await this.save();
  }

  /** Waits until the node's process is gone and, when owned, its watchdog has reaped it. */
  private async waitGone(node: N, timeoutMs: number): Promise<boolean> {
    const gone = await waitForCondition(node.pid, this.profile.markers(node), (condition) => condition === 'gone', timeoutMs);
    if (gone) {
      const watchdog = this.watchdogs.get(node.id);
      if (watchdog !== undefined) {
        // The watchdog itself is unreferenced, so this timer is what keeps the process alive
        // meanwhile; it is cancelled as soon as the watchdog ends, so a stopped cluster does not
        // keep its owner alive for timeoutMs either.
        const timer = new AbortController();
        const expired = delay(timeoutMs, undefined, { signal: timer.signal }).catch(() => undefined);
        await Promise.race([watchdog, expired]);
        timer.abort();
        this.watchdogs.delete(node.id);
      }
      node.pid = null;
      node.state = 'stopped';
    }
    return gone;
  }

  /** SIGKILL: the node dies at once, as in a power cut. Resolves once the process is gone. */
  async kill(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.expectedUp.delete(id);
    this.refresh(node);
    if (node.pid === null) return;
    signal(node.pid, 'SIGKILL');
    if (!(await this.waitGone(node, this.settings.stopTimeoutMs))) {
      throw new ClusterError(`node ${id} (pid ${node.pid}) survived SIGKILL for ${this.settings.stopTimeoutMs} ms`);
    }
    await this.save();
  }

  /** SIGTERM and wait for the node's own shutdown; SIGKILL once stopTimeoutMs has passed. */
  async stop(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.expectedUp.delete(id);
    this.refresh(node);
    if (node.pid === null) return;
    signal(node.pid, 'SIGTERM');
    // A paused process would keep the SIGTERM pending forever; it must run to shut down.
    if (node.state === 'paused') signal(node.pid, 'SIGCONT');
    if (!(await this.waitGone(node, this.settings.stopTimeoutMs))) {
      this.settings.log(`node ${id} did not stop within ${this.settings.stopTimeoutMs} ms of SIGTERM; killing it`);
      if (node.pid !== null) signal(node.pid, 'SIGKILL');
      if (!(await this.waitGone(node, this.settings.stopTimeoutMs))) {
        throw new ClusterError(`node ${id} (pid ${node.pid}) survived SIGKILL`);
      }
    }
    await this.save();
  }

  /** Starts a stopped node on its old data and waits until the cluster serves with it. */
  async start(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.refresh(node);
    if (node.state === 'paused') throw new ClusterError(`node ${id} is paused; resume it instead of starting it`);
    if (node.state === 'stopped') await this.spawn(node);
    await this.waitReady();
  }

  /** SIGSTOP: the node freezes with its sockets open, as in a long GC pause or a hung disk. */
  async pause(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.refresh(node);
    if (node.pid === null) throw new ClusterError(`node ${id} is stopped; there is nothing to pause`);
    signal(node.pid, 'SIGSTOP');
    // The kernel stops the process asynchronously; resolve only once it really is stopped.
    const markers = this.profile.markers(node);
    if (!(await waitForCondition(node.pid, markers, (condition) => condition !== 'running', this.settings.stopTimeoutMs))) {
      throw new ClusterError(`node ${id} did not stop on SIGSTOP`);
    }
    this.refresh(node);
    await this.save();
  }

  /** SIGCONT: a paused node carries on. */
  async resume(id: number): Promise<void> {
    const node = this.stateNode(id);
    this.refresh(node);
    if (node.pid === null) throw new ClusterError(`node ${id} is stopped; start it instead of resuming it`);
    signal(node.pid, 'SIGCONT');
    await waitForCondition(node.pid, this.profile.markers(node), (condition) => condition !== 'paused', this.settings.stopTimeoutMs);
    this.refresh(node);
    await this.save();
  }

  /**
   * Polls until every running node passes the broker's probe. Each round is a real request with
   * its own deadline; the pause between rounds only keeps the polling from eating a core.
   */
  async waitReady(timeoutMs: number = this.settings.readyTimeoutMs): Promise<void> {
    await this.waitReadyUntil(Date.now() + timeoutMs, timeoutMs);
  }

  /** waitReady with a deadline that may have started earlier, such as before formatting. */
  async waitReadyUntil(deadline: number, budgetMs: number): Promise<void> {
    const problems = new Map<number, string>();
    const name = this.profile.name;
    for (;;) {
      // A wait still going when the cluster is stopped (a restart the adapter did not wait out)
      // ends with it, rather than polling stopped nodes until its deadline and keeping the
      // process alive meanwhile.
      if (this.released) throw new ClusterError(`the ${name} cluster in ${this.settings.dataDir} was stopped while waiting for it`);
      for (const node of this.state.nodes) this.refresh(node);
      const crashed = this.state.nodes.find((node) => node.state === 'stopped' && this.expectedUp.has(node.id));
      if (crashed !== undefined) {
        throw new ClusterError(`${name} node ${crashed.id} exited on its own.\n${await nodeLogTail(this.profile, crashed)}`);
      }
      // A paused node cannot answer; the others are checked without it.
      const running = this.state.nodes.filter((node) => node.state === 'running');
      const runningIds = running.map((node) => node.id);
      const rounds = await Promise.all(
        running.map(async (node) => ({ node, problem: await this.probe(node, runningIds, deadline) })),
      );
      problems.clear();
      for (const { node, problem } of rounds) if (problem !== undefined) problems.set(node.id, problem);
      if (problems.size === 0) return;
      if (Date.now() >= deadline) {
        const details: string[] = [];
        for (const [id, problem] of problems) {
          details.push(`node ${id}: ${problem}\n${await nodeLogTail(this.profile, this.stateNode(id))}`);
        }
        throw new ClusterError(`the ${name} cluster in ${this.settings.dataDir} was not ready within ${budgetMs} ms\n${details.join('\n')}`);
      }
      await delay(READY_POLL_INTERVAL_MS);
    }
  }

  /**
   * Undoes every node fault: resumes paused nodes, starts stopped ones, and waits until the
   * cluster serves with all of them. Says what it did, such as "started node 2".
   */
  async heal(): Promise<readonly string[]> {
    const done: string[] = [];
    for (const node of this.state.nodes) {
      this.refresh(node);
      if (node.state === 'paused') {
        await this.resume(node.id);
        done.push(`resumed node ${node.id}`);
      } else if (node.state === 'stopped') {
        await this.spawn(node);
        done.push(`started node ${node.id}`);
      }
    }
    await this.waitReady();
    return done;
  }

  /** Stops every node (SIGTERM, then SIGKILL at the deadline) and forgets the state file. */
  async stopAll(): Promise<void> {
    // All nodes at once: stopping them one by one would make each survivor elect new leaders
    // for what the node that just left led, for nothing.
    const outcomes = await Promise.allSettled(this.state.nodes.map((node) => this.stop(node.id)));
    this.released = true;
    this.disown();
    await rm(statePath(this.settings.dataDir), { force: true });
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  /** Ends this process's use: stops an owned cluster, leaves a reused or detached one running. */
  async release(): Promise<void> {
    if (this.owned) await this.stopAll();
    else this.released = true;
  }

  /** Called from exit and signal handlers: SIGKILL every node now, without waiting. */
  killNow(): void {
    for (const node of this.state.nodes) {
      if (node.pid !== null && processCondition(node.pid, this.profile.markers(node)) !== 'gone') signal(node.pid, 'SIGKILL');
    }
    rmSync(statePath(this.settings.dataDir), { force: true });
  }

  /** Marks this cluster as one to end with the process. */
  adopt(): void {
    endWithProcess(this);
  }

  /** Lets this cluster outlive the process: a detached cluster once it started, or a stopped one. */
  disown(): void {
    outliveProcess(this);
  }

  /**
   * Spawns every node of a fresh cluster and waits until all serve. Even a detached cluster
   * belongs to this process until it is ready: a start interrupted by Ctrl-C must not leave half
   * a cluster behind, and nothing of a failed start stays behind, detached or not.
   */
  async bringUp(deadline: number): Promise<void> {
    this.adopt();
    try {
      for (const node of this.state.nodes) await this.spawn(node);
      this.settings.log(
        `started ${this.state.nodes.length} ${this.profile.processNoun} (pids ${this.state.nodes.map((node) => node.pid).join(', ')}); ` +
          'waiting until they serve',
      );
      await this.waitReadyUntil(deadline, this.settings.readyTimeoutMs);
    } catch (error) {
      this.killNow();
      await reap(this.profile, this.state, this.settings.stopTimeoutMs).catch(() => undefined);
      await this.stopAll().catch(() => undefined);
      throw error;
    }
    if (this.settings.detached) this.disown();
  }
}
