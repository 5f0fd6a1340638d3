/**
 * The nftables program and its transactions, without a kernel: what a listener change sends,
 * and that the kernel's hash agrees with the numbers nftables computed on this machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, cycleWeights, emptyProgram, TagBook } from '../../../src/dataplane/kernel/program.js';
import { renderDelta, renderFull } from '../../../src/dataplane/kernel/render.js';
import type { KernelSnapshot } from '../../../src/dataplane/kernel/snapshot.js';
import { backend, kernelListener as listener, tagsOf } from './program-fixtures.js';
import { kernelFourTupleSlot, kernelSourceSlot } from '../../../src/dataplane/balancing/kernel-hash.js';
import { createScheduler } from '../../../src/dataplane/balancing/schedulers.js';

test('jhash slots equal what nftables computed (jhash … mod 1021 seed 0x5eed0b5, read back from ct marks)', () => {
  // Measured on this kernel with `ct mark set jhash … mod 1021 seed 0x5eed0b5` and conntrack -L.
  assert.equal(kernelSourceSlot('127.0.0.1', 1021), 261);
  assert.equal(kernelSourceSlot('127.0.9.1', 1021), 40);
  assert.equal(kernelSourceSlot('127.0.9.2', 1021), 1019);
  assert.equal(kernelFourTupleSlot('127.0.0.1', 40081, '127.0.51.10', 81, 1021), 856);
  assert.equal(kernelFourTupleSlot('::ffff:127.0.0.1', 40081, '127.0.51.10', 81, 1021), 856);
});

test('a listener is one verdict-map entry per VIP and a chain; schedulers become numgen / jhash maps', () => {
  const snapshot: KernelSnapshot = {
    groups: [
      { id: 'sg', scheduler: 'Wrr', backends: [backend('10.0.1.1', 5), backend('10.0.1.2', 1), backend('10.0.1.3', 1)] },
      { id: 'h', scheduler: 'Tch', backends: [backend('10.0.1.1'), backend('10.0.1.2')] },
    ],
    listeners: [
      listener('a', { vips: ['10.0.0.10', '10.0.0.11'], cps: 5, mss: 1200, fullNat: true }),
      listener('b', { protocol: 'udp', groupId: 'h', portFrom: 53, portTo: 53, idleTimeoutS: 20 }),
      listener('c', { groupId: 'h', portFrom: 9000, portTo: 9009, keepPort: true }),
    ],
  };
  const p = buildProgram(snapshot, tagsOf(), 0xabc);
  assert.deepEqual(
    [...p.maps.get('listeners')!.elements],
    [
      ['10.0.0.10 . tcp . 80', 'goto l1'],
      ['10.0.0.11 . tcp . 80', 'goto l1'],
      ['10.0.0.10 . udp . 53', 'goto l2'],
      ['10.0.0.10 . tcp . 9000-9009', 'goto l3'],
    ],
  );
  assert.deepEqual([...p.maps.get('fullnat')!.elements.keys()], ['0xabc00001']);
  // Weighted round robin: one cycle of the user-space engine's sequence (5:1:1 → a a b a c a a).
  const wrr = p.maps.get('g1_w7_p')!;
  assert.deepEqual(
    [...wrr.elements.values()].map((v) => v.split(' ')[0]),
    ['10.0.1.1', '10.0.1.1', '10.0.1.2', '10.0.1.1', '10.0.1.3', '10.0.1.1', '10.0.1.1'],
  );
  const a = p.chains.get('l1')!.rules.join('\n');
  assert.match(a, /limit rate over 5\/second burst 5 packets add @events \{ 0xabc00001 \. 0x00000002 counter \} reject with tcp reset/);
  assert.match(a, /ct timeout set "to_tcp_900" ct mark set 0xabc00001/);
  assert.match(a, /meta l4proto tcp dnat ip to numgen inc mod 7 map @g1_w7_p/);
  assert.equal(p.maps.get('mss')!.elements.get('0xabc00001'), 'jump m1');
  assert.match(p.chains.get('m1')!.rules.join('\n'), /tcp option maxseg size set 1200/);
  assert.match(
    p.chains.get('l2')!.rules.join('\n'),
    /dnat ip to jhash ip saddr \. udp sport \. ip daddr \. udp dport mod 1021 seed 0x5eed0b5 map @g2_m1021_q/,
  );
  // Port ranges keep the client's port: the map holds addresses only.
  assert.match(p.chains.get('l3')!.rules.join('\n'), /^dnat ip to jhash .* map @g2_m1021_a$/m);
  assert.equal(p.objects.get('ct timeout to_udp_20'), 'protocol udp; l3proto ip; policy = { unreplied: 20, replied: 20 };');
});

test('a drop-connections fault refuses its share of new TCP connections before a backend is chosen', () => {
  const groups = [{ id: 'sg', scheduler: 'Rr' as const, backends: [backend('10.0.1.1')] }];
  const rules = (dropShare: number, protocol: 'tcp' | 'udp' = 'tcp') =>
    buildProgram({ groups, listeners: [listener('a', { dropShare, protocol })] }, tagsOf(), 1).chains.get('l1')!.rules;
  const quarter = rules(0.25);
  assert.equal(quarter[0], 'numgen random mod 10000 < 2500 add @events { 0x00100001 . 0x00000004 counter } reject with tcp reset');
  assert.ok(quarter.findIndex((r) => r.includes('dnat')) > 0, 'refused before the scheduler');
  assert.equal(rules(1)[0], 'add @events { 0x00100001 . 0x00000004 counter } reject with tcp reset', 'every connection');
  assert.ok(!rules(0).some((r) => r.includes('0x00000004')));
  assert.ok(!rules(0.5, 'udp').some((r) => r.includes('0x00000004')), 'TCP only, as in user space');
});

test('the kernel Maglev map sends a flow where the user-space Tch scheduler does', () => {
  const backends = [backend('10.0.1.1'), backend('10.0.1.2', 50), backend('10.0.1.3')];
  const p = buildProgram({ groups: [{ id: 'sg', scheduler: 'Tch', backends }], listeners: [listener('a')] }, tagsOf(), 1);
  const map = p.maps.get('g1_m1021_p')!;
  const user = createScheduler('Tch', backends);
  for (let port = 30000; port < 30200; port++) {
    const slot = kernelFourTupleSlot('192.0.2.7', port, '10.0.0.10', 80, 1021);
    const kernelPick = map.elements.get(String(slot))!.split(' ')[0];
    assert.equal(kernelPick, backends[user.pick({ srcIp: '192.0.2.7', srcPort: port, dstIp: '10.0.0.10', dstPort: 80 })].host);
  }
});

test('a change sends only what changed: one weight is one map rewrite, counters and timeouts stay', () => {
  const tags = tagsOf();
  const base: KernelSnapshot = {
    groups: [{ id: 'sg', scheduler: 'Rr', backends: [backend('10.0.1.1'), backend('10.0.1.2')] }],
    listeners: [listener('a'), listener('b', { portFrom: 81, portTo: 81 })],
  };
  const before = buildProgram(base, tags, 1);
  const full = renderFull({ name: 'openslb_t' }, 'c', before);
  assert.match(full, /^add table ip openslb_t\ndelete table ip openslb_t\n/);
  assert.equal(renderDelta({ name: 'openslb_t' }, before, buildProgram(base, tags, 1)), '');

  const removed = buildProgram({ ...base, listeners: [listener('a')] }, tags, 1);
  const text = renderDelta({ name: 'openslb_t' }, before, removed);
  assert.match(text, /delete element ip openslb_t listeners \{ 10\.0\.0\.10 \. tcp \. 81 \}/);
  assert.match(text, /delete chain ip openslb_t l2/);
  assert.doesNotMatch(text, /l1|to_tcp_900/, 'the other listener and the shared timeout are untouched');
  // Drop references before deleting, declare before filling.
  assert.ok(text.indexOf('flush chain ip openslb_t l2') < text.indexOf('delete chain ip openslb_t l2'));

  const fewer = buildProgram({ ...base, groups: [{ id: 'sg', scheduler: 'Rr', backends: [backend('10.0.1.1')] }] }, tags, 1);
  const change = renderDelta({ name: 'openslb_t' }, before, fewer);
  assert.match(change, /delete map ip openslb_t g1_r2_p/);
  assert.match(change, /add map ip openslb_t g1_r1_p/);
  assert.doesNotMatch(change, /(add|delete) counter/);
  assert.equal(renderDelta({ name: 'openslb_t' }, emptyProgram(), emptyProgram()), '');
});

test("a new listener never inherits a removed one's names (and so its counters)", () => {
  const book = new TagBook();
  assert.equal(book.get('a'), 1);
  book.retain(new Set());
  assert.equal(book.get('b'), 2);
});

test('weight cycles are reduced and bounded', () => {
  assert.deepEqual(cycleWeights([100, 100]), [1, 1]);
  assert.deepEqual(cycleWeights([50, 100, 0.4]), [50, 100, 1]); // a positive weight below 1 counts as 1
  assert.ok(cycleWeights(Array.from({ length: 400 }, (_, i) => (i % 100) + 1)).reduce((a, b) => a + b, 0) <= 4096);
});
