/**
 * RAM authorization of GWLB actions: `gwlb:<Action>` on the ARNs of the authorization tables
 * (`acs:gwlb:{regionId}:{accountId}:loadbalancer|listener|servergroup/{id}`, `…/*` for the
 * resource a create call makes). A RAM user's key is refused with Forbidden.NoPermission (403)
 * and an AccessDeniedDetail that names the action and the first ARN not granted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RamService } from '../../../src/accounts/ram-service.js';
import { NLB, callApi, callError, startTestServer, type TestServer } from '../../support/server.js';
import {
  TWO_ZONES,
  appliances,
  createListener,
  createLoadBalancer,
  createServerGroup,
  gwlb,
  group,
  lbStatus,
  listenerStatus,
  until,
} from './support.js';

let server: TestServer;
let account: string;
let ram: RamService;
before(async () => {
  server = await startTestServer({
    configure: (c) => {
      // Own VIP pools: a Running GWLB listener holds UDP 6081 on its VIPs.
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = '127.0.43.0/24';
      b.vipPool = '127.0.44.0/24';
    },
  });
  account = server.running.rootKey.accountId;
  ram = new RamService(server.running.store);
});
after(() => server?.stop());

const arnOf = (type: string, id: string) => `acs:gwlb:cn-hangzhou:${account}:${type}/${id}`;

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
}

let users = 0;
/** A fresh RAM user holding exactly these statements; returns its key as call options. */
async function userWith(...statements: Statement[]) {
  const name = `gwlb-ram-${++users}`;
  await ram.createUser(name);
  await ram.createPolicy(`${name}-policy`, JSON.stringify({ Version: '1', Statement: statements }));
  await ram.attachPolicy(`${name}-policy`, name);
  const key = await ram.createAccessKey(name);
  return { accessKeyId: key.accessKeyId, accessKeySecret: key.secret };
}

type Creds = Awaited<ReturnType<typeof userWith>>;

/** The refusal: code, status and what AccessDeniedDetail names. */
async function denied(creds: Creds, action: string, params: Record<string, unknown>) {
  const e = await callError(gwlb(server, action, params, creds));
  const detail = e.data?.AccessDeniedDetail ?? {};
  return { code: e.code, status: e.statusCode, action: detail.AuthAction, resource: detail.AuthResource, type: detail.NoPermissionType };
}

function assertDenied(got: Awaited<ReturnType<typeof denied>>, action: string, resource: string) {
  assert.deepEqual(got, { code: 'Forbidden.NoPermission', status: 403, action: `gwlb:${action}`, resource, type: 'ImplicitDeny' });
}

describe('load balancer actions', () => {
  test('per-instance ARNs; creating needs loadbalancer/*; listing needs "*"', async () => {
    const mine = await createLoadBalancer(server);
    const theirs = await createLoadBalancer(server);
    const user = await userWith({
      Effect: 'Allow',
      Action: [
        'gwlb:GetLoadBalancerAttribute',
        'gwlb:UpdateLoadBalancerAttribute',
        'gwlb:UpdateLoadBalancerZones',
        'gwlb:DeleteLoadBalancer',
      ],
      Resource: arnOf('loadbalancer', mine),
    });

    assert.equal((await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: mine }, user)).LoadBalancerId, mine);
    for (const [action, extra] of [
      ['GetLoadBalancerAttribute', {}],
      ['UpdateLoadBalancerAttribute', { LoadBalancerName: 'stolen' }],
      ['UpdateLoadBalancerZones', { ZoneMappings: [TWO_ZONES[0]] }],
      ['DeleteLoadBalancer', {}],
    ] as const) {
      assertDenied(await denied(user, action, { LoadBalancerId: theirs, ...extra }), action, arnOf('loadbalancer', theirs));
    }
    assert.equal(await lbStatus(server, theirs), 'Active', 'a refused call changes nothing');
    assert.equal((await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: theirs })).ZoneMappings.length, 2);

    assertDenied(
      await denied(user, 'CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES }),
      'CreateLoadBalancer',
      arnOf('loadbalancer', '*'),
    );
    assertDenied(await denied(user, 'ListLoadBalancers', {}), 'ListLoadBalancers', '*');

    await gwlb(server, 'UpdateLoadBalancerAttribute', { LoadBalancerId: mine, LoadBalancerName: 'mine-renamed' }, user);
    await until(() => lbStatus(server, mine), 'Active');
    await gwlb(server, 'DeleteLoadBalancer', { LoadBalancerId: mine }, user);
    assert.equal(await lbStatus(server, mine), undefined);
  });

  test('wildcards in action and ARN grant; an explicit Deny wins; nlb: statements do not cover gwlb:', async () => {
    const lb = await createLoadBalancer(server);
    const creator = await userWith({ Effect: 'Allow', Action: 'gwlb:*', Resource: 'acs:gwlb:*:*:loadbalancer/*' });
    const { LoadBalancerId } = await gwlb(server, 'CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES }, creator);
    await until(() => lbStatus(server, LoadBalancerId), 'Active');
    assert.equal((await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: lb }, creator)).LoadBalancerId, lb);
    // loadbalancer/* is not a server group.
    assertDenied(await denied(creator, 'CreateServerGroup', { VpcId: 'vpc-local' }), 'CreateServerGroup', arnOf('servergroup', '*'));

    const fenced = await userWith(
      { Effect: 'Allow', Action: 'gwlb:*', Resource: '*' },
      { Effect: 'Deny', Action: 'gwlb:DeleteLoadBalancer', Resource: arnOf('loadbalancer', lb) },
    );
    const e = await denied(fenced, 'DeleteLoadBalancer', { LoadBalancerId: lb });
    assert.deepEqual([e.code, e.status, e.resource, e.type], ['Forbidden.NoPermission', 403, arnOf('loadbalancer', lb), 'ExplicitDeny']);
    assert.equal(await lbStatus(server, lb), 'Active');
    assert.ok((await gwlb(server, 'ListLoadBalancers', {}, fenced)).TotalCount >= 2);

    const nlbOnly = await userWith({ Effect: 'Allow', Action: 'nlb:*', Resource: '*' });
    assert.equal((await denied(nlbOnly, 'GetLoadBalancerAttribute', { LoadBalancerId: lb })).code, 'Forbidden.NoPermission');
    assert.ok(Array.isArray((await callApi(server, NLB, 'ListLoadBalancers', {}, { placement: 'query', ...nlbOnly })).LoadBalancers));
  });
});

