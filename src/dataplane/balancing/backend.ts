/**
 * The backend shape the data plane hands to schedulers.
 *
 * Schedulers never see addresses or sockets: only a stable identity (`key`, which feeds the
 * consistent-hash table, so it must be the same string on every worker and node — use
 * `ip:port`, or the server id for port-range groups) and a weight. A scheduler answers with a
 * position in the array it was built from; callers usually build it from the array that
 * `eligibleBackends` returns, whose elements are the caller's own objects, so
 * `eligible[pick]` is the chosen backend with whatever extra fields the caller keeps on it.
 */

/** Largest weight NLB accepts for a backend server (0–100). */
export const MAX_BACKEND_WEIGHT = 100;

export interface Backend {
  /** Stable identity, e.g. "10.0.0.1:80". Identical on every worker and node. */
  readonly key: string;
  /** 0–100 (larger values work, they are only ratios); 0 = receives no new flows. */
  readonly weight: number;
  /**
   * The caller's stable slot for this backend, e.g. its position in the server group's full
   * list. Only the `Wlc` scheduler reads it: the active-connection count of this backend is
   * `active[index]`. Defaults to the backend's position in the array given to the scheduler.
   */
  readonly index?: number;
}

/** True when the backend may receive new flows at all (positive, finite weight). */
export function hasTraffic(backend: Backend): boolean {
  return backend.weight > 0 && Number.isFinite(backend.weight);
}

/**
 * The set a scheduler should be rebuilt from: healthy backends with weight > 0; when none of
 * those is healthy, every backend with weight > 0 ("best effort" fail-open, as NLB does when
 * all servers fail their health checks). `healthy(i)` is asked about `backends[i]`.
 * Returns the caller's own objects, in their original order.
 */
export function eligibleBackends<B extends Backend>(backends: readonly B[], healthy: (index: number) => boolean): B[] {
  const out: B[] = [];
  for (let i = 0; i < backends.length; i++) {
    if (hasTraffic(backends[i]) && healthy(i)) out.push(backends[i]);
  }
  if (out.length > 0) return out;
  for (let i = 0; i < backends.length; i++) {
    if (hasTraffic(backends[i])) out.push(backends[i]);
  }
  return out;
}
