/**
 * In-memory replay guard with bounded memory and no timers.
 *
 * A (AccessKeyId, nonce) pair is remembered until its timestamp + windowMs: after that the
 * timestamp check rejects the request anyway, so forgetting it is safe. windowMs must be at
 * least the verifier's allowed clock skew, or a replay could slip in after the entry expires.
 *
 * Entries sit in a binary min-heap ordered by timestamp (expiry is timestamp + a constant, so
 * the same order serves both purposes): expired entries are popped from the top on each call
 * (O(log n) each, each entry popped once) and, when full, the oldest entry is dropped.
 * Dropping a live entry would let its replay through, so the registry raises a floor to that
 * entry's timestamp and refuses every request stamped at or before the floor.
 */
import type { NonceRegistry } from './types.js';

interface Entry {
  timestampMs: number;
  key: string;
}

export interface MemoryNonceRegistryOptions {
  windowMs?: number;
  maxEntries?: number;
}

export class MemoryNonceRegistry implements NonceRegistry {
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly keys = new Set<string>();
  private readonly heap: Entry[] = [];
  private floorMs = -Infinity;

  constructor({ windowMs = 15 * 60_000, maxEntries = 200_000 }: MemoryNonceRegistryOptions = {}) {
    if (!(maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
    this.windowMs = windowMs;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.keys.size;
  }

  remember(accessKeyId: string, nonce: string, timestampMs: number, nowMs: number): boolean {
    this.forgetExpired(nowMs);
    // Too old to be tracked for its whole validity: it can no longer be told from a replay.
    if (timestampMs + this.windowMs < nowMs || timestampMs <= this.floorMs) return false;
    // Length prefix keeps ("ab","c") and ("a","bc") apart whatever characters they contain.
    const key = `${accessKeyId.length}:${accessKeyId}${nonce}`;
    if (this.keys.has(key)) return false;
    if (this.keys.size >= this.maxEntries) {
      const oldest = this.heap[0];
      // Storing an entry older than everything kept would only evict it straight away.
      if (timestampMs <= oldest.timestampMs) return false;
      this.pop();
      this.floorMs = Math.max(this.floorMs, oldest.timestampMs);
    }
    this.keys.add(key);
    this.push({ timestampMs, key });
    return true;
  }

  private forgetExpired(nowMs: number): void {
    while (this.heap.length > 0 && this.heap[0].timestampMs + this.windowMs < nowMs) this.pop();
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].timestampMs <= heap[i].timestampMs) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop()!;
    this.keys.delete(top.key);
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left].timestampMs < heap[smallest].timestampMs) smallest = left;
      if (right < heap.length && heap[right].timestampMs < heap[smallest].timestampMs) smallest = right;
      if (smallest === i) return;
      [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
      i = smallest;
    }
  }
}
