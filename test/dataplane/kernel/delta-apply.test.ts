/**
 * Incremental transactions against a table the kernel already holds. nft re-reads the existing
 * maps' types from the kernel, which can make a rule that was valid in the first transaction
 * invalid in a later one; the engine would then fall back to replacing the whole table on every
 * change, which is correct but slow at thousands of listeners.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { IncrementalProgram } from '../../../src/dataplane/kernel/incremental.js';
import { TagBook } from '../../../src/dataplane/kernel/program.js';
import { renderDelta, renderFull } from '../../../src/dataplane/kernel/render.js';
import type { KernelGroup, KernelListener, KernelSnapshot } from '../../../src/dataplane/kernel/snapshot.js';

const table = { name: `openslb_delta_${process.pid}` };

after(() => {
  try {
    execFileSync('nft', ['delete', 'table', 'ip', table.name], { stdio: 'ignore' });
  } catch {
    // not created
  }
});

const backend = (host: string) => ({ key: `${host}:8080`, host, port: 8080, weight: 100 });
const listener = (id: string, over: Partial<KernelListener>): KernelListener => ({
  id,
  protocol: 'tcp',
  vips: ['127.0.88.10'],
  portFrom: 80,
  portTo: 80,
  keepPort: false,
  groupId: 'wrr',
  fullNat: false,
  idleTimeoutS: 900,
  cps: 0,
  mss: 0,
  ...over,
});

test('listeners added, edited and removed one transaction at a time apply as deltas to the live table, for every scheduler and both protocols', () => {
  const listenerTags = new TagBook();
  const groupTags = new TagBook();
  const tags = { listener: (id: string) => listenerTags.get(id), group: (id: string) => groupTags.get(id) };
  const groups: KernelGroup[] = (['Wrr', 'Rr', 'Sch', 'Tch'] as const).map((scheduler) => ({
    id: scheduler.toLowerCase(),
    scheduler,
    backends: [backend('127.0.88.1'), backend('127.0.88.2')],
  }));
  const steps: KernelListener[][] = [[listener('first', {})]];
  let port = 81;
  for (const g of groups) {
    for (const protocol of ['tcp', 'udp'] as const) {
      steps.push([...steps[steps.length - 1], listener(`${g.id}-${protocol}`, { groupId: g.id, protocol, portFrom: port, portTo: port })]);
      port++;
    }
  }
  steps.push([...steps[steps.length - 1], listener('range', { groupId: 'sch', portFrom: 9000, portTo: 9009, keepPort: true })]);

  // Then edits and removals: a group loses a backend, a listener changes timeout, one goes.
  const last = steps[steps.length - 1];
  const shrunk = groups.map((g) => (g.id === 'tch' ? { ...g, backends: [backend('127.0.88.1')] } : g));
  const edits: KernelSnapshot[] = [
    { groups: shrunk, listeners: last },
    { groups: shrunk, listeners: last.map((l) => (l.id === 'rr-tcp' ? { ...l, idleTimeoutS: 30, cps: 100 } : l)) },
    {
      groups: shrunk,
      listeners: last.filter((l) => l.id !== 'wrr-udp').map((l) => (l.id === 'rr-tcp' ? { ...l, idleTimeoutS: 30, cps: 100 } : l)),
    },
  ];
  const snapshots: KernelSnapshot[] = [...steps.map((listeners) => ({ groups, listeners })), ...edits];

  const program = new IncrementalProgram(0x123);
  const first = program.change(snapshots[0], tags);
  execFileSync('nft', ['-f', '-'], { input: renderFull(table, 'openslb delta test', first.full()) });
  first.commit();
  for (const snapshot of snapshots.slice(1)) {
    const change = program.change(snapshot, tags);
    const delta = renderDelta(table, change.before, change.after);
    assert.doesNotThrow(
      () => execFileSync('nft', ['-f', '-'], { input: delta, stdio: ['pipe', 'ignore', 'pipe'] }),
      `delta touching ${change.touched.join(', ')}:\n${delta}`,
    );
    change.commit();
  }
  const listed = execFileSync('nft', ['list', 'table', 'ip', table.name]).toString();
  const final = snapshots[snapshots.length - 1];
  assert.equal(listed.match(/goto l\d+/g)?.length, final.listeners.length, 'every listener is in the live verdict map');
  assert.match(listed, /ct timeout to_tcp_30/);
  assert.match(listed, /limit rate over 100\/second/);
  assert.doesNotMatch(listed, /udp \. 82 :/, 'the removed listener left the verdict map');
});
