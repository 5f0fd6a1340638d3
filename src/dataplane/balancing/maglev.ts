/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network
 * Load Balancer", NSDI 2016), with weights.
 *
 * Each backend gets a permutation of the table's M slots (M prime), derived from two hashes of
 * its key: offset = h1(key) mod M, skip = h2(key) mod (M − 1) + 1, and its j-th preference is
 * (offset + j·skip) mod M. Backends then take turns claiming their next preferred free slot
 * until every slot is owned. A flow goes to `entries[flowHash mod M]`.
 *
 * Weights: in round r (r = 1, 2, …) backend i gets a turn while taken_i · w_max < r · w_i, so
 * the heaviest backends claim one slot per round and a backend of weight w claims about
 * w / w_max per round: shares end up proportional to weight. Weight 0 backends are left out.
 *
 * Determinism (DESIGN rule 5): h1 / h2 are MurmurHash3_x86_32 over the key's UTF-8 bytes with
 * seeds `MAGLEV_OFFSET_SEED` and `MAGLEV_SKIP_SEED`; backends take their turns in ascending
 * key order (ties by position), so the table depends only on the set of (key, weight) pairs,
 * not on the order the caller lists them in, the process or the machine.
 *
 * Building is O(M log M)-ish and allocates; do it when the backend set changes. Lookups are a
 * modulo and an array read.
 */
import type { Backend } from './backend.js';
import { hasTraffic } from './backend.js';
import { murmur3 } from './flow-hash.js';

/** Google's default (and Envoy's): a prime comfortably above 100 × a few hundred backends. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;
/** Seed of h1 (the offset hash). */
export const MAGLEV_OFFSET_SEED = 0x9e3779b9;
/** Seed of h2 (the skip hash). */
export const MAGLEV_SKIP_SEED = 0x85ebca6b;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * The table size for `backendCount` backends: the smallest prime ≥ max(minimum, 100 ×
 * backendCount) (the paper keeps imbalance around 1 % with M > 100·N).
 */
export function maglevTableSize(backendCount: number, minimum: number = DEFAULT_MAGLEV_TABLE_SIZE): number {
  let n = Math.max(minimum, 100 * backendCount, 2);
  while (!isPrime(n)) n++;
  return n;
}

/** h1 and h2 of a key (exported so tests and other languages can check the permutation). */
export function maglevKeyHashes(key: string): { offset: number; skip: number } {
  const bytes = Buffer.from(key, 'utf8');
  return {
    offset: murmur3(bytes, 0, bytes.length, MAGLEV_OFFSET_SEED),
    skip: murmur3(bytes, 0, bytes.length, MAGLEV_SKIP_SEED),
  };
}

export interface MaglevOptions {
  /** Table size; must be a prime ≥ the number of backends with weight > 0. Default: `maglevTableSize(n)`. */
  size?: number;
}

export class MaglevTable {
  /** M, the number of slots. */
  readonly size: number;
  /** Slot → position in the backends array given to `build`, or -1 (only when no backend has weight). */
  readonly entries: Int32Array;
  /** Positions of the backends with weight > 0, in ascending key order (the population order). */
  readonly order: Int32Array;

  private constructor(size: number, entries: Int32Array, order: Int32Array) {
    this.size = size;
    this.entries = entries;
    this.order = order;
  }

  /** Number of backends that own slots. */
  get backendCount(): number {
    return this.order.length;
  }

  /** The backend position for an unsigned (or signed, it is coerced) 32-bit flow hash; -1 if empty. */
  lookup(hash: number): number {
    return this.entries[(hash >>> 0) % this.size];
  }

  /** How many slots each position owns (index = position in the build array). */
  slotCounts(backendTotal: number): Int32Array {
    const counts = new Int32Array(backendTotal);
    for (let s = 0; s < this.size; s++) {
      const e = this.entries[s];
      if (e >= 0) counts[e]++;
    }
    return counts;
  }

  static build(backends: readonly Backend[], options: MaglevOptions = {}): MaglevTable {
    const positions: number[] = [];
    for (let i = 0; i < backends.length; i++) if (hasTraffic(backends[i])) positions.push(i);
    positions.sort((a, b) => {
      const ka = backends[a].key;
      const kb = backends[b].key;
      return ka < kb ? -1 : ka > kb ? 1 : a - b;
    });
    const n = positions.length;
    const size = options.size ?? maglevTableSize(n);
    if (!isPrime(size)) throw new RangeError(`Maglev table size must be prime, got ${size}`);
    if (size < n) throw new RangeError(`Maglev table size ${size} is smaller than the ${n} backends`);
    const entries = new Int32Array(size).fill(-1);
    const order = Int32Array.from(positions);
    if (n === 0) return new MaglevTable(size, entries, order);

    const weight = new Float64Array(n);
    const skip = new Int32Array(n);
    const next = new Int32Array(n); // the slot each backend will try next
    const taken = new Float64Array(n);
    let maxWeight = 0;
    for (let r = 0; r < n; r++) {
      const b = backends[positions[r]];
      weight[r] = b.weight;
      if (b.weight > maxWeight) maxWeight = b.weight;
      const h = maglevKeyHashes(b.key);
      next[r] = h.offset % size;
      skip[r] = (h.skip % (size - 1)) + 1;
    }

    let filled = 0;
    for (let round = 1; filled < size; round++) {
      for (let r = 0; r < n && filled < size; r++) {
        if (taken[r] * maxWeight >= round * weight[r]) continue; // not this backend's turn yet
        let slot = next[r];
        while (entries[slot] >= 0) {
          slot += skip[r];
          if (slot >= size) slot -= size;
        }
        entries[slot] = positions[r];
        taken[r]++;
        filled++;
        slot += skip[r];
        if (slot >= size) slot -= size;
        next[r] = slot;
      }
    }
    return new MaglevTable(size, entries, order);
  }
}

/**
 * Smallest table the NLB source / 4-tuple schedulers use. The kernel engine loads the table into
 * an nftables map, where 65,537 slots cost ~10 MB and ~0.5 s per group; 1,021 slots (≥ 100 × the
 * backends for up to 10) keep Maglev's balance within a few percent for the usual group.
 */
export const COMPACT_MAGLEV_MIN_SIZE = 1021;

/** The table size both NLB engines use for `sch` / `tch` over `backendCount` backends. */
export function compactMaglevTableSize(backendCount: number): number {
  return maglevTableSize(backendCount, COMPACT_MAGLEV_MIN_SIZE);
}

/** `MaglevTable.build` as a function. */
export function buildMaglevTable(backends: readonly Backend[], options?: MaglevOptions): MaglevTable {
  return MaglevTable.build(backends, options);
}
