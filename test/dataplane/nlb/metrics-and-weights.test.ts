/**
 * What an operator reads on /metrics while traffic flows (per listener and per server), and
 * weight 0: a server set to weight 0 takes no new connections, while its open ones carry on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { NLB, callApi, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';
import { startTcpBackend, startUdpBackend, tcpRoundTrip, type TcpBackend } from '../../support/backends.js';
import { until } from '../../support/wait.js';

let server: TestServer;
let lb: { id: string; vips: string[] };
const closers: Array<() => Promise<void>> = [];

before(async () => {
  server = await startTestServer();
  lb = await createActiveLoadBalancer(server);
});
after(async () => {
  await server?.stop();
  for (const close of closers) await close().catch(() => undefined);
});

async function tcpBackend(host: string, name: string): Promise<TcpBackend> {
  const b = await startTcpBackend(host, name);
  closers.push(() => b.close());
  return b;
}

/** The value of one sample on /metrics, or undefined when absent. */
async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${server.running.adminUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const have = labelText.split(',');
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('TCP listener metrics: connections, bytes each way, per-server open connections and health', async () => {
  const a = await tcpBackend('127.0.3.101', 'a');
  const sg = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false } }, [{ ip: a.host, port: a.port }]);
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7600, ServerGroupId: sg });
  const listener = { listener: id, protocol: 'TCP' };
  const backend = { server_group: sg, server: `${a.host}:${a.port}` };

  for (let i = 0; i < 3; i++) assert.equal(await tcpRoundTrip(lb.vips[0], 7600, 'hello'), 'a:hello');
  const open = net.connect(7600, lb.vips[1]);
  await new Promise((r) => open.once('data', r).write('x'));

  assert.equal(await sample('openslb_listener_connections_total', listener), 4);
  assert.equal(await sample('openslb_listener_active_connections', listener), 1);
  assert.equal(await sample('openslb_server_active_connections', backend), 1);
  assert.equal(await sample('openslb_server_healthy', backend), 1);
  // 3 × "hello" + "x" in; 3 × "a:hello" + "a:x" out.
  assert.equal(await sample('openslb_listener_bytes_in_total', listener), 16);
  assert.equal(await sample('openslb_listener_bytes_out_total', listener), 24);

  open.destroy();
  await until('the last connection is counted closed', async () => (await sample('openslb_listener_active_connections', listener)) === 0);
  assert.equal(await sample('openslb_server_active_connections', backend), 0);
});

test('a listener with no reachable backend counts the refused connection', async () => {
  const sg = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false } }, []);
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7601, ServerGroupId: sg });
  await assert.rejects(tcpRoundTrip(lb.vips[0], 7601, 'anyone?'));
  await until(
    'the drop is counted',
    async () => (await sample('openslb_listener_dropped_no_backend_total', { listener: id, protocol: 'TCP' })) === 1,
  );
});

test('UDP listener metrics: sessions open and datagram bytes', async () => {
  const u = await startUdpBackend('127.0.3.102', 'u');
  closers.push(() => u.close());
  const sg = await createServerGroup(server, { Protocol: 'UDP', HealthCheckConfig: { HealthCheckEnabled: false } }, [
    { ip: u.host, port: u.port },
  ]);
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 7602, ServerGroupId: sg });
  const client = dgram.createSocket('udp4');
  closers.push(() => new Promise<void>((r) => client.close(() => r())));
  const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
  client.send('ping', 7602, lb.vips[0]);
  assert.equal(await reply, 'u:ping');
  const listener = { listener: id, protocol: 'UDP' };
  assert.equal(await sample('openslb_listener_udp_sessions', listener), 1);
  assert.equal(await sample('openslb_listener_bytes_in_total', listener), 4);
  assert.equal(await sample('openslb_listener_bytes_out_total', listener), 6);
});

test('weight 0 takes a server out of new connections at once; its open connection keeps flowing', async () => {
  const a = await tcpBackend('127.0.3.103', 'a');
  const b = await tcpBackend('127.0.3.104', 'b');
  const sg = await createServerGroup(server, { Scheduler: 'Rr', HealthCheckConfig: { HealthCheckEnabled: false } }, [
    { ip: a.host, port: a.port },
    { ip: b.host, port: b.port },
  ]);
  await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7603, ServerGroupId: sg });

  // Find an open connection on b, then set b's weight to 0.
  let onB: net.Socket | undefined;
  for (let i = 0; i < 4 && !onB; i++) {
    const s = net.connect(7603, lb.vips[0]);
    const reply = await new Promise<string>((r) => s.once('data', (d) => r(d.toString())).write('who'));
    if (reply === 'b:who') onB = s;
    else s.destroy();
  }
  assert.ok(onB, 'round robin reached b');
  const { JobId } = await callApi(server, NLB, 'UpdateServerGroupServersAttribute', {
    ServerGroupId: sg,
    Servers: [{ ServerId: b.host, ServerType: 'Ip', ServerIp: b.host, Port: b.port, Weight: 0 }],
  });
  assert.equal(await waitForJob(server, JobId), 'Succeeded');

  const replies = [];
  for (let i = 0; i < 6; i++) replies.push(await tcpRoundTrip(lb.vips[i % 2], 7603, 'new'));
  assert.deepEqual(replies, Array(6).fill('a:new'));
  const still = await new Promise<string>((r) => onB!.once('data', (d) => r(d.toString())).write('still'));
  assert.equal(still, 'b:still');
  onB.destroy();
});
