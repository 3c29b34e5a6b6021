// The kafka adapter: a real Apache Kafka cluster through the kafkajs client.
//
// Why kafkajs 2.2.4: it is pure JavaScript and runs on Node 20, the version deliverycheck
// supports. @platformatic/kafka needs Node 22, and @confluentinc/kafka-javascript needs a native
// build of librdkafka, which a plain `npm ci` on a CI runner should not depend on. kafkajs is
// pinned exactly, since admin.ts reaches one private factory of it (and says why).
//
// Without --brokers the adapter starts a local three-node KRaft cluster (cluster/cluster.ts) at
// the first open, keeps it for every scenario of the process, and stops it at dispose() or, at
// the latest, when the process exits; the cluster module's watchdog ends the JVMs even when the
// process is killed. Broker faults are real: crash-broker SIGKILLs the node that leads the
// partition (found with a metadata request), restart-broker starts it again on its own data,
// pause-broker and resume-broker send SIGSTOP and SIGCONT; stall-replication sends SIGSTOP to
// followers and SIGCONT after at most STALL_MAX_MS, short enough that they stay registered and in
// the ISR, since a process stopped that way cannot stop just its fetchers. drop-acks goes through a TCP proxy of
// our own (proxy.ts): a session whose scenario has drop-acks among its faults starts the proxy
// and bootstraps its clients through it (no other session pays for it), and the fault arms the
// proxy to swallow the target node's next answers to Produce and to transaction and offset commit
// requests and to close the connection, so the client retries a request the broker has already
// done. A user's cluster (--brokers) gets no broker faults: the adapter cannot reach its
// processes, nor route its listeners through a proxy. The fault acts are in nodes.ts; a
// session's topics, groups and clients are in session.ts.
//
// Not declared, so the scenarios that need them are skipped, never passed: partition would need
// the proxy to cut brokers off from each other too, and their replication does not pass it; and
// power-loss needs the unflushed page cache of a machine to vanish, which killing a process does
// not do.

import type { Adapter, ClusterConnection, OpenOptions } from '../contract.js';
import { BROKER_FAULT_CAPABILITIES, capabilitiesWithout } from '../../spec/vocabulary.js';
import { defaultClusterDir, environmentClusterOptions, startCluster, type ClusterHandle, type ClusterOptions } from './cluster/cluster.js';
import type { KafkaSecurity } from './messages.js';
import { KafkaProxy } from './proxy.js';
import { KafkaSession, type KafkaSessionView } from './session.js';
import { ProcessCluster } from '../local-cluster/node-acts.js';

/**
 * On the local cluster: everything but network partitions (no network namespaces here yet) and
 * power loss (killing a process keeps the page cache, so nothing unflushed is lost).
 */
const LOCAL_CLUSTER_CAPABILITIES = capabilitiesWithout(['fault.partition', 'fault.power-loss']);
/** On a user's cluster the adapter controls no node: the client's capabilities and client faults only. */
const CLIENT_CAPABILITIES = capabilitiesWithout(BROKER_FAULT_CAPABILITIES);

export interface KafkaAdapterOptions {
  /** HOST:PORT of every broker of the user's cluster; without them a local cluster is started. */
  readonly brokers?: readonly string[];
  /** TLS and SASL for the user's cluster. */
  readonly security?: KafkaSecurity;
  /** Settings of the local cluster, such as another folder and ports (tests use their own). */
  readonly cluster?: ClusterOptions;
}

/** The kafka adapter, with what it started for the process. */
export interface KafkaAdapter extends Adapter {
  open(options: OpenOptions): Promise<KafkaSessionView>;
  connect(connection: ClusterConnection): KafkaAdapter;
  dispose(): Promise<void>;
}

/** The local cluster's settings: the environment's folder and port, unless the options say otherwise. */
function localClusterOptions(options: ClusterOptions | undefined): ClusterOptions {
  return { ...environmentClusterOptions(), ...options };
}

