import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createScheduler,
  eligibleBackends,
  isHashScheduler,
  type Backend,
  type FlowInfo,
} from '../../../src/dataplane/balancing/schedulers.js';
import { hashPacketSymmetric } from '../../../src/dataplane/balancing/flow-hash.js';

const flow = (srcIp: string, srcPort = 40000, dstIp = '127.0.1.1', dstPort = 80): FlowInfo => ({ srcIp, srcPort, dstIp, dstPort });
const f0 = flow('10.0.0.1');

function keysPicked(name: string, backends: Backend[], n: number): string[] {
  const s = createScheduler(name, backends);
  return Array.from({ length: n }, () => backends[s.pick(f0)].key);
}

const many = (n: number): Backend[] => Array.from({ length: n }, (_, i) => ({ key: `10.0.0.${i + 1}:80`, weight: 100 }));

test('names are case-insensitive; unknown names and Wlc without counts are refused', () => {
  for (const n of ['Wrr', 'wrr', 'rr', 'Rr', 'sch', 'Tch', 'QCH', '2TCH']) assert.equal(createScheduler(n, many(2)).count, 2);
  assert.throws(() => createScheduler('Random', many(2)), RangeError);
  assert.throws(() => createScheduler('wlc', many(2)), TypeError);
});

test('Wrr: weights 5,1,1 give the smooth interleaving a a b a c a a', () => {
  const b: Backend[] = [
    { key: 'a', weight: 5 },
    { key: 'b', weight: 1 },
    { key: 'c', weight: 1 },
  ];
  assert.deepEqual(keysPicked('Wrr', b, 14).join(' '), 'a a b a c a a a a b a c a a');
});

