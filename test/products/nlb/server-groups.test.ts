/** Server groups as an SDK user sees them: create, list (every filter), update, delete. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import openApiCore from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import { RamService } from '../../../src/accounts/ram-service.js';
import { insertResource } from '../../../src/products/common/resources.js';
import type { ListenerDoc } from '../../../src/domain/nlb-documents.js';
import { ManualClock } from '../../../src/util/clock.js';
import {
  NLB,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
  callApi,
  callError,
  startTestServer,
  waitForJob,
  type TestServer,
} from '../../support/server.js';
import { startSlowServer } from '../../support/slow-server.js';

const { $OpenApiUtil } = openApiCore;
const OpenApi = openApiCore.default;

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
});

async function createGroup(params: Record<string, unknown> = {}): Promise<string> {
  const r = await callApi(server, NLB, 'CreateServerGroup', { ServerGroupName: 'web', VpcId: 'vpc-local', ...params });
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
  return r.ServerGroupId as string;
}

async function describeGroup(id: string, target: TestServer = server): Promise<Record<string, any>> {
  const r = await callApi(target, NLB, 'ListServerGroups', { ServerGroupIds: [id] });
  assert.equal(r.ServerGroups.length, 1);
  return r.ServerGroups[0];
}

async function groupCount(): Promise<number> {
  return (await callApi(server, NLB, 'ListServerGroups', { MaxResults: 100 })).TotalCount as number;
}

/** Listener rows belong to the listener family; tests place them directly, as it would store them. */
async function placeListener(target: TestServer, fields: Partial<ListenerDoc> & { ServerGroupId: string }): Promise<string> {
  const id = `lsn-test${Math.random().toString(36).slice(2, 12)}`;
  await target.running.store.mutate((tx, revision) =>
    insertResource(
      tx,
      {
        id,
        product: 'nlb',
        kind: 'listener',
        regionId: 'cn-hangzhou',
        status: 'Running',
        body: { LoadBalancerId: 'nlb-test0000000000000001', ListenerProtocol: 'TCP', ListenerPort: 80, ...fields } as ListenerDoc,
      },
      { now: Date.now(), revision },
    ),
  );
  return id;
}

async function removeListener(target: TestServer, id: string): Promise<void> {
  await target.running.store.mutate((tx) => tx.deleteFrom('resources').where('id', '=', id).execute());
}

