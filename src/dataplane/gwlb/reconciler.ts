/**
 * Brings the GWLB runtime in line with the store: a GENEVE forwarder per Running listener bound
 * on its load balancer's zone VIPs, appliance groups rebuilt in place (health, counters and
 * pinned flows survive a reconcile), health checks following the appliances. Reports per
 * listener whether it is bound or why it failed, and — out of band, as they happen — each
 * appliance's health verdicts under the key GetListenerHealthStatus reads:
 *
 *     object_id `health:<serverGroupId>/<serverIp>:<port>`, state 'healthy' | 'unhealthy',
 *     reason = the API's ReasonCode for 'unhealthy'.
 *
 * Health checks run outside the tunnel (gwlb-api.md §5.5): TCP connect or HTTP GET to the
 * appliance's address on HealthCheckConnectPort, with the group's interval, timeout and
 * thresholds (the shared HealthChecker). Housekeeping (idle flows, drains that ended) runs on
 * one timer for the whole reconciler.
 *
 * Two forwarding paths share everything above: the user-space forwarder (a socket per VIP,
 * forwarder.ts) or, when `bpf` is given, the tc-BPF fast path (bpf/engine.ts), which this
 * reconciler programs from the same groups — health, Maglev tables, who is leaving — on every
 * apply, health change and sweep, and whose counters it reads back for /metrics.
 */
import type { Logger } from 'pino';
import type { Store } from '../../store/store.js';
import type { Clock } from '../../util/clock.js';
import type { Scheduler as TimerScheduler, TimerHandle } from '../../util/scheduler.js';
import { HealthChecker, isForwardable, type HealthChange, type HealthTarget, type ProbeFn } from '../health/checker.js';
import type { Observation, Reconciler } from '../node.js';
import { BOUND, FAILED, healthObservationKey, HEALTHY, UNHEALTHY } from '../../domain/observations.js';
import { DEFAULT_GWLB_OPTION_CLASS } from './geneve.js';
import { gwlbDesiredFromRows, type DesiredGwlbListener, type GwlbRows } from './desired.js';
import { ResourceCache } from '../resource-cache.js';
import { ApplianceGroup, GwlbListener, type Appliance, type GwlbListenerCounters } from './forwarder.js';
import type { BpfGwlbEngine, BpfListenerSpec } from './bpf/engine.js';

export interface GwlbReconcilerOptions {
  store: Store;
  clock: Clock;
  timers: TimerScheduler;
  /** GENEVE option class of the GWLB options (config `dataplane.gwlbOptionClass`). */
  optionClass?: number;
  /** Flow-table bound per listener. */
  maxFlowsPerListener?: number;
  /** How often idle flows are swept (default 1 s). */
  sweepMs?: number;
  log?: Logger;
  /** Out-of-band observations (health verdicts) for the node to record. */
  report?: (observations: Observation[]) => void;
  /** Replaces the real health probes (tests). */
  probe?: ProbeFn;
  /**
   * Forward in tc-BPF: started when the first listener is applied (nodes without GWLB
   * listeners never load it). `required` (dataplane.gwlbEngine: bpf): a failed start fails the
   * listeners; otherwise (auto) the node falls back to the user-space forwarder for good.
   */
  bpf?: { start: () => Promise<BpfGwlbEngine>; required: boolean };
}

interface HealthTargetRef {
  groupId: string;
  applianceKey: string;
}

export interface GwlbListenerStats {
  listenerId: string;
  serverGroupId: string;
  activeFlows: number;
  flowsCreated: number;
  flowsExpired: number;
  flowsEvicted: number;
  counters: GwlbListenerCounters;
}

export interface GwlbApplianceStats {
  serverGroupId: string;
  appliance: string;
  healthy: boolean;
  leaving: boolean;
  counters: Appliance['counters'];
}

