/** The gateway's credential cache: when it may answer from memory and when it must read again. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallerCache, type CachedCaller } from '../../src/gateway/caller-cache.js';

/** A store stand-in: keys that can be changed, a generation, and a count of reads. */
function fakeSource() {
  const keys = new Map<string, CachedCaller>();
  const source = {
    reads: 0,
    gen: 0,
    keys,
    async loadCaller(id: string) {
      source.reads++;
      const k = keys.get(id);
      return k ? { ...k } : undefined;
    },
    generation: () => source.gen,
  };
  return source;
}

const alice: CachedCaller = { accessKeyId: 'LTAIalice', owner: 'alice', isRoot: false, policies: [], secret: 's1' };

test('a known key is read once and then answered from memory', async () => {
  const source = fakeSource();
  source.keys.set(alice.accessKeyId, alice);
  const cache = new CallerCache(source, { now: () => 0 });
  assert.equal(await cache.lookupSecret('LTAIalice'), 's1');
  assert.equal((await cache.resolveCaller('LTAIalice'))?.owner, 'alice');
  assert.equal(await cache.lookupSecret('LTAIalice'), 's1');
  assert.equal(source.reads, 1);
});

test('a change in this process (a new generation) is seen by the next lookup', async () => {
  const source = fakeSource();
  source.keys.set(alice.accessKeyId, alice);
  const cache = new CallerCache(source, { now: () => 0 });
  assert.equal(await cache.lookupSecret('LTAIalice'), 's1');
  source.keys.delete('LTAIalice'); // disabled or deleted
  source.gen++;
  assert.equal(await cache.lookupSecret('LTAIalice'), undefined);
});

test('a change by another process is seen once the entry is maxAgeMs old', async () => {
  const source = fakeSource();
  source.keys.set(alice.accessKeyId, alice);
  let now = 1000;
  const cache = new CallerCache(source, { now: () => now, maxAgeMs: 1000 });
  assert.equal(await cache.lookupSecret('LTAIalice'), 's1');
  source.keys.set('LTAIalice', { ...alice, secret: 's2' }); // no generation bump: another process
  now += 999;
  assert.equal(await cache.lookupSecret('LTAIalice'), 's1');
  now += 1;
  assert.equal(await cache.lookupSecret('LTAIalice'), 's2');
});

test('unknown keys are not remembered, so a key created later works at once', async () => {
  const source = fakeSource();
  const cache = new CallerCache(source, { now: () => 0 });
  assert.equal(await cache.lookupSecret('LTAIalice'), undefined);
  source.keys.set(alice.accessKeyId, alice);
  assert.equal(await cache.lookupSecret('LTAIalice'), 's1');
});

test('a change while a read is in flight does not leave the old answer cached', async () => {
  const source = fakeSource();
  source.keys.set(alice.accessKeyId, alice);
  const cache = new CallerCache(source, { now: () => 0 });
  const load = source.loadCaller;
  // The change commits after the read started: the cache must not trust what it read.
  source.loadCaller = async (id: string) => {
    const result = await load(id);
    source.keys.delete('LTAIalice');
    source.gen++;
    return result;
  };
  assert.equal(await cache.lookupSecret('LTAIalice'), 's1');
  source.loadCaller = load;
  assert.equal(await cache.lookupSecret('LTAIalice'), undefined);
});

test('memory is bounded: beyond maxEntries the oldest key is read again', async () => {
  const source = fakeSource();
  for (const id of ['a', 'b', 'c']) source.keys.set(id, { ...alice, accessKeyId: id });
  const cache = new CallerCache(source, { now: () => 0, maxEntries: 2 });
  for (const id of ['a', 'b', 'c']) await cache.lookupSecret(id);
  assert.equal(source.reads, 3);
  await cache.lookupSecret('c');
  await cache.lookupSecret('b');
  assert.equal(source.reads, 3);
  await cache.lookupSecret('a');
  assert.equal(source.reads, 4);
});
