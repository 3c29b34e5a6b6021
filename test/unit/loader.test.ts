import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadError, loadScenarios, loadScenarioText } from '../../harness/conformance/loader.js';
import type { Scenario } from '../../spec/scenario.js';

// Fixture paths relative to the working folder, because the loader must report a relative path
// exactly as the user gave it.
const fixtures = relative(process.cwd(), fileURLToPath(new URL('../fixtures/scenarios', import.meta.url)));

// A valid scenario with a fixed layout, so the tests can name the line and column of each
// field. Tests change one line at a time with `replace`. Lines:
//  1 name          5 topic:             9   ack          13   messages (column 13)
//  2 description   6   partitions      10 consumer:      14   keys
//  3 cluster:      7   replication     11   commit       15 expect:
//  4   brokers     8 producer:         12 workload:      16   guarantee
// Faults, when a test adds them, start at line 17.
const BASE = `name: test scenario
description: A scenario for the loader tests.
cluster:
  brokers: 3
topic:
  partitions: 3
  replication: 3
producer:
  ack: all
consumer:
  commit: after-process
workload:
  messages: 100
  keys: 10
expect:
  guarantee: at-least-once
`;

/** Replaces one exact piece of BASE, failing loudly when the piece is not there. */
function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`test setup: ${JSON.stringify(from)} is not in the text`);
  return text.replace(from, to);
}

function load(text: string): Scenario {
  const result = loadScenarioText(text, 'x.yaml');
  expect(result.errors.map((error) => error.format())).toEqual([]);
  if (result.scenario === undefined) throw new Error('no scenario');
  return result.scenario;
}

function errorLines(text: string, file = 'x.yaml'): string[] {
  const result = loadScenarioText(text, file);
  expect(result.scenario).toBeUndefined();
  return result.errors.map((error) => error.format());
}

