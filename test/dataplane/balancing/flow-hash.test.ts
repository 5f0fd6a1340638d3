import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hashFiveTupleSymmetric,
  hashFourTuple,
  hashPacketSymmetric,
  hashSourceIp,
  hashThreeTupleSymmetric,
  hashTupleSymmetric,
  hashTwoTupleSymmetric,
  isIpv4Mapped,
  murmur3,
  parseIpInto,
} from '../../../src/dataplane/balancing/flow-hash.js';

const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const m3 = (s: string, seed: number): number => {
  const b = ascii(s);
  return murmur3(b, 0, b.length, seed);
};

test('murmur3 is the standard MurmurHash3_x86_32 (published vectors)', () => {
  assert.equal(m3('', 0), 0);
  assert.equal(m3('', 1), 0x514e28b7);
  assert.equal(m3('', 0xffffffff), 0x81f16f39);
  assert.equal(m3('test', 0), 0xba6bd213);
  assert.equal(m3('hello', 0), 0x248bfa47);
  assert.equal(m3('Hello, world!', 0), 0xc0363e43);
  assert.equal(m3('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
  // A slice hashes like the same bytes on their own.
  const b = ascii('xxhelloyy');
  assert.equal(murmur3(b, 2, 7, 0), 0x248bfa47);
});

function addr(text: string): { family: number; bytes: number[] } {
  const out = new Uint8Array(16);
  const family = parseIpInto(text, out, 0);
  return { family, bytes: [...out] };
}

test('parseIpInto writes 16 network-order bytes, IPv4 as IPv4-mapped', () => {
  const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1];
  assert.deepEqual(addr('10.0.0.1'), { family: 4, bytes: mapped });
  assert.deepEqual(addr('::ffff:10.0.0.1'), { family: 6, bytes: mapped });
  assert.deepEqual(addr('::FFFF:a00:1'), { family: 6, bytes: mapped });
  assert.deepEqual(addr('::1').bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(addr('::').bytes, new Array(16).fill(0));
  assert.deepEqual(
    addr('2001:db8::8:800:200c:417a').bytes,
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0x08, 0x08, 0x00, 0x20, 0x0c, 0x41, 0x7a],
  );
  assert.deepEqual(addr('1:2:3:4:5:6:7:8').bytes, [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  assert.deepEqual(addr('1::').bytes, [0, 1, ...new Array(14).fill(0)]);
  assert.deepEqual(addr('fe80::1%eth0').bytes, [0xfe, 0x80, ...new Array(13).fill(0), 1]);
  assert.deepEqual(addr('64:ff9b::192.0.2.33').bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33]);
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1..2.3',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::',
    '1:',
    'g::1',
    '12345::',
    'example.com',
    '1:2:3:4:5:6:7:1.2.3.4',
  ]) {
    assert.equal(addr(bad).family, 0, bad);
  }
  const b = new Uint8Array(16);
  parseIpInto('1.2.3.4', b, 0);
  assert.equal(isIpv4Mapped(b, 0), true);
  parseIpInto('::1.2.3.4', b, 0);
  assert.equal(isIpv4Mapped(b, 0), false);
});

function bytesOf(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') {
      const a = new Uint8Array(16);
      assert.notEqual(parseIpInto(p, a, 0), 0);
      out.push(...a);
    } else out.push(...p);
  }
  return Uint8Array.from(out);
}
const port = (p: number): number[] => [p >>> 8, p & 0xff];
const mm = (b: Uint8Array): number => murmur3(b, 0, b.length, 0);