export class GwlbReconciler implements Reconciler {
  private readonly rows = new ResourceCache('gwlb', ['listener', 'loadbalancer', 'servergroup']);
  private readonly listeners = new Map<string, GwlbListener>();
  private readonly groups = new Map<string, ApplianceGroup>();
  private readonly checker: HealthChecker;
  private targets = new Map<string, HealthTargetRef>();
  private sweepTimer: TimerHandle | undefined;
  private closed = false;
  /** BPF path: the listeners it runs, and the housekeeping / stats reads in flight. */
  private readonly bpfListeners = new Map<string, BpfListenerSpec>();
  private bpf: BpfGwlbEngine | undefined;
  /** Whether the BPF engine is still to be started. */
  private bpfPending: boolean;
  private housekeeping: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private nextRefresh: Promise<void> | undefined;

  constructor(private readonly opts: GwlbReconcilerOptions) {
    this.bpfPending = opts.bpf !== undefined;
    this.checker = new HealthChecker({
      scheduler: opts.timers,
      probe: opts.probe,
      onChange: (change) => this.healthChanged(change),
      onError: (err) => opts.log?.warn({ err }, 'gwlb health check listener failed'),
    });
  }

  async apply(_revision: number): Promise<Observation[]> {
    const byKind = await this.rows.refresh(this.opts.store.db);
    const desired = gwlbDesiredFromRows({
      listeners: byKind.get('listener'),
      loadBalancers: byKind.get('loadbalancer'),
      serverGroups: byKind.get('servergroup'),
    } as GwlbRows);
    if (this.sweepTimer === undefined) this.scheduleSweep();
    this.updateGroups(desired);
    if (this.bpfPending && desired.length > 0) {
      const failed = await this.startBpf();
      if (failed) return desired.map((d) => ({ objectId: d.id, state: FAILED, reason: failed }));
    }
    if (this.bpf) return this.applyBpf(desired, this.bpf);
    const wanted = new Set(desired.map((d) => d.id));
    for (const [id, runtime] of this.listeners) {
      if (!wanted.has(id)) {
        this.listeners.delete(id);
        runtime.close();
      }
    }
    const observations: Observation[] = [];
    for (const d of desired) {
      try {
        await this.applyListener(d);
        observations.push({ objectId: d.id, state: BOUND });
      } catch (err) {
        const reason = (err as Error).message;
        this.opts.log?.warn({ listenerId: d.id, reason }, 'gwlb listener could not be applied');
        observations.push({ objectId: d.id, state: FAILED, reason });
      }
    }
    this.dropUnusedGroups();
    return observations;
  }

  /** Starts the BPF engine; returns why listeners must fail when BPF is required and unusable. */
  private async startBpf(): Promise<string | undefined> {
    const choice = this.opts.bpf!;
    try {
      this.bpf = await choice.start();
      this.bpfPending = false;
      this.opts.log?.info(
        { gwlbEngine: 'bpf', pins: this.bpf.pinDirectory },
        "gwlb: GENEVE forwarded by the tc-BPF fast path (clsact ingress on the VIPs' interfaces)",
      );
      return undefined;
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      if (choice.required) {
        this.opts.log?.error({ gwlbEngine: 'bpf', reason }, `gwlb: dataplane.gwlbEngine is bpf, but BPF cannot be used: ${reason}`);
        return `the BPF fast path cannot be used: ${reason}`;
      }
      this.bpfPending = false;
      this.opts.log?.info(
        { gwlbEngine: 'userspace', reason },
        `gwlb: GENEVE forwarded in user space (dataplane.gwlbEngine auto, and BPF cannot be used: ${reason})`,
      );
      return undefined;
    }
  }

  private async applyBpf(desired: DesiredGwlbListener[], engine: BpfGwlbEngine): Promise<Observation[]> {
    const optionClass = this.opts.optionClass ?? DEFAULT_GWLB_OPTION_CLASS;
    this.bpfListeners.clear();
    const observations: Observation[] = [];
    for (const d of desired) {
      if (d.vips.length === 0) {
        observations.push({ objectId: d.id, state: FAILED, reason: 'the load balancer has no VIP' });
        continue;
      }
      this.bpfListeners.set(d.id, {
        id: d.id,
        vips: d.vips,
        tcpIdleMs: d.tcpIdleMs,
        bypass: d.bypass,
        optionClass,
        group: this.groups.get(d.group.id)!,
      });
    }
    const errors = await engine.sync([...this.bpfListeners.values()]);
    for (const id of this.bpfListeners.keys()) {
      const reason = errors.get(id);
      if (reason === undefined) {
        observations.push({ objectId: id, state: BOUND });
      } else {
        this.opts.log?.warn({ listenerId: id, reason }, 'gwlb listener could not be applied');
        observations.push({ objectId: id, state: FAILED, reason });
      }
    }
    this.dropUnusedGroups();
    return observations;
  }

