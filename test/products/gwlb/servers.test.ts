import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.js';
import { NLB, callApi, startTestServer, type TestServer } from '../../support/server.js';
import { TWO_ZONES, addServers, appliances, createServerGroup, failure, group, groupStatus, gwlb, servers, until } from './support.js';

const clock = new ManualClock(Date.now());
let server: TestServer;
before(async () => {
  server = await startTestServer({
    clock,
    configure: (c) => {
      // The clock only moves when a test says so; keep the in-process node counted as live.
      c.jobs.nodeTimeoutMs = 365 * 24 * 3600 * 1000;
      c.regions[0].vpcs.push({
        id: 'vpc-other',
        cidr: '10.20.0.0/16',
        vSwitches: [{ id: 'vsw-other-a', zoneId: 'cn-hangzhou-a', vipPool: '10.20.1.0/24' }],
      });
    },
  });
});
after(() => server?.stop());

const call = (action: string, params: Record<string, unknown> = {}) => gwlb(server, action, params);
const fails = (action: string, params: Record<string, unknown> = {}) => failure(server, action, params);
const statuses = async (id: string) => (await servers(server, id)).map((s) => `${s.ServerId}:${s.Status}`);

test('appliances go Adding → Available while the group is Configuring; ServerCount follows', async () => {
  const id = await createServerGroup(server);
  await call('AddServersToServerGroup', { ServerGroupId: id, Servers: appliances('127.0.4.1', '127.0.4.2') });
  await until(() => groupStatus(server, id), 'Available');
  const list = await servers(server, id);
  assert.deepEqual(list, [
    { ServerGroupId: id, ServerId: '127.0.4.1', ServerIp: '127.0.4.1', ServerType: 'Ip', Port: 6081, Status: 'Available' },
    { ServerGroupId: id, ServerId: '127.0.4.2', ServerIp: '127.0.4.2', ServerType: 'Ip', Port: 6081, Status: 'Available' },
  ]);
  assert.equal((await group(server, id))?.ServerCount, 2);
});

test('instance appliances need ServerIp (OpenSLB keeps no ECS inventory) and an instance-style ID', async () => {
  const id = await createServerGroup(server, { ServerGroupType: 'Instance' });
  assert.equal(
    (await fails('AddServersToServerGroup', { ServerGroupId: id, Servers: [{ ServerId: 'i-abc', ServerType: 'Ecs' }] })).code,
    'MissingParam.IP',
  );
  const wrongId = await fails('AddServersToServerGroup', {
    ServerGroupId: id,
    Servers: [{ ServerId: 'eni-x', ServerType: 'Ecs', ServerIp: '127.0.4.9' }],
  });
  assert.deepEqual([wrongId.code, wrongId.status], ['ResourceNotFound.Ecs', 404]);
  await addServers(server, id, [
    { ServerId: 'i-appliance1', ServerType: 'Ecs', ServerIp: '127.0.4.10' },
    { ServerId: 'eni-appliance2', ServerType: 'Eni', ServerIp: '192.168.0.7', Port: 6081 },
    { ServerId: 'eci-appliance3', ServerType: 'eci', ServerIp: '100.64.0.3' },
  ]);
  assert.deepEqual(await statuses(id), ['i-appliance1:Available', 'eni-appliance2:Available', 'eci-appliance3:Available']);
  // One ENI may carry several addresses: another address is another appliance.
  await addServers(server, id, [{ ServerId: 'eni-appliance2', ServerType: 'Eni', ServerIp: '192.168.0.8' }]);
  assert.equal((await servers(server, id)).length, 4);
});

