// A user's cluster that wants SASL or TLS: a one-node Kafka with a SASL_PLAINTEXT listener
// (mechanism PLAIN) and an SSL listener (a certificate openssl makes for the test, signed by a CA
// of its own) next to its usual ones, reached only through `--cluster-config`. The right password
// and the right CA run a scenario to its verdict; a wrong password or no CA to trust ends the
// scenario in error.
//
// Ports 29592.. and .cache/kafka-security-test keep clear of the other Kafka tests. Without Java
// 17 the test is skipped with a printed reason, except under CI=true.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type ClusterHandle } from '../../adapters/kafka/cluster/cluster.js';
import type { RunResult } from '../../spec/result.js';
import { packageRoot } from '../../core/package-root.js';
import { kafkaSkip, processesUsing } from './prerequisites.js';

const HOST = '127.0.0.1';
const BASE_PORT = Number(process.env.DELIVERYCHECK_KAFKA_SECURITY_TEST_PORT ?? 29592);
/** The SASL listener's port, past the four ports of the one node (client, quorum, external, proxy). */
const SASL_PORT = BASE_PORT + 10;
const TLS_PORT = BASE_PORT + 11;
const DATA_DIR = join(packageRoot(), '.cache', 'kafka-security-test');
const CERT_DIR = join(packageRoot(), '.cache', 'kafka-security-test-certs');
const TEST_TIMEOUT_MS = 6 * 60_000;

const { skip, title } = kafkaSkip('the Kafka SASL test');

/**
 * The usual listeners of node 1 of a one-node cluster, plus SASL_PLAINTEXT with user alice and SSL
 * with a PEM key store (the key and the certificate chain in one file).
 */
const SECURED_BROKER_PROPERTIES = {
  listeners: `PLAINTEXT://${HOST}:${BASE_PORT},EXTERNAL://${HOST}:${BASE_PORT + 2},CONTROLLER://${HOST}:${BASE_PORT + 1},SASL_PLAINTEXT://${HOST}:${SASL_PORT},SSL://${HOST}:${TLS_PORT}`,
  'advertised.listeners': `PLAINTEXT://${HOST}:${BASE_PORT},EXTERNAL://${HOST}:${BASE_PORT + 3},SASL_PLAINTEXT://${HOST}:${SASL_PORT},SSL://${HOST}:${TLS_PORT}`,
  'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL',
  'sasl.enabled.mechanisms': 'PLAIN',
  'listener.name.sasl_plaintext.plain.sasl.jaas.config':
    'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";',
  'listener.name.ssl.ssl.keystore.type': 'PEM',
  'listener.name.ssl.ssl.keystore.location': join(CERT_DIR, 'server-keystore.pem'),
};

/** A CA and a server certificate for 127.0.0.1 signed by it, made with openssl. */
async function makeCertificates(): Promise<void> {
  await rm(CERT_DIR, { recursive: true, force: true });
  await mkdir(CERT_DIR, { recursive: true });
  const openssl = (args: readonly string[]) => execa('openssl', args, { cwd: CERT_DIR, timeout: 60_000 });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=deliverycheck test CA']);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  await writeFile(join(CERT_DIR, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
  const key = await readFile(join(CERT_DIR, 'server.key'), 'utf8');
  const certificate = await readFile(join(CERT_DIR, 'server.pem'), 'utf8');
  await writeFile(join(CERT_DIR, 'server-keystore.pem'), `${key}${certificate}`);
}

/** A small claim that fits one broker: one producer, one key, no faults, in order, exactly once. */
const ONE_BROKER_SCENARIO = `
name: one broker reached with SASL or TLS keeps one key in order
description: One producer and one consumer on a one-node cluster reached with SASL PLAIN or TLS.
seed: 5
cluster:  { brokers: 1 }
topic:    { partitions: 1, replication: 1 }
producer: { ack: all, retries: 3 }
consumer: { commit: after-process }
workload: { messages: 200, keys: 1, producers: 1, consumers: 1 }
expect:
  guarantee: exactly-once
  reordered: none
`;

describe('a cluster that wants SASL, through --cluster-config (real JVM)', () => {
  let cluster: ClusterHandle | undefined;

  afterAll(async () => {
    await cluster?.stopAll().catch(() => undefined);
    if (!skip) expect(processesUsing(DATA_DIR)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it.skipIf(skip)(
    title('runs a scenario to its verdict with the right password or CA, and ends it in error with a wrong password or none'),
    async () => {
      await makeCertificates();
      cluster = await startCluster({
        dataDir: DATA_DIR,
        basePort: BASE_PORT,
        nodeCount: 1,
        reuse: false,
        brokerProperties: SECURED_BROKER_PROPERTIES,
        log: (line) => console.log(`[kafka] ${line}`),
      });
      const dir = await mkdtemp(join(tmpdir(), 'deliverycheck-kafka-sasl-'));
      try {
        await writeFile(join(dir, 'one-broker.yaml'), ONE_BROKER_SCENARIO);
        const run = async (password: string, config = `brokers: [${HOST}:${SASL_PORT}]\nsasl: { mechanism: plain, username: alice, passwordEnv: ALICE_PASSWORD }\n`) => {
          await writeFile(join(dir, 'cluster.yaml'), config);
          const json = join(dir, `run-${Date.now()}.json`);
          const result = await execa(
            'node',
            ['bin/deliverycheck.js', 'run', join(dir, 'one-broker.yaml'), '--adapter', 'kafka', '--cluster-config', join(dir, 'cluster.yaml'), '--json', json],
            { cwd: packageRoot(), reject: false, timeout: TEST_TIMEOUT_MS, env: { NO_COLOR: '1', ALICE_PASSWORD: password } },
          );
          console.log(`[kafka] with password ${password}: exit ${result.exitCode}\n${result.stdout}${result.stderr}`);
          return { exitCode: result.exitCode, run: JSON.parse(await readFile(json, 'utf8')) as RunResult };
        };

        const right = await run('alice-secret');
        expect(right.exitCode).toBe(0);
        expect(right.run.scenarios[0]?.status).toBe('passed');
        expect(right.run.scenarios[0]?.counts.acknowledged).toBe(200);
        expect(right.run.scenarios[0]?.reproduce).toContain('--cluster-config');

        const wrong = await run('not-her-password');
        expect(wrong.exitCode).toBe(2);
        expect(wrong.run.scenarios[0]?.status).toBe('error');
        expect(wrong.run.scenarios[0]?.reason).toMatch(/SASL|[Aa]uthenticat/);

        const trusting = await run('-', `brokers: [${HOST}:${TLS_PORT}]\ntls: { ca: ${join(CERT_DIR, 'ca.pem')} }\n`);
        expect(trusting.exitCode).toBe(0);
        expect(trusting.run.scenarios[0]?.status).toBe('passed');

        const untrusting = await run('-', `brokers: [${HOST}:${TLS_PORT}]\ntls: { rejectUnauthorized: true }\n`);
        expect(untrusting.exitCode).toBe(2);
        expect(untrusting.run.scenarios[0]?.status).toBe('error');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    TEST_TIMEOUT_MS,
  );
});
