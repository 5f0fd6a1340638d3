/**
 * Removing an appliance through the API while flows run (gwlb-api §5.6), end to end on loopback
 * with time on a manual clock: with connection draining on, the removed appliance keeps its
 * flows until ConnectionDrainTimeout and then they move; with draining off (the default), its
 * flows stay until they go idle. New flows never go to an appliance being removed.
 *
 * Own addresses: VIP pools 127.0.27.0/24 and 127.0.28.0/24, appliances and endpoint in
 * 127.0.29.0/24 (the BPF twin, drain-bpf.test.ts: 127.0.127–129.x, see engine.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import {
  addServers,
  appliances,
  createListener,
  createLoadBalancer,
  createServerGroup,
  gwlb,
  groupStatus,
  servers,
  until,
} from '../../products/gwlb/support.js';
import { startAppliance, startEndpoint, type ApplianceSim, type EndpointSim } from './harness.js';
import { flowName } from './packets.js';
import { address, afterClockMove, assertPath, octet, usePath } from './engine.js';
import { assertOneAppliancePerFlow, makeFlows, roundTrip, sample, scrape, sendFlows, type Flow } from './traffic.js';

const clock = new ManualClock(Date.now());
const ENDPOINT = address(29, 50);
let server: TestServer;
let endpoint: EndpointSim;
const sims: ApplianceSim[] = [];

before(async () => {
  server = await startTestServer({
    clock,
    configure: (c) => {
      // The clock only moves when a test says so; keep the in-process node counted as live.
      c.jobs.nodeTimeoutMs = 365 * 24 * 3600 * 1000;
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = `127.0.${octet(27)}.0/24`;
      b.vipPool = `127.0.${octet(28)}.0/24`;
      usePath(c);
    },
  });
  endpoint = await startEndpoint(ENDPOINT);
});

after(async () => {
  await Promise.all([...sims.map((s) => s.kill()), endpoint?.close()]);
  await server?.stop();
});

interface Rig {
  vips: string[];
  groupId: string;
  listenerId: string;
  first: ApplianceSim;
  second: ApplianceSim;
}

/** A GWLB with two appliances (health checks off, so both take flows at once). */
async function rig(hosts: [string, string], groupParams: Record<string, unknown>): Promise<Rig> {
  const [first, second] = await Promise.all(hosts.map((h) => startAppliance(h)));
  sims.push(first, second);
  const lb = await createLoadBalancer(server);
  const attrs = await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: lb });
  const vips = (attrs.ZoneMappings as Array<{ LoadBalancerAddresses: Array<{ PrivateIpv4Address: string }> }>).map(
    (z) => z.LoadBalancerAddresses[0].PrivateIpv4Address,
  );
  const groupId = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false }, ...groupParams });
  await addServers(server, groupId, appliances(...hosts));
  const listenerId = await createListener(server, { LoadBalancerId: lb, ServerGroupId: groupId });
  assertPath(server);
  return { vips, groupId, listenerId, first, second };
}

const counts = (sim: ApplianceSim) => Object.fromEntries(sim.flows);
const statuses = async (groupId: string) => (await servers(server, groupId)).map((s) => `${s.ServerId}:${s.Status}`).sort();

/** Clears what the appliances saw, sends one packet of each flow, and says who carried each. */
async function oneEach(r: Rig, flows: Flow[]): Promise<Map<string, string>> {
  r.first.flows.clear();
  r.second.flows.clear();
  for (const f of flows) assert.ok(await roundTrip(endpoint, r.vips[0], f), `${flowName(f.spec)} came back`);
  return assertOneAppliancePerFlow(flows, { [r.first.host]: counts(r.first), [r.second.host]: counts(r.second) }, 1);
}

test('draining on: a removed appliance keeps its flows until ConnectionDrainTimeout, takes no new ones, then its flows move', async () => {
  const r = await rig([address(29, 1), address(29, 2)], {
    ConnectionDrainConfig: { ConnectionDrainEnabled: true, ConnectionDrainTimeout: 60 },
  });
  const flows = [...makeFlows('drain', 30, 17, false, 41000), ...makeFlows('drain', 30, 6, false, 42000)];
  await sendFlows(endpoint, r.vips, flows);
  const carrier = assertOneAppliancePerFlow(flows, { [r.first.host]: counts(r.first), [r.second.host]: counts(r.second) });
  const pinned = flows.filter((f) => carrier.get(flowName(f.spec)) === r.first.host);
  assert.ok(pinned.length > 0 && pinned.length < flows.length, 'both appliances carry flows');

  await gwlb(server, 'RemoveServersFromServerGroup', { ServerGroupId: r.groupId, Servers: appliances(r.first.host) });
  await until(() => groupStatus(server, r.groupId), 'Available');
  assert.deepEqual(await statuses(r.groupId), [`${r.first.host}:Draining`, `${r.second.host}:Available`]);

  // While draining: pinned flows stay, new flows go to the other appliance.
  for (const [name, host] of await oneEach(r, pinned)) assert.equal(host, r.first.host, `${name} stays on the draining appliance`);
  const fresh = makeFlows('during drain', 20, 17, false, 43000);
  for (const [name, host] of await oneEach(r, fresh))
    assert.equal(host, r.second.host, `${name}: a new flow avoids the draining appliance`);

  // The drain ends: the appliance is gone and its flows (not idle yet) move.
  clock.advance(61_000);
  await afterClockMove(server);
  assert.deepEqual(await statuses(r.groupId), [`${r.second.host}:Available`]);
  for (const [name, host] of await oneEach(r, pinned)) assert.equal(host, r.second.host, `${name} moved after the drain`);
  const m = await scrape(server.running.adminUrl);
  assert.ok(
    sample(m, 'openslb_gwlb_flows_total', { listener: r.listenerId, event: 'rescheduled' }) >= pinned.length,
    'the moves are counted',
  );
});

test('draining off (default): a removed appliance keeps its flows until they go idle, takes no new ones', async () => {
  const r = await rig([address(29, 3), address(29, 4)], {});
  const flows = makeFlows('no drain', 40, 17, false, 44000);
  await sendFlows(endpoint, r.vips, flows);
  const carrier = assertOneAppliancePerFlow(flows, { [r.first.host]: counts(r.first), [r.second.host]: counts(r.second) });
  const pinned = flows.filter((f) => carrier.get(flowName(f.spec)) === r.second.host);
  assert.ok(pinned.length > 0 && pinned.length < flows.length, 'both appliances carry flows');

  await gwlb(server, 'RemoveServersFromServerGroup', { ServerGroupId: r.groupId, Servers: appliances(r.second.host) });
  await until(() => groupStatus(server, r.groupId), 'Available');
  assert.deepEqual(await statuses(r.groupId), [`${r.first.host}:Available`]);

  for (const [name, host] of await oneEach(r, pinned)) assert.equal(host, r.second.host, `${name} stays with the removed appliance`);
  const fresh = makeFlows('after removal', 20, 17, false, 45000);
  for (const [name, host] of await oneEach(r, fresh)) assert.equal(host, r.first.host, `${name}: a new flow avoids the removed appliance`);

  // Non-TCP flows idle out after 120 s; afterwards they are scheduled afresh.
  clock.advance(121_000);
  await afterClockMove(server);
  for (const [name, host] of await oneEach(r, pinned)) assert.equal(host, r.first.host, `${name} rescheduled after idling out`);
});
