/**
 * `alicloud_nlb_load_balancer` and the resources that hang off an NLB's own attributes, driven
 * as the alicloud provider drives them (its RpcPost wire style, parameters, waits and reads):
 * apply, refresh without diff, in-place updates, import, destroy, read after destroy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type TestServer } from '../support/server.js';
import { NLB_VERSION, planDiff, type TerraformProvider } from '../support/terraform-provider.js';
import { clientToken, startTerraformTarget } from '../support/terraform-target.js';
import { startTcpBackend, tcpRoundTrip } from '../support/backends.js';

let server: TestServer;
let tf: TerraformProvider;
before(async () => {
  ({ server, tf } = await startTerraformTarget());
});
after(() => server?.stop());

const token = clientToken;

// --- the provider's alicloud_nlb_load_balancer, replayed ---------------------------------------

interface LbConfig {
  load_balancer_name?: string;
  load_balancer_type?: string;
  address_type: string;
  address_ip_version?: string;
  vpc_id: string;
  zone_mappings: Array<{ zone_id: string; vswitch_id: string; allocation_id?: string; private_ipv4_address?: string }>;
  cross_zone_enabled?: boolean;
  tags?: Record<string, string>;
}

async function describeLb(id: string) {
  return tf.nlb('GetLoadBalancerAttribute', { ClientToken: token() }, { LoadBalancerId: id });
}

/** The provider's NlbLoadBalancerStateRefreshFunc on `LoadBalancerStatus`. */
function waitLb(id: string, targets: string[]) {
  return tf.waitFor(
    () => tf.readOrGone(() => describeLb(id)),
    (o) => o.LoadBalancerStatus,
    targets,
  );
}

async function readLb(id: string): Promise<Record<string, any> | undefined> {
  const o = await tf.readOrGone(() => describeLb(id));
  if (o === 'gone') return undefined;
  const tags = await tf.nlb('ListTagResources', { 'ResourceId.1': id, ResourceType: 'loadbalancer' });
  return {
    address_ip_version: o.AddressIpVersion,
    address_type: o.AddressType,
    bandwidth_package_id: o.BandwidthPackageId ?? '',
    cross_zone_enabled: o.CrossZoneEnabled,
    ipv6_address_type: o.Ipv6AddressType,
    load_balancer_name: o.LoadBalancerName,
    load_balancer_type: o.LoadBalancerType,
    resource_group_id: o.ResourceGroupId,
    status: o.LoadBalancerStatus,
    vpc_id: o.VpcId,
    security_group_ids: o.SecurityGroupIds ?? [],
    zone_mappings: (o.ZoneMappings ?? []).map((z: any) => ({
      zone_id: z.ZoneId,
      vswitch_id: z.VSwitchId,
      status: z.Status,
      allocation_id: z.LoadBalancerAddresses?.[0]?.AllocationId,
      eni_id: z.LoadBalancerAddresses?.[0]?.EniId,
      ipv6_address: z.LoadBalancerAddresses?.[0]?.Ipv6Address,
      private_ipv4_address: z.LoadBalancerAddresses?.[0]?.PrivateIPv4Address,
      public_ipv4_address: z.LoadBalancerAddresses?.[0]?.PublicIPv4Address,
    })),
    tags: Object.fromEntries((tags.TagResources ?? []).map((t: any) => [t.TagKey, t.TagValue])),
  };
}

async function createLb(c: LbConfig): Promise<string> {
  const request: Record<string, unknown> = {
    ClientToken: token(),
    AddressType: c.address_type,
    VpcId: c.vpc_id,
    // Every field of every zone_mappings block goes out, set or not (d.Get's zero value).
    ZoneMappings: c.zone_mappings.map((z) => ({
      VSwitchId: z.vswitch_id,
      ZoneId: z.zone_id,
      AllocationId: z.allocation_id ?? '',
      PrivateIPv4Address: z.private_ipv4_address ?? '',
      Ipv6Address: '',
    })),
  };
  if (c.load_balancer_type) request.LoadBalancerType = c.load_balancer_type;
  if (c.load_balancer_name) request.LoadBalancerName = c.load_balancer_name;
  if (c.address_ip_version) request.AddressIpVersion = c.address_ip_version;
  if (c.tags) request.Tag = Object.entries(c.tags).map(([Key, Value]) => ({ Key, Value }));
  const reply = await tf.nlb('CreateLoadBalancer', request);
  const id = reply.LoadbalancerId as string;
  await waitLb(id, ['Active']);
  return id;
}