/** ListServerGroups as the generated SDK sends it: Tag in the query string, the rest in the body. */
async function listServerGroupsMixed(query: Record<string, unknown>, body: Record<string, unknown>) {
  const client = new OpenApi(
    new $OpenApiUtil.Config({
      accessKeyId: TEST_ACCESS_KEY_ID,
      accessKeySecret: TEST_ACCESS_KEY_SECRET,
      endpoint: `${server.host}:${server.port}`,
      protocol: 'http',
      regionId: 'cn-hangzhou',
    }),
  );
  const request = new $OpenApiUtil.OpenApiRequest({
    query: $OpenApiUtil.default.query(query) as Record<string, string>,
    body: $OpenApiUtil.default.query(body) as Record<string, string>,
  });
  const params = new $OpenApiUtil.Params({
    action: 'ListServerGroups',
    version: NLB,
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const result = await client.callApi(params, request, new $dara.RuntimeOptions({}));
  return result.body as Record<string, any>;
}

test('a new group is Creating, becomes Available through its job, and lists with the documented defaults', async () => {
  const r = await callApi(server, NLB, 'CreateServerGroup', { ServerGroupName: 'defaults', VpcId: 'vpc-local' });
  assert.match(r.ServerGroupId, /^sgp-[a-z0-9]{20}$/);
  assert.match(r.JobId, /^[0-9a-f-]{36}$/);
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');

  const g = await describeGroup(r.ServerGroupId);
  assert.equal(g.ServerGroupStatus, 'Available');
  assert.equal(g.ServerGroupName, 'defaults');
  assert.equal(g.ServerGroupType, 'Instance');
  assert.equal(g.Protocol, 'TCP');
  assert.equal(g.Scheduler, 'Wrr');
  assert.equal(g.AddressIPVersion, 'ipv4');
  assert.equal(g.AnyPortEnabled, false);
  assert.equal(g.PreserveClientIpEnabled, true);
  assert.equal(g.ConnectionDrainEnabled, false);
  assert.equal(g.ConnectionDrainTimeout, 10);
  assert.equal(g.VpcId, 'vpc-local');
  assert.equal(g.RegionId, 'cn-hangzhou');
  assert.match(g.ResourceGroupId, /^rg-/);
  assert.equal(g.ServerCount, 0);
  assert.deepEqual(g.RelatedLoadBalancerIds, []);
  assert.equal(g.ListenerCount, 0);
  assert.deepEqual(g.Tags, []);
  assert.deepEqual(g.HealthCheck, {
    HealthCheckEnabled: true,
    HealthCheckType: 'TCP',
    HealthCheckConnectPort: 0,
    HealthCheckConnectTimeout: 5,
    HealthCheckInterval: 5,
    HealthyThreshold: 2,
    UnhealthyThreshold: 2,
    HealthCheckHttpCode: [],
  });
});

test('every documented option is stored and answered as the client spelled it (Terraform sends `Rr`, reads back `Rr`)', async () => {
  const id = await createGroup({
    ServerGroupName: 'udp.quic_group-1',
    ServerGroupType: 'Ip',
    Protocol: 'UDP',
    Scheduler: 'QCH',
    ConnectionDrainEnabled: true,
    ConnectionDrainTimeout: 900,
    PreserveClientIpEnabled: false,
    ResourceGroupId: 'rg-aek2abc123',
    IpVersionAffinityMode: 'Default',
    Tag: [{ Key: 'env', Value: 'test' }],
  });
  const g = await describeGroup(id);
  assert.equal(g.ServerGroupType, 'Ip');
  assert.equal(g.Protocol, 'UDP');
  assert.equal(g.Scheduler, 'QCH');
  assert.equal(g.ConnectionDrainEnabled, true);
  assert.equal(g.ConnectionDrainTimeout, 900);
  assert.equal(g.PreserveClientIpEnabled, false);
  assert.equal(g.ResourceGroupId, 'rg-aek2abc123');
  assert.equal(g.IpVersionAffinityMode, 'Default');
  assert.deepEqual(g.Tags, [{ Key: 'env', Value: 'test' }]);

  for (const given of ['wrr', 'WLC', 'Rr', 'Sch', 'Tch']) {
    const gid = await createGroup({ ServerGroupName: `sched-${given}`, Scheduler: given });
    assert.equal((await describeGroup(gid)).Scheduler, given);
    await callApi(server, NLB, 'DeleteServerGroup', { ServerGroupId: gid });
  }
  // Not sent: the documented default and spelling.
  const plain = await createGroup({ ServerGroupName: 'sched-default' });
  const d = await describeGroup(plain);
  assert.equal(d.Scheduler, 'Wrr');
  assert.equal(d.AddressIPVersion, 'ipv4');
  const ipv4 = await describeGroup(await createGroup({ ServerGroupName: 'sched-ipv4', AddressIPVersion: 'Ipv4' }));
  assert.equal(ipv4.AddressIPVersion, 'Ipv4');
});

test('a DualStack group keeps client IP preservation off and refuses to turn it on', async () => {
  const id = await createGroup({ ServerGroupName: 'dual', AddressIPVersion: 'DualStack' });
  const g = await describeGroup(id);
  assert.equal(g.AddressIPVersion, 'DualStack');
  assert.equal(g.PreserveClientIpEnabled, false);
  const e = await callError(
    callApi(server, NLB, 'CreateServerGroup', {
      ServerGroupName: 'dual2',
      VpcId: 'vpc-local',
      AddressIPVersion: 'DualStack',
      PreserveClientIpEnabled: true,
    }),
  );
  assert.equal(e.code, 'IllegalParam.PreserveClientIpSwitch');
  const u = await callError(callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: id, PreserveClientIpEnabled: true }));
  assert.equal(u.code, 'IllegalParam.PreserveClientIpSwitch');
  await callApi(server, NLB, 'DeleteServerGroup', { ServerGroupId: id });
});

