import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../../src/dataplane/balancing/backend.js';
import {
  DEFAULT_MAGLEV_TABLE_SIZE,
  MaglevTable,
  buildMaglevTable,
  isPrime,
  maglevKeyHashes,
  maglevTableSize,
} from '../../../src/dataplane/balancing/maglev.js';

const backendsOf = (n: number, weight = 100): Backend[] =>
  Array.from({ length: n }, (_, i) => ({ key: `10.0.${i >> 8}.${i & 255}:80`, weight }));

/** Slot → key (or null), to compare tables built from different arrays. */
function keysBySlot(table: MaglevTable, backends: readonly Backend[]): (string | null)[] {
  return Array.from(table.entries, (e) => (e < 0 ? null : backends[e].key));
}

function shares(table: MaglevTable, backends: readonly Backend[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of table.entries) out.set(backends[e].key, (out.get(backends[e].key) ?? 0) + 1);
  return out;
}

test('table sizes are primes ≥ 100 × backends, 65537 by default', () => {
  assert.equal(DEFAULT_MAGLEV_TABLE_SIZE, 65537);
  assert.equal(isPrime(65537), true);
  assert.equal(isPrime(65535), false);
  assert.equal(isPrime(2), true);
  assert.equal(isPrime(1), false);
  assert.equal(maglevTableSize(0), 65537);
  assert.equal(maglevTableSize(400), 65537);
  assert.equal(maglevTableSize(1000), 100003);
  assert.equal(maglevTableSize(3, 100), 307);
  assert.equal(buildMaglevTable(backendsOf(3)).size, 65537);
  assert.throws(() => buildMaglevTable(backendsOf(3), { size: 1000 }), RangeError);
  assert.throws(() => buildMaglevTable(backendsOf(10), { size: 7 }), RangeError);
});

test('the key hashes are fixed (pinned: every node must agree)', () => {
  assert.deepEqual(maglevKeyHashes('10.0.0.1:80'), { offset: 2466635658, skip: 134429859 });
});

