import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RamService } from '../../../src/accounts/ram-service.js';
import { ManualClock } from '../../../src/util/clock.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { appliances, createListener, createLoadBalancer, createServerGroup, failure, group, groupStatus, gwlb, until } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server?.stop());

const call = (action: string, params: Record<string, unknown> = {}) => gwlb(server, action, params);
const fails = (action: string, params: Record<string, unknown> = {}) => failure(server, action, params);

/** The group as ListServerGroups shows it; failing the test when it is not listed. */
async function listedGroup(id: string): Promise<Record<string, any>> {
  const listed = await group(server, id);
  assert.ok(listed, `server group ${id} is listed`);
  return listed;
}

test('a new group is Creating, then Available, with the documented defaults', async () => {
  const { ServerGroupId } = await call('CreateServerGroup', {
    VpcId: 'vpc-local',
    ServerGroupName: 'sg-defaults',
    Tag: [{ Key: 'k', Value: 'v' }],
  });
  assert.match(ServerGroupId, /^sgp-[a-z0-9]{20}$/);
  await until(() => groupStatus(server, ServerGroupId), 'Available');
  const g = await listedGroup(ServerGroupId);
  assert.equal(g.ServerGroupName, 'sg-defaults');
  assert.equal(g.ServerGroupType, 'Instance');
  assert.equal(g.Protocol, 'GENEVE');
  assert.equal(g.Scheduler, '5TCH');
  assert.equal(g.ServerFailoverMode, 'NoRebalance');
  assert.equal(g.VpcId, 'vpc-local');
  assert.equal(g.ServerCount, 0);
  assert.deepEqual(g.RelatedLoadBalancerIds, []);
  assert.match(g.ResourceGroupId, /^rg-/);
  assert.match(g.CreateTime, /Z$/);
  assert.deepEqual(g.HealthCheckConfig, {
    HealthCheckEnabled: true,
    HealthCheckProtocol: 'TCP',
    HealthCheckConnectPort: 80,
    HealthCheckConnectTimeout: 5,
    HealthCheckInterval: 10,
    HealthyThreshold: 2,
    UnhealthyThreshold: 2,
    HealthCheckDomain: '$SERVER_IP',
    HealthCheckPath: '/',
    HealthCheckHttpCode: ['http_2xx'],
  });
  assert.deepEqual(g.ConnectionDrainConfig, { ConnectionDrainEnabled: false, ConnectionDrainTimeout: 300 });
  assert.deepEqual(g.Tags, [{ Key: 'k', Value: 'v' }]);
});

test('every documented setting is stored: Ip type, 2TCH, Rebalance, HTTP checks, draining', async () => {
  const id = await createServerGroup(server, {
    ServerGroupType: 'Ip',
    Protocol: 'geneve',
    Scheduler: '2tch',
    ServerFailoverMode: 'Rebalance',
    HealthCheckConfig: {
      HealthCheckProtocol: 'HTTP',
      HealthCheckConnectPort: 8080,
      HealthCheckConnectTimeout: 300,
      HealthCheckInterval: 50,
      HealthyThreshold: 10,
      UnhealthyThreshold: 3,
      HealthCheckDomain: 'probe.example.com',
      HealthCheckPath: '/health?full=1&x=[a]',
      HealthCheckHttpCode: ['http_2xx', 'http_3xx'],
    },
    ConnectionDrainConfig: { ConnectionDrainEnabled: true, ConnectionDrainTimeout: 3600 },
  });
  const g = await listedGroup(id);
  assert.equal(g.ServerGroupType, 'Ip');
  assert.equal(g.Protocol, 'GENEVE');
  assert.equal(g.Scheduler, '2TCH');
  assert.equal(g.ServerFailoverMode, 'Rebalance');
  assert.equal(g.HealthCheckConfig.HealthCheckProtocol, 'HTTP');
  assert.equal(g.HealthCheckConfig.HealthCheckConnectPort, 8080);
  assert.equal(g.HealthCheckConfig.HealthCheckInterval, 50);
  assert.equal(g.HealthCheckConfig.HealthCheckDomain, 'probe.example.com');
  assert.equal(g.HealthCheckConfig.HealthCheckPath, '/health?full=1&x=[a]');
  assert.deepEqual(g.HealthCheckConfig.HealthCheckHttpCode, ['http_2xx', 'http_3xx']);
  assert.deepEqual(g.ConnectionDrainConfig, { ConnectionDrainEnabled: true, ConnectionDrainTimeout: 3600 });
});

