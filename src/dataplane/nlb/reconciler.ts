/**
 * Brings the NLB runtime in line with the store: listeners bound, updated in place or closed;
 * server groups rebuilt without losing connection counts or health; health checks following
 * the servers. Reports per listener whether it is bound, or why it failed.
 */
import type { Logger } from 'pino';
import type { Store } from '../../store/store.js';
import type { Clock } from '../../util/clock.js';
import type { Scheduler as TimerScheduler } from '../../util/scheduler.js';
import { HealthChecker, isForwardable, type HealthChange, type HealthTarget, type ProbeFn } from '../health/checker.js';
import type { Observation, Reconciler } from '../node.js';
import { BOUND, FAILED, healthObservationKey, HEALTHY, UNHEALTHY } from '../../domain/observations.js';
import { alibabaTlvBytes, encodeProxyV2 } from './proxy-protocol.js';
import { desiredFromRows, type DesiredListener, type DesiredServerGroup } from './desired.js';
import { NlbSnapshotReader } from './snapshot.js';
import type { TlsMaterial } from './tls-material.js';
import { ServerPool } from './server-pool.js';
import { TcpListener, type TcpListenerSettings } from './tcp-listener.js';
import { UdpListener } from './udp-listener.js';
import { buildNativeTlsSpec, buildTlsOptions, tlsFingerprint } from './tls-options.js';
import { newListenerCounters, type ListenerCounters } from './listener-metrics.js';
import type { KernelEngine } from '../kernel/engine.js';
import { KernelListeners, userspaceReason, type EngineName, type KernelConnectionFaults } from './kernel-listeners.js';
import type { SpliceRelay } from '../native/splice-relay.js';
import type { TlsRelay } from '../native/tls-relay.js';
import type { ConnectionLogEntry } from './connection-log.js';

const CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_UDP_SESSIONS = 10_000;

export interface NlbReconcilerOptions {
  store: Store;
  clock: Clock;
  timers: TimerScheduler;
  /** The largest port range one listener may bind. */
  maxPortRange: number;
  /** UDP sessions one listener keeps at once (see UdpListenerSettings.maxSessions). */
  maxUdpSessions?: number;
  log?: Logger;
  /** Out-of-band observations (health verdicts) for the node to record. */
  report?: (observations: Observation[]) => void;
  /**
   * Listener protocols this node serves (default: all). A cluster worker that does not own the
   * datagram sockets leaves UDP listeners to the worker that does.
   */
  protocols?: ReadonlySet<string>;
  /** Replaces the real health probes (fault rules wrap them, see health/fault-probe.ts; a cluster worker's are shared through its primary). */
  probe?: ProbeFn;
  /** Fault rules that drop a share of a listener's new TCP/TCPSSL connections. */
  shouldDrop?: (listenerId: string) => boolean;
  /** The same rules for listeners the kernel engine forwards. */
  kernelFaults?: KernelConnectionFaults;
  /**
   * The kernel engine, when this node uses it: plain TCP / UDP listeners go there, the rest
   * (TLS, PROXY protocol, qch) stay in user space. Absent: everything runs in user space.
   */
  kernel?: KernelEngine;
  /**
   * Listeners this node leaves alone because another node process forwards them in the kernel
   * (cluster workers other than the one that owns the kernel table).
   */
  skipKernelEligible?: boolean;
  /** The native splice relay for plain TCP user-space listeners; absent: they relay in JS. */
  splice?: SpliceRelay;
  /** The native TLS relay for TCPSSL listeners; absent: Node's TLS terminates. */
  tlsRelay?: TlsRelay;
  /** The per-connection log of user-space TCP/TCPSSL listeners; absent: off. */
  logConnection?: (entry: ConnectionLogEntry) => void;
}

interface RunningListener {
  runtime: TcpListener | UdpListener;
  /** The DesiredListener.version last applied: unchanged means nothing to do. */
  version: string;
  bindKey: string;
  groupId: string;
  /** As declared (TCPSSL too), for metric labels. */
  protocol: DesiredListener['protocol'];
  counters: ListenerCounters;
}

export class NlbReconciler implements Reconciler {
  private readonly snapshot = new NlbSnapshotReader();
  /** Certificates and security policies of the snapshot being applied. */
  private tls: TlsMaterial | undefined;
  /** The last desired state by listener id, so unchanged listeners are not rebuilt. */
  private lastDesired = new Map<string, DesiredListener>();
  private readonly listeners = new Map<string, RunningListener>();
  private readonly pools = new Map<string, ServerPool>();
  private readonly checker: HealthChecker;
  /** Health target key → the server group and server key it belongs to. */
  private targets = new Map<string, { groupId: string; serverKey: string }>();
  /** Listener IDs that last failed, with the reason (re-reported every revision, see apply). */
  private failed = new Map<string, string>();
  /**
   * Runtimes of stopped or re-bound listeners whose connections are draining. A UDP one still
   * holds its sockets (replies leave from the VIP), so it is ended before its listener binds
   * again; a TCP one has released its ports and drains beside its successor.
   */
  private draining: Array<{ id: string; runtime: TcpListener | UdpListener }> = [];
  private readonly kernel: KernelListeners | undefined;

