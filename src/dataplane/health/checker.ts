/**
 * HealthChecker: probes a set of targets on their configured interval, feeds each target's
 * state machine (state.ts) and reports status changes.
 *
 * - Time and scheduling come from an injected `Scheduler` (DESIGN rule 4); the probes
 *   themselves are real sockets with real timeouts (probes.ts), or an injected `probe`.
 * - Probes of many targets are spread over the interval: a target's first probe runs
 *   `probeOffset(key, interval)` after it is added — a deterministic hash of the key, not a
 *   random number — and then every interval after that (drift-free: each run is scheduled
 *   from the previous *due* time, not from when its probe finished).
 * - A probe never overlaps itself: if the previous probe of a target is still in flight
 *   when the next one is due (timeout > interval), that run is skipped.
 * - `update(targets)` replaces the set. A target keeps its state when its key and the
 *   *probe* are unchanged (host, probe port, enabled, type, URL, domain, codes, method,
 *   version, UDP request/expect). Changing only interval, timeout or thresholds keeps the
 *   verdict too (new thresholds apply from the next result, a new interval from the next
 *   run). Anything else starts the target over at `Initial`.
 * - Health check off (`HealthCheckEnabled: false`): the target is never probed and reports
 *   status `Unavailable` (the word GetListenerHealthStatus uses) with `forwardable: true` —
 *   traffic goes to it as if it were healthy.
 * - Forwarding: `Healthy` and `Unavailable` targets are forwardable; `Initial` and
 *   `Unhealthy` are not. (What to do when *no* target of a group is forwardable — the
 *   cloud's fail-open "best effort" — is the balancer's decision, not this module's.)
 * - `onChange` fires for every status change of a known target: verdicts, a reset to
 *   `Initial` by `update()`, switching the check on/off. Adding a target (it starts
 *   `Initial` or `Unavailable`) and removing one fire nothing.
 * - Tests: drive time with `ManualScheduler.advance()`, then `await checker.idle()` to let
 *   the probes that started finish and be recorded.
 */
import type { HealthCheckDoc } from '../../domain/nlb-documents.js';
import type { Scheduler, TimerHandle } from '../../util/scheduler.js';
import { httpProbe, tcpProbe, udpProbe } from './probes.js';
import {
  initialHealthState,
  observeProbe,
  type FailureInfo,
  type HealthReasonCode,
  type HealthState,
  type HealthStatus,
  type HealthThresholds,
  type ProbeResult,
} from './state.js';

export interface HealthTarget {
  /** Stable identity, e.g. `<serverGroupId>/<serverIp>:<port>`. */
  key: string;
  host: string;
  /** The server's port; the probe uses HealthCheckConnectPort instead when that is non-zero. */
  port: number;
  config: HealthCheckDoc;
}

/** `HealthStatus` plus `Unavailable`: health check switched off (forwarded to). */
export type TargetHealthStatus = HealthStatus | 'Unavailable';

export interface TargetHealth {
  key: string;
  host: string;
  /** The port probes go to. */
  probePort: number;
  status: TargetHealthStatus;
  /** Whether new connections may go to this target (Healthy or Unavailable). */
  forwardable: boolean;
  successes: number;
  failures: number;
  /** When `status` last changed (or the target was added). */
  since: number;
  lastProbeAt?: number;
  /** Only while Unhealthy: the failure that the verdict rests on. */
  reason?: string;
  code?: HealthReasonCode;
  /** The most recent failed probe, whatever the status. */
  lastFailure?: FailureInfo;
}

export interface HealthChange {
  key: string;
  from: TargetHealthStatus;
  to: TargetHealthStatus;
  at: number;
  reason?: string;
  code?: HealthReasonCode;
}

export type ProbeFn = (target: HealthTarget, signal: AbortSignal) => Promise<ProbeResult>;

export interface HealthCheckerOptions {
  scheduler: Scheduler;
  /** Called for every status change (see the module comment). */
  onChange?: (change: HealthChange) => void;
  /** Replaces the real probes (default `probeTarget`). Must not reject; a rejection counts as a failure. */
  probe?: ProbeFn;
  /** Where exceptions thrown by onChange listeners go (default: swallowed). */
  onError?: (err: unknown) => void;
}

export function isForwardable(status: TargetHealthStatus): boolean {
  return status === 'Healthy' || status === 'Unavailable';
}

/** The port a target's probes go to. */
export function probePort(target: Pick<HealthTarget, 'port' | 'config'>): number {
  const p = target.config.HealthCheckConnectPort;
  return Number.isInteger(p) && p > 0 ? p : target.port;
}

function seconds(value: number, fallback: number): number {
  return (Number.isFinite(value) && value > 0 ? value : fallback) * 1000;
}

