import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PP2_TYPE_ALIBABA,
  PP2_TYPE_CRC32C,
  ProxyProtocolError,
  alibabaTlvBytes,
  alibabaTlvs,
  crc32c,
  decodeProxyV2,
  encodeProxyV2,
  encodeProxyV2Local,
  encodeTlvs,
  formatIpv6,
} from '../../../src/dataplane/nlb/proxy-protocol.js';

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const ascii = (s: string): number[] => [...Buffer.from(s, 'ascii')];
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Asserts byte by byte, so a failure names the first differing offset. */
function assertBytes(actual: Uint8Array, expected: number[]): void {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    assert.equal(actual[i], expected[i], `byte ${i}: got ${hex(actual)}, expected ${hex(Uint8Array.from(expected))}`);
  }
  assert.equal(actual.length, expected.length);
}

const VPC = 'vpc-bp1abc'; // 10 chars
const EP = 'ep-x1'; // 5
const EPS = 'epsrv-y2'; // 8
const TLV_BYTES = [0xe1, 0x00, 0x0b, 0x01, ...ascii(VPC), 0xe1, 0x00, 0x06, 0x02, ...ascii(EP), 0xe1, 0x00, 0x09, 0x03, ...ascii(EPS)]; // 14 + 9 + 12 = 35 bytes

test('TCP over IPv4, no TLVs', () => {
  const h = encodeProxyV2({ srcIp: '192.0.2.10', srcPort: 51234, dstIp: '127.0.1.1', dstPort: 80 });
  assertBytes(h, [
    ...SIG,
    0x21, // v2, PROXY
    0x11, // INET, STREAM
    0x00,
    0x0c, // 12 bytes follow
    192,
    0,
    2,
    10, // src
    127,
    0,
    1,
    1, // dst
    0xc8,
    0x22, // 51234
    0x00,
    0x50, // 80
  ]);
});

test('IPv4-mapped IPv6 from a dual-stack socket encodes as IPv4', () => {
  const a = encodeProxyV2({ srcIp: '::ffff:192.0.2.10', srcPort: 51234, dstIp: '::ffff:127.0.1.1', dstPort: 80 });
  const b = encodeProxyV2({ srcIp: '192.0.2.10', srcPort: 51234, dstIp: '127.0.1.1', dstPort: 80 });
  assert.equal(hex(a), hex(b));
});

test('Alibaba TLVs: type 0xE1, length = subtype + ID, one per ID in subtype order', () => {
  assertBytes(alibabaTlvBytes({ endpointServiceId: EPS, vpcId: VPC, endpointId: EP }), TLV_BYTES);
  assertBytes(alibabaTlvBytes({ vpcId: VPC }), TLV_BYTES.slice(0, 14));
  assertBytes(alibabaTlvBytes({}), []);
  assert.deepEqual(alibabaTlvs({ endpointId: EP }), [{ type: PP2_TYPE_ALIBABA, value: Uint8Array.from([2, ...ascii(EP)]) }]);
  assert.throws(() => alibabaTlvs({ vpcId: '' }), RangeError);
  assert.throws(() => alibabaTlvs({ vpcId: 'vpc-中' }), RangeError);
  assert.throws(() => alibabaTlvs({ vpcId: 'vpc 1' }), RangeError);
  assert.throws(() => encodeTlvs([{ type: 256, value: new Uint8Array(0) }]), RangeError);
});

test('TCP over IPv4 with Alibaba TLVs', () => {
  const tlvs = alibabaTlvBytes({ vpcId: VPC, endpointId: EP, endpointServiceId: EPS });
  const h = encodeProxyV2({ transport: 'tcp', srcIp: '10.1.2.3', srcPort: 1, dstIp: '10.9.8.7', dstPort: 65535 }, tlvs);
  assertBytes(h, [...SIG, 0x21, 0x11, 0x00, 12 + 35, 10, 1, 2, 3, 10, 9, 8, 7, 0x00, 0x01, 0xff, 0xff, ...TLV_BYTES]);
});

const V6_SRC = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
const V6_DST = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];

test('TCP over IPv6, no TLVs', () => {
  const h = encodeProxyV2({ srcIp: '2001:db8::10', srcPort: 40000, dstIp: '2001:db8::1', dstPort: 8443 });
  assertBytes(h, [...SIG, 0x21, 0x21, 0x00, 0x24, ...V6_SRC, ...V6_DST, 0x9c, 0x40, 0x20, 0xfb]);
});

