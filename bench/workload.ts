// Loads benchmark workloads: YAML with positions, the workload schema, the checks a schema cannot
// express, and defaults. It reuses the scenario loader's machinery (harness/conformance/loader.ts
// and yaml-file.ts), so a bad workload is reported exactly like a bad scenario: one line per
// error, naming file, line, column and field, and every error of every file at once.

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { loadYamlFiles, type LoadError } from '../harness/conformance/loader.js';
import { parseYamlMapping, schemaErrors, sortErrors, type FileContext } from '../harness/conformance/yaml-file.js';
import {
  BENCH_LIMITS,
  benchWorkloadSchema,
  type BenchWorkload,
  type BenchWorkloadSource,
} from '../spec/bench-workload.js';
import { CAPABILITIES, type Capability } from '../spec/vocabulary.js';
import { messageCount, scheduleWindow } from './schedule.js';

/** Defaults of the optional settings; the README of bench/ and the schema comments say the same. */
export const WORKLOAD_DEFAULTS = {
  minInsync: 1,
  producers: 1,
  consumers: 1,
  idempotent: false,
  warmupMs: 0,
  seed: 1,
  retries: 0,
  maxInFlight: 1024,
  maxPollRecords: 500,
  pollTimeoutMs: 100,
  isolation: 'read-uncommitted',
} as const;

export interface WorkloadLoadResult {
  readonly workloads: BenchWorkload[];
  readonly errors: LoadError[];
}

export type WorkloadTextResult =
  | { readonly workload: BenchWorkload; readonly errors: readonly [] }
  | { readonly workload?: undefined; readonly errors: readonly LoadError[] };

/** Loads workload files and folders (searched recursively for *.yaml and *.yml, sorted by path). */
export async function loadWorkloads(paths: readonly string[]): Promise<WorkloadLoadResult> {
  const { items, errors } = await loadYamlFiles(paths, 'workload files', (text, file) => {
    const result = loadWorkloadText(text, file);
    return { item: result.workload, errors: result.errors };
  });
  return { workloads: items, errors };
}

let compiledValidator: ValidateFunction<BenchWorkloadSource> | undefined;

/** The workload schema, compiled once, with the options the scenario loader uses. */
function workloadValidator(): ValidateFunction<BenchWorkloadSource> {
  if (compiledValidator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    compiledValidator = ajv.compile<BenchWorkloadSource>(benchWorkloadSchema);
  }
  return compiledValidator;
}

/** Parses, validates and completes one workload; `file` names it in errors and in the workload. */
export function loadWorkloadText(text: string, file: string): WorkloadTextResult {
  const parsed = parseYamlMapping(text, file, {
    expected:
      'one benchmark workload, a mapping of name, description, messageBytes, keys, partitions, replication, ack, commit, rate or rates, and durationMs',
    fields: 'workload fields',
  });
  if (parsed.errors !== undefined) return { errors: sortErrors(parsed.errors) };
  const { data, context } = parsed;
  const validate = workloadValidator();
  if (!validate(data)) return { errors: sortErrors(schemaErrors(validate.errors ?? [], context)) };
  const semanticErrors = checkWorkload(data, context);
  if (semanticErrors.length > 0) return { errors: sortErrors(semanticErrors) };
  return { workload: buildWorkload(data, file), errors: [] };
}