export function intervalMs(config: HealthCheckDoc): number {
  return seconds(config.HealthCheckInterval, 5);
}

export function timeoutMs(config: HealthCheckDoc): number {
  return seconds(config.HealthCheckConnectTimeout, 5);
}

function thresholdsOf(config: HealthCheckDoc): HealthThresholds {
  return { healthy: config.HealthyThreshold, unhealthy: config.UnhealthyThreshold };
}

/** 32-bit FNV-1a with a murmur3 finaliser, so keys differing in one character spread well. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Where in the interval a target's probes run: a deterministic value in [0, interval). */
export function probeOffset(key: string, interval: number): number {
  const span = Math.max(1, Math.floor(interval));
  return keyHash(key) % span;
}

/** Runs the probe a target's config asks for (TCP, HTTP or UDP). */
export function probeTarget(target: HealthTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const c = target.config;
  const host = target.host;
  const port = probePort(target);
  const timeout = timeoutMs(c);
  switch ((c.HealthCheckType ?? 'TCP').toUpperCase()) {
    case 'HTTP':
      return httpProbe({
        host,
        port,
        timeoutMs: timeout,
        method: c.HttpCheckMethod,
        path: c.HealthCheckUrl,
        domain: c.HealthCheckDomain,
        version: c.HealthCheckHttpVersion,
        expectedClasses: c.HealthCheckHttpCode,
        signal,
      });
    case 'UDP':
      return udpProbe({ host, port, timeoutMs: timeout, request: c.HealthCheckReq, expect: c.HealthCheckExp, signal });
    default:
      return tcpProbe(host, port, timeout, signal);
  }
}

/** What must stay equal for a target to keep its verdict across `update()`. */
export function probeIdentity(t: HealthTarget): string {
  const c = t.config;
  if (!c.HealthCheckEnabled) return JSON.stringify(['off']);
  const type = (c.HealthCheckType ?? 'TCP').toUpperCase();
  const common = [type, t.host, probePort(t)];
  if (type === 'HTTP') {
    return JSON.stringify([
      ...common,
      c.HealthCheckUrl ?? '',
      c.HealthCheckDomain ?? '',
      [...(c.HealthCheckHttpCode ?? [])].map((x) => x.toLowerCase()).sort(),
      (c.HttpCheckMethod ?? '').toUpperCase(),
      (c.HealthCheckHttpVersion ?? '').toUpperCase(),
    ]);
  }
  if (type === 'UDP') return JSON.stringify([...common, c.HealthCheckReq ?? '', c.HealthCheckExp ?? '']);
  return JSON.stringify(common);
}

interface Entry {
  target: HealthTarget;
  identity: string;
  interval: number;
  /** Undefined while the check is off. */
  state?: HealthState;
  /** For disabled targets: when they became Unavailable. */
  offSince: number;
  timer?: TimerHandle;
  nextDue?: number;
  inflight?: AbortController;
}

export class HealthChecker {
  private readonly scheduler: Scheduler;
  private readonly probe: ProbeFn;
  private readonly listeners = new Set<(change: HealthChange) => void>();
  private readonly onError?: (err: unknown) => void;
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Set<Promise<void>>();
  private stopped = false;

  constructor(opts: HealthCheckerOptions) {
    this.scheduler = opts.scheduler;
    this.probe = opts.probe ?? probeTarget;
    this.onError = opts.onError;
    if (opts.onChange) this.listeners.add(opts.onChange);
  }

  /** Adds a change listener; returns a function that removes it. */
  onChange(listener: (change: HealthChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Replaces the set of targets (see the module comment for what keeps its state).
   * Duplicate keys: the last one wins. Ignored after `stop()`.
   */
  update(targets: readonly HealthTarget[]): void {
    if (this.stopped) return;
    const wanted = new Map<string, HealthTarget>();
    for (const t of targets) wanted.set(t.key, t);

    for (const [key, entry] of this.entries) {
      if (!wanted.has(key)) {
        this.cancel(entry);
        this.entries.delete(key);
      }
    }

    const now = this.scheduler.now();
    for (const [key, target] of wanted) {
      const identity = probeIdentity(target);
      const interval = intervalMs(target.config);
      const existing = this.entries.get(key);
      if (!existing) {
        const entry: Entry = { target, identity, interval, offSince: now };
        if (target.config.HealthCheckEnabled) entry.state = initialHealthState(now);
        this.entries.set(key, entry);
        this.schedule(entry, probeOffset(key, interval));
        continue;
      }
      if (existing.identity === identity) {
        existing.target = target;
        if (existing.interval !== interval) {
          existing.interval = interval;
          this.clearTimer(existing);
          this.schedule(existing, probeOffset(key, interval));
        }
        continue;
      }
      // The probe changed: start over.
      const before = statusOf(existing);
      this.cancel(existing);
      existing.target = target;
      existing.identity = identity;
      existing.interval = interval;
      existing.offSince = now;
      existing.state = target.config.HealthCheckEnabled ? initialHealthState(now) : undefined;
      this.schedule(existing, probeOffset(key, interval));
      const after = statusOf(existing);
      if (before !== after) this.emit({ key, from: before, to: after, at: now });
    }
  }

  /** The health of one target, or undefined when it is not in the set. */
  state(key: string): TargetHealth | undefined {
    const entry = this.entries.get(key);
    return entry ? report(entry) : undefined;
  }

  /** The health of every target, in the order they were first added. */
  snapshot(): TargetHealth[] {
    return Array.from(this.entries.values(), report);
  }

  /** How many probes are running right now. */
  get probesInFlight(): number {
    return this.inflight.size;
  }

  /**
   * Resolves once no probe is in flight and every finished probe has been recorded
   * (including probes started while waiting).
   */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight);
  }

