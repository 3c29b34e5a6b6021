// Broker faults, resolved once for every adapter. A scenario names its targets by role (`leader`,
// `follower`, `followers`, `any`, `crashed`, `paused`, `coordinator`) or by broker index, and
// splits the nodes of a network partition by a name (`isolate-leader`, `majority-minority`) or
// by groups of indices; which nodes those are, whether there are any, and what was done to them
// are the same questions on every broker, so they are answered here. An adapter only exposes its
// nodes (adapters/contract.ts, NodeControl): their states, a look at a shard's roles, and the
// primitive acts (kill, start, pause, resume, and the optional ones it declared, such as cutting
// the links between groups of nodes).

import type { NodeControl, NodeState, ShardObservation } from '../../adapters/contract.js';
import { isNodeGroups, type FaultTarget } from '../../spec/scenario.js';
import type { BrokerTarget, FaultKind } from '../../spec/vocabulary.js';

/** A broker fault to inject. Consumer and producer crashes belong to the runner's actors. */
export interface BrokerFault {
  readonly do: Exclude<FaultKind, 'crash-consumer' | 'crash-producer'>;
  /** What the fault acts on: a broker target, or for partition how to split the nodes; absent for heal. */
  readonly target?: FaultTarget;
  /** The partition whose leader or follower the target names (for isolate-leader, whose leader is cut off). */
  readonly partition: number;
  /** For drop-acks: how many acknowledgments to lose. */
  readonly count: number;
  /**
   * For stall-replication: how long the stalled followers stop fetching, capped by the adapter's
   * safe bound (short enough that they stay registered and in the ISR). Absent: that bound.
   */
  readonly durationMs?: number;
}

/** The sentence a fault ends with when it found nothing to act on; the runner notes those. */
export function nothingTo(why: string, fault: Pick<BrokerFault, 'do'>): string {
  return `${why}: nothing to ${fault.do}`;
}

/** Injects the scenario's broker faults through an adapter's nodes, and heals them at the end. */
export class FaultDriver {
  /** Node ids in the order they were crashed or paused; `crashed` and `paused` name the last. */
  private readonly crashed: number[] = [];
  private readonly paused: number[] = [];
  /** The groups of the network partition in force, if one is. */
  private cutGroups: readonly (readonly number[])[] | undefined;

  constructor(
    private readonly nodes: NodeControl,
    /** Records an info line in the history. */
    private readonly info: (source: string, message: string) => void,
  ) {}

  /**
   * Injects a fault and says, in a short phrase, what it did. Before it acts it records the
   * fault's shard as the adapter sees it (leader, in-sync replicas, each replica's log end), so
   * that a control that missed its anomaly can be diagnosed from the history.
   */
  async inject(fault: BrokerFault): Promise<string> {
    const nodes = this.nodes;
    const needsRoles = ['leader', 'follower', 'followers', 'isolate-leader'].includes(String(fault.target));
    const seen = await nodes.observe(fault.partition, needsRoles);
    this.info('replicas', `before ${fault.do}: ${seen.description}`);
    if (fault.do === 'stall-replication') return this.stall(fault, seen);
    if (fault.do === 'partition') return this.partition(fault, seen);
    if (fault.do === 'heal') return this.healNetwork();
    const target = await this.resolve(fault, seen);
    if (typeof target === 'string') return target;
    const name = `${nodes.noun} ${target}${describeRole(target, seen)}`;
    const state = this.stateOf(target);
    switch (fault.do) {
      case 'crash-broker':
      case 'power-loss': {
        if (state === 'crashed') return nothingTo(`${nodes.noun} ${target} is already down`, fault);
        const how = fault.do === 'crash-broker' ? await nodes.kill(target) : await this.require(nodes.powerLoss, fault.do)(target);
        this.forget(target);
        this.crashed.push(target);
        return fault.do === 'crash-broker' ? `crashed ${name}${how}` : `${name} lost power: ${how}`;
      }
      case 'restart-broker': {
        if (state !== 'crashed') return nothingTo(`${nodes.noun} ${target} is ${state}`, fault);
        this.forget(target);
        return `restarted ${name}${await nodes.start(target)}`;
      }
      case 'pause-broker': {
        if (state !== 'running') return nothingTo(`${nodes.noun} ${target} is ${state}`, fault);
        const how = await nodes.pause(target);
        this.paused.push(target);
        return `paused ${name}${how}`;
      }
      case 'resume-broker': {
        if (state !== 'paused') return nothingTo(`${nodes.noun} ${target} is ${state}`, fault);
        const how = await nodes.resume(target);
        this.forget(target);
        return `resumed ${name}${how}`;
      }
      case 'drop-acks':
        return `${name} ${await this.require(nodes.dropAcks, fault.do)(target, fault.count)}`;
    }
  }

