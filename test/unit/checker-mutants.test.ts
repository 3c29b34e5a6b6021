// The list of checker mutants (tools/checker-mutants/mutants.ts) stays true to the checker: each
// mutant still applies to the current sources, still compiles and type-checks, and names scenarios
// that exist. test/e2e/checker-mutants.test.ts runs them.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFECTS } from '../../reference/broker/defects.js';
import { packageRoot } from '../../core/package-root.js';
import { compileMutated, mutatedSources, typeErrors } from '../../tools/checker-mutants/apply.js';
import { MUTANTS, type Mutant } from '../../tools/checker-mutants/mutants.js';

const root = packageRoot();

describe('the checker mutants', () => {
  it('have unique kebab-case names and one sentence each', () => {
    const names = MUTANTS.map((mutant) => mutant.name);
    expect(new Set(names).size).toBe(names.length);
    for (const mutant of MUTANTS) {
      expect(mutant.name).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(mutant.bug).toMatch(/^[A-Z].*\.$/);
    }
  });

  it('say how each is noticed: killers for the suite and defect ones, a reason for the others', () => {
    const defects = new Set<string>(DEFECTS.map((defect) => defect.name));
    for (const mutant of MUTANTS) {
      if (mutant.detection === 'none') {
        expect(mutant.killers, mutant.name).toEqual([]);
        expect(mutant.why, mutant.name).toMatch(/^[A-Z].*\.$/);
        continue;
      }
      expect(mutant.killers.length, mutant.name).toBeGreaterThan(0);
      for (const file of mutant.killers) expect(existsSync(join(root, file)), `${mutant.name}: ${file}`).toBe(true);
      if (mutant.detection === 'defect') expect(defects.has(mutant.defect ?? ''), mutant.name).toBe(true);
      else expect(mutant.defect, mutant.name).toBeUndefined();
    }
  });

  it('each apply exactly once to the current sources and change the compiled module', () => {
    for (const mutant of MUTANTS) {
      const sources = mutatedSources(mutant, root);
      expect(sources.size, mutant.name).toBeGreaterThan(0);
      for (const [file, source] of sources) {
        for (const replacement of mutant.replacements.filter((entry) => entry.file === file)) {
          expect(source.includes(replacement.replace), mutant.name).toBe(true);
        }
        const real = compileMutated(readFileSync(join(root, file), 'utf8'), file);
        expect(compileMutated(source, file), mutant.name).not.toBe(real);
      }
    }
  });

  it('refuse a snippet the sources do not hold once, naming the mutant', () => {
    const stale: Mutant = {
      ...(MUTANTS[0] as Mutant),
      name: 'stale',
      replacements: [{ file: 'harness/conformance/checker.ts', find: 'no such text in the checker', replace: '' }],
    };
    expect(() => mutatedSources(stale, root)).toThrow(/mutant stale: harness\/conformance\/checker.ts holds its snippet 0 times/);
    const twice: Mutant = { ...stale, replacements: [{ file: 'harness/conformance/checker.ts', find: 'const ', replace: 'let ' }] };
    expect(() => mutatedSources(twice, root)).toThrow(/holds its snippet \d+ times, not once/);
  });

  it('type-check as the build would, and a mutant that does not is reported', () => {
    const broken: Mutant = {
      ...(MUTANTS[0] as Mutant),
      name: 'broken',
      replacements: [{ file: 'harness/conformance/checker.ts', find: 'return count > 0;', replace: "return count > '0';" }],
    };
    const errors = typeErrors([...MUTANTS, broken], root);
    for (const mutant of MUTANTS) expect(errors.get(mutant.name), mutant.name).toEqual([]);
    expect(errors.get('broken')?.join(' ')).toMatch(/'number' and 'string'/);
  }, 120_000);
});
