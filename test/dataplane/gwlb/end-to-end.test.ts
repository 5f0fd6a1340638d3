/**
 * The GWLB end to end on loopback, configured only through the API with the official client:
 * a load balancer with a VIP per zone, a GENEVE server group of two Ip appliances — each its
 * own process, returning every packet it receives (one-arm hairpin) — and a listener. A GWLB
 * endpoint in this process encapsulates TCP and UDP flows (inner IPv4 and IPv6), both
 * directions of each, to the VIPs. Then one appliance is killed with SIGKILL, the API reports
 * it unhealthy, and new flows go to the survivor. /metrics is read throughout.
 *
 * Addresses are this file's own (VIP pools 127.0.21.0/24 and 127.0.22.0/24, appliances and the
 * endpoint in 127.0.23.0/24; its BPF twin, end-to-end-bpf.test.ts, adds 100 to the third octet)
 * so no other test's listener on UDP 6081 can collide with them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../support/server.js';
import { moveTimeUntil } from '../../support/moved-time.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { startApplianceProcess, type ApplianceProcess, type ApplianceStats } from '../../support/gwlb-appliance-process.js';
import { addServers, appliances, createListener, createLoadBalancer, createServerGroup, gwlb } from '../../products/gwlb/support.js';
import { startEndpoint, type EndpointSim } from './harness.js';
import { GWLB_PATH, address, assertPath, octet, usePath } from './engine.js';
import { flowName, ipPacket } from './packets.js';
import {
  assertOneAppliancePerFlow,
  makeFlows,
  newSent,
  roundTrip as roundTripVia,
  sample,
  scrape as scrapeMetrics,
  sendFlows as sendFlowsVia,
  type Flow,
  type Metric,
  type Sent,
} from './traffic.js';

const APPLIANCE_A = address(23, 1);
const APPLIANCE_B = address(23, 2);
const ENDPOINT = address(23, 50);
const HEALTH_PORT = GWLB_PATH === 'bpf' ? 18181 : 18081;
const KEY_A = `${APPLIANCE_A}:6081`;
const KEY_B = `${APPLIANCE_B}:6081`;
/** ReasonCodes GetListenerHealthStatus may give (gwlb-api §3.13). */
const REASON_CODES = [
  'CONNECT_TIMEOUT',
  'CONNECT_FAILED',
  'RECV_RESPONSE_TIMEOUT',
  'CONNECT_INTERRUPT',
  'HTTP_CODE_NOT_MATCH',
  'HTTP_INVALID_HEADER',
];
/** GWLB options added per packet towards an appliance: (4 + 8) + (4 + 8) + (4 + 4) bytes. */
const GWLB_OPTIONS_BYTES = 32;

let server: TestServer;
// Health-check intervals run on these: waiting for a verdict moves them a probe interval at a time.
const timers = new ManualScheduler(Date.now());
let applianceA: ApplianceProcess;
let applianceB: ApplianceProcess;
let endpoint: EndpointSim;
let listenerId = '';
let serverGroupId = '';
let loadBalancerId = '';
let vips: string[] = [];

before(async () => {
  server = await startTestServer({
    timers,
    configure: (c) => {
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = `127.0.${octet(21)}.0/24`;
      b.vipPool = `127.0.${octet(22)}.0/24`;
      usePath(c);
    },
  });
  [applianceA, applianceB] = await Promise.all([
    startApplianceProcess(APPLIANCE_A, HEALTH_PORT),
    startApplianceProcess(APPLIANCE_B, HEALTH_PORT),
  ]);
  endpoint = await startEndpoint(ENDPOINT);
});

after(async () => {
  await Promise.all([applianceA?.stop(), applianceB?.stop(), endpoint?.close()]);
  await server?.stop();
});

// ---------------------------------------------------------------------------------------------
// Helpers.

type Health = { ServerId: string; Status: string; Reason?: { ReasonCode: string } };