  constructor(private readonly opts: NlbReconcilerOptions) {
    this.kernel = opts.kernel
      ? new KernelListeners({ engine: opts.kernel, timers: opts.timers, pools: this.pools, log: opts.log, faults: opts.kernelFaults })
      : undefined;
    this.checker = new HealthChecker({
      scheduler: opts.timers,
      probe: opts.probe,
      onChange: (change) => this.healthChanged(change),
      onError: (err) => opts.log?.warn({ err }, 'health check listener failed'),
    });
  }

  async apply(_revision: number): Promise<Observation[]> {
    const protocols = this.opts.protocols;
    const snapshot = await this.snapshot.read(this.opts.store.db);
    this.tls = snapshot.tls;
    const all = desiredFromRows(snapshot.rows, this.lastDesired);
    this.lastDesired = new Map(all.map((d) => [d.id, d]));
    const kernelCapable = this.kernel || this.opts.skipKernelEligible;
    const inKernel = kernelCapable ? all.filter((d) => userspaceReason(d) === undefined) : [];
    const kernelIds = new Set(inKernel.map((d) => d.id));
    const mine = this.opts.skipKernelEligible ? all.filter((d) => !kernelIds.has(d.id)) : all;
    const desired = protocols ? mine.filter((d) => protocols.has(d.protocol)) : mine;
    const kernelSide = this.kernel ? desired.filter((d) => kernelIds.has(d.id)) : [];
    this.updatePools(desired);
    const observations: Observation[] = [];
    const userSide = this.kernel ? desired.filter((d) => !kernelIds.has(d.id)) : desired;
    const wanted = new Set(userSide.map((d) => d.id));
    for (const [id, running] of this.listeners) {
      if (!wanted.has(id)) {
        this.listeners.delete(id);
        await this.retire(id, running);
      }
    }
    for (const id of this.failed.keys()) if (!wanted.has(id)) this.failed.delete(id);
    for (const d of userSide) {
      const running = this.listeners.get(d.id);
      // Nothing it is built from has changed: with thousands of listeners, most revisions are this.
      if (running && running.version === d.version) {
        observations.push({ objectId: d.id, state: BOUND });
        continue;
      }
      try {
        await this.applyListener(d);
        this.listeners.get(d.id)!.version = d.version;
        this.failed.delete(d.id);
        if (running === undefined)
          this.opts.log?.info(
            { listenerId: d.id, engine: 'userspace', why: this.kernel ? userspaceReason(d) : undefined },
            'listener forwarded by the user-space engine',
          );
        observations.push({ objectId: d.id, state: BOUND });
      } catch (err) {
        const reason = (err as Error).message;
        this.failed.set(d.id, reason);
        this.opts.log?.warn({ listenerId: d.id, reason }, 'listener could not be applied');
        observations.push({ objectId: d.id, state: FAILED, reason });
      }
    }
    if (this.kernel) observations.push(...(await this.kernel.sync(kernelSide)));
    this.dropUnusedPools(desired);
    return observations;
  }

  private updatePools(desired: DesiredListener[]): void {
    const groups = new Map<string, DesiredServerGroup>();
    for (const d of desired) groups.set(d.serverGroup.id, d.serverGroup);
    const targets: HealthTarget[] = [];
    const targetMap = new Map<string, { groupId: string; serverKey: string }>();
    for (const group of groups.values()) {
      let pool = this.pools.get(group.id);
      if (!pool) {
        pool = new ServerPool(group.id, group);
        this.pools.set(group.id, pool);
      } else if (pool.fingerprint !== group.fingerprint) {
        const before = pool.eligibleKeys();
        pool.update(group);
        this.drainLeavers(group.id, before, pool);
      }
      for (const server of group.servers) {
        const key = healthObservationKey(group.id, server.host, server.port);
        targetMap.set(key, { groupId: group.id, serverKey: server.key });
        targets.push({ key, host: server.host, port: server.port, config: group.healthCheck });
      }
    }
    this.targets = targetMap;
    this.checker.update(targets);
    for (const [id, pool] of this.pools) {
      if (groups.has(id)) pool.setHealth((serverKey) => this.forwardable(id, serverKey));
    }
  }

  private forwardable(groupId: string, serverKey: string): boolean {
    const [host, port] = splitKey(serverKey);
    const state = this.checker.state(healthObservationKey(groupId, host, port));
    return state ? isForwardable(state.status) : false;
  }

