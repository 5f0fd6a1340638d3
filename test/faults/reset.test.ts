/**
 * Reset: a clean slate between test cases. Resources, jobs, ClientTokens and fault rules go,
 * the data plane closes every listener, and accounts stay unless asked for.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RamService } from '../../src/accounts/ram-service.js';
import { NLB, callApi, callError, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';
import { runCli } from '../support/process.js';
import { admin, startFaultTestServer } from './support.js';

let server: TestServer;
let backend: TcpBackend;
const read = (action: string, params: Record<string, unknown> = {}) => callApi(server, NLB, action, params, { placement: 'query' });

before(async () => {
  server = await startFaultTestServer();
  backend = await startTcpBackend('127.0.3.71', 'kept');
});
after(async () => {
  await server?.stop();
  await backend?.close();
});

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function forwardingListener(port: number): Promise<{ vip: string; jobId: string }> {
  const lb = await createActiveLoadBalancer(server);
  const sg = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false } }, [
    { ip: backend.host, port: backend.port },
  ]);
  await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: port, ServerGroupId: sg });
  assert.equal(await tcpRoundTrip(lb.vips[0], port, 'hi'), 'kept:hi');
  const { JobId } = await callApi(server, NLB, 'UpdateServerGroupAttribute', {
    ServerGroupId: sg,
    ServerGroupName: 'renamed-before-reset',
  });
  return { vip: lb.vips[0], jobId: JobId };
}

test('POST /reset leaves no resource, job, token, rule or listener socket; accounts stay', async () => {
  const ram = new RamService(server.running.store);
  await ram.createUser('survivor');
  await ram.createPolicy('read-all', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'nlb:*', Resource: '*' }] }));
  await ram.attachPolicy('read-all', 'survivor');
  const key = await ram.createAccessKey('survivor');
  const asSurvivor = { accessKeyId: key.accessKeyId, accessKeySecret: key.secret, placement: 'query' as const };

  const { vip, jobId } = await forwardingListener(7410);
  const tokenParams = { ServerGroupName: 'tokened', VpcId: 'vpc-local', ServerGroupType: 'Ip', ClientToken: 'reset-token' };
  const first = await callApi(server, NLB, 'CreateServerGroup', tokenParams);
  await admin(server.running.adminUrl!, 'POST', '/faults', { action: 'Nothing*', effect: { type: 'latency', ms: 1 } });

  const reset = await admin(server.running.adminUrl!, 'POST', '/reset');
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  assert.equal(reset.body.dataPlaneSettled, true);
  assert.ok(reset.body.deleted.resources >= 4);
  assert.equal(reset.body.deleted.fault_rules, 1);

  assert.equal(await refused(vip, 7410), true, 'the listener socket is closed once /reset answers');
  assert.equal(Number((await read('ListLoadBalancers')).TotalCount), 0);
  assert.equal(Number((await read('ListServerGroups')).TotalCount), 0);
  assert.equal(Number((await read('ListListeners')).TotalCount), 0);
  assert.deepEqual((await read('ListAsynJobs', { JobIds: [jobId] })).Jobs, []);
  assert.equal((await callError(read('GetJobStatus', { JobId: jobId }))).statusCode, 404);
  assert.deepEqual((await admin(server.running.adminUrl!, 'GET', '/faults')).body.rules, []);
  // The token is forgotten: the same request creates afresh.
  const again = await callApi(server, NLB, 'CreateServerGroup', tokenParams);
  assert.notEqual(again.ServerGroupId, first.ServerGroupId);
  // The RAM user and its key still work.
  assert.ok(await callApi(server, NLB, 'ListLoadBalancers', {}, asSurvivor));

  const full = await admin(server.running.adminUrl!, 'POST', '/reset', { accounts: true });
  assert.equal(full.status, 200);
  assert.equal(full.body.deleted.ram_users, 1);
  assert.equal((await callError(callApi(server, NLB, 'ListLoadBalancers', {}, asSurvivor))).code, 'InvalidAccessKeyId.NotFound');
  assert.equal(Number((await read('ListServerGroups')).TotalCount), 0, 'root keys always stay');
  assert.equal((await admin(server.running.adminUrl!, 'POST', '/reset', { accounts: 'yes' })).status, 400);
});

test('openslb reset from another process: the running data plane follows', async () => {
  const { vip } = await forwardingListener(7411);
  const cli = await runCli(['reset', '--data-dir', server.dataDir]);
  assert.equal(cli.code, 0, cli.stderr);
  const out = JSON.parse(cli.stdout);
  assert.equal(out.dataPlaneSettled, true);
  assert.ok(out.deleted.resources >= 3);
  assert.equal(await refused(vip, 7411), true);
  assert.equal(Number((await read('ListLoadBalancers')).TotalCount), 0);
});