async function deleteLb(id: string): Promise<void> {
  const reply = await tf.nlb('DeleteLoadBalancer', { ClientToken: token(), LoadBalancerId: id });
  await tf.waitJob(NLB_VERSION, reply);
  await waitLb(id, ['']);
}

const TWO_ZONES = [
  { zone_id: 'cn-hangzhou-a', vswitch_id: 'vsw-local-a' },
  { zone_id: 'cn-hangzhou-b', vswitch_id: 'vsw-local-b' },
];

// --- tests ------------------------------------------------------------------------------------------

describe('alicloud_nlb_load_balancer', () => {
  test('Intranet: apply, refresh without diff, update in place, import, destroy, not found after', async () => {
    const config: LbConfig = {
      load_balancer_name: 'tf-nlb',
      load_balancer_type: 'Network',
      address_type: 'Intranet',
      address_ip_version: 'Ipv4',
      vpc_id: 'vpc-local',
      zone_mappings: TWO_ZONES,
      tags: { Created: 'TF', For: 'Test' },
    };
    const id = await createLb(config);
    let state = await readLb(id);
    // Spelled as sent (load_balancer_type and address_ip_version are ForceNew: a drift would replace).
    assert.deepEqual(planDiff({ ...config }, state), []);
    assert.equal(state!.bandwidth_package_id, '');
    const tagged = await tf.nlb('ListTagResources', { 'ResourceId.1': id, ResourceType: 'loadbalancer' });
    assert.ok(
      tagged.TagResources.every((t: any) => Number.isSafeInteger(t.AliUid) && String(t.AliUid).length === 16),
      'AliUid: the 16-digit account ID',
    );
    assert.ok(state!.zone_mappings.every((z: any) => z.private_ipv4_address && z.eni_id && z.status === 'Active'));

    // In place: name, cross-zone, tags.
    await tf.nlb('UpdateLoadBalancerAttribute', {
      ClientToken: token(),
      LoadBalancerId: id,
      LoadBalancerName: 'tf-nlb-renamed',
      CrossZoneEnabled: false,
    });
    await waitLb(id, ['Active']);
    await tf.nlb('UntagResources', { ClientToken: token(), 'ResourceId.1': id, ResourceType: 'loadbalancer', 'TagKey.1': 'For' });
    await tf.nlb('TagResources', {
      ClientToken: token(),
      'ResourceId.1': id,
      ResourceType: 'loadbalancer',
      'Tag.1.Key': 'Owner',
      'Tag.1.Value': 'ops',
    });
    const updated = { ...config, load_balancer_name: 'tf-nlb-renamed', cross_zone_enabled: false, tags: { Created: 'TF', Owner: 'ops' } };
    state = await readLb(id);
    assert.deepEqual(planDiff(updated, state), []);

    // Import by ID: the state read from the ID alone is the same.
    assert.deepEqual(await readLb(id), state);

    await deleteLb(id);
    assert.equal(await readLb(id), undefined, 'Read after destroy drops it from state');
    const gone = await tf.readOrGone(() => describeLb(id));
    assert.equal(gone, 'gone');
  });

  test('Internet: each zone gets a public address and an eip- AllocationId, and a listener answers on it', async () => {
    const config: LbConfig = { address_type: 'Internet', vpc_id: 'vpc-local', zone_mappings: TWO_ZONES, load_balancer_name: 'tf-internet' };
    const id = await createLb(config);
    const state = (await readLb(id))!;
    assert.deepEqual(planDiff({ ...config }, state), []);
    for (const zone of state.zone_mappings) {
      assert.match(zone.public_ipv4_address, /^127\.0\.100\.\d+$/);
      assert.match(zone.allocation_id, /^eip-/);
    }
    assert.notEqual(state.zone_mappings[0].public_ipv4_address, state.zone_mappings[1].public_ipv4_address);

    // A real client on the public address reaches the backend.
    const backend = await startTcpBackend('127.0.3.61', 'tf-backend');
    try {
      const group = await tf.nlb('CreateServerGroup', {
        ClientToken: token(),
        ServerGroupName: 'tf-public',
        VpcId: 'vpc-local',
        ServerGroupType: 'Ip',
        Protocol: 'TCP',
      });
      await tf.waitJob(NLB_VERSION, group);
      const add = await tf.nlb('AddServersToServerGroup', {
        ClientToken: token(),
        ServerGroupId: group.ServerGroupId,
        Servers: [{ ServerId: '127.0.3.61', ServerType: 'Ip', ServerIp: '', Port: backend.port, Weight: 100, Description: '' }],
      });
      await tf.waitJob(NLB_VERSION, add);
      const listener = await tf.nlb('CreateListener', {
        ClientToken: token(),
        LoadBalancerId: id,
        ListenerProtocol: 'TCP',
        ListenerPort: 18090,
        ServerGroupId: group.ServerGroupId,
      });
      await tf.waitJob(NLB_VERSION, listener);
      const reply = await tcpRoundTrip(state.zone_mappings[0].public_ipv4_address, 18090, 'ping');
      assert.equal(reply, 'tf-backend:ping');
      const del = await tf.nlb('DeleteListener', { ClientToken: token(), ListenerId: listener.ListenerId });
      await tf.waitJob(NLB_VERSION, del);
      await tf.waitJob(NLB_VERSION, await tf.nlb('DeleteServerGroup', { ClientToken: token(), ServerGroupId: group.ServerGroupId }));
    } finally {
      await backend.close();
    }

    // Intranet again: the EIPs (and their addresses) are released.
    const toIntranet = await tf.nlb('UpdateLoadBalancerAddressTypeConfig', {
      ClientToken: token(),
      LoadBalancerId: id,
      AddressType: 'Intranet',
    });
    await tf.waitJob(NLB_VERSION, toIntranet);
    const intranet = (await readLb(id))!;
    assert.deepEqual(planDiff({ address_type: 'Intranet' }, intranet), []);
    assert.ok(intranet.zone_mappings.every((z: any) => z.public_ipv4_address === undefined && z.allocation_id === undefined));
    await deleteLb(id);
  });

  test('an AllocationId the configuration names is kept', async () => {
    const id = await createLb({
      address_type: 'Internet',
      vpc_id: 'vpc-local',
      zone_mappings: [
        { ...TWO_ZONES[0], allocation_id: 'eip-tfnamed1' },
        { ...TWO_ZONES[1], allocation_id: 'eip-tfnamed2' },
      ],
    });
    const state = (await readLb(id))!;
    assert.deepEqual(state.zone_mappings.map((z: any) => z.allocation_id).sort(), ['eip-tfnamed1', 'eip-tfnamed2']);
    assert.ok(state.zone_mappings.every((z: any) => z.public_ipv4_address));
    await deleteLb(id);
  });

  test('DualStack: created with Ipv6Address= sent empty, IPv6 addresses answered, no diff', async () => {
    const config: LbConfig = { address_type: 'Intranet', address_ip_version: 'DualStack', vpc_id: 'vpc-local', zone_mappings: TWO_ZONES };
    const id = await createLb(config);
    const state = (await readLb(id))!;
    assert.deepEqual(planDiff({ ...config }, state), []);
    assert.equal(state.ipv6_address_type, 'Intranet');
    assert.ok(state.zone_mappings.every((z: any) => typeof z.ipv6_address === 'string' && z.ipv6_address.includes(':')));
    await deleteLb(id);
  });
});

