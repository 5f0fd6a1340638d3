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
import { DesiredStateCopy, DesiredStateSource } from '../dataplane/desired-state-copy.js';
import { NlbReconciler } from '../dataplane/nlb/reconciler.js';
import type { ProbeFn } from '../dataplane/health/checker.js';
import { registerDataPlaneMetrics } from '../metrics/dataplane-metrics.js';
import { registerGwlbMetrics } from '../metrics/gwlb-metrics.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { systemScheduler } from '../util/scheduler.js';

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
  /** Health probes of a cluster worker, shared with the other workers through the primary. */
  probe?: ProbeFn;
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlaneNode> {
  const { config, clock, log, registry } = opts;
  const datagrams = opts.datagrams ?? true;
  // On a shared PostgreSQL, keep a local copy of what was applied, for a start during an outage.
  const copy =
    opts.store.kind === 'postgres'
      ? new DesiredStateCopy({
          dataDir: config.dataDir,
          nodeId: opts.nodeId,
          onError: (err) => log.warn({ err }, 'saving the local copy of the desired state failed'),
        })
      : undefined;
  const source = new DesiredStateSource(opts.store);
  const store = source.asStore();
  let node: DataPlaneNode | undefined;
  const report = (observations: Observation[]) => node?.report(observations);
  const nlb = new NlbReconciler({
    store,
    clock,
    timers: systemScheduler,
    maxPortRange: config.dataplane.maxPortRange,
    log,
    report,
    protocols: datagrams ? undefined : STREAM_PROTOCOLS,
    probe: opts.probe,
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
    clock,
    reconciler: new CompositeReconciler(parts),
    log,
    copy,
    source,
    store: opts.store,
  });
  await node.start();
  return node;
}
