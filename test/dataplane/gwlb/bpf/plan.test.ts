/**
 * The pure side of the BPF fast path: what the maps are told (only what changed), the byte
 * layouts the C program shares, and slot bookkeeping. The program itself is exercised by the
 * `*-bpf.test.ts` suites.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpftoolLine, diffContents, newContents, put, remove } from '../../../../src/dataplane/gwlb/bpf/plan.js';
import {
  APPLIANCE_KEEP,
  LISTENER_BYPASS,
  LISTENER_COUNTERS_BYTES,
  MAGLEV_STRIDE,
  applianceAddressKey,
  applianceValue,
  decodeFlow,
  flowLive,
  groupValue,
  ipv4Bytes,
  listenerValue,
  maglevKey,
  maglevValue,
  sumApplianceCounters,
  sumListenerCounters,
  vipKey,
} from '../../../../src/dataplane/gwlb/bpf/layout.js';
import { SlotPool } from '../../../../src/dataplane/gwlb/bpf/slots.js';
import { parseFilterHandles, parseMapDump } from '../../../../src/dataplane/gwlb/bpf/tools.js';
import { ApplianceGroup, DROP_REASONS } from '../../../../src/dataplane/gwlb/forwarder.js';
import type { DesiredApplianceGroup } from '../../../../src/dataplane/gwlb/desired.js';

const bytes = (hex: string) => Buffer.from(hex.replace(/ /g, ''), 'hex');

test('a sync writes only new and changed entries, deletes what went away, and zeroes array slots instead of deleting', () => {
  const before = newContents();
  put(before, 'vips', bytes('7f001505'), bytes('00000000'));
  put(before, 'vips', bytes('7f001506'), bytes('01000000'));
  put(before, 'groups', bytes('00000000'), groupValue(5, 1021));
  put(before, 'groups', bytes('01000000'), groupValue(3, 1021));
  const after = newContents();
  put(after, 'vips', bytes('7f001505'), bytes('00000000')); // unchanged
  put(after, 'groups', bytes('00000000'), groupValue(5, 1031)); // changed
  put(after, 'maglev', maglevKey(0, 7), maglevValue(2)); // new

  const writes = diffContents(before, after);
  assert.deepEqual(
    writes.map((w) => [w.map, w.key, w.value]),
    [
      ['groups', '00000000', '0500000007040000'],
      ['maglev', '07000000', '03000000'],
      ['vips', '7f001506', undefined],
      ['groups', '01000000', '0000000000000000'],
    ],
  );
  assert.deepEqual(diffContents(after, after), [], 'nothing changed: nothing written');
  assert.equal(
    bpftoolLine('/sys/fs/bpf/x/maps', writes[0]),
    'map update pinned /sys/fs/bpf/x/maps/groups key hex 00 00 00 00 value hex 05 00 00 00 07 04 00 00',
  );
  assert.equal(bpftoolLine('/sys/fs/bpf/x/maps', writes[2]), 'map delete pinned /sys/fs/bpf/x/maps/vips key hex 7f 00 15 06');
});

test('remove takes an entry out only when it still holds the given value', () => {
  const c = newContents();
  put(c, 'vips', bytes('7f000001'), bytes('01000000'));
  remove(c, 'vips', bytes('7f000001'), bytes('02000000'));
  assert.equal(c.get('vips')?.size, 1);
  remove(c, 'vips', bytes('7f000001'), bytes('01000000'));
  assert.equal(c.get('vips')?.size, 0);
});

test('map layouts match the C structs: addresses and ports as the program reads them', () => {
  assert.deepEqual(vipKey('127.0.21.5'), bytes('7f001505'));
  assert.throws(() => vipKey('::1'), /IPv4 VIPs only/);
  assert.equal(ipv4Bytes('1.2.3.256'), undefined);
  assert.deepEqual(
    listenerValue({
      active: true,
      bypass: true,
      group: 3,
      tcpIdleMs: 350_000,
      optionClass: 0x0108,
      attachmentHigh: 0xdeadbeef,
      attachmentLow: 1,
      tag: 9,
    }),
    bytes('03000000 03000000 30570500 08010000 efbeadde 01000000 09000000'),
  );
  assert.equal(LISTENER_BYPASS, 2);
  assert.deepEqual(applianceValue('10.0.0.7', 6081, true), bytes('0a000007 c1170000 01000000'));
  assert.equal(APPLIANCE_KEEP, 1);
  assert.deepEqual(applianceAddressKey(2, '10.0.0.7'), bytes('02000000 0a000007'));
  assert.deepEqual(maglevKey(1, 5), Buffer.from(Uint32Array.of(MAGLEV_STRIDE + 5).buffer));
  assert.deepEqual(maglevValue(undefined), bytes('00000000'));
});

test('per-CPU counters are summed; drops come out per reason', () => {
  const cpu = (fill: (b: Buffer) => void) => {
    const b = Buffer.alloc(LISTENER_COUNTERS_BYTES);
    fill(b);
    return b;
  };
  const a = cpu((b) => {
    b.writeBigUInt64LE(3n, 0); // packets from endpoints
    b.writeBigUInt64LE(7n, 9 * 8); // flows created
    b.writeBigUInt64LE(1n, (11 + DROP_REASONS.indexOf('bad_version')) * 8);
  });
  const b = cpu((b) => {
    b.writeBigUInt64LE(2n, 0);
    b.writeBigUInt64LE(4n, (11 + DROP_REASONS.length + DROP_REASONS.indexOf('unknown_flow')) * 8);
  });
  const sum = sumListenerCounters([a, b]);
  assert.equal(sum.packetsFromEndpoints, 5);
  assert.equal(sum.flowsCreated, 7);
  assert.equal(sum.endpointDrops[DROP_REASONS.indexOf('bad_version')], 1);
  assert.equal(sum.applianceDrops[DROP_REASONS.indexOf('unknown_flow')], 4);
  const ap = Buffer.alloc(40);
  ap.writeBigUInt64LE(9n, 8);
  assert.deepEqual(sumApplianceCounters([ap, ap]), { packetsTo: 0, bytesTo: 18, packetsFrom: 0, bytesFrom: 0, flows: 0 });
});

test('flow entries: owner tag, appliance, last use; live by the TCP or the 120 s timeout', () => {
  const key = Buffer.alloc(48);
  key.writeUInt32LE(42, 0);
  const value = Buffer.alloc(40);
  value.writeBigUInt64LE(1_000_000n, 0);
  value.writeUInt32LE(3, 8);
  value[28] = 1;
  const f = decodeFlow(key, value);
  assert.deepEqual(f, { tag: 42, appliance: 3, lastSeen: 1_000_000, tcp: true });
  assert.equal(flowLive(f, 350_000, 1_000_000 + 349_999), true);
  assert.equal(flowLive(f, 350_000, 1_000_000 + 350_000), false);
  assert.equal(flowLive({ ...f, tcp: false }, 350_000, 1_000_000 + 120_000), false);
});

test('slots are stable while their name lives and reused lowest first after', () => {
  const pool = new SlotPool(3);
  assert.deepEqual(pool.obtain('a', 'full'), { slot: 0, fresh: true });
  assert.deepEqual(pool.obtain('b', 'full'), { slot: 1, fresh: true });
  assert.deepEqual(pool.obtain('a', 'full'), { slot: 0, fresh: false });
  pool.obtain('c', 'full');
  assert.throws(() => pool.obtain('d', 'no room'), /no room/);
  pool.retain(new Set(['c']));
  assert.deepEqual(pool.obtain('e', 'full'), { slot: 0, fresh: true });
  assert.equal(pool.get('c'), 2);
});

test('bpftool and tc output is read back', () => {
  const dump = parseMapDump(
    '[{"key":["0x01","0x00"],"values":[{"cpu":0,"value":["0x02"]},{"cpu":1,"value":["0x03"]}]},{"key":["0xff"],"value":["0x10"]}]',
  );
  assert.deepEqual(
    dump[0].values?.map((v) => [...v]),
    [[2], [3]],
  );
  assert.deepEqual([...dump[1].value!], [16]);
  assert.deepEqual(
    parseFilterHandles(
      'filter protocol all pref 49400 bpf chain 0 \nfilter protocol all pref 49400 bpf chain 0 handle 0x2b6700 prog:[*fsobj] direct-action',
    ),
    [0x2b6700],
  );
});

test("the group's Maglev table, as the BPF maps get it, is the one user space picks from", () => {
  const group = new ApplianceGroup('sg-1');
  const desired: DesiredApplianceGroup = {
    id: 'sg-1',
    scheduler: '5TCH',
    rebalance: false,
    drainMs: undefined,
    healthCheck: {} as DesiredApplianceGroup['healthCheck'],
    servers: ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((host) => ({ key: `${host}:6081`, host, port: 6081 })),
    leaving: [],
    fingerprint: 'x',
  };
  group.update(desired, 0);
  for (const a of group.appliances()) a.healthy = true;
  group.rebuild();
  const table = group.maglev()!;
  assert.equal(table.size, 1021, 'the compact size: ≥ 1,021 slots, 100 per appliance');
  for (const hash of [0, 1, 77, 0xffffffff, 123456789]) {
    assert.equal(table.eligible[table.entries[hash % table.size]], group.pick(hash));
  }
});
