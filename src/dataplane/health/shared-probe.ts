/**
 * One health probe per machine, however many data-plane workers it runs. Every worker keeps
 * its own HealthChecker (state machine, thresholds, forwarding decisions), but in a cluster
 * its probe function is a `ProbeClient`, which asks the primary; the primary's `SharedProber`
 * runs the real probe once and hands the result to every worker that asks for the same probe
 * within half an interval. A worker schedules a target's probes at an offset hashed from its
 * key, counted from when it applied the target; workers apply a revision within milliseconds
 * of each other, so their asks arrive together and backends see one probe per interval per
 * machine instead of one per worker. (Workers that applied a target more than half an
 * interval apart would each get a probe of their own: never fewer probes than needed.) All workers then see the same results, so they reach
 * the same verdicts.
 */
import { intervalMs, probeIdentity, probeTarget, timeoutMs, type HealthTarget, type ProbeFn } from './checker.js';
import type { ProbeResult } from './state.js';

/** Primary side. */
export class SharedProber {
  private readonly recent = new Map<string, { result: Promise<ProbeResult>; startedAt: number }>();
  private calls = 0;

  constructor(
    private readonly probe: ProbeFn = probeTarget,
    private readonly now: () => number = Date.now,
  ) {}

  run(target: HealthTarget): Promise<ProbeResult> {
    const id = probeIdentity(target);
    const now = this.now();
    const window = intervalMs(target.config) / 2;
    const hit = this.recent.get(id);
    if (hit && now - hit.startedAt < window) return hit.result;
    if (++this.calls % 256 === 0) this.prune(now);
    const result = Promise.resolve()
      .then(() => this.probe(target, new AbortController().signal))
      .catch((err: unknown): ProbeResult => ({ ok: false, reason: `probe error: ${String(err)}` }));
    this.recent.set(id, { result, startedAt: now });
    return result;
  }

  /** Probes remembered right now (for tests). */
  get size(): number {
    return this.recent.size;
  }

  private prune(now: number): void {
    // Intervals are at most 50 s: anything older than a minute is of no use to anyone.
    for (const [id, entry] of this.recent) if (now - entry.startedAt > 60_000) this.recent.delete(id);
  }
}

export interface ProbeRequest {
  type: 'openslb:probe';
  id: number;
  target: HealthTarget;
}

export interface ProbeReply {
  type: 'openslb:probe-result';
  id: number;
  result: ProbeResult;
}

/** Worker side: a ProbeFn that asks the primary. */
export class ProbeClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (result: ProbeResult) => void>();

  constructor(private readonly send: (request: ProbeRequest) => void) {}

  readonly probe: ProbeFn = (target, signal) =>
    new Promise<ProbeResult>((resolve) => {
      const id = this.nextId++;
      const finish = (result: ProbeResult) => {
        if (!this.waiting.delete(id)) return;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = () => finish({ ok: false, reason: 'probe cancelled' });
      // The primary runs the probe with its own timeout; this only covers a primary that never answers.
      const timer = setTimeout(() => finish({ ok: false, reason: 'no probe result from the primary' }), timeoutMs(target.config) + 5000);
      this.waiting.set(id, finish);
      signal.addEventListener('abort', onAbort);
      try {
        this.send({ type: 'openslb:probe', id, target });
      } catch (err) {
        finish({ ok: false, reason: `cannot ask the primary: ${String(err)}` });
      }
    });

  deliver(reply: ProbeReply): void {
    this.waiting.get(reply.id)?.(reply.result);
  }
}