describe('loadScenarioText: valid scenarios', () => {
  it('loads a scenario with every field set into exactly the Scenario expected', async () => {
    const file = join(fixtures, 'valid', 'full.yaml');
    const { scenarios, errors } = await loadScenarios([file]);
    expect(errors).toEqual([]);
    const expected: Scenario = {
      file,
      name: 'every field set',
      description:
        'A transactional read-process-write pipeline with every field of the scenario language set.\n',
      requires: [
        'ack.all',
        'commit.transactional',
        'producer.idempotent',
        'producer.transactional',
        'isolation.read-committed',
        'fault.crash-broker',
        'fault.partition',
        'fault.drop-acks',
        'fault.crash-consumer',
      ],
      seed: 7,
      cluster: { brokers: 3 },
      topic: { partitions: 4, replication: 3, minInsync: 2, uncleanElection: true },
      producer: {
        ack: 'all',
        retries: 10,
        idempotent: true,
        transactional: true,
        maxInFlight: 5,
        transactionSize: 10,
        abortEvery: 0,
      },
      consumer: { commit: 'transactional', isolation: 'read-committed' },
      workload: { messages: 2000, keys: 20, producers: 2, consumers: 3 },
      faults: [
        { at: { kind: 'acked', value: 500 }, do: 'crash-broker', target: 'follower', partition: 2, count: 1 },
        { at: { kind: 'ms', value: 1500 }, do: 'restart-broker', target: 1, partition: 0, count: 1 },
        { at: { kind: 'sent', value: 100 }, do: 'drop-acks', target: 'leader', partition: 0, count: 5 },
        {
          at: { kind: 'processed', value: 300 },
          do: 'crash-consumer',
          target: 2,
          partition: 0,
          point: 'after-commit',
          count: 1,
        },
        { at: { kind: 'sent', value: 700 }, do: 'partition', target: 'isolate-leader', partition: 0, count: 1 },
        { at: { kind: 'sent', value: 900 }, do: 'heal', partition: 0, count: 1 },
      ],
      expect: {
        lost: 'none',
        unprocessed: 'none',
        duplicated: 'none',
        reordered: 'none',
        phantom: 'none',
        'aborted-read': 'witnessed',
        'inconsistent-offset': 'none',
      },
      minimum: {
        sent: { percent: 100 },
        acknowledged: { count: 1500 },
        stored: { percent: 12.5 },
        delivered: { count: 0 },
        processed: { percent: 50 },
      },
    };
    expect(scenarios).toStrictEqual([expected]);
  });

  it('applies every default to a scenario with only the required fields', () => {
    expect(loadScenarioText(BASE, 'suites/base.yaml')).toStrictEqual({
      scenario: {
        file: 'suites/base.yaml',
        name: 'test scenario',
        description: 'A scenario for the loader tests.',
        requires: ['ack.all', 'commit.after-process'],
        seed: 1,
        cluster: { brokers: 3 },
        topic: { partitions: 3, replication: 3, minInsync: 1, uncleanElection: false },
        producer: { ack: 'all', retries: 0, idempotent: false, transactional: false, maxInFlight: 1, transactionSize: 10, abortEvery: 0 },
        consumer: { commit: 'after-process', isolation: 'read-uncommitted' },
        workload: { messages: 100, keys: 10, producers: 1, consumers: 1 },
        faults: [],
        expect: {
          lost: 'none',
          unprocessed: 'none',
          duplicated: 'allowed',
          reordered: 'allowed',
          phantom: 'none',
          'aborted-read': 'allowed',
          'inconsistent-offset': 'none',
        },
        minimum: { acknowledged: { percent: 50 }, processed: { percent: 50 } },
      },
      errors: [],
    });
  });

  it('gives each fault kind its default target, partition 0 and count 1', () => {
    const kinds = [
      'crash-broker',
      'restart-broker',
      'pause-broker',
      'resume-broker',
      'partition',
      'heal',
      'drop-acks',
      'crash-producer',
    ];
    const faults = kinds.map((kind) => `  - { at: { ms: 10 }, do: ${kind} }\n`).join('');
    const crashConsumer = '  - { at: { ms: 10 }, do: crash-consumer, point: after-poll }\n';
    const scenario = load(`${BASE}faults:\n${faults}${crashConsumer}`);
    expect(scenario.faults.map((fault) => [fault.do, fault.target, fault.partition, fault.count])).toEqual([
      ['crash-broker', 'leader', 0, 1],
      ['restart-broker', 'crashed', 0, 1],
      ['pause-broker', 'leader', 0, 1],
      ['resume-broker', 'paused', 0, 1],
      ['partition', 'isolate-leader', 0, 1],
      ['heal', undefined, 0, 1],
      ['drop-acks', 'leader', 0, 1],
      ['crash-producer', 'any', 0, 1],
      ['crash-consumer', 'any', 0, 1],
    ]);
    expect(scenario.faults[0]).not.toHaveProperty('point');
    expect(scenario.faults[5]).not.toHaveProperty('target');
    expect(scenario.faults[8]?.point).toBe('after-poll');
  });

  it('accepts YAML anchors and aliases, and places an error behind an alias at the anchored value, where it is fixed', () => {
    const text = edit(edit(BASE, '  brokers: 3', '  brokers: &three 3'), '  replication: 3', '  replication: *three');
    expect(load(text).topic.replication).toBe(3);
    const aliasedMapping = edit(BASE, 'expect:\n  guarantee: at-least-once', 'expect: *bad').replace(
      'cluster:\n',
      'x: &bad { guarantee: at-least-one }\ncluster:\n',
    );
    expect(errorLines(aliasedMapping)).toEqual([
      'x.yaml:3:1: x is not a known field (known: version, name, description, requires, seed, cluster, topic, producer, consumer, workload, faults, expect)',
      'x.yaml:3:22: expect.guarantee must be one of at-most-once, at-least-once, exactly-once (got "at-least-one")',
    ]);
  });
});

describe('expect: defaults, guarantee expansion and overrides', () => {
  const withExpect = (lines: string, isolation = 'read-uncommitted'): Scenario['expect'] =>
    load(
      edit(
        edit(BASE, '  commit: after-process', `  commit: after-process\n  isolation: ${isolation}`),
        'expect:\n  guarantee: at-least-once\n',
        `expect:\n${lines}`,
      ),
    ).expect;

  it('keeps the defaults when there is no guarantee', () => {
    expect(withExpect('  reordered: allowed\n')).toEqual({
      lost: 'allowed',
      unprocessed: 'allowed',
      duplicated: 'allowed',
      reordered: 'allowed',
      phantom: 'none',
      'aborted-read': 'allowed',
      'inconsistent-offset': 'none',
    });
  });

  it('forbids aborted reads by default under read-committed only', () => {
    expect(withExpect('  reordered: allowed\n', 'read-committed')['aborted-read']).toBe('none');
    expect(withExpect('  reordered: allowed\n', 'read-uncommitted')['aborted-read']).toBe('allowed');
  });

  it('expands each guarantee into the anomalies it forbids and allows', () => {
    const core = (expectations: Scenario['expect']) => [
      expectations.lost,
      expectations.unprocessed,
      expectations.duplicated,
    ];
    expect(core(withExpect('  guarantee: at-most-once\n'))).toEqual(['allowed', 'allowed', 'none']);
    expect(core(withExpect('  guarantee: at-least-once\n'))).toEqual(['none', 'none', 'allowed']);
    expect(core(withExpect('  guarantee: exactly-once\n'))).toEqual(['none', 'none', 'none']);
  });

  it('lets explicit per-anomaly entries override the guarantee and the defaults', () => {
    expect(
      withExpect(
        '  guarantee: exactly-once\n  duplicated: allowed\n  lost: witnessed\n  phantom: allowed\n  aborted-read: none\n',
      ),
    ).toEqual({
      lost: 'witnessed',
      unprocessed: 'none',
      duplicated: 'allowed',
      reordered: 'allowed',
      phantom: 'allowed',
      'aborted-read': 'none',
      'inconsistent-offset': 'none',
    });
  });
});

