/**
 * Data-plane behaviour a user would notice: port ranges, health-check failover, draining,
 * stop/start, CPS limits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { NLB, callApi, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';
import { startTcpBackend, startUdpBackend, tcpRoundTrip, type TcpBackend } from '../../support/backends.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { moveTimeUntil } from '../../support/moved-time.js';

let server: TestServer;
let lb: { id: string; vips: string[] };
const backends: TcpBackend[] = [];
// Health-check intervals and drains of the shared server run on these: tests move them.
const timers = new ManualScheduler(Date.now());
/** Moves the shared server's time a second (one probe interval here) at a time until `check` holds. */
const moveUntil = (what: string, check: () => Promise<boolean>) => moveTimeUntil(timers, 1000, what, check);

before(async () => {
  server = await startTestServer({ timers });
  lb = await createActiveLoadBalancer(server);
});
after(async () => {
  await server?.stop();
  for (const b of backends) await b.close().catch(() => undefined);
});

test('a port-range listener sends port N to port N on the backend', async () => {
  for (const port of [7100, 7101, 7102]) backends.push(await startTcpBackend('127.0.3.30', `p${port}`, port));
  const sg = await createServerGroup(server, { AnyPortEnabled: true, HealthCheckConfig: { HealthCheckEnabled: false } }, [
    { ip: '127.0.3.30', port: 0 },
  ]);
  await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 0,
    StartPort: 7100,
    EndPort: 7102,
    ServerGroupId: sg,
  });
  assert.equal(await tcpRoundTrip(lb.vips[0], 7101, 'x'), 'p7101:x');
  assert.equal(await tcpRoundTrip(lb.vips[1], 7102, 'y'), 'p7102:y');
});

test('a server failing its health check gets no new connections; traffic moves to the healthy one', async () => {
  const good = await startTcpBackend('127.0.3.31', 'good');
  const doomed = await startTcpBackend('127.0.3.32', 'doomed');
  backends.push(good, doomed);
  const sg = await createServerGroup(
    server,
    {
      Scheduler: 'rr',
      HealthCheckConfig: {
        HealthCheckType: 'TCP',
        HealthCheckInterval: 1,
        HealthCheckConnectTimeout: 1,
        HealthyThreshold: 2,
        UnhealthyThreshold: 2,
      },
    },
    [
      { ip: good.host, port: good.port },
      { ip: doomed.host, port: doomed.port },
    ],
  );
  const listenerId = await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 7110,
    ServerGroupId: sg,
  });
  await moveUntil('both servers healthy', async () => {
    const h = await callApi(server, NLB, 'GetListenerHealthStatus', { ListenerId: listenerId }, { placement: 'query' });
    return h.ListenerHealthStatus[0].ServerGroupInfos[0].NonNormalServers.length === 0;
  });
  await doomed.close();
  await moveUntil('the dead server reported unhealthy', async () => {
    const h = await callApi(server, NLB, 'GetListenerHealthStatus', { ListenerId: listenerId }, { placement: 'query' });
    const bad = h.ListenerHealthStatus[0].ServerGroupInfos[0].NonNormalServers;
    return bad.length === 1 && bad[0].Status === 'Unhealthy' && bad[0].ServerIp === '127.0.3.32';
  });
  const replies = [];
  for (let i = 0; i < 4; i++) replies.push(await tcpRoundTrip(lb.vips[0], 7110, 'q'));
  assert.deepEqual(replies, ['good:q', 'good:q', 'good:q', 'good:q']);
});

test('removing a server with draining on closes its connections after the drain timeout, not before', async () => {
  const a = await startTcpBackend('127.0.3.33', 'a');
  backends.push(a);
  const sg = await createServerGroup(
    server,
    { ConnectionDrainEnabled: true, ConnectionDrainTimeout: 1, HealthCheckConfig: { HealthCheckEnabled: false } },
    [{ ip: a.host, port: a.port }],
  );
  await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7120, ServerGroupId: sg });
  const client = net.connect(7120, lb.vips[0]);
  await new Promise<void>((r) => client.once('connect', () => r()));
  client.write('before');
  await new Promise((r) => client.once('data', r));
  const closed = new Promise<void>((r) => client.once('close', () => r()));
  const { JobId } = await callApi(server, NLB, 'RemoveServersFromServerGroup', {
    ServerGroupId: sg,
    Servers: [{ ServerId: a.host, ServerType: 'Ip', ServerIp: a.host, Port: a.port }],
  });
  assert.equal(await waitForJob(server, JobId), 'Succeeded');
  // Still flowing after the removal took effect, up to 1 ms before the drain timeout…
  timers.advance(999);
  client.write('during');
  const reply = await new Promise<string>((r) => client.once('data', (d) => r(d.toString())));
  assert.equal(reply, 'a:during');
  // …and closed at it. The user-space engine closes the socket; the kernel engine forgets the
  // flow, and the client's next packet is answered with a reset: keep talking.
  timers.advance(1);
  client.on('error', () => undefined);
  let open = true;
  void closed.then(() => (open = false));
  for (let i = 0; i < 200 && open; i++) {
    client.write('ping');
    await new Promise((r) => setTimeout(r, 50));
  }
  await closed;
  // New connections find no backend.
  await assert.rejects(tcpRoundTrip(lb.vips[0], 7120, 'after'));
});

