/** The data plane's row cache follows inserts, updates and deletes through real store mutations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';
import { deleteResource, insertResource, updateResource, findResource } from '../../src/products/common/resources.js';
import { ResourceCache } from '../../src/dataplane/resource-cache.js';

test('refresh sees new, changed and deleted rows of its product and kinds only', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'openslb-cache-'));
  const store = await openStore({ dataDir });
  try {
    const put = (id: string, kind: string, product = 'nlb') =>
      store.mutate((tx, revision) =>
        insertResource(tx, { id, product, kind, regionId: 'r', status: 'Active', body: { name: id } }, { now: revision, revision }),
      );
    const cache = new ResourceCache('nlb', ['listener', 'loadbalancer']);
    const names = async () => {
      const byKind = await cache.refresh(store.db);
      return Object.fromEntries(
        [...byKind].map(([k, rows]) => [k, rows.map((r) => `${r.id}:${r.status}:${(r.body as { name: string }).name}`)]),
      );
    };

    assert.deepEqual(await names(), { listener: [], loadbalancer: [] });
    await put('lb-1', 'loadbalancer');
    await put('lsn-1', 'listener');
    await put('lsn-2', 'listener');
    await put('sgp-1', 'servergroup'); // another kind
    await put('gw-1', 'listener', 'gwlb'); // another product
    assert.deepEqual(await names(), { listener: ['lsn-1:Active:lsn-1', 'lsn-2:Active:lsn-2'], loadbalancer: ['lb-1:Active:lb-1'] });

    await store.mutate(async (tx, revision) => {
      const row = (await findResource<{ name: string }>(tx, 'nlb', 'listener', 'lsn-1', 'r'))!;
      await updateResource(tx, row, { status: 'Stopped', body: { name: 'renamed' } }, { now: revision, revision });
    });
    assert.deepEqual((await names()).listener, ['lsn-1:Stopped:renamed', 'lsn-2:Active:lsn-2']);

    // A delete and an insert in one revision keep the count: the cache must still notice both.
    await store.mutate(async (tx, revision) => {
      await deleteResource(tx, 'lsn-2');
      await insertResource(
        tx,
        { id: 'lsn-3', product: 'nlb', kind: 'listener', regionId: 'r', status: 'Active', body: { name: 'lsn-3' } },
        { now: revision, revision },
      );
    });
    assert.deepEqual((await names()).listener, ['lsn-1:Stopped:renamed', 'lsn-3:Active:lsn-3']);

    await store.mutate((tx) => deleteResource(tx, 'lb-1'));
    assert.deepEqual(await names(), { listener: ['lsn-1:Stopped:renamed', 'lsn-3:Active:lsn-3'], loadbalancer: [] });
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
