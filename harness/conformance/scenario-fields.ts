// The scenario's fields past its schema: the cross-field rules a schema cannot express, each
// error pointing at the field to change, and the defaults that make a complete scenario, with
// `expect.guarantee` expanded. They are apart from the loader because they are about what a
// scenario means, not about reading files, and they change whenever the scenario format grows.

import { isNodeGroups, type Fault, type FaultSpec, type Scenario, type ScenarioSource } from '../../spec/scenario.js';
import {
  ANOMALIES,
  CAPABILITIES,
  CRASH_POINTS,
  FAULT_CAPABILITY,
  GUARANTEE_ALLOWS,
  GUARANTEE_FORBIDS,
  PARTITION_TARGETS,
  TRIGGER_KINDS,
  type Anomaly,
  type BrokerTarget,
  type Capability,
  type Expectation,
  type FaultKind,
  type IsolationLevel,
  type PartitionTarget,
} from '../../spec/vocabulary.js';
import type { LoadError } from '../../core/load-error.js';
import { buildMinimum } from './load-minimum.js';
import { describeValue, type FileContext } from './yaml-file.js';

/** The target a fault acts on when the scenario does not name one; heal has none, it restores every link. */
export const DEFAULT_FAULT_TARGETS: Readonly<Record<FaultKind, BrokerTarget | PartitionTarget | undefined>> = {
  'crash-broker': 'leader',
  'power-loss': 'leader',
  'restart-broker': 'crashed',
  'pause-broker': 'leader',
  'resume-broker': 'paused',
  partition: 'isolate-leader',
  heal: undefined,
  'drop-acks': 'leader',
  'stall-replication': 'followers',
  'crash-consumer': 'any',
  'crash-producer': 'any',
};

/** Faults that act on a broker, so `target` and `partition` name a broker. */
const BROKER_FAULTS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'crash-broker',
  'power-loss',
  'restart-broker',
  'pause-broker',
  'resume-broker',
  'partition',
  'drop-acks',
  'stall-replication',
]);

/** The targets stall-replication takes besides a broker index: followers stall, leaders do not fetch. */
const STALL_TARGETS: ReadonlySet<BrokerTarget | number> = new Set<BrokerTarget>(['followers', 'follower']);

// ---------------------------------------------------------------------------------------------
// Checks the schema cannot express

