/** NodeWatch with an injected clock: stale nodes are left out, long-silent ones are forgotten. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store.js';
import { NodeWatch } from '../../src/server/node-watch.js';
import { ManualClock } from '../../src/util/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'openslb-nodewatch-'));
let store: Store;

before(async () => {
  store = await openStore({ dataDir: dir });
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function addNode(nodeId: string, heartbeatAt: number): Promise<void> {
  await store.transact(async (tx) => {
    await tx
      .insertInto('nodes')
      .values({ node_id: nodeId, address: '10.0.0.1', started_at: heartbeatAt, heartbeat_at: heartbeatAt, applied_revision: 1 })
      .execute();
    await tx
      .insertInto('observations')
      .values({ node_id: nodeId, object_id: 'lsn-x', revision: 1, state: 'bound', reason: null, detail: null, updated_at: heartbeatAt })
      .execute();
  });
}

test('a node silent for longer than nodeForgetMs is removed with its observations, once, and said so', async () => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const log = { info: (_o: object, m: string) => lines.push(m), warn: (_o: object, m: string) => lines.push(m) };
  const watch = new NodeWatch({ store, clock, nodeTimeoutMs: 10_000, nodeForgetMs: 60_000, log: log as never });
  await addNode('quiet', clock.now());
  await addNode('chatty', clock.now());

  await watch.check();
  clock.advance(30_000);
  await store.transact((tx) => tx.updateTable('nodes').set({ heartbeat_at: clock.now() }).where('node_id', '=', 'chatty').execute());
  await watch.check();
  assert.deepEqual(
    (await watch.nodes()).map((n) => [n.nodeId, n.live]),
    [
      ['chatty', true],
      ['quiet', false],
    ],
    'stale, not yet forgotten',
  );

  clock.advance(31_000);
  await watch.check();
  assert.deepEqual(
    (await watch.nodes()).map((n) => n.nodeId),
    ['chatty'],
    'the quiet node is gone; the other, silent 31 s, stays',
  );
  const left = await store.db.selectFrom('observations').select('node_id').execute();
  assert.deepEqual(
    left.map((r) => r.node_id),
    ['chatty'],
  );
  assert.equal(lines.filter((l) => l.includes('forgotten')).length, 1);

  await watch.check();
  assert.equal(lines.filter((l) => l.includes('forgotten')).length, 1, 'said once');
});

test('nodeForgetMs 0 keeps silent nodes for good', async () => {
  const clock = new ManualClock();
  const watch = new NodeWatch({ store, clock, nodeTimeoutMs: 10_000, nodeForgetMs: 0 });
  await addNode('forever', clock.now() - 86_400_000);
  await watch.check();
  assert.ok((await watch.nodes()).some((n) => n.nodeId === 'forever'));
});
