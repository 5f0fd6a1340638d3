/**
 * The walkthrough a user does with the CLI against a real `openslb serve`: an NLB, a server
 * group with two servers and a TCP listener, each followed with `--wait`; then list, update,
 * stop, start, a restart of the server, and deleting everything — checking what the reference
 * says at each step and that real connections go where the state says they should.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET } from '../support/server.js';
import { runCli, startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { startTcpBackend, type TcpBackend } from '../support/backends.js';
import { eventually } from '../support/serve-admin.js';

const dataDir = mkdtempSync(join(tmpdir(), 'openslb-walk-'));
const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
const serveArgs = ['--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--admin-listen', ''];
const PORT = 7400;
let serve: ServeProcess;
const backends: TcpBackend[] = [];

before(async () => {
  serve = await startServe(serveArgs, env);
  backends.push(await startTcpBackend('127.0.3.81', 'a'), await startTcpBackend('127.0.3.82', 'b'));
});
after(async () => {
  if (serve) await stopProcess(serve.child);
  for (const b of backends) await b.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** `openslb nlb <action> …` against the running server; the parsed JSON reply (or error body). */
async function nlb(action: string, ...args: string[]): Promise<{ code: number; body: any; stderr: string }> {
  const r = await runCli(['nlb', action, ...args, '--endpoint', serve.apiUrl], env);
  const text = r.code === 0 ? r.stdout : r.stderr.slice(r.stderr.indexOf('{'));
  return { code: r.code, body: JSON.parse(text), stderr: r.stderr };
}

async function ok(action: string, ...args: string[]): Promise<any> {
  const r = await nlb(action, ...args);
  assert.equal(r.code, 0, `${action}: ${r.stderr}`);
  return r.body;
}