  /**
   * Undoes every fault still in force: first the network partition, so that every node can reach
   * every other again, then node by node: ends stalls and lost acks, resumes, restarts.
   */
  async healAll(): Promise<readonly string[]> {
    // What was done, in node order; a restart's words come when it has waited for its node.
    const done: (string | Promise<string>)[] = [];
    if (this.cutGroups !== undefined) done.push(await this.healNetwork());
    for (const { id } of this.nodes.nodes()) {
      done.push(...(await this.nodes.clear(id)));
      // The state after clearing: ending a stall may resume a node, or leave it paused.
      const state = this.stateOf(id);
      if (state === 'paused') {
        await this.nodes.resume(id);
        done.push(`resumed ${this.nodes.noun} ${id}`);
      } else if (state === 'crashed') {
        // Restarts go on together: on a real cluster each waits a while for its node to serve.
        done.push(this.nodes.start(id).then((how) => `restarted ${this.nodes.noun} ${id}${how}`));
      }
    }
    const said = await Promise.all(done);
    this.crashed.length = 0;
    this.paused.length = 0;
    return said;
  }

  /** Stops the targeted followers' replication for the fault's duration, capped by the adapter's safe bound. */
  private async stall(fault: BrokerFault, seen: ShardObservation): Promise<string> {
    const nodes = this.nodes;
    const stall = this.require(nodes.stall, fault.do);
    let targets: number[];
    if (fault.target === 'followers') {
      const followers = this.liveFollowers(fault, seen);
      if (typeof followers === 'string') return followers;
      targets = followers;
    } else {
      const one = await this.resolve(fault, seen);
      if (typeof one === 'string') return one;
      targets = this.stateOf(one) === 'running' ? [one] : [];
    }
    if (targets.length === 0) return nothingTo(`partition ${fault.partition} has no live follower`, fault);
    const stallMaxMs = nodes.stallMaxMs ?? 0;
    const asked = fault.durationMs ?? stallMaxMs;
    const durationMs = Math.min(asked, stallMaxMs);
    const how = await stall(targets, durationMs);
    const capped = asked > durationMs ? ` (asked ${asked} ms, capped at the safe bound)` : '';
    const plural = targets.length > 1 ? 's' : '';
    return `stalled replication to ${nodes.noun}${plural} ${targets.join(', ')}${how.means} for ${durationMs} ms${capped}${how.then}`;
  }

  /**
   * Cuts the network into the fault's groups, resolved here from its target: `isolate-leader` puts
   * the partition's leader alone, `majority-minority` draws a minority from the adapter's seeded
   * source, and explicit groups of indices get the unnamed nodes as one more group.
   */
  private async partition(fault: BrokerFault, seen: ShardObservation): Promise<string> {
    const cut = this.require(this.nodes.cut, fault.do);
    const split = this.splitOf(fault, seen);
    if (typeof split === 'string') return split;
    const how = await cut(split.groups);
    this.cutGroups = split.groups;
    const groups = split.groups.map((group) => `[${group.join(', ')}]`).join(' | ');
    return `partitioned ${this.nodes.noun}s ${groups}${split.why}${how}`;
  }

  /** The groups a partition fault's target names now, and why they are these, or why there are none. */
  private splitOf(fault: BrokerFault, seen: ShardObservation): { groups: number[][]; why: string } | string {
    const ids = this.nodes.nodes().map((node) => node.id);
    const target = fault.target;
    if (target === 'isolate-leader') {
      if (seen.shard === undefined) return nothingTo(`partition ${fault.partition} is unknown`, fault);
      const leader = seen.shard.leader;
      if (leader === null) return nothingTo(`partition ${fault.partition} has no leader`, fault);
      const others = ids.filter((id) => id !== leader);
      if (others.length === 0) return nothingTo(`${this.nodes.noun} ${leader} is the only one`, fault);
      return { groups: [[leader], others], why: ` (${this.nodes.noun} ${leader} leads partition ${fault.partition})` };
    }
    if (target === 'majority-minority') {
      // The largest minority: fewer than half of the nodes, so the rest are a majority.
      const size = Math.floor((ids.length - 1) / 2);
      if (size === 0) return nothingTo(`${ids.length} ${this.nodes.noun}${ids.length === 1 ? ' has' : 's have'} no minority`, fault);
      const majority = [...ids];
      const minority: number[] = [];
      while (minority.length < size) {
        const chosen = this.nodes.pick(majority);
        majority.splice(majority.indexOf(chosen), 1);
        minority.push(chosen);
      }
      minority.sort((a, b) => a - b);
      return { groups: [minority, majority], why: ` (the minority drawn at random)` };
    }
    if (!isNodeGroups(target)) throw new Error(`partition cannot split the ${this.nodes.noun}s by ${String(target)}`);
    const groups: number[][] = [];
    for (const group of target) {
      const members: number[] = [];
      for (const index of group) {
        const id = ids[index];
        if (id === undefined) return nothingTo(`there is no broker ${index}`, fault);
        members.push(id);
      }
      groups.push(members);
    }
    const named = new Set(groups.flat());
    const unnamed = ids.filter((id) => !named.has(id));
    return { groups: unnamed.length > 0 ? [...groups, unnamed] : groups, why: '' };
  }