async function health(): Promise<Map<string, Health>> {
  const reply = await gwlb(server, 'GetListenerHealthStatus', { ListenerId: listenerId });
  const servers = reply.ListenerHealthStatus[0].ServerGroupInfos[0].Servers as Health[];
  return new Map(servers.map((s) => [s.ServerId, s]));
}

/** Moves time a probe interval (1 s) at a time until GetListenerHealthStatus shows `wanted`; bounded by steps. */
async function untilHealth(wanted: (h: Map<string, Health>) => boolean, what: string): Promise<Map<string, Health>> {
  let last = new Map<string, Health>();
  try {
    await moveTimeUntil(timers, 1000, what, async () => wanted((last = await health())), 300);
  } catch {
    assert.fail(`${what}: still ${JSON.stringify([...last.values()])}`);
  }
  return last;
}

/** Every sample on this server's /metrics. */
const scrape = () => scrapeMetrics(server.running.adminUrl);
/** Appliance host → flow-name counts, as the appliance processes report them. */
const seenBy = (stats: Record<string, ApplianceStats>) => Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.flows]));

// ---------------------------------------------------------------------------------------------

const firstFlows = [
  ...makeFlows('first', 50, 6, false, 20000),
  ...makeFlows('first', 50, 17, false, 21000),
  ...makeFlows('first', 20, 6, true, 22000),
  ...makeFlows('first', 20, 17, true, 23000),
];
const firstSent: Sent = newSent();
const sendFlows = (flows: Flow[], sent: Sent = newSent()) => sendFlowsVia(endpoint, vips, flows, sent);
const roundTrip = (f: Flow) => roundTripVia(endpoint, vips[0], f);
const last = <T>(list: T[]) => list[list.length - 1];
/** Flow name → the appliance host that carried it in the first round. */
let firstCarrier = new Map<string, string>();

test('the GWLB is set up through the API: VIPs from the vSwitch pools, appliances healthy, listener Running', async () => {
  const lb = await createLoadBalancer(server);
  loadBalancerId = lb;
  const attrs = await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: lb });
  vips = (attrs.ZoneMappings as Array<{ LoadBalancerAddresses: Array<{ PrivateIpv4Address: string }> }>).map(
    (z) => z.LoadBalancerAddresses[0].PrivateIpv4Address,
  );
  assert.equal(vips.length, 2);
  assert.match(vips[0], new RegExp(`^127\\.0\\.${octet(21)}\\.\\d+$`));
  assert.match(vips[1], new RegExp(`^127\\.0\\.${octet(22)}\\.\\d+$`));

  serverGroupId = await createServerGroup(server, {
    ServerGroupName: 'inspection-appliances',
    Protocol: 'GENEVE',
    Scheduler: '5TCH',
    // The documented minimums, so a dead appliance is noticed quickly.
    HealthCheckConfig: {
      HealthCheckEnabled: true,
      HealthCheckProtocol: 'TCP',
      HealthCheckConnectPort: HEALTH_PORT,
      HealthCheckConnectTimeout: 1,
      HealthCheckInterval: 1,
      HealthyThreshold: 2,
      UnhealthyThreshold: 2,
    },
  });
  await addServers(server, serverGroupId, appliances(APPLIANCE_A, APPLIANCE_B));
  listenerId = await createListener(server, { LoadBalancerId: lb, ServerGroupId: serverGroupId });

  const h = await untilHealth(
    (m) => m.get(APPLIANCE_A)?.Status === 'Healthy' && m.get(APPLIANCE_B)?.Status === 'Healthy',
    'both appliances healthy',
  );
  assert.deepEqual([...h.values()].map((s) => [s.ServerId, s.Status]).sort(), [
    [APPLIANCE_A, 'Healthy'],
    [APPLIANCE_B, 'Healthy'],
  ]);
  assertPath(server);
});

