/**
 * The admin listener's two health answers, kept apart on purpose:
 *
 *  - `/healthz` is about forwarding, and is what a router (ECMP, anycast, a load balancer in
 *    front) should probe: every listener the node should serve is bound and every data-plane
 *    worker runs. It never touches the store, so a PostgreSQL outage — during which the node
 *    keeps forwarding what it last applied — does not withdraw the node.
 *  - `/readyz` is about the control plane: can this process reach the store right now.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ForwardingStatus } from '../dataplane/node.js';
import type { Store, StoreHealthView } from '../store/store.js';

export interface ForwardingHealth {
  status: 'ok' | 'degraded';
  /** The lowest revision the node (every worker of it) has applied. */
  appliedRevision: number;
  /** Listeners this node should serve but could not bind or apply, with the reason. */
  failed: Array<{ objectId: string; reason: string }>;
  /** Data-plane workers that are not running (a cluster primary only). */
  workersDown?: number[];
}

/** One machine's forwarding health from each of its nodes' status (one per worker). */
export function forwardingHealth(statuses: ForwardingStatus[], workersDown: number[] = []): ForwardingHealth {
  const failed = new Map<string, string>();
  for (const s of statuses) for (const f of s.failed) failed.set(f.objectId, f.reason);
  const applied = statuses.length === 0 ? -1 : Math.min(...statuses.map((s) => s.appliedRevision));
  // appliedRevision < 0: started without the store and without a local copy, so nothing yet.
  const degraded = failed.size > 0 || workersDown.length > 0 || statuses.length === 0 || applied < 0;
  return {
    status: degraded ? 'degraded' : 'ok',
    appliedRevision: applied,
    failed: [...failed].map(([objectId, reason]) => ({ objectId, reason })),
    ...(workersDown.length > 0 ? { workersDown } : {}),
  };
}

export interface Readiness {
  status: 'ready' | 'unavailable';
  store: StoreHealthView & { kind: string; revision?: number };
}

const READY_TIMEOUT_MS = 3000;

/** Asks the store for its revision (bounded), and says what the store's health knows. */
export async function readiness(store: Store): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), READY_TIMEOUT_MS);
  });
  const revision = await Promise.race([store.currentRevision().catch(() => undefined), timeout]);
  clearTimeout(timer);
  const health = store.health();
  const reachable = revision !== undefined;
  return {
    status: reachable ? 'ready' : 'unavailable',
    store: { kind: store.kind, ...health, reachable, ...(reachable ? { revision } : {}) },
  };
}

/** `openslb_store_reachable`: 1 while this process reaches the store, 0 during an outage. */
export function registerStoreMetrics(registry: Registry, store: Store): void {
  new Gauge({
    name: 'openslb_store_reachable',
    help: 'Whether this process can reach the store (0 while its queries find it unreachable; SQLite is always 1).',
    registers: [registry],
    collect() {
      this.set(store.health().reachable ? 1 : 0);
    },
  });
}