/** One request through `vip:port`; resolves with the backend's reply, or the socket error code. */
function request(vip: string, message: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(PORT, vip);
    socket.once('connect', () => socket.write(message));
    socket.once('data', (d) => {
      resolve(d.toString());
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

let lbId: string;
let vips: string[];
let groupId: string;
let listenerId: string;

test('CreateLoadBalancer --wait returns once the NLB is Active, with a VIP per zone', async () => {
  const r = await nlb(
    'CreateLoadBalancer',
    '--AddressType',
    'Intranet',
    '--VpcId',
    'vpc-local',
    '--ZoneMappings.1.ZoneId',
    'cn-hangzhou-a',
    '--ZoneMappings.1.VSwitchId',
    'vsw-local-a',
    '--ZoneMappings.2.ZoneId',
    'cn-hangzhou-b',
    '--ZoneMappings.2.VSwitchId',
    'vsw-local-b',
    '--wait',
  );
  assert.equal(r.code, 0, r.stderr);
  lbId = r.body.LoadbalancerId;
  assert.match(lbId, /^nlb-/);
  assert.match(r.stderr, /Active/);
  const lb = await ok('GetLoadBalancerAttribute', '--LoadBalancerId', lbId);
  assert.equal(lb.LoadBalancerStatus, 'Active');
  vips = lb.ZoneMappings.map((z: any) => z.LoadBalancerAddresses[0].PrivateIPv4Address);
  assert.equal(vips.length, 2);
});

test('a server group with two servers: both Available once AddServersToServerGroup --wait returns', async () => {
  const created = await ok(
    'CreateServerGroup',
    '--ServerGroupName',
    'web',
    '--VpcId',
    'vpc-local',
    '--ServerGroupType',
    'Ip',
    '--Protocol',
    'TCP',
    '--wait',
  );
  groupId = created.ServerGroupId;
  const servers: string[] = [];
  backends.forEach((b, i) => {
    const n = i + 1;
    servers.push(`--Servers.${n}.ServerId`, b.host, `--Servers.${n}.ServerType`, 'Ip', `--Servers.${n}.Port`, String(b.port));
  });
  const added = await ok('AddServersToServerGroup', '--ServerGroupId', groupId, ...servers, '--wait');
  assert.match(added.JobId, /.+/);
  const listed = await ok('ListServerGroupServers', '--ServerGroupId', groupId);
  assert.deepEqual(
    listed.Servers.map((s: any) => [s.ServerIp, s.Status]).sort(),
    backends.map((b) => [b.host, 'Available']),
  );
  const group = await ok('ListServerGroups', '--ServerGroupIds.1', groupId);
  assert.equal(group.ServerGroups[0].ServerGroupStatus, 'Available');
  assert.equal(group.ServerGroups[0].ServerCount, 2);
});

test('CreateListener --wait: Running when it returns, and connections reach both servers', async () => {
  const created = await ok(
    'CreateListener',
    '--LoadBalancerId',
    lbId,
    '--ListenerProtocol',
    'TCP',
    '--ListenerPort',
    String(PORT),
    '--ServerGroupId',
    groupId,
    '--ListenerDescription',
    'walkthrough',
    '--wait',
  );
  listenerId = created.ListenerId;
  const listener = await ok('GetListenerAttribute', '--ListenerId', listenerId);
  assert.equal(listener.ListenerStatus, 'Running');
  // A server takes traffic once its first health checks pass (an unchecked one only while no
  // server is healthy), so a user waits for the health status before expecting both to answer.
  await eventually('both servers healthy', async () => {
    const health = await ok('GetListenerHealthStatus', '--ListenerId', listenerId);
    const groups = health.ListenerHealthStatus[0].ServerGroupInfos as Array<{ NonNormalServers: unknown[] }>;
    return groups.every((g) => g.NonNormalServers.length === 0) ? true : undefined;
  });
  const replies = new Set<string>();
  for (let i = 0; i < 8; i++) replies.add((await request(vips[i % 2], 'hi')).split(':')[0]);
  assert.deepEqual([...replies].sort(), ['a', 'b']);
});

test('ListListeners and UpdateListenerAttribute --wait: the change is visible and the listener Running again', async () => {
  const listed = await ok('ListListeners', '--LoadBalancerIds.1', lbId);
  assert.deepEqual(
    listed.Listeners.map((l: any) => [l.ListenerId, l.ListenerPort, l.ListenerStatus]),
    [[listenerId, PORT, 'Running']],
  );
  await ok('UpdateListenerAttribute', '--ListenerId', listenerId, '--ListenerDescription', 'renamed', '--IdleTimeout', '30', '--wait');
  const after = await ok('GetListenerAttribute', '--ListenerId', listenerId);
  assert.deepEqual([after.ListenerDescription, after.IdleTimeout, after.ListenerStatus], ['renamed', 30, 'Running']);
});

test('StopListener --wait refuses connections; StartListener --wait forwards again', async () => {
  await ok('StopListener', '--ListenerId', listenerId, '--wait');
  assert.equal((await ok('GetListenerAttribute', '--ListenerId', listenerId)).ListenerStatus, 'Stopped');
  assert.equal(await request(vips[0], 'hi'), 'ECONNREFUSED');
  await ok('StartListener', '--ListenerId', listenerId, '--wait');
  assert.equal((await ok('GetListenerAttribute', '--ListenerId', listenerId)).ListenerStatus, 'Running');
  assert.match(await request(vips[0], 'again'), /^[ab]:again$/);
});

test('a refused CLI call prints the Alibaba error and changes nothing', async () => {
  const r = await nlb(
    'CreateListener',
    '--LoadBalancerId',
    lbId,
    '--ListenerProtocol',
    'TCP',
    '--ListenerPort',
    String(PORT),
    '--ServerGroupId',
    groupId,
  );
  assert.equal(r.code, 1);
  assert.equal(r.body.Code, 'Conflict.Port');
  assert.ok(r.body.RequestId);
  assert.equal((await ok('ListListeners', '--LoadBalancerIds.1', lbId)).TotalCount, 1);
});

test('restarting openslb serve brings the Running listener back without any API call', async () => {
  await stopProcess(serve.child);
  assert.equal(await request(vips[1], 'down'), 'ECONNREFUSED');
  serve = await startServe(serveArgs, env);
  let reply = '';
  // The data plane binds shortly after the API answers; poll a bounded number of times.
  for (let i = 0; i < 200 && !/^[ab]:/.test(reply); i++) {
    reply = await request(vips[1], 'back');
    if (!/^[ab]:/.test(reply)) await new Promise((r) => setTimeout(r, 25));
  }
  assert.match(reply, /^[ab]:back$/);
  assert.equal((await ok('GetListenerAttribute', '--ListenerId', listenerId)).ListenerStatus, 'Running');
});

test('deleting everything: listener, servers, server group, load balancer — each gone when --wait returns', async () => {
  await ok('DeleteListener', '--ListenerId', listenerId, '--wait');
  const missing = await nlb('GetListenerAttribute', '--ListenerId', listenerId);
  assert.equal(missing.body.Code, 'ResourceNotFound.listener');
  assert.equal(await request(vips[0], 'gone'), 'ECONNREFUSED');

  const removal: string[] = [];
  backends.forEach((b, i) => {
    removal.push(`--Servers.${i + 1}.ServerId`, b.host, `--Servers.${i + 1}.ServerType`, 'Ip', `--Servers.${i + 1}.Port`, String(b.port));
  });
  await ok('RemoveServersFromServerGroup', '--ServerGroupId', groupId, ...removal, '--wait');
  assert.equal((await ok('ListServerGroupServers', '--ServerGroupId', groupId)).TotalCount, 0);
  await ok('DeleteServerGroup', '--ServerGroupId', groupId, '--wait');
  assert.equal((await ok('ListServerGroups', '--ServerGroupIds.1', groupId)).TotalCount, 0);

  await ok('DeleteLoadBalancer', '--LoadBalancerId', lbId, '--wait');
  const lb = await nlb('GetLoadBalancerAttribute', '--LoadBalancerId', lbId);
  assert.equal(lb.code, 1);
  assert.equal(lb.body.Code, 'ResourceNotFound.loadBalancer');
});
