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
 */
import type { Logger } from 'pino';
import type { Store } from '../../store/store.js';
import type { Clock } from '../../util/clock.js';
import type { Scheduler as TimerScheduler, TimerHandle } from '../../util/scheduler.js';
import { HealthChecker, isForwardable, type HealthChange, type HealthTarget, type ProbeFn } from '../health/checker.js';
import type { Observation, Reconciler } from '../node.js';
import { healthObservationKey, HEALTHY, UNHEALTHY } from '../../domain/observations.js';
import { DEFAULT_GWLB_OPTION_CLASS } from './geneve.js';
import { gwlbDesiredFromRows, type DesiredGwlbListener, type GwlbRows } from './desired.js';
import { ResourceCache } from '../resource-cache.js';
import { ApplianceGroup, GwlbListener, type Appliance, type GwlbListenerCounters } from './forwarder.js';

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

  constructor(private readonly opts: GwlbReconcilerOptions) {
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
        observations.push({ objectId: d.id, state: 'bound' });
      } catch (err) {
        const reason = (err as Error).message;
        this.opts.log?.warn({ listenerId: d.id, reason }, 'gwlb listener could not be applied');
        observations.push({ objectId: d.id, state: 'failed', reason });
      }
    }
    this.dropUnusedGroups();
    return observations;
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
      if (group.fingerprint !== dg.fingerprint) group.update(dg, now);
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
    }
    if (change.to === 'Healthy' || change.to === 'Unhealthy') {
      this.opts.log?.info(
        { serverGroupId: ref.groupId, appliance: ref.applianceKey, from: change.from, to: change.to, reason: change.reason, code: change.code },
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
    for (const l of this.listeners.values()) l.sweep();
    for (const g of this.groups.values()) g.prune();
  }

  /** Per-listener numbers, for /metrics. */
  listenerStats(): GwlbListenerStats[] {
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
  }
}
