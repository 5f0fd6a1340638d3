import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.js';
import { hashPacketSymmetric, type TupleMode } from '../../../src/dataplane/balancing/flow-hash.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../../src/dataplane/gwlb/geneve.js';
import { InnerPacket, parseInner } from '../../../src/dataplane/gwlb/inner.js';
import {
  DEFAULT_TCP_IDLE_MS,
  FlowKey,
  FlowTable,
  NON_TCP_IDLE_MS,
  flowKeyOf,
  type FlowEntry,
  type RemoveCause,
} from '../../../src/dataplane/gwlb/flow-table.js';
import { ipPacket, reverse, type PacketSpec } from './packets.js';

function keyOf(mode: TupleMode, spec: PacketSpec): { key: FlowKey; packet: Buffer } {
  const packet = ipPacket(spec);
  const inner = new InnerPacket();
  const code = parseInner(packet, 0, packet.length, spec.src.includes(':') ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4, inner);
  assert.equal(code, 0);
  const key = new FlowKey();
  flowKeyOf(mode, packet, inner, key);
  return { key, packet };
}

const tcp: PacketSpec = { src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, srcPort: 40000, dstPort: 443 };
const udp: PacketSpec = { src: '10.0.0.9', dst: '10.0.0.2', protocol: 17, srcPort: 5353, dstPort: 53 };

test('the key hash is the shared GWLB flow hash, for every mode and family', () => {
  const specs: PacketSpec[] = [
    tcp,
    udp,
    reverse(tcp),
    { src: '10.0.0.1', dst: '10.0.0.1', protocol: 17, srcPort: 9, dstPort: 7 },
    { src: 'fd00::5', dst: 'fd00::1', protocol: 17, srcPort: 1, dstPort: 2 },
    { src: '10.0.0.1', dst: '10.0.0.3', protocol: 1 },
  ];
  for (const mode of [5, 3, 2] as TupleMode[]) {
    for (const spec of specs) {
      const { key, packet } = keyOf(mode, spec);
      assert.equal(key.hash, hashPacketSymmetric(mode, packet, 0), `${mode} ${JSON.stringify(spec)}`);
    }
  }
});

test('both directions of a flow share one entry; the direction is told apart', () => {
  const clock = new ManualClock();
  const table = new FlowTable<string>({ clock });
  const fwd = keyOf(5, tcp).key;
  const rev = keyOf(5, reverse(tcp)).key;
  assert.equal(fwd.hash, rev.hash);
  assert.notEqual(fwd.srcIsLo, rev.srcIsLo);
  const entry = table.insert(fwd, 'appliance-a');
  assert.equal(table.lookup(rev), entry);
  assert.equal(table.directionOf(entry, fwd), 0);
  assert.equal(table.directionOf(entry, rev), 1);
  // The initiator is whoever sent first, whatever its address order.
  const other = new FlowTable<string>({ clock });
  const e2 = other.insert(rev, 'x');
  assert.equal(other.directionOf(e2, rev), 0);
  assert.equal(other.directionOf(e2, fwd), 1);
  // Another connection is another flow under 5TCH, the same one under 3TCH / 2TCH.
  const tcp2 = { ...tcp, srcPort: 40001 };
  assert.equal(table.lookup(keyOf(5, tcp2).key), undefined);
  const t3 = new FlowTable<string>({ clock });
  const e3 = t3.insert(keyOf(3, tcp).key, 'a');
  assert.equal(t3.lookup(keyOf(3, reverse(tcp2)).key), e3);
  assert.equal(t3.lookup(keyOf(3, { ...tcp, protocol: 17 }).key), undefined, '3TCH keeps the protocol');
  const t2 = new FlowTable<string>({ clock });
  const e4 = t2.insert(keyOf(2, tcp).key, 'a');
  assert.equal(t2.lookup(keyOf(2, { ...reverse(tcp2), protocol: 17 }).key), e4, '2TCH: addresses only');
  // Keys of different modes never meet.
  assert.equal(t2.lookup(keyOf(3, tcp).key), undefined);
});

