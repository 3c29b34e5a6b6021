// --cluster-config: a user's cluster with TLS and SASL. A good file becomes a connection with the
// PEM files and the password read; each mistake is one line naming file, line, column and field.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadClusterConfig } from '../../harness/cli/connection.js';
import { main, type CliIo } from '../../harness/cli/cli.js';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'deliverycheck-cluster-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function errorsOf(text: string, env: Record<string, string> = {}): Promise<string[]> {
  const dir = folder({ 'cluster.yaml': text });
  const result = await loadClusterConfig(join(dir, 'cluster.yaml'), env);
  return (result.errors ?? []).map((error) => error.format().replace(dir, '<dir>'));
}

describe('loadClusterConfig', () => {
  it('reads the PEM files next to the config and the password from the environment', async () => {
    const dir = folder({
      'cluster.yaml': [
        'brokers: [kafka-1.example.com:9093, kafka-2.example.com:9093]',
        'tls: { ca: ca.pem, cert: client.pem, key: client.key, servername: kafka.example.com }',
        'sasl: { mechanism: scram-sha-512, username: alice, passwordEnv: KAFKA_PASSWORD }',
      ].join('\n'),
      'ca.pem': 'CA PEM',
      'client.pem': 'CERT PEM',
      'client.key': 'KEY PEM',
    });
    const result = await loadClusterConfig(join(dir, 'cluster.yaml'), { KAFKA_PASSWORD: 's3cret' });
    expect(result.errors).toBeUndefined();
    expect(result.connection).toEqual({
      brokers: ['kafka-1.example.com:9093', 'kafka-2.example.com:9093'],
      tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', servername: 'kafka.example.com', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 's3cret' },
    });
  });

  it('takes a plain connection with brokers alone', async () => {
    const dir = folder({ 'cluster.yaml': 'brokers: [127.0.0.1:9092]\n' });
    expect((await loadClusterConfig(join(dir, 'cluster.yaml'), {})).connection).toEqual({ brokers: ['127.0.0.1:9092'] });
  });

  it('names file, line, column and field of each mistake', async () => {
    expect(await errorsOf('brokers: [kafka:9093]\nsasl: { mechanism: gssapi, username: a, password: b }\n')).toEqual([
      expect.stringMatching(/^<dir>\/cluster\.yaml:2:20: sasl\.mechanism .*plain.*scram-sha-256.*scram-sha-512/),
    ]);
    expect(await errorsOf('brokers: [kafka]\n')).toEqual([expect.stringMatching(/^<dir>\/cluster\.yaml:1:11: brokers\[0\]/)]);
    expect(await errorsOf('brokers: [kafka:9093]\ntls: { cert: missing.pem }\n')).toEqual([
      '<dir>/cluster.yaml:2:1: tls.key is missing: a client certificate needs both cert and key',
      expect.stringMatching(/^<dir>\/cluster\.yaml:2:14: tls\.cert: cannot read missing\.pem \(ENOENT\)/),
    ]);
    expect(await errorsOf('brokers: [kafka:9093]\nsasl: { mechanism: plain, username: a, passwordEnv: NOPE }\n')).toEqual([
      '<dir>/cluster.yaml:2:53: sasl.passwordEnv: the environment variable NOPE is not set',
    ]);
    expect(await errorsOf('brokers: [kafka:9093]\nsasl: { mechanism: plain, username: a }\n')).toEqual([
      '<dir>/cluster.yaml:2:1: sasl needs exactly one of password and passwordEnv',
    ]);
  });

  it('makes the command line exit 2 with those lines and nothing else', async () => {
    const dir = folder({ 'cluster.yaml': 'brokers: [kafka:9093]\nsals: {}\n' });
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, isTTY: false };
    const code = await main(['run', 'suites/ordering', '--adapter', 'kafka', '--cluster-config', join(dir, 'cluster.yaml')], io);
    expect(code).toBe(2);
    expect(out.join('')).toBe('');
    expect(err.join('').trim().split('\n')).toHaveLength(1);
    expect(err.join('')).toContain(`${join(dir, 'cluster.yaml')}:2:1:`);
  });
});
