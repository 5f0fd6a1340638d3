/**
 * The NLB listeners the kernel engine forwards: which listeners qualify, their snapshot (with the
 * health-filtered backends of their pools), applying it, draining, and their metrics. The NLB
 * reconciler hands every kernel-eligible listener here and runs the rest in user space.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { Scheduler as TimerScheduler, TimerHandle } from '../../util/scheduler.js';
import { parseIpv4 } from '../../util/ipv4.js';
import type { KernelEngine, KernelFlowCounts } from '../kernel/engine.js';
import type { KernelGroup, KernelListener, KernelSnapshot } from '../kernel/snapshot.js';
import { kernelScheduler } from '../../domain/schedulers.js';
import type { Observation } from '../node.js';
import { BOUND, FAILED } from '../../domain/observations.js';
import type { DesiredListener } from './desired.js';
import { newListenerCounters, type ListenerCounters } from './listener-metrics.js';
import type { ServerPool } from './server-pool.js';

export type EngineName = 'kernel' | 'userspace';

/**
 * Why a listener needs the user-space engine, or undefined when the kernel can forward it:
 * TLS termination, a PROXY header and QUIC-aware hashing touch the bytes; nftables here is IPv4.
 */
export function userspaceReason(d: DesiredListener): string | undefined {
  if (d.protocol === 'TCPSSL') return 'TLS termination';
  if (d.doc.ProxyProtocolEnabled) return 'PROXY protocol';
  if (!kernelScheduler(d.serverGroup.scheduler)) return `scheduler ${d.serverGroup.scheduler}`;
  if (d.vips.some((v) => parseIpv4(v) === undefined)) return 'an IPv6 VIP';
  if (d.serverGroup.servers.some((s) => parseIpv4(s.host) === undefined)) return 'an IPv6 backend';
  return undefined;
}

interface Programmed {
  desired: DesiredListener;
  version: string;
  bindKey: string;
}

const METRICS_MAX_AGE_MS = 250;
/** How often Wlc groups are reweighted from their open connection counts. */
const WLC_INTERVAL_MS = 2000;
/** How often drop-connections fault rules are re-read (rules change and expire on their own). */
const FAULT_INTERVAL_MS = 1000;

/** Drop-connections fault rules, for the kernel listeners they cover. */
export interface KernelConnectionFaults {
  /** The share of new connections a live rule takes from a listener now (0 when none). */
  dropShare(listenerId: string): { share: number; ruleId?: string };
  /** Connections the kernel refused under a rule since the last call. */
  onDrops(ruleId: string, listenerId: string, count: number): void;
}

export interface KernelListenersOptions {
  engine: KernelEngine;
  timers: TimerScheduler;
  pools: ReadonlyMap<string, ServerPool>;
  log?: Logger;
  faults?: KernelConnectionFaults;
}

export class KernelListeners {
  private readonly programmed = new Map<string, Programmed>();
  private counters = new Map<string, ListenerCounters>();
  private flows: KernelFlowCounts = { byListener: new Map(), byBackend: new Map() };
  private metricsAt = -Infinity;
  private metricsRun: Promise<void> | undefined;
  private resync: Promise<void> | undefined;
  private dirty = false;
  /** Wlc: group id → backend key → the weight programmed now (weight ÷ (1 + open flows)). */
  private wlcWeights = new Map<string, Map<string, number>>();
  private wlcTimer: TimerHandle | undefined;
  /** Fault shares as last programmed, and the rule behind each; refusals already reported. */
  private faultShares = new Map<string, { share: number; ruleId?: string }>();
  private faultDropsSeen = new Map<string, number>();
  private faultTimer: TimerHandle | undefined;
  /** Drain cuts still to come; cleared on close so a stopped node keeps no timer alive. */
  private readonly pendingCuts = new Set<TimerHandle>();
  private closed = false;

  constructor(private readonly opts: KernelListenersOptions) {}

  has(id: string): boolean {
    return this.programmed.has(id);
  }

  ids(): IterableIterator<string> {
    return this.programmed.keys();
  }

  groupIds(): Set<string> {
    return new Set([...this.programmed.values()].map((p) => p.desired.serverGroup.id));
  }