/** Cross-field rules; each error points at the field to change. */
export function checkScenario(source: ScenarioSource, context: FileContext): LoadError[] {
  const errors: LoadError[] = [];
  const { brokers } = source.cluster;
  const { partitions, replication } = source.topic;
  const minInsync = source.topic.minInsync ?? 1;
  const producers = source.workload.producers ?? 1;
  const consumers = source.workload.consumers ?? 1;

  if (replication > brokers) {
    errors.push(
      context.errorAt(
        ['topic', 'replication'],
        'value',
        `topic.replication must be at most cluster.brokers, which is ${brokers} (got ${replication})`,
      ),
    );
  }
  if (minInsync > replication) {
    errors.push(
      context.errorAt(
        ['topic', 'minInsync'],
        'value',
        `topic.minInsync must be at most topic.replication, which is ${replication} (got ${minInsync})`,
      ),
    );
  }
  if (source.producer.abortEvery === 1) {
    errors.push(
      context.errorAt(
        ['producer', 'abortEvery'],
        'value',
        'producer.abortEvery 1 would abort every transaction, so none would ever commit; use 0 (never) or 2 and more',
      ),
    );
  }
  for (const field of ['idempotent', 'transactional'] as const) {
    if (source.producer[field] === true && source.producer.ack !== 'all') {
      errors.push(
        context.errorAt(
          ['producer', field],
          'value',
          `producer.${field} needs producer.ack all, as in Kafka: sequence numbers only guard writes the in-sync replicas acknowledged`,
        ),
      );
    }
  }
  for (const field of ['transactionSize', 'abortEvery'] as const) {
    if (source.producer[field] !== undefined && source.producer.transactional !== true) {
      errors.push(
        context.errorAt(
          ['producer', field],
          'key',
          `producer.${field} needs producer.transactional: true, since only a transactional producer has transactions`,
        ),
      );
    }
  }

  (source.faults ?? []).forEach((fault, index) => {
    const at = (field: string): string[] => ['faults', String(index), field];
    const name = `faults[${index}]`;
    const kind = fault.do;

    if (kind === 'crash-consumer' && fault.point === undefined) {
      errors.push(
        context.errorAt(
          ['faults', String(index)],
          'value',
          `${name}.point is required for crash-consumer (one of ${CRASH_POINTS.join(', ')})`,
          `${name}.point`,
        ),
      );
    }
    if (kind !== 'crash-consumer' && fault.point !== undefined) {
      errors.push(context.errorAt(at('point'), 'key', `${name}.point is only for crash-consumer, not ${kind}`));
    }
    if (kind !== 'drop-acks' && fault.count !== undefined) {
      errors.push(context.errorAt(at('count'), 'key', `${name}.count is only for drop-acks, not ${kind}`));
    }
    if (kind !== 'stall-replication' && fault.durationMs !== undefined) {
      errors.push(context.errorAt(at('durationMs'), 'key', `${name}.durationMs is only for stall-replication, not ${kind}`));
    }
    if (!BROKER_FAULTS.has(kind) && fault.partition !== undefined) {
      // `partition` picks whose leader or follower a broker fault targets; elsewhere it would be
      // silently ignored, which would mislead the reader of the scenario.
      errors.push(
        context.errorAt(at('partition'), 'key', `${name}.partition is only for faults that act on a broker, not ${kind}`),
      );
    }
    if (fault.partition !== undefined && fault.partition >= partitions) {
      errors.push(
        context.errorAt(
          at('partition'),
          'value',
          `${name}.partition must be a partition index from 0 to ${partitions - 1} (got ${fault.partition})`,
        ),
      );
    }
    const target = fault.target;
    if (target === undefined) return;
    if (kind === 'heal') {
      errors.push(
        context.errorAt(at('target'), 'key', `${name}.target is not allowed for heal, which ends every network partition`),
      );
      return;
    }
    if (kind === 'partition' || isPartitionTarget(target) || isNodeGroups(target)) {
      errors.push(...checkPartitionTarget(kind, target, brokers, context, at('target'), name));
      return;
    }
    if (kind === 'stall-replication' && typeof target !== 'number' && !STALL_TARGETS.has(target)) {
      errors.push(
        context.errorAt(
          at('target'),
          'value',
          `${name}.target must be followers, follower or a broker index for stall-replication (got ${describeValue(target)})`,
        ),
      );
    } else if (kind !== 'stall-replication' && target === 'followers') {
      errors.push(
        context.errorAt(at('target'), 'value', `${name}.target followers is only for stall-replication, not ${kind}`),
      );
    }
    if (kind === 'crash-consumer' || kind === 'crash-producer') {
      const [role, count] = kind === 'crash-consumer' ? ['consumer', consumers] : ['producer', producers];
      if (target !== 'any' && !(typeof target === 'number' && target < count)) {
        errors.push(
          context.errorAt(
            at('target'),
            'value',
            `${name}.target must be any or a ${role} index from 0 to ${count - 1} for ${kind} (got ${describeValue(target)})`,
          ),
        );
      }
    } else if (typeof target === 'number' && target >= brokers) {
      errors.push(
        context.errorAt(
          at('target'),
          'value',
          `${name}.target must be a broker index from 0 to ${brokers - 1} for ${kind} (got ${target})`,
        ),
      );
    }
  });
  return errors;
}

function isPartitionTarget(target: unknown): target is PartitionTarget {
  return (PARTITION_TARGETS as readonly unknown[]).includes(target);
}

/**
 * A partition fault's target, or a partition target on another fault. Groups must name brokers
 * that exist, each at most once, and leave at least two groups (the brokers no group names form
 * one more), or nothing would be cut.
 */
