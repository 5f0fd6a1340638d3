/**
 * Wires one OpenSLB process together: store, credentials, API gateway, admin listener, job
 * runner and (for roles `all` and `dataplane`) a data-plane node. `openslb serve` and the
 * integration tests both start OpenSLB through here.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.js';
import { splitHostPort } from '../config/load.js';
import { ensureRootKey, type RootKeyInfo } from '../accounts/credentials.js';
import { RamService } from '../accounts/ram-service.js';
import type { DataPlaneNode } from '../dataplane/node.js';
import { nodeAddress, nodeIdentity } from '../domain/node-identity.js';
import { forwardingHealth, type ForwardingHealth } from './health-endpoints.js';
import { readiness, registerStoreMetrics } from './health-endpoints.js';
import type { Registry } from 'prom-client';
import { startDataPlane } from './dataplane.js';
import { type ConsoleOptions, startConsole } from '../console/index.js';
import { NodeWatch, listNodes } from './node-watch.js';
import type { Product } from '../gateway/action.js';
import { ApiGateway } from '../gateway/pipeline.js';
import { CallerCache } from '../gateway/caller-cache.js';
import { batchedStdout } from '../gateway/batched-log.js';
import { prettyStream } from './pretty-log.js';
import { buildApiServer } from '../gateway/server.js';
import { StoreNonceRegistry } from '../gateway/signature/store-nonce-registry.js';
import { JobRunner } from '../jobs/runner.js';
import { ApiMetrics } from '../metrics/api-metrics.js';
import { newRegistry } from '../metrics/registry.js';
import { casProduct } from '../products/cas/index.js';
import { gwlbProduct } from '../products/gwlb/index.js';
import { nlbProduct } from '../products/nlb/index.js';
import { isStoreUnavailable, openStore, type Store } from '../store/store.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { Scheduler as TimerScheduler } from '../util/scheduler.js';
import { FaultInjector } from '../faults/injector.js';
import { registerFaultRoutes } from '../faults/admin-routes.js';

export interface StartOptions {
  clock?: Clock;
  /**
   * The timers of the in-process data plane (health checks, listener drains and idle sweeps)
   * and of API latency faults (default: the real ones). A test passes a ManualScheduler,
   * usually as `clock` too, and moves time instead of waiting for probe intervals.
   */
  timers?: TimerScheduler;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Identifies this process's data-plane node in the store. */
  nodeId?: string;
  /** Products served in addition to the built-in ones (tests use this for probe actions). */
  extraProducts?: Product[];
  /**
   * false: run no data-plane node here even for roles all and dataplane (a cluster primary,
   * whose workers are the nodes). Default true.
   */
  dataPlane?: boolean;
  /** Extra admin routes (the cluster primary's /workers). */
  adminRoutes?: (app: FastifyInstance) => void;
  /** Replaces the /metrics text (the cluster primary adds its workers' metrics). */
  metricsText?: (own: Registry) => Promise<string>;
  /** What /healthz says about forwarding when the nodes are elsewhere (the cluster primary's workers). */
  forwarding?: () => ForwardingHealth;
  /** Random source for fault rules with a probability (tests make it deterministic). */
  faultRandom?: () => number;
  /** The web console on the admin listener (on by default where the API is served); false turns it off. */
  console?: ConsoleOptions | false;
}

export interface RunningOpenSlb {
  config: Config;
  store: Store;
  /** The account's root key; undefined on `--role dataplane`, which never reads AccessKeys. */
  rootKey?: RootKeyInfo;
  /** This machine's node identity (cluster workers are `<nodeId>-w<slot>`). */
  nodeId: string;
  /** `http://host:port` of the API listener (port resolved when 0 was asked for). */
  apiUrl: string;
  apiAddress: { host: string; port: number };
  adminUrl?: string;
  jobs: JobRunner;
  node?: DataPlaneNode;
  stop(): Promise<void>;
}