  /** BPF path: writes what changed (health, drains, the clock) into the maps; errors are logged. */
  private syncBpf(): void {
    this.bpf
      ?.sync([...this.bpfListeners.values()])
      .catch((err: Error) => this.opts.log?.warn({ err: err.message }, 'gwlb bpf: updating the maps failed'));
  }

  private updateGroups(desired: DesiredGwlbListener[]): void {
    const now = this.opts.clock.now();
    const seen = new Set<string>();
    const targets: HealthTarget[] = [];
    const refs = new Map<string, HealthTargetRef>();
    for (const d of desired) {
      const dg = d.group;
      if (seen.has(dg.id)) continue;
      seen.add(dg.id);
      let group = this.groups.get(dg.id);
      if (!group) {
        group = new ApplianceGroup(dg.id);
        this.groups.set(dg.id, group);
      }
      if (group.fingerprint !== dg.fingerprint) group.update(dg, now, this.bpf === undefined && !this.bpfPending);
      for (const s of dg.servers) {
        const key = healthObservationKey(dg.id, s.host, s.port);
        refs.set(key, { groupId: dg.id, applianceKey: s.key });
        targets.push({ key, host: s.host, port: s.port, config: dg.healthCheck });
      }
    }
    this.targets = refs;
    this.checker.update(targets);
    for (const id of seen) this.refreshHealth(this.groups.get(id)!);
  }

  /** Copies the checker's verdicts onto a group's appliances and rebuilds its table. */
  private refreshHealth(group: ApplianceGroup): void {
    for (const a of group.appliances()) {
      const state = this.checker.state(healthObservationKey(group.id, a.host, a.port));
      a.healthy = state ? state.forwardable : false;
    }
    group.rebuild();
  }

  private healthChanged(change: HealthChange): void {
    const ref = this.targets.get(change.key);
    if (!ref) return;
    const group = this.groups.get(ref.groupId);
    const appliance = group?.get(ref.applianceKey);
    if (group && appliance) {
      appliance.healthy = isForwardable(change.to);
      group.rebuild();
      this.syncBpf();
    }
    if (change.to === 'Healthy' || change.to === 'Unhealthy') {
      this.opts.log?.info(
        {
          serverGroupId: ref.groupId,
          appliance: ref.applianceKey,
          from: change.from,
          to: change.to,
          reason: change.reason,
          code: change.code,
        },
        change.to === 'Healthy' ? 'appliance up' : 'appliance down',
      );
      this.opts.report?.([
        {
          objectId: change.key,
          state: change.to === 'Healthy' ? HEALTHY : UNHEALTHY,
          reason: change.code ?? change.reason,
          detail: change.reason ? { message: change.reason } : undefined,
        },
      ]);
    }
  }

  private async applyListener(d: DesiredGwlbListener): Promise<void> {
    if (d.vips.length === 0) throw new Error('the load balancer has no VIP');
    const group = this.groups.get(d.group.id)!;
    const settings = {
      vips: d.vips,
      tcpIdleMs: d.tcpIdleMs,
      bypass: d.bypass,
      optionClass: this.opts.optionClass ?? DEFAULT_GWLB_OPTION_CLASS,
    };
    const existing = this.listeners.get(d.id);
    if (existing) {
      await existing.update(settings, group);
      return;
    }
    const runtime = new GwlbListener(d.id, settings, group, { clock: this.opts.clock, maxFlows: this.opts.maxFlowsPerListener });
    await runtime.bind();
    this.listeners.set(d.id, runtime);
  }

  private dropUnusedGroups(): void {
    const used = new Set([...this.listeners.values()].map((l) => l.groupId));
    for (const l of this.bpfListeners.values()) used.add(l.group.id);
    for (const id of this.groups.keys()) if (!used.has(id)) this.groups.delete(id);
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    this.sweepTimer = this.opts.timers.setTimeout(() => {
      this.sweep();
      this.scheduleSweep();
    }, this.opts.sweepMs ?? 1000);
  }

