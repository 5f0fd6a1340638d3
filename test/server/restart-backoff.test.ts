import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from '../../src/server/restart-backoff.js';

test('a worker that keeps dying right after start waits twice as long each time, up to the ceiling', () => {
  const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableMs: 10_000 });
  assert.deepEqual(
    [50, 50, 50, 50, 50, 50].map((up) => b.next(up)),
    [100, 200, 400, 800, 1000, 1000],
  );
});

test('a crash after a stable run is restarted at the initial delay again', () => {
  const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableMs: 10_000 });
  b.next(10);
  b.next(10);
  assert.equal(b.next(10), 400);
  assert.equal(b.next(10_000), 100);
  assert.equal(b.next(5), 200);
});