test('bad create requests are refused with the reference codes and create nothing', async () => {
  const before = await groupCount();
  const cases: Array<[Record<string, unknown>, string, number?]> = [
    [{ VpcId: 'vpc-local' }, 'MissingParam.ServerGroupName'],
    [{ ServerGroupName: 'ok-name' }, 'MissingParam.VpcId'],
    [{ ServerGroupName: '1starts-with-digit', VpcId: 'vpc-local' }, 'IllegalParam.ServerGroupName'],
    [{ ServerGroupName: 'x', VpcId: 'vpc-local' }, 'IllegalParam.ServerGroupName'],
    [{ ServerGroupName: 'has space', VpcId: 'vpc-local' }, 'IllegalParam.ServerGroupName'],
    [{ ServerGroupName: `a${'b'.repeat(128)}`, VpcId: 'vpc-local' }, 'IllegalParam.ServerGroupName'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-nowhere' }, 'ResourceNotFound.Vpc', 404],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', Scheduler: 'random' }, 'IllegalParam.Scheduler'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', Scheduler: 'qch' }, 'IllegalParam.Scheduler'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', Protocol: 'TCP_UDP', Scheduler: 'qch' }, 'IllegalParam.Scheduler'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', Protocol: 'HTTP' }, 'IllegalParam.Protocol'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', ServerGroupType: 'Ecs' }, 'IllegalParam.ServerGroupType'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', AddressIPVersion: 'ipv6' }, 'IllegalParam.AddressIPVersion'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', ConnectionDrainTimeout: 901 }, 'IllegalParam.ConnectionDrainTimeout'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', ConnectionDrainTimeout: -1 }, 'IllegalParam.ConnectionDrainTimeout'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', AnyPortEnabled: 'maybe' }, 'IllegalParam.AnyPortEnabled'],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', ResourceGroupId: 'not-a-group' }, 'ResourceNotFound.ResourceGroup', 404],
    [{ ServerGroupName: 'ok', VpcId: 'vpc-local', Tag: [{ Key: 'aliyun:x', Value: 'v' }] }, 'IllegalParam.TagKey'],
    [
      {
        ServerGroupName: 'ok',
        VpcId: 'vpc-local',
        Tag: [
          { Key: 'k', Value: '1' },
          { Key: 'k', Value: '2' },
        ],
      },
      'DuplicatedParam.TagKey',
    ],
  ];
  for (const [params, code, status] of cases) {
    const e = await callError(callApi(server, NLB, 'CreateServerGroup', params));
    assert.equal(e.code, code, JSON.stringify(params));
    assert.equal(e.statusCode, status ?? 400, code);
  }
  assert.equal(await groupCount(), before);
});

test('DryRun validates fully, answers DryRunOperation and creates nothing', async () => {
  const before = await groupCount();
  const ok = await callError(callApi(server, NLB, 'CreateServerGroup', { ServerGroupName: 'dry', VpcId: 'vpc-local', DryRun: true }));
  assert.equal(ok.code, 'DryRunOperation');
  const bad = await callError(callApi(server, NLB, 'CreateServerGroup', { ServerGroupName: 'dry', VpcId: 'vpc-x', DryRun: true }));
  assert.equal(bad.code, 'ResourceNotFound.Vpc');
  assert.equal(await groupCount(), before);
});

