/**
 * Fault rules: what a person asks OpenSLB to do wrong on purpose, and which calls it applies
 * to. Pure: validation of a rule as given (CLI or admin API), and matching against a call. The
 * gateway (API faults) and the data plane (backend health) both read rules through the store.
 */

export type ErrorTiming = 'before' | 'after';

export type FaultEffect =
  /** Answer an API error: before anything changes, or after the change has committed. */
  | { type: 'error'; code: string; httpStatus?: number; message?: string; when: ErrorTiming }
  /** Hold the reply this long. */
  | { type: 'latency'; ms: number }
  /** The change's async job ends Failed (after the data plane applied it, as a real failure would). */
  | { type: 'fail-job'; code: string; reason: string }
  /** The change's job stays Processing this much longer, so its resource stays in its transitional status. */
  | { type: 'hold-job'; ms: number }
  /** Data plane: health probes of the server group's backends (or one of them) fail. */
  | { type: 'unhealthy'; server?: string }
  /** Data plane: this share of new connections to the listener is dropped (closed at once). */
  | { type: 'drop-connections'; share: number };

export type FaultEffectType = FaultEffect['type'];

export interface FaultMatch {
  /** nlb | gwlb | cas; absent for any. */
  product?: string;
  /** Action name with `*` wildcards (`Create*`, `*Listener*`); absent for any. */
  action?: string;
  accessKeyId?: string;
  /** A request parameter must carry this ID (LoadBalancerId, ListenerId, ResourceId.1, …). */
  resourceId?: string;
  regionId?: string;
}

export interface FaultRuleSpec {
  match: FaultMatch;
  effect: FaultEffect;
  /** 0 < p ≤ 1: each matching call fires with this probability (default 1). */
  probability?: number;
  /** Fire at most this many times (the next N matching calls, when probability is 1). */
  count?: number;
  /** Epoch ms after which the rule no longer fires. */
  until?: number;
}

export interface FaultRule extends FaultRuleSpec {
  id: string;
  createdAt: number;
  /** Firings left for a rule with `count`; undefined when unlimited. */
  remaining?: number;
  /** How often the rule fired, across every process sharing the store. */
  fired: number;
}

export class FaultRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultRuleError';
  }
}

const PRODUCTS = new Set(['nlb', 'gwlb', 'cas']);
const EFFECTS: ReadonlySet<string> = new Set<FaultEffectType>([
  'error',
  'latency',
  'fail-job',
  'hold-job',
  'unhealthy',
  'drop-connections',
]);
/** Latency and holds beyond a day are surely a typo (ms given as seconds, or the reverse). */
const MAX_MS = 24 * 3600 * 1000;

/**
 * Validates a rule as a person wrote it (the admin API's JSON body, or what the CLI built from
 * flags). `now` turns `for` (a duration) into `until`. Throws FaultRuleError with the reason.
 */
