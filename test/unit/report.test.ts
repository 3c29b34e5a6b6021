// The reports a run writes: the JSON must match the published schema, the JUnit XML must be
// well-formed for any input, and the human output must say the same things in a terminal.

import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { resultSchema, type RunResult, type ScenarioResult } from '../../spec/result.js';
import { describeWitness, exitCodeFor } from '../../harness/report/claims.js';
import { oneLine } from '../../core/one-line.js';
import {
  formatDetails,
  formatDuration,
  formatProgress,
  formatScenarioLine,
  formatSummary,
  HumanReporter,
} from '../../harness/report/human.js';
import { buildRunResult, formatJson } from '../../harness/report/json.js';
import { escapeXmlAttribute, escapeXmlText, formatJunit, junitClassName } from '../../harness/report/junit.js';
import { reproduceCommand, shellQuote } from '../../harness/conformance/reproduce.js';

const zeroCounts = { sent: 0, acknowledged: 0, stored: 0, delivered: 0, processed: 0 };

const passed: ScenarioResult = {
  file: 'suites/producer-acks/acks-all-leader-crash.yaml',
  name: 'acks=all survives a leader crash',
  seed: 7,
  status: 'passed',
  counts: { sent: 2000, acknowledged: 2000, stored: 2000, delivered: 2100, processed: 2000 },
  anomalies: {
    lost: { expect: 'none', count: 0, held: true, witnesses: [] },
    duplicated: { expect: 'allowed', count: 100, held: true, witnesses: [] },
  },
  durationMs: 1234,
  reproduce: 'npx deliverycheck run suites/producer-acks/acks-all-leader-crash.yaml --adapter reference --seed 7',
};

const lostWitnesses = [1, 2, 3, 4].map((n) => ({
  ids: [`m-0-${n}`],
  partition: 2,
  offsets: [40 + n],
  lines: [10 + n, 90],
  note: 'acknowledged, never found by the drain',
}));

const failed: ScenarioResult = {
  file: 'suites/producer-acks/acks-leader-loses.yaml',
  name: 'acks=leader <loses> "writes" & more',
  seed: 3,
  status: 'failed',
  counts: { sent: 100, acknowledged: 100, stored: 95, delivered: 95, processed: 95 },
  anomalies: {
    lost: { expect: 'none', count: 5, held: false, witnesses: lostWitnesses },
    reordered: { expect: 'witnessed', count: 0, held: false, witnesses: [] },
    duplicated: { expect: 'none', count: 0, held: true, witnesses: [] },
  },
  durationMs: 850,
  reproduce: 'npx deliverycheck run suites/producer-acks/acks-leader-loses.yaml --adapter reference --seed 3',
  history: 'histories/acks-leader-loses.jsonl',
};

const skipped: ScenarioResult = {
  file: 'suites/exactly-once/transactional.yaml',
  name: 'transactions hold',
  seed: 1,
  status: 'skipped',
  reason: "adapter lacks commit.transactional, producer.transactional",
  counts: zeroCounts,
  anomalies: {},
  durationMs: 0,
  reproduce: 'npx deliverycheck run suites/exactly-once/transactional.yaml --adapter reference --seed 1',
};

const errored: ScenarioResult = {
  file: 'suites/controls/hung.yaml',
  name: 'a hung broker',
  seed: 1,
  status: 'error',
  reason: 'send did not answer within 5000ms',
  counts: zeroCounts,
  anomalies: {},
  durationMs: 65_000,
  reproduce: 'npx deliverycheck run suites/controls/hung.yaml --adapter reference --seed 1',
  notes: ['the fault at acked 500 never fired'],
};

const run: RunResult = buildRunResult({
  version: '0.1.0',
  adapter: 'reference',
  defects: ['lose-unreplicated'],
  scenarios: [passed, failed, skipped, errored],
});

const plain = { color: false };

