/**
 * The GENEVE forwarder on loopback, without the API: a listener runtime and an appliance
 * group driven directly (health and membership set by hand, time on a manual clock), real
 * sockets for the endpoint, the VIP and two appliances.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.js';
import {
  DEFAULT_GWLB_OPTION_CLASS,
  GWLB_OPTION_FLOW_COOKIE,
  attachmentIdOf,
  encodeGeneve,
  ETHERTYPE_IPV4,
} from '../../../src/dataplane/gwlb/geneve.js';
import { ApplianceGroup, DROP_REASONS, GwlbListener, type GwlbListenerSettings } from '../../../src/dataplane/gwlb/forwarder.js';
import type { DesiredApplianceGroup, LeavingAppliance } from '../../../src/dataplane/gwlb/desired.js';
import { healthCheckOf } from '../../../src/dataplane/gwlb/desired.js';
import { NON_TCP_IDLE_MS } from '../../../src/dataplane/gwlb/flow-table.js';
import { startAppliance, startEndpoint, type ApplianceSim, type EndpointSim } from './harness.js';
import { flowName, ipPacket, reverse, type PacketSpec } from './packets.js';

const VIP = '127.0.5.100';
const A = '127.0.5.1';
const B = '127.0.5.2';
const CLASS = DEFAULT_GWLB_OPTION_CLASS;

function desired(
  opts: {
    servers?: string[];
    leaving?: LeavingAppliance[];
    rebalance?: boolean;
    drainMs?: number;
    scheduler?: '5TCH' | '3TCH' | '2TCH';
  } = {},
): DesiredApplianceGroup {
  const servers = (opts.servers ?? [A, B]).map((host) => ({ key: `${host}:6081`, host, port: 6081 }));
  const d: Omit<DesiredApplianceGroup, 'fingerprint'> = {
    id: 'sgp-test',
    scheduler: opts.scheduler ?? '5TCH',
    rebalance: opts.rebalance ?? false,
    drainMs: opts.drainMs,
    healthCheck: healthCheckOf(undefined),
    servers,
    leaving: opts.leaving ?? [],
  };
  return { ...d, fingerprint: JSON.stringify(d) };
}

let appA: ApplianceSim;
let appB: ApplianceSim;
let endpoint: EndpointSim;

before(async () => {
  appA = await startAppliance(A);
  appB = await startAppliance(B);
  endpoint = await startEndpoint('127.0.5.50');
});

after(async () => {
  await appA.kill();
  await appB.kill();
  await endpoint.close();
});

interface Rig {
  clock: ManualClock;
  group: ApplianceGroup;
  listener: GwlbListener;
  settings: GwlbListenerSettings;
  close(): void;
}

async function rig(d = desired(), settings: Partial<GwlbListenerSettings> = {}): Promise<Rig> {
  const clock = new ManualClock();
  const group = new ApplianceGroup('sgp-test');
  group.update(d, clock.now());
  for (const a of group.appliances()) a.healthy = true;
  group.rebuild();
  const full: GwlbListenerSettings = { vips: [VIP], tcpIdleMs: 350_000, bypass: false, optionClass: CLASS, ...settings };
  const listener = new GwlbListener('lsn-forwarder-test', full, group, { clock });
  await listener.bind();
  appA.received.length = 0;
  appB.received.length = 0;
  appA.flows.clear();
  appB.flows.clear();
  appA.transform = undefined;
  appB.transform = undefined;
  endpoint.returned.length = 0;
  return { clock, group, listener, settings: full, close: () => listener.close() };
}

/** Sends one packet and waits for it to come back; says which appliance carried it. */
async function roundTrip(spec: PacketSpec | Buffer): Promise<{ via: 'A' | 'B'; returned: Buffer }> {
  const n = endpoint.returned.length;
  const a = appA.received.length;
  const b = appB.received.length;
  await endpoint.send(VIP, spec);
  assert.ok(await endpoint.waitForReturned(n + 1), 'the packet came back');
  const viaA = appA.received.length > a;
  const viaB = appB.received.length > b;
  assert.ok(viaA !== viaB, 'exactly one appliance saw it');
  return { via: viaA ? 'A' : 'B', returned: endpoint.returned[n].inner };
}

function flows(count: number, protocol: 6 | 17, base = 30000): PacketSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    src: `10.10.0.${1 + (i % 7)}`,
    dst: '10.20.0.9',
    protocol,
    srcPort: base + i,
    dstPort: protocol === 6 ? 443 : 53,
    payload: `flow ${i}`,
  }));
}

