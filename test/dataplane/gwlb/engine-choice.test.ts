/**
 * dataplane.gwlbEngine when BPF cannot be used (here: the object is missing, as after an install
 * without clang): `auto` falls back to the user-space forwarder and traffic flows; `bpf` fails
 * the listener's job and says why, instead of quietly forwarding another way.
 *
 * Own addresses: VIP pools 127.0.30.0/24 and 127.0.31.0/24, appliance and endpoint in
 * 127.0.32.0/24.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gwlbReconcilerOf } from '../../../src/server/dataplane.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { addServers, appliances, createLoadBalancer, createServerGroup, gwlb, listenerStatus } from '../../products/gwlb/support.js';
import { startAppliance, startEndpoint, type ApplianceSim, type EndpointSim } from './harness.js';
import { makeFlows, roundTrip } from './traffic.js';

process.env.OPENSLB_GWLB_BPF_OBJECT = `/nonexistent/openslb-${process.pid}/gwlb.bpf.o`;

let appliance: ApplianceSim;
let endpoint: EndpointSim;
const servers: TestServer[] = [];

before(async () => {
  appliance = await startAppliance('127.0.32.1');
  endpoint = await startEndpoint('127.0.32.50');
});

after(async () => {
  await Promise.all([appliance?.kill(), endpoint?.close()]);
  for (const s of servers) await s.stop();
});

async function gwlbOn(engine: 'auto' | 'bpf', pool: string): Promise<{ server: TestServer; lb: string; sg: string }> {
  const server = await startTestServer({
    configure: (c) => {
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = `127.0.${pool}.0/25`;
      b.vipPool = `127.0.${pool}.128/25`;
      c.dataplane.gwlbEngine = engine;
    },
  });
  servers.push(server);
  const lb = await createLoadBalancer(server);
  const sg = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false } });
  await addServers(server, sg, appliances(appliance.host));
  return { server, lb, sg };
}

test('auto: without a usable BPF object the GWLB forwards in user space', async () => {
  const { server, lb, sg } = await gwlbOn('auto', '30');
  const { ListenerId } = await gwlb(server, 'CreateListener', { LoadBalancerId: lb, ServerGroupId: sg });
  let status: string | undefined;
  for (let i = 0; i < 500 && status !== 'Running'; i++) {
    status = await listenerStatus(server, ListenerId);
    if (status !== 'Running') await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(status, 'Running');
  assert.equal(gwlbReconcilerOf(server.running.node!)?.engine, 'userspace');
  const vip = (await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: lb })).ZoneMappings[0].LoadBalancerAddresses[0]
    .PrivateIpv4Address as string;
  const [flow] = makeFlows('fallback', 1, 17, false, 46000);
  assert.ok(await roundTrip(endpoint, vip, flow), 'a GENEVE packet went round through the user-space forwarder');
});

test('bpf: without a usable BPF object the listener job fails and says why', async () => {
  const { server, lb, sg } = await gwlbOn('bpf', '31');
  const { ListenerId } = await gwlb(server, 'CreateListener', { LoadBalancerId: lb, ServerGroupId: sg });
  let job: { status: string; error_message: string | null } | undefined;
  for (let i = 0; i < 500; i++) {
    job = await server.running.store.db
      .selectFrom('jobs')
      .select(['status', 'error_message'])
      .where('resource_id', '=', ListenerId)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (job?.status === 'Failed' || job?.status === 'Succeeded') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(job?.status, 'Failed', `the job failed: ${JSON.stringify(job)}`);
  assert.match(job?.error_message ?? '', /BPF fast path cannot be used: the BPF object .* was not built/);
  assert.notEqual(await listenerStatus(server, ListenerId), 'Running');
});
