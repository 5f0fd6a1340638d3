/**
 * The replay guard every API node shares: a nonce is recorded in the store, so a captured
 * request is refused after a restart and by every other API node on the same PostgreSQL.
 *
 * One statement decides (src/store/nonce-rows.ts), atomically on both engines: insert the (AccessKeyId, nonce) key, or,
 * when the key is already there, take it over only if its earlier use is outside the window
 * (a nonce may be reused once the request that carried it could no longer be accepted, as
 * the in-memory registry allows). No row written means a replay.
 *
 * Rows are deleted once their request could no longer pass the timestamp check: window plus a
 * margin for API nodes whose clocks differ a little. The sweep runs at most once a minute per
 * process, off the request's path.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../../store/store.js';
import type { NonceRegistry } from './types.js';

export interface StoreNonceRegistryOptions {
  /** How long after its timestamp a request can still pass the timestamp check. */
  windowMs?: number;
  /** Extra time rows are kept, for API nodes whose clocks disagree. */
  clockMarginMs?: number;
  pruneIntervalMs?: number;
  log?: Pick<Logger, 'warn'>;
}

export class StoreNonceRegistry implements NonceRegistry {
  private readonly windowMs: number;
  private readonly keepMs: number;
  private readonly pruneIntervalMs: number;
  private lastPruneMs = -Infinity;
  private pruning: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: StoreNonceRegistryOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 15 * 60_000;
    this.keepMs = this.windowMs + (opts.clockMarginMs ?? 60_000);
    this.pruneIntervalMs = opts.pruneIntervalMs ?? 60_000;
  }

  async remember(accessKeyId: string, nonce: string, timestampMs: number, nowMs: number): Promise<boolean> {
    this.maybePrune(nowMs);
    if (timestampMs + this.windowMs < nowMs) return false;
    return this.store.nonces.record(nonceKey(accessKeyId, nonce), timestampMs, nowMs - this.keepMs);
  }

  /** Deletes rows past the window; resolves when done (tests call it directly). */
  prune(nowMs: number): Promise<void> {
    this.lastPruneMs = nowMs;
    this.pruning ??= this.store.nonces
      .prune(nowMs - this.keepMs)
      .then(
        () => undefined,
        (err: unknown) => this.opts.log?.warn({ err }, 'pruning old signature nonces failed; will try again'),
      )
      .finally(() => {
        this.pruning = undefined;
      });
    return this.pruning;
  }

  private maybePrune(nowMs: number): void {
    if (nowMs - this.lastPruneMs >= this.pruneIntervalMs) void this.prune(nowMs);
  }
}

/** Length-prefixed so ("ab","c") and ("a","bc") differ; hashed so any nonce costs 64 characters. */
export function nonceKey(accessKeyId: string, nonce: string): string {
  return createHash('sha256').update(`${accessKeyId.length}:${accessKeyId}`).update(nonce).digest('hex');
}