export function parseFaultRuleSpec(input: unknown, now: number): FaultRuleSpec {
  const o = asObject(input, 'rule');
  const known = new Set(['product', 'action', 'accessKeyId', 'resourceId', 'regionId', 'probability', 'count', 'until', 'for', 'effect']);
  for (const key of Object.keys(o)) if (!known.has(key)) throw new FaultRuleError(`unknown field "${key}"`);

  const match: FaultMatch = {};
  const product = optString(o, 'product');
  if (product !== undefined && product !== '*') {
    if (!PRODUCTS.has(product)) throw new FaultRuleError(`product must be nlb, gwlb or cas, not "${product}"`);
    match.product = product;
  }
  const action = optString(o, 'action');
  if (action !== undefined && action !== '*') {
    if (!/^[A-Za-z0-9*]+$/.test(action)) throw new FaultRuleError('action is an action name, with * as wildcard');
    match.action = action;
  }
  for (const key of ['accessKeyId', 'resourceId', 'regionId'] as const) {
    const v = optString(o, key);
    if (v !== undefined) match[key] = v;
  }

  const effect = parseEffect(o.effect);
  const spec: FaultRuleSpec = { match, effect };

  if (o.probability !== undefined) {
    const p = o.probability;
    if (typeof p !== 'number' || !(p > 0 && p <= 1)) throw new FaultRuleError('probability must be a number in (0, 1]');
    spec.probability = p;
  }
  if (o.count !== undefined) {
    const n = o.count;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new FaultRuleError('count must be a positive integer');
    spec.count = n;
  }
  if (o.until !== undefined && o.for !== undefined) throw new FaultRuleError('give either until or for, not both');
  if (o.until !== undefined) {
    const t = typeof o.until === 'number' ? o.until : typeof o.until === 'string' ? Date.parse(o.until) : NaN;
    if (!Number.isFinite(t)) throw new FaultRuleError('until must be an ISO 8601 time or epoch milliseconds');
    spec.until = t;
  }
  if (o.for !== undefined) spec.until = now + parseDuration(o.for, 'for');
  if (spec.until !== undefined && spec.until <= now)
    throw new FaultRuleError('the rule would end before it starts (until is not in the future)');

  if (effect.type === 'unhealthy') {
    // A backend's health is not a per-call event: the rule holds while it exists.
    if (!match.resourceId?.startsWith('sgp-')) {
      throw new FaultRuleError('an unhealthy rule needs resourceId: the server group (sgp-…)');
    }
    if (spec.count !== undefined || spec.probability !== undefined) {
      throw new FaultRuleError('an unhealthy rule holds until removed or until its time: no count or probability');
    }
  }
  if (effect.type === 'drop-connections') {
    if (!match.resourceId?.startsWith('lsn-')) throw new FaultRuleError('a drop-connections rule needs resourceId: the listener (lsn-…)');
    if (spec.count !== undefined || spec.probability !== undefined) {
      throw new FaultRuleError(
        'a drop-connections rule holds until removed or until its time: no count or probability (the share is per connection)',
      );
    }
  }
  if (effect.type === 'error' && effect.when === 'after' && match.product === undefined && match.action === undefined) {
    // Harmless, but surely not meant: every read would "fail after commit".
    throw new FaultRuleError('an error after commit needs a product or action to match');
  }
  return spec;
}

function parseEffect(input: unknown): FaultEffect {
  const o = asObject(input, 'effect');
  const type = optString(o, 'type');
  if (!type || !EFFECTS.has(type)) throw new FaultRuleError(`effect.type must be one of ${[...EFFECTS].join(', ')}`);
  switch (type as FaultEffectType) {
    case 'error': {
      const code = optString(o, 'code');
      if (!code || !/^[A-Za-z0-9.%_-]+$/.test(code)) throw new FaultRuleError('an error effect needs code, e.g. SystemBusy');
      const when = optString(o, 'when') ?? 'before';
      if (when !== 'before' && when !== 'after') throw new FaultRuleError('effect.when must be before or after');
      const effect: FaultEffect = { type: 'error', code, when };
      if (o.httpStatus !== undefined) {
        const s = o.httpStatus;
        if (typeof s !== 'number' || !Number.isInteger(s) || s < 400 || s > 599) {
          throw new FaultRuleError('effect.httpStatus must be an HTTP error status (400–599)');
        }
        effect.httpStatus = s;
      }
      const message = optString(o, 'message');
      if (message !== undefined) effect.message = message;
      return effect;
    }
    case 'latency':
      return { type: 'latency', ms: parseDuration(o.ms ?? o.duration, 'effect.ms') };
    case 'fail-job':
      return {
        type: 'fail-job',
        code: optString(o, 'code') ?? 'OperationFailed.FaultInjected',
        reason: optString(o, 'reason') ?? 'failed by a fault rule',
      };
    case 'hold-job':
      return { type: 'hold-job', ms: parseDuration(o.ms ?? o.duration, 'effect.ms') };
    case 'unhealthy': {
      const server = optString(o, 'server');
      if (server !== undefined && !/^[0-9a-fA-F.:[\]]+$/.test(server)) {
        throw new FaultRuleError('effect.server is a backend address, ip or ip:port');
      }
      return server === undefined ? { type: 'unhealthy' } : { type: 'unhealthy', server };
    }
    case 'drop-connections': {
      const share = o.share;
      if (typeof share !== 'number' || !(share > 0 && share <= 1)) throw new FaultRuleError('effect.share must be a number in (0, 1]');
      return { type: 'drop-connections', share };
    }
  }
}