function checkPartitionTarget(
  kind: FaultKind,
  target: NonNullable<FaultSpec['target']>,
  brokers: number,
  context: FileContext,
  segments: readonly string[],
  name: string,
): LoadError[] {
  const field = `${name}.target`;
  if (kind !== 'partition') {
    const what = isNodeGroups(target) ? 'groups of brokers are' : `${String(target)} is`;
    return [context.errorAt(segments, 'value', `${field} ${what} only for partition, not ${kind}`)];
  }
  if (isPartitionTarget(target)) return [];
  if (!isNodeGroups(target)) {
    return [
      context.errorAt(
        segments,
        'value',
        `${field} must be ${PARTITION_TARGETS.join(', ')} or a list of groups of broker indices such as [[0], [1, 2]] for partition (got ${describeValue(target)})`,
      ),
    ];
  }
  const errors: LoadError[] = [];
  const firstPlace = new Map<number, string>();
  target.forEach((group, g) => {
    group.forEach((index, k) => {
      const place = [...segments, String(g), String(k)];
      const placeName = `${field}[${g}][${k}]`;
      if (index >= brokers) {
        errors.push(context.errorAt(place, 'value', `${placeName} must be a broker index from 0 to ${brokers - 1} (got ${index})`));
        return;
      }
      const first = firstPlace.get(index);
      if (first !== undefined) {
        errors.push(
          context.errorAt(place, 'value', `${placeName} names broker ${index} again, as ${first} did; a broker belongs to one group at most`),
        );
        return;
      }
      firstPlace.set(index, placeName);
    });
  });
  const unnamed = brokers - firstPlace.size;
  if (errors.length === 0 && target.length + (unnamed > 0 ? 1 : 0) < 2) {
    errors.push(context.errorAt(segments, 'value', `${field} puts every broker in one group, which cuts no link`));
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Defaults

export function buildScenario(source: ScenarioSource, file: string): Scenario {
  const producer = {
    ack: source.producer.ack,
    retries: source.producer.retries ?? 0,
    idempotent: source.producer.idempotent ?? false,
    transactional: source.producer.transactional ?? false,
    maxInFlight: source.producer.maxInFlight ?? 1,
    transactionSize: source.producer.transactionSize ?? 10,
    abortEvery: source.producer.abortEvery ?? 0,
  };
  const consumer = {
    commit: source.consumer.commit,
    isolation: source.consumer.isolation ?? 'read-uncommitted',
  } as const;
  const faults = (source.faults ?? []).map(buildFault);
  return {
    file,
    name: source.name,
    description: source.description,
    requires: requiredCapabilities(source.requires ?? [], producer, consumer, faults),
    seed: source.seed ?? 1,
    cluster: { brokers: source.cluster.brokers },
    topic: {
      partitions: source.topic.partitions,
      replication: source.topic.replication,
      minInsync: source.topic.minInsync ?? 1,
      uncleanElection: source.topic.uncleanElection ?? false,
    },
    producer,
    consumer,
    workload: {
      messages: source.workload.messages,
      keys: source.workload.keys,
      producers: source.workload.producers ?? 1,
      consumers: source.workload.consumers ?? 1,
    },
    faults,
    expect: expandExpectations(source.expect, consumer.isolation),
    minimum: buildMinimum(source),
  };
}

function buildFault(spec: FaultSpec): Fault {
  // The schema guarantees exactly one trigger kind.
  const kind = TRIGGER_KINDS.find((candidate) => spec.at[candidate] !== undefined) ?? 'ms';
  const target = spec.target ?? DEFAULT_FAULT_TARGETS[spec.do];
  return {
    at: { kind, value: spec.at[kind] ?? 0 },
    do: spec.do,
    ...(target === undefined ? {} : { target }),
    partition: spec.partition ?? 0,
    ...(spec.point === undefined ? {} : { point: spec.point }),
    count: spec.count ?? 1,
    ...(spec.durationMs === undefined ? {} : { durationMs: spec.durationMs }),
  };
}

/** The scenario's own list plus what its settings need, in CAPABILITIES order. */
function requiredCapabilities(
  named: readonly Capability[],
  producer: Scenario['producer'],
  consumer: Scenario['consumer'],
  faults: readonly Fault[],
): Capability[] {
  const needed = new Set<Capability>(named);
  needed.add(`ack.${producer.ack}`);
  needed.add(`commit.${consumer.commit}`);
  if (producer.idempotent) needed.add('producer.idempotent');
  // A read-process-write pipeline writes its output and offsets with a transactional producer.
  if (producer.transactional || consumer.commit === 'transactional') needed.add('producer.transactional');
  if (consumer.isolation === 'read-committed') needed.add('isolation.read-committed');
  for (const fault of faults) needed.add(FAULT_CAPABILITY[fault.do]);
  return CAPABILITIES.filter((capability) => needed.has(capability));
}

/** Defaults first, then the guarantee, then the scenario's own per-anomaly entries. */
function expandExpectations(
  expect: ScenarioSource['expect'],
  isolation: IsolationLevel,
): Record<Anomaly, Expectation> {
  const expectations: Record<Anomaly, Expectation> = {
    lost: 'allowed',
    unprocessed: 'allowed',
    duplicated: 'allowed',
    reordered: 'allowed',
    phantom: 'none',
    // Under read-uncommitted a consumer is entitled to see aborted writes.
    'aborted-read': isolation === 'read-committed' ? 'none' : 'allowed',
    'inconsistent-offset': 'none',
  };
  if (expect.guarantee !== undefined) {
    for (const anomaly of GUARANTEE_ALLOWS[expect.guarantee]) expectations[anomaly] = 'allowed';
    for (const anomaly of GUARANTEE_FORBIDS[expect.guarantee]) expectations[anomaly] = 'none';
  }
  for (const anomaly of ANOMALIES) {
    const explicit = expect[anomaly];
    if (explicit !== undefined) expectations[anomaly] = explicit;
  }
  return expectations;
}