describe('attachments on an NLB', () => {
  let lbId: string;
  before(async () => {
    lbId = await createLb({ address_type: 'Internet', vpc_id: 'vpc-local', zone_mappings: TWO_ZONES, load_balancer_name: 'tf-attach' });
  });
  after(async () => {
    if (lbId) await deleteLb(lbId);
  });

  test('alicloud_nlb_loadbalancer_common_bandwidth_package_attachment: attach, read, detach waits for ""', async () => {
    const id = `${lbId}:cbwp-tfpackage`;
    const read = async () => {
      const o = await describeLb(lbId);
      return o.BandwidthPackageId === '' ? ('gone' as const) : o; // the provider's not-found rule
    };
    const attach = await tf.nlb('AttachCommonBandwidthPackageToLoadBalancer', {
      ClientToken: token(),
      LoadBalancerId: lbId,
      BandwidthPackageId: 'cbwp-tfpackage',
    });
    await tf.waitJob(NLB_VERSION, attach);
    const state = await read();
    assert.notEqual(state, 'gone');
    assert.equal((state as any).BandwidthPackageId, 'cbwp-tfpackage');
    assert.equal(id.split(':')[1], (state as any).BandwidthPackageId, 'import by <lb>:<package> finds it');

    const detach = await tf.nlb('DetachCommonBandwidthPackageFromLoadBalancer', {
      ClientToken: token(),
      LoadBalancerId: lbId,
      BandwidthPackageId: 'cbwp-tfpackage',
    });
    await tf.waitJob(NLB_VERSION, detach);
    // The provider's delete waits until BandwidthPackageId is "" (an absent field would never match).
    await tf.waitFor(
      async () => describeLb(lbId),
      (o) => o.BandwidthPackageId,
      [''],
    );
    assert.equal(await read(), 'gone');
  });

  test('alicloud_nlb_load_balancer_security_group_attachment: join, read, leave, not found', async () => {
    const read = async () => {
      const o = await describeLb(lbId);
      return (o.SecurityGroupIds as string[]).includes('sg-tfgroup') ? o : ('gone' as const);
    };
    const join = await tf.nlb('LoadBalancerJoinSecurityGroup', {
      ClientToken: token(),
      LoadBalancerId: lbId,
      'SecurityGroupIds.1': 'sg-tfgroup',
    });
    await tf.waitJob(NLB_VERSION, join);
    assert.notEqual(await read(), 'gone');
    const leave = await tf.nlb('LoadBalancerLeaveSecurityGroup', {
      ClientToken: token(),
      LoadBalancerId: lbId,
      'SecurityGroupIds.1': 'sg-tfgroup',
    });
    await tf.waitJob(NLB_VERSION, leave);
    assert.equal(await read(), 'gone');
  });

  test('alicloud_nlb_load_balancer_zone_shifted_attachment: shift, read Shifted, cancel, not found', async () => {
    const zone = TWO_ZONES[0];
    const read = async () => {
      const o = await describeLb(lbId);
      const z = (o.ZoneMappings as any[]).find((m) => m.ZoneId === zone.zone_id && m.VSwitchId === zone.vswitch_id);
      return z && z.Status === 'Shifted' ? z : ('gone' as const);
    };
    const shift = await tf.nlb('StartShiftLoadBalancerZones', {
      ClientToken: token(),
      LoadBalancerId: lbId,
      ZoneMappings: [{ VSwitchId: zone.vswitch_id, ZoneId: zone.zone_id }],
    });
    await waitLb(lbId, ['Active']);
    assert.ok(shift.RequestId);
    const shifted = await read();
    assert.notEqual(shifted, 'gone');
    assert.equal((shifted as any).Status, 'Shifted');
    await tf.nlb('CancelShiftLoadBalancerZones', {
      ClientToken: token(),
      LoadBalancerId: lbId,
      ZoneMappings: [{ VSwitchId: zone.vswitch_id, ZoneId: zone.zone_id }],
    });
    await waitLb(lbId, ['Active']);
    assert.equal(await read(), 'gone');
  });
});