test('every flow, both directions, goes through exactly one appliance and comes back intact', async () => {
  await sendFlows(firstFlows, firstSent);
  const stats: Record<string, ApplianceStats> = { [APPLIANCE_A]: await applianceA.stats(), [APPLIANCE_B]: await applianceB.stats() };

  // Symmetric pinning, and both appliances share the load.
  const carrier = assertOneAppliancePerFlow(firstFlows, seenBy(stats));
  firstCarrier = carrier;
  const used = new Set(carrier.values());
  assert.ok(used.has(APPLIANCE_A) && used.has(APPLIANCE_B), 'both appliances carry flows');
  assert.equal(stats[APPLIANCE_A].packets + stats[APPLIANCE_B].packets, firstSent.packets);

  // Every packet came back once, inner bytes unchanged, with its own VNI.
  assert.equal(endpoint.returned.length, firstSent.packets);
  const seen = new Set<string>();
  for (const r of endpoint.returned) {
    const hex = r.inner.toString('hex');
    assert.ok(firstSent.vniOf.has(hex), 'a returned inner packet is one that was sent, byte for byte');
    assert.ok(!seen.has(hex), 'no packet came back twice');
    seen.add(hex);
    assert.equal(r.vni, firstSent.vniOf.get(hex), 'VNI preserved');
    assert.deepEqual(
      r.options.map((o) => [o.optionClass, o.type, o.data.length]),
      [
        [0x0108, 1, 8],
        [0x0108, 2, 8],
        [0x0108, 3, 4],
      ],
      'the GWLB options the appliance returned',
    );
  }
});

test('/metrics counts packets and bytes per direction, flows and per-appliance traffic', async () => {
  const stats: Record<string, ApplianceStats> = { [KEY_A]: await applianceA.stats(), [KEY_B]: await applianceB.stats() };
  const m = await scrape();
  const n = firstSent.packets;
  const packets = (direction: string) => sample(m, 'openslb_gwlb_packets_total', { listener: listenerId, direction });
  const bytes = (direction: string) => sample(m, 'openslb_gwlb_bytes_total', { listener: listenerId, direction });
  assert.deepEqual(
    ['from_endpoint', 'to_appliance', 'from_appliance', 'to_endpoint'].map(packets),
    [n, n, n, n],
    'every packet counted once per direction',
  );
  // The endpoint sends bare GENEVE (8-byte header); towards appliances the 32 option bytes are added.
  assert.equal(bytes('from_endpoint'), firstSent.datagramBytes);
  assert.equal(bytes('to_appliance'), firstSent.datagramBytes + GWLB_OPTIONS_BYTES * n);
  assert.equal(bytes('from_appliance'), bytes('to_appliance'));
  assert.equal(bytes('to_endpoint'), bytes('from_appliance'));

  assert.equal(sample(m, 'openslb_gwlb_active_flows', { listener: listenerId }), firstFlows.length);
  assert.equal(sample(m, 'openslb_gwlb_flows_total', { listener: listenerId, event: 'created' }), firstFlows.length);
  const drops = m.filter((x) => x.name === 'openslb_gwlb_dropped_packets_total' && x.labels.listener === listenerId);
  assert.ok(drops.length > 0, 'drop series are exported');
  assert.equal(
    drops.reduce((s, x) => s + x.value, 0),
    0,
    'nothing dropped so far',
  );

  let flowsOnAppliances = 0;
  for (const key of [KEY_A, KEY_B]) {
    const labels = { server_group: serverGroupId, appliance: key };
    assert.equal(
      sample(m, 'openslb_gwlb_appliance_packets_total', { ...labels, direction: 'to_appliance' }),
      stats[key].packets,
      `${key}: packets sent`,
    );
    assert.equal(
      sample(m, 'openslb_gwlb_appliance_packets_total', { ...labels, direction: 'from_appliance' }),
      stats[key].packets,
      `${key}: packets returned`,
    );
    assert.ok(sample(m, 'openslb_gwlb_appliance_bytes_total', { ...labels, direction: 'to_appliance' }) > 0);
    assert.equal(sample(m, 'openslb_gwlb_appliance_active_flows', labels), Object.keys(stats[key].flows).length, `${key}: pinned flows`);
    assert.equal(sample(m, 'openslb_gwlb_appliance_healthy', labels), 1);
    flowsOnAppliances += Object.keys(stats[key].flows).length;
  }
  assert.equal(flowsOnAppliances, firstFlows.length);
});