describe('expect.minimum: how much a run must have done', () => {
  // BASE's expect block ends at line 16; the minimum's entries start at line 18.
  const withMinimum = (lines: string, base = BASE): string => `${base}  minimum:\n${lines}`;

  it('asks by default for half the messages acknowledged and processed, or stored under ack none', () => {
    expect(load(BASE).minimum).toStrictEqual({ acknowledged: { percent: 50 }, processed: { percent: 50 } });
    expect(load(edit(BASE, '  ack: all', '  ack: none')).minimum).toStrictEqual({
      stored: { percent: 50 },
      processed: { percent: 50 },
    });
  });

  it('reads integers as numbers of messages and n% as shares, each overriding only its own default', () => {
    const scenario = load(withMinimum('    sent: 100\n    stored: 12.5%\n    processed: 0\n'));
    expect(scenario.minimum).toStrictEqual({
      sent: { count: 100 },
      acknowledged: { percent: 50 },
      stored: { percent: 12.5 },
      processed: { count: 0 },
    });
    expect(load(withMinimum('    acknowledged: 100%\n')).minimum.acknowledged).toStrictEqual({ percent: 100 });
    // Ack none acknowledges nothing, so asking for none of it is no contradiction.
    const none = load(withMinimum('    acknowledged: 0%\n', edit(BASE, '  ack: all', '  ack: none')));
    expect(none.minimum.acknowledged).toStrictEqual({ percent: 0 });
  });

  it('says in one line what a threshold may be, placed at the value', () => {
    expect(
      errorLines(withMinimum('    acknowledged: fifty\n    processed: 0.5\n    stored: 150%\n    sent: -1\n')),
    ).toEqual([
      'x.yaml:18:19: expect.minimum.acknowledged must be an integer from 0 to 1000000, or a percentage of workload.messages such as 50% (got "fifty")',
      'x.yaml:19:16: expect.minimum.processed must be an integer from 0 to 1000000, or a percentage of workload.messages such as 50% (got 0.5)',
      'x.yaml:20:13: expect.minimum.stored must be an integer from 0 to 1000000, or a percentage of workload.messages such as 50% (got "150%")',
      'x.yaml:21:11: expect.minimum.sent must be an integer from 0 to 1000000, or a percentage of workload.messages such as 50% (got -1)',
    ]);
    expect(errorLines(withMinimum('    delivred: 5\n'))).toEqual([
      'x.yaml:18:5: expect.minimum.delivred is not a known field (known: sent, acknowledged, stored, delivered, processed)',
    ]);
    expect(errorLines(`${BASE}  minimum: {}\n`)).toEqual([
      'x.yaml:17:12: expect.minimum must be a mapping with at least one of sent, acknowledged, stored, delivered, processed (got an empty mapping)',
    ]);
  });

  it('refuses a threshold no run could reach: more than the workload, or acknowledgments under ack none', () => {
    expect(errorLines(withMinimum('    processed: 101\n'))).toEqual([
      'x.yaml:18:16: expect.minimum.processed must be at most workload.messages, which is 100 (got 101); no run could reach it',
    ]);
    expect(load(withMinimum('    processed: 100\n')).minimum.processed).toStrictEqual({ count: 100 });
    const result = loadScenarioText(withMinimum('    acknowledged: 10%\n', edit(BASE, '  ack: all', '  ack: none')), 'x.yaml');
    expect(result.errors.map((error) => error.format())).toEqual([
      'x.yaml:18:19: expect.minimum.acknowledged cannot be reached under producer.ack none, which acknowledges nothing; ask for stored instead',
    ]);
    expect(result.errors[0]?.field).toBe('expect.minimum.acknowledged');
  });
});

