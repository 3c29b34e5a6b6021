// Known failures (spec/expectations.ts): loading an adapter's expectations file, and turning a
// result into `known-failure` when its violated claims are exactly what a listed defect breaks.
// The file is read and checked before the first scenario runs, so a typo in it is bad input with
// its line and field, not a run that quietly reports real failures as known ones.

import { existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { expectationsSchema, type ExpectationsSource, type KnownCause, type KnownFailure } from '../../spec/expectations.js';
import type { ScenarioResult } from '../../spec/result.js';
import { packageRoot } from '../../core/package-root.js';
import type { LoadError } from '../../core/load-error.js';
import { capErrors, readInputFile } from '../../core/input-file.js';
import { parseYamlMapping, schemaErrors, sortErrors } from './yaml-file.js';
import { violatedClaims } from '../report/claims.js';

/** The known failures of one adapter, by scenario file relative to the package root. */
export interface Expectations {
  readonly file: string;
  readonly causes: ReadonlyMap<string, KnownCause>;
  readonly failures: ReadonlyMap<string, KnownFailure>;
}

export type ExpectationsResult =
  | { readonly expectations: Expectations; readonly errors?: undefined }
  | { readonly expectations?: undefined; readonly errors: readonly LoadError[] };

let compiledValidator: ValidateFunction<ExpectationsSource> | undefined;

function validator(): ValidateFunction<ExpectationsSource> {
  compiledValidator ??= new Ajv2020({ allErrors: true, strict: true, verbose: true }).compile<ExpectationsSource>(expectationsSchema);
  return compiledValidator;
}

/**
 * Loads an expectations file. Every cause a failure names must be described, every scenario must
 * exist under `root` and be listed once, and every cause must be used.
 */
export async function loadExpectations(file: string, root: string = packageRoot()): Promise<ExpectationsResult> {
  const input = await readInputFile(file, 'expectations file');
  if (input.error !== undefined) return { errors: [input.error] };
  const parsed = parseYamlMapping(input.text, file, { expected: 'known failures: version, causes and failures', fields: 'expectations fields' });
  if (parsed.errors !== undefined) return { errors: capErrors(sortErrors(parsed.errors), file) };
  const { data, context } = parsed;
  const validate = validator();
  if (!validate(data)) return { errors: capErrors(sortErrors(schemaErrors(validate.errors ?? [], context)), file) };

  const errors: LoadError[] = [];
  const failures = new Map<string, KnownFailure>();
  const used = new Set<string>();
  data.failures.forEach((failure, index) => {
    const at = ['failures', String(index)];
    if (failures.has(failure.scenario)) {
      errors.push(context.errorAt([...at, 'scenario'], 'value', `failures[${index}].scenario lists ${failure.scenario} a second time`));
    }
    if (!existsSync(join(root, failure.scenario))) {
      errors.push(context.errorAt([...at, 'scenario'], 'value', `failures[${index}].scenario: there is no ${failure.scenario}`));
    }
    failure.causes.forEach((cause, causeIndex) => {
      used.add(cause);
      if (data.causes[cause] === undefined) {
        errors.push(context.errorAt([...at, 'causes', String(causeIndex)], 'value', `failures[${index}].causes[${causeIndex}]: no cause ${cause} is described under causes`));
      }
    });
    failures.set(failure.scenario, failure);
  });
  for (const cause of Object.keys(data.causes)) {
    if (!used.has(cause)) errors.push(context.errorAt(['causes', cause], 'key', `causes.${cause} is described but no failure names it`));
  }
  if (errors.length > 0) return { errors: capErrors(sortErrors(errors), file) };
  return { expectations: { file, causes: new Map(Object.entries(data.causes)), failures } };
}

/** A scenario file as expectations name it: relative to the package root, with forward slashes. */
export function scenarioKey(file: string, root: string = packageRoot()): string {
  return relative(root, resolve(file)).split(sep).join('/');
}

/**
 * The result as the expectations judge it. A failure whose every violated claim is an anomaly
 * the listed causes break becomes `known-failure`, its reason naming the causes; any other
 * failure stays `failed`. A listed scenario that passed keeps its pass, with a note that the
 * known failure did not occur, so a fixed defect is noticed and its entry removed.
 */
export function applyExpectations(result: ScenarioResult, expectations: Expectations | undefined): ScenarioResult {
  const known = expectations?.failures.get(scenarioKey(result.file));
  if (expectations === undefined || known === undefined) return result;
  const causes = known.causes.join(', ');
  if (result.status === 'passed') {
    const note = `expected to fail (${expectations.file}: ${causes}), but every claim held this time`;
    return { ...result, notes: [...(result.notes ?? []), note] };
  }
  if (result.status !== 'failed') return result;
  const violated = violatedClaims(result);
  const unexpected = violated.filter((claim) => !known.breaks.includes(claim.anomaly));
  if (violated.length === 0 || unexpected.length > 0) return result;
  // The names only: each cause's description, link and reproducer are in the file the reason names.
  return { ...result, status: 'known-failure', reason: `known failure: ${causes} (${expectations.file})` };
}
