/** Opening a PostgreSQL store nobody answers for: a clear "unreachable", never "not migrated". */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { isStoreUnavailable, openStore } from '../../src/store/store.js';

/** A loopback port with nothing listening on it (bound, then released). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('a worker opening an unreachable store hears that it is unreachable, not that it is unmigrated', async () => {
  const url = `postgres://postgres@127.0.0.1:${await deadPort()}/postgres`;
  await assert.rejects(
    openStore({ url, migrate: false }),
    (err: Error) => isStoreUnavailable(err) && !/not migrated/.test(err.message) && /ECONNREFUSED/.test(err.message),
  );
});

test('a data-plane store may open while unreachable: queries fail as unavailable, and it closes cleanly', async () => {
  const url = `postgres://postgres@127.0.0.1:${await deadPort()}/postgres`;
  const lines: string[] = [];
  const log = { warn: (_o: object, m: string) => lines.push(m), info: (_o: object, m: string) => lines.push(m) };
  const store = await openStore({ url, migrate: false, startWhileUnreachable: true, log });
  try {
    assert.equal(store.health().reachable, false);
    await assert.rejects(store.currentRevision(), (err: unknown) => isStoreUnavailable(err));
    await assert.rejects(
      store.transact((tx) => tx.selectFrom('nodes').selectAll().execute()),
      (err: unknown) => isStoreUnavailable(err),
    );
    assert.equal(lines.filter((l) => l.startsWith('store unreachable since')).length, 1, 'said once, however many queries failed');
  } finally {
    await store.close();
  }
});
