import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../core/package-root.js';
import { SCHEMA_FILES, schemaFileText } from '../../spec/schemas.js';

// The JSON Schema files in spec/ are generated from the TypeScript sources; editors and other
// tools read the files, the loader uses the sources, so the two must never drift apart.
describe.each(Object.entries(SCHEMA_FILES))('spec/%s', (name, schema) => {
  it('on disk equals the schema generated from its TypeScript source', () => {
    const onDisk = readFileSync(join(packageRoot(), 'spec', name), 'utf8');
    expect(
      onDisk,
      `spec/${name} is out of date with its TypeScript source; run \`npm run build && npm run spec:gen\` and commit the result`,
    ).toBe(schemaFileText(schema));
  });

  it('compiles under Ajv 2020-12 strict mode without a warning', () => {
    // Strict mode turns unknown keywords and ambiguous types into errors; its remaining
    // complaints go to the logger, so they are collected and must be none.
    const complaints: unknown[] = [];
    const logger = {
      log: () => undefined,
      warn: (...args: unknown[]) => complaints.push(args),
      error: (...args: unknown[]) => complaints.push(args),
    };
    const ajv = new Ajv2020({ strict: true, allErrors: true, logger });
    expect(() => ajv.compile(schema)).not.toThrow();
    expect(complaints).toEqual([]);
  });
});
