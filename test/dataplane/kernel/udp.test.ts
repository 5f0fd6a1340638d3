/**
 * UDP listeners in the kernel engine, with real datagrams on loopback through the official API:
 * a flow idle past IdleTimeout is forgotten (its next datagram is a new flow, balanced afresh:
 * UDP has no reset), and a backend leaving its group keeps its open flows until the drain
 * timeout with ConnectionDrainEnabled, and for good without it — as in the user-space engine.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { NLB, callApi, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';
import { startUdpBackend } from '../../support/backends.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';

let server: TestServer;
// Drain deadlines run on these (the tests move them); IdleTimeout is the kernel's own clock.
const timers = new ManualScheduler(Date.now());
let lb: { id: string; vips: string[] };
const closers: Array<() => Promise<void> | void> = [];

before(async () => {
  server = await startTestServer({ timers, configure: (c) => (c.dataplane.engine = 'kernel') });
  lb = await createActiveLoadBalancer(server);
});
after(async () => {
  await server?.stop();
  for (const close of closers) await Promise.resolve(close()).catch(() => undefined);
});

async function twoBackends(base: number): Promise<Array<{ host: string; port: number; name: string }>> {
  const out = [];
  for (const name of ['a', 'b']) {
    const b = await startUdpBackend(`127.0.4.${base + out.length}`, name);
    closers.push(() => b.close());
    out.push({ host: b.host, port: b.port, name });
  }
  return out;
}

/** One client socket (one flow): each call sends a datagram and returns the backend's name. */
function session(port: number): (text: string) => Promise<string> {
  const socket = dgram.createSocket('udp4');
  closers.push(() => {
    socket.close();
  });
  return (text) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${text}`)), 5000);
      socket.once('message', (m) => {
        clearTimeout(timer);
        const [name, echoed] = m.toString().split(':');
        assert.equal(echoed, text);
        resolve(name);
      });
      socket.send(text, port, lb.vips[0]);
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('IdleTimeout: a UDP flow idle past the timeout is forgotten; its next datagram is a new flow', async () => {
  const backends = await twoBackends(61);
  const sg = await createServerGroup(
    server,
    { Protocol: 'UDP', Scheduler: 'rr', HealthCheckConfig: { HealthCheckEnabled: false } },
    backends.map((b) => ({ ip: b.host, port: b.port })),
  );
  await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'UDP',
    ListenerPort: 7761,
    ServerGroupId: sg,
    IdleTimeout: 10,
  });
  const ask = session(7761);
  const first = await ask('one');
  await sleep(4000);
  assert.equal(await ask('two'), first, 'within the timeout the flow keeps its backend');
  // The kernel's clock: wait past the 10 s timeout (generously). The flow is gone, so round robin
  // gives the next datagram the other backend.
  await sleep(13_000);
  assert.notEqual(await ask('three'), first, 'a new flow after the timeout');
});

async function removeBackend(sg: string, b: { host: string; port: number }): Promise<void> {
  const { JobId } = await callApi(server, NLB, 'RemoveServersFromServerGroup', {
    ServerGroupId: sg,
    Servers: [{ ServerId: b.host, ServerType: 'Ip', ServerIp: b.host, Port: b.port }],
  });
  assert.equal(await waitForJob(server, JobId), 'Succeeded');
}

test('draining UDP: a removed backend keeps its flow until ConnectionDrainTimeout, then the flow moves on', async () => {
  const backends = await twoBackends(63);
  const drain = {
    Protocol: 'UDP',
    Scheduler: 'rr',
    ConnectionDrainEnabled: true,
    ConnectionDrainTimeout: 4,
    HealthCheckConfig: { HealthCheckEnabled: false },
  };
  const sg = await createServerGroup(
    server,
    drain,
    backends.map((b) => ({ ip: b.host, port: b.port })),
  );
  await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 7763, ServerGroupId: sg });
  const ask = session(7763);
  const first = await ask('one');
  await removeBackend(
    sg,
    backends.find((b) => b.name === first)!,
  );
  timers.advance(3_999);
  assert.equal(await ask('during'), first, 'the open flow still reaches the leaving backend 1 ms before the drain timeout');
  // At the drain timeout the flow is cut (the kernel forgets it a moment later); the next
  // datagram is a new flow on the backend left.
  timers.advance(1);
  let now = first;
  for (let i = 0; i < 200 && now === first; i++) {
    await sleep(100);
    now = await ask(`poll${i}`);
  }
  assert.notEqual(now, first, 'the flow moved to the remaining backend after the drain timeout');
});

test('UDP without draining: a removed backend keeps its open flow', async () => {
  const backends = await twoBackends(65);
  const sg = await createServerGroup(
    server,
    { Protocol: 'UDP', Scheduler: 'rr', HealthCheckConfig: { HealthCheckEnabled: false } },
    backends.map((b) => ({ ip: b.host, port: b.port })),
  );
  await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 7765, ServerGroupId: sg });
  const ask = session(7765);
  const first = await ask('one');
  await removeBackend(
    sg,
    backends.find((b) => b.name === first)!,
  );
  // No drain deadline: moving past the longest one (900 s) cuts nothing.
  timers.advance(901_000);
  await sleep(100);
  assert.equal(await ask('later'), first, 'the flow stays where it was');
  // New flows go to the backend left.
  const fresh = session(7765);
  assert.notEqual(await fresh('new'), first);
});