test('the per-region server group quota is enforced', async () => {
  const quotaServer = await startTestServer({ configure: (c) => (c.quotas.nlbServerGroups = 2) });
  try {
    for (const name of ['one', 'two']) {
      await callApi(quotaServer, NLB, 'CreateServerGroup', { ServerGroupName: name, VpcId: 'vpc-local' });
    }
    const e = await callError(callApi(quotaServer, NLB, 'CreateServerGroup', { ServerGroupName: 'three', VpcId: 'vpc-local' }));
    assert.equal(e.code, 'QuotaExceeded.QuotaInsufficient');
    assert.match(e.data.Message, /usage 2\/2/);
  } finally {
    await quotaServer.stop();
  }
});

test('UpdateServerGroupAttribute changes only what was sent and goes Configuring → Available', async () => {
  const id = await createGroup({
    ServerGroupName: 'to-update',
    ConnectionDrainEnabled: true,
    ConnectionDrainTimeout: 30,
    HealthCheckConfig: { HealthCheckConnectTimeout: 7 },
  });
  const r = await callApi(server, NLB, 'UpdateServerGroupAttribute', {
    ServerGroupId: id,
    ServerGroupName: 'renamed',
    Scheduler: 'sch',
    HealthCheckConfig: { HealthCheckType: 'HTTP', HealthCheckUrl: '/healthz?ready=1', HealthCheckInterval: 3 },
  });
  assert.equal(r.ServerGroupId, id);
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
  const g = await describeGroup(id);
  assert.equal(g.ServerGroupStatus, 'Available');
  assert.equal(g.ServerGroupName, 'renamed');
  assert.equal(g.Scheduler, 'sch');
  assert.equal(g.ConnectionDrainEnabled, true);
  assert.equal(g.ConnectionDrainTimeout, 30);
  assert.equal(g.HealthCheck.HealthCheckType, 'HTTP');
  assert.equal(g.HealthCheck.HealthCheckUrl, '/healthz?ready=1');
  assert.equal(g.HealthCheck.HealthCheckInterval, 3);
  assert.equal(g.HealthCheck.HealthCheckConnectTimeout, 7, 'unsent health-check fields keep their values');

  const e = await callError(callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: id, Scheduler: 'qch' }));
  assert.equal(e.code, 'IllegalParam.Scheduler');
  const missing = await callError(callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: 'sgp-doesnotexist000000' }));
  assert.equal(missing.code, 'ResourceNotFound.serverGroup');
  assert.equal(missing.statusCode, 404);
  const noId = await callError(callApi(server, NLB, 'UpdateServerGroupAttribute', { Scheduler: 'rr' }));
  assert.equal(noId.code, 'MissingParam.ServerGroupId');
});

test('client IP preservation cannot be switched on while a TCPSSL listener uses the group', async () => {
  const id = await createGroup({ ServerGroupName: 'tls-backends', PreserveClientIpEnabled: false });
  const listenerId = await placeListener(server, { ServerGroupId: id, ListenerProtocol: 'TCPSSL', ListenerPort: 443 });
  const e = await callError(callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: id, PreserveClientIpEnabled: true }));
  assert.equal(e.code, 'IllegalParam.PreserveClientIpSwitch');
  assert.equal((await describeGroup(id)).PreserveClientIpEnabled, false);
  await removeListener(server, listenerId);
  const r = await callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: id, PreserveClientIpEnabled: true });
  await waitForJob(server, r.JobId);
  assert.equal((await describeGroup(id)).PreserveClientIpEnabled, true);
});

