// Writes the JSON Schemas of this folder from their TypeScript sources, so editors and other
// tools can read them. Run with `npm run spec:gen` after changing a schema or a vocabulary.

import { writeFileSync } from 'node:fs';
import { SCHEMA_FILES, schemaFileText } from './schemas.js';
import { packageRoot } from '../core/package-root.js';
import { join } from 'node:path';

for (const [file, schema] of Object.entries(SCHEMA_FILES)) {
  writeFileSync(join(packageRoot(), 'spec', file), schemaFileText(schema));
  console.log(`wrote spec/${file}`);
}
