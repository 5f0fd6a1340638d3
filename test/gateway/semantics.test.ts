/**
 * DryRun, ClientToken and async jobs, exercised through a probe action that does what every
 * write action does: validate, write a resource, start a job.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/util/clock.js';
import { PROBE, probe } from '../support/probe-product.js';
import { callApi, callError, waitForJob, type TestServer } from '../support/server.js';
import { startSlowServer } from '../support/slow-server.js';

const clock = new ManualClock(Date.now());
let server: TestServer;
before(async () => {
  server = await startSlowServer({ clock, extraProducts: [probe] });
});
after(async () => {
  await server?.stop();
});

const widgets = () => server.running.store.db.selectFrom('resources').selectAll().where('kind', '=', 'widget').execute();
const call = (action: string, params: Record<string, unknown>) => callApi(server, PROBE, action, params);

describe('DryRun', () => {
  test('passing validation answers DryRunOperation and writes nothing', async () => {
    const before = await server.running.store.currentRevision();
    const e = await callError(call('CreateWidget', { Name: 'dry', DryRun: true }));
    assert.equal(e.code, 'DryRunOperation');
    assert.equal(e.statusCode, 400);
    assert.equal((await widgets()).filter((w) => w.body.includes('"dry"')).length, 0);
    assert.equal(await server.running.store.currentRevision(), before);
  });

  test('failing validation answers the real error', async () => {
    assert.equal((await callError(call('CreateWidget', { Name: 'dry', Size: 11, DryRun: true }))).code, 'IllegalParam.Size');
    assert.equal((await callError(call('CreateWidget', { DryRun: true }))).code, 'MissingParam.Name');
    assert.equal((await callError(call('CreateWidget', { Name: 'taken', DryRun: true }))).code, 'DuplicatedParam.Name');
  });
});

describe('ClientToken', () => {
  test('the same token and parameters replay the first reply without doing the work twice', async () => {
    const first = await call('CreateWidget', { Name: 'once', ClientToken: 'token-1' });
    const second = await call('CreateWidget', { Name: 'once', ClientToken: 'token-1' });
    assert.equal(second.WidgetId, first.WidgetId);
    assert.equal(second.JobId, first.JobId);
    assert.equal((await widgets()).filter((w) => w.body.includes('"once"')).length, 1);
  });

  test('the same token with different parameters is refused', async () => {
    await call('CreateWidget', { Name: 'a', ClientToken: 'token-2' });
    const e = await callError(call('CreateWidget', { Name: 'b', ClientToken: 'token-2' }));
    assert.equal(e.code, 'IdempotenceSignatureMismatch');
    assert.equal((await widgets()).filter((w) => w.body.includes('"b"')).length, 0);
  });

  test('a refused call does not use up its token', async () => {
    await callError(call('CreateWidget', { Name: 'taken', ClientToken: 'token-3' }));
    const ok = await call('CreateWidget', { Name: 'fine', ClientToken: 'token-3' });
    assert.match(ok.WidgetId, /^wdg-/);
  });
});

describe('async jobs', () => {
  test('a job stays Processing through its extra delay, then succeeds and applies its outcome', async () => {
    const { WidgetId, JobId } = await call('CreateWidget', { Name: 'slow' });
    // The data plane applies the revision at once; the configured delay still holds the job.
    const node = server.running.node!;
    for (let i = 0; i < 500 && node.appliedRevision < (await server.running.store.currentRevision()); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await call('GetJobStatus', { JobId })).Status, 'Processing');
    assert.equal((await call('GetWidget', { WidgetId })).Status, 'Creating');
    clock.advance(60_000);
    assert.equal(await waitForJob(server, JobId, 500, PROBE), 'Succeeded');
    assert.equal((await call('GetWidget', { WidgetId })).Status, 'Ready');
    const listed = await call('ListAsynJobs', { JobIds: [JobId, 'no-such-job'] });
    assert.deepEqual(listed.Jobs, [{ Id: JobId, Status: 'Succeeded' }]);
    assert.equal(listed.TotalCount, '1');
  });

  test("a node's failure report fails the job with its reason", async () => {
    const { WidgetId, JobId } = await call('CreateWidget', { Name: 'doomed' });
    const job = await server.running.store.db.selectFrom('jobs').selectAll().where('id', '=', JobId).executeTakeFirstOrThrow();
    const nodeId = (await server.running.store.db.selectFrom('nodes').select('node_id').executeTakeFirstOrThrow()).node_id;
    await server.running.store.transact((tx) =>
      tx
        .insertInto('observations')
        .values({
          node_id: nodeId,
          object_id: WidgetId,
          revision: job.revision,
          state: 'failed',
          reason: 'port 80 in use',
          detail: null,
          updated_at: clock.now(),
        })
        .execute(),
    );
    clock.advance(60_000);
    assert.equal(await waitForJob(server, JobId, 500, PROBE), 'Failed');
    assert.equal((await call('GetWidget', { WidgetId })).Status, 'CreateFailed');
    const finished = await server.running.store.db.selectFrom('jobs').selectAll().where('id', '=', JobId).executeTakeFirstOrThrow();
    assert.match(finished.error_message ?? '', /port 80 in use/);
  });

  test('an unknown JobId is ResourceNotFound.JobId', async () => {
    const e = await callError(call('GetJobStatus', { JobId: 'nope' }));
    assert.equal(e.code, 'ResourceNotFound.JobId');
    assert.equal(e.statusCode, 404);
  });

  test('DryRun on a read validates, then answers DryRunOperation', async () => {
    const { WidgetId } = await call('CreateWidget', { Name: 'readme' });
    assert.equal((await callError(call('GetWidget', { WidgetId, DryRun: true }))).code, 'DryRunOperation');
    assert.equal((await callError(call('GetWidget', { WidgetId: 'wdg-none', DryRun: true }))).code, 'ResourceNotFound.widget');
  });
});