test('bad appliances are refused with the documented codes and change nothing', async () => {
  const ip = await createServerGroup(server, { ServerGroupType: 'Ip' });
  const inst = await createServerGroup(server, { ServerGroupType: 'Instance' });
  await addServers(server, ip, appliances('127.0.4.20'));
  const cases: Array<[string, Array<Record<string, unknown>>, string]> = [
    [ip, [], 'MissingParam.Servers'],
    [ip, [{ ServerType: 'Ip' }], 'MissingParam.Servers.ServerId'],
    [ip, [{ ServerId: '127.0.4.21' }], 'MissingParam.Servers.ServerType'],
    [ip, [{ ServerId: '127.0.4.21', ServerType: 'Vm' }], 'IllegalParam.Servers.ServerType'],
    [ip, [{ ServerId: '127.0.4.21', ServerType: 'Ip', Port: 6082 }], 'IllegalParam.Port'],
    [ip, [{ ServerId: '127.0.4.21', ServerType: 'Ecs', ServerIp: '127.0.4.21' }], 'Mismatch.ServerType'],
    [inst, [{ ServerId: '127.0.4.21', ServerType: 'Ip' }], 'Mismatch.ServerType'],
    [ip, [{ ServerId: '8.8.8.8', ServerType: 'Ip' }], 'IllegalParam.IP'],
    [ip, [{ ServerId: 'fd00::1', ServerType: 'Ip' }], 'IllegalParam.IP'],
    [ip, [{ ServerId: '127.0.4.21', ServerType: 'Ip', ServerIp: '127.0.4.22' }], 'IllegalParam.IP'],
    [inst, [{ ServerId: 'i-other', ServerType: 'Ecs', ServerIp: '10.20.0.5' }], 'Mismatch.VpcId'],
    [ip, appliances('127.0.4.21', '127.0.4.21'), 'DuplicatedParam.Server'],
    [ip, appliances('127.0.4.20'), 'DuplicatedParam.Server'],
    [
      inst,
      [
        { ServerId: 'i-1', ServerType: 'Ecs', ServerIp: '127.0.4.30' },
        { ServerId: 'i-2', ServerType: 'Ecs', ServerIp: '127.0.4.30' },
      ],
      'DuplicatedParam.Server',
    ],
    [ip, Array.from({ length: 201 }, (_, i) => ({ ServerId: `127.0.5.${i}`, ServerType: 'Ip' })), 'IllegalParamSize.Servers'],
  ];
  for (const [groupId, list, code] of cases) {
    const e = await fails('AddServersToServerGroup', { ServerGroupId: groupId, Servers: list });
    assert.equal(e.code, code, JSON.stringify(list).slice(0, 120));
    assert.ok(e.status < 500);
  }
  assert.deepEqual(await statuses(ip), ['127.0.4.20:Available']);
  assert.deepEqual(await statuses(inst), []);
  assert.equal(await groupStatus(server, ip), 'Available');

  // An Ip group may reach an appliance in another configured VPC.
  await addServers(server, ip, appliances('10.20.0.9'));
  const missing = await fails('AddServersToServerGroup', { ServerGroupId: 'sgp-missing', Servers: appliances('127.0.4.1') });
  assert.deepEqual([missing.code, missing.status], ['ResourceNotFound.ServerGroup', 404]);
});

test('an address already used — by another appliance of the group or by a load balancer VIP — is ResourceInUse.IP', async () => {
  const inst = await createServerGroup(server, { ServerGroupType: 'Instance' });
  await addServers(server, inst, [{ ServerId: 'i-first', ServerType: 'Ecs', ServerIp: '127.0.4.40' }]);
  const e = await fails('AddServersToServerGroup', {
    ServerGroupId: inst,
    Servers: [{ ServerId: 'i-second', ServerType: 'Ecs', ServerIp: '127.0.4.40' }],
  });
  assert.equal(e.code, 'ResourceInUse.IP');

  const { LoadbalancerId } = await callApi(server, NLB, 'CreateLoadBalancer', {
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: TWO_ZONES,
  });
  const nlb = await callApi(server, NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: LoadbalancerId }, { placement: 'query' });
  const vip = nlb.ZoneMappings[0].LoadBalancerAddresses[0].PrivateIPv4Address;
  const ip = await createServerGroup(server);
  assert.equal((await fails('AddServersToServerGroup', { ServerGroupId: ip, Servers: appliances(vip) })).code, 'ResourceInUse.IP');
  assert.deepEqual(await statuses(ip), []);
});

test('removal: without draining the appliance is gone once applied; unknown servers are 404', async () => {
  const id = await createServerGroup(server);
  await addServers(server, id, appliances('127.0.4.50', '127.0.4.51'));
  const dry = await fails('RemoveServersFromServerGroup', { ServerGroupId: id, Servers: appliances('127.0.4.50'), DryRun: true });
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal((await servers(server, id)).length, 2);

  await call('RemoveServersFromServerGroup', { ServerGroupId: id, Servers: appliances('127.0.4.50') });
  await until(() => groupStatus(server, id), 'Available');
  assert.deepEqual(await statuses(id), ['127.0.4.51:Available']);

  const e = await fails('RemoveServersFromServerGroup', { ServerGroupId: id, Servers: appliances('127.0.4.50') });
  assert.deepEqual([e.code, e.status], ['ResourceNotFound.BackendServer', 404]);
  const dup = await fails('RemoveServersFromServerGroup', { ServerGroupId: id, Servers: appliances('127.0.4.51', '127.0.4.51') });
  assert.equal(dup.code, 'DuplicatedParam.Server');
  assert.deepEqual(await statuses(id), ['127.0.4.51:Available']);
});