test('out-of-range and unknown settings are refused and create nothing', async () => {
  const before = (await call('ListServerGroups', { MaxResults: 1000 })).TotalCount;
  const hc = (cfg: Record<string, unknown>) => ({ VpcId: 'vpc-local', HealthCheckConfig: cfg });
  const cases: Array<[Record<string, unknown>, string]> = [
    [{}, 'MissingParam.VpcId'],
    [{ VpcId: 'vpc-unknown' }, 'ResourceNotFound.Vpc'],
    [{ VpcId: 'vpc-local', Protocol: 'UDP' }, 'IllegalParam.Protocol'],
    [{ VpcId: 'vpc-local', Scheduler: 'Wrr' }, 'IllegalParam.Scheduler'],
    [{ VpcId: 'vpc-local', ServerGroupType: 'Ecs' }, 'IllegalParam.ServerGroupType'],
    [{ VpcId: 'vpc-local', ServerFailoverMode: 'Sometimes' }, 'IllegalParam.ServerFailoverMode'],
    [{ VpcId: 'vpc-local', ServerGroupName: '9lives' }, 'IllegalParam.ServerGroupName'],
    [{ VpcId: 'vpc-local', ResourceGroupId: 'nope' }, 'ResourceNotFound.ResourceGroup'],
    [hc({ HealthCheckProtocol: 'UDP' }), 'IllegalParam.HealthCheckProtocol'],
    [hc({ HealthCheckConnectPort: -1 }), 'IllegalParam.HealthCheckConnectPort'],
    [hc({ HealthCheckConnectPort: 65536 }), 'IllegalParam.HealthCheckConnectPort'],
    [hc({ HealthCheckConnectTimeout: 301 }), 'IllegalParam.HealthCheckConnectTimeout'],
    [hc({ HealthCheckInterval: -5 }), 'IllegalParam.HealthCheckInterval'],
    [hc({ HealthCheckInterval: 51 }), 'IllegalParam.HealthCheckInterval'],
    [hc({ HealthyThreshold: 1 }), 'IllegalParam.HealthyThreshold'],
    [hc({ UnhealthyThreshold: 11 }), 'IllegalParam.UnhealthyThreshold'],
    [hc({ HealthCheckDomain: 'bad domain' }), 'IllegalParam.HealthCheckDomain'],
    [hc({ HealthCheckPath: 'no-slash' }), 'IllegalParam.HealthCheckPath'],
    [hc({ HealthCheckPath: `/${'a'.repeat(80)}` }), 'IllegalParam.HealthCheckPath'],
    [hc({ HealthCheckHttpCode: ['http_6xx'] }), 'IllegalParam.HealthCheckHttpCode'],
    [hc({ HealthCheckEnabled: 'maybe' }), 'IllegalParam.HealthCheckEnabled'],
    [{ VpcId: 'vpc-local', ConnectionDrainConfig: { ConnectionDrainTimeout: -1 } }, 'IllegalParam.ConnectionDrainTimeout'],
    [{ VpcId: 'vpc-local', ConnectionDrainConfig: { ConnectionDrainTimeout: 3601 } }, 'IllegalParam.ConnectionDrainTimeout'],
    [{ VpcId: 'vpc-local', Tag: [{ Key: 'k', Value: 'https://x' }] }, 'IllegalParam.TagValue'],
  ];
  for (const [params, code] of cases) {
    const e = await fails('CreateServerGroup', params);
    assert.equal(e.code, code, JSON.stringify(params));
    assert.ok(e.status < 500);
  }
  assert.equal((await call('ListServerGroups', { MaxResults: 1000 })).TotalCount, before);
  const dry = await fails('CreateServerGroup', { VpcId: 'vpc-local', DryRun: true });
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal((await call('ListServerGroups', { MaxResults: 1000 })).TotalCount, before);
});

