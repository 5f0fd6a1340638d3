/**
 * The SQLite store holds the root and RAM secrets in clear: the data directory is created
 * 0700 and the database, its -wal and -shm 0600 from the start, whatever the umask; files an
 * older version left world-readable are narrowed when the store opens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig } from '../../src/config/config.js';
import { startOpenSlb } from '../../src/server/openslb.js';
import { openStore } from '../../src/store/store.js';

const mode = (path: string) => statSync(path).mode & 0o777;

test('a fresh data directory is 0700 and every store file 0600, even with a permissive umask', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), `openslb-modes-${process.pid}-`));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const dataDir = join(parent, 'data');
  const config = defaultConfig();
  config.apiListen = '127.0.0.1:0';
  config.adminListen = '';
  config.dataDir = dataDir;
  const previous = process.umask(0o002);
  let running;
  try {
    // No credentials in the environment: the root key is generated and written to the data dir.
    running = await startOpenSlb(config, { log: pino({ level: 'silent' }), env: {}, dataPlane: false });
  } finally {
    process.umask(previous);
  }
  try {
    // A write, so the WAL and shared-memory files exist.
    await running.store.mutate(async () => undefined);
    assert.equal(mode(dataDir), 0o700);
    for (const name of ['openslb.db', 'openslb.db-wal', 'openslb.db-shm', 'credentials']) {
      const path = join(dataDir, name);
      assert.ok(existsSync(path), `${name} exists`);
      assert.equal(mode(path).toString(8), '600', name);
    }
  } finally {
    await running.stop();
  }
});

test('store files an older version left 0644 are narrowed to 0600 on open', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), `openslb-modes-old-${process.pid}-`));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await openStore({ dataDir });
  await first.mutate(async () => undefined);
  await first.close();
  const db = join(dataDir, 'openslb.db');
  chmodSync(db, 0o644);
  writeFileSync(`${db}-wal`, '');
  chmodSync(`${db}-wal`, 0o644);
  const again = await openStore({ dataDir });
  try {
    await again.mutate(async () => undefined);
    assert.equal(mode(db), 0o600);
    assert.equal(mode(`${db}-wal`), 0o600);
    assert.equal(mode(`${db}-shm`), 0o600);
  } finally {
    await again.close();
  }
});