describe('listener actions', () => {
  test('per-listener ARNs; re-pointing a listener also needs the new server group', async () => {
    const sg = await createServerGroup(server);
    const sg2 = await createServerGroup(server);
    const mine = await createListener(server, { LoadBalancerId: await createLoadBalancer(server), ServerGroupId: sg });
    const theirs = await createListener(server, { LoadBalancerId: await createLoadBalancer(server), ServerGroupId: sg });
    const user = await userWith({
      Effect: 'Allow',
      Action: ['gwlb:GetListenerAttribute', 'gwlb:UpdateListenerAttribute', 'gwlb:DeleteListener', 'gwlb:GetListenerHealthStatus'],
      Resource: arnOf('listener', mine),
    });

    assert.equal((await gwlb(server, 'GetListenerAttribute', { ListenerId: mine }, user)).ListenerId, mine);
    assert.equal((await gwlb(server, 'GetListenerHealthStatus', { ListenerId: mine }, user)).ListenerHealthStatus[0].ListenerId, mine);
    for (const [action, extra] of [
      ['GetListenerAttribute', {}],
      ['GetListenerHealthStatus', {}],
      ['UpdateListenerAttribute', { ListenerDescription: 'stolen' }],
      ['DeleteListener', {}],
    ] as const) {
      assertDenied(await denied(user, action, { ListenerId: theirs, ...extra }), action, arnOf('listener', theirs));
    }
    assert.equal(await listenerStatus(server, theirs), 'Running');

    // The description alone needs only the listener; a new ServerGroupId needs that group too.
    await gwlb(server, 'UpdateListenerAttribute', { ListenerId: mine, ListenerDescription: 'renamed' }, user);
    await until(() => listenerStatus(server, mine), 'Running');
    assertDenied(
      await denied(user, 'UpdateListenerAttribute', { ListenerId: mine, ServerGroupId: sg2 }),
      'UpdateListenerAttribute',
      arnOf('servergroup', sg2),
    );
    assert.equal((await gwlb(server, 'GetListenerAttribute', { ListenerId: mine })).ServerGroupId, sg);

    assertDenied(await denied(user, 'ListListeners', {}), 'ListListeners', '*');
    await gwlb(server, 'DeleteListener', { ListenerId: mine }, user);
    await until(() => listenerStatus(server, mine), undefined);
  });

  test('gwlb:CreateListener without listener/* is refused on that ARN', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server);
    const user = await userWith({
      Effect: 'Allow',
      Action: 'gwlb:CreateListener',
      Resource: [arnOf('loadbalancer', lb), arnOf('servergroup', sg)],
    });
    assertDenied(await denied(user, 'CreateListener', { LoadBalancerId: lb, ServerGroupId: sg }), 'CreateListener', arnOf('listener', '*'));
    const missingLb = await userWith({
      Effect: 'Allow',
      Action: 'gwlb:CreateListener',
      Resource: [arnOf('servergroup', sg), arnOf('listener', '*')],
    });
    assertDenied(
      await denied(missingLb, 'CreateListener', { LoadBalancerId: lb, ServerGroupId: sg }),
      'CreateListener',
      arnOf('loadbalancer', lb),
    );
    assert.equal((await gwlb(server, 'ListListeners', { LoadBalancerIds: [lb] })).TotalCount, 0);
  });
});

