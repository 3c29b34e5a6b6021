// Reads a --cluster-config file: the addresses of a user's running cluster and how to reach it
// (TLS, SASL), validated against spec/cluster-config.schema.json. PEM files and a password held
// in an environment variable are read here, so that a missing file or an unset variable is bad
// input with a line and field, reported before any broker is contacted.

import { dirname, resolve } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { ClusterConnection } from '../../adapters/contract.js';
import { clusterConfigSchema, type ClusterConfigSource } from '../../spec/connection.js';
import { LoadError } from '../../core/load-error.js';
import { capErrors, readInputFile } from '../../core/input-file.js';
import { parseYamlMapping, schemaErrors, sortErrors, type FileContext } from '../conformance/yaml-file.js';

export type ClusterConfigResult =
  | { readonly connection: ClusterConnection; readonly errors?: undefined }
  | { readonly connection?: undefined; readonly errors: readonly LoadError[] };

let compiledValidator: ValidateFunction<ClusterConfigSource> | undefined;

function configValidator(): ValidateFunction<ClusterConfigSource> {
  compiledValidator ??= new Ajv2020({ allErrors: true, strict: true, verbose: true }).compile<ClusterConfigSource>(clusterConfigSchema);
  return compiledValidator;
}

/**
 * Loads a cluster config file. `env` is where `passwordEnv` is looked up. Paths of PEM files
 * are relative to the config file's folder, as they are in the configuration files of most tools.
 */
export async function loadClusterConfig(file: string, env: Readonly<Record<string, string | undefined>>): Promise<ClusterConfigResult> {
  const input = await readInputFile(file, 'cluster config');
  if (input.error !== undefined) return { errors: [input.error] };
  const parsed = parseYamlMapping(input.text, file, {
    expected: 'the connection to a running cluster: brokers, and optionally tls and sasl',
    fields: 'cluster config fields',
  });
  if (parsed.errors !== undefined) return { errors: capErrors(sortErrors(parsed.errors), file) };
  const { data, context } = parsed;
  const validate = configValidator();
  if (!validate(data)) return { errors: capErrors(sortErrors(schemaErrors(validate.errors ?? [], context)), file) };

  const errors: LoadError[] = [];
  const folder = dirname(resolve(file));
  const pem = async (field: 'ca' | 'cert' | 'key', path: string | undefined): Promise<string | undefined> => {
    if (path === undefined) return undefined;
    // Read like every input: a FIFO or a device named here must not hang the run.
    const input = await readInputFile(resolve(folder, path), 'PEM file');
    if (input.error === undefined) return input.text;
    const why = input.code !== undefined ? `cannot read ${path} (${input.code})` : `${path} ${input.error.message}`;
    errors.push(context.errorAt(['tls', field], 'value', `tls.${field}: ${why}`));
    return undefined;
  };
  const tlsSource = data.tls;
  const [ca, cert, key] = await Promise.all([pem('ca', tlsSource?.ca), pem('cert', tlsSource?.cert), pem('key', tlsSource?.key)]);
  if (tlsSource !== undefined && (tlsSource.cert === undefined) !== (tlsSource.key === undefined)) {
    const missing = tlsSource.cert === undefined ? 'cert' : 'key';
    errors.push(context.errorAt(['tls'], 'key', `tls.${missing} is missing: a client certificate needs both cert and key`, `tls.${missing}`));
  }
  const password = saslPassword(data, context, env, errors);
  if (errors.length > 0) return { errors: sortErrors(errors) };

  const tls =
    tlsSource === undefined
      ? undefined
      : {
          ...(ca !== undefined ? { ca } : {}),
          ...(cert !== undefined ? { cert } : {}),
          ...(key !== undefined ? { key } : {}),
          ...(tlsSource.servername !== undefined ? { servername: tlsSource.servername } : {}),
          rejectUnauthorized: tlsSource.rejectUnauthorized ?? true,
        };
  const sasl = data.sasl === undefined || password === undefined ? undefined : { mechanism: data.sasl.mechanism, username: data.sasl.username, password };
  return {
    connection: {
      brokers: [...data.brokers],
      ...(tls !== undefined ? { tls } : {}),
      ...(sasl !== undefined ? { sasl } : {}),
    },
  };
}

function saslPassword(
  data: ClusterConfigSource,
  context: FileContext,
  env: Readonly<Record<string, string | undefined>>,
  errors: LoadError[],
): string | undefined {
  const sasl = data.sasl;
  if (sasl === undefined) return undefined;
  if ((sasl.password === undefined) === (sasl.passwordEnv === undefined)) {
    errors.push(context.errorAt(['sasl'], 'key', 'sasl needs exactly one of password and passwordEnv', 'sasl.password'));
    return undefined;
  }
  if (sasl.password !== undefined) return sasl.password;
  const name = sasl.passwordEnv ?? '';
  const value = env[name];
  if (value === undefined || value === '') {
    errors.push(context.errorAt(['sasl', 'passwordEnv'], 'value', `sasl.passwordEnv: the environment variable ${name} is not set`));
    return undefined;
  }
  return value;
}
