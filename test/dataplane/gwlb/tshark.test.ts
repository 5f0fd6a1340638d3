/**
 * An independent decoder's opinion of the GWLB's GENEVE: the packets on `lo` are captured with
 * tshark while a few flows pass (endpoint → VIP → appliance → VIP → endpoint), and Wireshark's
 * own GENEVE dissector reads the capture. It must see what OpenSLB means to send — version 0,
 * the endpoint's VNI, bare IPv4/IPv6 payloads, the three GWLB options of the configured class
 * (types 1, 2, 3; 8, 8 and 4 data bytes) with the endpoint id and attachment id filled in, and
 * the inner IP/TCP/UDP packet with its addresses, ports, payload and checksums intact.
 *
 * The GWLB runs with a non-default `dataplane.gwlbOptionClass`, so the test also shows the
 * setting reaches the wire. tshark is installed by scripts/ensure-test-deps.sh (`npm test`'s
 * pretest); without it this test fails, it does not skip.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachmentIdOf } from '../../../src/dataplane/gwlb/geneve.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { addServers, appliances, createListener, createLoadBalancer, createServerGroup, gwlb } from '../../products/gwlb/support.js';
import { eventually, startAppliance, startEndpoint, type ApplianceSim, type EndpointSim } from './harness.js';
import { flowName, reverse, type PacketSpec } from './packets.js';
import { address, assertPath, octet, usePath } from './engine.js';

const OPTION_CLASS = 0x0abc;
// The BPF twin (tshark-bpf.test.ts) uses 127.0.124–126.x (engine.ts).
const APPLIANCE_A = address(26, 1);
const APPLIANCE_B = address(26, 2);
const ENDPOINT = address(26, 50);
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

const FIELDS = [
  'frame.number',
  'ip.src',
  'ip.dst',
  'udp.srcport',
  'udp.dstport',
  'geneve.version',
  'geneve.flags.oam',
  'geneve.flags.critical',
  'geneve.proto_type',
  'geneve.vni',
  'geneve.option.class',
  'geneve.option.type',
  'geneve.option.length',
  'geneve.option.unknown.data',
  'ipv6.src',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.payload',
  'udp.payload',
  'ip.checksum.status',
  'tcp.checksum.status',
  'udp.checksum.status',
] as const;
type Field = (typeof FIELDS)[number];
/** One captured frame: every occurrence of each field, outermost first. */
type Frame = Record<Field, string[]>;

let server: TestServer;
let applianceA: ApplianceSim;
let applianceB: ApplianceSim;
let endpoint: EndpointSim;
let captureDir: string;

/** Fails (never skips) when tshark is missing and the project's installer cannot provide it. */
function requireTshark(): void {
  const found = () => spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
  if (found()) return;
  const script = fileURLToPath(new URL('../../../scripts/ensure-test-deps.sh', import.meta.url));
  const install = spawnSync('bash', [script], { encoding: 'utf8', timeout: 600_000 });
  assert.ok(
    found(),
    `tshark is required for the GENEVE capture test and could not be installed by scripts/ensure-test-deps.sh ` +
      `(exit ${install.status}): ${install.stderr?.slice(-2000) ?? ''}`,
  );
}

before(async () => {
  requireTshark();
  captureDir = mkdtempSync(join(tmpdir(), 'openslb-tshark-'));
  server = await startTestServer({
    configure: (c) => {
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = `127.0.${octet(24)}.0/24`;
      b.vipPool = `127.0.${octet(25)}.0/24`;
      c.dataplane.gwlbOptionClass = OPTION_CLASS;
      usePath(c);
    },
  });
  applianceA = await startAppliance(APPLIANCE_A, { optionClass: OPTION_CLASS });
  applianceB = await startAppliance(APPLIANCE_B, { optionClass: OPTION_CLASS });
  endpoint = await startEndpoint(ENDPOINT, { optionClass: OPTION_CLASS });
});

after(async () => {
  await Promise.all([applianceA?.kill(), applianceB?.kill(), endpoint?.close()]);
  await server?.stop();
  if (captureDir) rmSync(captureDir, { recursive: true, force: true });
});

const MARKER_PORT = 6082;

/**
 * tshark capturing on `lo` into a file while printing one summary line per packet (-P -l).
 * Capture is proven live by markers rather than by time: a marker is a small UDP datagram to a
 * VIP's port 6082 (inside the capture filter, outside the GENEVE port), and it has been captured
 * once tshark prints its line. tshark's "Capturing on" comes before the capture really runs, so
 * the start waits for a marker to show up; the stop sends another and waits for it, so every
 * packet sent before it is in the file, then ends tshark with SIGINT.
 */
