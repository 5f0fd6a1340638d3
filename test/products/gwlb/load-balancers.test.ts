import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.js';
import { NLB, callApi, startTestServer, type TestServer } from '../../support/server.js';
import { TWO_ZONES, createLoadBalancer, failure, gwlb, lbStatus, until } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server?.stop());

const call = (action: string, params: Record<string, unknown> = {}) => gwlb(server, action, params);
const fails = (action: string, params: Record<string, unknown> = {}) => failure(server, action, params);

describe('CreateLoadBalancer and GetLoadBalancerAttribute', () => {
  test('a new GWLB is Provisioning, then Active with one VIP and ENI per zone', async () => {
    const created = await call('CreateLoadBalancer', {
      VpcId: 'vpc-local',
      ZoneMappings: TWO_ZONES,
      LoadBalancerName: 'gw-main',
      AddressIpVersion: 'IPv4',
      Tag: [{ Key: 'env', Value: 'test' }],
    });
    assert.match(created.LoadBalancerId, /^gwlb-[a-z0-9]{20}$/);
    assert.equal(created.JobId, undefined, 'GWLB answers no JobId');
    await until(() => lbStatus(server, created.LoadBalancerId), 'Active');

    const lb = await call('GetLoadBalancerAttribute', { LoadBalancerId: created.LoadBalancerId });
    assert.equal(lb.LoadBalancerName, 'gw-main');
    assert.equal(lb.LoadBalancerBusinessStatus, 'Normal');
    assert.equal(lb.AddressIpVersion, 'Ipv4');
    assert.equal(lb.TrafficMode, 'LoadBalance');
    assert.equal(lb.VpcId, 'vpc-local');
    assert.match(lb.ResourceGroupId, /^rg-/);
    assert.match(lb.CreateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(lb.Tags, [{ Key: 'env', Value: 'test' }]);
    assert.equal(lb.ZoneMappings.length, 2);
    const [a, b] = lb.ZoneMappings;
    assert.equal(a.ZoneId, 'cn-hangzhou-a');
    assert.equal(a.VSwitchId, 'vsw-local-a');
    assert.match(a.LoadBalancerAddresses[0].EniId, /^eni-/);
    assert.match(a.LoadBalancerAddresses[0].PrivateIpv4Address, /^127\.0\.1\.\d+$/);
    assert.match(b.LoadBalancerAddresses[0].PrivateIpv4Address, /^127\.0\.2\.\d+$/);
  });

  test('GWLB and NLB VIPs come from the same pools and never collide', async () => {
    const gw = await createLoadBalancer(server);
    const nlb = await callApi(server, NLB, 'CreateLoadBalancer', { AddressType: 'Intranet', VpcId: 'vpc-local', ZoneMappings: TWO_ZONES });
    const gw2 = await createLoadBalancer(server);
    const gwVips = async (id: string) =>
      (await call('GetLoadBalancerAttribute', { LoadBalancerId: id })).ZoneMappings.map(
        (z: any) => z.LoadBalancerAddresses[0].PrivateIpv4Address,
      );
    const nlbBody = await callApi(server, NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: nlb.LoadbalancerId }, { placement: 'query' });
    const nlbVips = nlbBody.ZoneMappings.map((z: any) => z.LoadBalancerAddresses[0].PrivateIPv4Address);
    const all = [...(await gwVips(gw)), ...nlbVips, ...(await gwVips(gw2))];
    assert.equal(new Set(all).size, all.length, `duplicate VIP in ${all.join(', ')}`);

    // An NLB may not ask for an address a GWLB holds.
    const taken = (await gwVips(gw))[0];
    const e = await callApi(server, NLB, 'CreateLoadBalancer', {
      AddressType: 'Intranet',
      VpcId: 'vpc-local',
      ZoneMappings: [{ ...TWO_ZONES[0], PrivateIPv4Address: taken }, TWO_ZONES[1]],
    }).catch((err) => err);
    assert.equal(e.code, 'ResourceInUse.IP');
  });

  test('bad requests are refused with the documented codes and create nothing', async () => {
    const before = (await call('ListLoadBalancers', { MaxResults: 1000 })).TotalCount;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ZoneMappings: TWO_ZONES }, 'MissingParam.VpcId'],
      [{ VpcId: 'vpc-local' }, 'MissingParam.ZoneMappings'],
      [{ VpcId: 'vpc-nowhere', ZoneMappings: TWO_ZONES }, 'ResourceNotFound.Vpc'],
      [{ VpcId: 'vpc-local', ZoneMappings: [TWO_ZONES[0], TWO_ZONES[0]] }, 'OperationFailed.DuplicateZones.'],
      [{ VpcId: 'vpc-local', ZoneMappings: [{ ZoneId: 'cn-hangzhou-z', VSwitchId: 'vsw-local-a' }, TWO_ZONES[1]] }, 'UnauthorizedZone'],
      [
        { VpcId: 'vpc-local', ZoneMappings: [{ ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-b' }, TWO_ZONES[1]] },
        'Mismatch.ZoneIdAndVswitchId',
      ],
      [
        { VpcId: 'vpc-local', ZoneMappings: [{ ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-none' }, TWO_ZONES[1]] },
        'ResourceNotFound.VSwitch',
      ],
      [{ VpcId: 'vpc-local', ZoneMappings: [{ ZoneId: 'cn-hangzhou-a' }, TWO_ZONES[1]] }, 'MissingParam.ZoneMappings.VSwitchId'],
      [{ VpcId: 'vpc-local', ZoneMappings: Array.from({ length: 21 }, () => TWO_ZONES[0]) }, 'IllegalParamSize.ZoneMappings'],
      [{ VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, LoadBalancerName: '1starts-with-digit' }, 'IllegalParam.LoadBalancerName'],
      [{ VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, LoadBalancerName: 'x' }, 'IllegalParam.LoadBalancerName'],
      [{ VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, AddressIpVersion: 'DualStack' }, 'IllegalParam.AddressIpVersion'],
      [{ VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, ResourceGroupId: 'group-1' }, 'ResourceNotFound.ResourceGroup'],
      [{ VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, Tag: [{ Key: 'aliyun-x', Value: 'v' }] }, 'IllegalParam.TagKey'],
    ];
    for (const [params, code] of cases) {
      const e = await fails('CreateLoadBalancer', params);
      assert.equal(e.code, code, JSON.stringify(params));
      assert.ok(e.status < 500, code);
    }
    assert.equal((await call('ListLoadBalancers', { MaxResults: 1000 })).TotalCount, before);
  });

  test('DryRun validates without creating; ClientToken replays the same instance', async () => {
    const before = (await call('ListLoadBalancers', { MaxResults: 1000 })).TotalCount;
    const dry = await fails('CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, DryRun: true });
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal((await call('ListLoadBalancers', { MaxResults: 1000 })).TotalCount, before);

    const first = await call('CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, ClientToken: 'gw-token-1' });
    const again = await call('CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, ClientToken: 'gw-token-1' });
    assert.equal(again.LoadBalancerId, first.LoadBalancerId);
    const other = await fails('CreateLoadBalancer', {
      VpcId: 'vpc-local',
      ZoneMappings: TWO_ZONES,
      LoadBalancerName: 'other',
      ClientToken: 'gw-token-1',
    });
    assert.equal(other.code, 'IdempotenceSignatureMismatch');
    assert.equal((await call('ListLoadBalancers', { MaxResults: 1000 })).TotalCount, before + 1);
  });

  test('an unknown instance is ResourceNotFound.LoadBalancer (404)', async () => {
    for (const action of ['GetLoadBalancerAttribute', 'UpdateLoadBalancerAttribute', 'UpdateLoadBalancerZones', 'DeleteLoadBalancer']) {
      const e = await fails(action, { LoadBalancerId: 'gwlb-missing', ZoneMappings: TWO_ZONES });
      assert.deepEqual([e.code, e.status], ['ResourceNotFound.LoadBalancer', 404], action);
    }
  });
});

describe('ListLoadBalancers', () => {
  test('filters by ID, name, VPC, zone, status, traffic mode and tag, and pages with NextToken and Skip', async () => {
    const s = await startTestServer();
    try {
      const ids = [];
      for (const [i, env] of ['a', 'b', 'a'].entries())
        ids.push(await createLoadBalancer(s, { LoadBalancerName: `lst-${i}`, Tag: [{ Key: 'env', Value: env }] }));
      const list = (params: Record<string, unknown>) => gwlb(s, 'ListLoadBalancers', params);

      const all = await list({});
      assert.equal(all.TotalCount, 3);
      assert.equal(all.MaxResults, 20);
      assert.equal(all.NextToken, '');
      assert.deepEqual(
        all.LoadBalancers.map((l: any) => l.LoadBalancerId),
        ids,
      );
      assert.equal(all.LoadBalancers[0].TrafficMode, undefined, 'list items carry no TrafficMode');
      assert.ok(Array.isArray(all.LoadBalancers[0].ZoneMappings[0].LoadBalancerAddresses));

      assert.equal((await list({ LoadBalancerIds: [ids[1]] })).LoadBalancers[0].LoadBalancerId, ids[1]);
      assert.equal((await list({ LoadBalancerNames: ['lst-2'] })).LoadBalancers[0].LoadBalancerId, ids[2]);
      assert.equal((await list({ Tag: [{ Key: 'env', Value: 'a' }] })).TotalCount, 2);
      assert.equal((await list({ VpcIds: ['vpc-other'] })).TotalCount, 0);
      assert.equal((await list({ ZoneIds: ['cn-hangzhou-b'] })).TotalCount, 3);
      assert.equal((await list({ LoadBalancerStatus: 'Active' })).TotalCount, 3);
      assert.equal((await list({ LoadBalancerBusinessStatus: 'FinancialLocked' })).TotalCount, 0);
      assert.equal((await list({ TrafficMode: 'ByPass' })).TotalCount, 0);
      assert.equal((await list({ AddressIpVersion: 'IPv4' })).TotalCount, 3);

      const page1 = await list({ MaxResults: 2 });
      assert.deepEqual(
        page1.LoadBalancers.map((l: any) => l.LoadBalancerId),
        ids.slice(0, 2),
      );
      assert.notEqual(page1.NextToken, '');
      const page2 = await list({ MaxResults: 2, NextToken: page1.NextToken });
      assert.deepEqual(
        page2.LoadBalancers.map((l: any) => l.LoadBalancerId),
        ids.slice(2),
      );
      assert.equal(page2.NextToken, '');
      const skipped = await list({ Skip: 1, MaxResults: 1 });
      assert.deepEqual(
        skipped.LoadBalancers.map((l: any) => l.LoadBalancerId),
        [ids[1]],
      );
      assert.equal(skipped.TotalCount, 3);

      for (const [params, code] of [
        [{ MaxResults: 0 }, 'IllegalParam.MaxResults'],
        [{ MaxResults: 1001 }, 'IllegalParam.MaxResults'],
        [{ NextToken: 'not-a-token' }, 'IllegalParam.NextToken'],
        [{ Skip: -1 }, 'IllegalParam.Skip'],
        [{ LoadBalancerIds: Array.from({ length: 21 }, (_, i) => `gwlb-${i}`) }, 'IllegalParamSize.LoadBalancerIds'],
        [{ LoadBalancerStatus: 'Running' }, 'IllegalParam.LoadBalancerStatus'],
      ] as const) {
        assert.equal((await failure(s, 'ListLoadBalancers', params)).code, code);
      }
    } finally {
      await s.stop();
    }
  });
});

describe('UpdateLoadBalancerAttribute, UpdateLoadBalancerZones, DeleteLoadBalancer', () => {
  test('renaming and switching to ByPass goes through Configuring back to Active', async () => {
    const id = await createLoadBalancer(server, { LoadBalancerName: 'before' });
    await call('UpdateLoadBalancerAttribute', { LoadBalancerId: id, LoadBalancerName: 'after', TrafficMode: 'ByPass' });
    await until(() => lbStatus(server, id), 'Active');
    const lb = await call('GetLoadBalancerAttribute', { LoadBalancerId: id });
    assert.equal(lb.LoadBalancerName, 'after');
    assert.equal(lb.TrafficMode, 'ByPass');
    assert.equal(
      (await fails('UpdateLoadBalancerAttribute', { LoadBalancerId: id, TrafficMode: 'Mirror' })).code,
      'IllegalParam.TrafficMode',
    );
    assert.equal(
      (await fails('UpdateLoadBalancerAttribute', { LoadBalancerId: id, LoadBalancerName: '-' })).code,
      'IllegalParam.LoadBalancerName',
    );
    const dry = await fails('UpdateLoadBalancerAttribute', { LoadBalancerId: id, LoadBalancerName: 'dry', DryRun: true });
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal((await call('GetLoadBalancerAttribute', { LoadBalancerId: id })).LoadBalancerName, 'after');
  });

  test('zones are replaced as a set: a kept zone keeps its VIP, a dropped zone goes', async () => {
    const id = await createLoadBalancer(server);
    const vipOf = async () => (await call('GetLoadBalancerAttribute', { LoadBalancerId: id })).ZoneMappings;
    const [zoneA] = await vipOf();
    await call('UpdateLoadBalancerZones', { LoadBalancerId: id, ZoneMappings: [TWO_ZONES[0]] });
    await until(() => lbStatus(server, id), 'Active');
    const after = await vipOf();
    assert.deepEqual(after, [zoneA]);
    await call('UpdateLoadBalancerZones', { LoadBalancerId: id, ZoneMappings: TWO_ZONES });
    await until(() => lbStatus(server, id), 'Active');
    const both = await vipOf();
    assert.deepEqual(both[0], zoneA);
    assert.match(both[1].LoadBalancerAddresses[0].PrivateIpv4Address, /^127\.0\.2\./);
    assert.equal((await fails('UpdateLoadBalancerZones', { LoadBalancerId: id })).code, 'MissingParam.ZoneMappings');
    assert.equal(
      (
        await fails('UpdateLoadBalancerZones', {
          LoadBalancerId: id,
          ZoneMappings: [{ ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-b' }],
        })
      ).code,
      'Mismatch.ZoneIdAndVswitchId',
    );
    assert.deepEqual(await vipOf(), both);
  });

  test('deleting removes the instance and its listener at once; the VIPs become free', async () => {
    const id = await createLoadBalancer(server);
    const { ServerGroupId } = await call('CreateServerGroup', { VpcId: 'vpc-local' });
    await until(
      async () => (await call('ListServerGroups', { ServerGroupIds: [ServerGroupId] })).ServerGroups[0].ServerGroupStatus,
      'Available',
    );
    const { ListenerId } = await call('CreateListener', { LoadBalancerId: id, ServerGroupId });
    await until(async () => (await call('GetListenerAttribute', { ListenerId })).ListenerStatus, 'Running');

    const dry = await fails('DeleteLoadBalancer', { LoadBalancerId: id, DryRun: true });
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal(await lbStatus(server, id), 'Active');

    const reply = await call('DeleteLoadBalancer', { LoadBalancerId: id });
    assert.deepEqual(Object.keys(reply), ['RequestId']);
    assert.equal(await lbStatus(server, id), undefined);
    assert.equal((await fails('GetListenerAttribute', { ListenerId })).code, 'ResourceNotFound.Listener');
    const group = (await call('ListServerGroups', { ServerGroupIds: [ServerGroupId] })).ServerGroups[0];
    assert.deepEqual(group.RelatedLoadBalancerIds, []);
  });
});

test('an instance that is not Active refuses changes with IncorrectStatus.LoadBalancer', async () => {
  const clock = new ManualClock(Date.now());
  const slow = await startTestServer({
    clock,
    configure: (c) => {
      c.jobs.extraDelayMs = 60_000;
      c.jobs.nodeTimeoutMs = 365 * 24 * 3600 * 1000;
    },
  });
  try {
    const { LoadBalancerId } = await gwlb(slow, 'CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES });
    assert.equal(await lbStatus(slow, LoadBalancerId), 'Provisioning');
    for (const [action, extra] of [
      ['UpdateLoadBalancerAttribute', { LoadBalancerName: 'busy' }],
      ['UpdateLoadBalancerZones', { ZoneMappings: TWO_ZONES }],
      ['DeleteLoadBalancer', {}],
    ] as const) {
      assert.equal((await failure(slow, action, { LoadBalancerId, ...extra })).code, 'IncorrectStatus.LoadBalancer', action);
    }
    clock.advance(60_000);
    await until(() => lbStatus(slow, LoadBalancerId), 'Active');

    await gwlb(slow, 'UpdateLoadBalancerAttribute', { LoadBalancerId, LoadBalancerName: 'renamed' });
    assert.equal(await lbStatus(slow, LoadBalancerId), 'Configuring');
    assert.equal((await gwlb(slow, 'GetLoadBalancerAttribute', { LoadBalancerId })).LoadBalancerName, 'renamed');
    assert.equal((await failure(slow, 'DeleteLoadBalancer', { LoadBalancerId })).code, 'IncorrectStatus.LoadBalancer');
    clock.advance(60_000);
    await until(() => lbStatus(slow, LoadBalancerId), 'Active');
  } finally {
    await slow.stop();
  }
});

test('the instance quota is gwlb_quota_loadbalancers_num', async () => {
  const s = await startTestServer({ configure: (c) => (c.quotas.gwlbLoadBalancers = 1) });
  try {
    await createLoadBalancer(s);
    const e = await failure(s, 'CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES });
    assert.equal(e.code, 'QuotaExceeded.QuotaInsufficient');
    assert.match(e.message ?? '', /gwlb_quota_loadbalancers_num.*1\/1/);
  } finally {
    await s.stop();
  }
});
