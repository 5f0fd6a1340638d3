/**
 * The kernel engine's counting sets on loopback: events and payload bytes per listener, read
 * back by the engine, and the elements of a removed listener dropped at the next reading (so the
 * sets do not grow with listener churn).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { KernelEngine } from '../../../src/dataplane/kernel/engine.js';
import { localRunner } from '../../../src/dataplane/kernel/commands.js';
import type { KernelListener } from '../../../src/dataplane/kernel/snapshot.js';
import { startTcpBackend, tcpRoundTrip } from '../../support/backends.js';

const VIP = '127.0.97.10';

test('per-listener events and payload bytes are read from the sets; a removed listener leaves no element behind', async (t) => {
  const backend = await startTcpBackend('127.0.97.21', 'a');
  const engine = new KernelEngine({ nodeId: `counting-test-${process.pid}`, runner: localRunner() });
  t.after(async () => {
    await engine.close();
    await backend.close();
  });
  const groups = [
    {
      id: 'g',
      scheduler: 'Rr' as const,
      backends: [{ key: `${backend.host}:${backend.port}`, host: backend.host, port: backend.port, weight: 100 }],
    },
  ];
  const listener = (port: number): KernelListener => ({
    id: `p${port}`,
    protocol: 'tcp',
    vips: [VIP],
    portFrom: port,
    portTo: port,
    keepPort: false,
    groupId: 'g',
    fullNat: false,
    idleTimeoutS: 900,
    cps: 0,
    mss: 0,
  });
  await engine.apply({ groups, listeners: [listener(7901), listener(7902)] });
  assert.equal(await tcpRoundTrip(VIP, 7901, 'x'), 'a:x');
  assert.equal(await tcpRoundTrip(VIP, 7902, 'hello'), 'a:hello');
  assert.equal(await tcpRoundTrip(VIP, 7902, 'hello'), 'a:hello');
  const counters = await engine.counters();
  assert.deepEqual(
    { new: counters.get('p7902')?.newConnections, in: counters.get('p7902')?.bytesIn, out: counters.get('p7902')?.bytesOut },
    { new: 2, in: 10, out: 14 },
    'what the backend received and sent',
  );
  assert.equal(counters.get('p7901')?.bytesIn, 1);

  const marks = (set: string) =>
    new Set(
      execFileSync('nft', ['list', 'set', 'ip', engine.table, set])
        .toString()
        .match(/0x[0-9a-f]{8}(?= \. (?:0x|original|reply))/g),
    );
  assert.equal(marks('events').size, 2);
  await engine.apply({ groups, listeners: [listener(7901)] });
  await engine.counters();
  assert.equal(marks('events').size, 1, "the removed listener's event elements are gone");
  assert.equal(marks('tcpbytes').size, 1, 'and its traffic elements');
});
