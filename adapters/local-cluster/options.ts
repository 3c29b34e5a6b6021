// Option checks and environment overrides that every local cluster reads the same way, so a
// CI job or a second checkout moves any broker's cluster with the same kind of variables.

import { ClusterError } from './errors.js';

/**
 * The cluster's folder and first port from two environment variables, when set (a port only
 * when it is a whole number), such as DELIVERYCHECK_KAFKA_DIR and DELIVERYCHECK_KAFKA_PORT.
 */
export function environmentLayout(
  env: NodeJS.ProcessEnv,
  dirVariable: string,
  portVariable: string,
): { dataDir?: string; basePort?: number } {
  const dataDir = env[dirVariable];
  const port = env[portVariable];
  return {
    ...(dataDir !== undefined && dataDir !== '' ? { dataDir } : {}),
    ...(port !== undefined && /^\d+$/.test(port) ? { basePort: Number(port) } : {}),
  };
}

/**
 * Checks the node count and that basePort leaves room for portsPerNode ports a node below
 * portLimit; returns how many ports the cluster takes.
 */
export function checkLayout(nodeCount: number, basePort: number, portsPerNode: number, portLimit: number): number {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 9) {
    throw new ClusterError(`nodeCount must be an integer from 1 to 9, got ${nodeCount}`);
  }
  const portCount = portsPerNode * nodeCount;
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + portCount - 1 > portLimit - 1) {
    throw new ClusterError(`basePort must leave room for ${portCount} ports between 1024 and ${portLimit - 1}, got ${basePort}`);
  }
  return portCount;
}