test('malformed GENEVE sent to the VIP is dropped and counted by reason', async () => {
  const good = ipPacket({ src: '10.1.9.9', dst: '10.2.0.9', protocol: 17, srcPort: 999, dstPort: 53, payload: 'x' });
  const badVersion = Buffer.concat([Buffer.from([0x40, 0x00, 0x08, 0x00, 0, 0, 1, 0]), good]); // Ver = 1
  const truncated = Buffer.from([0x00, 0x00, 0x08]);
  const ethernet = Buffer.concat([Buffer.from([0x00, 0x00, 0x65, 0x58, 0, 0, 1, 0]), good]); // 0x6558: not bare IP
  const before = (await scrape()).filter((x) => x.name === 'openslb_gwlb_packets_total');
  await endpoint.sendRaw(vips[0], badVersion);
  await endpoint.sendRaw(vips[0], truncated);
  await endpoint.sendRaw(vips[1], ethernet);

  const drop = (m: Metric[], reason: string) =>
    sample(m, 'openslb_gwlb_dropped_packets_total', { listener: listenerId, source: 'endpoint', reason });
  let m: Metric[] = [];
  for (let i = 0; i < 200; i++) {
    m = await scrape();
    if (drop(m, 'bad_version') + drop(m, 'truncated') + drop(m, 'unsupported_protocol') >= 3) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(drop(m, 'bad_version'), 1);
  assert.equal(drop(m, 'truncated'), 1);
  assert.equal(drop(m, 'unsupported_protocol'), 1);
  const delta = (direction: string) =>
    sample(m, 'openslb_gwlb_packets_total', { listener: listenerId, direction }) -
    sample(before, 'openslb_gwlb_packets_total', { listener: listenerId, direction });
  assert.equal(delta('from_endpoint'), 3, 'received and counted');
  assert.equal(delta('to_appliance'), 0, 'not forwarded');
});

test('a 1500-byte inner packet, the largest GWLB carries, goes round intact; one byte more is dropped', async () => {
  const sized = (total: number, port: number): Flow => ({
    spec: { src: '10.1.77.1', dst: '10.2.0.9', protocol: 17, srcPort: port, dstPort: 53, payload: Buffer.alloc(total - 28, 0x5a) },
    vni: 0x77,
  });
  const max = sized(1500, 25000);
  assert.equal(ipPacket(max.spec).length, 1500);
  assert.ok(await roundTrip(max), 'the 1500-byte packet came back');
  assert.deepEqual(last(endpoint.returned).inner, ipPacket(max.spec));

  const tooBig = sized(1501, 25001);
  const before = endpoint.returned.length;
  await endpoint.send(vips[0], tooBig.spec, { vni: tooBig.vni });
  const drop = () =>
    scrape().then((m) =>
      sample(m, 'openslb_gwlb_dropped_packets_total', { listener: listenerId, source: 'endpoint', reason: 'inner_too_large' }),
    );
  let dropped = 0;
  for (let i = 0; i < 200 && dropped === 0; i++) {
    dropped = await drop();
    if (dropped === 0) await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(dropped, 1, 'dropped as inner_too_large (GWLB does not fragment)');
  assert.equal(endpoint.returned.length, before, 'nothing came back for it');
});

test('a killed appliance turns Unhealthy with a reason and new flows all go to the survivor', async () => {
  const survivorBefore = await applianceB.stats();
  const aBefore = await applianceA.stats();
  await applianceA.crash();

  const h = await untilHealth((m) => m.get(APPLIANCE_A)?.Status === 'Unhealthy', `${APPLIANCE_A} reported Unhealthy`);
  const dead = h.get(APPLIANCE_A)!;
  assert.ok(dead.Reason && REASON_CODES.includes(dead.Reason.ReasonCode), `a documented reason: ${JSON.stringify(dead.Reason)}`);
  // Nothing listens on the dead appliance's health port any more: the connection is refused.
  assert.equal(dead.Reason.ReasonCode, 'CONNECT_FAILED');
  assert.equal(h.get(APPLIANCE_B)?.Status, 'Healthy');
  // The filter the API documents finds it by status too.
  const filtered = await gwlb(server, 'GetListenerHealthStatus', {
    ListenerId: listenerId,
    Filter: [{ Name: 'Status', Values: ['Unhealthy'] }],
  });
  assert.deepEqual(
    filtered.ListenerHealthStatus[0].ServerGroupInfos[0].Servers.map((s: Health) => s.ServerId),
    [APPLIANCE_A],
  );

  const newFlows = [
    ...makeFlows('after', 30, 6, false, 30000),
    ...makeFlows('after', 30, 17, false, 31000),
    ...makeFlows('after', 10, 6, true, 32000),
  ];
  const sent = newSent();
  const returnedBefore = endpoint.returned.length;
  await sendFlows(newFlows, sent);
  const survivor = await applianceB.stats();
  for (const f of newFlows) {
    const name = flowName(f.spec);
    assert.equal(survivor.flows[name], 2, `${name}: both directions on the survivor`);
    assert.equal(aBefore.flows[name], undefined);
  }
  assert.equal(survivor.packets - survivorBefore.packets, sent.packets, 'the survivor got every new packet');
  const back = endpoint.returned.slice(returnedBefore);
  assert.equal(back.length, sent.packets);
  for (const r of back) assert.equal(r.vni, sent.vniOf.get(r.inner.toString('hex')), 'came back intact with its VNI');

  const m = await scrape();
  assert.equal(sample(m, 'openslb_gwlb_appliance_healthy', { server_group: serverGroupId, appliance: KEY_A }), 0);
  assert.equal(sample(m, 'openslb_gwlb_appliance_healthy', { server_group: serverGroupId, appliance: KEY_B }), 1);
  assert.equal(
    sample(m, 'openslb_gwlb_appliance_packets_total', { server_group: serverGroupId, appliance: KEY_A, direction: 'to_appliance' }),
    aBefore.packets,
    'nothing new was sent to the dead appliance',
  );
  // The first round's flows, the 1500-byte packet's flow, and the new ones.
  assert.equal(sample(m, 'openslb_gwlb_active_flows', { listener: listenerId }), firstFlows.length + 1 + newFlows.length);
});

const pinnedTo = (host: string) => firstFlows.filter((f) => firstCarrier.get(flowName(f.spec)) === host);

test('NoRebalance: flows pinned to the dead appliance stay with it', async () => {
  const toA = () =>
    scrape().then((m) =>
      sample(m, 'openslb_gwlb_appliance_packets_total', { server_group: serverGroupId, appliance: KEY_A, direction: 'to_appliance' }),
    );
  const before = await toA();
  const stuck = pinnedTo(APPLIANCE_A)[0];
  assert.ok(stuck, 'some first-round flow was on the appliance that died');
  await endpoint.send(vips[0], stuck.spec, { vni: stuck.vni });
  let after = before;
  for (let i = 0; i < 200 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 10));
    after = await toA();
  }
  assert.equal(after, before + 1, 'the packet still went to its (dead) appliance');
  const m = await scrape();
  assert.equal(sample(m, 'openslb_gwlb_flows_total', { listener: listenerId, event: 'rescheduled' }), 0);
});