test('an update changes only what was sent, via Configuring back to Available', async () => {
  const id = await createServerGroup(server, { ServerGroupName: 'sg-update', HealthCheckConfig: { HealthCheckConnectPort: 9000 } });
  await call('UpdateServerGroupAttribute', {
    ServerGroupId: id,
    Scheduler: '3TCH',
    HealthCheckConfig: { HealthCheckProtocol: 'HTTP', HealthCheckPath: '/ready' },
    ConnectionDrainConfig: { ConnectionDrainEnabled: true },
  });
  await until(() => groupStatus(server, id), 'Available');
  const g = await listedGroup(id);
  assert.equal(g.ServerGroupName, 'sg-update');
  assert.equal(g.Scheduler, '3TCH');
  assert.equal(g.HealthCheckConfig.HealthCheckProtocol, 'HTTP');
  assert.equal(g.HealthCheckConfig.HealthCheckPath, '/ready');
  assert.equal(g.HealthCheckConfig.HealthCheckConnectPort, 9000);
  assert.deepEqual(g.ConnectionDrainConfig, { ConnectionDrainEnabled: true, ConnectionDrainTimeout: 300 });

  const bad = await fails('UpdateServerGroupAttribute', { ServerGroupId: id, HealthCheckConfig: { HealthyThreshold: 11 } });
  assert.equal(bad.code, 'IllegalParam.HealthyThreshold');
  const dry = await fails('UpdateServerGroupAttribute', { ServerGroupId: id, ServerGroupName: 'dry-run', DryRun: true });
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal((await listedGroup(id)).ServerGroupName, 'sg-update');
});

test('a group a listener uses cannot be deleted; RelatedLoadBalancerIds names the GWLB', async () => {
  const lb = await createLoadBalancer(server);
  const id = await createServerGroup(server);
  const listener = await createListener(server, { LoadBalancerId: lb, ServerGroupId: id });
  assert.deepEqual((await listedGroup(id)).RelatedLoadBalancerIds, [lb]);
  const e = await fails('DeleteServerGroup', { ServerGroupId: id });
  assert.equal(e.code, 'ResourceInUse.ServerGroup');
  assert.equal(await groupStatus(server, id), 'Available');

  await call('DeleteListener', { ListenerId: listener });
  // The listener stays visible (Deleting) until the data plane has let it go.
  const gone = () =>
    call('GetListenerAttribute', { ListenerId: listener }).then(
      () => 'still there',
      (e: { code?: string }) => e.code,
    );
  await until(gone, 'ResourceNotFound.Listener');
  const dry = await fails('DeleteServerGroup', { ServerGroupId: id, DryRun: true });
  assert.equal(dry.code, 'DryRunOperation');
  assert.deepEqual(Object.keys(await call('DeleteServerGroup', { ServerGroupId: id })), ['RequestId']);
  assert.equal(await group(server, id), undefined);
  assert.deepEqual(
    [(await fails('DeleteServerGroup', { ServerGroupId: id })).code, (await fails('DeleteServerGroup', { ServerGroupId: id })).status],
    ['ResourceNotFound.ServerGroup', 404],
  );
});

test('a scheduler other than 5TCH is refused while a listener uses a non-default TCP idle timeout', async () => {
  const lb = await createLoadBalancer(server);
  const id = await createServerGroup(server);
  await createListener(server, { LoadBalancerId: lb, ServerGroupId: id, TcpIdleTimeout: 900 });
  const e = await fails('UpdateServerGroupAttribute', { ServerGroupId: id, Scheduler: '3TCH' });
  assert.equal(e.code, 'OperationDenied.TcpIdleTimeoutConflictWithScheduler');
  assert.equal((await listedGroup(id)).Scheduler, '5TCH');
});

test('ListServerGroups filters and pages', async () => {
  const s = await startTestServer();
  try {
    const a = await createServerGroup(s, { ServerGroupName: 'filter-a', ServerGroupType: 'Instance', Tag: [{ Key: 't', Value: '1' }] });
    const b = await createServerGroup(s, { ServerGroupName: 'filter-b' });
    const c = await createServerGroup(s, { ServerGroupName: 'filter-c', Tag: [{ Key: 't', Value: '1' }] });
    const list = (params: Record<string, unknown>) => gwlb(s, 'ListServerGroups', params);
    const ids = (r: any) => r.ServerGroups.map((g: any) => g.ServerGroupId);
    assert.deepEqual(ids(await list({})), [a, b, c]);
    assert.deepEqual(ids(await list({ ServerGroupNames: ['filter-b'] })), [b]);
    assert.deepEqual(ids(await list({ ServerGroupType: 'Ip' })), [b, c]);
    assert.deepEqual(ids(await list({ Tag: [{ Key: 't', Value: '1' }] })), [a, c]);
    assert.deepEqual(ids(await list({ VpcId: 'vpc-local', ServerGroupIds: [c, a] })), [a, c]);
    const first = await list({ MaxResults: 2 });
    assert.deepEqual([ids(first), first.TotalCount], [[a, b], 3]);
    assert.deepEqual(ids(await list({ MaxResults: 2, NextToken: first.NextToken })), [c]);
    assert.deepEqual(ids(await list({ Skip: 2 })), [c]);
    assert.equal(
      (await failure(s, 'ListServerGroups', { ServerGroupIds: Array.from({ length: 21 }, (_, i) => `sgp-${i}`) })).code,
      'IllegalParamSize.ServerGroupIds',
    );
  } finally {
    await s.stop();
  }
});

