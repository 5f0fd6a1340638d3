/**
 * One server group at run time: its backends, their health, live connection counts and the
 * scheduler over the eligible set. Rebuilt (not replaced) when the group or a health verdict
 * changes, so counts and health survive a reconcile; listeners sharing the group share it.
 */
import { createScheduler, eligibleBackends, type FlowInfo, type Scheduler } from '../balancing/schedulers.js';
import type { BackendTarget, UpstreamPool } from './upstream-pool.js';
import type { DesiredServerGroup } from './desired.js';

interface PoolBackend extends BackendTarget {
  readonly weight: number;
  readonly index: number; // = slot: Wlc reads active[index]
}

export class ServerPool implements UpstreamPool {
  private backends: PoolBackend[] = [];
  private eligible: PoolBackend[] = [];
  private scheduler: Scheduler | undefined;
  private readonly slots = new Map<string, number>();
  private active = new Int32Array(16);
  private healthy: (key: string) => boolean = () => true;

  constructor(
    readonly id: string,
    private group: DesiredServerGroup,
  ) {
    this.rebuild();
  }

  get fingerprint(): string {
    return this.group.fingerprint;
  }

  get drainMs(): number | undefined {
    return this.group.drainMs;
  }

  /** Keys of backends that may receive new flows now. */
  eligibleKeys(): Set<string> {
    return new Set(this.eligible.map((b) => b.key));
  }

  /** The backends that may receive new flows now (what the kernel engine programs). */
  eligibleServers(): ReadonlyArray<{ key: string; host: string; port: number; weight: number }> {
    return this.eligible;
  }

  update(group: DesiredServerGroup): void {
    this.group = group;
    this.rebuild();
  }

  setHealth(healthy: (key: string) => boolean): void {
    this.healthy = healthy;
    this.rebuild();
  }

  private slotOf(key: string): number {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(key, slot);
      if (slot >= this.active.length) {
        const grown = new Int32Array(this.active.length * 2);
        grown.set(this.active);
        this.active = grown;
      }
    }
    return slot;
  }

  private rebuild(): void {
    this.backends = this.group.servers.map((s) => {
      const slot = this.slotOf(s.key);
      return { key: s.key, host: s.host, port: s.port, weight: s.weight, slot, index: slot };
    });
    const backends = this.backends;
    this.eligible = eligibleBackends(backends, (i) => this.healthy(backends[i].key));
    this.scheduler = this.eligible.length > 0 ? createScheduler(this.group.scheduler, this.eligible, { active: this.active }) : undefined;
  }

  pick(flow: FlowInfo): BackendTarget | undefined {
    const s = this.scheduler;
    if (!s) return undefined;
    const i = s.pick(flow);
    return i < 0 ? undefined : this.eligible[i];
  }

  retry(_flow: FlowInfo, first: BackendTarget, attempt: number): BackendTarget | undefined {
    const s = this.scheduler;
    if (!s) return undefined;
    const position = this.eligible.indexOf(first as PoolBackend);
    if (position < 0) return this.eligible.length > 0 ? this.eligible[attempt % this.eligible.length] : undefined;
    const i = s.pickNext(position, attempt);
    return i < 0 ? undefined : this.eligible[i];
  }

  opened(target: BackendTarget): void {
    this.active[target.slot]++;
  }

  closed(target: BackendTarget): void {
    this.active[target.slot]--;
  }

  activeConnections(key: string): number {
    const slot = this.slots.get(key);
    return slot === undefined ? 0 : this.active[slot];
  }
}
