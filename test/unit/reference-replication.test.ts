// Unit tests of the reference broker's replication: what each ack mode waits for, the high
// watermark, minInsync, leader crashes and elections (clean and unclean), ISR membership, paused
// leaders, lost acknowledgments, and recovery. Each test builds the exact situation a delivery
// guarantee depends on and checks the outcome in the replicas' logs, so that a change which
// breaks the model fails here before it silently changes what the suites prove.

import { describe, expect, it } from 'vitest';
import type { AckMode } from '../../spec/vocabulary.js';
import type { Session, StoredRecord, TopicSettings } from '../../adapters/contract.js';
import type { MessageRef } from '../../spec/history.js';
import { referenceAdapter } from '../../reference/adapter.js';
import { CLIENT_TIMING, ClientClosed } from '../../reference/client-requests.js';
import { ReferenceProducer } from '../../reference/clients.js';
import { BrokerError, Cluster, TIMING } from '../../reference/broker/cluster.js';
import type { LogRecord } from '../../reference/broker/log.js';
import { Simulation } from '../../reference/substrate/sim.js';
import { TransactionCoordinator } from '../../reference/broker/transactions.js';
import { FaultDriver } from '../../harness/conformance/faults.js';

const DEFAULT_TOPIC: TopicSettings = {
  name: 'orders',
  partitions: 1,
  replication: 3,
  minInsync: 2,
  uncleanElection: false,
};

interface Rig {
  readonly sim: Simulation;
  readonly cluster: Cluster;
  /** Producers need one for their producer ids, even when they are not idempotent. */
  readonly coordinator: TransactionCoordinator;
  /** Every info line the broker and the clients reported, prefixed by its source. */
  readonly info: string[];
}

/** A cluster driven directly, so a test can look at leaders, ISRs and logs. */
function rig(seed: number, topic: Partial<TopicSettings> = {}, brokers = 3): Rig {
  const sim = new Simulation(seed);
  const info: string[] = [];
  const cluster = new Cluster(sim, {
    brokers,
    topic: { ...DEFAULT_TOPIC, ...topic },
    info: (source, message) => info.push(`${source}: ${message}`),
  });
  return { sim, cluster, coordinator: new TransactionCoordinator(cluster), info };
}

function producer({ cluster, coordinator, info }: Rig, ack: AckMode, retries = 0, index = 0): ReferenceProducer {
  return new ReferenceProducer(
    cluster,
    coordinator,
    { index, topic: 'input', ack, retries, idempotent: false },
    (source, message) => info.push(`${source}: ${message}`),
  );
}

function message(id: string, seq = 0, key = 'key'): MessageRef {
  return { id, producer: 0, seq, key };
}

function leaderOf(cluster: Cluster, p = 0): number {
  const leader = cluster.partition(p).leader;
  if (leader === null) throw new Error(`partition ${p} has no leader`);
  return leader;
}

function followersOf(cluster: Cluster, p = 0): number[] {
  const part = cluster.partition(p);
  return part.replicas.filter((r) => r !== part.leader);
}

function ids(log: readonly LogRecord[]): string[] {
  return log.map((record) => record.id);
}

/** What a consumer or the drain can read: the leader's log below the high watermark. */
function readable(cluster: Cluster, p = 0): string[] {
  const leader = cluster.replica(leaderOf(cluster, p), p);
  return ids(leader.log.slice(0, leader.hw));
}

/** Opens a reference session the way the runner does, collecting its info lines. */
async function openSession(seed: number, topic: Partial<TopicSettings> = {}): Promise<{ session: Session; info: string[]; faults: FaultDriver }> {
  const info: string[] = [];
  const record = (source: string, text: string): void => void info.push(`${source}: ${text}`);
  const session = await referenceAdapter.open({
    seed,
    brokers: 3,
    topic: { ...DEFAULT_TOPIC, ...topic },
    defects: [],
    info: record,
  });
  if (session.nodes === undefined) throw new Error('the reference broker controls its nodes');
  return { session, info, faults: new FaultDriver(session.nodes, record) };
}