class Capture {
  private stdout = '';
  private stderr = '';
  private readonly marker = dgram.createSocket('udp4');
  private readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  private constructor(
    file: string,
    filter: string,
    private readonly markerTo: string,
  ) {
    this.child = spawn('tshark', ['-i', 'lo', '-n', '-l', '-P', '-f', filter, '-w', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', (err) => {
        this.stderr += `cannot run tshark: ${err.message}`;
        resolve(-1);
      });
    });
  }

  static async start(file: string, filter: string, markerTo: string): Promise<Capture> {
    const capture = new Capture(file, filter, markerTo);
    await new Promise<void>((resolve) => capture.marker.bind(0, ENDPOINT, resolve));
    try {
      await capture.seeMarker('tshark never captured the start marker');
    } catch (err) {
      // Nothing else would end tshark or the marker socket, and the test process would never exit.
      capture.child.kill('SIGINT');
      capture.marker.close();
      throw err;
    }
    return capture;
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private markersSeen(): number {
    return this.stdout.split('\n').filter((line) => line.includes(`→ ${MARKER_PORT} `)).length;
  }

  /** Sends markers until tshark prints one more than it had (bounded by attempts). */
  private async seeMarker(failure: string): Promise<void> {
    const before = this.markersSeen();
    // Up to ~30 s: on a loaded machine tshark took over 3 s to capture its first packet.
    for (let i = 0; i < 3000 && this.running; i++) {
      if (i % 10 === 0) this.marker.send('marker', MARKER_PORT, this.markerTo);
      if (await eventually(() => this.markersSeen() > before, 1, 10)) return;
    }
    assert.fail(`${failure}: ${this.stderr}`);
  }

  /** Waits until everything sent so far is captured, then stops tshark cleanly. */
  async stop(): Promise<void> {
    try {
      if (this.running) await this.seeMarker('tshark never captured the end marker');
    } finally {
      if (this.running) this.child.kill('SIGINT');
      const code = await this.exited;
      this.marker.close();
      assert.equal(code, 0, `tshark ended with ${code}: ${this.stderr}`);
    }
  }
}

/** Reads a capture back through Wireshark's dissectors, checksum validation on. */
function dissect(file: string): Frame[] {
  const args = ['-r', file, '-n', '-d', 'udp.port==6081,geneve', '-Y', 'udp.port == 6081'];
  for (const proto of ['ip', 'tcp', 'udp']) args.push('-o', `${proto}.check_checksum:TRUE`);
  args.push('-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|');
  for (const f of FIELDS) args.push('-e', f);
  const run = spawnSync('tshark', args, { encoding: 'utf8' });
  assert.equal(run.status, 0, `tshark could not read the capture: ${run.stderr}`);
  return run.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const cols = line.split('\t');
      return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ? cols[i].split('|') : []])) as Frame;
    });
}

const num = (text: string | undefined) => Number(text);
const last = <T>(list: T[]) => list[list.length - 1];
/** tshark prints booleans as 1/0 (older releases: True/False). */
const flag = (text: string | undefined) => text === '1' || text === 'True';

interface Sent {
  spec: PacketSpec;
  vni: number;
}

function specsToSend(): Sent[] {
  const flows: PacketSpec[] = [
    { src: '10.7.0.1', dst: '10.8.0.9', protocol: 6, srcPort: 40001, dstPort: 40443, payload: 'tcp over ipv4, one' },
    { src: '10.7.0.2', dst: '10.8.0.9', protocol: 6, srcPort: 40002, dstPort: 40443, payload: 'tcp over ipv4, two' },
    { src: '10.7.0.3', dst: '10.8.0.9', protocol: 17, srcPort: 40003, dstPort: 40053, payload: 'udp over ipv4, one' },
    { src: '10.7.0.4', dst: '10.8.0.9', protocol: 17, srcPort: 40004, dstPort: 40053, payload: 'udp over ipv4, two' },
    { src: 'fd00:0:0:0:0:0:7:1', dst: 'fd00:0:0:0:0:0:8:9', protocol: 6, srcPort: 40005, dstPort: 40443, payload: 'tcp over ipv6' },
    { src: 'fd00:0:0:0:0:0:7:2', dst: 'fd00:0:0:0:0:0:8:9', protocol: 17, srcPort: 40006, dstPort: 40053, payload: 'udp over ipv6' },
  ];
  // Each direction its own payload and VNI, so every captured packet names the packet it carries.
  return flows.flatMap((spec, i) => [
    { spec, vni: 0x00a000 + 2 * i },
    { spec: { ...reverse(spec), payload: `${spec.payload} (reply)` }, vni: 0x00a001 + 2 * i },
  ]);
}