test('both directions of every flow meet one appliance; packets come back intact with the GWLB options', async () => {
  const r = await rig();
  try {
    const specs = [...flows(20, 6), ...flows(20, 17)];
    const pinned = new Map<string, string>();
    for (const spec of specs) {
      const fwd = await roundTrip(spec);
      assert.deepEqual(fwd.returned, ipPacket(spec));
      const rev = await roundTrip(reverse(spec));
      assert.deepEqual(rev.returned, ipPacket(reverse(spec)));
      assert.equal(rev.via, fwd.via, `${flowName(spec)}: reverse direction on the same appliance`);
      pinned.set(flowName(spec), fwd.via);
    }
    assert.ok([...pinned.values()].includes('A') && [...pinned.values()].includes('B'), 'both appliances carry flows');
    for (const [flow, via] of pinned) {
      assert.equal((via === 'A' ? appA : appB).flows.get(flow), 2);
      assert.equal((via === 'A' ? appB : appA).flows.get(flow), undefined);
    }

    // What the appliance saw: the VNI, the three GWLB options, the cookie's direction bit.
    const seen = [...appA.received, ...appB.received];
    const [attHi, attLo] = attachmentIdOf('lsn-forwarder-test');
    for (const got of seen) {
      assert.equal(got.vni, 0x000abc);
      assert.deepEqual(
        got.options.map((o) => [o.optionClass, o.type, o.data.length]),
        [
          [CLASS, 1, 8],
          [CLASS, 2, 8],
          [CLASS, 3, 4],
        ],
      );
      const endpointId = Buffer.from(got.options[0].data);
      assert.equal(endpointId.readUInt16BE(0), 0);
      assert.equal(endpointId.readUInt16BE(2), endpoint.port);
      assert.deepEqual([...endpointId.subarray(4)], [127, 0, 5, 50]);
      const attachment = Buffer.from(got.options[1].data);
      assert.deepEqual([attachment.readUInt32BE(0), attachment.readUInt32BE(4)], [attHi, attLo]);
      assert.equal(got.from.address, VIP, 'sent from the VIP');
      assert.equal(got.from.port, 6081, 'from port 6081');
    }
    // Per flow: one cookie id, direction bit 0 then 1.
    const byFlow = new Map<string, number[]>();
    for (const got of seen) byFlow.set(got.flow, [...(byFlow.get(got.flow) ?? []), got.cookie]);
    for (const [, cookies] of byFlow) {
      assert.equal(cookies.length, 2);
      assert.equal(cookies[0] >>> 31, 0);
      assert.equal(cookies[1] >>> 31, 1);
      assert.equal(cookies[0] & 0x7fffffff, cookies[1] & 0x7fffffff);
    }

    const c = r.listener.counters;
    assert.equal(c.packetsFromEndpoints, 80);
    assert.equal(c.packetsToAppliances, 80);
    assert.equal(c.packetsFromAppliances, 80);
    assert.equal(c.packetsToEndpoints, 80);
    assert.equal(c.bytesToAppliances, c.bytesFromEndpoints + 80 * 32, '32 option bytes added to each packet');
    assert.equal(r.listener.activeFlows, 40);
    const groupFlows = r.group.appliances().reduce((n, a) => n + a.counters.activeFlows, 0);
    assert.equal(groupFlows, 40);
    assert.equal(
      c.endpointDrops.reduce((x, y) => x + y, 0),
      0,
    );
  } finally {
    r.close();
  }
});

test('foreign options pass through; GWLB-class options from the endpoint are replaced', async () => {
  const r = await rig();
  try {
    const spec = flows(1, 17, 31000)[0];
    await endpoint.send(VIP, spec, {
      options: [
        { optionClass: 0x0101, type: 0x11, data: Buffer.from('cafebabe', 'hex') },
        { optionClass: CLASS, type: GWLB_OPTION_FLOW_COOKIE, data: Buffer.from('7fffffff', 'hex') },
      ],
    });
    assert.ok(await endpoint.waitForReturned(1));
    const got = [...appA.received, ...appB.received][0];
    assert.deepEqual(
      got.options.map((o) => [o.optionClass, o.type]),
      [
        [0x0101, 0x11],
        [CLASS, 1],
        [CLASS, 2],
        [CLASS, 3],
      ],
    );
    assert.notEqual(got.cookie, 0x7fffffff);
  } finally {
    r.close();
  }
});

