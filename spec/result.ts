// The result of a run as `--json` writes it: its TypeScript shape and its JSON Schema (2020-12).
// `npm run spec:gen` writes the schema to spec/result.schema.json; a test keeps the two equal.

import {
  ANOMALIES,
  EXPECTATIONS,
  MESSAGE_COUNTS,
  SCENARIO_STATUSES,
  type Anomaly,
  type Expectation,
  type MessageCount,
  type ScenarioStatus,
} from './vocabulary.js';

/** At most this many witnesses are kept per anomaly. */
export const MAX_WITNESSES = 16;

/** One piece of evidence for an anomaly: the messages, places and history lines involved. */
export interface Witness {
  /** The message ids involved, in the order the explanation names them. */
  readonly ids: readonly string[];
  readonly partition?: number;
  readonly offsets?: readonly number[];
  /** 1-based line numbers in the history (JSON Lines) that show it. */
  readonly lines: readonly number[];
  /** One sentence that says what the lines show. */
  readonly note: string;
}

export interface AnomalyVerdict {
  readonly expect: Expectation;
  readonly count: number;
  readonly held: boolean;
  readonly witnesses: readonly Witness[];
}

/** Distinct message ids sent, acknowledged, stored, delivered and processed (spec/anomalies.md). */
export type Counts = { readonly [C in MessageCount]: number };

export interface ScenarioResult {
  readonly file: string;
  readonly name: string;
  readonly seed: number;
  readonly status: ScenarioStatus;
  /** Why a scenario was skipped, ended in error, was inconclusive (what was too little), was interrupted, or failed as expected (the known cause). */
  readonly reason?: string;
  readonly counts: Counts;
  readonly anomalies: { readonly [A in Anomaly]?: AnomalyVerdict };
  /**
   * Real milliseconds the scenario took: its run, or under `deliverycheck check` the reading and
   * checking of its history (a history keeps no real time, so that it stays byte-identical).
   */
  readonly durationMs: number;
  /** The command that reproduces this result. */
  readonly reproduce: string;
  /** Where the history was kept, when `--history` was given. */
  readonly history?: string;
  /** Things a reader should know that are not verdicts, such as a fault whose trigger never came. */
  readonly notes?: readonly string[];
}

export interface RunResult {
  readonly tool: 'deliverycheck';
  readonly version: string;
  readonly adapter: string;
  readonly defects?: readonly string[];
  readonly scenarios: readonly ScenarioResult[];
}

const count = { type: 'integer', minimum: 0 };

const witnessSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['ids', 'lines', 'note'],
  properties: {
    ids: { type: 'array', items: { type: 'string' } },
    partition: count,
    offsets: { type: 'array', items: count },
    lines: { type: 'array', items: { type: 'integer', minimum: 1 } },
    note: { type: 'string' },
  },
};

const verdictSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['expect', 'count', 'held', 'witnesses'],
  properties: {
    expect: { enum: [...EXPECTATIONS] },
    count,
    held: { type: 'boolean' },
    witnesses: { type: 'array', maxItems: MAX_WITNESSES, items: witnessSchema },
  },
};

export const resultSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://deliverycheck.dev/spec/result.schema.json',
  title: 'deliverycheck run result',
  type: 'object',
  additionalProperties: false,
  required: ['tool', 'version', 'adapter', 'scenarios'],
  properties: {
    tool: { const: 'deliverycheck' },
    version: { type: 'string' },
    adapter: { type: 'string' },
    defects: { type: 'array', items: { type: 'string' } },
    scenarios: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['file', 'name', 'seed', 'status', 'counts', 'anomalies', 'durationMs', 'reproduce'],
        properties: {
          file: { type: 'string' },
          name: { type: 'string' },
          seed: count,
          status: { enum: [...SCENARIO_STATUSES] },
          reason: { type: 'string' },
          counts: {
            type: 'object',
            additionalProperties: false,
            required: [...MESSAGE_COUNTS],
            properties: Object.fromEntries(MESSAGE_COUNTS.map((name) => [name, count])),
          },
          anomalies: {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(ANOMALIES.map((anomaly) => [anomaly, verdictSchema])),
          },
          durationMs: { type: 'number', minimum: 0 },
          reproduce: { type: 'string' },
          history: { type: 'string' },
          notes: { type: 'array', items: { type: 'string' } },
        },
        allOf: [
          {
            if: { properties: { status: { enum: ['known-failure', 'skipped', 'error', 'inconclusive', 'interrupted'] } } },
            then: { properties: { reason: true }, required: ['reason'] },
          },
        ],
      },
    },
  },
} as const;