describe('alicloud_nlb_hd_monitor_region_config', () => {
  test('apply, refresh, update, import by region, destroy, not found', async () => {
    const describe = () => tf.readOrGone(() => tf.nlb('DescribeHdMonitorRegionConfig', {}));
    const set = (log_project: string, metric_store: string) =>
      tf.nlb('SetHdMonitorRegionConfig', { LogProject: log_project, MetricStore: metric_store });
    const created = await set('tf-hd-project', 'tf-hd-store');
    assert.equal(created.RegionId, 'cn-hangzhou');
    const read = async () => {
      const o = await describe();
      return o === 'gone' ? undefined : { log_project: o.LogProject, metric_store: o.MetricStore, region_id: o.RegionId };
    };
    assert.deepEqual(planDiff({ log_project: 'tf-hd-project', metric_store: 'tf-hd-store' }, await read()), []);
    await set('tf-hd-project', 'tf-hd-store-2');
    assert.deepEqual(planDiff({ log_project: 'tf-hd-project', metric_store: 'tf-hd-store-2', region_id: 'cn-hangzhou' }, await read()), []);

    await tf.nlb('DeleteHdMonitorRegionConfig', {});
    assert.equal(await read(), undefined);
    // A second destroy is "already gone" for the provider.
    const again = await tf.nlb('DeleteHdMonitorRegionConfig', {}).catch((e) => e);
    assert.equal(again.code, 'ResourceNotFound.RegionHdMonitorConfig');
    assert.ok(again.notFound);
  });
});
