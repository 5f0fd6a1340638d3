/**
 * CreateListener as the seed documents it (every parameter, rule and error code a self-hosted
 * GWLB can meet), and the other listener operations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RamService } from '../../../src/accounts/ram-service.js';
import { ManualClock } from '../../../src/util/clock.js';
import { NLB, callApi, startTestServer, type TestServer } from '../../support/server.js';
import {
  TWO_ZONES,
  addServers,
  appliances,
  createListener,
  createLoadBalancer,
  createServerGroup,
  failure,
  group,
  groupStatus,
  gwlb,
  lbStatus,
  listenerStatus,
  until,
} from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({
    configure: (c) => {
      c.regions[0].vpcs.push({
        id: 'vpc-other',
        cidr: '10.30.0.0/16',
        vSwitches: [
          { id: 'vsw-other-a', zoneId: 'cn-hangzhou-a', vipPool: '10.30.1.0/24' },
          { id: 'vsw-other-b', zoneId: 'cn-hangzhou-b', vipPool: '10.30.2.0/24' },
        ],
      });
    },
  });
});
after(() => server?.stop());

const call = (action: string, params: Record<string, unknown> = {}) => gwlb(server, action, params);
const fails = (action: string, params: Record<string, unknown> = {}) => failure(server, action, params);
const listenersOf = async (lb: string) => (await call('ListListeners', { LoadBalancerIds: [lb] })).Listeners;

describe('CreateListener', () => {
  test('creates the listener: Provisioning, then Running, with every documented field', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server);
    const { ListenerId, RequestId } = await call('CreateListener', {
      LoadBalancerId: lb,
      ServerGroupId: sg,
      ListenerDescription: 'inspection;path/one@zone_a-1,中文.',
      TcpIdleTimeout: 900,
      Tag: [{ Key: 'testKey', Value: 'testValue' }],
      ClientToken: '123e4567-e89b-12d3-a456-42665544abcd',
    });
    assert.match(ListenerId, /^lsn-[a-z0-9]{20}$/);
    assert.match(RequestId, /^[0-9A-F-]{36}$/);
    assert.ok(['Provisioning', 'Running'].includes((await listenerStatus(server, ListenerId))!));
    await until(() => listenerStatus(server, ListenerId), 'Running');

    const attrs = await call('GetListenerAttribute', { ListenerId });
    assert.deepEqual(attrs, {
      RequestId: attrs.RequestId,
      ListenerId,
      ListenerDescription: 'inspection;path/one@zone_a-1,中文.',
      ListenerStatus: 'Running',
      LoadBalancerId: lb,
      ServerGroupId: sg,
      TcpIdleTimeout: 900,
      Tags: [{ Key: 'testKey', Value: 'testValue' }],
      RegionId: 'cn-hangzhou',
    });
    // The same ClientToken replays the answer instead of tripping over the one-listener rule.
    const replay = await call('CreateListener', {
      LoadBalancerId: lb,
      ServerGroupId: sg,
      ListenerDescription: 'inspection;path/one@zone_a-1,中文.',
      TcpIdleTimeout: 900,
      Tag: [{ Key: 'testKey', Value: 'testValue' }],
      ClientToken: '123e4567-e89b-12d3-a456-42665544abcd',
    });
    assert.equal(replay.ListenerId, ListenerId);
  });

  test('TcpIdleTimeout defaults to 350 and may be 60–6000', async () => {
    const sg = await createServerGroup(server);
    const lb = await createLoadBalancer(server);
    const id = await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg });
    assert.equal((await call('GetListenerAttribute', { ListenerId: id })).TcpIdleTimeout, 350);
    for (const bad of [59, 6001, 'x']) {
      const e = await fails('CreateListener', { LoadBalancerId: await createLoadBalancer(server), ServerGroupId: sg, TcpIdleTimeout: bad });
      assert.equal(e.code, 'IllegalParam.TcpIdleTimeout');
    }
  });

  test('OperationDenied.TooManyListeners: one listener per GWLB', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server);
    await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg });
    const e = await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: sg });
    assert.deepEqual([e.code, e.status], ['OperationDenied.TooManyListeners', 400]);
    assert.equal((await listenersOf(lb)).length, 1);
  });

  test('OperationDenied.TcpIdleTimeoutConflictWithScheduler: a non-default timeout needs 5TCH', async () => {
    for (const scheduler of ['3TCH', '2TCH']) {
      const sg = await createServerGroup(server, { Scheduler: scheduler });
      const lb = await createLoadBalancer(server);
      const e = await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: sg, TcpIdleTimeout: 600 });
      assert.equal(e.code, 'OperationDenied.TcpIdleTimeoutConflictWithScheduler');
      assert.match(e.message ?? '', /must be default value/);
      // The default timeout is fine with any scheduler.
      await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg, TcpIdleTimeout: 350 });
    }
  });

  test('ResourceNotFound.LoadBalancer and ResourceNotFound.ServerGroup are 404', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server);
    assert.deepEqual(Object.values(await fails('CreateListener', { LoadBalancerId: 'gwlb-none', ServerGroupId: sg })).slice(0, 2), [
      'ResourceNotFound.LoadBalancer',
      404,
    ]);
    assert.deepEqual(Object.values(await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: 'sgp-none' })).slice(0, 2), [
      'ResourceNotFound.ServerGroup',
      404,
    ]);
    assert.deepEqual(Object.values(await fails('CreateListener', { ServerGroupId: sg })).slice(0, 1), ['MissingParam.LoadBalancerId']);
    assert.deepEqual(Object.values(await fails('CreateListener', { LoadBalancerId: lb })).slice(0, 1), ['MissingParam.ServerGroupId']);
    assert.equal((await listenersOf(lb)).length, 0);
  });

  test('Mismatch.VpcId: the server group must be in the GWLB VPC', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server, { VpcId: 'vpc-other' });
    const e = await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: sg });
    assert.equal(e.code, 'Mismatch.VpcId');
    assert.equal((await listenersOf(lb)).length, 0);
  });

  test('ResourceInUse.IP: an appliance address that a load balancer now holds as its VIP', async () => {
    const sg = await createServerGroup(server);
    await addServers(server, sg, appliances('127.0.1.200'));
    // An NLB created afterwards asks for exactly that address.
    await callApi(server, NLB, 'CreateLoadBalancer', {
      AddressType: 'Intranet',
      VpcId: 'vpc-local',
      ZoneMappings: [{ ...TWO_ZONES[0], PrivateIPv4Address: '127.0.1.200' }, TWO_ZONES[1]],
    });
    const lb = await createLoadBalancer(server);
    const e = await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: sg });
    assert.equal(e.code, 'ResourceInUse.IP');
    assert.match(e.message ?? '', /127\.0\.1\.200/);
    assert.equal((await listenersOf(lb)).length, 0);
  });

  test('tag rules: MissingParam.TagKey, IllegalParam.TagKey/TagValue, DuplicatedParam.TagKey', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server);
    const cases: Array<[unknown, string]> = [
      [[{ Value: 'v' }], 'MissingParam.TagKey'],
      [[{ Key: '', Value: 'v' }], 'MissingParam.TagKey'],
      [[{ Key: 'aliyun-k', Value: 'v' }], 'IllegalParam.TagKey'],
      [[{ Key: 'acs:k', Value: 'v' }], 'IllegalParam.TagKey'],
      [[{ Key: 'see http://x', Value: 'v' }], 'IllegalParam.TagKey'],
      [[{ Key: 'k'.repeat(129), Value: 'v' }], 'IllegalParam.TagKey'],
      [[{ Key: 'k', Value: 'https://x' }], 'IllegalParam.TagValue'],
      [[{ Key: 'k', Value: 'v'.repeat(257) }], 'IllegalParam.TagValue'],
      [
        [
          { Key: 'k', Value: 'a' },
          { Key: 'k', Value: 'b' },
        ],
        'DuplicatedParam.TagKey',
      ],
      [Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })), 'IllegalParamSize.Tag'],
    ];
    for (const [tags, code] of cases) {
      const e = await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: sg, Tag: tags });
      assert.equal(e.code, code, JSON.stringify(tags).slice(0, 80));
    }
    // The documented maxima are fine.
    const id = await createListener(server, {
      LoadBalancerId: lb,
      ServerGroupId: sg,
      Tag: [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }],
    });
    assert.equal((await call('GetListenerAttribute', { ListenerId: id })).Tags[0].Value.length, 256);
  });

  test('IllegalParam.ListenerDescription and DryRun', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server);
    for (const bad of ['x', 'has space', 'a'.repeat(257), 'semi#colon']) {
      assert.equal(
        (await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: sg, ListenerDescription: bad })).code,
        'IllegalParam.ListenerDescription',
      );
    }
    const dry = await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: sg, DryRun: true });
    assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 400]);
    assert.equal((await listenersOf(lb)).length, 0);
    // A DryRun still checks everything.
    const dryBad = await fails('CreateListener', { LoadBalancerId: lb, ServerGroupId: 'sgp-none', DryRun: true });
    assert.equal(dryBad.code, 'ResourceNotFound.ServerGroup');
  });
});

describe('other listener operations', () => {
  test('UpdateListenerAttribute goes through Configuring back to Running; it checks the new group like CreateListener', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server);
    const sg2 = await createServerGroup(server, { Scheduler: '3TCH' });
    const id = await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg, TcpIdleTimeout: 400 });

    assert.equal(
      (await fails('UpdateListenerAttribute', { ListenerId: id, ServerGroupId: sg2 })).code,
      'OperationDenied.TcpIdleTimeoutConflictWithScheduler',
    );
    const other = await createServerGroup(server, { VpcId: 'vpc-other' });
    assert.equal((await fails('UpdateListenerAttribute', { ListenerId: id, ServerGroupId: other })).code, 'Mismatch.VpcId');
    assert.equal(
      (await fails('UpdateListenerAttribute', { ListenerId: id, ServerGroupId: 'sgp-none' })).code,
      'ResourceNotFound.ServerGroup',
    );
    assert.equal((await fails('UpdateListenerAttribute', { ListenerId: id, TcpIdleTimeout: 6001 })).code, 'IllegalParam.TcpIdleTimeout');
    assert.equal((await fails('UpdateListenerAttribute', { ListenerId: 'lsn-none' })).code, 'ResourceNotFound.Listener');
    const dry = await fails('UpdateListenerAttribute', { ListenerId: id, ListenerDescription: 'dry-run', DryRun: true });
    assert.equal(dry.code, 'DryRunOperation');

    await call('UpdateListenerAttribute', { ListenerId: id, ServerGroupId: sg2, TcpIdleTimeout: 350, ListenerDescription: 'moved' });
    await until(() => listenerStatus(server, id), 'Running');
    const attrs = await call('GetListenerAttribute', { ListenerId: id });
    assert.deepEqual([attrs.ServerGroupId, attrs.TcpIdleTimeout, attrs.ListenerDescription], [sg2, 350, 'moved']);
    assert.deepEqual((await group(server, sg))!.RelatedLoadBalancerIds, []);
    assert.deepEqual((await group(server, sg2))!.RelatedLoadBalancerIds, [lb]);
    assert.equal(
      (await fails('UpdateListenerAttribute', { ListenerId: id, TcpIdleTimeout: 500 })).code,
      'OperationDenied.TcpIdleTimeoutConflictWithScheduler',
    );
  });

  test('ListListeners filters by listener, instance and tag, and pages', async () => {
    const sg = await createServerGroup(server);
    const lbs = [await createLoadBalancer(server), await createLoadBalancer(server), await createLoadBalancer(server)];
    const ids = [];
    for (const [i, lb] of lbs.entries())
      ids.push(await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg, Tag: [{ Key: 'n', Value: String(i % 2) }] }));
    const list = (params: Record<string, unknown>) => call('ListListeners', { LoadBalancerIds: lbs, ...params });
    const of = (r: any) => r.Listeners.map((l: any) => l.ListenerId);
    const all = await list({});
    assert.deepEqual(of(all), ids);
    assert.deepEqual(Object.keys(all.Listeners[0]).sort(), [
      'ListenerId',
      'ListenerStatus',
      'LoadBalancerId',
      'ServerGroupId',
      'Tags',
      'TcpIdleTimeout',
    ]);
    assert.deepEqual(of(await list({ ListenerIds: [ids[2]] })), [ids[2]]);
    assert.deepEqual(of(await list({ Tag: [{ Key: 'n', Value: '0' }] })), [ids[0], ids[2]]);
    const first = await list({ MaxResults: 2 });
    assert.deepEqual([of(first), first.TotalCount], [ids.slice(0, 2), 3]);
    assert.deepEqual(of(await list({ MaxResults: 2, NextToken: first.NextToken })), [ids[2]]);
    assert.deepEqual(of(await list({ Skip: 1, MaxResults: 1 })), [ids[1]]);
  });

  test('DeleteListener: Deleting, then ResourceNotFound.Listener; the GWLB may get a new listener', async () => {
    const lb = await createLoadBalancer(server);
    const sg = await createServerGroup(server);
    const id = await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg });
    const dry = await fails('DeleteListener', { ListenerId: id, DryRun: true });
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal(await listenerStatus(server, id), 'Running');
    assert.deepEqual(Object.keys(await call('DeleteListener', { ListenerId: id })), ['RequestId']);
    await until(() => listenerStatus(server, id), undefined);
    assert.deepEqual(Object.values(await fails('GetListenerAttribute', { ListenerId: id })).slice(0, 2), [
      'ResourceNotFound.Listener',
      404,
    ]);
    assert.equal((await fails('DeleteListener', { ListenerId: id })).code, 'ResourceNotFound.Listener');
    await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg });
  });
});

test('IncorrectStatus.LoadBalancer, IncorrectStatus.ServerGroup and IncorrectStatus.Listener while a change is applied', async () => {
  const clock = new ManualClock(Date.now());
  const slow = await startTestServer({
    clock,
    configure: (c) => {
      c.jobs.extraDelayMs = 60_000;
      c.jobs.nodeTimeoutMs = 365 * 24 * 3600 * 1000;
      // Its own VIPs: the shared server's Running listeners hold UDP 6081 on the default pools.
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = '127.0.11.0/24';
      b.vipPool = '127.0.12.0/24';
    },
  });
  const settle = () => clock.advance(60_000);
  try {
    const { LoadBalancerId } = await gwlb(slow, 'CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES });
    const { ServerGroupId } = await gwlb(slow, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupType: 'Ip' });
    assert.equal((await failure(slow, 'CreateListener', { LoadBalancerId, ServerGroupId })).code, 'IncorrectStatus.LoadBalancer');
    settle();
    await until(() => lbStatus(slow, LoadBalancerId), 'Active');
    await until(() => groupStatus(slow, ServerGroupId), 'Available');

    await gwlb(slow, 'UpdateServerGroupAttribute', { ServerGroupId, ServerGroupName: 'busy' });
    assert.equal((await failure(slow, 'CreateListener', { LoadBalancerId, ServerGroupId })).code, 'IncorrectStatus.ServerGroup');
    settle();
    await until(() => groupStatus(slow, ServerGroupId), 'Available');

    const { ListenerId } = await gwlb(slow, 'CreateListener', { LoadBalancerId, ServerGroupId });
    assert.equal(await listenerStatus(slow, ListenerId), 'Provisioning');
    for (const action of ['UpdateListenerAttribute', 'DeleteListener']) {
      assert.equal((await failure(slow, action, { ListenerId })).code, 'IncorrectStatus.Listener', action);
    }
    settle();
    await until(() => listenerStatus(slow, ListenerId), 'Running');
    await gwlb(slow, 'DeleteListener', { ListenerId });
    assert.equal(await listenerStatus(slow, ListenerId), 'Deleting');
    assert.equal((await failure(slow, 'CreateListener', { LoadBalancerId, ServerGroupId })).code, 'OperationDenied.TooManyListeners');
    settle();
    await until(() => listenerStatus(slow, ListenerId), undefined);
  } finally {
    await slow.stop();
  }
});

test('RAM: gwlb:CreateListener needs the instance, the server group and listener/*', async () => {
  const lb = await createLoadBalancer(server);
  const sg = await createServerGroup(server);
  const otherGroup = await createServerGroup(server);
  const account = server.running.rootKey.accountId;
  const ram = new RamService(server.running.store);
  await ram.createUser('gwlb-listener-operator');
  await ram.createPolicy(
    'gwlb-listener-policy',
    JSON.stringify({
      Version: '1',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'gwlb:CreateListener',
          Resource: [
            `acs:gwlb:cn-hangzhou:${account}:loadbalancer/${lb}`,
            `acs:gwlb:cn-hangzhou:${account}:servergroup/${sg}`,
            `acs:gwlb:cn-hangzhou:${account}:listener/*`,
          ],
        },
      ],
    }),
  );
  await ram.attachPolicy('gwlb-listener-policy', 'gwlb-listener-operator');
  const key = await ram.createAccessKey('gwlb-listener-operator');
  const asUser = { accessKeyId: key.accessKeyId, accessKeySecret: key.secret };

  const denied = await failure(server, 'CreateListener', { LoadBalancerId: lb, ServerGroupId: otherGroup }, asUser);
  assert.deepEqual([denied.code, denied.status], ['Forbidden.NoPermission', 403]);
  const { ListenerId } = await gwlb(server, 'CreateListener', { LoadBalancerId: lb, ServerGroupId: sg }, asUser);
  assert.match(ListenerId, /^lsn-/);
  // Reading the listener needs gwlb:GetListenerAttribute on listener/<id>, which the policy lacks.
  const get = await failure(server, 'GetListenerAttribute', { ListenerId }, asUser);
  assert.equal(get.code, 'Forbidden.NoPermission');
  await until(() => listenerStatus(server, ListenerId), 'Running');
});
