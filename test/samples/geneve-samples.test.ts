/**
 * The sample GWLB appliance and endpoint (`openslb geneve appliance|send`) on their own: the
 * inner packets they build are valid IP, the appliance returns what it gets and logs it, and
 * the commands say what went wrong. The walk through a real GWLB is test/readme.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { DEFAULT_GWLB_OPTION_CLASS, ETHERTYPE_IPV4 } from '../../src/dataplane/gwlb/geneve.js';
import { INNER_OK, InnerPacket, parseInner } from '../../src/dataplane/gwlb/inner.js';
import { startSampleAppliance } from '../../src/samples/geneve-appliance.js';
import { sendThroughGwlb } from '../../src/samples/geneve-endpoint.js';
import { buildIpv4Packet, describeIpPacket } from '../../src/samples/ip-packet.js';
import { runCli } from '../support/process.js';

/** One's-complement sum over `bytes`; a correct checksum makes it 0xFFFF. */
function sum16(bytes: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) s += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2) s += bytes[bytes.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function pseudoHeaderAndSegment(packet: Buffer): Buffer {
  const segment = packet.subarray(20);
  const pseudo = Buffer.alloc(12);
  packet.copy(pseudo, 0, 12, 20);
  pseudo[9] = packet[9];
  pseudo.writeUInt16BE(segment.length, 10);
  return Buffer.concat([pseudo, segment]);
}

test('inner packets are valid IPv4 TCP and UDP, with checksums a receiver accepts', () => {
  for (const protocol of ['udp', 'tcp'] as const) {
    const packet = buildIpv4Packet({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      protocol,
      srcPort: 40000,
      dstPort: 53,
      payload: Buffer.from('odd!!'),
    });
    const p = new InnerPacket();
    assert.equal(parseInner(packet, 0, packet.length, ETHERTYPE_IPV4, p), INNER_OK);
    assert.deepEqual([p.protocol, p.srcPort, p.dstPort, p.length], [protocol === 'tcp' ? 6 : 17, 40000, 53, packet.length]);
    assert.equal(sum16(packet.subarray(0, 20)), 0xffff, 'IPv4 header checksum');
    assert.equal(sum16(pseudoHeaderAndSegment(packet)), 0xffff, `${protocol} checksum`);
    assert.equal(describeIpPacket(packet), `${protocol.toUpperCase()} 10.0.0.1:40000 > 10.0.0.2:53 "odd!!"`);
  }
  assert.throws(
    () => buildIpv4Packet({ src: 'fd00::1', dst: '10.0.0.2', protocol: 'udp', srcPort: 1, dstPort: 2, payload: Buffer.alloc(0) }),
    /source must be an IPv4 address/,
  );
  assert.equal(describeIpPacket(Buffer.from([0x45, 0, 0])), 'unreadable inner packet (inner_malformed, 3 bytes)');
});

test('the appliance logs each packet and returns it unchanged to its sender; garbage is logged and dropped', async (t) => {
  const lines: string[] = [];
  const appliance = await startSampleAppliance({
    address: '127.0.61.10',
    port: 0,
    healthPort: 0,
    optionClass: DEFAULT_GWLB_OPTION_CLASS,
    log: (l) => lines.push(l),
  });
  t.after(() => appliance.close());
  assert.match(lines[0], /^GENEVE on 127\.0\.61\.10:\d+, health checks on TCP 127\.0\.61\.10:\d+$/);

  const inner = buildIpv4Packet({
    src: '10.9.0.1',
    dst: '10.9.0.2',
    protocol: 'tcp',
    srcPort: 1234,
    dstPort: 443,
    payload: Buffer.from('GET /'),
  });
  const back = await sendThroughGwlb({
    to: '127.0.61.10',
    port: appliance.port,
    inner,
    vni: 7,
    optionClass: DEFAULT_GWLB_OPTION_CLASS,
    timeoutMs: 30_000,
    resendMs: 1000,
  });
  assert.ok(back, 'the packet came back');
  assert.equal(back.unchanged, true);
  assert.equal(back.vni, 7);
  assert.equal(back.inner, 'TCP 10.9.0.1:1234 > 10.9.0.2:443 "GET /"');
  assert.equal(back.options, 'no GWLB options');
  assert.match(
    lines.find((l) => l.startsWith('vni 7')) ?? '',
    /^vni 7 TCP 10\.9\.0\.1:1234 > 10\.9\.0\.2:443 "GET \/" from 127\.0\.0\.1:\d+ \(no GWLB options\): returned$/,
  );

  const raw = dgram.createSocket('udp4');
  t.after(() => raw.close());
  await new Promise<void>((resolve, reject) =>
    raw.send(Buffer.from([0xc0, 0, 8, 0, 0, 0, 0, 0]), appliance.port, '127.0.61.10', (e) => (e ? reject(e) : resolve())),
  );
  for (let i = 0; i < 500 && !lines.some((l) => l.startsWith('dropped')); i++) await new Promise((r) => setTimeout(r, 10));
  assert.match(lines.find((l) => l.startsWith('dropped')) ?? '', /^dropped a datagram from 127\.0\.0\.1:\d+: bad_version$/);
  assert.equal(appliance.returned(), back.attempts);
});

test('geneve send says why when nothing comes back, and refuses a malformed address', async () => {
  const silent = await runCli(['geneve', 'send', '--to', '127.0.61.11', '--timeout', '1']);
  assert.equal(silent.code, 1);
  assert.match(silent.stderr, /nothing came back from 127\.0\.61\.11:6081 within 1 s\. Check that the GWLB listener is Running/);
  const bad = await runCli(['geneve', 'send', '--to', '127.0.61.11', '--src', '10.0.0.1']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--src takes an IPv4 address and a port, such as 10\.0\.0\.1:40000 \(got "10\.0\.0\.1"\)/);
  const appliance = await runCli(['geneve', 'appliance', '--address', '127.0.61.12', '--health-port', '70000']);
  assert.notEqual(appliance.code, 0);
  assert.match(appliance.stderr, /--health-port.*must be an integer from 1 to 65535/);
});
