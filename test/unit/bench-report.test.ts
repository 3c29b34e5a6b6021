import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { renderBenchHtml, renderBenchSvg } from '../../bench/chart.js';
import { probeClockKind } from '../../bench/clock.js';
import { claimOf } from '../../bench/claims.js';
import {
  buildBenchResult,
  formatBenchJson,
  formatMs,
  formatTableHeader,
  formatTableRow,
  renderBenchMarkdown,
  tableFootnotes,
  tableWidths,
} from '../../bench/report.js';
import { benchResultSchema, type BenchRun, type LatencySummary } from '../../spec/bench-result.js';

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(benchResultSchema);

function latency(p50Us: number, maxUs: number): LatencySummary {
  return { count: 100, minUs: p50Us / 2, meanUs: p50Us, p50Us, p90Us: p50Us * 1.5, p99Us: p50Us * 2, p999Us: maxUs * 0.9, maxUs };
}

function run(overrides: Partial<BenchRun> = {}): BenchRun {
  return {
    workload: 'ack-all',
    file: 'bench/workloads/ack-all.yaml',
    adapter: 'reference',
    clock: 'virtual',
    seed: 1,
    status: 'ok',
    ack: 'all',
    commit: 'after-process',
    idempotent: false,
    messageBytes: 100,
    partitions: 3,
    replication: 3,
    minInsync: 2,
    producers: 1,
    consumers: 1,
    rate: 2000,
    step: 0,
    steps: 1,
    warmupMs: 200,
    durationMs: 1000,
    counts: { sent: 2400, acknowledged: 2400, stored: 2400, delivered: 2400, processed: 2400 },
    measured: { intended: 2000, acknowledged: 2000, processed: 2000 },
    throughput: {
      producer: { messagesPerSecond: 2000, mebibytesPerSecond: 0.191 },
      consumer: { messagesPerSecond: 1999, mebibytesPerSecond: 0.191 },
    },
    latency: { publish: latency(5_300, 8_400), endToEnd: latency(7_500, 12_100), commit: latency(900, 1_900) },
    errors: { send: 0, commit: 0 },
    anomalies: { lost: 0, unprocessed: 0, duplicated: 0, reordered: 0, phantom: 0, 'aborted-read': 0, 'inconsistent-offset': 0 },
    claims: {
      lost: { expect: 'none', count: 0, held: true, because: 'ack all: no acknowledged message may be lost' },
      duplicated: { expect: 'allowed', count: 0, held: true, because: 'after-process may process twice' },
    },
    driver: {
      missedSchedule: { count: 0, maxLagUs: 0, thresholdUs: 5000 },
      inFlightLimitHits: 0,
      cpuUsPerMessage: 120.5,
      realDurationMs: 900,
    },
    notes: ['a note every run has'],
    ...overrides,
  };
}

/** Tags that do not nest properly: a well-formedness check of generated markup without an XML parser. */
function unbalancedTags(markup: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  for (const match of markup.matchAll(/<(\/?)([A-Za-z]+)\b[^>]*?(\/?)>/g)) {
    const [, closing, name = '', selfClosing] = match;
    if (selfClosing === '/') continue;
    if (closing !== '/') stack.push(name);
    else if (stack.pop() !== name) problems.push(`</${name}> at ${match.index}`);
  }
  return [...problems, ...stack.map((name) => `<${name}> never closed`)];
}

describe('probeClockKind', () => {
  it('calls a clock that stands still between awaits virtual', () => {
    expect(probeClockKind({ now: () => 0 })).toBe('virtual');
  });

  it('calls a clock that moves on its own wall, also when it counts whole milliseconds', () => {
    const openedMs = performance.now();
    expect(probeClockKind({ now: () => performance.now() - openedMs })).toBe('wall');
    expect(probeClockKind({ now: () => Math.round(performance.now() - openedMs) })).toBe('wall');
  });
});

describe('claimOf: what the modes forbid', () => {
  const settings = (ack: 'none' | 'leader' | 'all', commit: BenchRun['commit'], idempotent: boolean, retries: number) => ({
    ack,
    commit,
    idempotent,
    minInsync: 2,
    adapter: { retries },
  });

  it('forbids lost messages under ack all only', () => {
    expect(claimOf(settings('all', 'after-process', false, 0), 'lost').expect).toBe('none');
    expect(claimOf(settings('leader', 'after-process', false, 0), 'lost').expect).toBe('allowed');
    expect(claimOf(settings('none', 'after-process', false, 0), 'lost').expect).toBe('allowed');
  });

  it('forbids duplicates under before-process and transactional when the producer cannot store twice', () => {
    expect(claimOf(settings('all', 'before-process', false, 0), 'duplicated').expect).toBe('none');
    expect(claimOf(settings('all', 'transactional', true, 5), 'duplicated').expect).toBe('none');
    expect(claimOf(settings('none', 'before-process', false, 5), 'duplicated').expect).toBe('none');
    // A resend without idempotence may store a message twice, which no commit mode prevents.
    expect(claimOf(settings('all', 'before-process', false, 3), 'duplicated').expect).toBe('allowed');
    expect(claimOf(settings('all', 'transactional', false, 3), 'duplicated').expect).toBe('allowed');
    expect(claimOf(settings('all', 'after-process', true, 0), 'duplicated').expect).toBe('allowed');
    expect(claimOf(settings('all', 'auto', true, 0), 'duplicated').expect).toBe('allowed');
  });

  it('says why in a sentence', () => {
    expect(claimOf(settings('all', 'before-process', true, 3), 'duplicated').because).toMatch(/at most once.*idempotent/);
  });
});