function offsetsOf(drained: readonly StoredRecord[], id: string): number[] {
  return drained.filter((record) => record.id === id).map((record) => record.offset);
}

describe('ack modes and the high watermark', { timeout: 10_000 }, () => {
  it('resolves an ack all send only after every ISR follower holds the record', async () => {
    const setup = rig(11);
    const { sim, cluster } = setup;
    const send = producer(setup, 'all');
    const part = cluster.partition(0);
    const violations: string[] = [];
    let resolved = 0;
    const sends: Promise<void>[] = [];
    // Sends overlap, so some resolve while later ones are still being replicated.
    for (let i = 0; i < 20; i++) {
      sends.push(
        send.send(message(`m${i}`, i)).then((result) => {
          resolved++;
          const offset = result.offset ?? -1;
          for (const member of part.isr) {
            const held = cluster.replica(member, 0).log[offset]?.id;
            if (held !== `m${i}`) violations.push(`m${i} at ${offset}: broker ${member} holds ${held ?? 'nothing'}`);
          }
        }),
      );
      await sim.sleep(0.5);
    }
    await Promise.all(sends);
    expect(resolved).toBe(20);
    // Every replica stayed in the ISR, so "every ISR follower" meant every replica here.
    expect(part.isr).toHaveLength(3);
    expect(violations).toEqual([]);
    sim.close();
  });

  it('keeps the high watermark at the smallest log end in the ISR, and raises it when a laggard leaves', async () => {
    const setup = rig(12);
    const { sim, cluster } = setup;
    const part = cluster.partition(0);
    const leader = cluster.replica(leaderOf(cluster), 0);
    const minIsrLeo = (): number => Math.min(...part.isr.map((member) => cluster.replica(member, 0).leo));
    // While writes stream in, the high watermark never passes a record some ISR member lacks.
    const all = producer(setup, 'all');
    const sends: Promise<unknown>[] = [];
    let exceeded = 0;
    for (let i = 0; i < 30; i++) {
      sends.push(all.send(message(`m${i}`, i)));
      await sim.sleep(0.25);
      if (leader.hw > minIsrLeo()) exceeded++;
    }
    await Promise.all(sends);
    expect(exceeded).toBe(0);
    await sim.sleep(TIMING.replicaFetchWaitMs * 2);
    expect(leader.hw).toBe(30);

    // A paused follower stays in the ISR for a while; the others copy new writes, yet the
    // high watermark waits for the paused one, the smallest log end in the ISR.
    const [paused, active] = followersOf(cluster) as [number, number];
    cluster.pause(paused);
    const leaderAcks = producer(setup, 'leader', 0, 1);
    for (let i = 30; i < 35; i++) await leaderAcks.send(message(`m${i}`, i));
    await sim.sleep(20);
    expect(part.isr).toContain(paused);
    expect(cluster.replica(active, 0).leo).toBe(35);
    expect(leader.hw).toBe(30);
    expect(leader.hw).toBe(minIsrLeo());

    // Once the paused follower is fenced out of the ISR, the smallest log end is the active one's.
    await sim.sleep(TIMING.brokerSessionTimeoutMs);
    expect(part.isr).not.toContain(paused);
    expect(leader.hw).toBe(35);
    expect(leader.hw).toBe(minIsrLeo());
    sim.close();
  });

  it('resolves an ack leader send before every follower holds the record', async () => {
    const setup = rig(13);
    const { sim, cluster } = setup;
    const send = producer(setup, 'leader');
    const followers = followersOf(cluster);
    let aheadOfAFollower = 0;
    for (let i = 0; i < 30; i++) {
      const result = await send.send(message(`m${i}`, i));
      const offset = result.offset ?? -1;
      // At the moment the client hears the acknowledgment, some follower may not hold the record.
      if (followers.some((f) => cluster.replica(f, 0).leo <= offset)) aheadOfAFollower++;
    }
    expect(aheadOfAFollower).toBeGreaterThan(0);
    // The followers do catch up afterwards: ack leader is a bet on timing, not a loss by design.
    await sim.sleep(TIMING.replicaFetchWaitMs * 2);
    for (const f of followers) expect(cluster.replica(f, 0).leo).toBe(30);
    sim.close();
  });
});

