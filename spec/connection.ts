// How to reach a user's running cluster (`deliverycheck run --cluster-config FILE`): addresses,
// TLS and SASL. Its TypeScript shape and JSON Schema (2020-12); `npm run spec:gen` writes the
// schema to spec/cluster-config.schema.json and a test keeps the two equal.
//
// Secrets do not have to live in the file: `passwordEnv` names an environment variable instead,
// and the TLS entries are paths to PEM files, read when the run starts.

import { SASL_MECHANISMS, type SaslMechanism } from './vocabulary.js';

/** The file as written, after schema validation. */
export interface ClusterConfigSource {
  readonly brokers: readonly string[];
  readonly tls?: {
    /** PEM file of the certificate authorities to trust; the system's when absent. */
    readonly ca?: string;
    /** PEM files of the client's certificate and key, for mutual TLS; both or neither. */
    readonly cert?: string;
    readonly key?: string;
    /** The name the brokers' certificates must carry, when it is not the address's host. */
    readonly servername?: string;
    /** Refuse brokers whose certificate does not verify; default true. */
    readonly rejectUnauthorized?: boolean;
  };
  readonly sasl?: {
    readonly mechanism: SaslMechanism;
    readonly username: string;
    /** The password itself, or the name of the environment variable holding it: one of the two. */
    readonly password?: string;
    readonly passwordEnv?: string;
  };
}

/** HOST:PORT, the form every broker address takes. */
export const BROKER_ADDRESS_PATTERN = '^[^\\s:]+:[0-9]{1,5}$';

const nonEmpty = { type: 'string', minLength: 1 };

export const clusterConfigSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://deliverycheck.dev/spec/cluster-config.schema.json',
  title: 'deliverycheck connection to a running cluster',
  type: 'object',
  additionalProperties: false,
  required: ['brokers'],
  properties: {
    brokers: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', pattern: BROKER_ADDRESS_PATTERN } },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ca: nonEmpty,
        cert: nonEmpty,
        key: nonEmpty,
        servername: nonEmpty,
        rejectUnauthorized: { type: 'boolean' },
      },
    },
    sasl: {
      type: 'object',
      additionalProperties: false,
      required: ['mechanism', 'username'],
      properties: {
        mechanism: { enum: [...SASL_MECHANISMS] },
        username: nonEmpty,
        password: { type: 'string' },
        passwordEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      },
    },
  },
} as const;