test('idle timeouts: 120 s for UDP, 350 s (or the listener setting) for TCP; activity restarts them', () => {
  const clock = new ManualClock();
  const removed: Array<[string, RemoveCause]> = [];
  const table = new FlowTable<string>({ clock, onRemove: (e, cause) => removed.push([e.value, cause]) });
  const u = keyOf(5, udp).key;
  const t = keyOf(5, tcp).key;
  const ue = table.insert(u, 'udp');
  const te = table.insert(t, 'tcp');
  assert.equal(te.tcp, true);
  assert.equal(ue.tcp, false);
  clock.advance(NON_TCP_IDLE_MS - 1);
  assert.equal(table.lookup(u), ue);
  table.touch(ue, false);
  clock.advance(NON_TCP_IDLE_MS - 1);
  assert.equal(table.sweep(), 0);
  assert.equal(table.lookup(u), ue, 'touched: alive');
  clock.advance(1);
  assert.equal(table.lookup(u), undefined, 'idle for 120 s: gone, and removed on the way');
  assert.deepEqual(removed, [['udp', 'expired']]);
  assert.equal(table.size, 1);
  clock.set(te.lastSeen + DEFAULT_TCP_IDLE_MS - 1);
  assert.equal(table.sweep(), 0);
  clock.advance(1);
  assert.equal(table.sweep(), 1);
  assert.equal(table.size, 0);
  assert.equal(table.expired, 2);

  // A listener's TcpIdleTimeout.
  const custom = new FlowTable<string>({ clock, tcpIdleMs: 60_000 });
  const ce = custom.insert(t, 'tcp');
  clock.advance(59_999);
  assert.equal(custom.lookup(t), ce);
  custom.setTcpIdleMs(6_000_000);
  clock.advance(1_000_000);
  assert.equal(custom.lookup(t), ce, 'a longer timeout applies to live entries');
});

test('sweep only removes expired entries, oldest first, per timeout class', () => {
  const clock = new ManualClock();
  const table = new FlowTable<number>({ clock });
  const keys: FlowKey[] = [];
  for (let i = 0; i < 50; i++) {
    const k = keyOf(5, { ...udp, srcPort: 10000 + i }).key;
    keys.push(k);
    table.insert(k, i);
    clock.advance(1000);
  }
  // Now the first entry is 50 s old; move to 130 s after the first insert: entries 0..10 are ≥ 120 s idle.
  clock.advance(80_000);
  assert.equal(table.sweep(), 11);
  assert.equal(table.size, 39);
  for (let i = 0; i < 50; i++) assert.equal(table.lookup(keys[i]) !== undefined, i >= 11, `entry ${i}`);
});

test('a full table evicts the least recently used entry', () => {
  const clock = new ManualClock();
  const causes: RemoveCause[] = [];
  const table = new FlowTable<number>({ clock, maxFlows: 4, onRemove: (_e, c) => causes.push(c) });
  const keys = Array.from({ length: 6 }, (_, i) => keyOf(5, { ...udp, srcPort: 20000 + i }).key);
  for (let i = 0; i < 4; i++) {
    table.insert(keys[i], i);
    clock.advance(10);
  }
  table.touch(table.lookup(keys[0])!, false); // 0 is now the most recent; 1 the least
  table.insert(keys[4], 4);
  assert.equal(table.size, 4);
  assert.equal(table.lookup(keys[1]), undefined);
  assert.ok(table.lookup(keys[0]));
  assert.deepEqual(causes, ['evicted']);
  assert.equal(table.evicted, 1);
});

test('flow ids find entries; removed or expired entries are not found', () => {
  const clock = new ManualClock();
  const table = new FlowTable<string>({ clock });
  const a = table.insert(keyOf(5, tcp).key, 'a');
  const b = table.insert(keyOf(5, udp).key, 'b');
  assert.notEqual(a.id, b.id);
  assert.ok(a.id > 0 && a.id <= 0x7fffffff);
  assert.equal(table.byFlowId(a.id), a);
  table.remove(a);
  assert.equal(table.byFlowId(a.id), undefined);
  clock.advance(NON_TCP_IDLE_MS);
  assert.equal(table.byFlowId(b.id), undefined);
  assert.equal(table.size, 0);
});

test('open addressing stays consistent through many inserts and removals (model check)', () => {
  const clock = new ManualClock();
  const table = new FlowTable<number>({ clock, maxFlows: 64 });
  const model = new Map<number, FlowEntry<number>>();
  const keys = Array.from({ length: 200 }, (_, i) => keyOf(5, { ...udp, src: `10.1.${i >> 8}.${i & 255}`, srcPort: 1000 + i }).key);
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let step = 0; step < 5000; step++) {
    const i = rand(keys.length);
    const found = table.lookup(keys[i]);
    assert.equal(found, model.get(i), `step ${step}: lookup ${i}`);
    if (found) {
      table.remove(found);
      model.delete(i);
    } else if (model.size < 64) {
      model.set(i, table.insert(keys[i], i));
    }
    assert.equal(table.size, model.size);
  }
  for (const [i, e] of model) assert.equal(table.lookup(keys[i]), e);
  assert.equal([...table.entries()].length, model.size);
  table.clear();
  assert.equal(table.size, 0);
  for (const k of keys) assert.equal(table.lookup(k), undefined);
});