test('TCP over IPv6 with Alibaba TLVs', () => {
  const tlvs = alibabaTlvBytes({ vpcId: VPC, endpointId: EP, endpointServiceId: EPS });
  const h = encodeProxyV2({ srcIp: '2001:db8::10', srcPort: 40000, dstIp: '2001:db8::1', dstPort: 8443 }, tlvs);
  assertBytes(h, [...SIG, 0x21, 0x21, 0x00, 36 + 35, ...V6_SRC, ...V6_DST, 0x9c, 0x40, 0x20, 0xfb, ...TLV_BYTES]);
});

test('UDP families, and a v4 end next to a v6 end goes IPv6 with the v4 end mapped', () => {
  assert.equal(encodeProxyV2({ transport: 'udp', srcIp: '1.2.3.4', srcPort: 53, dstIp: '5.6.7.8', dstPort: 53 })[13], 0x12);
  assert.equal(encodeProxyV2({ transport: 'udp', srcIp: '::1', srcPort: 53, dstIp: '::2', dstPort: 53 })[13], 0x22);
  const mixed = encodeProxyV2({ srcIp: '::ffff:192.0.2.1', srcPort: 7, dstIp: '2001:db8::1', dstPort: 9 });
  assertBytes(mixed, [
    ...SIG,
    0x21,
    0x21,
    0x00,
    0x24,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0xff,
    0xff,
    192,
    0,
    2,
    1,
    ...V6_DST,
    0x00,
    0x07,
    0x00,
    0x09,
  ]);
});

test('bad addresses and ports are refused', () => {
  assert.throws(() => encodeProxyV2({ srcIp: 'example.com', srcPort: 1, dstIp: '1.2.3.4', dstPort: 1 }), RangeError);
  assert.throws(() => encodeProxyV2({ srcIp: '1.2.3.4', srcPort: 1, dstIp: '1.2.3', dstPort: 1 }), RangeError);
  assert.throws(() => encodeProxyV2({ srcIp: '1.2.3.4', srcPort: 65536, dstIp: '1.2.3.4', dstPort: 1 }), RangeError);
  assert.throws(() => encodeProxyV2({ srcIp: '1.2.3.4', srcPort: 1, dstIp: '1.2.3.4', dstPort: -1 }), RangeError);
  assert.throws(() => encodeProxyV2({ srcIp: '1.2.3.4', srcPort: 1.5, dstIp: '1.2.3.4', dstPort: 1 }), RangeError);
});

test('LOCAL header', () => {
  assertBytes(encodeProxyV2Local(), [...SIG, 0x20, 0x00, 0x00, 0x00]);
  const d = decodeProxyV2(encodeProxyV2Local(alibabaTlvBytes({ vpcId: VPC })))!;
  assert.equal(d.command, 'LOCAL');
  assert.equal(d.family, 'UNSPEC');
  assert.equal(d.srcIp, undefined);
  assert.equal(d.alibaba.vpcId, VPC);
});

test('decode round-trips what encode writes, payload offset included', () => {
  const tlvs = alibabaTlvBytes({ vpcId: VPC, endpointId: EP, endpointServiceId: EPS });
  const v4 = encodeProxyV2({ srcIp: '192.0.2.10', srcPort: 51234, dstIp: '127.0.1.1', dstPort: 80 }, tlvs);
  const withPayload = Buffer.concat([v4, Buffer.from('GET / HTTP/1.1\r\n')]);
  const d = decodeProxyV2(withPayload)!;
  assert.deepEqual(
    { ...d, tlvs: d.tlvs.map((t) => [t.type, Buffer.from(t.value).toString('latin1')]) },
    {
      command: 'PROXY',
      family: 'INET',
      transport: 'STREAM',
      srcIp: '192.0.2.10',
      srcPort: 51234,
      dstIp: '127.0.1.1',
      dstPort: 80,
      tlvs: [
        [0xe1, `\x01${VPC}`],
        [0xe1, `\x02${EP}`],
        [0xe1, `\x03${EPS}`],
      ],
      alibaba: { vpcId: VPC, endpointId: EP, endpointServiceId: EPS },
      length: v4.length,
    },
  );
  assert.equal(withPayload.subarray(d.length).toString(), 'GET / HTTP/1.1\r\n');
  const v6 = decodeProxyV2(
    encodeProxyV2({ transport: 'udp', srcIp: '2001:DB8:0:0:0:0:0:10', srcPort: 1, dstIp: 'fe80::1%eth0', dstPort: 2 }),
  )!;
  assert.deepEqual(
    [v6.family, v6.transport, v6.srcIp, v6.dstIp, v6.srcPort, v6.dstPort],
    ['INET6', 'DGRAM', '2001:db8::10', 'fe80::1', 1, 2],
  );
});