test('a restarted appliance turns Healthy again, takes new flows, and its pinned flows flow again', async () => {
  applianceA = await startApplianceProcess(APPLIANCE_A, HEALTH_PORT);
  await untilHealth(
    (m) => m.get(APPLIANCE_A)?.Status === 'Healthy' && m.get(APPLIANCE_B)?.Status === 'Healthy',
    `${APPLIANCE_A} Healthy again`,
  );

  const old = pinnedTo(APPLIANCE_A).slice(0, 5);
  for (const f of old) assert.ok(await roundTrip(f), `${flowName(f.spec)} comes back through its appliance again`);
  const a = await applianceA.stats();
  for (const f of old) assert.ok(a.flows[flowName(f.spec)] >= 1, `${flowName(f.spec)} went to the restarted appliance`);

  const fresh = makeFlows('recovered', 40, 17, false, 33000);
  await sendFlows(fresh);
  const stats: Record<string, ApplianceStats> = { [APPLIANCE_A]: await applianceA.stats(), [APPLIANCE_B]: await applianceB.stats() };
  const carrier = assertOneAppliancePerFlow(fresh, seenBy(stats));
  assert.ok(new Set(carrier.values()).size === 2, 'new flows are spread over both appliances again');
});

test('ServerFailoverMode Rebalance (set through the API): flows of a failed appliance move to the healthy one', async () => {
  await gwlb(server, 'UpdateServerGroupAttribute', { ServerGroupId: serverGroupId, ServerFailoverMode: 'Rebalance' });
  for (let i = 0; i < 300; i++) {
    const g = (await gwlb(server, 'ListServerGroups', { ServerGroupIds: [serverGroupId] })).ServerGroups[0];
    if (g.ServerGroupStatus === 'Available' && g.ServerFailoverMode === 'Rebalance') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const onB = pinnedTo(APPLIANCE_B).slice(0, 10);
  assert.ok(onB.length > 0);
  await applianceB.crash();
  await untilHealth((m) => m.get(APPLIANCE_B)?.Status === 'Unhealthy', `${APPLIANCE_B} reported Unhealthy`);

  const aBefore = await applianceA.stats();
  for (const f of onB) assert.ok(await roundTrip(f), `${flowName(f.spec)} comes back after moving`);
  const a = await applianceA.stats();
  for (const f of onB) {
    const name = flowName(f.spec);
    assert.equal((a.flows[name] ?? 0) - (aBefore.flows[name] ?? 0), 1, `${name} now goes through ${APPLIANCE_A}`);
  }
  const m = await scrape();
  assert.ok(sample(m, 'openslb_gwlb_flows_total', { listener: listenerId, event: 'rescheduled' }) >= onB.length, 'the moves are counted');
});

test('TrafficMode ByPass (set through the API) returns packets to the endpoint without any appliance', async () => {
  const settle = async (mode: string) => {
    await gwlb(server, 'UpdateLoadBalancerAttribute', { LoadBalancerId: loadBalancerId, TrafficMode: mode });
    for (let i = 0; i < 300; i++) {
      const a = await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: loadBalancerId });
      if (a.LoadBalancerStatus === 'Active' && a.TrafficMode === mode) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`the load balancer did not settle in ${mode}`);
  };
  const toAppliances = () =>
    scrape().then((m) => sample(m, 'openslb_gwlb_packets_total', { listener: listenerId, direction: 'to_appliance' }));

  await settle('ByPass');
  const before = await toAppliances();
  const aBefore = await applianceA.stats();
  const bypassed = makeFlows('bypassed', 10, 6, false, 34000);
  for (const f of bypassed) assert.ok(await roundTrip(f), `${flowName(f.spec)} came straight back`);
  const back = endpoint.returned.slice(-bypassed.length);
  for (const [i, r] of back.entries()) {
    assert.deepEqual(r.inner, ipPacket(bypassed[i].spec), 'inner packet unchanged');
    assert.equal(r.vni, bypassed[i].vni);
    assert.deepEqual(r.options, [], 'untouched: no GWLB options added');
  }
  assert.equal(await toAppliances(), before, 'no appliance saw them');
  assert.equal((await applianceA.stats()).packets, aBefore.packets);

  await settle('LoadBalance');
  const inspected = makeFlows('inspected', 3, 17, false, 35000);
  for (const f of inspected) assert.ok(await roundTrip(f), `${flowName(f.spec)} came back through the appliance`);
  const a = await applianceA.stats();
  for (const f of inspected) assert.equal(a.flows[flowName(f.spec)], 1, `${flowName(f.spec)} was inspected again`);
});