describe('requires', () => {
  it('adds the capabilities implied by the settings, sorted in CAPABILITIES order, without duplicates', () => {
    const text =
      edit(
        edit(
          edit(BASE, '  ack: all', '  ack: all\n  idempotent: true\n  transactional: true'),
          '  commit: after-process',
          '  commit: transactional\n  isolation: read-committed',
        ),
        'name: test scenario',
        'name: test scenario\nrequires: [fault.crash-producer, producer.idempotent, ack.leader]',
      ) +
      'faults:\n' +
      '  - { at: { sent: 1 }, do: restart-broker }\n' +
      '  - { at: { sent: 2 }, do: heal }\n' +
      '  - { at: { sent: 3 }, do: resume-broker }\n';
    expect(load(text).requires).toEqual([
      'ack.leader',
      'ack.all',
      'commit.transactional',
      'producer.idempotent',
      'producer.transactional',
      'isolation.read-committed',
      'fault.crash-broker',
      'fault.pause-broker',
      'fault.partition',
      'fault.crash-producer',
    ]);
  });
});

describe('schema errors: one line each, with file, line, column and field', () => {
  it('names the allowed values of an enum and the value given', () => {
    expect(errorLines(edit(BASE, '  ack: all', '  ack: al'), 'suites/x.yaml')).toEqual([
      'suites/x.yaml:9:8: producer.ack must be one of none, leader, all (got "al")',
    ]);
  });

  it('points at the key of an unknown field and lists the known ones', () => {
    expect(errorLines(edit(BASE, '  replication: 3', '  replication: 3\n  partitons: 4'))).toEqual([
      'x.yaml:8:3: topic.partitons is not a known field (known: partitions, replication, minInsync, uncleanElection)',
    ]);
    expect(errorLines(`${BASE}seeds: 4\n`)).toEqual([
      'x.yaml:17:1: seeds is not a known field (known: version, name, description, requires, seed, cluster, topic, producer, consumer, workload, faults, expect)',
    ]);
  });

  it('reports both the misspelled field and the missing one it was meant to be', () => {
    expect(errorLines(edit(BASE, '  partitions: 3', '  partitons: 3'))).toEqual([
      'x.yaml:6:3: topic.partitions is required',
      'x.yaml:6:3: topic.partitons is not a known field (known: partitions, replication, minInsync, uncleanElection)',
    ]);
  });

  it('places a missing field at its parent mapping', () => {
    const result = loadScenarioText(edit(BASE, '  ack: all', '  retries: 3'), 'x.yaml');
    expect(result.errors.map((error) => error.format())).toEqual(['x.yaml:9:3: producer.ack is required']);
    expect(result.errors[0]).toMatchObject({ file: 'x.yaml', line: 9, column: 3, field: 'producer.ack' });
    expect(errorLines(edit(BASE, 'name: test scenario\n', ''))).toEqual(['x.yaml:1:1: name is required']);
    expect(errorLines(edit(BASE, 'producer:\n  ack: all', 'producer: { retries: 3 }'))).toEqual([
      'x.yaml:8:11: producer.ack is required',
    ]);
  });

  it('describes the integer range of a number field', () => {
    expect(errorLines(edit(BASE, '  messages: 100', '  messages: many'))).toEqual([
      'x.yaml:13:13: workload.messages must be an integer from 1 to 1000000 (got "many")',
    ]);
    // `type` and `minimum` both fail for 0.5; the user sees one message.
    expect(errorLines(edit(BASE, '  messages: 100', '  messages: 0.5'))).toEqual([
      'x.yaml:13:13: workload.messages must be an integer from 1 to 1000000 (got 0.5)',
    ]);
    expect(errorLines(edit(BASE, '  messages: 100', '  messages: 2000000'))).toEqual([
      'x.yaml:13:13: workload.messages must be an integer from 1 to 1000000 (got 2000000)',
    ]);
  });

  it('reports a oneOf failure once, naming every alternative', () => {
    expect(errorLines(`${BASE}faults:\n  - { at: { ms: 1 }, do: crash-broker, target: leadr }\n`)).toEqual([
      'x.yaml:18:48: faults[0].target must be one of leader, follower, followers, any, crashed, paused, coordinator, isolate-leader, majority-minority, or an integer from 0 to 32, or a list of groups of broker indices such as [[0], [1, 2]] (got "leadr")',
    ]);
    expect(errorLines(`${BASE}faults:\n  - { at: { ms: 1 }, do: crash-broker, target: -1 }\n`)).toEqual([
      'x.yaml:18:48: faults[0].target must be one of leader, follower, followers, any, crashed, paused, coordinator, isolate-leader, majority-minority, or an integer from 0 to 32, or a list of groups of broker indices such as [[0], [1, 2]] (got -1)',
    ]);
  });

  it('explains triggers, fault entries, empty values and other shapes', () => {
    const faults =
      'faults:\n' +
      '  - { at: { sent: 1, acked: 2 }, do: crash-broker }\n' +
      '  - crash-broker\n' +
      '  - at: {}\n' +
      '    do: crash\n';
    expect(errorLines(BASE + faults)).toEqual([
      'x.yaml:18:11: faults[0].at must be a mapping with exactly one of sent, acked, processed, ms (got a mapping of sent, acked)',
      'x.yaml:19:5: faults[1] must be a mapping (got "crash-broker")',
      'x.yaml:20:9: faults[2].at must be a mapping with exactly one of sent, acked, processed, ms (got an empty mapping)',
      'x.yaml:21:9: faults[2].do must be one of crash-broker, power-loss, restart-broker, pause-broker, resume-broker, partition, heal, drop-acks, stall-replication, crash-consumer, crash-producer (got "crash")',
    ]);
    // A key with nothing after it: the error points at the key, not at the end of the line.
    expect(errorLines(edit(BASE, '  ack: all', '  ack:'))).toEqual([
      'x.yaml:9:3: producer.ack must be one of none, leader, all (got an empty value)',
    ]);
    expect(errorLines(edit(BASE, 'producer:\n  ack: all', 'producer:'))).toEqual([
      'x.yaml:8:1: producer must be a mapping (got an empty value)',
    ]);
    expect(errorLines(edit(BASE, 'expect:\n  guarantee: at-least-once', 'expect: {}'))).toEqual([
      'x.yaml:15:9: expect must be a mapping with at least one of guarantee, minimum, lost, unprocessed, duplicated, reordered, phantom, aborted-read, inconsistent-offset (got an empty mapping)',
    ]);
    expect(errorLines(edit(BASE, 'name: test scenario', 'name: 5'))).toEqual([
      'x.yaml:1:7: name must be a string of 1 to 200 characters (got 5)',
    ]);
    expect(errorLines(`${BASE}requires: [ack.all, ack.all]\nversion: 2\nseed: -1\n`)).toEqual([
      'x.yaml:17:21: requires[1] is a duplicate of requires[0] ("ack.all")',
      'x.yaml:18:10: version must be 1 (got 2)',
      'x.yaml:19:7: seed must be an integer from 0 to 2147483647 (got -1)',
    ]);
  });

  it('reports every error of a file, in file order', () => {
    const text = edit(
      edit(edit(BASE, '  ack: all', '  ack: al'), '  messages: 100', '  messages: many'),
      '  brokers: 3',
      '  brokers: 3\n  racks: 2',
    );
    expect(errorLines(text)).toEqual([
      'x.yaml:5:3: cluster.racks is not a known field (known: brokers)',
      'x.yaml:10:8: producer.ack must be one of none, leader, all (got "al")',
      'x.yaml:14:13: workload.messages must be an integer from 1 to 1000000 (got "many")',
    ]);
  });
});