test('the flow hashes are murmur3 (seed 0) over the documented byte strings', () => {
  assert.equal(hashSourceIp('192.0.2.7'), mm(bytesOf('192.0.2.7')));
  assert.equal(hashFourTuple('192.0.2.7', 40000, '10.1.2.3', 443), mm(bytesOf('192.0.2.7', '10.1.2.3', port(40000), port(443))));
  // 5-tuple: lo endpoint first (10.1.2.3 < 192.0.2.7), protocol padded to 4 bytes.
  assert.equal(
    hashFiveTupleSymmetric(6, '192.0.2.7', 40000, '10.1.2.3', 443),
    mm(bytesOf('10.1.2.3', '192.0.2.7', port(443), port(40000), [6, 0, 0, 0])),
  );
  assert.equal(hashThreeTupleSymmetric(17, '192.0.2.7', '10.1.2.3'), mm(bytesOf('10.1.2.3', '192.0.2.7', [17, 0, 0, 0])));
  assert.equal(hashTwoTupleSymmetric('192.0.2.7', '10.1.2.3'), mm(bytesOf('10.1.2.3', '192.0.2.7')));
  // Same address: the port decides the order.
  assert.equal(
    hashFiveTupleSymmetric(6, '10.0.0.1', 9000, '10.0.0.1', 80),
    mm(bytesOf('10.0.0.1', '10.0.0.1', port(80), port(9000), [6, 0, 0, 0])),
  );
  // Pinned value: changing the function breaks cross-version consistency, so notice it.
  assert.equal(hashSourceIp('10.0.0.1'), 0x98fe1236);
  assert.equal(hashFourTuple('10.0.0.1', 1234, '10.0.0.2', 80), 0x5b95851a);
  assert.equal(hashFiveTupleSymmetric(6, '10.0.0.1', 1234, '10.0.0.2', 80), 0x86377a6b);
});

test('sch / tch: IPv4 and IPv4-mapped spellings agree; tch depends on every field and on direction', () => {
  assert.equal(hashSourceIp('10.0.0.1'), hashSourceIp('::ffff:10.0.0.1'));
  assert.notEqual(hashSourceIp('10.0.0.1'), hashSourceIp('10.0.0.2'));
  const base = hashFourTuple('10.0.0.1', 1000, '10.0.0.9', 80);
  assert.equal(base, hashFourTuple('::ffff:10.0.0.1', 1000, '::ffff:10.0.0.9', 80));
  assert.notEqual(base, hashFourTuple('10.0.0.1', 1001, '10.0.0.9', 80));
  assert.notEqual(base, hashFourTuple('10.0.0.1', 1000, '10.0.0.9', 81));
  assert.notEqual(base, hashFourTuple('10.0.0.2', 1000, '10.0.0.9', 80));
  assert.notEqual(base, hashFourTuple('10.0.0.1', 1000, '10.0.0.8', 80));
  assert.notEqual(base, hashFourTuple('10.0.0.9', 80, '10.0.0.1', 1000));
  // Non-addresses still hash deterministically.
  assert.equal(hashSourceIp('not-an-ip'), hashSourceIp('not-an-ip'));
  assert.notEqual(hashSourceIp('not-an-ip'), hashSourceIp('not-an-ip2'));
});

test('GWLB hashes are symmetric and drop exactly what their mode drops', () => {
  const pairs: [string, number, string, number][] = [
    ['10.0.0.1', 51000, '10.0.0.2', 443],
    ['192.168.1.5', 53, '172.16.0.9', 53000],
    ['2001:db8::1', 1, '2001:db8::2', 2],
    ['10.0.0.1', 80, '10.0.0.1', 81],
  ];
  for (const [a, ap, b, bp] of pairs) {
    assert.equal(hashFiveTupleSymmetric(6, a, ap, b, bp), hashFiveTupleSymmetric(6, b, bp, a, ap));
    assert.equal(hashThreeTupleSymmetric(17, a, b), hashThreeTupleSymmetric(17, b, a));
    assert.equal(hashTwoTupleSymmetric(a, b), hashTwoTupleSymmetric(b, a));
    for (const mode of [5, 3, 2] as const) {
      assert.equal(hashTupleSymmetric(mode, 6, a, ap, b, bp), hashTupleSymmetric(mode, 6, b, bp, a, ap));
    }
  }
  const five = hashFiveTupleSymmetric(6, '10.0.0.1', 1000, '10.0.0.2', 80);
  assert.notEqual(five, hashFiveTupleSymmetric(6, '10.0.0.1', 1001, '10.0.0.2', 80));
  assert.notEqual(five, hashFiveTupleSymmetric(17, '10.0.0.1', 1000, '10.0.0.2', 80));
  // 3-tuple ignores ports, keeps protocol; 2-tuple ignores both.
  assert.equal(hashTupleSymmetric(3, 6, '10.0.0.1', 1, '10.0.0.2', 2), hashTupleSymmetric(3, 6, '10.0.0.1', 3, '10.0.0.2', 4));
  assert.notEqual(hashThreeTupleSymmetric(6, '10.0.0.1', '10.0.0.2'), hashThreeTupleSymmetric(17, '10.0.0.1', '10.0.0.2'));
  assert.equal(hashTupleSymmetric(2, 6, '10.0.0.1', 1, '10.0.0.2', 2), hashTupleSymmetric(2, 17, '10.0.0.1', 3, '10.0.0.2', 4));
  // The symmetric 5-tuple is not just the 4-tuple.
  assert.notEqual(five, hashFourTuple('10.0.0.1', 1000, '10.0.0.2', 80));
});