test('a group used by a listener cannot be deleted; once free it is deleted and gone', async () => {
  const id = await createGroup({ ServerGroupName: 'in-use' });
  const listenerId = await placeListener(server, { ServerGroupId: id, LoadBalancerId: 'nlb-aaaaaaaaaaaaaaaaaaaa' });
  const secondLb = await placeListener(server, { ServerGroupId: id, LoadBalancerId: 'nlb-bbbbbbbbbbbbbbbbbbbb', ListenerPort: 82 });
  const g = await describeGroup(id);
  assert.deepEqual(g.RelatedLoadBalancerIds.sort(), ['nlb-aaaaaaaaaaaaaaaaaaaa', 'nlb-bbbbbbbbbbbbbbbbbbbb']);
  assert.equal(g.ListenerCount, 2);

  const e = await callError(callApi(server, NLB, 'DeleteServerGroup', { ServerGroupId: id }));
  assert.equal(e.code, 'ResourceInUse.ServerGroup');
  assert.equal((await describeGroup(id)).ServerGroupStatus, 'Available');

  await removeListener(server, listenerId);
  await removeListener(server, secondLb);
  const dry = await callError(callApi(server, NLB, 'DeleteServerGroup', { ServerGroupId: id, DryRun: true }));
  assert.equal(dry.code, 'DryRunOperation');
  await describeGroup(id);

  const r = await callApi(server, NLB, 'DeleteServerGroup', { ServerGroupId: id });
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
  const list = await callApi(server, NLB, 'ListServerGroups', { ServerGroupIds: [id] });
  assert.deepEqual(list.ServerGroups, []);
  const again = await callError(callApi(server, NLB, 'DeleteServerGroup', { ServerGroupId: id }));
  assert.equal(again.code, 'ResourceNotFound.serverGroup');
  assert.equal(again.statusCode, 404);
});

test('ListServerGroups filters by IDs, names, type, VPC, resource group and tags, and pages', async () => {
  const tag = `t${Date.now()}`;
  const a = await createGroup({ ServerGroupName: 'flt-a', ServerGroupType: 'Ip', Tag: [{ Key: tag, Value: 'a' }] });
  const b = await createGroup({ ServerGroupName: 'flt-b', ResourceGroupId: 'rg-filter01', Tag: [{ Key: tag, Value: 'b' }] });
  const c = await createGroup({ ServerGroupName: 'flt-c', ServerGroupType: 'Ip', ResourceGroupId: 'rg-filter01' });

  const ids = (r: Record<string, any>) => r.ServerGroups.map((g: any) => g.ServerGroupId).sort();
  assert.deepEqual(ids(await callApi(server, NLB, 'ListServerGroups', { ServerGroupIds: [a, c] })), [a, c].sort());
  assert.deepEqual(ids(await callApi(server, NLB, 'ListServerGroups', { ServerGroupNames: ['flt-b', 'flt-c'] })), [b, c].sort());
  assert.deepEqual(
    ids(await callApi(server, NLB, 'ListServerGroups', { ServerGroupIds: [a, b, c], ServerGroupType: 'Ip' })),
    [a, c].sort(),
  );
  assert.deepEqual(ids(await callApi(server, NLB, 'ListServerGroups', { ResourceGroupId: 'rg-filter01' })), [b, c].sort());
  assert.deepEqual(ids(await callApi(server, NLB, 'ListServerGroups', { ServerGroupIds: [a, b], VpcId: 'vpc-local' })), [a, b].sort());
  assert.deepEqual(ids(await callApi(server, NLB, 'ListServerGroups', { ServerGroupIds: [a, b], VpcId: 'vpc-other' })), []);

  // As the SDK sends it: Tag in the query, other filters in the body.
  assert.deepEqual(ids(await listServerGroupsMixed({ Tag: [{ Key: tag }] }, { MaxResults: 50 })), [a, b].sort());
  const byValue = await listServerGroupsMixed({ Tag: [{ Key: tag, Value: 'b' }] }, { ServerGroupType: 'Instance' });
  assert.deepEqual(ids(byValue), [b]);
  assert.equal(byValue.TotalCount, 1);

  // Paging: two per page until NextToken is empty.
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await callApi(server, NLB, 'ListServerGroups', {
      ServerGroupIds: [a, b, c],
      MaxResults: 2,
      ...(token ? { NextToken: token } : {}),
    });
    assert.equal(page.MaxResults, 2);
    assert.equal(page.TotalCount, 3);
    seen.push(...page.ServerGroups.map((g: any) => g.ServerGroupId));
    token = page.NextToken || undefined;
    pages++;
  } while (token);
  assert.equal(pages, 2);
  assert.deepEqual(seen, [a, b, c]);

  assert.equal((await callApi(server, NLB, 'ListServerGroups', {})).MaxResults, 20);
  const e1 = await callError(callApi(server, NLB, 'ListServerGroups', { MaxResults: 101 }));
  assert.equal(e1.code, 'IllegalParam.MaxResults');
  const e2 = await callError(callApi(server, NLB, 'ListServerGroups', { NextToken: 'garbage' }));
  assert.equal(e2.code, 'IllegalParam.NextToken');
  const e3 = await callError(
    callApi(server, NLB, 'ListServerGroups', { ServerGroupIds: Array.from({ length: 21 }, (_, i) => `sgp-${i}`) }),
  );
  assert.equal(e3.code, 'IllegalParamSize.ServerGroupIds');
  const e4 = await callError(callApi(server, NLB, 'ListServerGroups', { ServerGroupType: 'Other' }));
  assert.equal(e4.code, 'IllegalParam.ServerGroupType');
});

