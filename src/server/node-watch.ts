/**
 * The control plane's view of its data-plane nodes. A node is live while its heartbeat is
 * younger than `jobs.nodeTimeoutMs`; the job runner leaves stale nodes out. NodeWatch says so
 * out loud: one log line when a node joins, goes stale (jobs stop waiting for it), comes back
 * or leaves, and the admin listener's `/nodes` and `/metrics` show the same table.
 */
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { isStoreUnavailable, type Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { HEALTHY, UNHEALTHY } from '../domain/observations.js';

export interface NodeView {
  nodeId: string;
  address: string;
  startedAt: number;
  heartbeatAt: number;
  heartbeatAgeMs: number;
  appliedRevision: number;
  /** false: silent for longer than the node timeout, so jobs no longer wait for it. */
  live: boolean;
  /**
   * This node's own view of the backends it health-checks (GetListenerHealthStatus shows the
   * fleet's combined view): how many it sees healthy, and the ones it sees unhealthy.
   */
  health?: { healthy: number; unhealthy: Array<{ target: string; reason: string | null }> };
}

const HEALTH_PREFIX = 'health:';

export async function listNodes(
  store: Store,
  now: number,
  nodeTimeoutMs: number,
  opts: { withHealth?: boolean } = {},
): Promise<NodeView[]> {
  const rows = await store.db.selectFrom('nodes').selectAll().orderBy('node_id').execute();
  const health = new Map<string, NonNullable<NodeView['health']>>();
  if (opts.withHealth) {
    const verdicts = await store.db
      .selectFrom('observations')
      .select(['node_id', 'object_id', 'state', 'reason'])
      .where('object_id', 'like', `${HEALTH_PREFIX}%`)
      .where('state', 'in', [HEALTHY, UNHEALTHY])
      .orderBy('object_id')
      .execute();
    for (const v of verdicts) {
      let h = health.get(v.node_id);
      if (!h) health.set(v.node_id, (h = { healthy: 0, unhealthy: [] }));
      if (v.state === HEALTHY) h.healthy++;
      else h.unhealthy.push({ target: v.object_id.slice(HEALTH_PREFIX.length), reason: v.reason });
    }
  }
  return rows.map((r) => ({
    nodeId: r.node_id,
    address: r.address,
    startedAt: Number(r.started_at),
    heartbeatAt: Number(r.heartbeat_at),
    heartbeatAgeMs: now - Number(r.heartbeat_at),
    appliedRevision: Number(r.applied_revision),
    // The same test the job runner applies.
    live: Number(r.heartbeat_at) >= now - nodeTimeoutMs,
    ...(opts.withHealth ? { health: health.get(r.node_id) ?? { healthy: 0, unhealthy: [] } } : {}),
  }));
}

/**
 * Removes a node's row and observations. With `silentBefore`, only if its last heartbeat is
 * older than that (so a node that just came back is not forgotten by a check that read it
 * before). Returns whether a row was removed.
 */
export async function forgetNode(store: Store, nodeId: string, silentBefore?: number): Promise<boolean> {
  return store.transact(async (tx) => {
    let del = tx.deleteFrom('nodes').where('node_id', '=', nodeId);
    if (silentBefore !== undefined) del = del.where('heartbeat_at', '<', silentBefore);
    const removed = Number((await del.executeTakeFirst()).numDeletedRows) > 0;
    if (removed) await tx.deleteFrom('observations').where('node_id', '=', nodeId).execute();
    return removed;
  });
}

export interface NodeWatchOptions {
  store: Store;
  clock: Clock;
  nodeTimeoutMs: number;
  /** Remove nodes silent for longer than this (0 or undefined: never). */
  nodeForgetMs?: number;
  log?: Logger;
  /** How often to look (default: a quarter of the timeout, between 250 ms and 5 s). */
  intervalMs?: number;
}

export class NodeWatch {
  /** Last seen liveness per node id. */
  private readonly known = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: NodeWatchOptions) {}

  nodes(): Promise<NodeView[]> {
    return listNodes(this.opts.store, this.opts.clock.now(), this.opts.nodeTimeoutMs);
  }

  /** Looks once and logs every change since the last look. */
  async check(): Promise<void> {
    const nodes = await this.nodes();
    const log = this.opts.log;
    const seen = new Set<string>();
    const forgetMs = this.opts.nodeForgetMs ?? 0;
    for (const n of nodes) {
      if (forgetMs > 0 && n.heartbeatAgeMs > forgetMs) {
        const silentBefore = this.opts.clock.now() - forgetMs;
        if (await forgetNode(this.opts.store, n.nodeId, silentBefore)) {
          log?.info(
            { nodeId: n.nodeId, address: n.address, heartbeatAgeMs: n.heartbeatAgeMs, nodeForgetMs: forgetMs },
            'data-plane node forgotten: silent for longer than jobs.nodeForgetMs',
          );
          continue;
        }
      }
      seen.add(n.nodeId);
      const before = this.known.get(n.nodeId);
      this.known.set(n.nodeId, n.live);
      if (before === n.live) continue;
      const fields = { nodeId: n.nodeId, address: n.address, appliedRevision: n.appliedRevision, heartbeatAgeMs: n.heartbeatAgeMs };
      if (!n.live) {
        log?.warn(
          { ...fields, nodeTimeoutMs: this.opts.nodeTimeoutMs },
          'data-plane node stopped heartbeating; jobs no longer wait for it',
        );
      } else if (before === false) {
        log?.info(fields, 'data-plane node is heartbeating again');
      } else {
        log?.info(fields, 'data-plane node joined');
      }
    }
    for (const id of [...this.known.keys()]) {
      if (seen.has(id)) continue;
      this.known.delete(id);
      log?.info({ nodeId: id }, 'data-plane node left');
    }
  }

  /** Whether the last look failed (its first failure is logged, the rest are not). */
  private failing = false;

  start(): void {
    const interval = this.opts.intervalMs ?? Math.min(5000, Math.max(250, this.opts.nodeTimeoutMs / 4));
    const tick = () => {
      this.running = this.check()
        .then(
          () => {
            this.failing = false;
          },
          (err) => {
            // An unreachable store says so itself, once per outage.
            if (!this.failing && !isStoreUnavailable(err)) this.opts.log?.warn({ err }, 'reading data-plane nodes failed');
            this.failing = true;
          },
        )
        .finally(() => {
          this.running = undefined;
        });
    };
    tick();
    this.timer = setInterval(() => {
      if (!this.running) tick();
    }, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Per-node gauges, read from the store when Prometheus scrapes. */
  registerMetrics(registry: Registry): void {
    let latest: Promise<NodeView[]> | undefined;
    // One store read per scrape, shared by the gauges below.
    const read = (): Promise<NodeView[]> => {
      latest ??= this.nodes().finally(() => setImmediate(() => (latest = undefined)));
      return latest;
    };
    new Gauge({
      name: 'openslb_dataplane_nodes',
      help: 'Data-plane nodes in the store, by state (live: heartbeating within jobs.nodeTimeoutMs; stale: left out of jobs).',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const nodes = await read().catch(() => []);
        this.set({ state: 'live' }, nodes.filter((n) => n.live).length);
        this.set({ state: 'stale' }, nodes.filter((n) => !n.live).length);
      },
    });
    new Gauge({
      name: 'openslb_dataplane_node_live',
      help: '1 while the node heartbeats within jobs.nodeTimeoutMs, 0 once jobs no longer wait for it.',
      labelNames: ['node_id'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const n of await read().catch(() => [])) this.set({ node_id: n.nodeId }, n.live ? 1 : 0);
      },
    });
    new Gauge({
      name: 'openslb_dataplane_node_applied_revision',
      help: 'The store revision each data-plane node has applied.',
      labelNames: ['node_id'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const n of await read().catch(() => [])) this.set({ node_id: n.nodeId }, n.appliedRevision);
      },
    });
  }
}