test('decode: an incomplete prefix asks for more bytes', () => {
  const h = encodeProxyV2({ srcIp: '2001:db8::10', srcPort: 40000, dstIp: '2001:db8::1', dstPort: 8443 }, alibabaTlvBytes({ vpcId: VPC }));
  for (let n = 0; n < h.length; n++) assert.equal(decodeProxyV2(h.subarray(0, n)), undefined, `prefix ${n}`);
  assert.ok(decodeProxyV2(h));
});

function mutate(base: Buffer, at: number, value: number): Buffer {
  const b = Buffer.from(base);
  b[at] = value;
  return b;
}

test('decode is strict', () => {
  const base = encodeProxyV2({ srcIp: '10.0.0.1', srcPort: 1, dstIp: '10.0.0.2', dstPort: 2 });
  const bad = (buf: Uint8Array, why: string): void => {
    assert.throws(() => decodeProxyV2(buf), ProxyProtocolError, why);
  };
  bad(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), 'v1 text');
  bad(Buffer.from([0x0d, 0x0a, 0x0d, 0x0b]), 'bad signature prefix');
  bad(mutate(base, 12, 0x11), 'version 1');
  bad(mutate(base, 12, 0x22), 'command 2');
  bad(mutate(base, 13, 0x41), 'family 4');
  bad(mutate(base, 13, 0x13), 'transport 3');
  bad(mutate(base, 13, 0x10), 'INET without transport');
  bad(mutate(base, 13, 0x21), 'INET6 needs 36 bytes, 12 given');
  const withTlv = (tlv: number[]): Buffer => {
    const b = Buffer.concat([base, Buffer.from(tlv)]);
    b.writeUInt16BE(12 + tlv.length, 14);
    return b;
  };
  bad(withTlv([0xe1, 0x00]), 'truncated TLV header');
  bad(withTlv([0xe1, 0x00, 0x05, 0x01, 0x41]), 'TLV overruns');
  bad(withTlv([0xe1, 0x00, 0x01, 0x01]), 'Alibaba TLV with no ID');
  bad(withTlv([0xe1, 0x00, 0x03, 0x01, 0x41, 0x00]), 'non-printable ID');
  bad(withTlv([0xe1, 0x00, 0x02, 0x01, 0x41, 0xe1, 0x00, 0x02, 0x01, 0x42]), 'repeated VPC ID');
  bad(withTlv([PP2_TYPE_CRC32C, 0x00, 0x02, 0, 0]), 'short CRC32C');
  // Unknown TLVs and unknown Alibaba subtypes are kept, not refused.
  const ok = decodeProxyV2(withTlv([0xe1, 0x00, 0x02, 0x09, 0x41, 0xea, 0x00, 0x01, 0x7f, 0x04, 0x00, 0x00]))!;
  assert.deepEqual(
    ok.tlvs.map((t) => [t.type, [...t.value]]),
    [
      [0xe1, [0x09, 0x41]],
      [0xea, [0x7f]],
      [0x04, []],
    ],
  );
  assert.deepEqual(ok.alibaba, {});
});

test('CRC32C TLV is verified', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const tlvs = encodeTlvs([{ type: PP2_TYPE_CRC32C, value: new Uint8Array(4) }, ...alibabaTlvs({ vpcId: VPC })]);
  const h = encodeProxyV2({ srcIp: '10.0.0.1', srcPort: 1, dstIp: '10.0.0.2', dstPort: 2 }, tlvs);
  const crcAt = 16 + 12 + 3;
  h.writeUInt32BE(crc32c(h), crcAt); // computed with the field zeroed
  assert.equal(decodeProxyV2(h)!.alibaba.vpcId, VPC);
  h[h.length - 1] ^= 1;
  assert.throws(() => decodeProxyV2(h), /CRC32C/);
});

test('formatIpv6 follows RFC 5952', () => {
  const f = (bytes: number[]): string => formatIpv6(Uint8Array.from(bytes), 0);
  assert.equal(f(V6_SRC), '2001:db8::10');
  assert.equal(f(new Array(16).fill(0)), '::');
  assert.equal(f([...new Array(15).fill(0), 1]), '::1');
  assert.equal(f([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]), '2001:db8:0:1:1:1:1:1');
  assert.equal(f([0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), '2001:0:0:1::1');
  assert.equal(f([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]), '2001:db8::1:0:0:1');
  assert.equal(f([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]), '::ffff:1.2.3.4');
});
