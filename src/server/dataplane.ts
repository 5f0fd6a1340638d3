/**
 * Starts one data-plane node: the NLB and GWLB reconcilers behind a DataPlaneNode, with their
 * metrics. The single-process server and each cluster worker start their node through here.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import { CompositeReconciler } from '../dataplane/composite-reconciler.js';
import { GwlbReconciler } from '../dataplane/gwlb/reconciler.js';
import { DataPlaneNode, type Observation, type Reconciler } from '../dataplane/node.js';
import { NlbReconciler } from '../dataplane/nlb/reconciler.js';
import { registerDataPlaneMetrics } from '../metrics/dataplane-metrics.js';
import { registerGwlbMetrics } from '../metrics/gwlb-metrics.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { systemScheduler } from '../util/scheduler.js';
import { KernelEngine, probeNftables } from '../dataplane/kernel/engine.js';
import { localRunner, type CommandRunner } from '../dataplane/kernel/commands.js';

/** Stream protocols every worker accepts on (the kernel spreads connections over workers). */
const STREAM_PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'TCPSSL']);

export interface DataPlaneOptions {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  registry: Registry;
  nodeId: string;
  /** The address recorded in the node row (what an operator would reach the node by). */
  address: string;
  /**
   * Whether this node owns datagram sockets (UDP listeners, GENEVE). Default true. Cluster
   * workers other than the first say false: a shared UDP socket would hand one client's
   * datagrams to different workers, each with its own session table.
   */
  datagrams?: boolean;
  /** Where nft / conntrack run (tests point it at a network namespace). Default: this namespace. */
  kernelRunner?: CommandRunner;
}

/**
 * Picks the engine for plain TCP / UDP listeners per `dataplane.engine`, and says which and why
 * in one log line. `kernel` when nftables is unusable is a start-up error, not a quiet fallback.
 */
export async function chooseKernelEngine(
  config: Config,
  log: Logger,
  nodeId: string,
  runner: CommandRunner = localRunner(),
): Promise<KernelEngine | undefined> {
  const wanted = config.dataplane.engine;
  if (wanted === 'userspace') {
    log.info({ engine: 'userspace' }, 'data plane: user-space engine for every listener (dataplane.engine: userspace)');
    return undefined;
  }
  const probe = await probeNftables(runner);
  if (!probe.usable) {
    if (wanted === 'kernel') throw new Error(`dataplane.engine is kernel, but nftables is not usable: ${probe.reason}`);
    log.info({ engine: 'userspace', why: probe.reason }, `data plane: user-space engine for every listener (dataplane.engine: auto, and nftables is not usable: ${probe.reason})`);
    return undefined;
  }
  const engine = new KernelEngine({ nodeId, runner, log });
  log.info(
    { engine: 'kernel', table: engine.table, why: probe.reason },
    `data plane: kernel engine (nftables table ${engine.table} + conntrack) for plain TCP/UDP listeners; TLS, PROXY protocol and qch listeners in user space (dataplane.engine: ${wanted}; ${probe.reason})`,
  );
  return engine;
}

const kernelEngines = new WeakMap<DataPlaneNode, KernelEngine>();

/**
 * Stopping this node will leave its kernel table forwarding (a worker whose primary crashed: the
 * next `openslb serve` takes the table over, and no connection drops meanwhile).
 */
export function leaveKernelTableOnStop(node: DataPlaneNode): void {
  kernelEngines.get(node)?.leaveTableOnClose();
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlaneNode> {
  const { config, store, clock, log, registry } = opts;
  const datagrams = opts.datagrams ?? true;
  let node: DataPlaneNode | undefined;
  const report = (observations: Observation[]) => node?.report(observations);
  // One kernel table per host is enough: in a cluster the worker that owns datagrams programs it
  // and the other workers leave those listeners alone.
  const kernel = await chooseKernelEngine(config, log, opts.nodeId, opts.kernelRunner);
  const nlb = new NlbReconciler({
    store,
    clock,
    timers: systemScheduler,
    maxPortRange: config.dataplane.maxPortRange,
    log,
    report,
    protocols: datagrams ? undefined : STREAM_PROTOCOLS,
    kernel: datagrams ? kernel : undefined,
    skipKernelEligible: !datagrams && kernel !== undefined,
  });
  const parts: Reconciler[] = [nlb];
  registerDataPlaneMetrics(registry, nlb);
  if (datagrams) {
    const gwlb = new GwlbReconciler({
      store,
      clock,
      timers: systemScheduler,
      optionClass: config.dataplane.gwlbOptionClass,
      log,
      report,
    });
    parts.push(gwlb);
    registerGwlbMetrics(registry, gwlb);
  }
  node = new DataPlaneNode({
    nodeId: opts.nodeId,
    address: opts.address,
    store,
    clock,
    reconciler: new CompositeReconciler(parts),
    log,
  });
  if (kernel && datagrams) kernelEngines.set(node, kernel);
  await node.start();
  return node;
}
