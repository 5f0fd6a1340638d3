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
import { registerDataPlaneMetrics } from '../dataplane/metrics/nlb-metrics.js';
import { registerGwlbMetrics } from '../dataplane/metrics/gwlb-metrics.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { systemScheduler, type Scheduler as TimerScheduler } from '../util/scheduler.js';
import { faultAwareProbe } from '../dataplane/health/fault-probe.js';
import { connectionFaults } from '../dataplane/connection-faults.js';
import { dropShare } from '../domain/fault-rules.js';
import { faultCounter } from '../metrics/fault-metrics.js';
import { FaultRuleCache } from '../store/fault-rule-cache.js';
import { KernelEngine, probeNftables } from '../dataplane/kernel/engine.js';
import { localRunner, type CommandRunner } from '../dataplane/kernel/commands.js';
import { BpfGwlbEngine } from '../dataplane/gwlb/bpf/engine.js';
import { spliceRelay, spliceUnavailableReason, type SpliceRelay } from '../dataplane/native/splice-relay.js';
import { tlsRelay, tlsRelayUnavailableReason, type TlsRelay } from '../dataplane/native/tls-relay.js';
import { connectionLogger } from '../dataplane/nlb/connection-log.js';

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
  /** The timers health checks, listener drains and idle sweeps run on (default: the real ones; tests move a ManualScheduler). */
  timers?: TimerScheduler;
  /** Where nft / conntrack run (tests point it at a network namespace). Default: this namespace. */
  kernelRunner?: CommandRunner;
  /**
   * The engine already chosen (and logged) by a cluster primary for all its workers: no probe
   * and no log line per worker. Absent: this process probes and logs.
   */
  engine?: EngineDecision;
}

/** Which engine plain TCP / UDP listeners use, and why (plain data: crosses to cluster workers). */
export interface EngineDecision {
  kernel: boolean;
  why: string;
}

/**
 * Decides the engine for plain TCP / UDP listeners per `dataplane.engine` (probing nftables
 * unless told userspace). `kernel` when nftables is unusable is a start-up error, not a quiet
 * fallback.
 */
export async function decideEngine(config: Config, runner: CommandRunner = localRunner()): Promise<EngineDecision> {
  const wanted = config.dataplane.engine;
  if (wanted === 'userspace') return { kernel: false, why: 'dataplane.engine: userspace' };
  const probe = await probeNftables(runner);
  if (probe.usable) return { kernel: true, why: `dataplane.engine: ${wanted}; ${probe.reason}` };
  if (wanted === 'kernel') throw new Error(`dataplane.engine is kernel, but nftables is not usable: ${probe.reason}`);
  return { kernel: false, why: `dataplane.engine: auto, and nftables is not usable: ${probe.reason}` };
}

/** The one line per start that says which engine and why. */
export function logEngineDecision(log: Logger, decision: EngineDecision, table: string | undefined): void {
  if (!decision.kernel) {
    log.info({ engine: 'userspace', why: decision.why }, `data plane: user-space engine for every listener (${decision.why})`);
    return;
  }
  log.info(
    { engine: 'kernel', table, why: decision.why },
    `data plane: kernel engine (nftables table ${table} + conntrack) for plain TCP/UDP listeners; TLS, PROXY protocol and qch listeners in user space (${decision.why})`,
  );
}

/**
 * The kernel engine for this node, or undefined for user space. Probes and logs unless a
 * decision is handed in (a cluster worker: its primary did both once).
 */
export async function chooseKernelEngine(
  config: Config,
  log: Logger,
  nodeId: string,
  runner: CommandRunner = localRunner(),
  decided?: EngineDecision,
): Promise<KernelEngine | undefined> {
  const decision = decided ?? (await decideEngine(config, runner));
  const engine = decision.kernel ? new KernelEngine({ nodeId, runner, log }) : undefined;
  if (!decided) logEngineDecision(log, decision, engine?.table);
  return engine;
}

/** The splice relay for plain TCP user-space listeners, or undefined (JS relay), said in one line. */
function chooseRelay(config: Config, log: Logger): SpliceRelay | undefined {
  const why = config.dataplane.userspaceRelay === 'js' ? 'dataplane.userspaceRelay: js' : spliceUnavailableReason();
  if (why === undefined) {
    const relay = spliceRelay();
    if (relay?.nativeAccept)
      log.info(
        { relay: 'splice', accept: 'native' },
        'user-space engine: plain TCP connections are accepted, connected and relayed natively',
      );
    else
      log.info(
        { relay: 'splice', accept: 'js' },
        'user-space engine: plain TCP connections relay kernel-to-kernel (native splice relay; accepted in JS: OPENSLB_USERSPACE_ACCEPT=js)',
      );
    return relay;
  }
  log.info({ relay: 'js', why }, `user-space engine: connections relay in JS (${why})`);
  return undefined;
}

