/**
 * Remembers, per AccessKeyId, what the gateway needs on every call — the secret for the
 * signature, the owner and the parsed policies — so a signed call costs no store query for
 * its credentials once the key has been seen.
 *
 * An entry is used only while both hold:
 *  - the source's generation is the one it was loaded at. RamService moves it on every RAM
 *    write made in this process to this store, so a key disabled or deleted, a policy edited,
 *    attached or detached here takes effect on the very next call;
 *  - it is younger than maxAgeMs (default 1 s). That is the bound for changes made by another
 *    process (`openslb ram …` from a shell, another API server on a shared PostgreSQL store):
 *    those are seen at most maxAgeMs after they commit.
 * Unknown and Inactive keys are not remembered, so a new or re-enabled key works at once.
 */
import type { CallerDirectory } from './pipeline.js';
import type { ParsedPolicy } from './ram/policy.js';

export interface CachedCaller {
  accessKeyId: string;
  owner: string;
  isRoot: boolean;
  policies: ParsedPolicy[];
  secret: string;
}

export interface CallerSource {
  /** The key's caller and secret, read fresh; undefined for unknown or Inactive keys. */
  loadCaller(accessKeyId: string): Promise<CachedCaller | undefined>;
  /** Changes whenever data loadCaller reads may have changed (in this process). */
  generation(): number;
}

export interface CallerCacheOptions {
  maxAgeMs?: number;
  /** Keys remembered at most; the least recently loaded goes first. */
  maxEntries?: number;
  /** Monotonic milliseconds (tests inject their own). */
  now?: () => number;
}

interface Entry {
  caller: CachedCaller;
  generation: number;
  loadedAt: number;
}

export const DEFAULT_CALLER_MAX_AGE_MS = 1000;

export class CallerCache implements CallerDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly source: CallerSource,
    opts: CallerCacheOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_CALLER_MAX_AGE_MS;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
  }

  async lookupSecret(accessKeyId: string): Promise<string | undefined> {
    return (await this.get(accessKeyId))?.secret;
  }

  async resolveCaller(accessKeyId: string): Promise<CachedCaller | undefined> {
    return this.get(accessKeyId);
  }

  private async get(accessKeyId: string): Promise<CachedCaller | undefined> {
    // Read before loading: a change landing while the load runs leaves the entry stale.
    const generation = this.source.generation();
    const now = this.now();
    const hit = this.entries.get(accessKeyId);
    if (hit && hit.generation === generation && now - hit.loadedAt < this.maxAgeMs) return hit.caller;

    const caller = await this.source.loadCaller(accessKeyId);
    this.entries.delete(accessKeyId);
    if (caller) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(accessKeyId, { caller, generation, loadedAt: now });
    }
    return caller;
  }
}
