/**
 * Entry point of a cluster data-plane worker (`serve --workers N`, N > 1). The worker is a
 * data-plane node of its own: it opens the store (the primary already migrated it), registers,
 * heartbeats, follows the revision and accepts connections on listening sockets it shares with
 * the other workers. It exits when told to (SIGTERM) or when its primary goes away.
 */
import cluster from 'node:cluster';
import pino from 'pino';
import { newRegistry } from '../metrics/api-metrics.js';
import { openStore } from '../store/store.js';
import { systemClock } from '../util/clock.js';
import { splitHostPort } from '../config/load.js';
import { leaveKernelTableOnStop, startDataPlane } from './dataplane.js';
import { isMessage, WORKER_SPEC_ENV, type MetricsReply, type MetricsRequest, type RevisionMessage, type WorkerSpec } from './worker-protocol.js';

async function main(): Promise<void> {
  if (!cluster.isWorker || !process.send) throw new Error('worker-main runs only as a cluster worker of `openslb serve`');
  const spec = JSON.parse(process.env[WORKER_SPEC_ENV] ?? 'null') as WorkerSpec | null;
  if (!spec) throw new Error(`${WORKER_SPEC_ENV} is missing`);
  const { config } = spec;
  const log = pino({ level: config.logLevel }).child({ worker: spec.slot, nodeId: spec.nodeId });

  // Ctrl-C reaches the whole process group; the primary decides how the cluster stops.
  process.on('SIGINT', () => undefined);

  const store = await openStore({ url: config.storeUrl, dataDir: config.dataDir, migrate: false });
  const registry = newRegistry();
  const node = await startDataPlane({
    config,
    store,
    clock: systemClock,
    log,
    registry,
    nodeId: spec.nodeId,
    address: splitHostPort(config.apiListen).host,
    datagrams: spec.datagrams,
  });

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'data-plane worker stopping');
    await node.stop().catch((err) => log.error({ err }, 'stopping the data-plane node failed'));
    await store.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // The IPC channel closes when the primary exits, even by SIGKILL: never outlive it.
  process.on('disconnect', () => {
    // Not an operator's stop: keep kernel forwarding up until the next process takes over.
    leaveKernelTableOnStop(node);
    void stop('primary gone');
  });

  process.on('message', (msg: unknown) => {
    if (isMessage<RevisionMessage>(msg, 'openslb:revision')) {
      store.notifyRevision(msg.revision);
      return;
    }
    if (!isMessage<MetricsRequest>(msg, 'openslb:metrics')) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: 'openslb:metrics-reply', id: msg.id, metrics } satisfies MetricsReply),
      (err) => log.warn({ err }, 'collecting metrics failed'),
    );
  });

  log.info({ datagrams: spec.datagrams, appliedRevision: node.appliedRevision }, 'data-plane worker ready');
  process.send({ type: 'openslb:ready', nodeId: spec.nodeId });
}

main().catch((err: unknown) => {
  process.stderr.write(`openslb worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
