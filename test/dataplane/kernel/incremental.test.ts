/**
 * The per-listener program: a change is computed from the listeners it touches only, and sends
 * the same operations a diff of the two whole tables would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncrementalProgram } from '../../../src/dataplane/kernel/incremental.js';
import { buildProgram } from '../../../src/dataplane/kernel/program.js';
import { renderDelta } from '../../../src/dataplane/kernel/render.js';
import type { KernelGroup, KernelListener, KernelSnapshot } from '../../../src/dataplane/kernel/snapshot.js';
import { backend, kernelListener, tagsOf } from './program-fixtures.js';

const table = { name: 'openslb_t' };
const listener = (id: string, over: Partial<KernelListener> = {}) => kernelListener(id, { groupId: 'g0', ...over });

/** Statements of a transaction with element lists split into one item each, sorted. */
function operations(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const m = /^((?:add|delete) element \S+ \S+ \S+) \{ (.*) \}$/.exec(line);
    if (m) for (const e of m[2].split(', ')) out.push(`${m[1]} ${e}`);
    else out.push(line);
  }
  return out.sort();
}

test('one changed listener among 3,000: only its part is rebuilt and only its objects are sent', () => {
  const tags = tagsOf();
  const groups: KernelGroup[] = [{ id: 'g0', scheduler: 'Tch', backends: [backend('10.0.1.1'), backend('10.0.1.2'), backend('10.0.1.3')] }];
  const many = Array.from({ length: 3000 }, (_, i) => listener(`l${i}`, { portFrom: 10000 + i, portTo: 10000 + i }));
  const program = new IncrementalProgram(1);
  const first = program.change({ groups, listeners: many }, tags);
  assert.equal(first.touched.length, 3000);
  first.commit();

  const edited = many.map((l) => (l.id === 'l1234' ? { ...l, cps: 50 } : l));
  const change = program.change({ groups, listeners: edited }, tags);
  assert.deepEqual(change.touched, ['l1234']);
  const text = renderDelta(table, change.before, change.after);
  const tag = tags.listener('l1234');
  assert.equal(
    text,
    `flush chain ip openslb_t l${tag}\n${change.after.chains
      .get(`l${tag}`)!
      .rules.map((r) => `add rule ip openslb_t l${tag} ${r}`)
      .join('\n')}\n`,
  );
  assert.match(text, /limit rate over 50\/second/);
  change.commit();

  // A new listener: its chains, counters and elements; the group's Maglev map and the shared
  // timeout already exist and are not sent again.
  const added = program.change({ groups, listeners: [...edited, listener('new', { portFrom: 20000, portTo: 20000 })] }, tags);
  assert.deepEqual(added.touched, ['new']);
  const addText = renderDelta(table, added.before, added.after);
  const newTag = tags.listener('new');
  const names = new Set(addText.match(/\b[lcm]\d+(?=[_ \n])/g));
  assert.deepEqual([...names], [`l${newTag}`], "only the new listener's chain and counters");
  assert.ok(addText.split('\n').length < 12, `a handful of statements:\n${addText}`);
  assert.doesNotMatch(addText, /add map|to_tcp_900 \{/);
  assert.match(addText, /add element ip openslb_t listeners \{ 10\.0\.0\.10 \. tcp \. 20000 : goto l\d+ \}/);
});

test('every change sends the same operations as a diff of the whole tables', () => {
  // A seeded walk through additions, removals, edits and group changes.
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const hosts = ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4'];
  const schedulers = ['Wrr', 'Rr', 'Sch', 'Tch', 'Wlc'] as const;
  let groups: KernelGroup[] = [0, 1, 2].map((i) => ({
    id: `g${i}`,
    scheduler: schedulers[i],
    backends: hosts.slice(0, 2).map((h) => backend(h)),
  }));
  let listeners: KernelListener[] = [];
  const tags = tagsOf();
  const program = new IncrementalProgram(0x42);
  let before = buildProgram({ groups, listeners }, tags, 0x42);
  let nextId = 0;
  for (let step = 0; step < 300; step++) {
    const action = random(6);
    if (action <= 1 || listeners.length === 0) {
      const id = `x${nextId++}`;
      listeners = [
        ...listeners,
        listener(id, {
          groupId: `g${random(3)}`,
          portFrom: 1000 + nextId,
          portTo: 1000 + nextId,
          protocol: random(2) ? 'tcp' : 'udp',
          idleTimeoutS: [20, 900][random(2)],
          fullNat: random(2) === 1,
        }),
      ];
    } else if (action === 2) {
      listeners = listeners.filter((_, i) => i !== random(listeners.length));
    } else if (action === 3) {
      const i = random(listeners.length);
      listeners = listeners.map((l, j) =>
        j === i
          ? { ...l, cps: random(3) * 10, mss: random(2) * 1200, idleTimeoutS: [20, 900, 60][random(3)], groupId: `g${random(3)}` }
          : l,
      );
    } else if (action === 4) {
      const g = random(3);
      const backends = hosts.slice(0, random(5)).map((h) => backend(h, 1 + random(4) * 50));
      groups = groups.map((x, i) => (i === g ? { ...x, backends } : x));
    } else {
      const g = random(3);
      groups = groups.map((x, i) => (i === g ? { ...x, scheduler: schedulers[random(5)] } : x));
    }
    const snapshot: KernelSnapshot = { groups, listeners };
    const change = program.change(snapshot, tags);
    const after = buildProgram(snapshot, tags, 0x42);
    assert.deepEqual(
      operations(renderDelta(table, change.before, change.after)),
      operations(renderDelta(table, before, after)),
      `step ${step}`,
    );
    assert.deepEqual(operations(renderDelta(table, change.full(), after)), [], `step ${step}: the whole table`);
    change.commit();
    before = after;
  }
});