  /** Idle flows out, finished drains applied, forgotten appliances pruned. */
  sweep(): void {
    if (this.bpf) {
      this.housekeeping ??= this.bpfHousekeeping().finally(() => (this.housekeeping = undefined));
      return;
    }
    for (const l of this.listeners.values()) l.sweep();
    for (const g of this.groups.values()) g.prune();
  }

  /**
   * A sweep that has finished: on the BPF path the maps hold the clock and the drains as of
   * now once this resolves (tests call it after moving their clock).
   */
  async sweepNow(): Promise<void> {
    if (!this.bpf) return this.sweep();
    await this.housekeeping;
    this.sweep();
    await this.housekeeping;
  }

  /**
   * BPF path: the kernel expires flows by itself (the clock map), so housekeeping is writing
   * the clock and the appliances whose pinned flows must now move, and — while some appliance
   * is being removed — reading which still carry flows before forgetting the others.
   */
  private async bpfHousekeeping(): Promise<void> {
    const engine = this.bpf!;
    try {
      // Reading the flow table costs a dump: only needed when a removed appliance may be forgotten.
      const leaving = [...this.groups.values()].some((g) => g.appliances().some((a) => a.leaving));
      if (leaving) {
        await this.refreshStats();
        for (const g of this.groups.values()) g.prune();
      }
      await engine.sync([...this.bpfListeners.values()]);
    } catch (err) {
      this.opts.log?.warn({ err: (err as Error).message }, 'gwlb bpf: housekeeping failed');
    }
  }

  /**
   * Reads the BPF path's counters and flow table (a no-op in user space, whose numbers are
   * always current). Calls made while a read runs share the next one.
   */
  refreshStats(): Promise<void> {
    const engine = this.bpf;
    if (!engine) return Promise.resolve();
    if (this.nextRefresh) return this.nextRefresh;
    const run: Promise<void> = (this.refreshing ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.nextRefresh = undefined;
        this.refreshing = run;
        return engine.refresh([...this.bpfListeners.values()]);
      })
      .finally(() => {
        if (this.refreshing === run) this.refreshing = undefined;
      });
    this.nextRefresh = run;
    return run;
  }

  /** Which path forwards: 'bpf' or 'userspace'. */
  get engine(): 'bpf' | 'userspace' {
    return this.bpf ? 'bpf' : 'userspace';
  }

  /** Per-listener numbers, for /metrics (BPF path: as of the last `refreshStats`). */
  listenerStats(): GwlbListenerStats[] {
    const engine = this.bpf;
    if (engine) {
      return [...this.bpfListeners.values()].map((l) => {
        const s = engine.listenerStats(l.id);
        return {
          listenerId: l.id,
          serverGroupId: l.group.id,
          activeFlows: s.activeFlows,
          flowsCreated: s.flowsCreated,
          flowsExpired: s.flowsExpired,
          flowsEvicted: s.flowsEvicted,
          counters: s.counters,
        };
      });
    }
    return [...this.listeners.values()].map((l) => ({
      listenerId: l.id,
      serverGroupId: l.groupId,
      activeFlows: l.activeFlows,
      flowsCreated: l.table.created,
      flowsExpired: l.table.expired,
      flowsEvicted: l.table.evicted,
      counters: l.counters,
    }));
  }

  /** Per-appliance numbers, for /metrics. */
  applianceStats(): GwlbApplianceStats[] {
    const out: GwlbApplianceStats[] = [];
    for (const g of this.groups.values()) {
      for (const a of g.appliances()) {
        out.push({ serverGroupId: g.id, appliance: a.key, healthy: a.healthy && !a.leaving, leaving: a.leaving, counters: a.counters });
      }
    }
    return out;
  }

  /** The running listener (tests and diagnostics). */
  listener(id: string): GwlbListener | undefined {
    return this.listeners.get(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer !== undefined) this.opts.timers.clearTimeout(this.sweepTimer);
    await this.checker.stop();
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
    if (this.bpf) {
      await this.housekeeping;
      await this.refreshing?.catch(() => undefined);
      await this.bpf.close();
    }
  }
}
