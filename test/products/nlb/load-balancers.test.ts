import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';

const TWO_ZONES = [
  { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' },
  { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' },
];

function create(server: TestServer, params: Record<string, unknown> = {}) {
  return callApi(server, NLB, 'CreateLoadBalancer', {
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: TWO_ZONES,
    ...params,
  });
}

function get(server: TestServer, id: string) {
  return callApi(server, NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: id }, { placement: 'query' });
}

function list(server: TestServer, params: Record<string, unknown> = {}) {
  return callApi(server, NLB, 'ListLoadBalancers', params, { placement: 'query' });
}

/** Polls GetLoadBalancerAttribute: CreateLoadBalancer returns no JobId to wait on. */
async function waitForStatus(server: TestServer, id: string, wanted: string): Promise<Record<string, any>> {
  for (let i = 0; i < 500; i++) {
    const lb = await get(server, id);
    if (lb.LoadBalancerStatus === wanted) return lb;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${id} never became ${wanted}`);
}

async function createActive(server: TestServer, params: Record<string, unknown> = {}): Promise<string> {
  const { LoadbalancerId } = await create(server, params);
  await waitForStatus(server, LoadbalancerId, 'Active');
  return LoadbalancerId;
}

async function remove(server: TestServer, id: string): Promise<void> {
  const { JobId } = await callApi(server, NLB, 'DeleteLoadBalancer', { LoadBalancerId: id });
  assert.equal(await waitForJob(server, JobId), 'Succeeded');
}

function vips(lb: Record<string, any>): string[] {
  return lb.ZoneMappings.map((z: any) => z.LoadBalancerAddresses[0].PrivateIPv4Address);
}

describe('CreateLoadBalancer and GetLoadBalancerAttribute', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  test('a new NLB provisions without a JobId, then is Active with one VIP per zone', async () => {
    const reply = await create(server, {
      LoadBalancerName: 'web-front',
      Tag: [{ Key: 'env', Value: 'test' }],
      DeletionProtectionConfig: { Enabled: true, Reason: 'keep it' },
    });
    assert.match(reply.LoadbalancerId, /^nlb-[a-z0-9]{20}$/);
    assert.equal(typeof reply.OrderId, 'number');
    assert.equal(reply.JobId, undefined);
    assert.equal(reply.LoadBalancerId, undefined, 'the reply spells it LoadbalancerId');
    const early = await get(server, reply.LoadbalancerId);
    assert.ok(['Provisioning', 'Active'].includes(early.LoadBalancerStatus));

    const lb = await waitForStatus(server, reply.LoadbalancerId, 'Active');
    assert.equal(lb.LoadBalancerName, 'web-front');
    assert.equal(lb.LoadBalancerType, 'network');
    assert.equal(lb.AddressType, 'Intranet');
    assert.equal(lb.AddressIpVersion, 'ipv4');
    assert.equal(lb.VpcId, 'vpc-local');
    assert.equal(lb.RegionId, 'cn-hangzhou');
    assert.equal(lb.DNSName, `${reply.LoadbalancerId}.cn-hangzhou.nlb.aliyuncs.com`);
    assert.equal(lb.LoadBalancerBusinessStatus, 'Normal');
    assert.equal(lb.Cps, 0);
    assert.equal(lb.CrossZoneEnabled, true);
    assert.match(lb.CreateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(lb.ResourceGroupId, /^rg-/);
    assert.deepEqual(lb.LoadBalancerBillingConfig, { PayType: 'PostPay' });
    assert.equal(lb.DeletionProtectionConfig.Enabled, true);
    assert.equal(lb.DeletionProtectionConfig.Reason, 'keep it');
    assert.match(lb.DeletionProtectionConfig.EnabledTime, /Z$/);
    assert.deepEqual(lb.ModificationProtectionConfig, { Status: 'NonProtection' });
    assert.deepEqual(lb.SecurityGroupIds, []);
    assert.deepEqual(lb.Tags, [{ TagKey: 'env', TagValue: 'test' }]);
    assert.deepEqual(
      lb.ZoneMappings.map((z: any) => [z.ZoneId, z.VSwitchId, z.Status]),
      [
        ['cn-hangzhou-a', 'vsw-local-a', 'Active'],
        ['cn-hangzhou-b', 'vsw-local-b', 'Active'],
      ],
    );
    const address = lb.ZoneMappings[0].LoadBalancerAddresses[0];
    assert.match(address.EniId, /^eni-/);
    assert.equal(address.PrivateIPv4HcStatus, 'Healthy');
    assert.deepEqual(address.Ipv4LocalAddresses, []);
    // The pools are 127.0.1.0/24 and 127.0.2.0/24; the network address is never handed out.
    assert.deepEqual(vips(lb), ['127.0.1.1', '127.0.2.1']);
  });

  test('each NLB gets its own VIP: the lowest free one, or the one asked for', async () => {
    const second = await createActive(server);
    assert.deepEqual(vips(await get(server, second)), ['127.0.1.2', '127.0.2.2']);

    const chosen = await createActive(server, {
      ZoneMappings: [{ ...TWO_ZONES[0], PrivateIPv4Address: '127.0.1.50' }, TWO_ZONES[1]],
    });
    assert.deepEqual(vips(await get(server, chosen)), ['127.0.1.50', '127.0.2.3']);

    const taken = await callError(create(server, { ZoneMappings: [{ ...TWO_ZONES[0], PrivateIPv4Address: '127.0.1.50' }, TWO_ZONES[1]] }));
    assert.equal(taken.code, 'ResourceInUse.IP');

    for (const outside of ['127.0.2.9', '127.0.1.0', '127.0.1.255', '10.0.0.1']) {
      const e = await callError(create(server, { ZoneMappings: [{ ...TWO_ZONES[0], PrivateIPv4Address: outside }, TWO_ZONES[1]] }));
      assert.equal(e.code, 'IllegalParam.PrivateIPv4Address', outside);
    }

    // A deleted NLB's VIP is free again.
    await remove(server, second);
    const reuse = await createActive(server);
    assert.deepEqual(vips(await get(server, reuse)), ['127.0.1.2', '127.0.2.2']);
  });

  test('DualStack NLBs show an IPv6 VIP per zone and a private IPv6 network type', async () => {
    const id = await createActive(server, { AddressIpVersion: 'DualStack' });
    const lb = await get(server, id);
    assert.equal(lb.AddressIpVersion, 'DualStack');
    assert.equal(lb.Ipv6AddressType, 'Intranet');
    for (const zone of lb.ZoneMappings) assert.match(zone.LoadBalancerAddresses[0].Ipv6Address, /^fd00::/);
    await remove(server, id);
  });

  test('network mistakes are refused with the cloud codes and create nothing', async () => {
    const before = (await list(server)).TotalCount;
    const cases: Array<[Record<string, unknown>, string, number]> = [
      [{ VpcId: 'vpc-nope' }, 'ResourceNotFound.Vpc', 404],
      [{ ZoneMappings: [{ ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-nope' }, TWO_ZONES[1]] }, 'ResourceNotFound.VSwitch', 404],
      [{ ZoneMappings: [{ ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-b' }, TWO_ZONES[1]] }, 'Mismatch.ZoneIdAndVswitchId', 400],
      [{ ZoneMappings: [TWO_ZONES[0], TWO_ZONES[0]] }, 'OperationFailed.DuplicateZones.', 400],
      [{ ZoneMappings: [TWO_ZONES[0]] }, 'InvalidZones', 400],
      [{ ZoneMappings: [{ ZoneId: 'cn-hangzhou-z', VSwitchId: 'vsw-local-a' }, TWO_ZONES[1]] }, 'UnauthorizedZone', 403],
      [{ ZoneMappings: [] }, 'MissingParam.ZoneMappings', 400],
      [{ ZoneMappings: Array.from({ length: 11 }, () => TWO_ZONES[0]) }, 'IllegalParamSize.ZoneMappings', 400],
      [{ ZoneMappings: [{ ZoneId: 'cn-hangzhou-a' }, TWO_ZONES[1]] }, 'MissingParam.ZoneMappings.VSwitchId', 400],
    ];
    for (const [params, code, status] of cases) {
      const e = await callError(create(server, params));
      assert.equal(e.code, code, JSON.stringify(params));
      assert.equal(e.statusCode, status, code);
    }
    assert.equal((await list(server)).TotalCount, before);
  });

  test('parameter mistakes are refused with the cloud codes', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ AddressType: undefined }, 'MissingParam.AddressType'],
      [{ AddressType: 'Public' }, 'IllegalParam.AddressType'],
      [{ AddressIpVersion: 'ipv6' }, 'IllegalParam.AddressIpVersion'],
      [{ LoadBalancerType: 'application' }, 'IllegalParam.LoadBalancerType'],
      [{ LoadBalancerName: '1starts-with-digit' }, 'IllegalParam.loadBalancerName'],
      [{ LoadBalancerName: 'x' }, 'IllegalParam.loadBalancerName'],
      [{ LoadBalancerBillingConfig: { PayType: 'PrePay' } }, 'OperationDenied.OnlyPostPaidSupported'],
      [{ ResourceGroupId: 'group-1' }, 'OperationFailed.NotExist.ResourceGroup'],
      [{ Tag: [{ Key: 'aliyun:x', Value: 'v' }] }, 'IllegalParam.TagKey'],
      [
        {
          Tag: [
            { Key: 'k', Value: 'a' },
            { Key: 'k', Value: 'b' },
          ],
        },
        'DuplicatedParam.TagKey',
      ],
      [{ DeletionProtectionConfig: { Enabled: true, Reason: '!' } }, 'IllegalParam.deletionProtectionReason'],
      [{ BandwidthPackageId: 'cbwp-abc' }, 'OperationDenied.IntranetLoadBalancer'],
      [{ AddressType: 'Internet', BandwidthPackageId: 'bwp-1' }, 'ResourceNotFound.BandwidthPackageId'],
      [{ ZoneMappings: [{ ...TWO_ZONES[0], Ipv4LocalAddresses: ['127.0.1.9'] }, TWO_ZONES[1]] }, 'IllegalParamSize.Ipv4LocalAddresses'],
      [
        {
          AddressType: 'Internet',
          ZoneMappings: [
            { ...TWO_ZONES[0], AllocationId: 'eip-1' },
            { ...TWO_ZONES[1], AllocationId: 'eip-1' },
          ],
        },
        'DuplicatedParam.AllocationId',
      ],
    ];
    for (const [params, code] of cases) {
      const e = await callError(create(server, params));
      assert.equal(e.code, code, JSON.stringify(params));
    }
  });

  test('an EIP serves one NLB only', async () => {
    const id = await createActive(server, {
      AddressType: 'Internet',
      ZoneMappings: [{ ...TWO_ZONES[0], AllocationId: 'eip-one' }, TWO_ZONES[1]],
    });
    const lb = await get(server, id);
    assert.equal(lb.ZoneMappings[0].LoadBalancerAddresses[0].AllocationId, 'eip-one');
    const e = await callError(
      create(server, { AddressType: 'Internet', ZoneMappings: [{ ...TWO_ZONES[0], AllocationId: 'eip-one' }, TWO_ZONES[1]] }),
    );
    assert.equal(e.code, 'ResourceAlreadyAssociated.AllocationId');
    await remove(server, id);
  });

  test('DryRun validates everything and creates nothing; a ClientToken replays the first reply', async () => {
    const before = (await list(server)).TotalCount;
    const dry = await callError(create(server, { DryRun: true }));
    assert.equal(dry.code, 'DryRunOperation');
    const dryBad = await callError(create(server, { DryRun: true, VpcId: 'vpc-nope' }));
    assert.equal(dryBad.code, 'ResourceNotFound.Vpc');
    assert.equal((await list(server)).TotalCount, before);

    const first = await create(server, { ClientToken: 'lb-token-1' });
    const again = await create(server, { ClientToken: 'lb-token-1' });
    assert.equal(again.LoadbalancerId, first.LoadbalancerId);
    assert.equal((await list(server)).TotalCount, before + 1);
  });

  test('an unknown NLB is 404 ResourceNotFound.loadBalancer', async () => {
    const e = await callError(get(server, 'nlb-doesnotexist0000000'));
    assert.equal(e.code, 'ResourceNotFound.loadBalancer');
    assert.equal(e.statusCode, 404);
    const d = await callError(
      callApi(server, NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: 'nlb-x', DryRun: true }, { placement: 'query' }),
    );
    assert.equal(d.code, 'ResourceNotFound.loadBalancer');
  });
});

describe('NLB quotas and pool exhaustion', () => {
  let server: TestServer;
  const OTHER_ZONES = [
    { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-other-a' },
    { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-other-b' },
  ];
  before(async () => {
    server = await startTestServer({
      configure: (c) => {
        c.quotas.nlbLoadBalancers = 3;
        c.regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.9.0/30'; // two assignable addresses
        c.regions[0].vpcs.push({
          id: 'vpc-other',
          cidr: '10.9.0.0/16',
          vSwitches: [
            { id: 'vsw-other-a', zoneId: 'cn-hangzhou-a', vipPool: '127.0.10.0/24' },
            { id: 'vsw-other-b', zoneId: 'cn-hangzhou-b', vipPool: '127.0.11.0/24' },
          ],
        });
      },
    });
  });
  after(() => server?.stop());

  test('a vSwitch of another VPC is Mismatch.VpcId', async () => {
    const e = await callError(create(server, { ZoneMappings: [OTHER_ZONES[0], TWO_ZONES[1]] }));
    assert.equal(e.code, 'Mismatch.VpcId');
  });

  test('an exhausted pool is ResourceNotEnough.VSwitchIp; the region quota is QuotaExceeded', async () => {
    const first = await createActive(server);
    const second = await createActive(server);
    assert.deepEqual(vips(await get(server, second)), ['127.0.9.2', '127.0.2.2']);
    const broadcast = await callError(
      create(server, { ZoneMappings: [{ ...TWO_ZONES[0], PrivateIPv4Address: '127.0.9.3' }, TWO_ZONES[1]] }),
    );
    assert.equal(broadcast.code, 'IllegalParam.PrivateIPv4Address', 'the broadcast address is never handed out');
    const exhausted = await callError(create(server));
    assert.equal(exhausted.code, 'ResourceNotEnough.VSwitchIp');

    await createActive(server, { VpcId: 'vpc-other', ZoneMappings: OTHER_ZONES });
    const quota = await callError(create(server, { VpcId: 'vpc-other', ZoneMappings: OTHER_ZONES }));
    assert.equal(quota.code, 'QuotaExceeded.QuotaInsufficient');
    assert.match(quota.data.Message, /3\/3/);

    // Deleting an NLB frees both its quota slot and its VIPs.
    await remove(server, first);
    const reused = await createActive(server);
    assert.deepEqual(vips(await get(server, reused)), ['127.0.9.1', '127.0.2.1']);
  });
});

describe('ListLoadBalancers', () => {
  let server: TestServer;
  const ids: string[] = [];
  before(async () => {
    server = await startTestServer();
    ids.push(await createActive(server, { LoadBalancerName: 'alpha', Tag: [{ Key: 'team', Value: 'a' }] }));
    ids.push(await createActive(server, { LoadBalancerName: 'beta', AddressType: 'Internet', Tag: [{ Key: 'team', Value: 'b' }] }));
    ids.push(
      await createActive(server, {
        LoadBalancerName: 'gamma',
        AddressIpVersion: 'DualStack',
        ResourceGroupId: 'rg-aekzjcnrv3vvqhq',
        Tag: [
          { Key: 'team', Value: 'a' },
          { Key: 'tier', Value: 'db' },
        ],
      }),
    );
  });
  after(() => server?.stop());

  const names = (reply: Record<string, any>) => reply.LoadBalancers.map((lb: any) => lb.LoadBalancerName);

  test('lists every NLB of the region in the List shape', async () => {
    const reply = await list(server);
    assert.equal(reply.TotalCount, 3);
    assert.equal(reply.MaxResults, 20);
    assert.ok(!reply.NextToken);
    assert.deepEqual(names(reply), ['alpha', 'beta', 'gamma']);
    const alpha = reply.LoadBalancers[0];
    assert.equal(alpha.LoadBalancerType, 'Network');
    assert.deepEqual(alpha.Tags, [{ Key: 'team', Value: 'a' }]);
    assert.equal(alpha.Cps, undefined);
    assert.equal(alpha.ZoneMappings[0].LoadBalancerAddresses[0].Ipv4LocalAddresses, undefined);
    assert.ok(Array.isArray(alpha.SecurityGroupIds));
  });

  test('every filter narrows the list', async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ LoadBalancerIds: [ids[0], ids[2]] }, ['alpha', 'gamma']],
      [{ LoadBalancerNames: ['beta'] }, ['beta']],
      [{ VpcIds: ['vpc-local'] }, ['alpha', 'beta', 'gamma']],
      [{ VpcIds: ['vpc-other'] }, []],
      [{ ZoneId: 'cn-hangzhou-b' }, ['alpha', 'beta', 'gamma']],
      [{ ZoneId: 'cn-hangzhou-c' }, []],
      [{ AddressType: 'Internet' }, ['beta']],
      [{ AddressIpVersion: 'DualStack' }, ['gamma']],
      [{ Ipv6AddressType: 'Intranet' }, ['gamma']],
      [{ LoadBalancerStatus: 'Active' }, ['alpha', 'beta', 'gamma']],
      [{ LoadBalancerStatus: 'Provisioning' }, []],
      [{ LoadBalancerBusinessStatus: 'Abnormal' }, []],
      [{ ResourceGroupId: 'rg-aekzjcnrv3vvqhq' }, ['gamma']],
      [{ Tag: [{ Key: 'team', Value: 'a' }] }, ['alpha', 'gamma']],
      [
        {
          Tag: [
            { Key: 'team', Value: 'a' },
            { Key: 'tier', Value: 'db' },
          ],
        },
        ['gamma'],
      ],
      [{ Tag: [{ Key: 'tier' }] }, ['gamma']],
      [{ DNSName: `${ids[1]}.cn-hangzhou.nlb.aliyuncs.com` }, ['beta']],
      [{ LoadBalancerType: 'network', LoadBalancerNames: ['alpha', 'gamma'], AddressType: 'Intranet' }, ['alpha', 'gamma']],
    ];
    for (const [params, expected] of cases) {
      const reply = await list(server, params);
      assert.deepEqual(names(reply), expected, JSON.stringify(params));
      assert.equal(reply.TotalCount, expected.length);
    }
  });

  test('pages with NextToken', async () => {
    const first = await list(server, { MaxResults: 2 });
    assert.deepEqual(names(first), ['alpha', 'beta']);
    assert.equal(first.TotalCount, 3);
    assert.ok(first.NextToken);
    const second = await list(server, { MaxResults: 2, NextToken: first.NextToken });
    assert.deepEqual(names(second), ['gamma']);
    assert.ok(!second.NextToken);
  });

  test('bad filters are refused', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ MaxResults: 101 }, 'IllegalParam.MaxResults'],
      [{ MaxResults: 0 }, 'IllegalParam.MaxResults'],
      [{ NextToken: 'garbage' }, 'IllegalParam.NextToken'],
      [{ LoadBalancerType: 'gateway' }, 'IllegalParam.LoadBalancerType'],
      [{ LoadBalancerStatus: 'Running' }, 'IllegalParam.LoadBalancerStatus'],
      [{ LoadBalancerIds: Array.from({ length: 21 }, (_, i) => `nlb-${i}`) }, 'IllegalParamSize.LoadBalancerIds'],
      [{ VpcIds: Array.from({ length: 11 }, (_, i) => `vpc-${i}`) }, 'IllegalParamSize.VpcIds'],
    ];
    for (const [params, code] of cases) {
      const e = await callError(list(server, params));
      assert.equal(e.code, code, JSON.stringify(params));
    }
  });
});

describe('UpdateLoadBalancerAttribute and DeleteLoadBalancer', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  test('an update is Configuring until its job succeeds', async () => {
    const id = await createActive(server, { LoadBalancerName: 'before' });
    const { JobId } = await callApi(server, NLB, 'UpdateLoadBalancerAttribute', {
      LoadBalancerId: id,
      LoadBalancerName: 'after',
      CrossZoneEnabled: false,
      Cps: 5000,
    });
    assert.match(JobId, /^[0-9a-f-]{36}$/);
    const during = await get(server, id);
    assert.equal(during.LoadBalancerName, 'after');
    assert.ok(['Configuring', 'Active'].includes(during.LoadBalancerStatus));
    assert.equal(await waitForJob(server, JobId), 'Succeeded');
    const lb = await get(server, id);
    assert.equal(lb.LoadBalancerStatus, 'Active');
    assert.equal(lb.CrossZoneEnabled, false);
    assert.equal(lb.Cps, 5000);

    for (const [params, code] of [
      [{ Cps: 0 }, 'IllegalParam.Cps'],
      [{ LoadBalancerName: '-bad' }, 'IllegalParam.loadBalancerName'],
      [{ LoadBalancerId: 'nlb-missing' }, 'ResourceNotFound.loadBalancer'],
    ] as const) {
      const e = await callError(callApi(server, NLB, 'UpdateLoadBalancerAttribute', { LoadBalancerId: id, ...params }));
      assert.equal(e.code, code);
    }
    const dry = await callError(
      callApi(server, NLB, 'UpdateLoadBalancerAttribute', { LoadBalancerId: id, LoadBalancerName: 'dry', DryRun: true }),
    );
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal((await get(server, id)).LoadBalancerName, 'after');
  });

  test('deletion protection blocks DeleteLoadBalancer until it is turned off', async () => {
    const id = await createActive(server, { DeletionProtectionConfig: { Enabled: true } });
    const e = await callError(callApi(server, NLB, 'DeleteLoadBalancer', { LoadBalancerId: id }));
    assert.equal(e.code, 'OperationDenied.DeletionProtectionEnabled');
    await callApi(server, NLB, 'UpdateLoadBalancerProtection', { LoadBalancerId: id, DeletionProtectionEnabled: false });
    const dry = await callError(callApi(server, NLB, 'DeleteLoadBalancer', { LoadBalancerId: id, DryRun: true }));
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal((await get(server, id)).LoadBalancerStatus, 'Active');
    await remove(server, id);
    const gone = await callError(get(server, id));
    assert.equal(gone.code, 'ResourceNotFound.loadBalancer');
    assert.equal((await list(server, { LoadBalancerIds: [id] })).TotalCount, 0);
  });

  test('modification protection only guards the console: API updates still apply', async () => {
    const id = await createActive(server, { ModificationProtectionConfig: { Status: 'ConsoleProtection', Reason: 'frozen' } });
    const lb = await get(server, id);
    assert.equal(lb.ModificationProtectionConfig.Status, 'ConsoleProtection');
    assert.equal(lb.ModificationProtectionConfig.Reason, 'frozen');
    const { JobId } = await callApi(server, NLB, 'UpdateLoadBalancerAttribute', { LoadBalancerId: id, LoadBalancerName: 'renamed' });
    assert.equal(await waitForJob(server, JobId), 'Succeeded');
    assert.equal((await get(server, id)).LoadBalancerName, 'renamed');
    await remove(server, id);
  });
});

describe('DeleteLoadBalancer and listeners', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  test("an NLB's listeners are deleted with it; its server group stays", async () => {
    const id = await createActive(server);
    const group = await callApi(server, NLB, 'CreateServerGroup', { ServerGroupName: 'kept', VpcId: 'vpc-local' });
    await waitForJob(server, group.JobId);
    const listener = await callApi(server, NLB, 'CreateListener', {
      LoadBalancerId: id,
      ListenerProtocol: 'TCP',
      ListenerPort: 80,
      ServerGroupId: group.ServerGroupId,
    });
    assert.equal(await waitForJob(server, listener.JobId), 'Succeeded');

    await remove(server, id);
    const listeners = await callApi(server, NLB, 'ListListeners', { LoadBalancerIds: [id] }, { placement: 'query' });
    assert.deepEqual(listeners.Listeners, []);
    const gone = await callError(callApi(server, NLB, 'GetListenerAttribute', { ListenerId: listener.ListenerId }, { placement: 'query' }));
    assert.equal(gone.code, 'ResourceNotFound.listener');
    const groups = await callApi(server, NLB, 'ListServerGroups', { ServerGroupIds: [group.ServerGroupId] });
    assert.equal(groups.TotalCount, 1);
  });
});