describe('minInsync', { timeout: 10_000 }, () => {
  /** Writes one record, then crashes a follower and waits until the controller fences it. */
  async function withFencedFollower(minInsync: number): Promise<{ setup: Rig; crashed: number; leoBefore: number }> {
    const setup = rig(21, { minInsync });
    const { sim, cluster } = setup;
    await producer(setup, 'all').send(message('before'));
    const crashed = followersOf(cluster)[0] as number;
    cluster.crash(crashed);
    await sim.sleep(TIMING.brokerSessionTimeoutMs + 50);
    expect(cluster.partition(0).isr).not.toContain(crashed);
    expect(cluster.partition(0).isr).toHaveLength(2);
    return { setup, crashed, leoBefore: cluster.replica(leaderOf(cluster), 0).leo };
  }

  it('rejects an ack all send with NOT_ENOUGH_REPLICAS and stores nothing when the ISR is below minInsync', async () => {
    const { setup, leoBefore } = await withFencedFollower(3);
    const { sim, cluster } = setup;
    const failing = producer(setup, 'all', 0, 1).send(message('refused'));
    await expect(failing).rejects.toBeInstanceOf(BrokerError);
    await expect(failing).rejects.toMatchObject({ code: 'NOT_ENOUGH_REPLICAS' });
    for (const r of cluster.partition(0).replicas) expect(ids(cluster.replica(r, 0).log)).not.toContain('refused');
    expect(cluster.replica(leaderOf(cluster), 0).leo).toBe(leoBefore);
    sim.close();
  });

  it('accepts an ack all send while the ISR still meets minInsync', async () => {
    const { setup, leoBefore } = await withFencedFollower(2);
    const { sim, cluster } = setup;
    const result = await producer(setup, 'all', 0, 1).send(message('accepted'));
    expect(result.offset).toBe(leoBefore);
    for (const member of cluster.partition(0).isr) {
      expect(cluster.replica(member, 0).log[leoBefore]?.id).toBe('accepted');
    }
    sim.close();
  });
});