export async function startOpenSlb(config: Config, opts: StartOptions = {}): Promise<RunningOpenSlb> {
  const clock = opts.clock ?? systemClock;
  // One line per API call: gathered for up to 10 ms per write (see batched-log.ts).
  const log = opts.log ?? pino({ level: config.logLevel }, config.logFormat === 'pretty' ? prettyStream() : batchedStdout());
  // A data-plane node never migrates: it may hold a role that cannot (see the README's fleet section).
  // It may also start while the store is down, forwarding from its local copy (dataplane.ts).
  const dataPlaneOnly = config.role === 'dataplane';
  const store = await openStore({
    url: config.storeUrl,
    dataDir: config.dataDir,
    log,
    migrate: !dataPlaneOnly,
    startWhileUnreachable: dataPlaneOnly,
  });
  const identity = opts.nodeId ?? nodeIdentity({ id: config.node.id, dataDir: config.dataDir });
  const stops: Array<() => Promise<unknown>> = [() => store.close()];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((err) => log.error({ err }, 'shutdown step failed'));
  };

  try {
    const rootKey =
      config.role === 'dataplane'
        ? undefined
        : await ensureRootKey(store, {
            dataDir: config.storeUrl ? undefined : config.dataDir,
            env: opts.env ?? process.env,
            clock,
            log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
          });

    const registry = newRegistry();
    const jobs = new JobRunner({ store, clock, nodeTimeoutMs: config.jobs.nodeTimeoutMs, log });
    let apiServer: FastifyInstance | undefined;
    let gateway: ApiGateway | undefined;
    let callers: CallerCache | undefined;
    const products = [nlbProduct, gwlbProduct, casProduct, ...(opts.extraProducts ?? [])];
    let apiAddress = splitHostPort(config.apiListen);

    if (config.role !== 'dataplane') {
      const ram = new RamService(store, clock);
      callers = new CallerCache(ram);
      gateway = new ApiGateway({
        config,
        clock,
        store,
        products,
        accountId: rootKey!.accountId,
        // Credentials and policies without a store query per call (see caller-cache.ts).
        callers,
        // In the store: refused after a restart and by every other API node (store-nonce-registry.ts).
        nonces: new StoreNonceRegistry(store, { log }),
        log,
        metrics: new ApiMetrics(registry),
        refreshJobs: () => jobs.refresh(),
        faults: new FaultInjector({ store, clock, timers: opts.timers, log, registry, random: opts.faultRandom }),
      });
      apiServer = buildApiServer(gateway, config.api);
      await apiServer.listen({ host: apiAddress.host, port: apiAddress.port });
      stops.push(() => apiServer!.close());
      const bound = apiServer.server.address() as AddressInfo;
      apiAddress = { host: apiAddress.host, port: bound.port };
      jobs.start();
      stops.push(() => jobs.stop());
    }

    const nodeWatch = new NodeWatch({
      store,
      clock,
      nodeTimeoutMs: config.jobs.nodeTimeoutMs,
      nodeForgetMs: config.jobs.nodeForgetMs,
      log,
    });
    nodeWatch.registerMetrics(registry);
    registerStoreMetrics(registry, store);
    if (config.role !== 'dataplane') {
      // Where jobs are finished, say which nodes they wait for and which they left out.
      nodeWatch.start();
      stops.push(() => nodeWatch.stop());
    }

    let node: DataPlaneNode | undefined;
    if (config.role !== 'api' && opts.dataPlane !== false) {
      node = await startDataPlane({
        config,
        store,
        clock,
        timers: opts.timers,
        log,
        registry,
        nodeId: identity,
        address: nodeAddress(config.node.address, apiAddress.host),
      });
      stops.push(() => node!.stop());
    }

    let adminUrl: string | undefined;
    if (config.adminListen !== '') {
      const admin = Fastify({ logger: false });
      admin.get('/metrics', async (_req, reply) => {
        reply.header('content-type', registry.contentType);
        return opts.metricsText ? opts.metricsText(registry) : registry.metrics();
      });
      // /healthz: can this machine forward (what a router asks); /readyz: can it reach the store.
      const forwarding = opts.forwarding ?? (node ? () => forwardingHealth([node!.status()]) : undefined);
      admin.get('/healthz', async (_req, reply) => {
        const body = forwarding ? { role: config.role, ...forwarding() } : { role: config.role, status: 'ok' as const };
        return reply.code(body.status === 'ok' ? 200 : 503).send(body);
      });
      admin.get('/readyz', async (_req, reply) => {
        const body = await readiness(store);
        return reply.code(body.status === 'ready' ? 200 : 503).send(body);
      });
      admin.get('/nodes', async (_req, reply) => {
        try {
          return {
            nodeTimeoutMs: config.jobs.nodeTimeoutMs,
            nodes: await listNodes(store, clock.now(), config.jobs.nodeTimeoutMs, { withHealth: true }),
          };
        } catch (err) {
          if (!isStoreUnavailable(err)) throw err;
          return reply.code(503).send({ error: 'the store is unreachable', store: store.health() });
        }
      });
      registerFaultRoutes(admin, { store, clock, log, nodeTimeoutMs: config.jobs.nodeTimeoutMs });
      opts.adminRoutes?.(admin);
      if (gateway && callers && opts.console !== false) {
        const consoleApp = startConsole(
          admin,
          {
            gateway,
            callers,
            products,
            config,
            clock,
            accountId: rootKey!.accountId,
            log,
            metricsText: () => (opts.metricsText ? opts.metricsText(registry) : registry.metrics()),
          },
          opts.console ?? {},
        );
        stops.push(() => consoleApp.stop());
      }
      const { host, port } = splitHostPort(config.adminListen);
      await admin.listen({ host, port });
      stops.push(() => admin.close());
      adminUrl = `http://${host}:${(admin.server.address() as AddressInfo).port}`;
    }

    // The start-up lines (where the credentials are, …) go out now, not with the first batch.
    log.flush();
    return {
      config,
      store,
      rootKey,
      nodeId: identity,
      apiUrl: `http://${apiAddress.host}:${apiAddress.port}`,
      apiAddress,
      adminUrl,
      jobs,
      node,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
