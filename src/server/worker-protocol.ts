/**
 * What a cluster primary and its data-plane workers tell each other. The primary hands a
 * worker its spec in the environment (it is needed before anything else runs); the rest goes
 * over the cluster IPC channel.
 */
import type { Config } from '../config/config.js';
import type { ForwardingStatus } from '../dataplane/node.js';
import type { EngineDecision } from './dataplane.js';

export const WORKER_SPEC_ENV = 'OPENSLB_WORKER_SPEC';

export interface WorkerSpec {
  /** 1-based; slot 1 owns the datagram sockets (UDP listeners, GENEVE). */
  slot: number;
  nodeId: string;
  datagrams: boolean;
  config: Config;
  /** The engine the primary chose for every worker (probed and logged once, there). */
  engine: EngineDecision;
}

/** Worker → primary: the node registered and applied the current revision. */
export interface ReadyMessage {
  type: 'openslb:ready';
  nodeId: string;
}

/** Primary → worker: send your metrics. */
export interface MetricsRequest {
  type: 'openslb:metrics';
  id: number;
}

/** Worker → primary: the answer, as `Registry.getMetricsAsJSON()`. */
export interface MetricsReply {
  type: 'openslb:metrics-reply';
  id: number;
  metrics: object[];
}

/**
 * Primary → worker: the store is at this revision. On SQLite a worker would otherwise see the
 * primary's commits only at its next poll of the shared file; this wakes it at once.
 */
export interface RevisionMessage {
  type: 'openslb:revision';
  revision: number;
}

/** Worker → primary: what it forwards, whenever that changes (the primary's /healthz). */
export interface StatusMessage {
  type: 'openslb:status';
  status: ForwardingStatus;
}

export type WorkerMessage = ReadyMessage | MetricsReply | StatusMessage;

export function isMessage<T extends { type: string }>(msg: unknown, type: T['type']): msg is T {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;
}
