import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionStore } from '../../src/console/sessions.js';
import { ManualClock } from '../../src/util/clock.js';

test('a session ends after its idle time, and touching it restarts that time', () => {
  const clock = new ManualClock();
  const store = new SessionStore(clock, { idleMs: 60_000, maxAgeMs: 600_000, maxSessions: 10 });
  const s = store.create('LTAIid', 'secret');
  assert.match(s.id, /^[A-Za-z0-9_-]{43}$/);
  clock.advance(59_000);
  assert.equal(store.touch(s.id)?.accessKeySecret, 'secret');
  clock.advance(59_000);
  assert.ok(store.touch(s.id), 'touched 59 s ago');
  clock.advance(60_000);
  assert.equal(store.touch(s.id), undefined);
  assert.equal(store.size, 0, 'the expired session and its secret are gone');
});

test('a busy session still ends at its maximum age; the cookie never outlives it', () => {
  const clock = new ManualClock();
  const store = new SessionStore(clock, { idleMs: 60_000, maxAgeMs: 150_000, maxSessions: 10 });
  const s = store.create('LTAIid', 'secret');
  assert.equal(store.cookieMaxAgeSeconds(s), 60);
  for (let i = 0; i < 2; i++) {
    clock.advance(50_000);
    assert.ok(store.touch(s.id));
  }
  assert.equal(store.cookieMaxAgeSeconds(s), 50, 'capped by the 150 s lifetime');
  clock.advance(50_000);
  assert.equal(store.touch(s.id), undefined);
});

test('sign-out ends a session; past maxSessions the least recently used one goes', () => {
  const clock = new ManualClock();
  const store = new SessionStore(clock, { idleMs: 60_000, maxAgeMs: 600_000, maxSessions: 2 });
  const a = store.create('A', 'x');
  const b = store.create('B', 'y');
  store.touch(a.id);
  const c = store.create('C', 'z');
  assert.ok(store.touch(a.id));
  assert.equal(store.touch(b.id), undefined);
  store.end(c.id);
  assert.equal(store.touch(c.id), undefined);
});
