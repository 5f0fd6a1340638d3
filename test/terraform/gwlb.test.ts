/**
 * `alicloud_gwlb_load_balancer`, `alicloud_gwlb_server_group` and `alicloud_gwlb_listener`, and the
 * GWLB data sources, replayed as the alicloud provider drives them: GWLB answers no JobId, so
 * every wait polls a status field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type TestServer } from '../support/server.js';
import { planDiff, type TerraformProvider } from '../support/terraform-provider.js';
import { clientToken, startTerraformTarget } from '../support/terraform-target.js';

let server: TestServer;
let tf: TerraformProvider;
before(async () => {
  ({ server, tf } = await startTerraformTarget());
});
after(() => server?.stop());

const token = clientToken;
const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const tagMap = (tags: any[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

// --- alicloud_gwlb_load_balancer ------------------------------------------------------------------

const describeLb = (id: string) => tf.readOrGone(() => tf.gwlb('GetLoadBalancerAttribute', { LoadBalancerId: id }));

async function readLb(id: string) {
  const o = await describeLb(id);
  if (o === 'gone') return undefined;
  return {
    address_ip_version: o.AddressIpVersion,
    load_balancer_name: o.LoadBalancerName,
    resource_group_id: o.ResourceGroupId,
    status: o.LoadBalancerStatus,
    vpc_id: o.VpcId,
    tags: tagMap(o.Tags),
    zone_mappings: (o.ZoneMappings ?? []).map((z: any) => ({
      zone_id: z.ZoneId,
      vswitch_id: z.VSwitchId,
      load_balancer_addresses: (z.LoadBalancerAddresses ?? []).map((a: any) => ({
        eni_id: a.EniId,
        private_ipv4_address: a.PrivateIpv4Address,
      })),
    })),
  };
}

async function createLb(config: {
  load_balancer_name: string;
  vpc_id: string;
  zone_mappings: Array<{ zone_id: string; vswitch_id: string }>;
  tags?: Record<string, string>;
}) {
  const request: Record<string, unknown> = { ClientToken: token(), VpcId: config.vpc_id, LoadBalancerName: config.load_balancer_name };
  if (config.tags) request.Tags = tagList(config.tags); // the provider's spelling: Tags.N.Key
  request.ZoneMappings = config.zone_mappings.map((z) => ({ ZoneId: z.zone_id, VSwitchId: z.vswitch_id }));
  const reply = await tf.gwlb('CreateLoadBalancer', request);
  const id = reply.LoadBalancerId as string;
  await tf.waitFor(
    () => describeLb(id),
    (o) => o.LoadBalancerStatus,
    ['Active'],
  );
  return id;
}

describe('alicloud_gwlb_load_balancer', () => {
  test('one zone mapping in a two-zone region, Tags.N: apply, refresh, update zones and name, import, destroy', async () => {
    const config = {
      load_balancer_name: 'tf-gwlb',
      vpc_id: 'vpc-local',
      zone_mappings: [{ zone_id: 'cn-hangzhou-a', vswitch_id: 'vsw-local-a' }],
      tags: { Created: 'TF', For: 'Test' },
    };
    const id = await createLb(config);
    let state = await readLb(id);
    assert.deepEqual(
      planDiff(
        { load_balancer_name: config.load_balancer_name, vpc_id: config.vpc_id, tags: config.tags, address_ip_version: 'Ipv4' },
        state,
      ),
      [],
    );
    assert.equal(state!.zone_mappings.length, 1);
    assert.deepEqual(planDiff(config.zone_mappings[0], state!.zone_mappings[0]), []);
    assert.ok(state!.zone_mappings[0].load_balancer_addresses[0].private_ipv4_address);

    await tf.gwlb('UpdateLoadBalancerAttribute', { ClientToken: token(), LoadBalancerId: id, LoadBalancerName: 'tf-gwlb-2' });
    await tf.waitFor(
      () => describeLb(id),
      (o) => o.LoadBalancerStatus,
      ['Active'],
    );
    const zones = [...config.zone_mappings, { zone_id: 'cn-hangzhou-b', vswitch_id: 'vsw-local-b' }];
    await tf.gwlb('UpdateLoadBalancerZones', {
      ClientToken: token(),
      LoadBalancerId: id,
      ZoneMappings: zones.map((z) => ({ ZoneId: z.zone_id, VSwitchId: z.vswitch_id })),
    });
    await tf.waitFor(
      () => describeLb(id),
      (o) => o.LoadBalancerStatus,
      ['Active'],
    );
    // Tags: the provider's SetResourceTags.
    await tf.gwlb('UntagResources', { ClientToken: token(), ResourceType: 'loadbalancer', 'ResourceId.1': id, 'TagKey.1': 'For' });
    state = await readLb(id);
    assert.deepEqual(planDiff({ load_balancer_name: 'tf-gwlb-2', tags: { Created: 'TF' } }, state), []);
    assert.deepEqual(state!.zone_mappings.map((z: any) => z.zone_id).sort(), ['cn-hangzhou-a', 'cn-hangzhou-b']);
    assert.deepEqual(await readLb(id), state, 'import by ID');

    await tf.gwlb('DeleteLoadBalancer', { ClientToken: token(), LoadBalancerId: id });
    await tf.waitFor(
      () => describeLb(id),
      (o) => o.LoadBalancerStatus,
      [''],
    );
    assert.equal(await readLb(id), undefined);
    // Destroying again is "already gone".
    const again = await tf.gwlb('DeleteLoadBalancer', { ClientToken: token(), LoadBalancerId: id }).catch((e) => e);
    assert.ok(again.notFound, again.message);
  });
});

// --- alicloud_gwlb_server_group -------------------------------------------------------------------

const describeGroup = async (id: string) => {
  const reply = await tf.gwlb('ListServerGroups', { 'ServerGroupIds.1': id });
  return (reply.ServerGroups[0] as Record<string, any> | undefined) ?? ('gone' as const);
};
const listServers = (id: string) => tf.gwlb('ListServerGroupServers', { ServerGroupId: id, MaxResults: 100 });

async function readGroup(id: string) {
  const o = await describeGroup(id);
  if (o === 'gone') return undefined;
  const hc = o.HealthCheckConfig ?? {};
  const servers = await listServers(id);
  return {
    protocol: o.Protocol,
    resource_group_id: o.ResourceGroupId,
    scheduler: o.Scheduler,
    server_group_name: o.ServerGroupName,
    server_group_type: o.ServerGroupType,
    status: o.ServerGroupStatus,
    vpc_id: o.VpcId,
    connection_drain_config: {
      connection_drain_enabled: o.ConnectionDrainConfig?.ConnectionDrainEnabled,
      connection_drain_timeout: o.ConnectionDrainConfig?.ConnectionDrainTimeout,
    },
    health_check_config: {
      health_check_connect_port: hc.HealthCheckConnectPort,
      health_check_connect_timeout: hc.HealthCheckConnectTimeout,
      health_check_domain: hc.HealthCheckDomain,
      health_check_enabled: hc.HealthCheckEnabled,
      health_check_interval: hc.HealthCheckInterval,
      health_check_path: hc.HealthCheckPath,
      health_check_protocol: hc.HealthCheckProtocol,
      healthy_threshold: hc.HealthyThreshold,
      unhealthy_threshold: hc.UnhealthyThreshold,
      health_check_http_code: hc.HealthCheckHttpCode ?? [],
    },
    tags: tagMap(o.Tags),
    servers: (servers.Servers as any[]).map((s) => ({
      port: 6081,
      server_group_id: s.ServerGroupId,
      server_id: s.ServerId,
      server_ip: s.ServerIp,
      server_type: s.ServerType,
      status: s.Status,
    })),
  };
}

describe('alicloud_gwlb_server_group', () => {
  test('a partial health_check_config (zeros for the rest): apply with defaults, refresh, add servers, update, import, destroy', async () => {
    // What the provider sends for `health_check_config { health_check_protocol = "HTTP"
    // health_check_path = "/health" health_check_enabled = true }`: the unset integers as 0.
    const reply = await tf.gwlb('CreateServerGroup', {
      ClientToken: token(),
      ServerGroupName: 'tf-gwlb-group',
      ServerGroupType: 'Ip',
      VpcId: 'vpc-local',
      Protocol: 'GENEVE',
      Scheduler: '5TCH',
      Tags: tagList({ Created: 'TF' }),
      HealthCheckConfig: {
        HealthCheckConnectTimeout: 0,
        HealthCheckConnectPort: 0,
        HealthCheckPath: '/health',
        HealthCheckEnabled: true,
        HealthCheckHttpCode: ['http_2xx'],
        HealthCheckProtocol: 'HTTP',
        HealthCheckDomain: '',
      },
    });
    const id = reply.ServerGroupId as string;
    await tf.waitFor(
      () => describeGroup(id),
      (o) => o.ServerGroupStatus,
      ['Available'],
    );
    let state = await readGroup(id);
    const config = {
      server_group_name: 'tf-gwlb-group',
      server_group_type: 'Ip',
      vpc_id: 'vpc-local',
      protocol: 'GENEVE',
      scheduler: '5TCH',
      tags: { Created: 'TF' },
      health_check_config: {
        health_check_path: '/health',
        health_check_enabled: true,
        health_check_protocol: 'HTTP',
        health_check_http_code: ['http_2xx'],
      },
    };
    assert.deepEqual(planDiff(config, state), []);
    // The zeros were "not set": the documented defaults.
    assert.deepEqual(
      [
        state!.health_check_config.health_check_connect_port,
        state!.health_check_config.health_check_connect_timeout,
        state!.health_check_config.health_check_interval,
      ],
      [80, 5, 10],
    );

    // servers (the provider adds them in its update step) and an in-place change.
    await tf.gwlb('AddServersToServerGroup', {
      ClientToken: token(),
      ServerGroupId: id,
      Servers: [{ ServerId: '10.8.0.11', ServerIp: '10.8.0.11', ServerType: 'Ip', Port: 6081 }],
    });
    await tf.waitFor(
      () => describeGroup(id),
      (o) => o.ServerGroupStatus,
      ['Available'],
    );
    await tf.gwlb('UpdateServerGroupAttribute', {
      ClientToken: token(),
      ServerGroupId: id,
      ServerGroupName: 'tf-gwlb-group-2',
      HealthCheckConfig: {
        HealthCheckConnectTimeout: 0,
        HealthCheckConnectPort: 8080,
        HealthCheckPath: '/health',
        HealthCheckEnabled: true,
        HealthCheckProtocol: 'HTTP',
        HealthCheckDomain: '',
      },
      ConnectionDrainConfig: { ConnectionDrainEnabled: true, ConnectionDrainTimeout: 30 },
    });
    await tf.waitFor(
      () => describeGroup(id),
      (o) => o.ServerGroupStatus,
      ['Available'],
    );
    state = await readGroup(id);
    assert.deepEqual(
      planDiff(
        {
          ...config,
          server_group_name: 'tf-gwlb-group-2',
          health_check_config: { ...config.health_check_config, health_check_connect_port: 8080 },
          connection_drain_config: { connection_drain_enabled: true, connection_drain_timeout: 30 },
        },
        state,
      ),
      [],
    );
    assert.deepEqual(
      state!.servers.map((s: any) => [s.server_id, s.server_ip, s.server_type]),
      [['10.8.0.11', '10.8.0.11', 'Ip']],
    );
    assert.deepEqual(await readGroup(id), state, 'import by ID');

    // Destroy: remove the servers (draining off, or they would drain for 30 s first), delete,
    // then the provider waits for ListServerGroupServers to answer 200 with no servers.
    await tf.gwlb('UpdateServerGroupAttribute', {
      ClientToken: token(),
      ServerGroupId: id,
      ConnectionDrainConfig: { ConnectionDrainEnabled: false },
    });
    await tf.waitFor(
      () => describeGroup(id),
      (o) => o.ServerGroupStatus,
      ['Available'],
    );
    await tf.gwlb('RemoveServersFromServerGroup', {
      ClientToken: token(),
      ServerGroupId: id,
      Servers: [{ ServerId: '10.8.0.11', ServerIp: '10.8.0.11', ServerType: 'Ip', Port: 6081 }],
    });
    await tf.waitFor(
      () => describeGroup(id),
      (o) => o.ServerGroupStatus,
      ['Available'],
    );
    await tf.gwlb('DeleteServerGroup', { ClientToken: token(), ServerGroupId: id });
    await tf.waitFor(
      () => listServers(id),
      (o) => (o.Servers as unknown[]).length,
      ['0'],
    );
    assert.equal(await readGroup(id), undefined);
  });
});

// --- alicloud_gwlb_listener -----------------------------------------------------------------------

describe('alicloud_gwlb_listener', () => {
  test('apply, refresh, switch server group and description, import, destroy, not found', async () => {
    const lbId = await createLb({
      load_balancer_name: 'tf-gwlb-lsn',
      vpc_id: 'vpc-local',
      zone_mappings: [{ zone_id: 'cn-hangzhou-a', vswitch_id: 'vsw-local-a' }],
    });
    const group = async (name: string) => {
      const reply = await tf.gwlb('CreateServerGroup', {
        ClientToken: token(),
        ServerGroupName: name,
        VpcId: 'vpc-local',
        ServerGroupType: 'Ip',
        HealthCheckConfig: { HealthCheckConnectTimeout: 0, HealthCheckConnectPort: 0, HealthCheckEnabled: false },
      });
      await tf.waitFor(
        () => describeGroup(reply.ServerGroupId),
        (o) => o.ServerGroupStatus,
        ['Available'],
      );
      return reply.ServerGroupId as string;
    };
    const first = await group('tf-lsn-a');
    const second = await group('tf-lsn-b');
    const describe = (id: string) => tf.readOrGone(() => tf.gwlb('GetListenerAttribute', { ListenerId: id }));
    const read = async (id: string) => {
      const o = await describe(id);
      return o === 'gone'
        ? undefined
        : {
            listener_description: o.ListenerDescription,
            load_balancer_id: o.LoadBalancerId,
            server_group_id: o.ServerGroupId,
            status: o.ListenerStatus,
            tags: tagMap(o.Tags),
          };
    };
    const created = await tf.gwlb('CreateListener', {
      ClientToken: token(),
      LoadBalancerId: lbId,
      ServerGroupId: first,
      ListenerDescription: 'tf-listener',
      Tags: tagList({ Created: 'TF' }),
    });
    const id = created.ListenerId as string;
    await tf.waitFor(
      () => describe(id),
      (o) => o.ListenerStatus,
      ['Running'],
    );
    const config = { listener_description: 'tf-listener', load_balancer_id: lbId, server_group_id: first, tags: { Created: 'TF' } };
    assert.deepEqual(planDiff(config, await read(id)), []);

    await tf.gwlb('UpdateListenerAttribute', {
      ClientToken: token(),
      ListenerId: id,
      ServerGroupId: second,
      ListenerDescription: 'tf-listener-2',
    });
    await tf.waitFor(
      () => describe(id),
      (o) => o.ListenerStatus,
      ['Running'],
    );
    const state = await read(id);
    assert.deepEqual(planDiff({ ...config, server_group_id: second, listener_description: 'tf-listener-2' }, state), []);
    assert.deepEqual(await read(id), state, 'import by ID');

    await tf.gwlb('DeleteListener', { ClientToken: token(), ListenerId: id });
    await tf.waitFor(
      () => describe(id),
      (o) => o.ListenerStatus,
      [''],
    );
    assert.equal(await read(id), undefined);

    // Data sources: gwlb_load_balancers, gwlb_server_groups, gwlb_listeners, gwlb_zones.
    assert.deepEqual(
      (await tf.gwlb('ListLoadBalancers', { 'LoadBalancerIds.1': lbId })).LoadBalancers.map((l: any) => l.LoadBalancerId),
      [lbId],
    );
    assert.deepEqual(
      (await tf.gwlb('ListServerGroups', { 'ServerGroupNames.1': 'tf-lsn-b' })).ServerGroups.map((g: any) => g.ServerGroupId),
      [second],
    );
    assert.deepEqual((await tf.gwlb('ListListeners', { 'LoadBalancerIds.1': lbId })).Listeners, []);
    assert.deepEqual((await tf.gwlb('DescribeZones', {})).Zones.map((z: any) => z.ZoneId).sort(), ['cn-hangzhou-a', 'cn-hangzhou-b']);

    await tf.gwlb('DeleteLoadBalancer', { ClientToken: token(), LoadBalancerId: lbId });
    for (const g of [first, second]) await tf.gwlb('DeleteServerGroup', { ClientToken: token(), ServerGroupId: g });
  });
});