describe('YAML and file-level errors', () => {
  it("gives a syntax error the yaml library's line and column", () => {
    expect(errorLines(edit(BASE, '  ack: all', '  ack: "all'))).toEqual(['x.yaml:17:1: Missing closing "quote']);
    expect(errorLines(edit(BASE, '  ack: all', '  ack: all\n  ack: none'))).toEqual([
      'x.yaml:10:3: Map keys must be unique',
    ]);
  });

  it('keeps only the first syntax error of a line, since the rest follow from it', () => {
    expect(errorLines(edit(BASE, 'producer:\n  ack: all', 'producer:\n ack: all\n   retries: 1'))).toEqual([
      'x.yaml:9:7: Nested mappings are not allowed in compact mappings',
    ]);
  });

  it('rejects an empty file, a comment-only file and a top level that is not a mapping', () => {
    const empty =
      'x.yaml:1:1: the file is empty; it must hold one scenario, a mapping of name, description, cluster, topic, producer, consumer, workload and expect';
    expect(errorLines('')).toEqual([empty]);
    expect(errorLines('# nothing here yet\n')).toEqual([empty]);
    expect(errorLines('- name: a\n- name: b\n')).toEqual([
      'x.yaml:1:1: the top level must be a mapping of scenario fields (got a list of 2 entries)',
    ]);
    expect(errorLines('\nhello\n')).toEqual([
      'x.yaml:2:1: the top level must be a mapping of scenario fields (got "hello")',
    ]);
  });

  it('rejects a file with more than one YAML document', () => {
    expect(errorLines(`${BASE}---\n${BASE}`)).toEqual([
      'x.yaml:17:1: the file holds more than one YAML document; put each scenario in a file of its own',
    ]);
  });
});