test('a stopped listener refuses connections; started again it forwards', async () => {
  const a = await startTcpBackend('127.0.3.34', 'a');
  backends.push(a);
  const sg = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false } }, [{ ip: a.host, port: a.port }]);
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7130, ServerGroupId: sg });
  assert.equal(await tcpRoundTrip(lb.vips[0], 7130, '1'), 'a:1');
  assert.equal(await waitForJob(server, (await callApi(server, NLB, 'StopListener', { ListenerId: id })).JobId), 'Succeeded');
  await assert.rejects(tcpRoundTrip(lb.vips[0], 7130, '2'), /ECONNREFUSED/);
  assert.equal(await waitForJob(server, (await callApi(server, NLB, 'StartListener', { ListenerId: id })).JobId), 'Succeeded');
  assert.equal(await tcpRoundTrip(lb.vips[0], 7130, '3'), 'a:3');
});

// The kernel engine's Cps and IdleTimeout run on the kernel's clock: test/dataplane/kernel covers
// them. These two pin the user-space engine, whose windows follow the injected clock.
test('Cps refuses connections beyond the per-second limit, per the injected clock', async () => {
  const clock = new ManualScheduler(Date.now());
  const own = await startTestServer({
    clock,
    configure: (c) => ((c.jobs.nodeTimeoutMs = 24 * 3_600_000), (c.dataplane.engine = 'userspace')),
  });
  try {
    const ownLb = await createActiveLoadBalancer(own);
    const a = await startTcpBackend('127.0.3.35', 'a');
    backends.push(a);
    const sg = await createServerGroup(own, { HealthCheckConfig: { HealthCheckEnabled: false } }, [{ ip: a.host, port: a.port }]);
    await createRunningListener(own, { LoadBalancerId: ownLb.id, ListenerProtocol: 'TCP', ListenerPort: 7140, ServerGroupId: sg, Cps: 2 });
    assert.equal(await tcpRoundTrip(ownLb.vips[0], 7140, '1'), 'a:1');
    assert.equal(await tcpRoundTrip(ownLb.vips[0], 7140, '2'), 'a:2');
    await assert.rejects(tcpRoundTrip(ownLb.vips[0], 7140, '3'));
    clock.advance(1000);
    assert.equal(await tcpRoundTrip(ownLb.vips[0], 7140, '4'), 'a:4');
    const metrics = await (await fetch(`${own.running.adminUrl}/metrics`)).text();
    assert.match(metrics, /openslb_listener_dropped_cps_total\{listener="[^"]+",protocol="TCP"\} 1/);
  } finally {
    await own.stop();
  }
});

test('IdleTimeout closes a connection with no traffic, by the injected clock', async () => {
  // The listener's idle sweep runs on the same moved time.
  const clock = new ManualScheduler(Date.now());
  const own = await startTestServer({
    clock,
    timers: clock,
    configure: (c) => ((c.jobs.nodeTimeoutMs = 24 * 3_600_000), (c.dataplane.engine = 'userspace')),
  });
  try {
    const ownLb = await createActiveLoadBalancer(own);
    const a = await startTcpBackend('127.0.3.36', 'a');
    backends.push(a);
    const sg = await createServerGroup(own, { HealthCheckConfig: { HealthCheckEnabled: false } }, [{ ip: a.host, port: a.port }]);
    await createRunningListener(own, {
      LoadBalancerId: ownLb.id,
      ListenerProtocol: 'TCP',
      ListenerPort: 7150,
      ServerGroupId: sg,
      IdleTimeout: 10,
    });
    const busy = net.connect(7150, ownLb.vips[0]);
    const idle = net.connect(7150, ownLb.vips[0]);
    await Promise.all([busy, idle].map((s) => new Promise<void>((r) => s.once('connect', () => r()))));
    for (const s of [busy, idle]) {
      s.write('hi');
      await new Promise((r) => s.once('data', r));
    }
    // The engine samples activity on its once-a-second sweep and on every metrics scrape: a
    // scrape here makes the sample land at this clock time instead of after the jump below.
    const scrape = () => fetch(`${own.running.adminUrl}/metrics`).then((r) => r.text());
    await scrape();
    const idleClosed = new Promise<void>((r) => idle.once('close', () => r()));
    let busyClosed = false;
    busy.once('close', () => (busyClosed = true));
    clock.advance(9_000);
    busy.write('still here');
    await new Promise((r) => busy.once('data', r));
    await scrape();
    clock.advance(2_000); // idle: 11 s without traffic; busy: 2 s
    await idleClosed;
    assert.equal(busyClosed, false);
    busy.destroy();
  } finally {
    await own.stop();
  }
});

test('changing weights, the scheduler and listener settings under 1,000 open connections drops none of them', async () => {
  const a = await startTcpBackend('127.0.3.37', 'a');
  const b = await startTcpBackend('127.0.3.38', 'b');
  backends.push(a, b);
  const sg = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false } }, [
    { ip: a.host, port: a.port },
    { ip: b.host, port: b.port },
  ]);
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7160, ServerGroupId: sg });
  const sockets: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 1000; i++) {
    const s = net.connect(7160, lb.vips[i % 2]);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.on('close', () => closed++);
    sockets.push(s);
  }
  const updates = [
    callApi(server, NLB, 'UpdateServerGroupServersAttribute', {
      ServerGroupId: sg,
      Servers: [{ ServerId: a.host, ServerType: 'Ip', ServerIp: a.host, Port: a.port, Weight: 10 }],
    }),
  ];
  for (const u of updates) assert.equal(await waitForJob(server, (await u).JobId), 'Succeeded');
  assert.equal(
    await waitForJob(server, (await callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: sg, Scheduler: 'tch' })).JobId),
    'Succeeded',
  );
  assert.equal(
    await waitForJob(
      server,
      (await callApi(server, NLB, 'UpdateListenerAttribute', { ListenerId: id, IdleTimeout: 600, Cps: 5000 })).JobId,
    ),
    'Succeeded',
  );
  // Every connection still works end to end.
  const replies = await Promise.all(
    sockets.map(
      (s, i) =>
        new Promise<string>((resolve) => {
          s.once('data', (d) => resolve(d.toString()));
          s.write(`m${i}`);
        }),
    ),
  );
  assert.equal(closed, 0);
  assert.ok(replies.every((r, i) => r === `a:m${i}` || r === `b:m${i}`));
  for (const s of sockets) s.destroy();
});