test('removal with draining: Draining until ConnectionDrainTimeout, re-adding rescues, then gone', async () => {
  const id = await createServerGroup(server, { ConnectionDrainConfig: { ConnectionDrainEnabled: true, ConnectionDrainTimeout: 60 } });
  await addServers(server, id, appliances('127.0.4.60', '127.0.4.61', '127.0.4.62'));
  await call('RemoveServersFromServerGroup', { ServerGroupId: id, Servers: appliances('127.0.4.60', '127.0.4.61') });
  await until(() => groupStatus(server, id), 'Available');
  assert.deepEqual(await statuses(id), ['127.0.4.60:Draining', '127.0.4.61:Draining', '127.0.4.62:Available']);

  // A draining appliance can be neither removed again nor let its group be deleted.
  assert.equal(
    (await fails('RemoveServersFromServerGroup', { ServerGroupId: id, Servers: appliances('127.0.4.60') })).code,
    'IncorrectStatus.BackendServer',
  );
  assert.equal((await fails('DeleteServerGroup', { ServerGroupId: id })).code, 'IncorrectStatus.BackendServer');

  await addServers(server, id, appliances('127.0.4.61'));
  assert.deepEqual(await statuses(id), ['127.0.4.60:Draining', '127.0.4.61:Available', '127.0.4.62:Available']);

  clock.advance(61_000);
  assert.deepEqual(await statuses(id), ['127.0.4.61:Available', '127.0.4.62:Available']);
  assert.equal((await group(server, id))?.ServerCount, 2);
  // Its address is free again.
  await addServers(server, id, appliances('127.0.4.60'));
  assert.deepEqual(await statuses(id), ['127.0.4.61:Available', '127.0.4.62:Available', '127.0.4.60:Available']);
});

test('the per-group appliance quota is gwlb_quota_servers_num', async () => {
  const s = await startTestServer({ configure: (c) => (c.quotas.gwlbServersPerServerGroup = 2) });
  try {
    const id = await createServerGroup(s);
    await addServers(s, id, appliances('127.0.4.70', '127.0.4.71'));
    const e = await failure(s, 'AddServersToServerGroup', { ServerGroupId: id, Servers: appliances('127.0.4.72') });
    assert.equal(e.code, 'QuotaExceeded.QuotaInsufficient');
    assert.match(e.message ?? '', /gwlb_quota_servers_num/);
  } finally {
    await s.stop();
  }
});

test('ListServerGroupServers filters by ID and IP, pages, and lists every group without ServerGroupId', async () => {
  const s = await startTestServer();
  try {
    const a = await createServerGroup(s);
    const b = await createServerGroup(s);
    await addServers(s, a, appliances('127.0.4.80', '127.0.4.81', '127.0.4.82'));
    await addServers(s, b, appliances('127.0.4.83'));
    const list = (params: Record<string, unknown>) => gwlb(s, 'ListServerGroupServers', params);
    const ips = (r: any) => r.Servers.map((x: any) => x.ServerIp);
    assert.deepEqual(ips(await list({ ServerGroupId: a, ServerIds: ['127.0.4.81'] })), ['127.0.4.81']);
    assert.deepEqual(ips(await list({ ServerGroupId: a, ServerIps: ['127.0.4.80', '127.0.4.82'] })), ['127.0.4.80', '127.0.4.82']);
    const first = await list({ ServerGroupId: a, MaxResults: 2 });
    assert.deepEqual([ips(first), first.TotalCount, first.MaxResults], [['127.0.4.80', '127.0.4.81'], 3, 2]);
    assert.deepEqual(ips(await list({ ServerGroupId: a, MaxResults: 2, NextToken: first.NextToken })), ['127.0.4.82']);
    assert.deepEqual(ips(await list({ ServerGroupId: a, Skip: 1, MaxResults: 1 })), ['127.0.4.81']);
    assert.equal((await list({})).TotalCount, 4);
    // An unknown (or deleted) group has no appliances: an empty page, not a 404 (Terraform's destroy waits for it).
    const none = await list({ ServerGroupId: 'sgp-none' });
    assert.deepEqual([none.Servers, none.TotalCount], [[], 0]);
  } finally {
    await s.stop();
  }
});