test('Wrr: shares follow the weights exactly over a cycle; weight 0 never picked', () => {
  const b: Backend[] = [
    { key: 'w10', weight: 10 },
    { key: 'w0', weight: 0 },
    { key: 'w30', weight: 30 },
    { key: 'w60', weight: 60 },
  ];
  const counts = new Map<string, number>();
  for (const k of keysPicked('Wrr', b, 1000)) counts.set(k, (counts.get(k) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(counts), { w60: 600, w30: 300, w10: 100 });
});

test('Rr: cycles in order, ignores weights, skips weight 0', () => {
  const b: Backend[] = [
    { key: 'a', weight: 100 },
    { key: 'z', weight: 0 },
    { key: 'b', weight: 1 },
    { key: 'c', weight: 50 },
  ];
  assert.deepEqual(keysPicked('rr', b, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

test('every scheduler answers -1 with nothing to pick', () => {
  const zero: Backend[] = [{ key: 'a', weight: 0 }];
  for (const name of ['Wrr', 'Rr', 'Sch', 'Tch', 'Qch', '5TCH', '3TCH', '2TCH']) {
    assert.equal(createScheduler(name, zero).pick(f0), -1, name);
    assert.equal(createScheduler(name, []).pick(f0), -1, name);
  }
  assert.equal(createScheduler('Wlc', zero, { active: [0] }).pick(f0), -1);
});

test('Wlc: least active per weight; ties → heavier, then round robin', () => {
  const b: Backend[] = [
    { key: 'a', weight: 2 },
    { key: 'b', weight: 1 },
    { key: 'c', weight: 1 },
  ];
  const active = new Int32Array(3);
  const s = createScheduler('Wlc', b, { active });
  assert.equal(s.pick(f0), 0, 'all idle: the heavier one');
  active.set([4, 1, 3]); // ratios 2, 1, 3
  assert.equal(s.pick(f0), 1);
  active.set([2, 1, 1]); // ratios 1, 1, 1 → heavier wins
  assert.equal(s.pick(f0), 0);
  active.set([5, 2, 1]); // 2.5, 2, 1
  assert.equal(s.pick(f0), 2);
  // Equal weights and loads: take turns.
  const eq = createScheduler('Wlc', many(3), { active: new Int32Array(3) });
  assert.deepEqual([eq.pick(f0), eq.pick(f0), eq.pick(f0), eq.pick(f0)], [0, 1, 2, 0]);
  // Simulated load: the caller bumps the count of what was picked.
  const load = new Int32Array(3);
  const sim = createScheduler(
    'Wlc',
    [
      { key: 'x', weight: 3 },
      { key: 'y', weight: 1 },
      { key: 'z', weight: 0 },
    ],
    { active: load },
  );
  for (let i = 0; i < 400; i++) load[sim.pick(f0)]++;
  assert.deepEqual(Array.from(load), [300, 100, 0]);
});

test('Wlc: counts are read at backend.index (or through a getter)', () => {
  const full: Backend[] = [
    { key: 'a', weight: 1, index: 0 },
    { key: 'b', weight: 1, index: 1 },
    { key: 'c', weight: 1, index: 2 },
  ];
  const active = Int32Array.of(0, 9, 5);
  const eligible = eligibleBackends(full, (i) => i !== 0); // b, c
  const s = createScheduler('Wlc', eligible, { active });
  assert.equal(eligible[s.pick(f0)].key, 'c');
  const seen: number[] = [];
  const g = createScheduler('Wlc', eligible, { active: (i) => (seen.push(i), active[i]) });
  assert.equal(eligible[g.pick(f0)].key, 'c');
  assert.deepEqual(seen.sort(), [1, 2]);
});

test('Sch: the same client IP sticks to one backend whatever its port; many clients spread', () => {
  const b = many(8);
  const s = createScheduler('Sch', b);
  const first = s.pick(flow('192.0.2.10', 1000));
  for (let p = 1001; p < 1100; p++) assert.equal(s.pick(flow('192.0.2.10', p, '127.0.1.2', 443)), first);
  assert.equal(s.pick(flow('::ffff:192.0.2.10', 5)), first);
  const counts = new Array(8).fill(0);
  for (let i = 0; i < 8000; i++) counts[s.pick(flow(`10.${i >> 8}.${i & 255}.1`))]++;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `${counts}`);
});

test('Tch: the same 4-tuple sticks; different source ports spread', () => {
  const b = many(8);
  const s = createScheduler('Tch', b);
  const f = flow('192.0.2.10', 50000);
  const first = s.pick(f);
  for (let i = 0; i < 10; i++) assert.equal(s.pick(f), first);
  const counts = new Array(8).fill(0);
  for (let p = 0; p < 8000; p++) counts[s.pick(flow('192.0.2.10', 20000 + p))]++;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `${counts}`);
});

test('hash schedulers agree across instances built from differently ordered arrays (every node)', () => {
  const b = many(12).map((x, i) => ({ ...x, weight: 1 + (i % 4) }));
  const reordered = [...b].reverse();
  for (const name of ['Sch', 'Tch', 'Qch', '5TCH']) {
    const s1 = createScheduler(name, b);
    const s2 = createScheduler(name, reordered);
    for (let i = 0; i < 500; i++) {
      const f = flow(`172.16.${i >> 8}.${i & 255}`, 1024 + i);
      assert.equal(b[s1.pick(f)].key, reordered[s2.pick(f)].key, name);
    }
  }
});

function quicShort(cid: number[]): Buffer {
  return Buffer.from([0x40 | 0x01, ...cid, 0xde, 0xad, 0xbe, 0xef]);
}

test('Qch: the same connection ID reaches the same backend when the client address changes', () => {
  const b = many(16);
  const s = createScheduler('qch', b);
  const cid = [1, 2, 3, 4, 5, 6, 7, 8];
  const f1: FlowInfo = { ...flow('198.51.100.7', 4433), firstPacket: quicShort(cid) };
  const f2: FlowInfo = { ...flow('203.0.113.99', 61000), firstPacket: quicShort(cid) };
  const chosen = s.pick(f1);
  assert.equal(s.pick(f2), chosen);
  // And many CIDs spread; a CID keeps its backend across many addresses.
  const used = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const id = [i & 255, i >> 8, 9, 9, 9, 9, 9, 9];
    const a = s.pick({ ...flow('198.51.100.7', 1000 + i), firstPacket: quicShort(id) });
    assert.equal(s.pick({ ...flow(`10.1.${i & 255}.2`, 2000 + i), firstPacket: quicShort(id) }), a);
    used.add(a);
  }
  assert.ok(used.size >= 14, `${used.size} backends used`);
  // Configured short-header length.
  const s4 = createScheduler('Qch', b, { quicCidLength: 4 });
  assert.equal(
    s4.pick({ ...f1, firstPacket: quicShort([1, 2, 3, 4, 0xaa, 0xbb, 0xcc, 0xdd]) }),
    s4.pick({ ...f2, firstPacket: quicShort([1, 2, 3, 4, 0x11, 0x22, 0x33, 0x44]) }),
  );
});

test('Qch falls back to the 4-tuple without a QUIC packet', () => {
  const b = many(16);
  const q = createScheduler('Qch', b);
  const t = createScheduler('Tch', b);
  for (let p = 0; p < 100; p++) {
    const f = flow('198.51.100.7', 30000 + p);
    assert.equal(q.pick(f), t.pick(f));
    assert.equal(q.pick({ ...f, firstPacket: Buffer.from([0x00, 1, 2, 3]) }), t.pick(f)); // not QUIC-looking
  }
});

test('GWLB 5TCH / 3TCH / 2TCH: both directions of a flow meet the same appliance', () => {
  const b = many(10);
  for (const name of ['5TCH', '3TCH', '2TCH']) {
    const s = createScheduler(name, b);
    for (let i = 0; i < 200; i++) {
      const fwd: FlowInfo = { srcIp: `10.0.${i}.1`, srcPort: 30000 + i, dstIp: '192.168.7.7', dstPort: 443, protocol: 6 };
      const rev: FlowInfo = { srcIp: '192.168.7.7', srcPort: 443, dstIp: `10.0.${i}.1`, dstPort: 30000 + i, protocol: 6 };
      assert.equal(s.pick(fwd), s.pick(rev), name);
    }
  }
  // pickByHash on a raw packet hash is the same decision.
  const s = createScheduler('5TCH', b);
  assert.ok(isHashScheduler(s));
  const pkt = new Uint8Array(28);
  pkt[0] = 0x45;
  pkt[9] = 17;
  pkt.set([10, 0, 3, 1, 192, 168, 7, 7, 0x75, 0x33, 0x00, 0x35], 12); // 10.0.3.1:30003 → 192.168.7.7:53
  const f: FlowInfo = { srcIp: '10.0.3.1', srcPort: 30003, dstIp: '192.168.7.7', dstPort: 53, protocol: 17 };
  assert.equal(s.pickByHash(hashPacketSymmetric(5, pkt, 0)), s.pick(f));
  assert.equal(s.flowHash(f), hashPacketSymmetric(5, pkt, 0));
  assert.equal(isHashScheduler(createScheduler('Wrr', b)), false);
});

test('pickNext: retries walk every other backend once, then -1; hash rings agree across nodes', () => {
  const b: Backend[] = [
    { key: 'c', weight: 1 },
    { key: 'a', weight: 1 },
    { key: 'z', weight: 0 },
    { key: 'b', weight: 3 },
  ];
  for (const name of ['Wrr', 'Rr', 'Sch', 'Tch', 'Qch', '5TCH']) {
    const s = createScheduler(name, b);
    const first = s.pick(f0);
    const tried = [first];
    for (let a = 1; ; a++) {
      const i = s.pickNext(first, a);
      if (i < 0) break;
      tried.push(i);
    }
    assert.deepEqual([...tried].sort(), [0, 1, 3], name);
    assert.equal(s.pickNext(first, 0), first);
    assert.equal(s.pickNext(2, 1), -1, 'weight 0 is not on the ring');
    assert.equal(s.pickNext(-1, 1), -1);
  }
  // Array order for the stateful ones …
  const rr = createScheduler('Rr', b);
  assert.deepEqual([rr.pickNext(0, 1), rr.pickNext(0, 2), rr.pickNext(3, 1)], [1, 3, 0]);
  // … key order for the hash ones: a → b → c whatever the array order.
  const sch = createScheduler('Sch', b);
  assert.deepEqual([sch.pickNext(1, 1), sch.pickNext(1, 2), sch.pickNext(0, 1)], [3, 0, 1]);
});

test('eligibleBackends: healthy with weight > 0, else every weight > 0 (fail-open)', () => {
  const b: Backend[] = [
    { key: 'a', weight: 10 },
    { key: 'b', weight: 0 },
    { key: 'c', weight: 5 },
    { key: 'd', weight: 1 },
  ];
  assert.deepEqual(
    eligibleBackends(b, (i) => i !== 2).map((x) => x.key),
    ['a', 'd'],
  );
  assert.deepEqual(
    eligibleBackends(b, (i) => i === 1).map((x) => x.key),
    ['a', 'c', 'd'],
    'only the weight-0 one is healthy',
  );
  assert.deepEqual(
    eligibleBackends(b, () => false).map((x) => x.key),
    ['a', 'c', 'd'],
  );
  assert.deepEqual(
    eligibleBackends([{ key: 'x', weight: 0 }], () => true),
    [],
  );
  const e = eligibleBackends(b, () => true);
  assert.equal(e[0], b[0], 'the caller’s own objects');
  // Schedulers over the eligible set answer positions in it.
  const s = createScheduler(
    'Rr',
    eligibleBackends(b, (i) => i === 3),
  );
  assert.equal(s.count, 1);
  assert.equal(s.pick(f0), 0);
});