  private healthChanged(change: HealthChange): void {
    const target = this.targets.get(change.key);
    if (!target) return;
    const pool = this.pools.get(target.groupId);
    if (pool) {
      const before = pool.eligibleKeys();
      pool.setHealth((serverKey) => this.forwardable(target.groupId, serverKey));
      this.drainLeavers(target.groupId, before, pool);
    }
    // A verdict is reported once the kernel forwards by it, so whoever reads it can rely on it.
    const applied = pool && this.kernel?.groupIds().has(target.groupId) ? this.kernel.poolsChanged() : Promise.resolve();
    if (change.to === 'Healthy' || change.to === 'Unhealthy') {
      // What an operator looks for first when traffic shifts: which backend, which way, why.
      this.opts.log?.info(
        {
          serverGroupId: target.groupId,
          server: target.serverKey,
          from: change.from,
          to: change.to,
          reason: change.reason,
          code: change.code,
        },
        change.to === 'Healthy' ? 'backend up' : 'backend down',
      );
      void applied.then(() =>
        this.opts.report?.([
          {
            objectId: change.key,
            state: change.to === 'Healthy' ? HEALTHY : UNHEALTHY,
            reason: change.code ?? change.reason,
            detail: change.reason ? { message: change.reason } : undefined,
          },
        ]),
      );
    }
  }

  /** Backends that just left a pool stop getting new flows; their live ones drain per the group. */
  private drainLeavers(groupId: string, before: Set<string>, pool: ServerPool): void {
    const after = pool.eligibleKeys();
    for (const key of before) {
      if (after.has(key)) continue;
      for (const running of this.listeners.values()) {
        if (running.groupId === groupId) running.runtime.drainBackend(key, pool.drainMs);
      }
      this.kernel?.drainBackend(groupId, key, pool.drainMs);
    }
  }

  private async applyListener(d: DesiredListener): Promise<void> {
    if (d.ports.length > this.opts.maxPortRange) {
      throw new Error(
        `port range ${d.ports[0]}-${d.ports[d.ports.length - 1]} has ${d.ports.length} ports; this node binds at most ${this.opts.maxPortRange}`,
      );
    }
    if (d.vips.length === 0) throw new Error('the load balancer has no VIP');
    const pool = this.pools.get(d.serverGroup.id)!;
    const tls = d.protocol === 'TCPSSL' ? [tlsFingerprint(d.doc), d.securityPolicyRevision] : [];
    const bindKey = JSON.stringify([d.protocol, d.vips, d.ports, d.keepDestinationPort, tls]);
    const existing = this.listeners.get(d.id);
    const idleTimeoutMs = d.doc.IdleTimeout * 1000;

    if (d.protocol === 'UDP') {
      const settings = { idleTimeoutMs, maxSessions: this.opts.maxUdpSessions ?? DEFAULT_MAX_UDP_SESSIONS };
      if (existing && existing.bindKey === bindKey) {
        existing.runtime.update(settings as never, pool);
        existing.groupId = d.serverGroup.id;
        return;
      }
      const counters = existing?.counters ?? newListenerCounters();
      const runtime = new UdpListener(d.id, d, settings, pool, this.opts.clock, this.opts.timers, counters, this.opts.log);
      await this.replace(d, existing, runtime, bindKey, counters);
      return;
    }

    const settings: TcpListenerSettings = {
      idleTimeoutMs,
      cps: d.doc.Cps,
      mss: d.doc.Mss,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      proxyHeader: d.doc.ProxyProtocolEnabled ? proxyHeaderBuilder(d) : undefined,
      shouldDrop: this.opts.shouldDrop ? dropFor(this.opts.shouldDrop, d.id) : undefined,
      // TLS must pass through Node; everything else may move kernel-to-kernel.
      splice: d.protocol === 'TCPSSL' ? undefined : this.opts.splice,
      logConnection: this.opts.logConnection,
    };
    if (existing && existing.bindKey === bindKey) {
      existing.runtime.update(settings as never, pool);
      existing.groupId = d.serverGroup.id;
      return;
    }
    if (d.protocol === 'TCPSSL') {
      const native = this.opts.tlsRelay;
      if (native) settings.nativeTls = { relay: native, context: native.context(buildNativeTlsSpec(this.tls!, d.regionId, d.doc, d.id)) };
      else settings.tls = buildTlsOptions(this.tls!, d.regionId, d.doc, d.id);
    }
    const counters = existing?.counters ?? newListenerCounters();
    const runtime = new TcpListener(d.id, d, settings, pool, this.opts.clock, this.opts.timers, counters);
    await this.replace(d, existing, runtime, bindKey, counters);
  }