describe('reproduceCommand', () => {
  it('names the file, adapter, seed and each defect', () => {
    expect(reproduceCommand({ file: 'suites/a.yaml', adapter: 'reference', seed: 7, defects: [] })).toBe(
      'npx deliverycheck run suites/a.yaml --adapter reference --seed 7',
    );
    expect(reproduceCommand({ file: 'suites/a.yaml', adapter: 'reference', seed: 0, defects: ['x', 'y-z'] })).toBe(
      'npx deliverycheck run suites/a.yaml --adapter reference --seed 0 --defect x --defect y-z',
    );
  });

  it('names the user\'s cluster again when the run was given one', () => {
    const clusterArgs = ['--brokers', 'k1:9092,k2:9092', '--cluster-config', 'my cluster.yaml'];
    expect(reproduceCommand({ file: 'suites/a.yaml', adapter: 'kafka', seed: 7, defects: [], clusterArgs })).toBe(
      "npx deliverycheck run suites/a.yaml --adapter kafka --seed 7 --brokers k1:9092,k2:9092 --cluster-config 'my cluster.yaml'",
    );
  });

  it('quotes what a shell would change', () => {
    expect(reproduceCommand({ file: 'my suites/it\'s $HOME*.yaml', adapter: 'ref', seed: 1, defects: ['a b'] })).toBe(
      "npx deliverycheck run 'my suites/it'\\''s $HOME*.yaml' --adapter ref --seed 1 --defect 'a b'",
    );
    expect(reproduceCommand({ file: '-odd.yaml', adapter: 'ref', seed: 1, defects: [] })).toBe(
      'npx deliverycheck run ./-odd.yaml --adapter ref --seed 1',
    );
  });

  it('leaves plain words alone and quotes the empty word', () => {
    expect(shellQuote('suites/producer-acks/a_b.v2.yaml')).toBe('suites/producer-acks/a_b.v2.yaml');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('~/x')).toBe("'~/x'");
    expect(shellQuote('a"b')).toBe(`'a"b'`);
  });
});