describe('the JSON result', () => {
  it('is valid against spec/bench-result.schema.json for every status', () => {
    const result = buildBenchResult('0.1.0', [
      run(),
      run({ clock: 'wall', driver: { ...run().driver, eventLoopDelayUs: { p50: 10, p99: 2000, max: 5000 } } }),
      run({ status: 'failed', reason: 'lost: 3 (ack all: ...)' }),
      run({ status: 'skipped', reason: 'adapter x lacks commit.transactional', clock: undefined }),
      run({ status: 'error', reason: 'opening adapter kafka did not finish within 180000 ms', clock: undefined }),
    ]);
    const parsed = JSON.parse(formatBenchJson(result)) as unknown;
    expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);
    expect(result.kind).toBe('bench');
    expect(result.node).toBe(process.version);
  });

  it('is refused by the schema when a failed run has no reason, or a measured run no clock', () => {
    expect(validate(buildBenchResult('0.1.0', [run({ status: 'failed' })]))).toBe(false);
    expect(validate(buildBenchResult('0.1.0', [run({ clock: undefined })]))).toBe(false);
    expect(validate({ ...buildBenchResult('0.1.0', [run()]), extra: 1 })).toBe(false);
  });
});

describe('the terminal table', () => {
  it('lines up rows under the header and marks virtual clocks and broken claims', () => {
    const runs = [
      run(),
      run({
        workload: 'a-much-longer-workload-name',
        adapter: 'kafka',
        clock: 'wall',
        status: 'failed',
        reason: 'lost: 2',
        claims: { ...run().claims, lost: { expect: 'none', count: 2, held: false, because: 'ack all' } },
      }),
    ];
    const widths = tableWidths(['ack-all', 'a-much-longer-workload-name'], ['reference', 'kafka']);
    const header = formatTableHeader(widths);
    const rows = runs.map((entry) => formatTableRow(entry, widths));
    expect(header.indexOf('adapter')).toBe(rows[0]?.indexOf('reference*'));
    expect(header.indexOf('adapter')).toBe(rows[1]?.indexOf('kafka'));
    expect(rows[1]).toMatch(/\b2!\s/);
    expect(rows[1]).toContain('FAIL');
    const footnotes = tableFootnotes(runs).join('\n');
    expect(footnotes).toContain('* virtual clock');
    expect(footnotes).toContain('! the workload');
  });

  it('shows milliseconds with three significant figures', () => {
    expect(formatMs(0)).toBe('0');
    expect(formatMs(523)).toBe('0.523');
    expect(formatMs(1_234)).toBe('1.23');
    expect(formatMs(12_345)).toBe('12.3');
    expect(formatMs(123_456)).toBe('123');
    expect(formatMs(1_234_567)).toBe('1235');
  });
});

describe('Markdown, SVG and HTML', () => {
  const stepped = [4000, 8000, 12000].map((rate, step) =>
    run({ workload: 'curve', rate, step, steps: 3, throughput: { ...run().throughput, producer: { messagesPerSecond: rate, mebibytesPerSecond: 1 } } }),
  );
  const result = buildBenchResult('0.1.0', [run({ workload: 'ack <all> & "more"' }), ...stepped, run({ status: 'skipped', reason: 'lacks it', clock: undefined })]);

  it('writes the results, the driver, the claims and each note once', () => {
    const markdown = renderBenchMarkdown(result, { command: 'npx deliverycheck bench' });
    expect(markdown).toMatch(/^# deliverycheck bench\n/);
    expect(markdown).toContain('| ack <all> & "more" | reference | virtual | all | after-process | 2000 | 2000 | 0.19 | 1999 | 5.30 / 10.6 / 7.56 / 8.40 |');
    expect(markdown).toContain('**Virtual clock.**');
    expect(markdown).toContain('## Driver');
    expect(markdown).toContain('- curve, lost forbidden: ack all: no acknowledged message may be lost.');
    expect(markdown).toContain('- SKIP ack-all on reference at 2000 msg/s: lacks it');
    expect(markdown.match(/a note every run has/g)?.length).toBe(1);
  });

  it('draws every run and, for a stepped workload, its curve, escaping names', () => {
    const svg = renderBenchSvg(result);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('ack &lt;all&gt; &amp; &quot;more&quot;');
    expect(svg).not.toContain('ack <all>');
    expect(svg).toContain('Latency percentiles per run');
    expect(svg).toContain('Latency against throughput (stepped rates)');
    expect(svg).toContain('<polyline');
    expect(svg).toContain('(SKIP)');
    expect(unbalancedTags(svg)).toEqual([]);
  });

  it('leaves the curve out when no workload has stepped rates', () => {
    expect(renderBenchSvg(buildBenchResult('0.1.0', [run()]))).not.toContain('Latency against throughput');
  });

  it('wraps the chart and the results table in an HTML page', () => {
    const html = renderBenchHtml(result);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg xmlns=');
    expect(html).toContain('<td>ack &lt;all&gt; &amp; &quot;more&quot;</td>');
  });
});
