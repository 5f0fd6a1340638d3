/**
 * Listeners the API reports Running carry real traffic: created through the official client,
 * then used over loopback sockets against real backends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { NLB, callApi, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';
import { startTcpBackend, startUdpBackend, tcpRoundTrip, udpRoundTrip, type TcpBackend } from '../../support/backends.js';
import { decodeProxyV2 } from '../../../src/dataplane/nlb/proxy-protocol.js';
import { socketMss } from '../../../src/dataplane/native/tcp-sockopt.js';

let server: TestServer;
let lb: { id: string; vips: string[] };
const backends: TcpBackend[] = [];

before(async () => {
  server = await startTestServer();
  lb = await createActiveLoadBalancer(server);
  backends.push(await startTcpBackend('127.0.3.1', 'a'), await startTcpBackend('127.0.3.2', 'b'));
});
after(async () => {
  await server?.stop();
  for (const b of backends) await b.close();
});

test('a Running TCP listener forwards on every zone VIP, spreading connections by weight', async () => {
  const sg = await createServerGroup(
    server,
    { Scheduler: 'Wrr' },
    backends.map((b) => ({ ip: b.host, port: b.port })),
  );
  const id = await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7001, ServerGroupId: sg });
  const got = await callApi(server, NLB, 'GetListenerAttribute', { ListenerId: id }, { placement: 'query' });
  assert.equal(got.ListenerStatus, 'Running');
  const replies: string[] = [];
  for (const vip of lb.vips) for (let i = 0; i < 4; i++) replies.push(await tcpRoundTrip(vip, 7001, 'hello'));
  assert.equal(replies.length, 8);
  assert.equal(replies.filter((r) => r === 'a:hello').length, 4);
  assert.equal(replies.filter((r) => r === 'b:hello').length, 4);
});

test('a port that cannot be bound fails the job and leaves the listener not Running', async () => {
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(7002, lb.vips[0], r));
  try {
    const sg = await createServerGroup(server, {}, [{ ip: backends[0].host, port: backends[0].port }]);
    const { ListenerId, JobId } = await callApi(server, NLB, 'CreateListener', {
      LoadBalancerId: lb.id,
      ListenerProtocol: 'TCP',
      ListenerPort: 7002,
      ServerGroupId: sg,
    });
    assert.equal(await waitForJob(server, JobId), 'Failed');
    const got = await callApi(server, NLB, 'GetListenerAttribute', { ListenerId }, { placement: 'query' });
    assert.notEqual(got.ListenerStatus, 'Running');
    const job = await server.running.store.db.selectFrom('jobs').selectAll().where('id', '=', JobId).executeTakeFirstOrThrow();
    assert.match(job.error_message ?? '', /EADDRINUSE/);
  } finally {
    squatter.close();
  }
});

test('PROXY protocol v2 carries the client address and the VPC ID TLV', async () => {
  const pp = await startTcpBackend('127.0.3.3', 'pp');
  backends.push(pp);
  const sg = await createServerGroup(server, { PreserveClientIpEnabled: false }, [{ ip: pp.host, port: pp.port }]);
  await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 7003,
    ServerGroupId: sg,
    ProxyProtocolEnabled: true,
    ProxyProtocolV2Config: JSON.stringify({ Ppv2VpcIdEnabled: true }),
  });
  const client = net.connect({ host: lb.vips[0], port: 7003, localAddress: '127.0.9.9' });
  await new Promise<void>((r) => client.once('connect', () => r()));
  client.write('x');
  await new Promise<void>((r) => client.once('data', () => r()));
  const header = decodeProxyV2(pp.firstChunks[0])!;
  assert.equal(header.srcIp, '127.0.9.9');
  assert.equal(header.srcPort, client.localPort);
  assert.equal(header.dstIp, lb.vips[0]);
  assert.equal(header.dstPort, 7003);
  assert.deepEqual(header.alibaba, { vpcId: 'vpc-local' });
  client.destroy();
});

test('Mss clamps the segment size clients see', async () => {
  const sg = await createServerGroup(server, {}, [{ ip: backends[0].host, port: backends[0].port }]);
  await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7004, ServerGroupId: sg, Mss: 1000 });
  const client = net.connect({ host: lb.vips[0], port: 7004 });
  await new Promise<void>((r) => client.once('connect', () => r()));
  assert.ok(socketMss(client) <= 1000, `mss ${socketMss(client)}`);
  client.destroy();
});

test('a UDP listener keeps each client on one backend and answers from the VIP', async () => {
  const u1 = await startUdpBackend('127.0.3.4', 'u1');
  const u2 = await startUdpBackend('127.0.3.5', 'u2');
  try {
    const sg = await createServerGroup(server, { Protocol: 'UDP', HealthCheckConfig: { HealthCheckEnabled: false } }, [
      { ip: u1.host, port: u1.port },
      { ip: u2.host, port: u2.port },
    ]);
    await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 7005, ServerGroupId: sg });
    const dgram = await import('node:dgram');
    const socket = dgram.createSocket('udp4');
    const first = await udpRoundTrip(lb.vips[0], 7005, 'one', socket);
    const second = await udpRoundTrip(lb.vips[0], 7005, 'two', socket);
    socket.close();
    assert.equal(first.split(':')[0], second.split(':')[0], 'one session, one backend');
    assert.match(second, /^u[12]:two$/);
  } finally {
    await u1.close();
    await u2.close();
  }
});
