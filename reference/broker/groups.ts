// The reference broker's group coordinator: consumer groups with generations, an assignment of
// the input topic's partitions, committed offsets and session timeouts. It is apart from the
// cluster because it shares none of the log's state: it reads the partitions' numbers, keeps
// time and draws nothing, so the replicated log reads without it and it reads without the log.
// Like Kafka's, it is reached on the controller's endpoint (Cluster.controllerEndpoint), which
// this model keeps always available.

import type { Defects } from './defects.js';
import type { Simulation } from '../substrate/sim.js';
import { fmt, TIMING, type ErrorCode, type PartitionState } from './state.js';

interface GroupMember {
  lastSeenMs: number;
}

class Group {
  generation = 0;
  readonly members = new Map<string, GroupMember>();
  assignment = new Map<string, number[]>();
  readonly committed = new Map<number, number>();
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly sim: Simulation,
    private readonly info: (source: string, message: string) => void,
    private readonly defects: Defects,
    /** The input topic's partitions, which rebalances assign. */
    private readonly inputPartitions: () => readonly PartitionState[],
  ) {}

  group(name: string): Group {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = new Group();
      this.groups.set(name, group);
      this.groupCheckLoop(name, group);
    }
    return group;
  }

  /** Joins or heartbeats; returns the member's generation and assigned partitions. */
  heartbeat(groupName: string, memberId: string): { generation: number; partitions: readonly number[] } {
    const group = this.group(groupName);
    const member = group.members.get(memberId);
    if (member === undefined) {
      group.members.set(memberId, { lastSeenMs: this.sim.now });
      this.rebalance(groupName, group, `${memberId} joined`);
    } else member.lastSeenMs = this.sim.now;
    return { generation: group.generation, partitions: group.assignment.get(memberId) ?? [] };
  }

  /** A background heartbeat: keeps a member's session alive without joining the group. */
  touch(groupName: string, memberId: string): void {
    const member = this.group(groupName).members.get(memberId);
    if (member !== undefined) member.lastSeenMs = this.sim.now;
  }

  leave(groupName: string, memberId: string): void {
    const group = this.group(groupName);
    if (group.members.delete(memberId)) this.rebalance(groupName, group, `${memberId} left`);
  }

  commit(groupName: string, memberId: string, generation: number, offsets: ReadonlyMap<number, number>): ErrorCode | null {
    const refused = this.checkMember(groupName, memberId, generation, offsets);
    if (refused === null) this.storeOffsets(groupName, offsets);
    return refused;
  }

  /** Whether a member of this generation owns these partitions and may commit their offsets. */
  checkMember(
    groupName: string,
    memberId: string,
    generation: number,
    offsets: ReadonlyMap<number, number>,
  ): ErrorCode | null {
    const group = this.group(groupName);
    if (!group.members.has(memberId)) return 'UNKNOWN_MEMBER_ID';
    if (generation !== group.generation) return 'REBALANCE_IN_PROGRESS';
    const owned = group.assignment.get(memberId) ?? [];
    for (const p of offsets.keys()) if (!owned.includes(p)) return 'REBALANCE_IN_PROGRESS';
    return null;
  }

  /** Stores committed offsets: from a member's commit, or from a committed transaction. */
  storeOffsets(groupName: string, offsets: ReadonlyMap<number, number>): void {
    const group = this.group(groupName);
    const skew = this.defects.has('commit-off-by-one') ? 1 : 0;
    for (const [p, offset] of offsets) group.committed.set(p, offset + skew);
  }

  committed(groupName: string): Map<number, number> {
    return new Map(this.group(groupName).committed);
  }

  private rebalance(groupName: string, group: Group, why: string): void {
    group.generation++;
    const members = [...group.members.keys()].sort();
    const assignment = new Map<string, number[]>(members.map((m) => [m, []]));
    for (const part of this.inputPartitions()) {
      const member = members[part.index % Math.max(1, members.length)];
      if (member !== undefined) assignment.get(member)?.push(part.index);
    }
    group.assignment = assignment;
    this.info(
      `group-${groupName}`,
      `generation ${group.generation} after ${why}: ${members.map((m) => `${m}=${fmt(assignment.get(m) ?? [])}`).join(' ') || 'no members'}`,
    );
  }

  private groupCheckLoop(groupName: string, group: Group): void {
    this.sim.schedule(TIMING.groupCheckIntervalMs, () => {
      const now = this.sim.now;
      const expired = [...group.members].filter(([, m]) => now - m.lastSeenMs > TIMING.consumerSessionTimeoutMs);
      for (const [id] of expired) group.members.delete(id);
      if (expired.length > 0) this.rebalance(groupName, group, `${expired.map(([id]) => id).join(', ')} timed out`);
      this.groupCheckLoop(groupName, group);
    });
  }
}
