// Charts of a benchmark result as a self-contained SVG (no dependencies, no scripts), or an HTML
// page holding that SVG and the results table.
//
// Two figures:
// - Latency percentiles per run: one row per run, p50, p90, p99, p99.9 and max of the publish and
//   the end-to-end latency on a logarithmic axis, since tails are orders of magnitude above medians.
// - For workloads with stepped rates, the latency-throughput curve: p50 (dashed) and p99 (solid)
//   latency against the producer throughput achieved at each step. Where the curve turns upward
//   the system is saturated; where throughput stops growing while latency climbs, it is past it.
// Every mark has a <title>, which browsers show as a tooltip with the exact figure.

import type { BenchResult, BenchRun, LatencySummary } from '../spec/bench-result.js';
import { formatMs, formatRate, resultsTable, runName, STATUS_WORDS } from './report.js';

/** Okabe–Ito colours: told apart by readers with any common colour-vision deficiency. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const;

const PERCENTILE_MARKS = [
  { key: 'p50Us', label: 'p50', color: '#0072B2', shape: 'circle' },
  { key: 'p90Us', label: 'p90', color: '#009E73', shape: 'square' },
  { key: 'p99Us', label: 'p99', color: '#E69F00', shape: 'diamond' },
  { key: 'p999Us', label: 'p99.9', color: '#D55E00', shape: 'triangle' },
  { key: 'maxUs', label: 'max', color: '#000000', shape: 'cross' },
] as const;

type Shape = (typeof PERCENTILE_MARKS)[number]['shape'];

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function num(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

/** A logarithmic scale from [lowMs, highMs] to [fromPx, toPx]; values at or below lowMs sit at fromPx. */
class LogScale {
  constructor(
    readonly lowMs: number,
    readonly highMs: number,
    private readonly fromPx: number,
    private readonly toPx: number,
  ) {}

  /** A domain of whole decades that holds every value given (in microseconds). */
  static covering(valuesUs: readonly number[], fromPx: number, toPx: number): LogScale {
    const positive = valuesUs.filter((value) => value > 0).map((value) => value / 1000);
    if (positive.length === 0) return new LogScale(0.1, 10, fromPx, toPx);
    let low = 10 ** Math.floor(Math.log10(Math.min(...positive)));
    let high = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
    if (high <= low) high = low * 10;
    // One decade at least on each side of a single value reads better than a point on an edge.
    if (high / low < 100) low = Math.max(0.001, low / 10);
    return new LogScale(low, high, fromPx, toPx);
  }

  at(valueMs: number): number {
    const clamped = Math.min(Math.max(valueMs, this.lowMs), this.highMs);
    const share = (Math.log10(clamped) - Math.log10(this.lowMs)) / (Math.log10(this.highMs) - Math.log10(this.lowMs));
    return this.fromPx + share * (this.toPx - this.fromPx);
  }

  decades(): number[] {
    const ticks: number[] = [];
    for (let exponent = Math.round(Math.log10(this.lowMs)); 10 ** exponent <= this.highMs * 1.0001; exponent++) {
      ticks.push(10 ** exponent);
    }
    return ticks;
  }
}

function tickLabel(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  if (ms >= 1) return `${ms} ms`;
  return `${Math.round(ms * 1000)} µs`;
}

function marker(shape: Shape, x: number, y: number, color: string, title: string): string {
  const t = `<title>${escapeXml(title)}</title>`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${num(x)}" cy="${num(y)}" r="4" fill="${color}">${t}</circle>`;
    case 'square':
      return `<rect x="${num(x - 3.5)}" y="${num(y - 3.5)}" width="7" height="7" fill="${color}">${t}</rect>`;
    case 'diamond':
      return `<path d="M${num(x)} ${num(y - 5)}L${num(x + 5)} ${num(y)}L${num(x)} ${num(y + 5)}L${num(x - 5)} ${num(y)}Z" fill="${color}">${t}</path>`;
    case 'triangle':
      return `<path d="M${num(x)} ${num(y - 5)}L${num(x + 5)} ${num(y + 4)}L${num(x - 5)} ${num(y + 4)}Z" fill="${color}">${t}</path>`;
    case 'cross':
      return `<path d="M${num(x - 4)} ${num(y - 4)}L${num(x + 4)} ${num(y + 4)}M${num(x - 4)} ${num(y + 4)}L${num(x + 4)} ${num(y - 4)}" stroke="${color}" stroke-width="2">${t}</path>`;
  }
}

function measured(run: BenchRun): boolean {
  return run.status === 'ok' || run.status === 'failed';
}

