/**
 * A UDP listener keeps at most `maxSessions` sessions: datagrams from further clients are
 * dropped and counted, with one log line per ten seconds at most; once sessions idle out, new
 * clients are served again. End to end, the cap comes from `dataplane.maxUdpSessionsPerListener`
 * and the drops show in /metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UdpListener } from '../../../src/dataplane/nlb/udp-listener.js';
import { newListenerCounters } from '../../../src/dataplane/nlb/listener-metrics.js';
import type { BackendTarget, UpstreamPool } from '../../../src/dataplane/nlb/upstream-pool.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { startUdpBackend, udpRoundTrip } from '../../support/backends.js';
import { startTestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';

/** Waits (bounded by attempts, not by a timing assertion) until `ready()` holds. */
async function eventually(ready: () => boolean | Promise<boolean>, what: string, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

function sendFrom(host: string, port: number, text: string): dgram.Socket {
  const socket = dgram.createSocket('udp4');
  socket.send(text, port, host);
  return socket;
}

test('at the cap new clients are dropped, counted and logged at a bounded rate; idle sessions make room', async (t) => {
  const backend = await startUdpBackend('127.0.3.40', 'b');
  t.after(() => backend.close());
  const target: BackendTarget = { key: `${backend.host}:${backend.port}`, host: backend.host, port: backend.port, slot: 0 };
  const pool: UpstreamPool = { pick: () => target, retry: () => undefined, opened: () => {}, closed: () => {} };
  const clock = new ManualScheduler();
  const counters = newListenerCounters();
  const lines: Array<Record<string, unknown>> = [];
  const log = { warn: (obj: object) => void lines.push(obj as Record<string, unknown>) };
  const vip = '127.0.3.41';
  const listener = new UdpListener(
    'lsn-cap@0',
    { vips: [vip], ports: [0], keepDestinationPort: false },
    { idleTimeoutMs: 30_000, maxSessions: 2 },
    pool,
    clock,
    clock,
    counters,
    log as never,
  );
  // Port 0: bind an ephemeral port, then read it back from the socket the listener opened.
  await listener.bind();
  t.after(() => listener.destroy());
  const port = (listener as unknown as { sockets: dgram.Socket[] }).sockets[0].address().port;

  const clients: dgram.Socket[] = [];
  t.after(() => clients.forEach((c) => c.close()));
  for (const name of ['one', 'two']) {
    const socket = dgram.createSocket('udp4');
    clients.push(socket);
    assert.equal(await udpRoundTrip(vip, port, name, socket), `b:${name}`);
  }
  assert.equal(counters.udpSessions, 2);

  for (let i = 0; i < 3; i++) clients.push(sendFrom(vip, port, `extra${i}`));
  await eventually(() => counters.droppedUdpSessionCap === 3, 'three datagrams dropped at the cap');
  assert.equal(counters.udpSessions, 2);
  assert.equal(backend.received, 2, 'the dropped datagrams never reached the backend');
  assert.equal(lines.length, 1, 'one log line for the burst');
  assert.equal(lines[0].maxSessions, 2);

  // Ten seconds later the next drop logs again, with what was dropped meanwhile.
  clock.advance(10_000);
  clients.push(sendFrom(vip, port, 'late'));
  await eventually(() => counters.droppedUdpSessionCap === 4, 'the fourth drop');
  assert.equal(lines.length, 2);
  assert.equal(lines[1].dropped, 3);

  // Established sessions still flow at the cap.
  assert.equal(await udpRoundTrip(vip, port, 'again', clients[0]), 'b:again');

  // Idle sessions close on the listener's own sweep, run by the moved time; a new client gets a session.
  clock.advance(31_000);
  assert.equal(counters.udpSessions, 0);
  const fresh = dgram.createSocket('udp4');
  clients.push(fresh);
  assert.equal(await udpRoundTrip(vip, port, 'fresh', fresh), 'b:fresh');
});

test('dataplane.maxUdpSessionsPerListener caps a Running listener and /metrics counts the drops', async (t) => {
  // The cap bounds the user-space engine's sockets; kernel-engine UDP flows hold no descriptor.
  const server = await startTestServer({
    configure: (c) => {
      c.dataplane.maxUdpSessionsPerListener = 1;
      c.dataplane.engine = 'userspace';
    },
  });
  t.after(() => server.stop());
  const backend = await startUdpBackend('127.0.3.42', 'u');
  t.after(() => backend.close());
  const lb = await createActiveLoadBalancer(server);
  const sg = await createServerGroup(server, { Protocol: 'UDP', HealthCheckConfig: { HealthCheckEnabled: false } }, [
    { ip: backend.host, port: backend.port },
  ]);
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 7090, ServerGroupId: sg });

  const first = dgram.createSocket('udp4');
  t.after(() => first.close());
  assert.equal(await udpRoundTrip(lb.vips[0], 7090, 'hi', first), 'u:hi');
  const second = sendFrom(lb.vips[0], 7090, 'refused');
  t.after(() => second.close());

  const dropped = async () => {
    const text = await (await fetch(`${server.running.adminUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('openslb_listener_dropped_udp_session_cap_total{') && l.includes(id));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  await eventually(async () => (await dropped()) >= 1, 'the drop shows in /metrics');
  assert.equal(backend.received, 1);
});