describe('semantic checks', () => {
  it('keeps replication within the brokers and minInsync within the replication', () => {
    const text = edit(
      edit(BASE, '  brokers: 3', '  brokers: 2'),
      '  replication: 3',
      '  replication: 3\n  minInsync: 4',
    );
    expect(errorLines(text)).toEqual([
      'x.yaml:7:16: topic.replication must be at most cluster.brokers, which is 2 (got 3)',
      'x.yaml:8:14: topic.minInsync must be at most topic.replication, which is 3 (got 4)',
    ]);
  });

  it('allows transaction settings only on a transactional producer', () => {
    const result = loadScenarioText(edit(BASE, '  ack: all', '  ack: all\n  abortEvery: 3'), 'x.yaml');
    expect(result.errors.map((error) => error.format())).toEqual([
      expect.stringMatching(/^x\.yaml:\d+:\d+: producer\.abortEvery needs producer\.transactional: true/),
    ]);
    expect(result.errors[0]?.field).toBe('producer.abortEvery');
    const transactional = load(edit(BASE, '  ack: all', '  ack: all\n  transactional: true\n  abortEvery: 3'));
    expect(transactional.producer).toMatchObject({ transactional: true, transactionSize: 10, abortEvery: 3 });
  });

  it('asks for ack all with idempotence and transactions, and refuses abortEvery 1', () => {
    const text = edit(BASE, '  ack: all', '  ack: leader\n  idempotent: true\n  transactional: true\n  abortEvery: 1');
    expect(errorLines(text)).toEqual([
      expect.stringMatching(/^x\.yaml:10:\d+: producer\.idempotent needs producer\.ack all/),
      expect.stringMatching(/^x\.yaml:11:\d+: producer\.transactional needs producer\.ack all/),
      expect.stringMatching(/^x\.yaml:12:\d+: producer\.abortEvery 1 would abort every transaction/),
    ]);
  });

  it('needs a transactional producer capability for a transactional pipeline', () => {
    const scenario = load(edit(BASE, '  commit: after-process', '  commit: transactional'));
    expect(scenario.consumer.commit).toBe('transactional');
    expect(scenario.requires).toContain('producer.transactional');
    expect(scenario.requires).toContain('commit.transactional');
  });

  it('checks each fault against the cluster, the topic, the workload and its kind', () => {
    const text =
      edit(BASE, '  keys: 10', '  keys: 10\n  consumers: 2') +
      'faults:\n' +
      '  - { at: { ms: 1 }, do: crash-broker, target: 3 }\n' +
      '  - { at: { ms: 1 }, do: pause-broker, partition: 3 }\n' +
      '  - { at: { ms: 1 }, do: crash-consumer }\n' +
      '  - { at: { ms: 1 }, do: crash-broker, point: after-poll }\n' +
      '  - { at: { ms: 1 }, do: crash-broker, count: 2 }\n' +
      '  - { at: { ms: 1 }, do: crash-consumer, point: after-poll, target: 2 }\n' +
      '  - { at: { ms: 1 }, do: crash-consumer, point: after-poll, target: leader }\n' +
      '  - { at: { ms: 1 }, do: crash-producer, target: 1 }\n' +
      '  - { at: { ms: 1 }, do: heal, target: leader }\n' +
      '  - { at: { ms: 1 }, do: crash-producer, partition: 0 }\n';
    const lines = errorLines(text);
    expect(lines).toEqual([
      'x.yaml:19:48: faults[0].target must be a broker index from 0 to 2 for crash-broker (got 3)',
      'x.yaml:20:51: faults[1].partition must be a partition index from 0 to 2 (got 3)',
      'x.yaml:21:5: faults[2].point is required for crash-consumer (one of after-poll, after-commit, after-process)',
      'x.yaml:22:40: faults[3].point is only for crash-consumer, not crash-broker',
      'x.yaml:23:40: faults[4].count is only for drop-acks, not crash-broker',
      'x.yaml:24:69: faults[5].target must be any or a consumer index from 0 to 1 for crash-consumer (got 2)',
      'x.yaml:25:69: faults[6].target must be any or a consumer index from 0 to 1 for crash-consumer (got "leader")',
      'x.yaml:26:50: faults[7].target must be any or a producer index from 0 to 0 for crash-producer (got 1)',
      'x.yaml:27:32: faults[8].target is not allowed for heal, which ends every network partition',
      'x.yaml:28:42: faults[9].partition is only for faults that act on a broker, not crash-producer',
    ]);
    const fields = loadScenarioText(text, 'x.yaml').errors.map((error) => error.field);
    expect(fields.slice(0, 3)).toEqual(['faults[0].target', 'faults[1].partition', 'faults[2].point']);
  });

  it('takes a partition target or groups of broker indices for partition, and no target for heal', () => {
    const text =
      BASE +
      'faults:\n' +
      '  - { at: { ms: 1 }, do: partition }\n' +
      '  - { at: { ms: 2 }, do: partition, target: majority-minority }\n' +
      '  - { at: { ms: 3 }, do: partition, target: isolate-leader, partition: 2 }\n' +
      '  - { at: { ms: 4 }, do: partition, target: [[0], [1, 2]] }\n' +
      '  - { at: { ms: 5 }, do: partition, target: [[2]] }\n' +
      '  - { at: { ms: 6 }, do: heal }\n';
    const scenario = load(text);
    expect(scenario.faults.map((fault) => [fault.do, fault.target, fault.partition])).toEqual([
      ['partition', 'isolate-leader', 0],
      ['partition', 'majority-minority', 0],
      ['partition', 'isolate-leader', 2],
      ['partition', [[0], [1, 2]], 0],
      ['partition', [[2]], 0],
      ['heal', undefined, 0],
    ]);
    expect(scenario.faults[5]).not.toHaveProperty('target');
    expect(scenario.requires).toEqual(['ack.all', 'commit.after-process', 'fault.partition']);
  });

  it('refuses a partition target no partition can take, and partition targets on other faults, each at its field', () => {
    const text =
      BASE +
      'faults:\n' +
      '  - { at: { ms: 1 }, do: partition, target: leader }\n' +
      '  - { at: { ms: 1 }, do: partition, target: [[0], [1, 0]] }\n' +
      '  - { at: { ms: 1 }, do: partition, target: [[0], [3]] }\n' +
      '  - { at: { ms: 1 }, do: partition, target: [[0, 1, 2]] }\n' +
      '  - { at: { ms: 1 }, do: heal, target: isolate-leader }\n' +
      '  - { at: { ms: 1 }, do: crash-broker, target: [[0], [1]] }\n' +
      '  - { at: { ms: 1 }, do: crash-broker, target: majority-minority }\n' +
      '  - { at: { ms: 1 }, do: partition, target: 2 }\n';
    expect(errorLines(text)).toEqual([
      'x.yaml:18:45: faults[0].target must be isolate-leader, majority-minority or a list of groups of broker indices such as [[0], [1, 2]] for partition (got "leader")',
      'x.yaml:19:55: faults[1].target[1][1] names broker 0 again, as faults[1].target[0][0] did; a broker belongs to one group at most',
      'x.yaml:20:52: faults[2].target[1][0] must be a broker index from 0 to 2 (got 3)',
      'x.yaml:21:45: faults[3].target puts every broker in one group, which cuts no link',
      'x.yaml:22:32: faults[4].target is not allowed for heal, which ends every network partition',
      'x.yaml:23:48: faults[5].target groups of brokers are only for partition, not crash-broker',
      'x.yaml:24:48: faults[6].target majority-minority is only for partition, not crash-broker',
      'x.yaml:25:45: faults[7].target must be isolate-leader, majority-minority or a list of groups of broker indices such as [[0], [1, 2]] for partition (got 2)',
    ]);
    const fields = loadScenarioText(text, 'x.yaml').errors.map((error) => error.field);
    expect(fields.slice(0, 3)).toEqual(['faults[0].target', 'faults[1].target[1][1]', 'faults[2].target[1][0]']);
    // A name that is no target at all, and groups of the wrong shape, are the schema's to refuse.
    const alternatives =
      'must be one of leader, follower, followers, any, crashed, paused, coordinator, isolate-leader, majority-minority, or an integer from 0 to 32, or a list of groups of broker indices such as [[0], [1, 2]]';
    expect(
      errorLines(`${BASE}faults:\n  - { at: { ms: 1 }, do: partition, target: isolate-leadr }\n  - { at: { ms: 1 }, do: partition, target: [[0], []] }\n`),
    ).toEqual([
      `x.yaml:18:45: faults[0].target ${alternatives} (got "isolate-leadr")`,
      `x.yaml:19:45: faults[1].target ${alternatives} (got a list of 2 entries)`,
    ]);
  });

  it('accepts fault targets within range', () => {
    const text =
      edit(BASE, '  keys: 10', '  keys: 10\n  producers: 2\n  consumers: 2') +
      'faults:\n' +
      '  - { at: { ms: 1 }, do: crash-broker, target: 2, partition: 2 }\n' +
      '  - { at: { ms: 1 }, do: crash-consumer, point: after-process, target: 1 }\n' +
      '  - { at: { ms: 1 }, do: crash-producer, target: 1 }\n' +
      '  - { at: { ms: 1 }, do: drop-acks, count: 3, target: follower }\n';
    expect(load(text).faults.map((fault) => fault.target)).toEqual([2, 1, 1, 'follower']);
  });
});

