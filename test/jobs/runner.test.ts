/** The job runner's refresh(): free while nothing is pending, never blind to a new job. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';
import type { Store } from '../../src/store/types.js';
import { createJob } from '../../src/jobs/jobs.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { ManualClock } from '../../src/util/clock.js';

let dir: string;
let store: Store;
let runner: JobRunner;
const clock = new ManualClock();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'openslb-runner-'));
  store = await openStore({ dataDir: dir });
  runner = new JobRunner({ store, clock, nodeTimeoutMs: 10_000 });
  runner.start();
});
after(async () => {
  await runner.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One data-plane node that has applied `applied`. */
async function node(applied: number) {
  await store.transact((tx) =>
    tx
      .insertInto('nodes')
      .values({ node_id: 'n1', address: '127.0.0.1', started_at: clock.now(), heartbeat_at: clock.now(), applied_revision: applied })
      .onConflict((oc) => oc.column('node_id').doUpdateSet({ applied_revision: applied, heartbeat_at: clock.now() }))
      .execute(),
  );
}

async function newJob(): Promise<string> {
  const { result } = await store.mutate((tx, revision) =>
    createJob(
      tx,
      {
        product: 'nlb',
        action: 'Probe',
        regionId: 'cn-hangzhou',
        resourceType: 'probe',
        resourceId: 'p-1',
        outcome: { onSuccess: [], onFailure: [] },
      },
      { now: clock.now(), extraDelayMs: 0, revision },
    ),
  );
  return result;
}

async function statusOf(id: string): Promise<string> {
  const row = await store.db.selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirstOrThrow();
  return row.status;
}

async function untilIdle(): Promise<void> {
  for (let attempt = 0; attempt < 500 && !runner.isIdle; attempt++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(runner.isIdle, 'the runner never went idle');
}

test('a job committed while the runner is idle is finished by the next refresh', async () => {
  await node(1e9);
  for (let i = 0; i < 3; i++) {
    await untilIdle();
    const id = await newJob();
    await runner.refresh();
    assert.equal(await statusOf(id), 'Succeeded');
  }
});

test('while a job waits for the data plane, refresh keeps looking', async () => {
  await untilIdle();
  await node(0);
  const id = await newJob();
  await runner.refresh();
  assert.equal(await statusOf(id), 'Processing');
  assert.equal(runner.isIdle, false);
  await node(1e9); // a heartbeat, no revision change
  await runner.refresh();
  assert.equal(await statusOf(id), 'Succeeded');
});