function ipv4Packet(proto: number, src: number[], dst: number[], sport: number, dport: number, fragOffset = 0): Uint8Array {
  const p = new Uint8Array(28);
  p[0] = 0x45;
  p[3] = 28;
  p[6] = (fragOffset >>> 8) & 0x1f;
  p[7] = fragOffset & 0xff;
  p[8] = 64;
  p[9] = proto;
  p.set(src, 12);
  p.set(dst, 16);
  p.set([...port(sport), ...port(dport)], 20);
  return p;
}

test('hashPacketSymmetric reads raw IPv4 / IPv6 packets and agrees with the string form', () => {
  const p = ipv4Packet(6, [10, 0, 0, 1], [10, 0, 0, 2], 51000, 443);
  const framed = new Uint8Array(8 + p.length);
  framed.set(p, 8);
  for (const mode of [5, 3, 2] as const) {
    const expected = hashTupleSymmetric(mode, 6, '10.0.0.1', 51000, '10.0.0.2', 443);
    assert.equal(hashPacketSymmetric(mode, p, 0), expected);
    assert.equal(hashPacketSymmetric(mode, framed, 8), expected);
    // The reply direction meets the same value.
    assert.equal(hashPacketSymmetric(mode, ipv4Packet(6, [10, 0, 0, 2], [10, 0, 0, 1], 443, 51000), 0), expected);
  }
  // ICMP: no ports.
  assert.equal(
    hashPacketSymmetric(5, ipv4Packet(1, [10, 0, 0, 1], [10, 0, 0, 2], 0x0800, 0x1234), 0),
    hashFiveTupleSymmetric(1, '10.0.0.1', 0, '10.0.0.2', 0),
  );
  // A non-first fragment has no ports to read.
  assert.equal(
    hashPacketSymmetric(5, ipv4Packet(17, [10, 0, 0, 1], [10, 0, 0, 2], 7, 9, 100), 0),
    hashFiveTupleSymmetric(17, '10.0.0.1', 0, '10.0.0.2', 0),
  );
  // IPv6 UDP.
  const v6 = new Uint8Array(48);
  v6[0] = 0x60;
  v6[6] = 17;
  const s = new Uint8Array(16);
  const d = new Uint8Array(16);
  parseIpInto('2001:db8::1', s, 0);
  parseIpInto('2001:db8::2', d, 0);
  v6.set(s, 8);
  v6.set(d, 24);
  v6.set([...port(5353), ...port(53)], 40);
  assert.equal(hashPacketSymmetric(5, v6, 0), hashFiveTupleSymmetric(17, '2001:db8::2', 53, '2001:db8::1', 5353));
  // Not IP.
  assert.equal(hashPacketSymmetric(5, Uint8Array.of(0x20, 0, 0), 0), -1);
  assert.equal(hashPacketSymmetric(5, new Uint8Array(0), 0), -1);
  assert.equal(hashPacketSymmetric(5, Uint8Array.of(0x45, 0, 0, 0), 0), -1);
});

test('flow hashes spread evenly', () => {
  const buckets = new Array(16).fill(0);
  const n = 32000;
  for (let i = 0; i < n; i++) buckets[hashFourTuple('10.0.0.1', 1024 + i, '10.0.0.2', 80) % 16]++;
  for (const b of buckets) assert.ok(Math.abs(b - n / 16) < (n / 16) * 0.1, `bucket ${b}`);
  const ipBuckets = new Array(16).fill(0);
  for (let i = 0; i < n; i++) ipBuckets[hashSourceIp(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`) % 16]++;
  for (const b of ipBuckets) assert.ok(Math.abs(b - n / 16) < (n / 16) * 0.1, `bucket ${b}`);
});