test('returned packets without GWLB options are matched by their inner flow; unknown ones are dropped', async () => {
  const r = await rig();
  try {
    const strip = (datagram: Buffer): Buffer => {
      const optLen = (datagram[0] & 0x3f) * 4;
      return encodeGeneve({ vni: datagram.readUIntBE(4, 3), protocolType: ETHERTYPE_IPV4, payload: datagram.subarray(8 + optLen) });
    };
    appA.transform = strip;
    appB.transform = strip;
    const spec = flows(1, 6, 32000)[0];
    const fwd = await roundTrip(spec);
    const rev = await roundTrip(reverse(spec));
    assert.equal(fwd.via, rev.via);
    assert.deepEqual(rev.returned, ipPacket(reverse(spec)));

    // An appliance that answers with a packet of a flow the GWLB never saw.
    const stranger = (): Buffer =>
      encodeGeneve({
        vni: 1,
        protocolType: ETHERTYPE_IPV4,
        payload: ipPacket({ src: '10.99.0.1', dst: '10.99.0.2', protocol: 17, srcPort: 1, dstPort: 2 }),
      });
    appA.transform = stranger;
    appB.transform = stranger;
    const before = r.listener.counters.applianceDrops[DROP_REASONS.indexOf('unknown_flow')];
    await endpoint.send(VIP, flows(1, 17, 32500)[0]);
    const ok = await waitFor(() => r.listener.counters.applianceDrops[DROP_REASONS.indexOf('unknown_flow')] > before);
    assert.ok(ok, 'dropped as unknown_flow');
  } finally {
    r.close();
  }
});

async function waitFor(check: () => boolean, polls = 500): Promise<boolean> {
  for (let i = 0; i < polls; i++) {
    if (check()) return true;
    await new Promise((res) => setTimeout(res, 10));
  }
  return check();
}

test('bad packets from endpoints are dropped and counted by reason; nothing reaches an appliance', async () => {
  const r = await rig();
  try {
    const inner = ipPacket(flows(1, 17, 33000)[0]);
    const good = encodeGeneve({ vni: 5, protocolType: ETHERTYPE_IPV4, payload: inner });
    const bad: Array<[string, Buffer]> = [
      ['truncated', good.subarray(0, 6)],
      ['bad_version', Buffer.concat([Buffer.from([0x40]), good.subarray(1)])],
      [
        'unknown_critical_option',
        encodeGeneve({
          vni: 5,
          protocolType: ETHERTYPE_IPV4,
          options: [{ optionClass: 0x0200, type: 0x80, data: new Uint8Array(4) }],
          payload: inner,
        }),
      ],
      ['critical_bit_mismatch', encodeGeneve({ vni: 5, protocolType: ETHERTYPE_IPV4, critical: true, payload: inner })],
      ['control_packet', encodeGeneve({ vni: 5, protocolType: ETHERTYPE_IPV4, oam: true, payload: inner })],
      ['unsupported_protocol', encodeGeneve({ vni: 5, protocolType: 0x6558, payload: new Uint8Array(64) })],
      [
        'inner_too_large',
        encodeGeneve({ vni: 5, protocolType: ETHERTYPE_IPV4, payload: ipPacket({ ...flows(1, 17)[0], payload: new Uint8Array(1473) }) }),
      ],
      ['inner_malformed', encodeGeneve({ vni: 5, protocolType: ETHERTYPE_IPV4, payload: inner.subarray(0, 12) })],
      ['inner_version_mismatch', encodeGeneve({ vni: 5, protocolType: 0x86dd, payload: inner })],
    ];
    for (const [, datagram] of bad) await endpoint.sendRaw(VIP, datagram);
    // A good packet last: once it is back, every bad one before it has been handled.
    await roundTrip(flows(1, 17, 33001)[0]);
    const c = r.listener.counters;
    for (const [reason] of bad) assert.equal(c.endpointDrops[DROP_REASONS.indexOf(reason)], 1, reason);
    assert.equal(c.packetsFromEndpoints, bad.length + 1);
    assert.equal(c.packetsToAppliances, 1);
    assert.equal(appA.received.length + appB.received.length, 1);
    // Exactly 1500 bytes of inner packet still passes.
    const atLimit = ipPacket({ ...flows(1, 17, 33002)[0], payload: new Uint8Array(1472) });
    assert.equal(atLimit.length, 1500);
    await roundTrip(atLimit);
  } finally {
    r.close();
  }
});

test('an unhealthy appliance gets no new flows; its flows stay (NoRebalance) or move (Rebalance)', async () => {
  const r = await rig();
  try {
    const specs = flows(30, 6, 34000);
    const first = new Map<string, 'A' | 'B'>();
    for (const s of specs) first.set(flowName(s), (await roundTrip(s)).via);
    const onB = specs.filter((s) => first.get(flowName(s)) === 'B');
    assert.ok(onB.length > 0);
    r.group.get(`${B}:6081`)!.healthy = false;
    r.group.rebuild();
    // New flows: all on A.
    for (const s of flows(20, 6, 35000)) assert.equal((await roundTrip(s)).via, 'A');
    // Existing flows on B stay there (NoRebalance), in both directions.
    for (const s of onB) {
      assert.equal((await roundTrip(s)).via, 'B');
      assert.equal((await roundTrip(reverse(s))).via, 'B');
    }
    // Rebalance: they move to A on their next packet, and stay there.
    r.group.update(desired({ rebalance: true }), r.clock.now());
    const moved = r.listener.counters.flowsRescheduled;
    for (const s of onB) {
      assert.equal((await roundTrip(reverse(s))).via, 'A');
      assert.equal((await roundTrip(s)).via, 'A');
    }
    assert.equal(r.listener.counters.flowsRescheduled - moved, onB.length);
    assert.equal(r.group.get(`${B}:6081`)!.counters.activeFlows, 0);
  } finally {
    r.close();
  }
});