  /** Stops all probing: clears timers, aborts probes in flight and waits for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) this.cancel(entry);
    await this.idle();
  }

  // -------------------------------------------------------------------------------------------

  private schedule(entry: Entry, delay: number): void {
    if (this.stopped || !entry.target.config.HealthCheckEnabled) return;
    const now = this.scheduler.now();
    entry.nextDue = now + delay;
    entry.timer = this.scheduler.setTimeout(() => this.tick(entry), delay);
  }

  private tick(entry: Entry): void {
    entry.timer = undefined;
    if (this.stopped || this.entries.get(entry.target.key) !== entry) return;
    // Next run first, from the due time, so a slow probe does not make the schedule drift.
    // If the process stalled past whole intervals, skip the missed runs instead of bursting.
    const now = this.scheduler.now();
    let next = (entry.nextDue ?? now) + entry.interval;
    if (next <= now) next += Math.ceil((now - next + 1) / entry.interval) * entry.interval;
    entry.nextDue = next;
    entry.timer = this.scheduler.setTimeout(() => this.tick(entry), next - now);
    if (!entry.inflight) this.startProbe(entry);
  }

  private startProbe(entry: Entry): void {
    const abort = new AbortController();
    entry.inflight = abort;
    const target = entry.target;
    let probing: Promise<ProbeResult>;
    try {
      probing = this.probe(target, abort.signal);
    } catch (err) {
      probing = Promise.reject(err);
    }
    const done: Promise<void> = probing
      .then(
        (result) => result,
        (err: unknown): ProbeResult => ({ ok: false, reason: `probe error: ${String(err)}` }),
      )
      .then((result) => {
        if (entry.inflight !== abort) return; // cancelled, reset or removed meanwhile
        entry.inflight = undefined;
        if (abort.signal.aborted || this.stopped || !entry.state) return;
        this.record(entry, result);
      })
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  private record(entry: Entry, result: ProbeResult): void {
    const at = this.scheduler.now();
    const { state, transition } = observeProbe(entry.state!, result, thresholdsOf(entry.target.config), at);
    entry.state = state;
    if (transition) {
      this.emit({
        key: entry.target.key,
        from: transition.from,
        to: transition.to,
        at,
        ...(transition.reason !== undefined ? { reason: transition.reason } : {}),
        ...(transition.code ? { code: transition.code } : {}),
      });
    }
  }

  private clearTimer(entry: Entry): void {
    if (entry.timer !== undefined) this.scheduler.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.nextDue = undefined;
  }

  /** Stops the entry's timer and aborts its probe (whose result is then dropped). */
  private cancel(entry: Entry): void {
    this.clearTimer(entry);
    const abort = entry.inflight;
    entry.inflight = undefined;
    abort?.abort();
  }

  private emit(change: HealthChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.onError?.(err);
      }
    }
  }
}

function statusOf(entry: Entry): TargetHealthStatus {
  return entry.state ? entry.state.status : 'Unavailable';
}

function report(entry: Entry): TargetHealth {
  const status = statusOf(entry);
  const s = entry.state;
  const out: TargetHealth = {
    key: entry.target.key,
    host: entry.target.host,
    probePort: probePort(entry.target),
    status,
    forwardable: isForwardable(status),
    successes: s?.successes ?? 0,
    failures: s?.failures ?? 0,
    since: s?.since ?? entry.offSince,
  };
  if (s?.lastProbeAt !== undefined) out.lastProbeAt = s.lastProbeAt;
  if (s?.lastFailure) {
    out.lastFailure = s.lastFailure;
    if (status === 'Unhealthy') {
      out.reason = s.lastFailure.reason;
      if (s.lastFailure.code) out.code = s.lastFailure.code;
    }
  }
  return out;
}
