import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';

let server: TestServer;
let lbA: string;
let lbB: string;
let group: string;
let policy: string;

function call(action: string, params: Record<string, unknown>) {
  return callApi(server, NLB, action, params);
}

async function code(action: string, params: Record<string, unknown>): Promise<string> {
  return (await callError(call(action, params))).code;
}

async function createLoadBalancer(name: string): Promise<string> {
  const { LoadbalancerId } = await call('CreateLoadBalancer', {
    LoadBalancerName: name,
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: [
      { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' },
      { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' },
    ],
  });
  return LoadbalancerId;
}

before(async () => {
  server = await startTestServer();
  lbA = await createLoadBalancer('tag-a');
  lbB = await createLoadBalancer('tag-b');
  const sg = await call('CreateServerGroup', { ServerGroupName: 'tagged-group', VpcId: 'vpc-local' });
  group = sg.ServerGroupId;
  await waitForJob(server, sg.JobId);
  const sp = await call('CreateSecurityPolicy', {
    SecurityPolicyName: 'tagged-policy',
    TlsVersions: ['TLSv1.2'],
    Ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'],
  });
  policy = sp.SecurityPolicyId;
  await waitForJob(server, sp.JobId);
});
after(() => server?.stop());

function listTags(params: Record<string, unknown>) {
  return call('ListTagResources', params);
}

const pairs = (reply: Record<string, any>) => reply.TagResources.map((r: any) => [r.ResourceId, r.TagKey, r.TagValue]);

test('tags added to load balancers show in Get (TagKey/TagValue), List (Key/Value) and ListTagResources', async () => {
  await call('TagResources', {
    ResourceType: 'loadbalancer',
    ResourceId: [lbA, lbB],
    Tag: [
      { Key: 'env', Value: 'prod' },
      { Key: 'owner', Value: 'ops' },
    ],
  });
  // Tagging again overwrites a value, and an empty value is allowed.
  await call('TagResources', { ResourceType: 'loadbalancer', ResourceId: [lbB], Tag: [{ Key: 'env', Value: 'dev' }, { Key: 'flag' }] });

  const a = await callApi(server, NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: lbA }, { placement: 'query' });
  assert.deepEqual(a.Tags, [
    { TagKey: 'env', TagValue: 'prod' },
    { TagKey: 'owner', TagValue: 'ops' },
  ]);
  const listed = await callApi(server, NLB, 'ListLoadBalancers', { LoadBalancerIds: [lbB] }, { placement: 'query' });
  assert.deepEqual(listed.LoadBalancers[0].Tags, [
    { Key: 'env', Value: 'dev' },
    { Key: 'flag', Value: '' },
    { Key: 'owner', Value: 'ops' },
  ]);

  const all = await listTags({ ResourceType: 'loadbalancer' });
  assert.equal(all.TotalCount, 5);
  assert.equal(all.MaxResults, 50);
  const row = all.TagResources[0];
  assert.equal(row.ResourceType, 'loadbalancer');
  assert.equal(row.RegionNo, 'cn-hangzhou');
  assert.equal(row.Category, 'Custom');

  assert.deepEqual(pairs(await listTags({ ResourceType: 'loadbalancer', ResourceId: [lbA] })), [
    [lbA, 'env', 'prod'],
    [lbA, 'owner', 'ops'],
  ]);
  const dev = await listTags({ ResourceType: 'loadbalancer', Tag: [{ Key: 'env', Value: 'dev' }] });
  assert.deepEqual([...new Set(dev.TagResources.map((r: any) => r.ResourceId))], [lbB]);
  const byKey = await listTags({ ResourceType: 'loadbalancer', Tag: [{ Key: 'flag' }] });
  assert.deepEqual([...new Set(byKey.TagResources.map((r: any) => r.ResourceId))], [lbB]);

  const page1 = await listTags({ ResourceType: 'loadbalancer', MaxResults: 2 });
  assert.equal(page1.TagResources.length, 2);
  const page2 = await listTags({ ResourceType: 'loadbalancer', MaxResults: 2, NextToken: page1.NextToken });
  const page3 = await listTags({ ResourceType: 'loadbalancer', MaxResults: 2, NextToken: page2.NextToken });
  assert.deepEqual([...pairs(page1), ...pairs(page2), ...pairs(page3)], pairs(all));
  assert.ok(!page3.NextToken);
});

test('server groups, security policies and listeners are tagged by their own resource type', async () => {
  await call('TagResources', { ResourceType: 'servergroup', ResourceId: [group], Tag: [{ Key: 'tier', Value: 'web' }] });
  await call('TagResources', { ResourceType: 'securitypolicy', ResourceId: [policy], Tag: [{ Key: 'tier', Value: 'tls' }] });
  assert.deepEqual(pairs(await listTags({ ResourceType: 'servergroup' })), [[group, 'tier', 'web']]);
  assert.deepEqual(pairs(await listTags({ ResourceType: 'securitypolicy' })), [[policy, 'tier', 'tls']]);
  // A load balancer is not a server group.
  assert.equal(
    await code('TagResources', { ResourceType: 'servergroup', ResourceId: [lbA], Tag: [{ Key: 'k', Value: 'v' }] }),
    'ResourceNotFound.serverGroup',
  );
  assert.equal(
    await code('TagResources', { ResourceType: 'securitypolicy', ResourceId: ['tls-missing'], Tag: [{ Key: 'k', Value: 'v' }] }),
    'ResourceNotFound.securitypolicy',
  );
  assert.equal(
    await code('TagResources', { ResourceType: 'listener', ResourceId: ['lsn-missing@80'], Tag: [{ Key: 'k', Value: 'v' }] }),
    'ResourceNotFound.listener',
  );
});

test('UntagResources removes named keys, or every tag', async () => {
  await call('UntagResources', { ResourceType: 'loadbalancer', ResourceId: [lbB], TagKey: ['flag', 'absent'] });
  assert.deepEqual(pairs(await listTags({ ResourceType: 'loadbalancer', ResourceId: [lbB] })), [
    [lbB, 'env', 'dev'],
    [lbB, 'owner', 'ops'],
  ]);
  await call('UntagResources', { ResourceType: 'loadbalancer', ResourceId: [lbB], All: true });
  assert.deepEqual(pairs(await listTags({ ResourceType: 'loadbalancer', ResourceId: [lbB] })), []);
  // Without TagKey the cloud removes all tags too.
  await call('UntagResources', { ResourceType: 'loadbalancer', ResourceId: [lbA] });
  assert.deepEqual(pairs(await listTags({ ResourceType: 'loadbalancer', ResourceId: [lbA] })), []);
});

test('bad tag requests are refused and change nothing', async () => {
  await call('TagResources', { ResourceType: 'loadbalancer', ResourceId: [lbA], Tag: [{ Key: 'keep', Value: 'me' }] });
  const tag = [{ Key: 'k', Value: 'v' }];
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['TagResources', { ResourceType: 'vpc', ResourceId: [lbA], Tag: tag }, 'IllegalParam.resourceType'],
    ['TagResources', { ResourceType: 'loadbalancer', ResourceId: [lbA, 'nlb-missing'], Tag: tag }, 'ResourceNotFound.loadBalancer'],
    ['TagResources', { ResourceType: 'loadbalancer', ResourceId: [lbA] }, 'MissingParam.Tag'],
    ['TagResources', { ResourceType: 'loadbalancer', Tag: tag }, 'MissingParam.ResourceId'],
    ['TagResources', { ResourceId: [lbA], Tag: tag }, 'MissingParam.ResourceType'],
    [
      'TagResources',
      { ResourceType: 'loadbalancer', ResourceId: Array.from({ length: 51 }, () => lbA), Tag: tag },
      'IllegalParamSize.ResourceId',
    ],
    [
      'TagResources',
      { ResourceType: 'loadbalancer', ResourceId: [lbA], Tag: Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) },
      'IllegalParamSize.Tag',
    ],
    ['TagResources', { ResourceType: 'loadbalancer', ResourceId: [lbA], Tag: [{ Key: 'acs:x', Value: 'v' }] }, 'IllegalParam.TagKey'],
    ['TagResources', { ResourceType: 'loadbalancer', ResourceId: [lbA], Tag: [{ Key: 'k', Value: 'http://x' }] }, 'IllegalParam.TagValue'],
    [
      'TagResources',
      { ResourceType: 'loadbalancer', ResourceId: [lbA], Tag: [{ Key: 'k'.repeat(65), Value: 'v' }] },
      'IllegalParam.TagKey',
    ],
    ['TagResources', { ResourceType: 'loadbalancer', ResourceId: [lbA], Tag: tag, DryRun: true }, 'DryRunOperation'],
    ['UntagResources', { ResourceType: 'loadbalancer', ResourceId: ['nlb-missing'], All: true }, 'ResourceNotFound.loadBalancer'],
    ['UntagResources', { ResourceType: 'loadbalancer', ResourceId: [lbA], All: true, DryRun: true }, 'DryRunOperation'],
    ['ListTagResources', { ResourceType: 'eip' }, 'IllegalParam.resourceType'],
    ['ListTagResources', {}, 'MissingParam.ResourceType'],
    ['ListTagResources', { ResourceType: 'loadbalancer', MaxResults: 51 }, 'IllegalParam.MaxResults'],
    ['ListTagResources', { ResourceType: 'loadbalancer', ResourceId: ['nlb-missing'] }, 'ResourceNotFound.loadBalancer'],
  ];
  for (const [action, params, expected] of cases) {
    assert.equal(await code(action, params), expected, `${action} ${JSON.stringify(params).slice(0, 80)}`);
  }
  assert.deepEqual(pairs(await listTags({ ResourceType: 'loadbalancer', ResourceId: [lbA] })), [[lbA, 'keep', 'me']]);
});

