/**
 * `openslb serve --workers N` (N > 1): a primary process runs the API, the job runner and the
 * admin listener; N forked workers are the data plane, each its own data-plane node.
 *
 * Connections are never funnelled through the primary: with SCHED_NONE the primary only binds
 * each listening socket and hands the handle to every worker that asks for it, and all workers
 * accept on it, so the kernel spreads connections. Datagram sockets are another matter: a
 * UDP socket shared that way hands each datagram to whichever worker reads first, so one
 * client's datagrams would land in several workers, each with its own session (and its own
 * upstream source port, and for non-hash schedulers its own backend). Node 20's dgram has no
 * SO_REUSEPORT either. So worker 1 alone owns datagrams (UDP listeners and GENEVE); the other
 * workers serve TCP and TCPSSL.
 *
 * A worker that dies is restarted (with backoff) under the same node id; its node row is
 * removed at once, so jobs never wait for a worker that is gone.
 */
import cluster, { type Worker } from 'node:cluster';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { batchedStdout } from '../gateway/batched-log.js';
import { prettyStream } from './pretty-log.js';
import type { Registry } from 'prom-client';
import { clusterMetricsText } from '../metrics/aggregate.js';
import type { Config } from '../config/config.js';
import type { Store } from '../store/store.js';
import { startOpenSlb, type RunningOpenSlb, type StartOptions } from './openslb.js';
import { RestartBackoff } from './restart-backoff.js';
import { forgetNode } from './node-watch.js';
import { nodeIdentity, workerNodeId } from '../domain/node-identity.js';
import {
  isMessage,
  WORKER_SPEC_ENV,
  type MetricsReply,
  type MetricsRequest,
  type ReadyMessage,
  type RevisionMessage,
  type StatusMessage,
  type WorkerSpec,
} from './worker-protocol.js';
import type { ForwardingStatus } from '../dataplane/node.js';
import { forwardingHealth, type ForwardingHealth } from './health-endpoints.js';
import { SharedProber, type ProbeReply, type ProbeRequest } from '../dataplane/health/shared-probe.js';
import { decideEngine, logEngineDecision, type EngineDecision } from './dataplane.js';
import { tableNameFor } from '../dataplane/kernel/engine.js';