/** `1500` (ms), `"1500ms"`, `"2s"`, `"5m"`, `"1h"` → milliseconds. */
export function parseDuration(v: unknown, name: string): number {
  let ms: number;
  if (typeof v === 'number') {
    ms = v;
  } else if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
    if (!m) throw new FaultRuleError(`${name} must be a duration such as 500ms, 30s, 5m or 1h`);
    ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  } else {
    throw new FaultRuleError(`${name} is required: a duration such as 500ms, 30s, 5m or 1h`);
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS) throw new FaultRuleError(`${name} must be between 0 and 24h`);
  return Math.round(ms);
}

/** What a rule is matched against: one API call. */
export interface CallFacts {
  product: string;
  action: string;
  accessKeyId: string;
  regionId: string;
  params: Readonly<Record<string, string>>;
  /** The action changes something (only such calls have jobs, or a commit to fail after). */
  write: boolean;
}

/** Whether the rule may still fire at all (time and count), independent of any call. */
export function isLive(rule: Pick<FaultRule, 'until' | 'remaining'>, now: number): boolean {
  if (rule.until !== undefined && now >= rule.until) return false;
  if (rule.remaining !== undefined && rule.remaining <= 0) return false;
  return true;
}

export function matchesCall(rule: FaultRuleSpec, call: CallFacts): boolean {
  const m = rule.match;
  const effect = rule.effect;
  if (effect.type === 'unhealthy' || effect.type === 'drop-connections') return false;
  if (!call.write && (effect.type === 'fail-job' || effect.type === 'hold-job' || (effect.type === 'error' && effect.when === 'after'))) {
    return false;
  }
  if (m.product !== undefined && m.product !== call.product) return false;
  if (m.action !== undefined && !wildcardMatch(m.action, call.action)) return false;
  if (m.accessKeyId !== undefined && m.accessKeyId !== call.accessKeyId) return false;
  if (m.regionId !== undefined && m.regionId !== call.regionId) return false;
  if (m.resourceId !== undefined && !Object.values(call.params).includes(m.resourceId)) return false;
  return true;
}

/** `*` matches any run of characters; everything else literally (case-sensitive, as action names are). */
export function wildcardMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const parts = pattern.split('*');
  if (!value.startsWith(parts[0])) return false;
  let at = parts[0].length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = value.indexOf(parts[i], at);
    if (found === -1) return false;
    at = found + parts[i].length;
  }
  const last = parts[parts.length - 1];
  return value.length - at >= last.length && value.endsWith(last);
}

/** Whether an `unhealthy` rule covers one backend of a server group. */
export function coversBackend(rule: FaultRuleSpec, groupId: string, host: string, port: number): boolean {
  if (rule.effect.type !== 'unhealthy' || rule.match.resourceId !== groupId) return false;
  const server = rule.effect.server;
  return server === undefined || server === host || server === `${host}:${port}`;
}

/** The share of new connections a live drop-connections rule takes from a listener (0 when none). */
export function dropShare(rules: readonly FaultRule[], listenerId: string, now: number): { share: number; ruleId?: string } {
  for (const rule of rules) {
    if (rule.effect.type === 'drop-connections' && rule.match.resourceId === listenerId && isLive(rule, now)) {
      return { share: rule.effect.share, ruleId: rule.id };
    }
  }
  return { share: 0 };
}

function asObject(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FaultRuleError(`${name} must be a JSON object`);
  return v as Record<string, unknown>;
}

function optString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new FaultRuleError(`${key} must be a non-empty string`);
  return v;
}

/** The rule as people see it (CLI, admin API): the same flat fields a rule is added with, plus its state. */
export function faultRuleJson(rule: FaultRule): Record<string, unknown> {
  return {
    id: rule.id,
    ...rule.match,
    effect: rule.effect,
    ...(rule.probability !== undefined ? { probability: rule.probability } : {}),
    ...(rule.count !== undefined ? { count: rule.count, remaining: rule.remaining ?? 0 } : {}),
    ...(rule.until !== undefined ? { until: new Date(rule.until).toISOString() } : {}),
    fired: rule.fired,
    createdAt: new Date(rule.createdAt).toISOString(),
  };
}
