// The command line of the local Kafka cluster: fetch the jars, start a detached cluster, show its
// status, stop it. Run as `node dist/adapters/kafka/cluster/cli.js <command>`.
//
// Exit codes follow deliverycheck's: 0 done, 1 the cluster is not healthy (status), 2 bad
// arguments or a setup failure such as a missing Java or Maven.

import { parseArgs } from 'node:util';
import { commandWord, integerOption, invokedDirectly, reportFailure, reportStatus, reportStop, UsageError, type CliIo } from '../../local-cluster/cli.js';
import { clusterStatus, defaultClusterDir, environmentClusterOptions, startCluster, stopClusterInDir, type ClusterStatus } from './cluster.js';
import { DEFAULT_KAFKA_VERSION, ensureKafka } from './fetch.js';

export type { CliIo };

const USAGE = `usage: kafka-cluster <command> [options]

commands:
  fetch    download Kafka ${DEFAULT_KAFKA_VERSION} and its dependencies into .cache/kafka (with Maven)
  start    start a 3-node KRaft cluster in the background and wait until it serves
  stop     stop the cluster started by "start"
  status   show each node's process and whether it serves Kafka requests

options:
  --dir DIR           cluster folder (default $DELIVERYCHECK_KAFKA_DIR, else .cache/kafka-cluster)
  --version V         Kafka version (default ${DEFAULT_KAFKA_VERSION})
  --nodes N           number of nodes for start (default 3)
  --base-port P       first port for start (default $DELIVERYCHECK_KAFKA_PORT, else 19092); 4 a node: node n's
                      clients use P+2(n-1), its quorum the port after; the EXTERNAL listener and the
                      proxy port it advertises follow
  --timeout-ms MS     start deadline (default 120000)
  --json              status as JSON
`;

function formatStatus(status: ClusterStatus): string {
  const lines = [
    `Kafka ${status.kafkaVersion} cluster ${status.clusterId} in ${status.dataDir}`,
    `bootstrap ${status.bootstrap} (${status.detached ? 'detached' : `owned by pid ${status.ownerPid}`}, started ${status.startedAt})`,
  ];
  for (const node of status.nodes) {
    const pid = node.pid === null ? '-' : String(node.pid);
    lines.push(
      `node ${node.id}  ${node.state.padEnd(7)}  pid ${pid.padEnd(7)}  ports ${node.clientPort}/${node.controllerPort}/${node.externalPort}/${node.proxyPort}  ${node.detail}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  const log = (line: string) => io.stderr.write(`kafka-cluster: ${line}\n`);
  try {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        version: { type: 'string' },
        nodes: { type: 'string' },
        'base-port': { type: 'string' },
        'timeout-ms': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const command = commandWord(positionals, values.help === true, USAGE, io);
    if (typeof command === 'number') return command;
    // The options win over DELIVERYCHECK_KAFKA_DIR and DELIVERYCHECK_KAFKA_PORT, which win over
    // the defaults, as for the adapter.
    const environment = environmentClusterOptions();
    const dataDir = values.dir ?? environment.dataDir ?? defaultClusterDir();

    switch (command) {
      case 'fetch': {
        const install = await ensureKafka({ ...(values.version !== undefined ? { version: values.version } : {}), log });
        io.stdout.write(
          install.fetched
            ? `fetched Kafka ${install.version} (${install.jars.length} jars) into ${install.libDir} in ${(install.durationMs / 1000).toFixed(1)} s\n`
            : `Kafka ${install.version} is already in ${install.libDir}\n`,
        );
        return 0;
      }
      case 'start': {
        const nodeCount = integerOption(values.nodes, 'nodes');
        const basePort = integerOption(values['base-port'], 'base-port') ?? environment.basePort;
        const readyTimeoutMs = integerOption(values['timeout-ms'], 'timeout-ms');
        const cluster = await startCluster({
          dataDir,
          detached: true,
          reuse: true,
          log,
          ...(values.version !== undefined ? { kafkaVersion: values.version } : {}),
          ...(nodeCount !== undefined ? { nodeCount } : {}),
          ...(basePort !== undefined ? { basePort } : {}),
          ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}),
        });
        io.stdout.write(`${cluster.bootstrap}\n`);
        await cluster.release();
        return 0;
      }
      case 'stop':
        return reportStop(await stopClusterInDir(dataDir, { log }), 'Kafka', dataDir, io);
      case 'status':
        return reportStatus(await clusterStatus(dataDir), { json: values.json === true, brokerName: 'Kafka', dataDir, format: formatStatus }, io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    return reportFailure(error, 'kafka-cluster', USAGE, io);
  }
}

if (invokedDirectly(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
