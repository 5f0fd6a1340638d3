/**
 * Applies API fault rules to calls. The gateway asks for a plan once per call, after the
 * signature is verified; the plan then says what to do at each step: answer an error before
 * anything changes, mark the change's jobs (fail / hold) inside its transaction, answer an
 * error after the commit, and hold the reply. Every firing is logged with its rule and
 * counted in `openslb_faults_injected_total`.
 */
import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { callResourceId, injectedError } from '../domain/fault-errors.js';
import { isLive, matchesCall, type CallFacts, type FaultEffect, type FaultRule } from '../domain/fault-rules.js';
import { ApiError } from '../gateway/errors.js';
import type { CallFaultPlan, CallFaults } from '../gateway/call-faults.js';
import { FaultRuleCache } from '../store/fault-rule-cache.js';
import { claimFiring } from '../store/fault-rules.js';
import type { Schema } from '../store/schema.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { systemScheduler, type Scheduler } from '../util/scheduler.js';
import { markJobs, type JobFault } from './job-faults.js';
import { faultCounter, type FaultCounter } from '../metrics/fault-metrics.js';

export interface FaultInjectorOptions {
  store: Store;
  clock: Clock;
  /** Holds replies for latency rules (default: the real timers; tests move a ManualScheduler). */
  timers?: Scheduler;
  /** Uniform in [0, 1); tests pass a seeded or scripted source. */
  random?: () => number;
  log?: Logger;
  registry?: Registry;
  cache?: FaultRuleCache;
}

/** What the fired rules of one call ask for. */
export class FaultPlan implements CallFaultPlan {
  before?: ApiError;
  after?: ApiError;
  latencyMs = 0;
  job: JobFault = {};

  constructor(private readonly timers: Scheduler) {}

  /** Throws the error to answer before the call does anything. */
  throwBefore(): void {
    if (this.before) throw this.before;
  }

  /** Inside the mutation's transaction: fail or hold the jobs this change created. */
  async inTransaction(tx: Transaction<Schema>, revision: number, now: number): Promise<void> {
    if (this.job.fail || this.job.holdMs) await markJobs(tx, revision, now, this.job);
  }

  /** After the commit: the error that hides the committed change from the caller. */
  throwAfter(): void {
    if (this.after) throw this.after;
  }

  delay(): Promise<void> {
    return this.latencyMs > 0 ? new Promise((r) => this.timers.setTimeout(r, this.latencyMs)) : Promise.resolve();
  }
}

/** Effects that need the call to go ahead; moot once an error is answered before it. */
function needsTheCall(effect: FaultEffect): boolean {
  return effect.type !== 'latency' && !(effect.type === 'error' && effect.when === 'before');
}

export class FaultInjector implements CallFaults {
  private readonly cache: FaultRuleCache;
  private readonly random: () => number;
  private readonly fired?: FaultCounter;

  constructor(private readonly opts: FaultInjectorOptions) {
    this.cache = opts.cache ?? new FaultRuleCache(opts.store);
    this.random = opts.random ?? Math.random;
    if (opts.registry) this.fired = faultCounter(opts.registry);
  }

  /** The plan for one call, or undefined when no rule fires (the usual case: no store query). */
  async plan(call: CallFacts, requestId: string): Promise<FaultPlan | undefined> {
    const rules = await this.cache.rules();
    if (rules.length === 0) return undefined;
    const now = this.opts.clock.now();
    const candidates = rules.filter((r) => isLive(r, now) && matchesCall(r, call));
    if (candidates.length === 0) return undefined;
    // Errors before the call first: once one fires, rules that need the call are not used up.
    candidates.sort((a, b) => Number(needsTheCall(a.effect)) - Number(needsTheCall(b.effect)));

    let plan: FaultPlan | undefined;
    for (const rule of candidates) {
      if (plan?.before && needsTheCall(rule.effect)) break;
      if (rule.probability !== undefined && !(this.random() < rule.probability)) continue;
      if (!(await claimFiring(this.opts.store.db, rule))) continue;
      plan ??= new FaultPlan(this.opts.timers ?? systemScheduler);
      this.apply(plan, rule, call);
      this.fired?.inc({ rule: rule.id, effect: rule.effect.type });
      this.opts.log?.warn(
        { requestId, ruleId: rule.id, effect: rule.effect, product: call.product, action: call.action, accessKeyId: call.accessKeyId },
        'fault injected',
      );
    }
    return plan;
  }

  private apply(plan: FaultPlan, rule: FaultRule, call: CallFacts): void {
    const effect = rule.effect;
    switch (effect.type) {
      case 'error': {
        const e = injectedError(effect, rule.match.resourceId ?? callResourceId(call.params));
        const error = new ApiError(e.code, e.message, e.httpStatus);
        if (effect.when === 'before') plan.before ??= error;
        else plan.after ??= error;
        break;
      }
      case 'latency':
        plan.latencyMs = Math.max(plan.latencyMs, effect.ms);
        break;
      case 'fail-job':
        plan.job.fail ??= { code: effect.code, message: `${effect.reason} (fault rule ${rule.id})` };
        break;
      case 'hold-job':
        plan.job.holdMs = Math.max(plan.job.holdMs ?? 0, effect.ms);
        break;
      case 'unhealthy':
      case 'drop-connections':
        break; // data plane only (see dataplane/faults.ts)
    }
  }
}
