import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../../src/dataplane/gwlb/geneve.js';
import {
  INNER_ERROR_NAMES,
  INNER_MALFORMED,
  INNER_OK,
  INNER_TOO_LARGE,
  INNER_VERSION_MISMATCH,
  InnerPacket,
  MAX_INNER_PACKET,
  addressText,
  parseInner,
} from '../../../src/dataplane/gwlb/inner.js';
import { ipPacket } from './packets.js';

function parse(buf: Uint8Array, protocolType = buf[0] >>> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4): { code: number; p: InnerPacket } {
  const p = new InnerPacket();
  return { code: parseInner(buf, 0, buf.length, protocolType, p), p };
}

test('IPv4 TCP and UDP: addresses, protocol and ports', () => {
  for (const protocol of [6, 17]) {
    const pkt = ipPacket({ src: '192.168.1.10', dst: '10.1.2.3', protocol, srcPort: 51000, dstPort: 443, payload: 'x' });
    const { code, p } = parse(pkt);
    assert.equal(code, INNER_OK);
    assert.equal(p.version, 4);
    assert.equal(p.protocol, protocol);
    assert.equal(addressText(pkt, p.srcOffset, p.addressLength), '192.168.1.10');
    assert.equal(addressText(pkt, p.dstOffset, p.addressLength), '10.1.2.3');
    assert.equal(p.hasPorts, true);
    assert.equal(p.srcPort, 51000);
    assert.equal(p.dstPort, 443);
    assert.equal(p.length, pkt.length);
  }
});

test('IPv6 UDP and ICMPv6; ICMP by addresses only', () => {
  const udp = ipPacket({ src: 'fd00::1', dst: 'fd00::2:3', protocol: 17, srcPort: 7, dstPort: 9 });
  const u = parse(udp);
  assert.equal(u.code, INNER_OK);
  assert.equal(u.p.version, 6);
  assert.equal(addressText(udp, u.p.srcOffset, 16), 'fd00:0:0:0:0:0:0:1');
  assert.equal(addressText(udp, u.p.dstOffset, 16), 'fd00:0:0:0:0:0:2:3');
  assert.deepEqual([u.p.srcPort, u.p.dstPort, u.p.hasPorts], [7, 9, true]);

  const icmp6 = parse(ipPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 58 }));
  assert.equal(icmp6.code, INNER_OK);
  assert.deepEqual([icmp6.p.protocol, icmp6.p.hasPorts, icmp6.p.srcPort], [58, false, 0]);

  const icmp = parse(ipPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 1, payload: 'ping' }));
  assert.equal(icmp.code, INNER_OK);
  assert.deepEqual([icmp.p.protocol, icmp.p.hasPorts], [1, false]);

  // Another protocol (GRE) with no port notion.
  const gre = parse(ipPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 47, payload: 'abcd' }));
  assert.equal(gre.code, INNER_OK);
  assert.equal(gre.p.hasPorts, false);
});

test('fragments: the first carries ports, later ones do not', () => {
  const first = parse(
    ipPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, srcPort: 1000, dstPort: 2000, moreFragments: true, payload: 'abcdefgh' }),
  );
  assert.equal(first.code, INNER_OK);
  assert.deepEqual([first.p.hasPorts, first.p.srcPort], [true, 1000]);
  const later = parse(ipPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, srcPort: 1000, dstPort: 2000, fragmentOffset: 185 }));
  assert.equal(later.code, INNER_OK);
  assert.deepEqual([later.p.laterFragment, later.p.hasPorts, later.p.srcPort, later.p.dstPort], [true, false, 0, 0]);
});

test('inner packets over 1500 bytes are refused; exactly 1500 is fine', () => {
  const at = ipPacket({
    src: '10.0.0.1',
    dst: '10.0.0.2',
    protocol: 17,
    srcPort: 1,
    dstPort: 2,
    payload: new Uint8Array(MAX_INNER_PACKET - 28),
  });
  assert.equal(at.length, 1500);
  assert.equal(parse(at).code, INNER_OK);
  const over = ipPacket({
    src: '10.0.0.1',
    dst: '10.0.0.2',
    protocol: 17,
    srcPort: 1,
    dstPort: 2,
    payload: new Uint8Array(MAX_INNER_PACKET - 27),
  });
  assert.equal(over.length, 1501);
  assert.equal(parse(over).code, INNER_TOO_LARGE);
  assert.equal(INNER_ERROR_NAMES[INNER_TOO_LARGE], 'inner_too_large');
});

test('malformed inner packets are refused', () => {
  const good = ipPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, srcPort: 1, dstPort: 2, payload: 'data' });
  assert.equal(parse(good.subarray(0, 19)).code, INNER_MALFORMED, 'shorter than an IPv4 header');
  assert.equal(parse(new Uint8Array(0), ETHERTYPE_IPV4).code, INNER_MALFORMED, 'empty');
  const v5 = Buffer.from(good);
  v5[0] = 0x55;
  assert.equal(parse(v5, ETHERTYPE_IPV4).code, INNER_MALFORMED, 'version 5');
  const ihl = Buffer.from(good);
  ihl[0] = 0x44;
  assert.equal(parse(ihl).code, INNER_MALFORMED, 'IHL 4');
  const total = Buffer.from(good);
  total.writeUInt16BE(good.length + 1, 2);
  assert.equal(parse(total).code, INNER_MALFORMED, 'total length past the data');
  // A TCP header cut short (total length says 30: 20 IP + 10 TCP).
  const shortTcp = Buffer.from(good.subarray(0, 30));
  shortTcp.writeUInt16BE(30, 2);
  assert.equal(parse(shortTcp).code, INNER_MALFORMED, 'short TCP header');
  const v6 = ipPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 17, srcPort: 1, dstPort: 2 });
  assert.equal(parse(v6.subarray(0, 39)).code, INNER_MALFORMED, 'shorter than an IPv6 header');
  const v6len = Buffer.from(v6);
  v6len.writeUInt16BE(100, 4);
  assert.equal(parse(v6len).code, INNER_MALFORMED, 'payload length past the data');
});

test('the IP version must match the GENEVE protocol type', () => {
  const v4 = ipPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, srcPort: 1, dstPort: 2 });
  const v6 = ipPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 17, srcPort: 1, dstPort: 2 });
  assert.equal(parse(v4, ETHERTYPE_IPV6).code, INNER_VERSION_MISMATCH);
  assert.equal(parse(v6, ETHERTYPE_IPV4).code, INNER_VERSION_MISMATCH);
});

test('bytes after the stated length are tolerated', () => {
  const pkt = Buffer.concat([ipPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, srcPort: 1, dstPort: 2 }), Buffer.alloc(6)]);
  const { code, p } = parse(pkt);
  assert.equal(code, INNER_OK);
  assert.equal(p.length, pkt.length - 6);
});

test('parsing at an offset inside a larger buffer', () => {
  const pkt = ipPacket({ src: '10.9.8.7', dst: '10.0.0.2', protocol: 17, srcPort: 5, dstPort: 6 });
  const buf = Buffer.concat([Buffer.alloc(40, 0xee), pkt]);
  const p = new InnerPacket();
  assert.equal(parseInner(buf, 40, buf.length, ETHERTYPE_IPV4, p), INNER_OK);
  assert.equal(addressText(buf, p.srcOffset, 4), '10.9.8.7');
  assert.equal(p.srcPort, 5);
});