  /**
   * Brings the table in line with `desired` (kernel-eligible listeners only). A listener that
   * cannot be programmed is reported failed with the reason; the others still apply.
   */
  async sync(desired: DesiredListener[]): Promise<Observation[]> {
    const observations: Observation[] = [];
    const wanted = new Map(desired.map((d) => [d.id, d]));
    const removed: string[] = [];
    for (const id of this.programmed.keys()) if (!wanted.has(id)) removed.push(id);
    const keep: DesiredListener[] = [];
    const changed: DesiredListener[] = [];
    for (const d of desired) {
      const p = this.programmed.get(d.id);
      if (p && p.version === d.version) keep.push(d);
      else changed.push(d);
    }
    if (changed.length === 0 && removed.length === 0) {
      for (const d of keep) observations.push({ objectId: d.id, state: BOUND });
      return observations;
    }
    const leaving = removed.map((id) => ({
      id,
      flows: this.opts.engine.flowsOf(id),
      drainMs: this.programmed.get(id)!.desired.serverGroup.drainMs,
    }));

    // Addresses another program already listens on fail as they would in user space.
    const admitted: DesiredListener[] = [];
    for (const d of changed) {
      const before = this.programmed.get(d.id);
      const key = bindKey(d);
      try {
        if (!before || before.bindKey !== key) await checkAddressesFree(d);
        admitted.push(d);
      } catch (err) {
        observations.push(this.failed(d, (err as Error).message));
      }
    }
    let good = keep;
    try {
      await this.opts.engine.apply(this.snapshotOf([...keep, ...admitted]));
      good = [...keep, ...admitted];
    } catch (err) {
      if (admitted.length === 1) observations.push(this.failed(admitted[0], (err as Error).message));
      else {
        // Find the culprits one by one, so one bad listener does not hold back the rest.
        for (const d of admitted) {
          try {
            await this.opts.engine.apply(this.snapshotOf([...good, d]));
            good = [...good, d];
          } catch (e) {
            observations.push(this.failed(d, (e as Error).message));
          }
        }
        await this.opts.engine.apply(this.snapshotOf(good)).catch(() => undefined);
      }
    }
    const goodIds = new Set(good.map((d) => d.id));
    for (const id of [...this.programmed.keys()]) if (!goodIds.has(id)) this.programmed.delete(id);
    for (const id of [...this.faultShares.keys()]) if (!goodIds.has(id)) this.faultShares.delete(id);
    for (const d of good) {
      if (!this.programmed.has(d.id) || this.programmed.get(d.id)!.version !== d.version) {
        if (!this.programmed.has(d.id))
          this.opts.log?.info({ listenerId: d.id, engine: 'kernel' }, 'listener forwarded by the kernel engine');
        this.programmed.set(d.id, { desired: d, version: d.version, bindKey: bindKey(d) });
      }
      observations.push({ objectId: d.id, state: BOUND });
    }
    this.scheduleWlc();
    this.scheduleFaults();
    // The next scrape reads the kernel afresh: a reading from before this change lacks its listeners.
    this.metricsAt = -Infinity;
    // A stopped or deleted listener's flows end after its group's drain timeout, as in user space.
    for (const l of leaving) {
      if (l.flows) this.cutLater(l.flows, undefined, l.drainMs ?? 0);
    }
    return observations;
  }

  private failed(d: DesiredListener, reason: string): Observation {
    this.opts.log?.warn({ listenerId: d.id, engine: 'kernel', reason }, 'listener could not be applied');
    return { objectId: d.id, state: FAILED, reason };
  }

  /**
   * Health changed in a pool kernel listeners use: re-program them. Verdicts arriving while an
   * apply runs are folded into one more apply; resolves once the kernel has caught up.
   */
  poolsChanged(): Promise<void> {
    this.dirty = true;
    if (!this.resync) {
      this.resync = this.catchUp().finally(() => {
        this.resync = undefined;
      });
    }
    return this.resync;
  }

