// The command line of the local NATS JetStream cluster: start a detached cluster, show its
// status, stop it. Run as `node dist/adapters/nats/cluster/cli.js <command>`, or through
// `npm run nats:start|stop|status`.
//
// Exit codes follow deliverycheck's: 0 done, 1 the cluster is not healthy (status), 2 bad
// arguments or a setup failure such as a missing nats-server.

import { parseArgs } from 'node:util';
import { commandWord, integerOption, invokedDirectly, reportFailure, reportStatus, reportStop, UsageError, type CliIo } from '../../local-cluster/cli.js';
import {
  defaultNatsClusterDir,
  environmentNatsClusterOptions,
  natsClusterStatus,
  startNatsCluster,
  stopNatsClusterInDir,
  type NatsClusterStatus,
} from './cluster.js';

export type { CliIo };

const USAGE = `usage: nats-cluster <command> [options]

commands:
  start    start a 3-node JetStream cluster in the background and wait until it is ready
  stop     stop the cluster started by "start"
  status   show each node's process and whether it is ready

options:
  --dir DIR           cluster folder (default $DELIVERYCHECK_NATS_DIR, else .cache/nats-cluster)
  --nodes N           number of nodes for start (default 3)
  --base-port P       first port for start (default $DELIVERYCHECK_NATS_PORT, else 14222); 3 a node:
                      node n's clients use P+3(n-1), its routes the port after, its monitoring the next
  --server PATH       the nats-server binary (default $NATS_SERVER, else nats-server on PATH, else
                      /usr/sbin/nats-server)
  --timeout-ms MS     start deadline (default 60000)
  --json              status as JSON
`;

function formatStatus(status: NatsClusterStatus): string {
  const lines = [
    `NATS ${status.serverVersion} cluster "${status.clusterName}" in ${status.dataDir}`,
    `servers ${status.servers.join(',')} (${status.detached ? 'detached' : `owned by pid ${status.ownerPid}`}, started ${status.startedAt})`,
  ];
  for (const node of status.nodes) {
    const pid = node.pid === null ? '-' : String(node.pid);
    lines.push(
      `${node.name}  ${node.state.padEnd(7)}  pid ${pid.padEnd(7)}  ports ${node.clientPort}/${node.routePort}/${node.monitorPort}  ${node.detail}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  const log = (line: string) => io.stderr.write(`nats-cluster: ${line}\n`);
  try {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        nodes: { type: 'string' },
        'base-port': { type: 'string' },
        server: { type: 'string' },
        'timeout-ms': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const command = commandWord(positionals, values.help === true, USAGE, io);
    if (typeof command === 'number') return command;
    // The options win over DELIVERYCHECK_NATS_DIR and DELIVERYCHECK_NATS_PORT, which win over the defaults.
    const environment = environmentNatsClusterOptions();
    const dataDir = values.dir ?? environment.dataDir ?? defaultNatsClusterDir();

    switch (command) {
      case 'start': {
        const nodeCount = integerOption(values.nodes, 'nodes');
        const basePort = integerOption(values['base-port'], 'base-port') ?? environment.basePort;
        const readyTimeoutMs = integerOption(values['timeout-ms'], 'timeout-ms');
        const cluster = await startNatsCluster({
          dataDir,
          detached: true,
          reuse: true,
          log,
          ...(values.server !== undefined ? { serverBinary: values.server } : {}),
          ...(nodeCount !== undefined ? { nodeCount } : {}),
          ...(basePort !== undefined ? { basePort } : {}),
          ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}),
        });
        io.stdout.write(`${cluster.servers.join(',')}\n`);
        await cluster.release();
        return 0;
      }
      case 'stop':
        return reportStop(await stopNatsClusterInDir(dataDir, { log }), 'NATS', dataDir, io);
      case 'status':
        return reportStatus(await natsClusterStatus(dataDir), { json: values.json === true, brokerName: 'NATS', dataDir, format: formatStatus }, io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    return reportFailure(error, 'nats-cluster', USAGE, io);
  }
}

if (invokedDirectly(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
