/**
 * The fault rules as one process last read them. Reading costs no store query while the copy
 * is younger than maxAgeMs (default 1 s) and this process has not changed the rules since
 * (see faultRulesGeneration); rules added by another process (the CLI, another API node on a
 * shared PostgreSQL) are therefore seen within a second.
 */
import type { FaultRule } from '../domain/fault-rules.js';
import { faultRulesGeneration, listFaultRules } from './fault-rules.js';
import type { Store } from './types.js';

export const FAULT_RULES_MAX_AGE_MS = 1000;

export class FaultRuleCache {
  private rulesNow: FaultRule[] = [];
  private loadedAt = -Infinity;
  private generation = -1;
  private loading: Promise<FaultRule[]> | undefined;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    opts: { maxAgeMs?: number; now?: () => number } = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? FAULT_RULES_MAX_AGE_MS;
    this.now = opts.now ?? (() => performance.now());
  }

  /**
   * The rules as last read, without waiting: for per-connection checks, which must not wait
   * on the store. A stale copy starts a read in the background; its result serves later calls.
   */
  peek(): readonly FaultRule[] {
    const fresh = this.rules();
    if (fresh instanceof Promise) fresh.catch(() => undefined);
    return this.rulesNow;
  }

  rules(): Promise<FaultRule[]> | FaultRule[] {
    const generation = faultRulesGeneration(this.store);
    const age = this.now() - this.loadedAt;
    // A negative age (a wall clock set back) counts as stale rather than fresh for longer.
    if (generation === this.generation && age >= 0 && age < this.maxAgeMs) return this.rulesNow;
    // Concurrent callers share one read.
    this.loading ??= (async () => {
      const startedAt = this.now();
      try {
        const rules = await listFaultRules(this.store.db);
        this.rulesNow = rules;
        this.loadedAt = startedAt;
        this.generation = generation;
        return rules;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