test('a RAM user allowed on one server group can change it and no other', async () => {
  const mine = await createGroup({ ServerGroupName: 'ram-mine' });
  const theirs = await createGroup({ ServerGroupName: 'ram-theirs' });
  const ram = new RamService(server.running.store);
  await ram.createUser('sg-operator');
  const arn = `acs:nlb:cn-hangzhou:${server.running.rootKey.accountId}:servergroup/${mine}`;
  await ram.createPolicy(
    'sg-operator-policy',
    JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'nlb:UpdateServerGroupAttribute', Resource: arn }] }),
  );
  await ram.attachPolicy('sg-operator-policy', 'sg-operator');
  const key = await ram.createAccessKey('sg-operator');
  const creds = { accessKeyId: key.accessKeyId, accessKeySecret: key.secret };

  const ok = await callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: mine, ServerGroupName: 'ram-renamed' }, creds);
  await waitForJob(server, ok.JobId);
  const e = await callError(callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: theirs, ServerGroupName: 'nope' }, creds));
  assert.equal(e.code, 'Forbidden.NoPermission');
  assert.equal(e.data.AccessDeniedDetail.AuthResource, arn.replace(mine, theirs));
  assert.equal((await describeGroup(theirs)).ServerGroupName, 'ram-theirs');
});

test('changes to a group that is not Available are refused with IncorrectStatus.serverGroup', async () => {
  const clock = new ManualClock(Date.now());
  const slow = await startSlowServer({ clock });
  try {
    const r = await callApi(slow, NLB, 'CreateServerGroup', { ServerGroupName: 'slow', VpcId: 'vpc-local' });
    assert.equal((await describeGroup(r.ServerGroupId, slow)).ServerGroupStatus, 'Creating');
    for (const [action, extra] of [
      ['UpdateServerGroupAttribute', { Scheduler: 'rr' }],
      ['DeleteServerGroup', {}],
    ] as const) {
      const e = await callError(callApi(slow, NLB, action, { ServerGroupId: r.ServerGroupId, ...extra }));
      assert.equal(e.code, 'IncorrectStatus.serverGroup', action);
    }
    clock.advance(60_000);
    assert.equal(await waitForJob(slow, r.JobId), 'Succeeded');

    const u = await callApi(slow, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: r.ServerGroupId, Scheduler: 'rr' });
    const g = await describeGroup(r.ServerGroupId, slow);
    assert.equal(g.ServerGroupStatus, 'Configuring');
    assert.equal(g.Scheduler, 'rr');
    const e = await callError(callApi(slow, NLB, 'DeleteServerGroup', { ServerGroupId: r.ServerGroupId }));
    assert.equal(e.code, 'IncorrectStatus.serverGroup');
    clock.advance(60_000);
    assert.equal(await waitForJob(slow, u.JobId), 'Succeeded');
    assert.equal((await describeGroup(r.ServerGroupId, slow)).ServerGroupStatus, 'Available');
  } finally {
    await slow.stop();
  }
});