const WORKER_ENTRY = fileURLToPath(new URL(`./worker-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
/** How long `startCluster` waits for the first workers before serving anyway. */
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const METRICS_TIMEOUT_MS = 2000;

export interface WorkerView {
  slot: number;
  nodeId: string;
  pid: number | undefined;
  ready: boolean;
  datagrams: boolean;
  restarts: number;
  startedAt: number | undefined;
}

interface Slot {
  slot: number;
  nodeId: string;
  datagrams: boolean;
  worker?: Worker;
  ready: boolean;
  restarts: number;
  startedAt?: number;
  backoff: RestartBackoff;
  restartTimer?: NodeJS.Timeout;
  /** The running worker's last forwarding status. */
  status?: ForwardingStatus;
  onReady: Array<() => void>;
}

export interface RunningCluster extends RunningOpenSlb {
  workers(): WorkerView[];
}

/** Supervises the data-plane workers: forks, restarts with backoff, stops. */
class WorkerPool {
  private readonly slots: Slot[];
  private stopping = false;
  private nextMetricsId = 1;
  /** One health probe per target for all workers (see shared-probe.ts). */
  private readonly prober = new SharedProber();
  /** Decided once in start(), handed to every worker (and every restart). */
  private engine: EngineDecision | undefined;

  constructor(
    private readonly config: Config,
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    const identity = nodeIdentity({ id: config.node.id, dataDir: config.dataDir });
    this.slots = Array.from({ length: config.workers }, (_, i) => ({
      slot: i + 1,
      nodeId: workerNodeId(identity, i + 1),
      datagrams: i === 0,
      ready: false,
      restarts: 0,
      backoff: new RestartBackoff(),
      onReady: [],
    }));
  }

  /** Forks every worker; resolves when all are ready or the wait runs out. */
  async start(): Promise<void> {
    // One probe and one log line per start; the kernel table belongs to worker 1's node.
    this.engine = await decideEngine(this.config);
    logEngineDecision(this.log, this.engine, this.engine.kernel ? tableNameFor(this.slots[0].nodeId) : undefined);
    // Before the first fork: each worker accepts on shared handles itself (no round robin
    // through the primary), which is what lets a saturated data plane leave the API alone.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [] });
    const ready = this.slots.map((s) => new Promise<void>((resolve) => s.onReady.push(resolve)));
    for (const s of this.slots) this.fork(s);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
    });
    void this.relayRevisions();
    const outcome = await Promise.race([Promise.all(ready), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.log.warn(
        { ready: this.slots.filter((s) => s.ready).length, workers: this.slots.length },
        'not every data-plane worker is ready yet; serving anyway',
      );
    }
  }

  private readonly relayAbort = new AbortController();

  /**
   * Tells every worker about each revision the primary commits, the moment it commits (the
   * primary's own feed wakes at once on a local commit), so workers need not wait for a poll.
   */
  private async relayRevisions(): Promise<void> {
    let known = await this.store.currentRevision().catch(() => 0);
    while (!this.stopping) {
      const revision = await this.store.waitForRevision(known, 1000, this.relayAbort.signal);
      if (this.stopping) return;
      if (revision <= known) continue;
      known = revision;
      for (const s of this.slots) {
        if (!s.worker?.isConnected()) continue;
        try {
          s.worker.send({ type: 'openslb:revision', revision } satisfies RevisionMessage);
        } catch {
          // A worker going away misses nothing: it reads the revision when it (re)starts.
        }
      }
    }
  }

  private fork(s: Slot): void {
    const spec: WorkerSpec = { slot: s.slot, nodeId: s.nodeId, datagrams: s.datagrams, config: this.config, engine: this.engine! };
    const worker = cluster.fork({ [WORKER_SPEC_ENV]: JSON.stringify(spec) });
    s.worker = worker;
    s.ready = false;
    s.startedAt = Date.now();
    worker.on('message', (msg: unknown) => {
      if (isMessage<ProbeRequest>(msg, 'openslb:probe')) {
        void this.prober.run(msg.target).then((result) => {
          if (!worker.isConnected()) return;
          try {
            worker.send({ type: 'openslb:probe-result', id: msg.id, result } satisfies ProbeReply);
          } catch {
            // The worker went away; its checker is gone with it.
          }
        });
        return;
      }
      if (isMessage<StatusMessage>(msg, 'openslb:status') && s.worker === worker) {
        s.status = msg.status;
        return;
      }
      if (isMessage<ReadyMessage>(msg, 'openslb:ready') && s.worker === worker) {
        s.ready = true;
        this.log.info({ worker: s.slot, pid: worker.process.pid, nodeId: s.nodeId, datagrams: s.datagrams }, 'data-plane worker ready');
        for (const resolve of s.onReady.splice(0)) resolve();
      }
    });
    worker.on('exit', (code, signal) => void this.exited(s, worker, code, signal));
    // A message sent just as the worker died fails later (EPIPE) as an 'error' event; unheard,
    // it would take the primary down with the worker. The 'exit' handler does the real work.
    worker.on('error', (err) => this.log.debug({ err, worker: s.slot }, 'message to a data-plane worker failed'));
  }

  private async exited(s: Slot, worker: Worker, code: number | null, signal: string | null): Promise<void> {
    if (s.worker !== worker) return;
    s.worker = undefined;
    s.ready = false;
    s.status = undefined;
    if (this.stopping) return;
    const uptimeMs = Date.now() - (s.startedAt ?? Date.now());
    const delayMs = s.backoff.next(uptimeMs);
    this.log.warn(
      { worker: s.slot, pid: worker.process.pid, nodeId: s.nodeId, code, signal, uptimeMs, restartInMs: delayMs },
      'data-plane worker exited; its connections are lost; restarting it',
    );
    // Gone now, not after the node timeout: jobs stop waiting for it at once.
    await this.forgetNode(s.nodeId);
    if (this.stopping) return;
    s.restartTimer = setTimeout(() => {
      s.restartTimer = undefined;
      if (this.stopping) return;
      s.restarts++;
      this.fork(s);
    }, delayMs);
  }

  private async forgetNode(nodeId: string): Promise<void> {
    try {
      await forgetNode(this.store, nodeId);
    } catch (err) {
      // The row then ages out after jobs.nodeTimeoutMs like any silent node's.
      this.log.warn({ err, nodeId }, 'could not remove a dead worker from the store');
    }
  }

  /** Forwarding health of the machine: every worker running, every listener bound. */
  forwarding(): ForwardingHealth {
    const down = this.slots.filter((s) => !s.ready || !s.status).map((s) => s.slot);
    return forwardingHealth(
      this.slots.flatMap((s) => (s.ready && s.status ? [s.status] : [])),
      down,
    );
  }

  views(): WorkerView[] {
    return this.slots.map((s) => ({
      slot: s.slot,
      nodeId: s.nodeId,
      pid: s.worker?.process.pid,
      ready: s.ready,
      datagrams: s.datagrams,
      restarts: s.restarts,
      startedAt: s.startedAt,
    }));
  }

  /** Every ready worker's metrics as `getMetricsAsJSON()`; a worker that does not answer in time is left out. */
  async workerMetrics(): Promise<Array<{ slot: number; metrics: object[] }>> {
    const asks = this.slots
      .filter((s) => s.ready && s.worker?.isConnected())
      .map((s) => {
        const worker = s.worker!;
        const id = this.nextMetricsId++;
        return new Promise<{ slot: number; metrics: object[] } | undefined>((resolve) => {
          const onMessage = (msg: unknown) => {
            if (isMessage<MetricsReply>(msg, 'openslb:metrics-reply') && msg.id === id) done(msg.metrics);
          };
          const done = (metrics: object[] | undefined) => {
            clearTimeout(timer);
            worker.off('message', onMessage);
            worker.off('exit', onExit);
            resolve(metrics && { slot: s.slot, metrics });
          };
          const onExit = () => done(undefined);
          const timer = setTimeout(() => done(undefined), METRICS_TIMEOUT_MS);
          worker.on('message', onMessage);
          worker.once('exit', onExit);
          try {
            worker.send({ type: 'openslb:metrics', id } satisfies MetricsRequest);
          } catch {
            done(undefined);
          }
        });
      });
    return (await Promise.all(asks)).filter((m): m is { slot: number; metrics: object[] } => m !== undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.relayAbort.abort();
    const exits: Promise<void>[] = [];
    for (const s of this.slots) {
      clearTimeout(s.restartTimer);
      const worker = s.worker;
      if (!worker || worker.isDead()) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
          worker.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          // SIGTERM: the worker deregisters its node and closes its listeners itself.
          worker.process.kill('SIGTERM');
        }),
      );
    }
    await Promise.all(exits);
  }
}

/**
 * Starts the primary (API, jobs, admin; no in-process data plane) and `config.workers`
 * data-plane workers. The primary migrates the store before any worker opens it.
 */
export async function startCluster(config: Config, opts: StartOptions = {}): Promise<RunningCluster> {
  // The primary serves the API: its per-call lines are batched as in a single process.
  const log = opts.log ?? pino({ level: config.logLevel }, config.logFormat === 'pretty' ? prettyStream() : batchedStdout());
  let pool: WorkerPool | undefined;
  const running = await startOpenSlb(config, {
    ...opts,
    log,
    dataPlane: false,
    adminRoutes: (app: FastifyInstance) => {
      opts.adminRoutes?.(app);
      app.get('/workers', async () => ({ workers: pool?.views() ?? [] }));
    },
    forwarding: () => pool?.forwarding() ?? forwardingHealth([]),
    metricsText: async (own: Registry) => {
      const workers = pool ? await pool.workerMetrics() : [];
      return clusterMetricsText(await own.getMetricsAsJSON(), workers);
    },
  });
  pool = new WorkerPool(config, running.store, log);
  try {
    await pool.start();
  } catch (err) {
    await pool.stop();
    await running.stop();
    throw err;
  }
  const workers = pool;
  return {
    ...running,
    workers: () => workers.views(),
    async stop() {
      // Workers first: they deregister their nodes while the store is still open.
      await workers.stop();
      await running.stop();
    },
  };
}
