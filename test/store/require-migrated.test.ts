import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';

test('a store opened without migrating refuses a database nobody migrated, and opens one that was', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'openslb-store-'));
  try {
    await assert.rejects(openStore({ dataDir, migrate: false }), /not migrated/);
    const primary = await openStore({ dataDir });
    const worker = await openStore({ sqlitePath: join(dataDir, 'openslb.db'), migrate: false });
    try {
      // The two see each other's commits: the worker follows the primary's revision.
      const { revision } = await primary.mutate(async () => undefined);
      assert.equal(await worker.waitForRevision(revision - 1, 5000), revision);
    } finally {
      await worker.close();
      await primary.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