test('a group that is not Available refuses changes with IncorrectStatus.ServerGroup', async () => {
  const clock = new ManualClock(Date.now());
  const slow = await startTestServer({
    clock,
    configure: (c) => {
      c.jobs.extraDelayMs = 60_000;
      c.jobs.nodeTimeoutMs = 365 * 24 * 3600 * 1000;
    },
  });
  try {
    const { ServerGroupId } = await gwlb(slow, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupType: 'Ip' });
    assert.equal(await groupStatus(slow, ServerGroupId), 'Creating');
    for (const [action, extra] of [
      ['UpdateServerGroupAttribute', { Scheduler: '3TCH' }],
      ['DeleteServerGroup', {}],
      ['AddServersToServerGroup', { Servers: appliances('127.0.4.1') }],
      ['RemoveServersFromServerGroup', { Servers: appliances('127.0.4.1') }],
    ] as const) {
      assert.equal((await failure(slow, action, { ServerGroupId, ...extra })).code, 'IncorrectStatus.ServerGroup', action);
    }
    clock.advance(60_000);
    await until(() => groupStatus(slow, ServerGroupId), 'Available');
    await gwlb(slow, 'AddServersToServerGroup', { ServerGroupId, Servers: appliances('127.0.4.1') });
    assert.equal(await groupStatus(slow, ServerGroupId), 'Configuring');
    assert.equal((await failure(slow, 'DeleteServerGroup', { ServerGroupId })).code, 'IncorrectStatus.ServerGroup');
    clock.advance(60_000);
    await until(() => groupStatus(slow, ServerGroupId), 'Available');
  } finally {
    await slow.stop();
  }
});

test('the server group quota is gwlb_quota_servergroups_num', async () => {
  const s = await startTestServer({ configure: (c) => (c.quotas.gwlbServerGroups = 1) });
  try {
    await createServerGroup(s);
    const e = await failure(s, 'CreateServerGroup', { VpcId: 'vpc-local' });
    assert.equal(e.code, 'QuotaExceeded.QuotaInsufficient');
    assert.match(e.message ?? '', /gwlb_quota_servergroups_num/);
  } finally {
    await s.stop();
  }
});

test('RAM: gwlb:UpdateServerGroupAttribute is granted per servergroup ARN', async () => {
  const mine = await createServerGroup(server, { ServerGroupName: 'ram-mine' });
  const theirs = await createServerGroup(server, { ServerGroupName: 'ram-theirs' });
  const ram = new RamService(server.running.store);
  await ram.createUser('gwlb-sg-operator');
  const arn = `acs:gwlb:cn-hangzhou:${server.running.rootKey.accountId}:servergroup/${mine}`;
  await ram.createPolicy(
    'gwlb-sg-policy',
    JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'gwlb:UpdateServerGroupAttribute', Resource: arn }] }),
  );
  await ram.attachPolicy('gwlb-sg-policy', 'gwlb-sg-operator');
  const key = await ram.createAccessKey('gwlb-sg-operator');
  const creds = { accessKeyId: key.accessKeyId, accessKeySecret: key.secret };
  await gwlb(server, 'UpdateServerGroupAttribute', { ServerGroupId: mine, ServerGroupName: 'ram-renamed' }, creds);
  const e = await failure(server, 'UpdateServerGroupAttribute', { ServerGroupId: theirs, ServerGroupName: 'nope' }, creds);
  assert.deepEqual([e.code, e.status], ['Forbidden.NoPermission', 403]);
  await until(() => groupStatus(server, mine), 'Available');
  assert.equal((await listedGroup(mine)).ServerGroupName, 'ram-renamed');
  assert.equal((await listedGroup(theirs)).ServerGroupName, 'ram-theirs');
});
