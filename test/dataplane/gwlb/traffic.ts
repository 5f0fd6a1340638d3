/**
 * Traffic and metrics helpers for the GWLB end-to-end tests: many inner flows, each with its own
 * VNI; sending both directions of each through a GWLB endpoint sim; checking which appliance
 * carried which flow; reading /metrics samples.
 */
import assert from 'node:assert/strict';
import type { EndpointSim } from './harness.js';
import { flowName, ipPacket, reverse, type PacketSpec } from './packets.js';

// ---------------------------------------------------------------------------------------------
// /metrics

export interface Metric {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample the admin listener's /metrics shows. */
export async function scrape(adminUrl: string | undefined): Promise<Metric[]> {
  assert.ok(adminUrl, 'the admin listener is on');
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const out: Metric[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The one sample of `name` with these labels (0 when absent, as Prometheus treats it). */
export function sample(metrics: Metric[], name: string, labels: Record<string, string>): number {
  const hits = metrics.filter((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  assert.ok(hits.length <= 1, `${name} ${JSON.stringify(labels)} is one series`);
  return hits[0]?.value ?? 0;
}

// ---------------------------------------------------------------------------------------------
// Flows

/** An inner flow and the VNI its packets travel with (each flow its own, so a mix-up shows). */
export interface Flow {
  spec: PacketSpec;
  vni: number;
}

let nextVni = 0x1000;

/** `count` flows of one kind; `round` names them apart in payloads, `portBase` in source ports. */
export function makeFlows(round: string, count: number, protocol: 6 | 17, v6: boolean, portBase: number): Flow[] {
  return Array.from({ length: count }, (_, i) => ({
    spec: {
      src: v6 ? `fd00:0:0:0:0:0:a:${(1 + (i % 9)).toString(16)}` : `10.1.${i % 5}.${1 + (i % 200)}`,
      dst: v6 ? 'fd00:0:0:0:0:0:b:9' : '10.2.0.9',
      protocol,
      srcPort: portBase + i,
      dstPort: protocol === 6 ? 443 : 53,
      payload: `${round} ${protocol === 6 ? 'tcp' : 'udp'}${v6 ? '6' : '4'} flow ${i}`,
    },
    vni: nextVni++,
  }));
}

/** What a run of sendFlows sent. */
export interface Sent {
  /** Inner packet (hex) → its VNI, for every packet sent. */
  vniOf: Map<string, number>;
  packets: number;
  /** GENEVE datagram bytes (8-byte base header, no options, inner packet). */
  datagramBytes: number;
}

export function newSent(): Sent {
  return { vniOf: new Map(), packets: 0, datagramBytes: 0 };
}

/**
 * Sends each flow's forward packet, waits for all to come back, then each flow's reverse
 * packet (in batches). Flows alternate between the VIPs, and each flow's reverse direction
 * arrives on another VIP than its forward one when there are several (cross-zone is always on).
 */
export async function sendFlows(endpoint: EndpointSim, vips: string[], flows: Flow[], sent: Sent = newSent()): Promise<Sent> {
  const BATCH = 40;
  for (let at = 0; at < flows.length; at += BATCH) {
    const batch = flows.slice(at, at + BATCH);
    for (const direction of ['forward', 'reverse'] as const) {
      const before = endpoint.returned.length;
      for (const [i, f] of batch.entries()) {
        const spec = direction === 'forward' ? f.spec : reverse(f.spec);
        const inner = ipPacket(spec);
        sent.vniOf.set(inner.toString('hex'), f.vni);
        sent.packets++;
        sent.datagramBytes += 8 + inner.length;
        await endpoint.send(vips[(at + i + (direction === 'forward' ? 0 : 1)) % vips.length], spec, { vni: f.vni });
      }
      assert.ok(
        await endpoint.waitForReturned(before + batch.length),
        `${direction} packets of flows ${at}–${at + batch.length - 1} came back`,
      );
    }
  }
  return sent;
}

/** Sends one packet of `f` (forward direction) to `vip` and says whether it came back, by polls. */
export async function roundTrip(endpoint: EndpointSim, vip: string, f: Flow, polls = 200): Promise<boolean> {
  const before = endpoint.returned.length;
  await endpoint.send(vip, f.spec, { vni: f.vni });
  return endpoint.waitForReturned(before + 1, polls);
}

/**
 * Every flow was carried by exactly one appliance, which saw `perFlow` packets of it (2: both
 * directions once). `seen` maps an appliance to its flow-name → packet counts. Returns flow
 * name → appliance.
 */
export function assertOneAppliancePerFlow(flows: Flow[], seen: Record<string, Record<string, number>>, perFlow = 2): Map<string, string> {
  const carrier = new Map<string, string>();
  for (const f of flows) {
    const name = flowName(f.spec);
    const on = Object.entries(seen).filter(([, counts]) => counts[name] !== undefined);
    assert.equal(on.length, 1, `${name} reached exactly one appliance (${on.map(([k]) => k).join(', ') || 'none'})`);
    assert.equal(on[0][1][name], perFlow, `${name}: ${perFlow} packets on ${on[0][0]}`);
    carrier.set(name, on[0][0]);
  }
  return carrier;
}
