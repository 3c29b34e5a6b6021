// The `--junit` report, in the JUnit XML dialect that Jenkins, GitLab and the GitHub Actions
// test reporters all read: one <testsuite> per run, one <testcase> per scenario. A failed
// scenario's <failure> body holds everything a developer needs without opening the JSON: every
// violated claim, its witnesses and the command that reproduces the run.

import type { RunResult, ScenarioResult } from '../../spec/result.js';
import { countStatuses, describeClaim, describeWitness, unkeptWitnesses, violatedClaims } from './claims.js';

// Characters XML 1.0 does not allow at all, not even as character references: most C0 controls,
// lone surrogates, U+FFFE and U+FFFF. A CI system rejects the whole file for one of them, so each
// is written as a visible `\uXXXX` instead; the `u` flag makes a lone surrogate match on its own.
const ILLEGAL_IN_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function replaceIllegal(text: string): string {
  return text.replace(ILLEGAL_IN_XML, (char) => {
    const code = char.codePointAt(0) ?? 0;
    return `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

/** Escapes character data. `>` is escaped too, so a `]]>` in a message cannot end anything. */
export function escapeXmlText(text: string): string {
  return replaceIllegal(text).replace(/[&<>]/gu, (char) => TEXT_ENTITIES[char] ?? char);
}

/** Escapes an attribute value for double quotes, keeping line breaks and tabs as they are. */
export function escapeXmlAttribute(text: string): string {
  // A parser turns a raw line break or tab inside an attribute into a space, so they are written
  // as character references to survive.
  return replaceIllegal(text).replace(/[&<>"'\n\r\t]/gu, (char) => ATTRIBUTE_ENTITIES[char] ?? char);
}

const TEXT_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const ATTRIBUTE_ENTITIES: Readonly<Record<string, string>> = {
  ...TEXT_ENTITIES,
  '"': '&quot;',
  "'": '&apos;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

/**
 * The scenario file's folder with dots for slashes (`suites/producer-acks/x.yaml` gives
 * `suites.producer-acks`), which CI reporters show as the package a test belongs to.
 */
export function junitClassName(file: string): string {
  const segments = file.split(/[\\/]/u).slice(0, -1);
  const kept = segments.filter((segment) => segment !== '' && segment !== '.' && segment !== '..');
  return kept.length > 0 ? kept.join('.') : 'deliverycheck';
}

function attributes(pairs: readonly (readonly [string, string | number])[]): string {
  return pairs.map(([name, value]) => ` ${name}="${escapeXmlAttribute(String(value))}"`).join('');
}

function seconds(durationMs: number): string {
  return (durationMs / 1000).toFixed(3);
}

function failureBody(result: ScenarioResult): string {
  const lines: string[] = [];
  for (const claim of violatedClaims(result)) {
    lines.push(describeClaim(claim));
    for (const witness of claim.verdict.witnesses) lines.push(`  - ${describeWitness(witness)}`);
    const unkept = unkeptWitnesses(claim.verdict, claim.verdict.witnesses.length);
    if (unkept > 0) lines.push(`  (${unkept} more not kept as witnesses)`);
  }
  lines.push(`reproduce: ${result.reproduce}`);
  if (result.history !== undefined) lines.push(`history: ${result.history}`);
  return lines.join('\n');
}

/** An <error> element of a type, its reason as the message, and the reason, lines and reproduce command as its body. */
function errorElement(result: ScenarioResult, type: string, reason: string, lines: readonly string[]): string {
  const body = [reason, ...lines, `reproduce: ${result.reproduce}`];
  if (result.history !== undefined) body.push(`history: ${result.history}`);
  return `      <error${attributes([['message', reason], ['type', type]])}>${escapeXmlText(body.join('\n'))}</error>`;
}

function testcase(result: ScenarioResult): string[] {
  const open = `    <testcase${attributes([
    ['classname', junitClassName(result.file)],
    ['name', result.name],
    ['file', result.file],
    ['time', seconds(result.durationMs)],
  ])}`;
  const children: string[] = [];
  if (result.status === 'failed') {
    const claims = violatedClaims(result);
    // The message is what a CI page shows in its list of failures, so it names the claims.
    const message = claims.length > 0 ? claims.map(describeClaim).join('; ') : 'a claim was violated';
    children.push(
      `      <failure${attributes([['message', message], ['type', 'violated-claim']])}>` +
        `${escapeXmlText(failureBody(result))}</failure>`,
    );
  } else if (result.status === 'error' || result.status === 'interrupted') {
    // An interrupted scenario reached no verdict: for CI that is an error, of its own type.
    children.push(errorElement(result, result.status, result.reason ?? `the scenario ended: ${result.status}`, []));
  } else if (result.status === 'inconclusive') {
    // An <error>, not a <skipped>: CI reporters count a skipped test as harmless and keep the build
    // green, which is exactly the empty pass this status exists to stop. A skip says "not run
    // here"; this scenario did run and proved nothing, which someone has to look into, and the
    // command exits 2 as for an error. The type tells it apart from an error of the harness.
    const reason = `inconclusive: ${result.reason ?? 'the run did too little for a verdict'}`;
    children.push(errorElement(result, 'inconclusive', reason, violatedClaims(result).map(describeClaim)));
  } else if (result.status === 'skipped') {
    children.push(`      <skipped${attributes([['message', result.reason ?? 'skipped']])}/>`);
  } else if (result.status === 'known-failure') {
    // A <skipped>, as test runners report an expected failure: it must not turn the build red,
    // and the message keeps the violated claims and the known cause in the CI page's list.
    const claims = violatedClaims(result).map(describeClaim).join('; ');
    children.push(`      <skipped${attributes([['message', `${result.reason ?? 'known failure'}: ${claims}`]])}/>`);
  }
  // Notes matter for passed scenarios too: a pass whose fault never fired proves little.
  const output = [...(result.notes ?? []).map((note) => `note: ${note}`)];
  if (result.history !== undefined && (result.status === 'passed' || result.status === 'skipped')) {
    output.push(`history: ${result.history}`);
  }
  if (output.length > 0) children.push(`      <system-out>${escapeXmlText(output.join('\n'))}</system-out>`);
  if (children.length === 0) return [`${open}/>`];
  return [`${open}>`, ...children, '    </testcase>'];
}

/** The JUnit XML text of a run. */
export function formatJunit(run: RunResult): string {
  const counts = countStatuses(run.scenarios);
  const totalMs = run.scenarios.reduce((sum, result) => sum + result.durationMs, 0);
  const totals = [
    ['tests', run.scenarios.length],
    ['failures', counts.failed],
    // Inconclusive and interrupted scenarios are written as <error> elements, so the totals count them there.
    ['errors', counts.error + counts.inconclusive + counts.interrupted],
    // Known failures are written as <skipped> elements, so the totals count them there.
    ['skipped', counts.skipped + counts['known-failure']],
    ['time', seconds(totalMs)],
  ] as const;
  const properties: [string, string][] = [
    ['version', run.version],
    ['adapter', run.adapter],
  ];
  if (run.defects !== undefined && run.defects.length > 0) properties.push(['defects', run.defects.join(',')]);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes([['name', 'deliverycheck'], ...totals])}>`,
    `  <testsuite${attributes([['name', `deliverycheck (${run.adapter})`], ...totals])}>`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property${attributes([['name', name], ['value', value]])}/>`),
    '    </properties>',
    ...run.scenarios.flatMap(testcase),
    '  </testsuite>',
    '</testsuites>',
  ];
  return `${lines.join('\n')}\n`;
}