test('MoveResourceGroup moves a load balancer, server group or security policy', async () => {
  const reply = await call('MoveResourceGroup', {
    ResourceType: 'loadbalancer',
    ResourceId: lbA,
    NewResourceGroupId: 'rg-aekzjcnrv3vvqhq',
  });
  assert.equal(reply.Success, true);
  assert.equal(reply.HttpStatusCode, 200);
  assert.deepEqual(reply.Data, { ResourceId: lbA });
  const moved = await callApi(server, NLB, 'ListLoadBalancers', { ResourceGroupId: 'rg-aekzjcnrv3vvqhq' }, { placement: 'query' });
  assert.deepEqual(
    moved.LoadBalancers.map((lb: any) => lb.LoadBalancerId),
    [lbA],
  );

  await call('MoveResourceGroup', { ResourceType: 'servergroup', ResourceId: group, NewResourceGroupId: 'rg-aekzjcnrv3vvqhq' });
  const groups = await call('ListServerGroups', { ServerGroupIds: [group] });
  assert.equal(groups.ServerGroups[0].ResourceGroupId, 'rg-aekzjcnrv3vvqhq');
  await call('MoveResourceGroup', { ResourceType: 'securitypolicy', ResourceId: policy, NewResourceGroupId: 'rg-aekzjcnrv3vvqhq' });
  const policies = await call('ListSecurityPolicy', { SecurityPolicyIds: [policy] });
  assert.equal(policies.SecurityPolicies[0].ResourceGroupId, 'rg-aekzjcnrv3vvqhq');

  const cases: Array<[Record<string, unknown>, string, number]> = [
    [{ ResourceType: 'listener', ResourceId: 'lsn-x', NewResourceGroupId: 'rg-abcdef' }, 'IllegalParam.resourceType', 400],
    [{ ResourceType: 'loadbalancer', ResourceId: 'nlb-missing', NewResourceGroupId: 'rg-abcdef' }, 'ResourceNotFound.loadBalancer', 404],
    [{ ResourceType: 'servergroup', ResourceId: 'sgp-missing', NewResourceGroupId: 'rg-abcdef' }, 'ResourceNotFound.serverGroup', 404],
    [{ ResourceType: 'loadbalancer', ResourceId: lbA, NewResourceGroupId: 'group-9' }, 'ResourceNotFound.ResourceGroup', 404],
    [{ ResourceType: 'loadbalancer', ResourceId: lbA }, 'MissingParam.NewResourceGroupId', 400],
  ];
  for (const [params, expected, status] of cases) {
    const e = await callError(call('MoveResourceGroup', params));
    assert.equal(e.code, expected);
    assert.equal(e.statusCode, status);
  }
});