test('a hash scheduler keeps a flow on one backend; when every server fails its check traffic still flows', async () => {
  const a = await startTcpBackend('127.0.3.39', 'a');
  const b = await startTcpBackend('127.0.3.40', 'b');
  backends.push(a, b);
  const sg = await createServerGroup(
    server,
    {
      Scheduler: 'sch',
      HealthCheckConfig: {
        HealthCheckType: 'TCP',
        HealthCheckConnectPort: 9,
        HealthCheckInterval: 1,
        HealthyThreshold: 2,
        UnhealthyThreshold: 2,
      },
    },
    [
      { ip: a.host, port: a.port },
      { ip: b.host, port: b.port },
    ],
  );
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7170, ServerGroupId: sg });
  // The checks probe port 9, where nothing listens: both servers go Unhealthy…
  await moveUntil('both servers unhealthy', async () => {
    const h = await callApi(server, NLB, 'GetListenerHealthStatus', { ListenerId: id }, { placement: 'query' });
    const bad = h.ListenerHealthStatus[0].ServerGroupInfos[0].NonNormalServers;
    return bad.length === 2 && bad.every((s: { Status: string }) => s.Status === 'Unhealthy');
  });
  // …and traffic still flows to them (fail-open), always to the same one for one source address.
  const replies = new Set<string>();
  for (let i = 0; i < 6; i++) replies.add(await tcpRoundTrip(lb.vips[0], 7170, 'k'));
  assert.equal(replies.size, 1);
  assert.match([...replies][0], /^[ab]:k$/);
});

