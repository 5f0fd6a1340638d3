import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryNonceRegistry } from '../../../src/gateway/signature/nonce-registry.js';

const MIN = 60_000;
const WINDOW = 15 * MIN;
const T0 = Date.parse('2026-11-22T03:00:00Z');

describe('MemoryNonceRegistry', () => {
  it('accepts a nonce once and refuses its replay', () => {
    const r = new MemoryNonceRegistry();
    assert.equal(r.remember('ak', 'n1', T0, T0), true);
    assert.equal(r.remember('ak', 'n1', T0, T0 + 1000), false);
    assert.equal(r.remember('ak', 'n2', T0, T0 + 1000), true);
  });

  it('keeps nonces per AccessKeyId', () => {
    const r = new MemoryNonceRegistry();
    assert.equal(r.remember('ak1', 'n', T0, T0), true);
    assert.equal(r.remember('ak2', 'n', T0, T0), true);
    assert.equal(r.remember('ak1', 'n', T0, T0), false);
  });

  it('does not confuse (ab, c) with (a, bc)', () => {
    const r = new MemoryNonceRegistry();
    assert.equal(r.remember('ab', 'c', T0, T0), true);
    assert.equal(r.remember('a', 'bc', T0, T0), true);
  });

  it('remembers a nonce until timestamp + window, then forgets it', () => {
    const r = new MemoryNonceRegistry({ windowMs: WINDOW });
    assert.equal(r.remember('ak', 'n', T0, T0), true);
    // Still inside the validity of T0: the replay is caught.
    assert.equal(r.remember('ak', 'n', T0, T0 + WINDOW), false);
    assert.equal(r.size, 1);
    // One ms later the timestamp check would reject it anyway, so the entry is dropped ...
    assert.equal(r.remember('ak', 'other', T0 + WINDOW, T0 + WINDOW + 1), true);
    assert.equal(r.size, 1);
    // ... and the registry itself refuses a timestamp it can no longer vouch for.
    assert.equal(r.remember('ak', 'n', T0, T0 + WINDOW + 1), false);
  });

  it('keeps a future-dated nonce for its whole validity', () => {
    const r = new MemoryNonceRegistry({ windowMs: WINDOW });
    const future = T0 + 10 * MIN;
    assert.equal(r.remember('ak', 'n', future, T0), true);
    assert.equal(r.remember('ak', 'n', future, future + WINDOW), false);
  });

  it('evicts expired entries in timestamp order even when they arrive out of order', () => {
    const r = new MemoryNonceRegistry({ windowMs: WINDOW });
    r.remember('ak', 'late', T0 + 5 * MIN, T0);
    r.remember('ak', 'early', T0 - 5 * MIN, T0);
    r.remember('ak', 'mid', T0, T0);
    assert.equal(r.size, 3);
    r.remember('ak', 'probe', T0 + 11 * MIN, T0 + 10 * MIN + 1); // 'early' expired
    assert.equal(r.size, 3);
    r.remember('ak', 'probe2', T0 + 16 * MIN, T0 + 15 * MIN + 1); // 'mid' expired
    assert.equal(r.size, 3);
    assert.equal(r.remember('ak', 'late', T0 + 5 * MIN, T0 + 15 * MIN + 1), false);
  });

  describe('when full', () => {
    it('evicts the oldest entry and refuses anything at or before its timestamp', () => {
      const r = new MemoryNonceRegistry({ windowMs: WINDOW, maxEntries: 3 });
      assert.equal(r.remember('ak', 'a', T0 + 1000, T0), true);
      assert.equal(r.remember('ak', 'b', T0 + 2000, T0), true);
      assert.equal(r.remember('ak', 'c', T0 + 3000, T0), true);
      assert.equal(r.remember('ak', 'd', T0 + 4000, T0), true); // evicts 'a', floor = T0+1000
      assert.equal(r.size, 3);
      // 'a' is forgotten, but its replay is still refused thanks to the floor.
      assert.equal(r.remember('ak', 'a', T0 + 1000, T0), false);
      assert.equal(r.remember('ak', 'new-at-floor', T0 + 1000, T0), false);
      assert.equal(r.remember('ak', 'new-below-floor', T0, T0), false);
      // Remembered entries above the floor are still caught as replays.
      assert.equal(r.remember('ak', 'b', T0 + 2000, T0), false);
      assert.equal(r.size, 3);
    });

    it('refuses, without evicting, a request older than everything it holds', () => {
      const r = new MemoryNonceRegistry({ windowMs: WINDOW, maxEntries: 2 });
      r.remember('ak', 'a', T0 + 1000, T0);
      r.remember('ak', 'b', T0 + 2000, T0);
      assert.equal(r.remember('ak', 'old', T0 + 500, T0), false);
      assert.equal(r.remember('ak', 'a', T0 + 1000, T0), false); // 'a' was kept
      assert.equal(r.remember('ak', 'c', T0 + 1500, T0), true); // floor was not raised by the refusal
    });

    it('stops mattering once the floor is outside the window', () => {
      const r = new MemoryNonceRegistry({ windowMs: WINDOW, maxEntries: 1 });
      assert.equal(r.remember('ak', 'a', T0, T0), true);
      assert.equal(r.remember('ak', 'b', T0 + 1000, T0), true); // floor = T0
      const later = T0 + WINDOW + 2000;
      assert.equal(r.remember('ak', 'c', later, later), true);
      assert.equal(r.size, 1);
    });

    it('never grows beyond maxEntries', () => {
      const r = new MemoryNonceRegistry({ windowMs: WINDOW, maxEntries: 100 });
      for (let i = 0; i < 1000; i++) r.remember('ak', `n${i}`, T0 + i, T0);
      assert.equal(r.size, 100);
    });
  });
});
