// An adapter's expectations file: the scenarios a known defect of the broker or of its client
// makes fail, as JavaScript engines keep expectation files for test262. `run` and `check` report
// such a failure as `known-failure`, never as `failed`, so a known defect does not turn a run
// red and an unknown one always does; a scenario listed here that passes is flagged in its
// notes. Its TypeScript shape and JSON Schema (2020-12); `npm run spec:gen` writes the schema to
// spec/expectations.schema.json and a test keeps the two equal.

import { ANOMALIES, type Anomaly } from './vocabulary.js';

/** A known defect that breaks claims: what it is, where it is described, how to see it. */
export interface KnownCause {
  readonly description: string;
  /** Where the defect is described or tracked, when there is such a page. */
  readonly link?: string;
  /** A command that shows the defect on its own. */
  readonly reproduce: string;
}

export interface KnownFailure {
  /** The scenario file, relative to the package root, as `suites/...yaml`. */
  readonly scenario: string;
  /**
   * The anomalies whose claims the causes break: a forbidden one that occurs, or a witnessed one
   * that does not. A violated claim about any other anomaly is a real failure.
   */
  readonly breaks: readonly Anomaly[];
  /** Names in `causes`. */
  readonly causes: readonly string[];
}

export interface ExpectationsSource {
  readonly version: 1;
  readonly causes: Readonly<Record<string, KnownCause>>;
  readonly failures: readonly KnownFailure[];
}

/** Cause names are kebab-case, as scenario files and defect switches are. */
export const CAUSE_NAME_PATTERN = '^[a-z0-9]+(-[a-z0-9]+)*$';

const text = { type: 'string', minLength: 1, maxLength: 2000 };

export const expectationsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://deliverycheck.dev/spec/expectations.schema.json',
  title: "deliverycheck adapter's known failures",
  type: 'object',
  additionalProperties: false,
  required: ['version', 'causes', 'failures'],
  properties: {
    version: { const: 1 },
    causes: {
      type: 'object',
      maxProperties: 100,
      propertyNames: { pattern: CAUSE_NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['description', 'reproduce'],
        properties: { description: text, link: { type: 'string', pattern: '^https://' }, reproduce: text },
      },
    },
    failures: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['scenario', 'breaks', 'causes'],
        properties: {
          scenario: { type: 'string', pattern: '^[^/].*\\.ya?ml$' },
          breaks: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...ANOMALIES] } },
          causes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: CAUSE_NAME_PATTERN } },
        },
      },
    },
  },
} as const;