test('every slot is owned and equal weights get equal shares (±1 slot)', () => {
  const backends = backendsOf(7);
  const table = buildMaglevTable(backends);
  assert.equal(table.backendCount, 7);
  const counts = table.slotCounts(backends.length);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    table.size,
  );
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${counts}`);
  assert.ok(table.entries.every((e) => e >= 0 && e < 7));
});

test('same input → identical table, whatever order the backends are listed in', () => {
  const backends = backendsOf(25).map((b, i) => ({ ...b, weight: 1 + (i % 5) }));
  const a = buildMaglevTable(backends);
  const b = buildMaglevTable(backends);
  assert.deepEqual(a.entries, b.entries);
  const shuffled = [...backends].reverse();
  shuffled.push(shuffled.shift()!);
  const c = buildMaglevTable(shuffled);
  assert.deepEqual(keysBySlot(c, shuffled), keysBySlot(a, backends));
  assert.deepEqual(
    Array.from(a.order, (p) => backends[p].key),
    [...backends.map((x) => x.key)].sort(),
  );
});

test('weights produce proportional shares; weight 0 owns nothing', () => {
  const backends: Backend[] = [
    { key: 'a:1', weight: 10 },
    { key: 'b:1', weight: 20 },
    { key: 'c:1', weight: 30 },
    { key: 'd:1', weight: 40 },
    { key: 'z:1', weight: 0 },
  ];
  const table = buildMaglevTable(backends);
  assert.equal(table.backendCount, 4);
  const s = shares(table, backends);
  assert.equal(s.get('z:1'), undefined);
  const total = 100;
  for (const b of backends.slice(0, 4)) {
    const expected = (table.size * b.weight) / total;
    const got = s.get(b.key)!;
    assert.ok(Math.abs(got - expected) / expected < 0.02, `${b.key}: ${got} vs ${expected}`);
  }
  // Extreme ratio still honoured.
  const skewed = buildMaglevTable([
    { key: 'heavy', weight: 100 },
    { key: 'light', weight: 1 },
  ]);
  const lightShare = skewed.slotCounts(2)[1] / skewed.size;
  assert.ok(Math.abs(lightShare - 1 / 101) < 0.001, `${lightShare}`);
});

test('no backend with weight: every lookup is -1', () => {
  const empty = buildMaglevTable([{ key: 'x', weight: 0 }]);
  assert.equal(empty.backendCount, 0);
  assert.equal(empty.lookup(12345), -1);
  assert.equal(buildMaglevTable([]).lookup(0), -1);
});

test('lookup takes the slot hash mod M (signed hashes are coerced)', () => {
  const backends = backendsOf(5);
  const t = buildMaglevTable(backends);
  assert.equal(t.lookup(70000), t.entries[70000 % t.size]);
  assert.equal(t.lookup(-1), t.entries[0xffffffff % t.size]);
});

function disruption(before: MaglevTable, beforeBackends: Backend[], after: MaglevTable, afterBackends: Backend[]) {
  const a = keysBySlot(before, beforeBackends);
  const b = keysBySlot(after, afterBackends);
  let changed = 0;
  for (let s = 0; s < a.length; s++) if (a[s] !== b[s]) changed++;
  return { a, b, changed };
}

test('removing one backend moves about its share; other backends keep their slots', () => {
  for (const n of [5, 20, 50]) {
    const all = backendsOf(n);
    const before = buildMaglevTable(all);
    const removedKey = all[Math.floor(n / 2)].key;
    const rest = all.filter((b) => b.key !== removedKey);
    const after = buildMaglevTable(rest);
    const { a, b, changed } = disruption(before, all, after, rest);
    const share = before.size / n;
    assert.ok(changed < 1.5 * share, `n=${n}: ${changed} changed, share ${share}`);
    let othersOwned = 0;
    let othersMoved = 0;
    for (let s = 0; s < a.length; s++) {
      if (a[s] === removedKey) continue;
      othersOwned++;
      if (a[s] !== b[s]) othersMoved++;
    }
    assert.ok(othersMoved / othersOwned < 0.03, `n=${n}: ${othersMoved}/${othersOwned} of the others' slots moved`);
    // The removed backend's slots all went somewhere else.
    assert.ok(b.every((k) => k !== removedKey));
  }
});

test('adding one backend moves about its new share, all of it to the newcomer mostly', () => {
  const n = 20;
  const before = backendsOf(n);
  const after = [...before, { key: '10.9.9.9:80', weight: 100 }];
  const t0 = buildMaglevTable(before);
  const t1 = buildMaglevTable(after);
  const { a, b, changed } = disruption(t0, before, t1, after);
  const share = t1.size / (n + 1);
  assert.ok(changed < 1.5 * share, `${changed} changed, share ${share}`);
  let toNewcomer = 0;
  for (let s = 0; s < a.length; s++) if (a[s] !== b[s] && b[s] === '10.9.9.9:80') toNewcomer++;
  assert.ok(toNewcomer / changed > 0.9, `${toNewcomer}/${changed}`);
});

test('changing one weight moves roughly the difference in share', () => {
  const before = backendsOf(10, 50);
  const after = before.map((b, i) => (i === 3 ? { ...b, weight: 100 } : b));
  const t0 = buildMaglevTable(before);
  const t1 = buildMaglevTable(after);
  const { changed } = disruption(t0, before, t1, after);
  const gained = t1.slotCounts(10)[3] - t0.slotCounts(10)[3];
  const expectedGain = t1.size * (100 / 550) - t0.size / 10;
  assert.ok(Math.abs(gained - expectedGain) / expectedGain < 0.05, `${gained} vs ${expectedGain}`);
  assert.ok(changed < 2 * gained, `${changed} changed for a ${gained}-slot gain`);
});