  private async catchUp(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      if (this.programmed.size === 0) return;
      await this.opts.engine.apply(this.snapshotOf([...this.programmed.values()].map((p) => p.desired))).catch((err) => {
        // Not programmed after all: the next fault check sees the difference and tries again.
        this.faultShares.clear();
        this.opts.log?.error({ err: (err as Error).message }, 'kernel engine: re-applying backend health failed');
      });
    }
  }

  /**
   * A backend left a group's eligible set. Its new flows stop at once (the map no longer has
   * it); established ones are cut after the drain timeout, or live on when draining is off —
   * the same as the user-space engine.
   */
  drainBackend(groupId: string, serverKey: string, drainMs: number | undefined): void {
    if (drainMs === undefined) return;
    const i = serverKey.lastIndexOf(':');
    const host = serverKey.slice(0, i);
    const port = Number(serverKey.slice(i + 1));
    for (const p of this.programmed.values()) {
      if (p.desired.serverGroup.id !== groupId) continue;
      const flows = this.opts.engine.flowsOf(p.desired.id);
      if (flows) this.cutLater(flows, { host, port: p.desired.keepDestinationPort ? undefined : port }, drainMs);
    }
  }

  private cutLater(
    flows: { mark: number; protocol: 'tcp' | 'udp' },
    backend: { host: string; port: number | undefined } | undefined,
    ms: number,
  ): void {
    const cut = () =>
      void this.opts.engine
        .cutFlows(flows, backend)
        .catch((err) => this.opts.log?.warn({ err: (err as Error).message }, 'kernel engine: cutting drained flows failed'));
    if (ms <= 0) {
      cut();
      return;
    }
    const timer = this.opts.timers.setTimeout(() => {
      this.pendingCuts.delete(timer);
      cut();
    }, ms);
    this.pendingCuts.add(timer);
  }

  snapshotOf(listeners: DesiredListener[]): KernelSnapshot {
    const groups = new Map<string, KernelGroup>();
    const out: KernelListener[] = [];
    for (const d of listeners) {
      const g = d.serverGroup;
      if (!groups.has(g.id)) {
        const pool = this.opts.pools.get(g.id);
        const effective = this.wlcWeights.get(g.id);
        const backends = (pool?.eligibleServers() ?? []).map((b) => ({
          key: b.key,
          host: b.host,
          port: b.port,
          weight: effective?.get(b.key) ?? b.weight,
        }));
        groups.set(g.id, { id: g.id, scheduler: kernelScheduler(g.scheduler)!, backends });
      }
      const fault = d.protocol === 'UDP' ? undefined : this.opts.faults?.dropShare(d.id);
      if (fault && fault.share > 0) this.faultShares.set(d.id, fault);
      else this.faultShares.delete(d.id);
      out.push({
        id: d.id,
        dropShare: fault?.share ?? 0,
        protocol: d.protocol === 'UDP' ? 'udp' : 'tcp',
        vips: d.vips,
        portFrom: d.ports[0],
        portTo: d.ports[d.ports.length - 1],
        keepPort: d.keepDestinationPort,
        groupId: g.id,
        fullNat: !g.preserveClientIp,
        idleTimeoutS: d.doc.IdleTimeout,
        cps: d.doc.Cps ?? 0,
        mss: d.doc.Mss ?? 0,
      });
    }
    return { listeners: out, groups: [...groups.values()] };
  }

  /** Refreshes counters and flow counts from the kernel, at most every 250 ms. */
  async refreshMetrics(nowMs: number): Promise<void> {
    if (this.programmed.size === 0) return;
    if (nowMs - this.metricsAt < METRICS_MAX_AGE_MS) return;
    if (!this.metricsRun) {
      this.metricsRun = (async () => {
        const [counters, flows] = await Promise.all([this.opts.engine.counters(), this.opts.engine.flowCounts()]);
        const next = new Map<string, ListenerCounters>();
        for (const [id, c] of counters) {
          const l = newListenerCounters();
          l.newConnections = c.newConnections;
          l.droppedCps = c.droppedCps;
          l.droppedNoBackend = c.droppedNoBackend;
          this.reportFaultDrops(id, c.droppedFault);
          l.bytesIn = c.bytesIn;
          l.bytesOut = c.bytesOut;
          l.udpPacketsIn = c.packetsIn;
          l.udpPacketsOut = c.packetsOut;
          const open = flows.byListener.get(id) ?? 0;
          const udp = this.programmed.get(id)?.desired.protocol === 'UDP';
          l.activeConnections = udp ? 0 : open;
          l.udpSessions = udp ? open : 0;
          next.set(id, l);
        }
        this.counters = next;
        this.flows = flows;
        this.metricsAt = nowMs;
      })()
        .catch((err) => this.opts.log?.warn({ err: (err as Error).message }, 'kernel engine: reading counters failed'))
        .finally(() => {
          this.metricsRun = undefined;
        });
    }
    await this.metricsRun;
  }

  listenerCounters(): Array<{ listenerId: string; protocol: string; counters: ListenerCounters }> {
    return [...this.programmed.values()].map((p) => ({
      listenerId: p.desired.id,
      protocol: p.desired.protocol,
      counters: this.counters.get(p.desired.id) ?? newListenerCounters(),
    }));
  }

  /** Open flows to a backend over every kernel listener of its group. */
  backendFlows(groupId: string, serverKey: string): number {
    return this.backendFlowsIn(this.flows, groupId, serverKey);
  }

  private backendFlowsIn(flows: KernelFlowCounts, groupId: string, serverKey: string): number {
    let n = 0;
    for (const p of this.programmed.values()) {
      if (p.desired.serverGroup.id !== groupId) continue;
      const perBackend = flows.byBackend.get(p.desired.id);
      if (!perBackend) continue;
      if (p.desired.keepDestinationPort) {
        // Port-range flows reach the backend on the client's port: count them by address.
        const host = serverKey.slice(0, serverKey.lastIndexOf(':'));
        for (const [key, count] of perBackend) if (key.slice(0, key.lastIndexOf(':')) === host) n += count;
      } else n += perBackend.get(serverKey) ?? 0;
    }
    return n;
  }

  /**
   * The kernel has no least-connections: Wlc groups are weighted round robin whose weights are
   * recomputed every 2 s as weight ÷ (1 + open flows), so busy backends get fewer new flows.
   */
  private scheduleWlc(): void {
    if (this.closed || this.wlcTimer) return;
    const wlc = [...this.programmed.values()].some((p) => kernelScheduler(p.desired.serverGroup.scheduler) === 'Wlc');
    if (!wlc) return;
    this.wlcTimer = this.opts.timers.setTimeout(() => {
      this.wlcTimer = undefined;
      void this.reweight()
        .catch((err) => this.opts.log?.warn({ err: (err as Error).message }, 'kernel engine: Wlc reweighting failed'))
        .finally(() => this.scheduleWlc());
    }, WLC_INTERVAL_MS);
  }

  private async reweight(): Promise<void> {
    const flows = await this.opts.engine.flowCounts();
    let changed = false;
    const next = new Map<string, Map<string, number>>();
    for (const p of this.programmed.values()) {
      const g = p.desired.serverGroup;
      if (kernelScheduler(g.scheduler) !== 'Wlc' || next.has(g.id)) continue;
      const weights = new Map<string, number>();
      for (const server of g.servers) {
        const open = this.backendFlowsIn(flows, g.id, server.key);
        weights.set(server.key, Math.max(1, Math.round(server.weight / (1 + open))));
      }
      next.set(g.id, weights);
      const before = this.wlcWeights.get(g.id);
      if (!before || [...weights].some(([k, w]) => before.get(k) !== w)) changed = true;
    }
    this.wlcWeights = next;
    if (changed) await this.poolsChanged();
  }

  /**
   * Fault rules come, go and expire without a store revision: re-read them every second and
   * re-program the listeners whose share changed (an incremental change touching only them).
   * While a rule acts, its refusals are read from the kernel and reported.
   */
  private scheduleFaults(): void {
    if (this.closed || this.faultTimer || !this.opts.faults || this.programmed.size === 0) return;
    this.faultTimer = this.opts.timers.setTimeout(() => {
      this.faultTimer = undefined;
      void this.checkFaults()
        .catch((err) => this.opts.log?.warn({ err: (err as Error).message }, 'kernel engine: applying fault rules failed'))
        .finally(() => this.scheduleFaults());
    }, FAULT_INTERVAL_MS);
  }

  private async checkFaults(): Promise<void> {
    const faults = this.opts.faults!;
    let changed = false;
    for (const p of this.programmed.values()) {
      if (p.desired.protocol === 'UDP') continue;
      const now = faults.dropShare(p.desired.id).share;
      if (now !== (this.faultShares.get(p.desired.id)?.share ?? 0)) changed = true;
    }
    if (this.faultShares.size > 0) {
      this.metricsAt = -Infinity;
      await this.refreshMetrics(0);
    }
    if (changed) await this.poolsChanged();
  }

  private reportFaultDrops(listenerId: string, total: number): void {
    const seen = this.faultDropsSeen.get(listenerId) ?? 0;
    this.faultDropsSeen.set(listenerId, total);
    const ruleId = this.faultShares.get(listenerId)?.ruleId;
    if (total > seen && ruleId) this.opts.faults?.onDrops(ruleId, listenerId, total - seen);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.faultTimer) this.opts.timers.clearTimeout(this.faultTimer);
    if (this.wlcTimer) this.opts.timers.clearTimeout(this.wlcTimer);
    for (const timer of this.pendingCuts) this.opts.timers.clearTimeout(timer);
    this.pendingCuts.clear();
    await this.resync;
    this.programmed.clear();
  }
}

function bindKey(d: DesiredListener): string {
  return JSON.stringify([d.protocol, d.vips, d.ports]);
}

/**
 * The kernel does not bind the VIP, so it would silently take traffic away from a program that
 * listens there. Refuse as binding would: EADDRINUSE fails the listener. An address that is not
 * local (a VIP routed to this node) cannot be in use here and is fine.
 */
async function checkAddressesFree(d: DesiredListener): Promise<void> {
  for (const vip of d.vips) {
    for (const port of d.ports) {
      const err = d.protocol === 'UDP' ? await tryBindUdp(vip, port) : await tryListenTcp(vip, port);
      if (err && err.code === 'EADDRINUSE')
        throw new Error(`${d.protocol === 'UDP' ? 'bind' : 'listen'} EADDRINUSE: address already in use ${vip}:${port}`);
    }
  }
}

function tryListenTcp(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err) => resolve(err as NodeJS.ErrnoException));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function tryBindUdp(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', (err) => {
      socket.close();
      resolve(err as NodeJS.ErrnoException);
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(undefined)));
  });
}