/** Which packet a captured frame carries, per Wireshark's reading of its inner headers. */
function innerOf(frame: Frame): { src: string; dst: string; protocol: number; srcPort: number; dstPort: number; payload: string } {
  const v6 = frame['ipv6.src'].length > 0;
  const tcp = frame['tcp.srcport'].length > 0;
  return {
    src: v6 ? frame['ipv6.src'][0] : frame['ip.src'][1],
    dst: v6 ? frame['ipv6.dst'][0] : frame['ip.dst'][1],
    protocol: tcp ? 6 : 17,
    // Outer UDP first, the inner UDP second.
    srcPort: num(tcp ? frame['tcp.srcport'][0] : frame['udp.srcport'][1]),
    dstPort: num(tcp ? frame['tcp.dstport'][0] : frame['udp.dstport'][1]),
    payload: Buffer.from((tcp ? frame['tcp.payload'][0] : last(frame['udp.payload'])).replace(/:/g, ''), 'hex').toString(),
  };
}

/** Wireshark writes IPv6 addresses compressed; packets.ts specs spell them out. */
function sameAddress(a: string, b: string): boolean {
  const expand = (s: string) => (s.includes(':') ? ipPacketAddress(s) : s);
  return expand(a) === expand(b);
}
function ipPacketAddress(v6: string): string {
  const [head, tail] = v6.includes('::') ? v6.split('::') : [v6, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

test("Wireshark's GENEVE dissector reads the VNI, the GWLB options and the inner packets as intended", async () => {
  // Set up through the API, as a user would.
  const lb = await createLoadBalancer(server);
  const attrs = await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: lb });
  const vips = (attrs.ZoneMappings as Array<{ LoadBalancerAddresses: Array<{ PrivateIpv4Address: string }> }>).map(
    (z) => z.LoadBalancerAddresses[0].PrivateIpv4Address,
  );
  const sg = await createServerGroup(server, { Protocol: 'GENEVE', HealthCheckConfig: { HealthCheckEnabled: false } });
  await addServers(server, sg, appliances(APPLIANCE_A, APPLIANCE_B));
  const listenerId = await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg });
  assertPath(server);

  const sent = specsToSend();
  const file = join(captureDir, 'gwlb.pcapng');
  const filter = `udp and (${vips.map((v) => `host ${v}`).join(' or ')})`;
  const capture = await Capture.start(file, filter, vips[0]);
  try {
    for (const [i, s] of sent.entries()) {
      const before = endpoint.returned.length;
      await endpoint.send(vips[i % vips.length], s.spec, { vni: s.vni });
      assert.ok(await endpoint.waitForReturned(before + 1), `packet ${i} came back`);
    }
  } finally {
    await capture.stop();
  }

  const frames = dissect(file);
  // Four legs per packet: endpoint → VIP → appliance → VIP → endpoint.
  assert.equal(frames.length, sent.length * 4, 'every leg of every packet captured');
  const [attHi, attLo] = attachmentIdOf(listenerId);
  const attachmentHex = Buffer.alloc(8);
  attachmentHex.writeUInt32BE(attHi, 0);
  attachmentHex.writeUInt32BE(attLo, 4);
  const endpointIdHex = Buffer.alloc(8);
  endpointIdHex.writeUInt16BE(endpoint.port, 2);
  Buffer.from(ENDPOINT.split('.').map(Number)).copy(endpointIdHex, 4);

  const legs = { endpointToVip: 0, vipToAppliance: 0, applianceToVip: 0, vipToEndpoint: 0 };
  const carriedBy = new Map<string, Set<string>>();
  for (const f of frames) {
    const outerSrc = f['ip.src'][0];
    const outerDst = f['ip.dst'][0];
    const [srcPort, dstPort] = [num(f['udp.srcport'][0]), num(f['udp.dstport'][0])];
    const where = `frame ${f['frame.number'][0]} ${outerSrc}:${srcPort} → ${outerDst}:${dstPort}`;

    // GENEVE base header, as Wireshark reads it.
    assert.equal(num(f['geneve.version'][0]), 0, `${where}: version`);
    assert.equal(flag(f['geneve.flags.oam'][0]), false, `${where}: not a control packet`);
    assert.equal(flag(f['geneve.flags.critical'][0]), false, `${where}: no critical option`);

    // The inner packet: one of those sent, byte-intact as far as Wireshark checks.
    const inner = innerOf(f);
    const match = sent.find(
      (s) =>
        sameAddress(s.spec.src, inner.src) &&
        sameAddress(s.spec.dst, inner.dst) &&
        s.spec.protocol === inner.protocol &&
        s.spec.srcPort === inner.srcPort &&
        s.spec.dstPort === inner.dstPort &&
        s.spec.payload === inner.payload,
    );
    assert.ok(match, `${where}: inner packet ${JSON.stringify(inner)} is one the endpoint sent`);
    assert.equal(num(f['geneve.vni'][0]), match.vni, `${where}: VNI`);
    const v6 = match.spec.src.includes(':');
    assert.equal(num(f['geneve.proto_type'][0]), v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4, `${where}: bare IP payload`);
    // Checksum status 1 = Good (0 Bad, 2 Unverified; validation is on). Outer IPv4 first; the outer UDP checksum on lo is
    // left to offload and not checked.
    for (const status of f['ip.checksum.status']) assert.equal(status, '1', `${where}: IPv4 header checksums`);
    const l4Status = match.spec.protocol === 6 ? f['tcp.checksum.status'][0] : last(f['udp.checksum.status']);
    assert.equal(l4Status, '1', `${where}: inner ${match.spec.protocol === 6 ? 'TCP' : 'UDP'} checksum`);

    const classes = f['geneve.option.class'].map(num);
    const types = f['geneve.option.type'].map(num);
    if (outerSrc === ENDPOINT) {
      legs.endpointToVip++;
      assert.ok(vips.includes(outerDst) && dstPort === 6081, `${where}: to a VIP on 6081`);
      assert.deepEqual(classes, [], `${where}: the endpoint sends no options`);
      assert.deepEqual(f['geneve.option.length'].map(num), [0], `${where}: option area length 0`);
      continue;
    }
    // Towards the appliance and back to the endpoint: the three GWLB options of the configured
    // class. Wireshark gives the whole option area's length first (Opt Len × 4 = 32 bytes), then
    // each option's length counting its 4-byte header.
    assert.deepEqual(classes, [OPTION_CLASS, OPTION_CLASS, OPTION_CLASS], `${where}: option classes`);
    assert.deepEqual(types, [1, 2, 3], `${where}: option types`);
    assert.deepEqual(f['geneve.option.length'].map(num), [32, 12, 12, 8], `${where}: option lengths`);
    const data = f['geneve.option.unknown.data'].map((d) => d.replace(/:/g, ''));
    assert.equal(data[0], endpointIdHex.toString('hex'), `${where}: endpoint id (port and address of the endpoint)`);
    assert.equal(data[1], attachmentHex.toString('hex'), `${where}: attachment id of the listener`);
    assert.equal(data[2].length, 8, `${where}: 4-byte flow cookie`);
    const cookie = parseInt(data[2], 16);
    const forward = sent.indexOf(match) % 2 === 0;
    assert.equal(cookie >>> 31, forward ? 0 : 1, `${where}: cookie direction bit`);

    if (vips.includes(outerSrc) && (outerDst === APPLIANCE_A || outerDst === APPLIANCE_B)) {
      legs.vipToAppliance++;
      assert.equal(srcPort, 6081, `${where}: from the VIP's port 6081`);
      assert.equal(dstPort, 6081, `${where}: to the appliance's 6081`);
      const name = flowName(match.spec);
      carriedBy.set(name, new Set([...(carriedBy.get(name) ?? []), outerDst]));
    } else if (outerSrc === APPLIANCE_A || outerSrc === APPLIANCE_B) {
      legs.applianceToVip++;
      assert.ok(vips.includes(outerDst) && dstPort === 6081, `${where}: returned to the VIP`);
    } else {
      legs.vipToEndpoint++;
      assert.ok(vips.includes(outerSrc) && srcPort === 6081, `${where}: from a VIP's port 6081`);
      assert.equal(outerDst, ENDPOINT, `${where}: to the endpoint`);
      assert.equal(dstPort, endpoint.port, `${where}: to the endpoint's port`);
    }
  }
  assert.deepEqual(legs, {
    endpointToVip: sent.length,
    vipToAppliance: sent.length,
    applianceToVip: sent.length,
    vipToEndpoint: sent.length,
  });
  for (const [name, hosts] of carriedBy) assert.equal(hosts.size, 1, `${name}: both directions to one appliance`);
});
