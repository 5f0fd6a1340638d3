/**
 * A per-store counter of RAM changes made by this process (users, AccessKeys, policies,
 * attachments). Caches of credentials and policies compare it to the value they were filled
 * at, so a change made through any RamService on the same Store object is seen by the very
 * next API call. Changes made by other processes cannot reach this counter; caches bound how
 * long they may miss those by expiring their entries (see gateway/caller-cache.ts).
 */
import type { Store } from '../store/types.js';

const generations = new WeakMap<Store, number>();

export function ramGeneration(store: Store): number {
  return generations.get(store) ?? 0;
}

/** Call after a RAM write committed (or failed: an extra bump only costs a cache refill). */
export function noteRamChange(store: Store): void {
  generations.set(store, ramGeneration(store) + 1);
}
