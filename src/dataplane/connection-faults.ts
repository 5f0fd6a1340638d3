/**
 * Fault rules that drop a share of a listener's new connections. Asked once per accepted
 * connection, so it works on the rules in memory (never waits on the store) and costs one
 * length check while no rule exists.
 */
import { dropShare, type FaultRule } from '../domain/fault-rules.js';

export interface ConnectionFaultOptions {
  /** The rules as last read (FaultRuleCache.peek). */
  rules: () => readonly FaultRule[];
  /** Wall-clock ms (rules expire at a time of day). */
  now: () => number;
  /** Uniform in [0, 1). */
  random?: () => number;
  /** Each dropped connection. */
  onDrop?: (ruleId: string, listenerId: string) => void;
}

/** Returns `shouldDrop(listenerId)`: true when this new connection is to be closed at once. */
export function connectionFaults(opts: ConnectionFaultOptions): (listenerId: string) => boolean {
  const random = opts.random ?? Math.random;
  return (listenerId) => {
    const rules = opts.rules();
    if (rules.length === 0) return false;
    const { share, ruleId } = dropShare(rules, listenerId, opts.now());
    if (share === 0 || !(random() < share)) return false;
    opts.onDrop?.(ruleId!, listenerId);
    return true;
  };
}