function rowLabel(run: BenchRun): string {
  const clock = run.clock === 'virtual' ? ' *' : '';
  const status = measured(run) ? (run.status === 'failed' ? ' (FAIL)' : '') : ` (${STATUS_WORDS[run.status]})`;
  return `${run.workload} · ${run.adapter}${clock} · ${run.rate}/s${status}`;
}

/** The percentile marks of one latency on one row. */
function percentileRow(summary: LatencySummary, scale: LogScale, y: number, what: string): string {
  if (summary.count === 0) return '';
  // A logarithmic axis has no zero: a latency that is all zeros (ack none's publish latency on a
  // model whose client accepts at once) is said in words rather than drawn at the axis' edge.
  if (summary.maxUs === 0) {
    return `<text x="${num(scale.at(scale.lowMs) + 4)}" y="${num(y + 4)}" font-size="11" fill="#444" ${FONT}>all 0<title>${escapeXml(`${what}: every value 0 ms`)}</title></text>`;
  }
  const x50 = scale.at(summary.p50Us / 1000);
  const xMax = scale.at(summary.maxUs / 1000);
  const parts = [`<line x1="${num(x50)}" y1="${num(y)}" x2="${num(xMax)}" y2="${num(y)}" stroke="#999" stroke-width="1.5"/>`];
  for (const mark of PERCENTILE_MARKS) {
    const valueUs = summary[mark.key];
    parts.push(marker(mark.shape, scale.at(valueUs / 1000), y, mark.color, `${what} ${mark.label}: ${formatMs(valueUs)} ms`));
  }
  return parts.join('');
}

interface Block {
  readonly svg: string;
  readonly height: number;
}

/** The figure of percentiles per run, at vertical offset `top`. */
function percentileFigure(runs: readonly BenchRun[], top: number, width: number): Block {
  const labelWidth = Math.min(340, 40 + Math.max(...runs.map((run) => rowLabel(run).length)) * 6.4);
  const gap = 56;
  const plotWidth = (width - labelWidth - gap - 20) / 2;
  const rowHeight = 22;
  const headerHeight = 46;
  const plotTop = top + headerHeight;
  const plotHeight = runs.length * rowHeight;
  const all = runs.filter(measured).flatMap((run) => [run.latency.publish, run.latency.endToEnd]).filter((s) => s.count > 0);
  const values = all.flatMap((summary) => [summary.p50Us, summary.maxUs]);
  const panels = [
    { title: 'publish latency (ack − intended send)', pick: (run: BenchRun) => run.latency.publish, left: labelWidth },
    { title: 'end-to-end latency (processed − intended send)', pick: (run: BenchRun) => run.latency.endToEnd, left: labelWidth + plotWidth + gap },
  ];
  const parts: string[] = [
    `<text x="10" y="${top + 18}" font-size="16" font-weight="600" ${FONT}>Latency percentiles per run</text>`,
  ];
  runs.forEach((run, index) => {
    const y = plotTop + index * rowHeight + rowHeight / 2;
    if (index % 2 === 1) {
      parts.push(`<rect x="6" y="${num(y - rowHeight / 2)}" width="${num(width - 12)}" height="${rowHeight}" fill="#f4f4f4"/>`);
    }
    parts.push(`<text x="${num(labelWidth - 10)}" y="${num(y + 4)}" font-size="11" text-anchor="end" ${FONT}>${escapeXml(rowLabel(run))}</text>`);
  });
  for (const panel of panels) {
    const scale = LogScale.covering(values, panel.left, panel.left + plotWidth);
    parts.push(`<text x="${num(panel.left)}" y="${top + 38}" font-size="12" font-weight="600" ${FONT}>${escapeXml(panel.title)}</text>`);
    for (const tick of scale.decades()) {
      const x = scale.at(tick);
      parts.push(`<line x1="${num(x)}" y1="${plotTop}" x2="${num(x)}" y2="${plotTop + plotHeight}" stroke="#ddd"/>`);
      parts.push(`<text x="${num(x)}" y="${plotTop + plotHeight + 14}" font-size="10" text-anchor="middle" ${FONT}>${tickLabel(tick)}</text>`);
    }
    runs.forEach((run, index) => {
      if (!measured(run)) return;
      const y = plotTop + index * rowHeight + rowHeight / 2;
      parts.push(percentileRow(panel.pick(run), scale, y, `${runName(run)}: ${panel.title.split(' (')[0] ?? ''}`));
    });
  }
  // The legend, under the axes.
  const legendY = plotTop + plotHeight + 34;
  let legendX = labelWidth;
  for (const mark of PERCENTILE_MARKS) {
    parts.push(marker(mark.shape, legendX, legendY - 4, mark.color, mark.label));
    parts.push(`<text x="${num(legendX + 9)}" y="${legendY}" font-size="11" ${FONT}>${mark.label}</text>`);
    legendX += 64;
  }
  let height = legendY - top + 10;
  if (runs.some((run) => run.clock === 'virtual')) {
    parts.push(
      `<text x="10" y="${legendY + 20}" font-size="11" fill="#444" ${FONT}>* virtual clock: the reference model's simulated time, not a measurement of this machine or of a real broker</text>`,
    );
    height += 20;
  }
  return { svg: parts.join('\n'), height };
}