test('all appliances unhealthy: fail open over every appliance', async () => {
  const r = await rig();
  try {
    for (const a of r.group.appliances()) a.healthy = false;
    r.group.rebuild();
    const via = new Set<string>();
    for (const s of flows(30, 17, 36000)) via.add((await roundTrip(s)).via);
    assert.deepEqual([...via].sort(), ['A', 'B']);
    assert.equal(r.listener.counters.endpointDrops[DROP_REASONS.indexOf('no_appliance')], 0);
  } finally {
    r.close();
  }
});

test('a removed appliance with draining on keeps its flows until the drain deadline', async () => {
  const r = await rig(desired({ drainMs: 10_000 }));
  try {
    const specs = flows(30, 17, 37000);
    const first = new Map<string, 'A' | 'B'>();
    for (const s of specs) first.set(flowName(s), (await roundTrip(s)).via);
    const onB = specs.filter((s) => first.get(flowName(s)) === 'B');
    assert.ok(onB.length > 0);
    r.group.update(
      desired({
        servers: [A],
        leaving: [{ key: `${B}:6081`, host: B, port: 6081, drainDeadline: r.clock.now() + 10_000 }],
        drainMs: 10_000,
      }),
      r.clock.now(),
    );
    for (const s of flows(10, 17, 38000)) assert.equal((await roundTrip(s)).via, 'A', 'no new flows to a leaving appliance');
    r.clock.advance(9_999);
    for (const s of onB) assert.equal((await roundTrip(s)).via, 'B', 'draining: still on B');
    r.clock.advance(1);
    r.listener.sweep();
    assert.equal(r.group.get(`${B}:6081`)?.counters.activeFlows ?? 0, 0, 'the sweep unpinned the drained flows');
    for (const s of onB) assert.equal((await roundTrip(reverse(s))).via, 'A', 'drain over: scheduled afresh');
  } finally {
    r.close();
  }
});

test('a removed appliance with draining off keeps its flows until they idle out (NoRebalance)', async () => {
  const r = await rig();
  try {
    const specs = flows(30, 17, 39000);
    const first = new Map<string, 'A' | 'B'>();
    for (const s of specs) first.set(flowName(s), (await roundTrip(s)).via);
    const onB = specs.filter((s) => first.get(flowName(s)) === 'B');
    r.group.update(desired({ servers: [A] }), r.clock.now());
    r.clock.advance(NON_TCP_IDLE_MS - 1);
    for (const s of onB) assert.equal((await roundTrip(s)).via, 'B');
    r.clock.advance(NON_TCP_IDLE_MS);
    for (const s of onB) assert.equal((await roundTrip(s)).via, 'A', 'idle for 120 s: scheduled afresh');
    r.listener.sweep();
    r.group.prune();
    assert.equal(r.group.get(`${B}:6081`), undefined, 'forgotten once it carries no flow');
  } finally {
    r.close();
  }
});

test('3TCH and 2TCH: every connection between the same hosts meets one appliance', async () => {
  for (const scheduler of ['3TCH', '2TCH'] as const) {
    const r = await rig(desired({ scheduler }));
    try {
      for (let host = 1; host <= 6; host++) {
        const via = new Set<string>();
        for (let port = 0; port < 5; port++) {
          const s: PacketSpec = { src: `10.30.0.${host}`, dst: '10.40.0.1', protocol: 6, srcPort: 41000 + port, dstPort: 443 };
          via.add((await roundTrip(s)).via);
          via.add((await roundTrip(reverse(s))).via);
          if (scheduler === '2TCH') via.add((await roundTrip({ ...s, protocol: 17 })).via);
        }
        assert.equal(via.size, 1, `${scheduler}: host ${host}`);
      }
    } finally {
      r.close();
    }
  }
});

test('TrafficMode ByPass: packets go straight back to the endpoint', async () => {
  const r = await rig(desired(), { bypass: true });
  try {
    const spec = flows(1, 17, 42000)[0];
    await endpoint.send(VIP, spec);
    assert.ok(await endpoint.waitForReturned(1));
    assert.deepEqual(endpoint.returned[0].inner, ipPacket(spec));
    assert.equal(appA.received.length + appB.received.length, 0);
  } finally {
    r.close();
  }
});