describe('server group actions', () => {
  test('creating needs servergroup/*; appliance and delete actions are per servergroup ARN', async () => {
    const theirs = await createServerGroup(server);
    const user = await userWith(
      { Effect: 'Allow', Action: 'gwlb:CreateServerGroup', Resource: arnOf('servergroup', '*') },
      { Effect: 'Allow', Action: 'gwlb:ListServerGroups', Resource: '*' },
    );
    const { ServerGroupId: mine } = await gwlb(server, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupType: 'Ip' }, user);
    await until(async () => (await group(server, mine))?.ServerGroupStatus, 'Available');
    assert.equal((await gwlb(server, 'ListServerGroups', { ServerGroupIds: [mine] }, user)).ServerGroups[0].ServerGroupId, mine);

    const member = await userWith({
      Effect: 'Allow',
      Action: [
        'gwlb:AddServersToServerGroup',
        'gwlb:RemoveServersFromServerGroup',
        'gwlb:ListServerGroupServers',
        'gwlb:DeleteServerGroup',
      ],
      Resource: arnOf('servergroup', mine),
    });
    await gwlb(server, 'AddServersToServerGroup', { ServerGroupId: mine, Servers: appliances('127.0.43.200') }, member);
    await until(async () => (await group(server, mine))?.ServerGroupStatus, 'Available');
    assert.equal((await gwlb(server, 'ListServerGroupServers', { ServerGroupId: mine }, member)).Servers.length, 1);
    for (const [action, extra] of [
      ['AddServersToServerGroup', { Servers: appliances('127.0.43.201') }],
      ['RemoveServersFromServerGroup', { Servers: appliances('127.0.43.201') }],
      ['ListServerGroupServers', {}],
      ['DeleteServerGroup', {}],
    ] as const) {
      assertDenied(await denied(member, action, { ServerGroupId: theirs, ...extra }), action, arnOf('servergroup', theirs));
    }
    // Listing every group's appliances (no ServerGroupId) is not per resource.
    assertDenied(await denied(member, 'ListServerGroupServers', {}), 'ListServerGroupServers', '*');
    assert.equal((await group(server, theirs))!.ServerCount, 0);

    await gwlb(server, 'RemoveServersFromServerGroup', { ServerGroupId: mine, Servers: appliances('127.0.43.200') }, member);
    await until(async () => (await group(server, mine))?.ServerGroupStatus, 'Available');
    await gwlb(server, 'DeleteServerGroup', { ServerGroupId: mine }, member);
    assert.equal(await group(server, mine), undefined);
  });
});

describe('tag and resource group actions', () => {
  test('every listed resource must be granted, under the type the call names', async () => {
    const sg = await createServerGroup(server);
    const other = await createServerGroup(server);
    const user = await userWith({
      Effect: 'Allow',
      Action: ['gwlb:TagResources', 'gwlb:UntagResources', 'gwlb:MoveResourceGroup'],
      Resource: arnOf('servergroup', sg),
    });
    const tag = [{ Key: 'team', Value: 'sec' }];
    await gwlb(server, 'TagResources', { ResourceType: 'servergroup', ResourceId: [sg], Tag: tag }, user);
    assertDenied(
      await denied(user, 'TagResources', { ResourceType: 'servergroup', ResourceId: [sg, other], Tag: tag }),
      'TagResources',
      arnOf('servergroup', other),
    );
    assert.deepEqual((await group(server, other))!.Tags, []);
    assertDenied(
      await denied(user, 'UntagResources', { ResourceType: 'servergroup', ResourceId: [other], All: true }),
      'UntagResources',
      arnOf('servergroup', other),
    );
    assertDenied(
      await denied(user, 'MoveResourceGroup', { ResourceType: 'servergroup', ResourceId: other, NewResourceGroupId: 'rg-aekzram0001' }),
      'MoveResourceGroup',
      arnOf('servergroup', other),
    );
    await gwlb(server, 'MoveResourceGroup', { ResourceType: 'servergroup', ResourceId: sg, NewResourceGroupId: 'rg-aekzram0001' }, user);
    assert.equal((await group(server, sg))!.ResourceGroupId, 'rg-aekzram0001');
    // ListTagResources has no resource-level authorization.
    assertDenied(await denied(user, 'ListTagResources', { ResourceType: 'servergroup' }), 'ListTagResources', '*');
  });
});