interface Series {
  readonly label: string;
  readonly color: string;
  readonly runs: readonly BenchRun[];
}

/** The stepped workloads' runs, one series per workload and adapter, in step order. */
function steppedSeries(runs: readonly BenchRun[]): Series[] {
  const groups = new Map<string, BenchRun[]>();
  for (const run of runs) {
    if (run.steps < 2 || !measured(run)) continue;
    const key = `${run.file}\n${run.workload}\n${run.adapter}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((group, index) => {
    const first = group[0] as BenchRun;
    return {
      label: `${first.workload} · ${first.adapter}${first.clock === 'virtual' ? ' *' : ''}`,
      color: PALETTE[index % PALETTE.length] ?? '#000000',
      runs: [...group].sort((a, b) => a.step - b.step),
    };
  });
}

/** Round numbers for a linear axis from 0 to at least `max`. */
function linearTicks(max: number): { readonly top: number; readonly ticks: number[] } {
  if (max <= 0) return { top: 1, ticks: [0, 1] };
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough) ?? rough;
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let tick = 0; tick <= top + step / 2; tick += step) ticks.push(Math.round(tick * 1000) / 1000);
  return { top, ticks };
}

/** The latency-throughput curves of the stepped workloads, at vertical offset `top`. */
function curveFigure(series: readonly Series[], top: number, width: number): Block {
  const gap = 60;
  const left = 70;
  const plotWidth = (width - left - gap - 30) / 2;
  const plotTop = top + 50;
  const plotHeight = 260;
  const parts: string[] = [
    `<text x="10" y="${top + 18}" font-size="16" font-weight="600" ${FONT}>Latency against throughput (stepped rates)</text>`,
  ];
  const allRuns = series.flatMap((entry) => entry.runs);
  const { top: xTop, ticks: xTicks } = linearTicks(
    Math.max(...allRuns.map((run) => Math.max(run.throughput.producer.messagesPerSecond, run.rate))),
  );
  const panels = [
    { title: 'publish latency', pick: (run: BenchRun) => run.latency.publish, x0: left },
    { title: 'end-to-end latency', pick: (run: BenchRun) => run.latency.endToEnd, x0: left + plotWidth + gap },
  ];
  for (const panel of panels) {
    const summaries = allRuns.map(panel.pick).filter((summary) => summary.count > 0);
    const scale = LogScale.covering(
      summaries.flatMap((summary) => [summary.p50Us, summary.p99Us]),
      plotTop + plotHeight,
      plotTop,
    );
    const xAt = (perSecond: number) => panel.x0 + (perSecond / xTop) * plotWidth;
    parts.push(`<text x="${num(panel.x0)}" y="${top + 40}" font-size="12" font-weight="600" ${FONT}>${panel.title}</text>`);
    parts.push(`<rect x="${num(panel.x0)}" y="${plotTop}" width="${num(plotWidth)}" height="${plotHeight}" fill="none" stroke="#bbb"/>`);
    for (const tick of scale.decades()) {
      const y = scale.at(tick);
      parts.push(`<line x1="${num(panel.x0)}" y1="${num(y)}" x2="${num(panel.x0 + plotWidth)}" y2="${num(y)}" stroke="#e4e4e4"/>`);
      parts.push(`<text x="${num(panel.x0 - 6)}" y="${num(y + 4)}" font-size="10" text-anchor="end" ${FONT}>${tickLabel(tick)}</text>`);
    }
    for (const tick of xTicks) {
      const x = xAt(tick);
      parts.push(`<line x1="${num(x)}" y1="${plotTop}" x2="${num(x)}" y2="${plotTop + plotHeight}" stroke="#eee"/>`);
      parts.push(`<text x="${num(x)}" y="${plotTop + plotHeight + 14}" font-size="10" text-anchor="middle" ${FONT}>${tick}</text>`);
    }
    parts.push(
      `<text x="${num(panel.x0 + plotWidth / 2)}" y="${plotTop + plotHeight + 32}" font-size="11" text-anchor="middle" ${FONT}>producer throughput achieved (msg/s)</text>`,
    );
    for (const entry of series) {
      for (const [percentile, dash] of [
        ['p50Us', ' stroke-dasharray="5 4"'],
        ['p99Us', ''],
      ] as const) {
        const points = entry.runs
          .filter((run) => panel.pick(run).count > 0)
          .map((run) => ({ run, x: xAt(run.throughput.producer.messagesPerSecond), y: scale.at(panel.pick(run)[percentile] / 1000) }));
        if (points.length === 0) continue;
        parts.push(
          `<polyline points="${points.map((point) => `${num(point.x)},${num(point.y)}`).join(' ')}" fill="none" stroke="${entry.color}" stroke-width="2"${dash}/>`,
        );
        for (const point of points) {
          const value = panel.pick(point.run)[percentile];
          parts.push(
            marker(
              'circle',
              point.x,
              point.y,
              entry.color,
              `${entry.label}: offered ${point.run.rate} msg/s, achieved ${formatRate(point.run.throughput.producer.messagesPerSecond)} msg/s, ${panel.title} ${percentile === 'p50Us' ? 'p50' : 'p99'} ${formatMs(value)} ms`,
            ),
          );
        }
      }
    }
  }
  let legendY = plotTop + plotHeight + 54;
  parts.push(
    `<text x="${left}" y="${legendY}" font-size="11" ${FONT}>solid: p99, dashed: p50; one colour per workload and adapter:</text>`,
  );
  for (const entry of series) {
    legendY += 16;
    parts.push(`<line x1="${left}" y1="${legendY - 4}" x2="${left + 24}" y2="${legendY - 4}" stroke="${entry.color}" stroke-width="3"/>`);
    parts.push(`<text x="${left + 30}" y="${legendY}" font-size="11" ${FONT}>${escapeXml(entry.label)}</text>`);
  }
  return { svg: parts.join('\n'), height: legendY - top + 12 };
}

/** The whole chart as one SVG document. */
export function renderBenchSvg(result: BenchResult): string {
  const width = 1200;
  const runs = result.runs;
  const blocks: Block[] = [];
  let top = 10;
  if (runs.length === 0) {
    blocks.push({ svg: `<text x="10" y="30" font-size="14" ${FONT}>No benchmark runs.</text>`, height: 40 });
  } else {
    const percentiles = percentileFigure(runs, top, width);
    blocks.push(percentiles);
    top += percentiles.height + 24;
    const series = steppedSeries(runs);
    if (series.length > 0) blocks.push(curveFigure(series, top, width));
  }
  const height = 10 + blocks.reduce((sum, block) => sum + block.height + 24, 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${num(height)}" viewBox="0 0 ${width} ${num(height)}">`,
    `<title>deliverycheck bench ${escapeXml(result.version)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...blocks.map((block) => block.svg),
    '</svg>',
    '',
  ].join('\n');
}

/** An HTML page with the chart and the results table, for a browser or a CI artifact. */
export function renderBenchHtml(result: BenchResult): string {
  const table = resultsTable(result.runs);
  const cells = (row: readonly string[], tag: 'td' | 'th') =>
    row.map((cell, index) => `<${tag}${table.right[index] === true ? ' class="num"' : ''}>${escapeXml(cell)}</${tag}>`).join('');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>deliverycheck bench ${escapeXml(result.version)}</title>`,
    '<style>',
    'body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; color: #222; }',
    'table { border-collapse: collapse; font-size: 13px; margin-top: 1em; }',
    'th, td { border: 1px solid #ccc; padding: 3px 8px; } th { background: #f0f0f0; } td.num, th.num { text-align: right; }',
    'svg { max-width: 100%; height: auto; }',
    '</style>',
    '</head>',
    '<body>',
    '<h1>deliverycheck bench</h1>',
    `<p>deliverycheck ${escapeXml(result.version)}, Node ${escapeXml(result.node)}. Latencies are in milliseconds (p50 / p99 / p99.9 / max), measured from each message's intended send time on an open-loop schedule.</p>`,
    result.runs.some((run) => run.clock === 'virtual')
      ? '<p><strong>Virtual clock:</strong> runs on the reference broker report the simulation\'s time, not measurements of this machine or of a real broker.</p>'
      : '',
    renderBenchSvg(result),
    '<table>',
    `<thead><tr>${cells(table.header, 'th')}</tr></thead>`,
    '<tbody>',
    ...table.rows.map((row) => `<tr>${cells(row, 'td')}</tr>`),
    '</tbody>',
    '</table>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