describe('loadScenarios: files and folders', () => {
  let temporary: string | undefined;
  afterEach(async () => {
    if (temporary !== undefined) await rm(temporary, { recursive: true, force: true });
    temporary = undefined;
  });

  it('searches folders recursively, sorted by path, skipping hidden and non-YAML files', async () => {
    const nested = join(fixtures, 'nested');
    const { scenarios, errors } = await loadScenarios([nested]);
    expect(errors).toEqual([]);
    expect(scenarios.map((scenario) => scenario.file)).toEqual([
      join(nested, 'a', 'deeper', 'y-deepest.yml'),
      join(nested, 'a', 'z-inner.yaml'),
      join(nested, 'b-top.yaml'),
    ]);
    expect(scenarios.map((scenario) => scenario.name)).toEqual(['y-deepest', 'z-inner', 'b-top']);
  });

  it('reports files under the path exactly as the user gave it', async () => {
    const nested = join(fixtures, 'nested');
    const withSlash = await loadScenarios([`./${nested}/`]);
    expect(withSlash.scenarios[0]?.file).toBe(`./${nested}/a/deeper/y-deepest.yml`);
    const absolute = await loadScenarios([resolve(nested)]);
    expect(absolute.scenarios[0]?.file).toBe(join(resolve(nested), 'a', 'deeper', 'y-deepest.yml'));
  });

  it('reads every file and reports the errors of all of them', async () => {
    const bad = join(fixtures, 'bad');
    const { scenarios, errors } = await loadScenarios([bad]);
    expect(scenarios).toEqual([]);
    expect(errors.map((error) => error.format())).toEqual([
      `${bad}/two-mistakes.yaml:7:3: topic.partitons is not a known field (known: partitions, replication, minInsync, uncleanElection)`,
      `${bad}/two-mistakes.yaml:11:13: workload.messages must be an integer from 1 to 1000000 (got "many")`,
      `${bad}/typo-ack.yaml:6:8: producer.ack must be one of none, leader, all (got "al")`,
    ]);
    expect(errors.every((error) => error instanceof LoadError)).toBe(true);
    expect(String(errors[2])).toBe(errors[2]?.format());
  });

  it('keeps going past a missing path and loads the rest, in the order given', async () => {
    const minimal = join(fixtures, 'valid', 'minimal.yml');
    const missing = join(fixtures, 'no-such-file.yaml');
    const { scenarios, errors } = await loadScenarios([missing, minimal, join(fixtures, 'bad', 'typo-ack.yaml')]);
    expect(scenarios.map((scenario) => scenario.file)).toEqual([minimal]);
    expect(errors.map((error) => error.format())).toEqual([
      `${missing}: no such file or folder`,
      `${fixtures}/bad/typo-ack.yaml:6:8: producer.ack must be one of none, leader, all (got "al")`,
    ]);
    expect(errors[0]).toMatchObject({ line: 0, column: 0, field: '' });
  });

  it('loads a file named twice, or named and inside a folder named, once', async () => {
    const nested = join(fixtures, 'nested');
    const top = join(nested, 'b-top.yaml');
    const { scenarios } = await loadScenarios([top, nested, top]);
    expect(scenarios.map((scenario) => scenario.name)).toEqual(['b-top', 'y-deepest', 'z-inner']);
  });

  it('treats a folder without scenario files as an error, since running nothing proves nothing', async () => {
    temporary = await mkdtemp(join(tmpdir(), 'deliverycheck-loader-'));
    await writeFile(join(temporary, 'README.md'), 'no scenarios here\n');
    const { scenarios, errors } = await loadScenarios([temporary]);
    expect(scenarios).toEqual([]);
    expect(errors.map((error) => error.format())).toEqual([
      `${temporary}: the folder holds no scenario files (*.yaml or *.yml)`,
    ]);
  });
});
