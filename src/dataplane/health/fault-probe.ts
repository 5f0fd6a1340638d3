/**
 * Backends forced unhealthy by fault rules: the probe of a covered backend fails without
 * touching the network, so the backend goes Unhealthy through the usual thresholds (no new
 * flows, reported by GetListenerHealthStatus) and recovers the same way once the rule is
 * removed or expires. Backends whose health check is off are not probed, so a rule cannot
 * take them down; that is said in the README.
 */
import type { FaultRule } from '../../domain/fault-rules.js';
import { coversBackend, isLive } from '../../domain/fault-rules.js';
import type { HealthTarget, ProbeFn } from './checker.js';
import { probeTarget } from './checker.js';

export interface FaultProbeOptions {
  rules: () => Promise<readonly FaultRule[]> | readonly FaultRule[];
  /** Wall-clock ms (rules expire at a time of day). */
  now: () => number;
  inner?: ProbeFn;
  /** A backend started (ruleId) or stopped (undefined) being held down by a rule. */
  onChange?: (key: string, ruleId: string | undefined) => void;
  /** Each probe a rule failed. */
  onFired?: (ruleId: string) => void;
}

/** The server group of a health target key `health:<groupId>/<ip>:<port>`. */
export function targetGroupId(key: string): string {
  return key.slice(key.indexOf(':') + 1, key.lastIndexOf('/'));
}

export function faultAwareProbe(opts: FaultProbeOptions): ProbeFn {
  const inner = opts.inner ?? probeTarget;
  const held = new Map<string, string>();
  return async (target: HealthTarget, signal: AbortSignal) => {
    const rules = await opts.rules();
    let ruleId: string | undefined;
    if (rules.length > 0) {
      const now = opts.now();
      const groupId = targetGroupId(target.key);
      ruleId = rules.find((r) => isLive(r, now) && coversBackend(r, groupId, target.host, target.port))?.id;
    }
    if (held.get(target.key) !== ruleId) {
      if (ruleId) held.set(target.key, ruleId);
      else held.delete(target.key);
      opts.onChange?.(target.key, ruleId);
    }
    if (!ruleId) return inner(target, signal);
    opts.onFired?.(ruleId);
    return { ok: false, reason: `forced unhealthy by fault rule ${ruleId}`, code: 'CONNECT_FAILED' };
  };
}