/** Starts the drop-acks proxy of the local cluster; what it does is reported to the history. */
function startProxy(cluster: ClusterHandle, info: OpenOptions['info']): Promise<KafkaProxy> {
  return KafkaProxy.start({
    host: cluster.host,
    routes: cluster.nodes.map((node) => ({ nodeId: node.id, listenPort: node.proxyPort, targetPort: node.externalPort })),
    // Straight to the history, not through the session's filter of repeated lines: correlation
    // ids count per connection, so two drops may read alike and both must be kept.
    onDrop: (dropped) =>
      info('kafka-proxy', `dropped the answer to ${dropped.apiName} correlation ${dropped.correlationId} from node ${dropped.nodeId}`),
    onProblem: (message) => info('kafka-proxy', message),
  });
}

export function createKafkaAdapter(options: KafkaAdapterOptions = {}): KafkaAdapter {
  const external = options.brokers;
  const cluster = new ProcessCluster(() => startCluster({ reuse: true, ...localClusterOptions(options.cluster) }));
  /** Proxies of sessions not closed yet, which dispose() closes should the runner not have. */
  const openProxies = new Set<KafkaProxy>();

  return {
    name: 'kafka',
    description:
      external === undefined
        ? `Apache Kafka through kafkajs: a local 3-node KRaft cluster in ${options.cluster?.dataDir ?? process.env.DELIVERYCHECK_KAFKA_DIR ?? defaultClusterDir()}, started at first use (Java 17+)`
        : `Apache Kafka through kafkajs: the cluster at ${external.join(',')}${describeSecurity(options.security)}`,
    capabilities: external === undefined ? LOCAL_CLUSTER_CAPABILITIES : CLIENT_CAPABILITIES,
    retention: 'log',
    defects: [],

    async open(openOptions: OpenOptions): Promise<KafkaSessionView> {
      if (openOptions.defects.length > 0) throw new Error(`the kafka adapter has no defect ${openOptions.defects.join(', ')}`);
      const handle = external === undefined ? await cluster.get() : undefined;
      if (handle !== undefined && openOptions.brokers > handle.nodes.length) {
        throw new Error(`the scenario needs ${openOptions.brokers} brokers; the local Kafka cluster has ${handle.nodes.length}`);
      }
      // A scenario that ended in an error never reached its heal phase and may have left nodes
      // crashed or paused; every scenario starts on the whole cluster.
      if (handle !== undefined && handle.nodes.some((node) => node.state !== 'running')) {
        const healed = await handle.heal();
        openOptions.info('kafka', `before the scenario: ${healed.join(', ')}`);
      }
      const brokers = external ?? handle?.bootstrap.split(',') ?? [];
      const security = external === undefined ? {} : (options.security ?? {});
      const proxy = handle !== undefined && openOptions.faults?.includes('drop-acks') === true ? await startProxy(handle, openOptions.info) : undefined;
      if (proxy === undefined) return KafkaSession.open(brokers, handle, undefined, openOptions, security);
      openProxies.add(proxy);
      const release = async (): Promise<void> => {
        await proxy.close();
        openProxies.delete(proxy);
      };
      try {
        return await KafkaSession.open(brokers, handle, { proxy, release }, openOptions, security);
      } catch (error) {
        await release();
        throw error;
      }
    },

    connect(connection: ClusterConnection): KafkaAdapter {
      const { brokers, ...security } = connection;
      return createKafkaAdapter({ ...options, brokers, security });
    },

    async dispose(): Promise<void> {
      await Promise.all([...openProxies].map((proxy) => proxy.close()));
      openProxies.clear();
      // An owned cluster stops; one this process found running (kafka-cluster start) stays up.
      await cluster.release();
    },
  };
}

export const kafkaAdapter: KafkaAdapter = createKafkaAdapter();

/** " over TLS with SASL scram-sha-512 as alice", or nothing for a plain connection. */
function describeSecurity(security: KafkaSecurity | undefined): string {
  const parts: string[] = [];
  if (security?.tls !== undefined) parts.push('over TLS');
  if (security?.sasl !== undefined) parts.push(`with SASL ${security.sasl.mechanism} as ${security.sasl.username}`);
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}
