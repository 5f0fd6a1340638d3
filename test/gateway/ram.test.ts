/** RAM users sign with their own keys; their policies decide, and an explicit Deny wins. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RamService } from '../../src/accounts/ram-service.js';
import { NLB, callApi, callError, startTestServer, type TestServer } from '../support/server.js';
import { PROBE, probe } from '../support/probe-product.js';
import { runCli } from '../support/process.js';

let server: TestServer;
let ram: RamService;
before(async () => {
  server = await startTestServer({ extraProducts: [probe] });
  ram = new RamService(server.running.store);
});
after(async () => {
  await server?.stop();
});

async function userWithPolicy(name: string, statements: object[]) {
  await ram.createUser(name);
  await ram.createPolicy(`${name}-policy`, JSON.stringify({ Version: '1', Statement: statements }));
  await ram.attachPolicy(`${name}-policy`, name);
  const key = await ram.createAccessKey(name);
  return { accessKeyId: key.accessKeyId, accessKeySecret: key.secret };
}

test('a read-only user reads but is refused a write with Forbidden.NoPermission', async () => {
  const reader = await userWithPolicy('reader', [{ Effect: 'Allow', Action: ['nlb:Get*', 'nlb:List*', 'nlb:Describe*'], Resource: '*' }]);
  const regions = await callApi(server, NLB, 'DescribeRegions', {}, reader);
  assert.equal(regions.Regions[0].RegionId, 'cn-hangzhou');

  const e = await callError(callApi(server, PROBE, 'CreateWidget', { Name: 'w' }, reader));
  assert.equal(e.code, 'Forbidden.NoPermission');
  assert.equal(e.statusCode, 403);
  assert.equal(e.data.AccessDeniedDetail.AuthAction, 'nlb:CreateWidget');
  assert.equal(e.data.AccessDeniedDetail.NoPermissionType, 'ImplicitDeny');
  const count = await server.running.store.db.selectFrom('resources').select('id').where('kind', '=', 'widget').execute();
  assert.equal(count.length, 0);
});

test('an explicit Deny beats an Allow', async () => {
  const { WidgetId } = await callApi(server, PROBE, 'CreateWidget', { Name: 'kept' });
  const other = await callApi(server, PROBE, 'CreateWidget', { Name: 'open' });
  const user = await userWithPolicy('denied', [
    { Effect: 'Allow', Action: 'nlb:*', Resource: '*' },
    { Effect: 'Deny', Action: 'nlb:Get*', Resource: `acs:nlb:*:*:widget/${WidgetId}` },
  ]);
  const e = await callError(callApi(server, PROBE, 'GetWidget', { WidgetId }, user));
  assert.equal(e.code, 'Forbidden.NoPermission');
  assert.equal(e.data.AccessDeniedDetail.NoPermissionType, 'ExplicitDeny');
  // The same user may still read a widget the Deny does not name, and write.
  assert.equal((await callApi(server, PROBE, 'GetWidget', { WidgetId: other.WidgetId }, user)).Name, 'open');
  assert.match((await callApi(server, PROBE, 'CreateWidget', { Name: 'x' }, user)).WidgetId, /^wdg-/);
});

test('resource-level Allow covers only the named resource', async () => {
  const mine = await callApi(server, PROBE, 'CreateWidget', { Name: 'mine' });
  const theirs = await callApi(server, PROBE, 'CreateWidget', { Name: 'theirs' });
  const user = await userWithPolicy('scoped', [
    {
      Effect: 'Allow',
      Action: 'nlb:GetWidget',
      Resource: `acs:nlb:cn-hangzhou:${server.running.rootKey.accountId}:widget/${mine.WidgetId}`,
    },
  ]);
  assert.equal((await callApi(server, PROBE, 'GetWidget', { WidgetId: mine.WidgetId }, user)).Name, 'mine');
  assert.equal((await callError(callApi(server, PROBE, 'GetWidget', { WidgetId: theirs.WidgetId }, user))).code, 'Forbidden.NoPermission');
});

test('a disabled key is refused as unknown', async () => {
  const key = await userWithPolicy('disabled', [{ Effect: 'Allow', Action: '*', Resource: '*' }]);
  await ram.setAccessKeyStatus(key.accessKeyId, 'Inactive');
  assert.equal((await callError(callApi(server, NLB, 'DescribeRegions', {}, key))).code, 'InvalidAccessKeyId.NotFound');
});

// The gateway remembers keys and policies between calls; RAM changes must still take effect.

test('a key that was in use stops working on the next call once disabled or deleted', async () => {
  const key = await userWithPolicy('busy', [{ Effect: 'Allow', Action: '*', Resource: '*' }]);
  assert.equal((await callApi(server, NLB, 'DescribeRegions', {}, key)).Regions[0].RegionId, 'cn-hangzhou');
  // Another RamService on the same store, as the CLI in-process or an admin tool would use.
  const other = new RamService(server.running.store);
  await other.setAccessKeyStatus(key.accessKeyId, 'Inactive');
  assert.equal((await callError(callApi(server, NLB, 'DescribeRegions', {}, key))).code, 'InvalidAccessKeyId.NotFound');
  await other.setAccessKeyStatus(key.accessKeyId, 'Active');
  assert.equal((await callApi(server, NLB, 'DescribeRegions', {}, key)).Regions[0].RegionId, 'cn-hangzhou');
  await other.deleteAccessKey(key.accessKeyId);
  assert.equal((await callError(callApi(server, NLB, 'DescribeRegions', {}, key))).code, 'InvalidAccessKeyId.NotFound');
});

test('policy changes apply to the next call of a key already in use', async () => {
  const key = await userWithPolicy('shifting', [{ Effect: 'Allow', Action: 'nlb:Describe*', Resource: '*' }]);
  await callApi(server, NLB, 'DescribeRegions', {}, key);
  await ram.createPolicy(
    'shifting-deny',
    JSON.stringify({ Version: '1', Statement: [{ Effect: 'Deny', Action: 'nlb:DescribeRegions', Resource: '*' }] }),
  );
  await ram.attachPolicy('shifting-deny', 'shifting');
  const denied = await callError(callApi(server, NLB, 'DescribeRegions', {}, key));
  assert.equal(denied.code, 'Forbidden.NoPermission');
  assert.equal(denied.data.AccessDeniedDetail.NoPermissionType, 'ExplicitDeny');
  await ram.detachPolicy('shifting-deny', 'shifting');
  await callApi(server, NLB, 'DescribeRegions', {}, key);
  await ram.detachPolicy('shifting-policy', 'shifting');
  assert.equal(
    (await callError(callApi(server, NLB, 'DescribeRegions', {}, key))).data.AccessDeniedDetail.NoPermissionType,
    'ImplicitDeny',
  );
});

test('a key disabled by `openslb ram` in another process is refused within the cache bound', async () => {
  const key = await userWithPolicy('remote', [{ Effect: 'Allow', Action: '*', Resource: '*' }]);
  await callApi(server, NLB, 'DescribeRegions', {}, key);
  const cli = await runCli(['ram', '--data-dir', server.dataDir, 'key', 'disable', key.accessKeyId]);
  assert.equal(cli.code, 0, cli.stderr);
  // The other process cannot tell this one; the cached entry expires (1 s) and is read again.
  let code = '';
  for (let attempt = 0; attempt < 100 && code !== 'InvalidAccessKeyId.NotFound'; attempt++) {
    code = await callApi(server, NLB, 'DescribeRegions', {}, key).then(
      () => 'ok',
      (err: { code?: string }) => err.code ?? String(err),
    );
    if (code === 'ok') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(code, 'InvalidAccessKeyId.NotFound');
});
