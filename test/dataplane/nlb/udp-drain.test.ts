/**
 * The user-space UDP listener's drains run on its injected timers: a backend leaving the pool
 * keeps its sessions exactly until the drain timeout, and a stopped listener keeps serving its
 * existing sessions (and only those) until its drain ends. Moved time checks both deadlines to
 * the millisecond, before and at them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UdpListener } from '../../../src/dataplane/nlb/udp-listener.js';
import { newListenerCounters } from '../../../src/dataplane/nlb/listener-metrics.js';
import type { BackendTarget, UpstreamPool } from '../../../src/dataplane/nlb/upstream-pool.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { startUdpBackend, udpRoundTrip } from '../../support/backends.js';

const VIP = '127.0.3.44';

async function rig(t: { after(fn: () => unknown): void }) {
  const backend = await startUdpBackend('127.0.3.43', 'b');
  t.after(() => backend.close());
  const target: BackendTarget = { key: `${backend.host}:${backend.port}`, host: backend.host, port: backend.port, slot: 0 };
  const pool: UpstreamPool = { pick: () => target, retry: () => undefined, opened: () => {}, closed: () => {} };
  const timers = new ManualScheduler(Date.now());
  const counters = newListenerCounters();
  const listener = new UdpListener(
    `lsn-udp-drain-${process.pid}@0`,
    { vips: [VIP], ports: [0], keepDestinationPort: false },
    // IdleTimeout longer than any drain here: only the drains close sessions.
    { idleTimeoutMs: 3_600_000, maxSessions: 100 },
    pool,
    timers,
    timers,
    counters,
  );
  await listener.bind();
  t.after(() => listener.destroy());
  const port = (listener as unknown as { sockets: dgram.Socket[] }).sockets[0].address().port;
  const client = dgram.createSocket('udp4');
  t.after(() => client.close());
  return { listener, timers, counters, port, client, backend, backendKey: target.key };
}

/** Waits (bounded by attempts) until `ready()` holds. */
async function eventually(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !ready(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ready(), `never happened: ${what}`);
}

test('a drained backend keeps its UDP sessions until the drain timeout, not a millisecond less', async (t) => {
  const r = await rig(t);
  assert.equal(await udpRoundTrip(VIP, r.port, 'one', r.client), 'b:one');
  assert.equal(r.counters.udpSessions, 1);
  r.listener.drainBackend(r.backendKey, 30_000);
  r.timers.advance(29_999);
  assert.equal(r.counters.udpSessions, 1, 'still open 1 ms before the drain timeout');
  assert.equal(await udpRoundTrip(VIP, r.port, 'two', r.client), 'b:two');
  r.timers.advance(1);
  assert.equal(r.counters.udpSessions, 0, 'closed at the drain timeout');
});

test('a stopped UDP listener serves its existing sessions only, until its drain ends', async (t) => {
  const r = await rig(t);
  assert.equal(await udpRoundTrip(VIP, r.port, 'one', r.client), 'b:one');
  await r.listener.close(60_000);
  // A new client's datagram arrives (counted) but opens no session and reaches no backend.
  const received = r.backend.received;
  const newcomer = dgram.createSocket('udp4');
  t.after(() => newcomer.close());
  newcomer.send('newcomer', r.port, VIP);
  await eventually(() => r.counters.udpPacketsIn === 2, 'the newcomer datagram arrives');
  assert.equal(r.counters.udpSessions, 1, 'a new client gets no session while the listener drains');
  assert.equal(r.backend.received, received);
  r.timers.advance(59_999);
  assert.equal(await udpRoundTrip(VIP, r.port, 'two', r.client), 'b:two', 'the existing session flows 1 ms before the end');
  assert.equal(r.listener.drained, false);
  r.timers.advance(1);
  assert.equal(r.listener.drained, true);
  assert.equal(r.counters.udpSessions, 0);
});