/** The native TLS relay for TCPSSL listeners, or undefined (Node's TLS), said in one line. */
function chooseTlsRelay(config: Config, log: Logger): TlsRelay | undefined {
  const why = config.dataplane.userspaceRelay === 'js' ? 'dataplane.userspaceRelay: js' : tlsRelayUnavailableReason();
  if (why === undefined) {
    log.info({ tls: 'native' }, 'user-space engine: TCPSSL listeners terminate TLS in the native addon (OpenSSL, off the JS thread)');
    return tlsRelay();
  }
  log.info({ tls: 'node', why }, `user-space engine: TCPSSL listeners terminate TLS with Node's TLS (${why})`);
  return undefined;
}

const kernelEngines = new WeakMap<DataPlaneNode, KernelEngine>();
const gwlbReconcilers = new WeakMap<DataPlaneNode, GwlbReconciler>();

/** The GWLB reconciler of a node (tests: which path forwards, and a sweep after moving the clock). */
export function gwlbReconcilerOf(node: DataPlaneNode): GwlbReconciler | undefined {
  return gwlbReconcilers.get(node);
}

/**
 * Stopping this node will leave its kernel table forwarding (a worker whose primary crashed: the
 * next `openslb serve` takes the table over, and no connection drops meanwhile).
 */
export function leaveKernelTableOnStop(node: DataPlaneNode): void {
  kernelEngines.get(node)?.leaveTableOnClose();
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlaneNode> {
  const { config, clock, log, registry } = opts;
  const timers = opts.timers ?? systemScheduler;
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
  // Fault rules that hold backends down: checked by every probe, read from the store at most once
  // a second of the timers' time (the probes' own), so moved time sees a new rule at once.
  const faultRules = new FaultRuleCache(store, { now: () => timers.now() });
  const faultsFired = faultCounter(registry);
  const probe = faultAwareProbe({
    inner: opts.probe,
    rules: () => faultRules.rules(),
    now: () => clock.now(),
    onFired: (rule) => faultsFired.inc({ rule, effect: 'unhealthy' }),
    onChange: (target, ruleId) =>
      ruleId
        ? log.warn({ target, ruleId }, 'fault injected: health probes fail while the rule holds')
        : log.info({ target }, 'fault rule no longer holds this backend down'),
  });
  const dropping = new Set<string>();
  const onDrops = (rule: string, listenerId: string, count: number) => {
    faultsFired.inc({ rule, effect: 'drop-connections' }, count);
    // One line per rule and listener, not one per dropped connection.
    const key = `${rule} ${listenerId}`;
    if (!dropping.has(key)) {
      dropping.add(key);
      log.warn({ ruleId: rule, listenerId }, 'fault injected: dropping a share of new connections');
    }
  };
  const shouldDrop = connectionFaults({
    rules: () => faultRules.peek(),
    now: () => clock.now(),
    onDrop: (rule, listenerId) => onDrops(rule, listenerId, 1),
  });
  // Kernel listeners: the share is programmed into the table and the refusals read back.
  const kernelFaults = { dropShare: (listenerId: string) => dropShare(faultRules.peek(), listenerId, clock.now()), onDrops };
  // One kernel table per host is enough: in a cluster the worker that owns datagrams programs it
  // and the other workers leave those listeners alone.
  const kernel = await chooseKernelEngine(config, log, opts.nodeId, opts.kernelRunner, opts.engine);
  const nlb = new NlbReconciler({
    store,
    clock,
    timers,
    maxPortRange: config.dataplane.maxPortRange,
    maxUdpSessions: config.dataplane.maxUdpSessionsPerListener,
    log,
    report,
    protocols: datagrams ? undefined : STREAM_PROTOCOLS,
    probe,
    shouldDrop,
    kernelFaults,
    kernel: datagrams ? kernel : undefined,
    skipKernelEligible: !datagrams && kernel !== undefined,
    splice: chooseRelay(config, log),
    tlsRelay: chooseTlsRelay(config, log),
    logConnection: config.dataplane.connectionLog ? connectionLogger(log) : undefined,
  });
  const parts: Reconciler[] = [nlb];
  let gwlbForNode: GwlbReconciler | undefined;
  registerDataPlaneMetrics(registry, nlb);
  if (datagrams) {
    const gwlb = new GwlbReconciler({
      store,
      clock,
      timers,
      optionClass: config.dataplane.gwlbOptionClass,
      log,
      report,
      probe,
      bpf:
        config.dataplane.gwlbEngine === 'userspace'
          ? undefined
          : {
              required: config.dataplane.gwlbEngine === 'bpf',
              start: () =>
                BpfGwlbEngine.start({ runner: localRunner(), clock, log, objectPath: process.env.OPENSLB_GWLB_BPF_OBJECT || undefined }),
            },
    });
    parts.push(gwlb);
    gwlbForNode = gwlb;
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
  if (kernel && datagrams) kernelEngines.set(node, kernel);
  if (gwlbForNode) gwlbReconcilers.set(node, gwlbForNode);
  await node.start();
  return node;
}
