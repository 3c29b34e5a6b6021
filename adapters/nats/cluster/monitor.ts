// Asks a nats-server how it is through its HTTP monitoring port: /varz (who it is), /healthz
// (whether JetStream is current) and /jsz (the JetStream meta cluster and, with streams=true, the
// placement of every stream it holds). Readiness and stream roles are read from these answers,
// never guessed from time passed. Only the fields deliverycheck reads are typed.

import { request } from 'node:http';

export class MonitorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonitorError';
  }
}

export interface Varz {
  readonly server_name: string;
  readonly version: string;
  /** How many routes to other servers are up. */
  readonly routes: number;
  readonly cluster?: { readonly name?: string };
}

export interface Healthz {
  readonly status: string;
  readonly error?: string;
}

export interface PeerInfo {
  readonly name: string;
  readonly current: boolean;
  readonly offline?: boolean;
  readonly lag?: number;
}

export interface ClusterInfo {
  readonly name?: string;
  /** The server name of the leader, as this server knows it; absent while there is none. */
  readonly leader?: string;
  /** Only the leader lists every other peer with whether it is current; others list less. */
  readonly replicas?: readonly PeerInfo[];
  readonly cluster_size?: number;
}

export interface StreamDetail {
  readonly name: string;
  readonly cluster?: ClusterInfo;
  readonly state?: { readonly messages: number; readonly last_seq: number };
}

export interface Jsz {
  /** Present only when JetStream is enabled on the server. */
  readonly config?: { readonly store_dir?: string };
  readonly meta_cluster?: ClusterInfo;
  readonly account_details?: readonly { readonly name: string; readonly stream_detail?: readonly StreamDetail[] }[];
}

/**
 * GETs a monitoring path and parses its JSON. A fresh connection each time (no agent): a pooled
 * socket to a node that was since killed or paused would only add a second way to fail.
 */
export function monitor<T>(host: string, port: number, path: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolveAnswer, rejectAnswer) => {
    const req = request({ host, port, path, method: 'GET', agent: false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => rejectAnswer(new MonitorError(`${path}: ${error.message}`)));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          // Not validated beyond JSON: the fields read are checked where they are read.
          resolveAnswer(JSON.parse(text) as T);
        } catch {
          rejectAnswer(new MonitorError(`${path} answered ${response.statusCode ?? '?'} with no JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new MonitorError(`${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => rejectAnswer(error instanceof MonitorError ? error : new MonitorError(`${path}: ${error.message}`)));
    req.end();
  });
}