test('a killed backend comes back into rotation after its healthy threshold', async () => {
  const a = await startTcpBackend('127.0.3.41', 'a');
  let b = await startTcpBackend('127.0.3.42', 'b');
  backends.push(a);
  const bPort = b.port;
  const sg = await createServerGroup(
    server,
    { Scheduler: 'rr', HealthCheckConfig: { HealthCheckType: 'TCP', HealthCheckInterval: 1, HealthyThreshold: 2, UnhealthyThreshold: 2 } },
    [
      { ip: a.host, port: a.port },
      { ip: b.host, port: bPort },
    ],
  );
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7180, ServerGroupId: sg });
  const nonNormal = async () =>
    (await callApi(server, NLB, 'GetListenerHealthStatus', { ListenerId: id }, { placement: 'query' })).ListenerHealthStatus[0]
      .ServerGroupInfos[0].NonNormalServers as Array<{ ServerIp: string; Status: string }>;
  await moveUntil('both healthy', async () => (await nonNormal()).length === 0);
  await b.close();
  await moveUntil('b unhealthy', async () => (await nonNormal()).some((s) => s.ServerIp === '127.0.3.42' && s.Status === 'Unhealthy'));
  b = await startTcpBackend('127.0.3.42', 'b', bPort);
  backends.push(b);
  const backAfter = await moveUntil('b healthy again', async () => (await nonNormal()).length === 0);
  // HealthyThreshold 2: two passed probes, an interval apart, not one.
  assert.ok(backAfter >= 2000, `healthy again after ${backAfter} ms of probing`);
  const replies = new Set<string>();
  for (let i = 0; i < 4; i++) replies.add(await tcpRoundTrip(lb.vips[0], 7180, 'r'));
  assert.deepEqual([...replies].sort(), ['a:r', 'b:r']);
});

test('stopping a draining listener finishes its job at once; open connections keep flowing; it can start again meanwhile', async () => {
  const a = await startTcpBackend('127.0.3.41', 'a');
  backends.push(a);
  const drain = { ConnectionDrainEnabled: true, ConnectionDrainTimeout: 900, HealthCheckConfig: { HealthCheckEnabled: false } };
  const sg = await createServerGroup(server, drain, [{ ip: a.host, port: a.port }]);
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7190, ServerGroupId: sg });
  const open = net.connect(7190, lb.vips[0]);
  const say = (text: string) => new Promise<string>((r) => open.once('data', (d) => r(d.toString())).write(text));
  assert.equal(await say('one'), 'a:one');

  assert.equal(await waitForJob(server, (await callApi(server, NLB, 'StopListener', { ListenerId: id })).JobId), 'Succeeded');
  await assert.rejects(tcpRoundTrip(lb.vips[0], 7190, 'new'), /ECONNREFUSED/);
  assert.equal(await say('two'), 'a:two');

  assert.equal(await waitForJob(server, (await callApi(server, NLB, 'StartListener', { ListenerId: id })).JobId), 'Succeeded');
  assert.equal(await tcpRoundTrip(lb.vips[0], 7190, 'three'), 'a:three');
  assert.equal(await say('four'), 'a:four');
  open.destroy();
});

test('stopping a draining UDP listener finishes its job at once, and it can start again during the drain', async () => {
  const u = await startUdpBackend('127.0.3.42', 'u');
  const sg = await createServerGroup(
    server,
    { Protocol: 'UDP', ConnectionDrainEnabled: true, ConnectionDrainTimeout: 900, HealthCheckConfig: { HealthCheckEnabled: false } },
    [{ ip: u.host, port: u.port }],
  );
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 7191, ServerGroupId: sg });
  const client = dgram.createSocket('udp4');
  const ask = (text: string) => {
    const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
    client.send(text, 7191, lb.vips[0]);
    return reply;
  };
  try {
    assert.equal(await ask('one'), 'u:one');
    assert.equal(await waitForJob(server, (await callApi(server, NLB, 'StopListener', { ListenerId: id })).JobId), 'Succeeded');
    assert.equal(await ask('two'), 'u:two', 'an existing session keeps flowing while the listener drains');
    assert.equal(await waitForJob(server, (await callApi(server, NLB, 'StartListener', { ListenerId: id })).JobId), 'Succeeded');
    const fresh = dgram.createSocket('udp4');
    const reply = new Promise<string>((r) => fresh.once('message', (m) => r(m.toString())));
    fresh.send('three', 7191, lb.vips[0]);
    assert.equal(await reply, 'u:three');
    fresh.close();
  } finally {
    client.close();
    await u.close();
  }
});
