// The JSON Schemas this project publishes, by file name in spec/.

import { benchWorkloadSchema } from './bench-workload.js';
import { benchResultSchema } from './bench-result.js';
import { kafkaPerfComparisonSchema } from './bench-kafka-perf.js';
import { clusterConfigSchema } from './connection.js';
import { expectationsSchema } from './expectations.js';
import { resultSchema } from './result.js';
import { scenarioSchema } from './scenario.js';

export const SCHEMA_FILES: Readonly<Record<string, object>> = {
  'scenario.schema.json': scenarioSchema,
  'result.schema.json': resultSchema,
  'bench-workload.schema.json': benchWorkloadSchema,
  'bench-result.schema.json': benchResultSchema,
  'cluster-config.schema.json': clusterConfigSchema,
  'bench-kafka-perf.schema.json': kafkaPerfComparisonSchema,
  'expectations.schema.json': expectationsSchema,
};

export function schemaFileText(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