describe('JSON report', () => {
  const validate = new Ajv2020({ allErrors: true }).compile(resultSchema);

  it('validates against the result schema for every status', () => {
    const parsed: unknown = JSON.parse(formatJson(run));
    expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);
    expect(parsed).toEqual(run);
  });

  it('is indented by two spaces and ends with a newline', () => {
    const text = formatJson(run);
    expect(text.startsWith('{\n  "tool": "deliverycheck",\n  "version": "0.1.0",')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('leaves out defects when none were switched on', () => {
    const bare = buildRunResult({ version: '0.1.0', adapter: 'reference', defects: [], scenarios: [passed] });
    expect('defects' in bare).toBe(false);
    expect(validate(JSON.parse(formatJson(bare)))).toBe(true);
  });

  it('rejects a skipped result without a reason, so the sample above proves something', () => {
    const { reason: _reason, ...withoutReason } = skipped;
    const bad = { ...run, scenarios: [withoutReason] };
    expect(validate(JSON.parse(JSON.stringify(bad)))).toBe(false);
  });
});

/**
 * A small XML 1.0 well-formedness check, enough for what the JUnit writer produces: one
 * declaration, balanced elements, quoted and escaped attributes, no bare `<` or `&` in text, and
 * no characters XML forbids.
 */
function assertWellFormed(xml: string): void {
  expect(xml).not.toMatch(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u);
  const body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/u, '');
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gu;
  for (const match of body.matchAll(token)) {
    const [, closing, name, attributes, selfClosing, text, stray] = match;
    if (stray !== undefined) throw new Error(`stray < at ${match.index}: ${body.slice(match.index, match.index + 40)}`);
    if (text !== undefined) {
      expect(text).not.toMatch(/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/u);
      if (stack.length === 0) expect(text.trim()).toBe('');
      continue;
    }
    expect(attributes ?? '').not.toMatch(/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/u);
    if (closing === '/') expect(stack.pop()).toBe(name);
    else if (selfClosing !== '/') stack.push(name ?? '');
  }
  expect(stack).toEqual([]);
}

describe('JUnit report', () => {
  it('is checked by a well-formedness check that can fail', () => {
    expect(() => assertWellFormed('<a><b></a>')).toThrow();
    expect(() => assertWellFormed('<a>x & y</a>')).toThrow();
    expect(() => assertWellFormed('<a b="<"/>')).toThrow();
    expect(() => assertWellFormed('<a>\u0001</a>')).toThrow();
    expect(() => assertWellFormed('<a><b/></a>')).not.toThrow();
  });

  it('writes the exact XML for a small run', () => {
    const small = buildRunResult({ version: '0.1.0', adapter: 'reference', defects: [], scenarios: [passed, skipped] });
    expect(formatJunit(small)).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="deliverycheck" tests="2" failures="0" errors="0" skipped="1" time="1.234">',
        '  <testsuite name="deliverycheck (reference)" tests="2" failures="0" errors="0" skipped="1" time="1.234">',
        '    <properties>',
        '      <property name="version" value="0.1.0"/>',
        '      <property name="adapter" value="reference"/>',
        '    </properties>',
        '    <testcase classname="suites.producer-acks" name="acks=all survives a leader crash" file="suites/producer-acks/acks-all-leader-crash.yaml" time="1.234"/>',
        '    <testcase classname="suites.exactly-once" name="transactions hold" file="suites/exactly-once/transactional.yaml" time="0.000">',
        '      <skipped message="adapter lacks commit.transactional, producer.transactional"/>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });

  it('lists each violated claim with its witnesses and the reproduce command', () => {
    const xml = formatJunit(run);
    assertWellFormed(xml);
    expect(xml).toContain(
      '<testsuite name="deliverycheck (reference)" tests="4" failures="1" errors="1" skipped="1" time="67.084">',
    );
    expect(xml).toContain('<property name="defects" value="lose-unreplicated"/>');
    expect(xml).toContain(
      '<testcase classname="suites.producer-acks" name="acks=leader &lt;loses&gt; &quot;writes&quot; &amp; more"',
    );
    expect(xml).toContain(
      '<failure message="lost: expected none, got 5; reordered: expected witnessed (at least 1), got 0" type="violated-claim">' +
        'lost: expected none, got 5\n' +
        '  - id m-0-1; partition 2; offset 41; history lines 11, 90: acknowledged, never found by the drain\n',
    );
    // Every kept witness is in the file, not only the first three the terminal shows.
    expect(xml).toContain('  - id m-0-4; partition 2; offset 44; history lines 14, 90:');
    expect(xml).toContain('  (1 more not kept as witnesses)\nreordered: expected witnessed (at least 1), got 0\n');
    expect(xml).toContain(
      'reproduce: npx deliverycheck run suites/producer-acks/acks-leader-loses.yaml --adapter reference --seed 3\n' +
        'history: histories/acks-leader-loses.jsonl</failure>',
    );
    expect(xml).toContain('<error message="send did not answer within 5000ms" type="error">send did not answer');
    expect(xml).toContain('<system-out>note: the fault at acked 500 never fired</system-out>');
  });

  it("escapes <&\"' and characters XML 1.0 forbids", () => {
    expect(escapeXmlAttribute(`<a href="x">&'\n\t`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&#10;&#9;');
    expect(escapeXmlText(`<&>"' ]]>`)).toBe(`&lt;&amp;&gt;"' ]]&gt;`);
    expect(escapeXmlText('a\u0000b\u001bc\uFFFEd\uD800e\u{1F600}')).toBe('a\\u0000b\\u001Bc\\uFFFEd\\uD800e\u{1F600}');

    const nasty: ScenarioResult = {
      ...errored,
      name: `<script>&'"\u0007`,
      reason: 'broker said \u001b[31m<boom>\u0000 & left\nsecond line',
      notes: ['</system-out><x>'],
    };
    const xml = formatJunit(buildRunResult({ version: '0.1.0', adapter: 'a"b', defects: [], scenarios: [nasty] }));
    assertWellFormed(xml);
    expect(xml).toContain('name="&lt;script&gt;&amp;&apos;&quot;\\u0007"');
    expect(xml).toContain('message="broker said \\u001B[31m&lt;boom&gt;\\u0000 &amp; left&#10;second line"');
    expect(xml).toContain('<system-out>note: &lt;/system-out&gt;&lt;x&gt;</system-out>');
    expect(xml).toContain('<testsuite name="deliverycheck (a&quot;b)"');
  });

  it('uses the file folder with dots as the class name', () => {
    expect(junitClassName('suites/producer-acks/a.yaml')).toBe('suites.producer-acks');
    expect(junitClassName('./suites/a.yaml')).toBe('suites');
    expect(junitClassName('/tmp/x/suites/a.yaml')).toBe('tmp.x.suites');
    expect(junitClassName('suites\\ordering\\a.yaml')).toBe('suites.ordering');
    expect(junitClassName('a.yaml')).toBe('deliverycheck');
  });
});

describe('human output', () => {
  it('prints one line per scenario with status, file, name and duration', () => {
    expect(formatScenarioLine(passed, plain)).toBe(
      'PASS  suites/producer-acks/acks-all-leader-crash.yaml  acks=all survives a leader crash  (1.2s)',
    );
    expect(formatScenarioLine(failed, plain)).toBe(
      'FAIL  suites/producer-acks/acks-leader-loses.yaml  acks=leader <loses> "writes" & more  (850ms)' +
        ' — lost: expected none, got 5; reordered: expected witnessed (at least 1), got 0',
    );
    expect(formatScenarioLine(skipped, plain)).toBe(
      'SKIP  suites/exactly-once/transactional.yaml  transactions hold  (0ms)' +
        ' — adapter lacks commit.transactional, producer.transactional',
    );
    expect(formatScenarioLine(errored, plain)).toBe(
      'ERROR suites/controls/hung.yaml  a hung broker  (1m 05s) — send did not answer within 5000ms\n' +
        '      note: the fault at acked 500 never fired',
    );
  });

  it('colours only when asked', () => {
    expect(formatScenarioLine(passed, plain)).not.toContain('\u001b[');
    expect(formatScenarioLine(passed, { color: true })).toContain('\u001b[32mPASS \u001b[39m');
    expect(formatScenarioLine(failed, { color: true })).toContain('\u001b[31mFAIL ');
  });

  it('summarises the run in one line', () => {
    expect(formatSummary([passed, failed, skipped, errored])).toBe('4 scenarios: 1 passed, 1 failed, 1 skipped, 1 error');
    expect(formatSummary([passed])).toBe('1 scenario: 1 passed, 0 failed, 0 skipped, 0 errors');
    const twelve = [...Array<ScenarioResult>(10).fill(passed), failed, skipped];
    expect(formatSummary(twelve)).toBe('12 scenarios: 10 passed, 1 failed, 1 skipped, 0 errors');
  });

  it('shows up to three witnesses per violated claim and the reproduce command', () => {
    expect(formatDetails([passed, failed, skipped, errored], plain)).toBe(
      [
        'FAIL  suites/producer-acks/acks-leader-loses.yaml  acks=leader <loses> "writes" & more',
        '  lost: expected none, got 5',
        '    - id m-0-1; partition 2; offset 41; history lines 11, 90: acknowledged, never found by the drain',
        '    - id m-0-2; partition 2; offset 42; history lines 12, 90: acknowledged, never found by the drain',
        '    - id m-0-3; partition 2; offset 43; history lines 13, 90: acknowledged, never found by the drain',
        '    (2 more)',
        '  reordered: expected witnessed (at least 1), got 0',
        '  history:   histories/acks-leader-loses.jsonl',
        '  reproduce: npx deliverycheck run suites/producer-acks/acks-leader-loses.yaml --adapter reference --seed 3',
        '',
        'ERROR suites/controls/hung.yaml  a hung broker',
        '  send did not answer within 5000ms',
        '  reproduce: npx deliverycheck run suites/controls/hung.yaml --adapter reference --seed 1',
      ].join('\n'),
    );
    expect(formatDetails([passed, skipped], plain)).toBe('');
  });

  it('describes witnesses with whatever they carry', () => {
    expect(describeWitness({ ids: ['a', 'b'], offsets: [3, 9], lines: [4], note: 'stored twice' })).toBe(
      'ids a, b; offsets 3, 9; history line 4: stored twice',
    );
    expect(describeWitness({ ids: [], lines: [], note: 'nothing else' })).toBe('nothing else');
  });

  it('keeps terminal lines free of control characters', () => {
    expect(oneLine('a\r\n  b\u001b[2Jc\u0085')).toBe('a b\\x1b[2Jc\\x85');
  });

  it('formats durations and a progress line that fits the terminal', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(999.6)).toBe('1000ms');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatProgress(3, 12, 'suites/x.yaml')).toBe('[3/12] running suites/x.yaml');
    expect(formatProgress(3, 12, 'suites/a-very-long-name.yaml', 20)).toBe('[3/12] running sui…');
  });

  it('draws progress on stderr only on a terminal and clears it before each line', () => {
    const print = (progress: boolean) => {
      const out: string[] = [];
      const err: string[] = [];
      const reporter = new HumanReporter({
        stdout: { write: (text: string) => out.push(text) },
        stderr: { write: (text: string) => err.push(text) },
        color: false,
        progress,
      });
      reporter.begin(2);
      reporter.starting(1, passed.file);
      reporter.finished(passed);
      reporter.starting(2, skipped.file);
      reporter.finished(skipped);
      reporter.end([passed, skipped]);
      return { out: out.join(''), err: err.join('') };
    };
    const piped = print(false);
    expect(piped.err).toBe('');
    expect(piped.out).toBe(
      `${formatScenarioLine(passed, plain)}\n${formatScenarioLine(skipped, plain)}\n\n` +
        '2 scenarios: 1 passed, 0 failed, 1 skipped, 0 errors\n',
    );
    const terminal = print(true);
    expect(terminal.out).toBe(piped.out);
    expect(terminal.err).toBe(
      `\r\u001b[K[1/2] running ${passed.file}\r\u001b[K\r\u001b[K[2/2] running ${skipped.file}\r\u001b[K`,
    );
  });
});

describe('exit code', () => {
  it('is 2 for any error, else 1 for any failure, else 0', () => {
    expect(exitCodeFor([passed, skipped])).toBe(0);
    expect(exitCodeFor([passed, failed, skipped])).toBe(1);
    expect(exitCodeFor([failed, errored])).toBe(2);
    expect(exitCodeFor([])).toBe(0);
  });
});

describe('an inconclusive result in every report', () => {
  const reason = 'only 0 of 2000 messages were acknowledged (at least 1000, 50%, needed)';
  const inconclusive: ScenarioResult = {
    file: 'suites/producer-acks/paused.yaml',
    name: 'brokers paused from the start',
    seed: 7,
    status: 'inconclusive',
    reason,
    counts: { sent: 2000, acknowledged: 0, stored: 0, delivered: 0, processed: 0 },
    anomalies: {
      lost: { expect: 'witnessed', count: 0, held: false, witnesses: [] },
      phantom: { expect: 'none', count: 0, held: true, witnesses: [] },
    },
    durationMs: 690,
    reproduce: 'npx deliverycheck run suites/producer-acks/paused.yaml --adapter reference --seed 7',
    history: 'histories/paused.jsonl',
  };
  const withInconclusive = buildRunResult({ version: '0.1.0', adapter: 'reference', defects: [], scenarios: [passed, inconclusive] });
  const validate = new Ajv2020({ allErrors: true }).compile(resultSchema);

  it('validates against the result schema, and only with its reason', () => {
    expect(validate(JSON.parse(formatJson(withInconclusive))), JSON.stringify(validate.errors)).toBe(true);
    const { reason: _reason, ...withoutReason } = inconclusive;
    expect(validate(JSON.parse(JSON.stringify({ ...withInconclusive, scenarios: [withoutReason] })))).toBe(false);
  });

  it('is an error in JUnit, not a skip, so CI goes red, with the reason, the unmet control and the reproduce command', () => {
    const xml = formatJunit(withInconclusive);
    assertWellFormed(xml);
    expect(xml).toContain('<testsuite name="deliverycheck (reference)" tests="2" failures="0" errors="1" skipped="0" time="1.924">');
    expect(xml).toContain(
      `<error message="inconclusive: ${reason}" type="inconclusive">inconclusive: ${reason}\n` +
        'lost: expected witnessed (at least 1), got 0\n' +
        'reproduce: npx deliverycheck run suites/producer-acks/paused.yaml --adapter reference --seed 7\n' +
        'history: histories/paused.jsonl</error>',
    );
    expect(xml).not.toContain('<skipped');
    expect(xml).not.toContain('<system-out>');
  });

  it('has its own word and colour, is counted in the summary, and its details say what was too little', () => {
    expect(formatScenarioLine(inconclusive, plain)).toBe(
      `INCONCLUSIVE suites/producer-acks/paused.yaml  brokers paused from the start  (690ms) — ${reason}`,
    );
    expect(formatScenarioLine(inconclusive, { color: true })).toContain('\u001b[1m\u001b[35mINCONCLUSIVE\u001b[39m\u001b[22m');
    expect(formatSummary([passed, inconclusive, errored])).toBe('3 scenarios: 1 passed, 0 failed, 0 skipped, 1 inconclusive, 1 error');
    expect(formatSummary([passed, inconclusive], { color: true })).toContain('\u001b[35m1 inconclusive\u001b[39m, ');
    expect(formatDetails([passed, inconclusive], plain)).toBe(
      [
        'INCONCLUSIVE suites/producer-acks/paused.yaml  brokers paused from the start',
        `  too little happened for a verdict: ${reason}`,
        '  lost: expected witnessed (at least 1), got 0',
        '  history:   histories/paused.jsonl',
        '  reproduce: npx deliverycheck run suites/producer-acks/paused.yaml --adapter reference --seed 7',
      ].join('\n'),
    );
  });

  it('makes the run exit 2, as an error does, even beside a failure', () => {
    expect(exitCodeFor([passed, inconclusive])).toBe(2);
    expect(exitCodeFor([failed, inconclusive])).toBe(2);
    expect(exitCodeFor([passed, skipped, failed])).toBe(1);
  });
});