/** Cross-field rules; each error points at the field to change. */
function checkWorkload(source: BenchWorkloadSource, context: FileContext): LoadError[] {
  const errors: LoadError[] = [];
  const brokers = source.adapter?.brokers ?? source.replication;
  const minInsync = source.minInsync ?? WORKLOAD_DEFAULTS.minInsync;

  if (source.rate === undefined && source.rates === undefined) {
    errors.push(
      context.errorAt(
        [],
        'value',
        'rate (one fixed rate in messages per second) or rates (a stepped series) is required',
        'rate',
      ),
    );
  }
  if (source.rate !== undefined && source.rates !== undefined) {
    errors.push(
      context.errorAt(['rates'], 'key', 'rates and rate exclude each other: give one fixed rate or a stepped series'),
    );
  }
  const rates = source.rates ?? (source.rate === undefined ? [] : [source.rate]);
  const ratesField: readonly string[] = source.rates === undefined ? ['rate'] : ['rates'];
  rates.forEach((rate, index) => {
    const previous = rates[index - 1];
    if (previous !== undefined && rate <= previous) {
      errors.push(
        context.errorAt(
          ['rates', String(index)],
          'value',
          `rates[${index}] must be higher than rates[${index - 1}], which is ${previous} (got ${rate}): the steps ascend so the curve reads left to right`,
        ),
      );
    }
  });
  const warmupMs = source.warmupMs ?? WORKLOAD_DEFAULTS.warmupMs;
  const highest = Math.max(0, ...rates);
  if (highest > 0 && messageCount(highest, warmupMs + source.durationMs) > BENCH_LIMITS.messagesPerStep) {
    errors.push(
      context.errorAt(
        [...ratesField],
        'value',
        `${source.rates === undefined ? 'rate' : 'rates'} ${highest} for warmupMs + durationMs ${warmupMs + source.durationMs} would send ${messageCount(highest, warmupMs + source.durationMs)} messages in one step; at most ${BENCH_LIMITS.messagesPerStep} are allowed`,
        source.rates === undefined ? 'rate' : 'rates',
      ),
    );
  }
  const unmeasured = rates.find((rate) => scheduleWindow(rate, warmupMs, source.durationMs).measured < 1);
  if (unmeasured !== undefined) {
    errors.push(
      context.errorAt(
        ['durationMs'],
        'value',
        `durationMs ${source.durationMs} at ${unmeasured} messages per second measures no message; make durationMs at least ${Math.ceil(1000 / unmeasured)}`,
      ),
    );
  }
  if (source.replication > brokers) {
    errors.push(
      context.errorAt(
        ['replication'],
        'value',
        `replication must be at most adapter.brokers, which is ${brokers} (got ${source.replication})`,
      ),
    );
  }
  if (minInsync > source.replication) {
    errors.push(
      context.errorAt(
        ['minInsync'],
        'value',
        `minInsync must be at most replication, which is ${source.replication} (got ${minInsync})`,
      ),
    );
  }
  if (source.idempotent === true && source.ack !== 'all') {
    errors.push(
      context.errorAt(
        ['idempotent'],
        'value',
        'idempotent needs ack all, as in Kafka: sequence numbers only guard writes the in-sync replicas acknowledged',
      ),
    );
  }
  return errors;
}

function buildWorkload(source: BenchWorkloadSource, file: string): BenchWorkload {
  const idempotent = source.idempotent ?? WORKLOAD_DEFAULTS.idempotent;
  const adapter = {
    brokers: source.adapter?.brokers ?? source.replication,
    retries: source.adapter?.retries ?? WORKLOAD_DEFAULTS.retries,
    maxInFlight: source.adapter?.maxInFlight ?? WORKLOAD_DEFAULTS.maxInFlight,
    maxPollRecords: source.adapter?.maxPollRecords ?? WORKLOAD_DEFAULTS.maxPollRecords,
    pollTimeoutMs: source.adapter?.pollTimeoutMs ?? WORKLOAD_DEFAULTS.pollTimeoutMs,
    isolation: source.adapter?.isolation ?? WORKLOAD_DEFAULTS.isolation,
  };
  const needed = new Set<Capability>([`ack.${source.ack}`, `commit.${source.commit}`]);
  if (idempotent) needed.add('producer.idempotent');
  // A read-process-write pipeline writes its output and offsets with a transactional producer.
  if (source.commit === 'transactional') needed.add('producer.transactional');
  if (adapter.isolation === 'read-committed') needed.add('isolation.read-committed');
  return {
    file,
    name: source.name,
    description: source.description,
    messageBytes: source.messageBytes,
    keys: source.keys,
    partitions: source.partitions,
    replication: source.replication,
    minInsync: source.minInsync ?? WORKLOAD_DEFAULTS.minInsync,
    producers: source.producers ?? WORKLOAD_DEFAULTS.producers,
    consumers: source.consumers ?? WORKLOAD_DEFAULTS.consumers,
    ack: source.ack,
    commit: source.commit,
    idempotent,
    rates: source.rates ?? (source.rate === undefined ? [] : [source.rate]),
    stepped: source.rates !== undefined,
    warmupMs: source.warmupMs ?? WORKLOAD_DEFAULTS.warmupMs,
    durationMs: source.durationMs,
    seed: source.seed ?? WORKLOAD_DEFAULTS.seed,
    adapter,
    requires: CAPABILITIES.filter((capability) => needed.has(capability)),
  };
}