describe('leader crash', { timeout: 10_000 }, () => {
  it('elects a new leader from the ISR, with a higher epoch, once the session timeout has passed', async () => {
    const { sim, cluster, info } = rig(31);
    const part = cluster.partition(0);
    await sim.sleep(10);
    const oldLeader = leaderOf(cluster);
    const isrBefore = [...part.isr];
    cluster.crash(oldLeader);
    await sim.sleep(TIMING.brokerSessionTimeoutMs - 1);
    // The controller has not noticed yet: the crashed broker still leads, in the old epoch.
    expect(part.leader).toBe(oldLeader);
    expect(part.epoch).toBe(0);
    await sim.sleep(2);
    const newLeader = leaderOf(cluster);
    expect(newLeader).not.toBe(oldLeader);
    expect(isrBefore).toContain(newLeader);
    expect(part.epoch).toBe(1);
    expect(part.isr).not.toContain(oldLeader);
    expect(info).toContain(`controller: fenced broker ${oldLeader}`);
    expect(info.some((line) => line.startsWith(`controller: partition 0: broker ${newLeader} leads epoch 1`))).toBe(true);
    sim.close();
  });

  it('loses an ack leader write the crashed leader never replicated: the old leader truncates it', async () => {
    const setup = rig(32);
    const { sim, cluster, info } = setup;
    const part = cluster.partition(0);
    const oldLeader = leaderOf(cluster);
    const followers = followersOf(cluster);
    await producer(setup, 'all').send(message('safe-0'));
    await producer(setup, 'all').send(message('safe-1', 1));
    // The followers die for a moment: they stay in the ISR, as the controller has not noticed,
    // but any record the leader hands them meanwhile dies with their process.
    for (const f of followers) cluster.crash(f);
    const doomed = await producer(setup, 'leader', 0, 1).send(message('doomed', 2));
    expect(doomed.offset).toBe(2);
    for (const f of followers) expect(ids(cluster.replica(f, 0).log)).toEqual(['safe-0', 'safe-1']);
    cluster.crash(oldLeader);
    for (const f of followers) cluster.restart(f);
    await sim.sleep(TIMING.brokerSessionTimeoutMs + 10);
    expect(followers).toContain(part.leader);
    expect(part.epoch).toBeGreaterThan(0);

    cluster.restart(oldLeader);
    await sim.sleep(300);
    expect(cluster.inSync()).toBe(true);
    expect(ids(cluster.replica(oldLeader, 0).log)).toEqual(['safe-0', 'safe-1']);
    expect(info).toContain(`broker-${oldLeader}: partition 0: truncated 1 records to offset 2`);
    expect(readable(cluster)).toEqual(['safe-0', 'safe-1']);
    sim.close();
  });

  it('keeps every acknowledged ack all write through a leader crash and restart', async () => {
    const { session, faults, info } = await openSession(33);
    const send = await session.producer({ index: 0, ack: 'all', retries: 10, topic: 'input', idempotent: false });
    const acknowledged: string[] = [];
    const sends: Promise<void>[] = [];
    let crashedAtAck = -1;
    for (let i = 0; i < 40; i++) {
      sends.push(
        send.send(message(`m${i}`, i)).then(
          () => void acknowledged.push(`m${i}`),
          () => undefined,
        ),
      );
      if (crashedAtAck < 0 && acknowledged.length >= 10) {
        crashedAtAck = acknowledged.length;
        await faults.inject({ do: 'crash-broker', target: 'leader', partition: 0, count: 0 });
      }
      await session.clock.sleep(2);
    }
    await Promise.all(sends);
    expect(crashedAtAck).toBeGreaterThan(0);
    // Writes were acknowledged after the crash too, by the new leader.
    expect(acknowledged.length).toBeGreaterThan(crashedAtAck + 10);
    expect(info.some((line) => line.includes('leads epoch 1'))).toBe(true);
    await faults.inject({ do: 'restart-broker', target: 'crashed', partition: 0, count: 0 });
    expect(await session.settle(5_000)).toBe(true);
    const stored = new Set((await session.drain()).map((record) => record.id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    await session.close();
  });
});

describe('unclean election', { timeout: 10_000 }, () => {
  /**
   * Leaves the only ISR member holding an acknowledged write its follower lacks, then loses it:
   * `early` reached both replicas, `late` only the leader, after the follower was fenced. The
   * follower comes back up just as the leader crashes, so when the controller notices the
   * leader is gone, the one live replica is out of sync.
   */
  async function lastIsrMemberCrashes(uncleanElection: boolean): Promise<Rig & { leader: number; follower: number }> {
    const setup = rig(41, { replication: 2, minInsync: 1, uncleanElection }, 2);
    const { sim, cluster } = setup;
    const leader = leaderOf(cluster);
    const follower = followersOf(cluster)[0] as number;
    await producer(setup, 'all').send(message('early'));
    cluster.crash(follower);
    await sim.sleep(TIMING.brokerSessionTimeoutMs + 10);
    expect(cluster.partition(0).isr).toEqual([leader]);
    await producer(setup, 'all', 0, 1).send(message('late', 1));
    expect(ids(cluster.replica(follower, 0).log)).toEqual(['early']);
    cluster.crash(leader);
    cluster.restart(follower);
    await sim.sleep(TIMING.brokerSessionTimeoutMs + 10);
    expect(cluster.broker(follower).state).toBe('up');
    expect(cluster.broker(follower).fenced).toBe(false);
    return { ...setup, leader, follower };
  }

  it('elects the out-of-sync replica when allowed, losing the acknowledged write it lacked', async () => {
    const { sim, cluster, info, leader, follower } = await lastIsrMemberCrashes(true);
    expect(cluster.partition(0).leader).toBe(follower);
    expect(cluster.partition(0).isr).toEqual([follower]);
    expect(info.some((line) => line.includes(`broker ${follower} leads epoch`) && line.includes('(unclean election)'))).toBe(true);
    expect(readable(cluster)).toEqual(['early']);
    // The old leader comes back as a follower and truncates the write to match: it is gone.
    cluster.restart(leader);
    await sim.sleep(200);
    expect(cluster.partition(0).leader).toBe(follower);
    expect(ids(cluster.replica(leader, 0).log)).toEqual(['early']);
    sim.close();
  });

  it('lets the only ISR member lead again when it restarts before the session timeout, even when unclean election is allowed', async () => {
    // A crash keeps the log. When the only ISR member is back and registers, it is eligible, so
    // there is no reason for an unclean election; electing the stale replica instead loses the
    // acknowledged write although no replica holding it is gone.
    const setup = rig(42, { replication: 2, minInsync: 1, uncleanElection: true }, 2);
    const { sim, cluster, info } = setup;
    const leader = leaderOf(cluster);
    const follower = followersOf(cluster)[0] as number;
    await producer(setup, 'all').send(message('early'));
    cluster.crash(follower);
    await sim.sleep(TIMING.brokerSessionTimeoutMs + 10);
    expect(cluster.partition(0).isr).toEqual([leader]);
    await producer(setup, 'all', 0, 1).send(message('late', 1));
    cluster.crash(leader);
    cluster.restart(follower);
    cluster.restart(leader);
    await sim.sleep(TIMING.brokerRegistrationMs + 30);
    expect(info.some((line) => line.includes('unclean'))).toBe(false);
    expect(cluster.partition(0).leader).toBe(leader);
    expect(readable(cluster)).toEqual(['early', 'late']);
    sim.close();
  });

  it('keeps the partition offline until the last ISR member returns when not allowed', async () => {
    const { sim, cluster, info, leader } = await lastIsrMemberCrashes(false);
    expect(cluster.partition(0).leader).toBeNull();
    // The crashed leader stays the ISR's one member, the only replica that may lead again.
    expect(cluster.partition(0).isr).toEqual([leader]);
    expect(cluster.highWatermarks().get(0)).toBe(0);
    expect(info).toContain('controller: partition 0: offline, no eligible replica (ISR [' + leader + '])');
    expect(info.some((line) => line.includes('unclean'))).toBe(false);
    await sim.sleep(500);
    expect(cluster.partition(0).leader).toBeNull();
    cluster.restart(leader);
    await sim.sleep(TIMING.brokerRegistrationMs + 30);
    expect(cluster.partition(0).leader).toBe(leader);
    expect(readable(cluster)).toEqual(['early', 'late']);
    sim.close();
  });
});

describe('ISR membership', { timeout: 10_000 }, () => {
  it('drops a paused follower from the ISR after the session timeout and takes it back once resumed and caught up', async () => {
    const setup = rig(51);
    const { sim, cluster, info } = setup;
    const part = cluster.partition(0);
    const leader = cluster.replica(leaderOf(cluster), 0);
    const paused = followersOf(cluster)[0] as number;
    const pausedReplica = cluster.replica(paused, 0);
    const send = producer(setup, 'leader');
    await sim.sleep(10);
    cluster.pause(paused);
    const pausedAt = sim.now;
    // Writes go on meanwhile, so the paused follower falls behind and must catch up later.
    for (let i = 0; part.isr.includes(paused); i++) {
      await send.send(message(`while-paused-${i}`, i));
      await sim.sleep(5);
    }
    const outAfter = sim.now - pausedAt;
    expect(outAfter).toBeGreaterThanOrEqual(TIMING.brokerSessionTimeoutMs);
    expect(outAfter).toBeLessThan(TIMING.brokerSessionTimeoutMs + 10);
    expect(info.some((line) => line.startsWith('controller: partition 0: ISR shrank'))).toBe(true);

    // However long it stays paused, it does not come back by itself.
    for (let i = 0; i < 10; i++) await send.send(message(`later-${i}`, 100 + i));
    await sim.sleep(TIMING.replicaLagMaxMs);
    expect(part.isr).not.toContain(paused);
    expect(pausedReplica.leo).toBeLessThan(leader.leo);

    cluster.resume(paused);
    const resumedAt = sim.now;
    while (!part.isr.includes(paused)) {
      await sim.sleep(1);
      expect(sim.now - resumedAt).toBeLessThan(500);
    }
    // It must register before it may rejoin, and it rejoins only with everything below the HW.
    expect(sim.now - resumedAt).toBeGreaterThanOrEqual(TIMING.brokerRegistrationMs);
    expect(pausedReplica.leo).toBeGreaterThanOrEqual(leader.hw);
    expect(info.some((line) => line.includes(`broker ${paused} rejoined the ISR`))).toBe(true);
    await sim.sleep(50);
    expect(ids(pausedReplica.log)).toEqual(ids(leader.log));
    sim.close();
  });

  it('fences a broker paused twice only a session timeout after its second pause', async () => {
    // The session timeout counts from the last time the broker was heard from. A broker that
    // was paused, resumed and paused again was alive in between, so the timer of its first
    // pause must not fence it.
    const { sim, cluster } = rig(52);
    const follower = followersOf(cluster)[0] as number;
    cluster.pause(follower);
    await sim.sleep(TIMING.brokerSessionTimeoutMs - 50);
    cluster.resume(follower);
    await sim.sleep(40);
    cluster.pause(follower);
    await sim.sleep(20);
    // 160 ms after the first pause, only 20 ms into the second.
    expect(cluster.broker(follower).fenced).toBe(false);
    expect(cluster.partition(0).isr).toContain(follower);
    await sim.sleep(TIMING.brokerSessionTimeoutMs);
    expect(cluster.broker(follower).fenced).toBe(true);
    sim.close();
  });
});

describe('paused leader', { timeout: 10_000 }, () => {
  it('times a request to a paused leader out at the client with REQUEST_TIMED_OUT', async () => {
    const setup = rig(61);
    const { sim, cluster } = setup;
    await sim.sleep(10);
    cluster.pause(leaderOf(cluster));
    const startedAt = sim.now;
    const failing = producer(setup, 'leader').send(message('unanswered'));
    await expect(failing).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
    expect(sim.now - startedAt).toBeGreaterThanOrEqual(CLIENT_TIMING.requestTimeoutMs);
    sim.close();
  });

  it('stores a message twice when the producer resends a write the paused leader had already stored', async () => {
    const setup = rig(62);
    const { sim, cluster, info } = setup;
    const part = cluster.partition(0);
    const oldLeader = leaderOf(cluster);
    const followers = followersOf(cluster);
    await sim.sleep(10);
    const sending = producer(setup, 'all', 3).send(message('twice'));
    // Pause the leader once every replica holds the write, but before the followers' next fetch
    // tells the leader so: the write is stored everywhere, and its acknowledgment never leaves.
    while (!part.replicas.every((r) => cluster.replica(r, 0).leo === 1)) await sim.sleep(0.05);
    expect(cluster.replica(oldLeader, 0).hw).toBe(0);
    cluster.pause(oldLeader);
    const result = await sending;
    expect(info).toContain(`producer-0: twice: REQUEST_TIMED_OUT from broker ${oldLeader}, resend 1 of 3`);
    expect(followers).toContain(part.leader);
    expect(result.offset).toBe(1);
    expect(readable(cluster)).toEqual(['twice', 'twice']);
    sim.close();
  });
});

describe('drop-acks', { timeout: 10_000 }, () => {
  it('stores the write twice when its acknowledgment is lost and the producer resends', async () => {
    const { session, faults, info } = await openSession(71);
    await faults.inject({ do: 'drop-acks', target: 'leader', partition: 0, count: 1 });
    const send = await session.producer({ index: 0, ack: 'leader', retries: 1, topic: 'input', idempotent: false });
    const result = await send.send(message('dup'));
    expect(result.offset).toBe(1);
    expect(info.some((line) => line.endsWith('dropped the acknowledgment of dup (offset 0)'))).toBe(true);
    expect(info.some((line) => line.startsWith('producer-0: dup: REQUEST_TIMED_OUT'))).toBe(true);
    expect(await session.settle(2_000)).toBe(true);
    expect(offsetsOf(await session.drain(), 'dup')).toEqual([0, 1]);
    await session.close();
  });

  it('stores the write once and rejects the send when the producer may not resend', async () => {
    const { session, faults } = await openSession(72);
    await faults.inject({ do: 'drop-acks', target: 'leader', partition: 0, count: 1 });
    const send = await session.producer({ index: 0, ack: 'leader', retries: 0, topic: 'input', idempotent: false });
    await expect(send.send(message('once'))).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
    expect(await session.settle(2_000)).toBe(true);
    expect(offsetsOf(await session.drain(), 'once')).toEqual([0]);
    await session.close();
  });
});

describe('producer crash', { timeout: 10_000 }, () => {
  it('rejects every send after crash() with ClientClosed, and stores none of them', async () => {
    const { session } = await openSession(81);
    const send = await session.producer({ index: 0, ack: 'all', retries: 3, topic: 'input', idempotent: false });
    await send.send(message('before-crash'));
    await send.crash();
    await expect(send.send(message('after-crash-1', 1))).rejects.toBeInstanceOf(ClientClosed);
    await expect(send.send(message('after-crash-2', 2))).rejects.toBeInstanceOf(ClientClosed);
    await session.clock.sleep(100);
    expect((await session.drain()).map((record) => record.id)).toEqual(['before-crash']);
    await session.close();
  });

  it('rejects a send still in flight when the producer crashes with ClientClosed', async () => {
    const { session } = await openSession(82);
    const send = await session.producer({ index: 0, ack: 'all', retries: 3, topic: 'input', idempotent: false });
    const inFlight = send.send(message('in-flight'));
    await send.crash();
    await expect(inFlight).rejects.toBeInstanceOf(ClientClosed);
    await session.close();
  });
});

describe('settle', { timeout: 10_000 }, () => {
  it('is false while a broker is down, true after healAll() restarts it, and the drain then holds every acknowledged write', async () => {
    const { session, faults } = await openSession(91, { partitions: 2 });
    const crashed = await faults.inject({ do: 'crash-broker', target: 'follower', partition: 0, count: 0 });
    expect(crashed).toMatch(/^crashed broker \d/);
    const send = await session.producer({ index: 0, ack: 'all', retries: 10, topic: 'input', idempotent: false });
    const acknowledged: string[] = [];
    for (let i = 0; i < 12; i++) {
      await send.send(message(`m${i}`, i, `key-${i}`));
      acknowledged.push(`m${i}`);
    }
    expect(await session.settle(200)).toBe(false);
    const healed = await faults.healAll();
    expect(healed).toHaveLength(1);
    expect(healed[0]).toMatch(/^restarted broker \d$/);
    expect(await session.settle(5_000)).toBe(true);
    const drained = await session.drain();
    expect(new Set(drained.map((record) => record.partition)).size).toBe(2);
    expect(drained.map((record) => record.id).sort()).toEqual([...acknowledged].sort());
    await session.close();
  });
});