  /** Restores every link the partition in force cut. */
  private async healNetwork(): Promise<string> {
    if (this.cutGroups === undefined) return nothingTo('no network partition is in force', { do: 'heal' });
    const how = await this.require(this.nodes.heal, 'heal')();
    this.cutGroups = undefined;
    return `healed the network partition${how}`;
  }

  /** The node a fault's target names now, or a sentence saying why there is none. */
  private async resolve(fault: BrokerFault, seen: ShardObservation): Promise<number | string> {
    const nodes = this.nodes;
    const all = nodes.nodes();
    const target = nodeTarget(fault);
    switch (target) {
      case 'leader':
        if (seen.shard === undefined) return nothingTo(`partition ${fault.partition} is unknown`, fault);
        return seen.shard.leader ?? nothingTo(`partition ${fault.partition} has no leader`, fault);
      case 'follower':
      case 'followers': {
        const followers = this.liveFollowers(fault, seen);
        if (typeof followers === 'string') return followers;
        return followers.length > 0 ? nodes.pick(followers) : nothingTo(`partition ${fault.partition} has no live follower`, fault);
      }
      case 'any': {
        const running = all.filter((node) => node.state === 'running').map((node) => node.id);
        return running.length > 0 ? nodes.pick(running) : nothingTo(`no live ${nodes.noun}`, fault);
      }
      case 'crashed':
        return this.crashed.at(-1) ?? nothingTo(`no crashed ${nodes.noun}`, fault);
      case 'paused':
        return this.paused.at(-1) ?? nothingTo(`no paused ${nodes.noun}`, fault);
      case 'coordinator':
        return (await nodes.coordinator()) ?? nothingTo('no transaction coordinator is in use', fault);
      default:
        // A number is a broker index as the scenario language counts them, from 0.
        return all[target]?.id ?? nothingTo(`there is no broker ${target}`, fault);
    }
  }

  /** The running replicas of the fault's shard but its leader, or why they are unknown. */
  private liveFollowers(fault: BrokerFault, seen: ShardObservation): number[] | string {
    if (seen.shard === undefined) return nothingTo(`partition ${fault.partition} is unknown`, fault);
    const { leader } = seen.shard;
    return seen.shard.replicas.filter((id) => id !== leader && this.stateOf(id) === 'running');
  }

  private stateOf(id: number): NodeState {
    const node = this.nodes.nodes().find((entry) => entry.id === id);
    if (node === undefined) throw new Error(`the adapter has no node ${id}`);
    return node.state;
  }

  private forget(id: number): void {
    for (const list of [this.crashed, this.paused]) {
      const at = list.indexOf(id);
      if (at >= 0) list.splice(at, 1);
    }
  }

  /** An optional act of the adapter's nodes, bound to them; a fault it did not declare is a bug of the caller. */
  private require<A extends unknown[], R>(act: ((...args: A) => R) | undefined, kind: BrokerFault['do']): (...args: A) => R {
    if (act === undefined) throw new Error(`the adapter's nodes cannot ${kind}`);
    return act.bind(this.nodes);
  }
}

/** The broker target of a fault that acts on nodes one by one; the loader gives no other such a fault. */
function nodeTarget(fault: BrokerFault): BrokerTarget | number {
  const target = fault.target;
  if (target === undefined || isNodeGroups(target) || target === 'isolate-leader' || target === 'majority-minority') {
    throw new Error(`${fault.do} cannot act on the target ${JSON.stringify(target)}`);
  }
  return target;
}

/** " (leader of partitions 0, 2)" for a node that leads shards at the moment seen, else "". */
function describeRole(node: number, seen: ShardObservation): string {
  const led = seen.leaders.filter((entry) => entry.leader === node).map((entry) => entry.label);
  return led.length > 0 ? ` (leader of partition${led.length > 1 ? 's' : ''} ${led.join(', ')})` : '';
}
