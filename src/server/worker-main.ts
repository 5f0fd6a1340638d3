/**
 * Entry point of a cluster data-plane worker (`serve --workers N`, N > 1). The worker is a
 * data-plane node of its own: it opens the store (the primary already migrated it), registers,
 * heartbeats, follows the revision and accepts connections on listening sockets it shares with
 * the other workers. It exits when told to (SIGTERM) or when its primary goes away.
 */
import cluster from 'node:cluster';
import pino from 'pino';
import { prettyStream } from './pretty-log.js';
import { newRegistry } from '../metrics/registry.js';
import { openStore } from '../store/store.js';
import { systemClock } from '../util/clock.js';
import { splitHostPort } from '../config/load.js';
import { leaveKernelTableOnStop, startDataPlane } from './dataplane.js';
import { nodeAddress } from '../domain/node-identity.js';
import { ProbeClient, type ProbeReply } from '../dataplane/health/shared-probe.js';
import {
  isMessage,
  WORKER_SPEC_ENV,
  type MetricsReply,
  type MetricsRequest,
  type RevisionMessage,
  type StatusMessage,
  type WorkerSpec,
} from './worker-protocol.js';

/** How often a worker checks whether its forwarding status changed (sent only on change). */
const STATUS_INTERVAL_MS = 1000;

async function main(): Promise<void> {
  if (!cluster.isWorker || !process.send) throw new Error('worker-main runs only as a cluster worker of `openslb serve`');
  const spec = JSON.parse(process.env[WORKER_SPEC_ENV] ?? 'null') as WorkerSpec | null;
  if (!spec) throw new Error(`${WORKER_SPEC_ENV} is missing`);
  const { config } = spec;
  const log = pino({ level: config.logLevel }, config.logFormat === 'pretty' ? prettyStream() : undefined).child({
    worker: spec.slot,
    nodeId: spec.nodeId,
  });

  // Ctrl-C reaches the whole process group; the primary decides how the cluster stops.
  process.on('SIGINT', () => undefined);
  // Node's cluster code exits a worker the moment its IPC channel closes (the primary died),
  // before any handler of ours runs, and the worker's node row would stay behind. Marking
  // the disconnect as expected leaves the exit to the 'disconnect' handler below, which
  // deregisters the node first.
  cluster.worker!.exitedAfterDisconnect = true;

  const store = await openStore({ url: config.storeUrl, dataDir: config.dataDir, migrate: false, log, startWhileUnreachable: true });
  const registry = newRegistry();
  // Health probes go through the primary, which runs one per target for all its workers.
  const prober = new ProbeClient((request) => process.send?.(request));
  process.on('message', (msg: unknown) => {
    if (isMessage<ProbeReply>(msg, 'openslb:probe-result')) prober.deliver(msg);
  });
  const node = await startDataPlane({
    probe: prober.probe,
    config,
    store,
    clock: systemClock,
    log,
    registry,
    nodeId: spec.nodeId,
    address: nodeAddress(config.node.address, splitHostPort(config.apiListen).host),
    datagrams: spec.datagrams,
    engine: spec.engine,
  });

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'data-plane worker stopping');
    // Bounded: a store that does not answer must not keep a worker without a primary alive.
    const giveUp = setTimeout(() => process.exit(0), 10_000);
    giveUp.unref();
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

  let lastStatus = '';
  const sendStatus = () => {
    const status = node.status();
    const text = JSON.stringify(status);
    if (text === lastStatus || !process.connected) return;
    lastStatus = text;
    process.send?.({ type: 'openslb:status', status } satisfies StatusMessage);
  };
  sendStatus();
  setInterval(sendStatus, STATUS_INTERVAL_MS).unref();
}

main().catch((err: unknown) => {
  process.stderr.write(`openslb worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
