/**
 * The up/down state machine of one health-checked target (pure: no sockets, no timers; the
 * caller passes the time of each observation).
 *
 * States
 *   Initial    no verdict yet (a new target, or one whose probe changed)
 *   Healthy    HealthyThreshold consecutive successes seen
 *   Unhealthy  UnhealthyThreshold consecutive failures seen
 *
 * Rules
 *   - A success resets the failure streak, a failure resets the success streak.
 *   - Healthy → Unhealthy after UnhealthyThreshold consecutive failures;
 *     Unhealthy → Healthy after HealthyThreshold consecutive successes (the cloud's
 *     "success → fail" and "fail → success" thresholds).
 *   - First verdict: Initial → Healthy after HealthyThreshold consecutive successes,
 *     Initial → Unhealthy after UnhealthyThreshold consecutive failures — the same counts as
 *     later transitions, so the documented windows hold from the start (success window =
 *     RTT × healthy + interval × (healthy − 1); failure window = timeout × unhealthy +
 *     interval × (unhealthy − 1)). Mixed results keep a target Initial.
 *   - Thresholds below 1 count as 1.
 *   - The last failure (human reason, API ReasonCode, time) is kept until the next failure
 *     replaces it, also while Healthy; it describes an Unhealthy target's verdict.
 *
 * A health check that is switched off is not a state of this machine: the checker reports
 * such targets as `Unavailable` (the API's word) and forwards to them (see checker.ts).
 */

/** ReasonCode values GetListenerHealthStatus reports for non-normal servers. */
export type HealthReasonCode =
  'CONNECT_TIMEOUT' | 'CONNECT_FAILED' | 'RECV_RESPONSE_TIMEOUT' | 'CONNECT_INTERRUPT' | 'HTTP_CODE_NOT_MATCH' | 'HTTP_INVALID_HEADER';

/** Outcome of one probe. `reason` is for people, `code` for the API. */
export interface ProbeResult {
  ok: boolean;
  reason?: string;
  code?: HealthReasonCode;
}

export type HealthStatus = 'Initial' | 'Healthy' | 'Unhealthy';

export interface HealthThresholds {
  /** Consecutive successes that make a target Healthy. */
  healthy: number;
  /** Consecutive failures that make a target Unhealthy. */
  unhealthy: number;
}

export interface FailureInfo {
  reason: string;
  code?: HealthReasonCode;
  at: number;
}

export interface HealthState {
  readonly status: HealthStatus;
  /** Current streak of consecutive successes (0 after a failure). */
  readonly successes: number;
  /** Current streak of consecutive failures (0 after a success). */
  readonly failures: number;
  /** When `status` last changed (or the state was created). */
  readonly since: number;
  /** When the last probe result was observed. */
  readonly lastProbeAt?: number;
  /** The most recent failed probe. */
  readonly lastFailure?: FailureInfo;
}

export interface HealthTransition {
  from: HealthStatus;
  to: HealthStatus;
  at: number;
  /** For transitions to Unhealthy: the failure that tipped it. */
  reason?: string;
  code?: HealthReasonCode;
}

export interface ObserveResult {
  state: HealthState;
  /** Present when this observation changed the status. */
  transition?: HealthTransition;
}

export function initialHealthState(at: number): HealthState {
  return { status: 'Initial', successes: 0, failures: 0, since: at };
}

function atLeastOne(n: number): number {
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

/** Applies one probe result observed at `at`; returns the new state and any transition. */
export function observeProbe(state: HealthState, result: ProbeResult, thresholds: HealthThresholds, at: number): ObserveResult {
  const healthyAfter = atLeastOne(thresholds.healthy);
  const unhealthyAfter = atLeastOne(thresholds.unhealthy);

  if (result.ok) {
    const successes = state.successes + 1;
    const flips = state.status !== 'Healthy' && successes >= healthyAfter;
    const next: HealthState = {
      ...state,
      successes,
      failures: 0,
      lastProbeAt: at,
      ...(flips ? { status: 'Healthy' as const, since: at } : {}),
    };
    return flips ? { state: next, transition: { from: state.status, to: 'Healthy', at } } : { state: next };
  }

  const failure: FailureInfo = {
    reason: result.reason ?? 'probe failed',
    ...(result.code ? { code: result.code } : {}),
    at,
  };
  const failures = state.failures + 1;
  const flips = state.status !== 'Unhealthy' && failures >= unhealthyAfter;
  const next: HealthState = {
    ...state,
    successes: 0,
    failures,
    lastProbeAt: at,
    lastFailure: failure,
    ...(flips ? { status: 'Unhealthy' as const, since: at } : {}),
  };
  if (!flips) return { state: next };
  return {
    state: next,
    transition: {
      from: state.status,
      to: 'Unhealthy',
      at,
      reason: failure.reason,
      ...(failure.code ? { code: failure.code } : {}),
    },
  };
}

/**
 * A mutable wrapper for callers that keep one machine per target: `observe()` returns the
 * transition (if any) and the current state is always in `state`.
 */
export class HealthStateMachine {
  private current: HealthState;

  constructor(
    public thresholds: HealthThresholds,
    at: number,
  ) {
    this.current = initialHealthState(at);
  }

  get state(): HealthState {
    return this.current;
  }

  observe(result: ProbeResult, at: number): HealthTransition | undefined {
    const { state, transition } = observeProbe(this.current, result, this.thresholds, at);
    this.current = state;
    return transition;
  }

  /** Back to Initial (e.g. the probe itself changed), forgetting streaks and failures. */
  reset(at: number): void {
    this.current = initialHealthState(at);
  }
}
