/**
 * The README's Terraform example, read from README.md and applied the way the provider applies
 * it (resource by resource, references resolved to IDs), then refreshed without a diff, used by
 * a real client, and destroyed in reverse order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';
import { type TestServer } from '../support/server.js';
import { NLB_VERSION, planDiff, type TerraformProvider } from '../support/terraform-provider.js';
import { clientToken, startTerraformTarget } from '../support/terraform-target.js';
import { fencedBlocks, parseHcl, type HclBlock, type HclBody, type HclValue } from './hcl.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const [providerHcl, exampleHcl] = fencedBlocks(readme, 'Terraform', 'hcl');

let server: TestServer;
let tf: TerraformProvider;
let backend: TcpBackend;
before(async () => {
  ({ server, tf } = await startTerraformTarget({
    // VIP pools of this test's own, so port 8080 on the first VIP is free of other tests' NLBs.
    configure: (c) => {
      c.regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.77.0/24';
      c.regions[0].vpcs[0].vSwitches[1].vipPool = '127.0.78.0/24';
    },
  }));
  backend = await startTcpBackend('127.0.3.80', 'readme-backend', 18080);
});
after(async () => {
  await backend?.close();
  await server?.stop();
});

const token = clientToken;

test('the provider block points the nlb and gwlb endpoints at OpenSLB over HTTP', () => {
  const [provider] = parseHcl(providerHcl);
  assert.deepEqual([provider.type, provider.labels], ['provider', ['alicloud']]);
  assert.equal(provider.body.protocol, 'HTTP');
  const endpoints = (provider.body.endpoints as HclBody[])[0];
  assert.equal(endpoints.nlb, '127.0.0.1:8080');
  assert.equal(endpoints.gwlb, '127.0.0.1:8080');
});

test('the example configuration applies, plans clean, carries traffic and destroys', async () => {
  const blocks = parseHcl(exampleHcl);
  const ids = new Map<string, string>();
  const resolve = (v: HclValue): unknown => {
    if (typeof v === 'object' && v !== null && 'ref' in v && typeof v.ref === 'string') {
      const address = v.ref.replace(/\.id$/, '');
      const id = ids.get(address);
      assert.ok(id, `reference to ${v.ref} before it was applied`);
      return id;
    }
    return v;
  };
  const attrs = (b: HclBlock) =>
    Object.fromEntries(
      Object.entries(b.body)
        .filter(([, v]) => !Array.isArray(v))
        .map(([k, v]) => [k, resolve(v as HclValue)]),
    ) as Record<string, any>;

  // apply, in order (each resource's references are to ones above it)
  const applied: Array<{ block: HclBlock; id: string }> = [];
  for (const block of blocks) {
    assert.equal(block.type, 'resource');
    const [type, name] = block.labels;
    const a = attrs(block);
    let id: string;
    if (type === 'alicloud_nlb_load_balancer') {
      const reply = await tf.nlb('CreateLoadBalancer', {
        ClientToken: token(),
        LoadBalancerName: a.load_balancer_name,
        LoadBalancerType: a.load_balancer_type,
        AddressType: a.address_type,
        AddressIpVersion: a.address_ip_version,
        VpcId: a.vpc_id,
        ZoneMappings: (block.body.zone_mappings as HclBody[]).map((z) => ({
          VSwitchId: z.vswitch_id,
          ZoneId: z.zone_id,
          AllocationId: '',
          PrivateIPv4Address: '',
          Ipv6Address: '',
        })),
        Tag: Object.entries((a.tags ?? {}) as Record<string, string>).map(([Key, Value]) => ({ Key, Value })),
      });
      id = reply.LoadbalancerId;
      await tf.waitFor(
        () => tf.nlb('GetLoadBalancerAttribute', {}, { LoadBalancerId: id }),
        (o) => o.LoadBalancerStatus,
        ['Active'],
      );
    } else if (type === 'alicloud_nlb_server_group') {
      const hc = (block.body.health_check as HclBody[] | undefined)?.[0] ?? {};
      const reply = await tf.nlb('CreateServerGroup', {
        ClientToken: token(),
        ServerGroupName: a.server_group_name,
        ServerGroupType: a.server_group_type,
        Protocol: a.protocol,
        Scheduler: a.scheduler,
        VpcId: a.vpc_id,
        HealthCheckConfig: {
          HealthCheckEnabled: hc.health_check_enabled ?? false,
          HealthCheckType: hc.health_check_type ?? '',
          HealthCheckConnectPort: 0,
          HealthCheckDomain: '',
          HealthCheckUrl: '',
          HttpCheckMethod: '',
        },
      });
      id = reply.ServerGroupId;
      await tf.waitJob(NLB_VERSION, reply);
    } else if (type === 'alicloud_nlb_server_group_server_attachment') {
      const reply = await tf.nlb('AddServersToServerGroup', {
        ClientToken: token(),
        ServerGroupId: a.server_group_id,
        Servers: [{ ServerId: a.server_id, ServerType: a.server_type, ServerIp: '', Port: a.port, Weight: a.weight, Description: '' }],
      });
      await tf.waitJob(NLB_VERSION, reply);
      id = `${a.server_group_id}:${a.server_id}:${a.server_type}:${a.port}`;
    } else if (type === 'alicloud_nlb_listener') {
      const reply = await tf.nlb('CreateListener', {
        ClientToken: token(),
        LoadBalancerId: a.load_balancer_id,
        ListenerProtocol: a.listener_protocol,
        ListenerPort: a.listener_port,
        ServerGroupId: a.server_group_id,
      });
      await tf.waitJob(NLB_VERSION, reply);
      id = reply.ListenerId;
    } else {
      assert.fail(`the example uses ${type}, which this test does not apply`);
    }
    ids.set(`${type}.${name}`, id);
    applied.push({ block, id });
  }

  // plan after refresh: no diff on any attribute the example sets
  for (const { block, id } of applied) {
    const [type] = block.labels;
    const a = attrs(block);
    let state: Record<string, unknown>;
    if (type === 'alicloud_nlb_load_balancer') {
      const o = await tf.nlb('GetLoadBalancerAttribute', {}, { LoadBalancerId: id });
      state = {
        load_balancer_name: o.LoadBalancerName,
        load_balancer_type: o.LoadBalancerType,
        address_type: o.AddressType,
        address_ip_version: o.AddressIpVersion,
        vpc_id: o.VpcId,
        tags: Object.fromEntries(o.Tags.map((t: any) => [t.TagKey, t.TagValue])),
      };
    } else if (type === 'alicloud_nlb_server_group') {
      const o = (await tf.nlb('ListServerGroups', { 'ServerGroupIds.1': id })).ServerGroups[0];
      state = {
        server_group_name: o.ServerGroupName,
        server_group_type: o.ServerGroupType,
        protocol: o.Protocol,
        scheduler: o.Scheduler,
        vpc_id: o.VpcId,
      };
    } else if (type === 'alicloud_nlb_server_group_server_attachment') {
      const o = (await tf.nlb('ListServerGroupServers', { ServerGroupId: a.server_group_id, 'ServerIds.1': a.server_id })).Servers[0];
      state = { server_group_id: o.ServerGroupId, server_type: o.ServerType, server_id: o.ServerId, port: o.Port, weight: o.Weight };
    } else {
      const o = await tf.nlb('GetListenerAttribute', {}, { ListenerId: id });
      state = {
        load_balancer_id: o.LoadBalancerId,
        listener_protocol: o.ListenerProtocol,
        listener_port: o.ListenerPort,
        server_group_id: o.ServerGroupId,
      };
    }
    assert.deepEqual(planDiff(a, state), [], `${block.labels.join('.')} plans a change`);
  }

  // a real client through the listener, on the NLB's first VIP
  const lb = await tf.nlb('GetLoadBalancerAttribute', {}, { LoadBalancerId: ids.get('alicloud_nlb_load_balancer.web')! });
  const vip = lb.ZoneMappings[0].LoadBalancerAddresses[0].PrivateIPv4Address;
  assert.equal(await tcpRoundTrip(vip, 8080, 'hi'), 'readme-backend:hi');

  // destroy in reverse
  for (const { block, id } of applied.reverse()) {
    const [type] = block.labels;
    const a = attrs(block);
    if (type === 'alicloud_nlb_listener')
      await tf.waitJob(NLB_VERSION, await tf.nlb('DeleteListener', { ClientToken: token(), ListenerId: id }));
    else if (type === 'alicloud_nlb_server_group_server_attachment')
      await tf.waitJob(
        NLB_VERSION,
        await tf.nlb('RemoveServersFromServerGroup', {
          ClientToken: token(),
          ServerGroupId: a.server_group_id,
          Servers: [{ ServerId: a.server_id, ServerType: a.server_type, Port: a.port }],
        }),
      );
    else if (type === 'alicloud_nlb_server_group')
      await tf.waitJob(NLB_VERSION, await tf.nlb('DeleteServerGroup', { ClientToken: token(), ServerGroupId: id }));
    else await tf.waitJob(NLB_VERSION, await tf.nlb('DeleteLoadBalancer', { ClientToken: token(), LoadBalancerId: id }));
  }
  const gone = await tf.readOrGone(() =>
    tf.nlb('GetLoadBalancerAttribute', {}, { LoadBalancerId: ids.get('alicloud_nlb_load_balancer.web')! }),
  );
  assert.equal(gone, 'gone');
});
