/**
 * Incremental transactions against a table the kernel already holds. nft re-reads the existing
 * maps' types from the kernel, which can make a rule that was valid in the first transaction
 * invalid in a later one; the engine would then fall back to replacing the whole table on every
 * change, which is correct but slow at thousands of listeners.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { buildProgram, TagBook } from '../../../src/dataplane/kernel/program.js';
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

test('listeners added one transaction at a time apply as deltas to the live table, for every scheduler and both protocols', () => {
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

  let before = buildProgram({ groups, listeners: steps[0] } satisfies KernelSnapshot, tags, 0x123);
  execFileSync('nft', ['-f', '-'], { input: renderFull(table, 'openslb delta test', before) });
  for (const listeners of steps.slice(1)) {
    const next = buildProgram({ groups, listeners }, tags, 0x123);
    const delta = renderDelta(table, before, next);
    assert.doesNotThrow(() => execFileSync('nft', ['-f', '-'], { input: delta, stdio: ['pipe', 'ignore', 'pipe'] }), `delta adding ${listeners[listeners.length - 1].id}:\n${delta}`);
    before = next;
  }
  // Every listener ended up in the live verdict map.
  const listed = execFileSync('nft', ['list', 'map', 'ip', table.name, 'listeners']).toString();
  assert.equal(listed.match(/goto l\d+/g)?.length, steps[steps.length - 1].length);
});