  /** Swaps in a runtime bound to new addresses; the old one stops accepting and drains. */
  private async replace(
    d: DesiredListener,
    existing: RunningListener | undefined,
    runtime: TcpListener | UdpListener,
    bindKey: string,
    counters: ListenerCounters,
  ): Promise<void> {
    if (existing) {
      this.listeners.delete(d.id);
      await this.retire(d.id, existing);
    }
    this.endDraining((entry) => entry.id === d.id && entry.runtime instanceof UdpListener);
    await runtime.bind();
    this.listeners.set(d.id, { runtime, version: '', bindKey, groupId: d.serverGroup.id, protocol: d.protocol, counters });
  }

  /** Stops a runtime accepting; its live connections drain per its server group, without blocking. */
  private async retire(id: string, running: RunningListener): Promise<void> {
    const drainMs = this.pools.get(running.groupId)?.drainMs ?? 0;
    await running.runtime.close(drainMs);
    this.draining = this.draining.filter((entry) => !entry.runtime.drained);
    if (!running.runtime.drained) this.draining.push({ id, runtime: running.runtime });
  }

  private endDraining(which: (entry: { id: string; runtime: TcpListener | UdpListener }) => boolean): void {
    for (const entry of this.draining) if (which(entry)) entry.runtime.destroy();
    this.draining = this.draining.filter((entry) => !entry.runtime.drained);
  }

  private dropUnusedPools(desired: DesiredListener[]): void {
    const used = new Set(desired.map((d) => d.serverGroup.id));
    for (const id of this.pools.keys()) if (!used.has(id)) this.pools.delete(id);
  }

  /** Reads the kernel engine's counters and flows (scrapes call this before reading). */
  async refreshMetrics(): Promise<void> {
    // The kernel counts in real time whatever clock this node was given, so its readings are
    // aged by the process's monotonic clock (an injected clock that stands still would serve
    // one stale reading forever).
    await this.kernel?.refreshMetrics(performance.now());
    // User-space relays keep per-connection totals; a scrape folds them into the counters.
    for (const running of this.listeners.values()) if (running.runtime instanceof TcpListener) running.runtime.sampleCounters();
  }

  /** Counters per running listener, for /metrics. */
  listenerCounters(): Array<{ listenerId: string; protocol: string; counters: ListenerCounters }> {
    const user = [...this.listeners].map(([listenerId, r]) => ({
      listenerId,
      protocol: r.protocol,
      counters: r.counters,
    }));
    return this.kernel ? [...user, ...this.kernel.listenerCounters()] : user;
  }

  /** Which engine forwards each listener this node serves. */
  listenerEngines(): Array<{ listenerId: string; engine: EngineName }> {
    const out: Array<{ listenerId: string; engine: EngineName }> = [...this.listeners.keys()].map((listenerId) => ({
      listenerId,
      engine: 'userspace',
    }));
    if (this.kernel) for (const listenerId of this.kernel.ids()) out.push({ listenerId, engine: 'kernel' });
    return out;
  }

  /** Live connections per backend, for /metrics. */
  serverConnections(): Array<{ serverGroupId: string; server: string; active: number; healthy: boolean }> {
    const out: Array<{ serverGroupId: string; server: string; active: number; healthy: boolean }> = [];
    for (const [, target] of this.targets) {
      const pool = this.pools.get(target.groupId);
      if (!pool) continue;
      out.push({
        serverGroupId: target.groupId,
        server: target.serverKey,
        active: pool.activeConnections(target.serverKey) + (this.kernel?.backendFlows(target.groupId, target.serverKey) ?? 0),
        healthy: this.forwardable(target.groupId, target.serverKey),
      });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.checker.stop();
    await this.kernel?.close();
    // A clean stop removes the table; a crash leaves it forwarding for the next process.
    await this.opts.kernel?.close();
    for (const running of this.listeners.values()) running.runtime.destroy();
    this.listeners.clear();
    this.endDraining(() => true);
  }
}

function splitKey(serverKey: string): [string, number] {
  const i = serverKey.lastIndexOf(':');
  return [serverKey.slice(0, i), Number(serverKey.slice(i + 1))];
}

/** PROXY v2 with the 0xE1 TLVs the listener asks for, encoded once per listener. */
function proxyHeaderBuilder(d: DesiredListener): TcpListenerSettings['proxyHeader'] {
  const v2 = d.doc.ProxyProtocolV2Config;
  const tlvs = alibabaTlvBytes({ vpcId: v2?.Ppv2VpcIdEnabled ? d.vpcId : undefined });
  return (flow) => encodeProxyV2({ srcIp: flow.srcIp || '0.0.0.0', srcPort: flow.srcPort, dstIp: flow.dstIp, dstPort: flow.dstPort }, tlvs);
}

function dropFor(shouldDrop: (listenerId: string) => boolean, listenerId: string): () => boolean {
  return () => shouldDrop(listenerId);
}
