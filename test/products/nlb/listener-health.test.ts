/**
 * GetListenerHealthStatus reports what data-plane nodes observed. Until real health checkers
 * write observations, the test writes them itself, the way a node does: one row per node and
 * backend under `healthObservationKey()`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { healthObservationKey } from '../../../src/domain/observations.js';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer } from '../../support/nlb-setup.js';

let server: TestServer;
const call = (action: string, params: Record<string, unknown> = {}) => callApi(server, NLB, action, params);
const read = (action: string, params: Record<string, unknown>) => callApi(server, NLB, action, params, { placement: 'query' });

let lb: string;

before(async () => {
  server = await startTestServer();
  lb = (await createActiveLoadBalancer(server)).id;
});
after(async () => {
  await server?.stop();
});

const SERVERS = [
  { ServerId: '127.0.3.1', ServerType: 'Ip', ServerIp: '127.0.3.1', Port: 8080, Weight: 100 },
  { ServerId: '127.0.3.2', ServerType: 'Ip', ServerIp: '127.0.3.2', Port: 8080, Weight: 100 },
  { ServerId: '127.0.3.3', ServerType: 'Ip', ServerIp: '127.0.3.3', Port: 8080, Weight: 0 },
];

async function groupWithServers(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await call('CreateServerGroup', { ServerGroupName: name, VpcId: 'vpc-local', ServerGroupType: 'Ip', ...extra });
  await waitForJob(server, created.JobId);
  const added = await call('AddServersToServerGroup', { ServerGroupId: created.ServerGroupId, Servers: SERVERS });
  await waitForJob(server, added.JobId);
  return created.ServerGroupId;
}

async function listenerOn(groupId: string, port: number): Promise<string> {
  const { ListenerId, JobId } = await call('CreateListener', {
    LoadBalancerId: lb,
    ListenerProtocol: 'TCP',
    ListenerPort: port,
    ServerGroupId: groupId,
  });
  await waitForJob(server, JobId);
  return ListenerId;
}

/** Writes an observation as a data-plane node would. */
async function observe(nodeId: string, objectId: string, state: string, reason: string | null, updatedAt: number) {
  const row = { node_id: nodeId, object_id: objectId, revision: 1, state, reason, detail: null, updated_at: updatedAt };
  await server.running.store.transact((tx) =>
    tx
      .insertInto('observations')
      .values(row)
      .onConflict((oc) => oc.columns(['node_id', 'object_id']).doUpdateSet(row))
      .execute(),
  );
}

async function liveNodeId(): Promise<string> {
  const [node] = await server.running.store.db.selectFrom('nodes').select('node_id').execute();
  return node.node_id;
}

const nonNormal = (body: any) =>
  body.ListenerHealthStatus[0].ServerGroupInfos[0].NonNormalServers.map((s: any) => ({
    ip: s.ServerIp,
    status: s.Status,
    reason: s.Reason?.ReasonCode,
  }));

test('with no observations nothing is claimed healthy: Initial, and Unused for weight 0', async () => {
  const group = await groupWithServers('health-initial');
  const listener = await listenerOn(group, 80);
  const body = await read('GetListenerHealthStatus', { ListenerId: listener });
  assert.equal(body.TotalCount, 1);
  assert.equal(body.MaxResults, 20);
  assert.equal(body.NextToken, '');
  const entry = body.ListenerHealthStatus[0];
  assert.equal(entry.ListenerId, listener);
  assert.equal(entry.ListenerPort, 80);
  assert.equal(entry.ListenerProtocol, 'TCP');
  const info = entry.ServerGroupInfos[0];
  assert.equal(info.ServerGroupId, group);
  assert.equal(info.HeathCheckEnabled, true, 'the wire spells it HeathCheckEnabled');
  assert.deepEqual(info.NonNormalServers[0], { ServerId: '127.0.3.1', ServerIp: '127.0.3.1', Port: 8080, Status: 'Initial' });
  assert.deepEqual(nonNormal(body), [
    { ip: '127.0.3.1', status: 'Initial', reason: undefined },
    { ip: '127.0.3.2', status: 'Initial', reason: undefined },
    { ip: '127.0.3.3', status: 'Unused', reason: undefined },
  ]);
});

test('observations from live nodes decide; healthy servers are not listed; stale nodes do not count', async () => {
  const group = await groupWithServers('health-observed');
  const listener = await listenerOn(group, 81);
  const node = await liveNodeId();
  const now = Date.now();
  await observe(node, healthObservationKey(group, '127.0.3.1', 8080), 'healthy', null, now);
  await observe(node, healthObservationKey(group, '127.0.3.2', 8080), 'unhealthy', 'CONNECT_TIMEOUT', now);

  // A node that stopped heartbeating long ago has a newer, different opinion: ignored.
  await server.running.store.transact((tx) =>
    tx.insertInto('nodes').values({ node_id: 'gone-node', address: '', started_at: 0, heartbeat_at: 0, applied_revision: 0 }).execute(),
  );
  await observe('gone-node', healthObservationKey(group, '127.0.3.2', 8080), 'healthy', null, now + 1000);

  const body = await read('GetListenerHealthStatus', { ListenerId: listener });
  assert.deepEqual(nonNormal(body), [
    { ip: '127.0.3.2', status: 'Unhealthy', reason: 'CONNECT_TIMEOUT' },
    { ip: '127.0.3.3', status: 'Unused', reason: undefined },
  ]);

  // The newest report of a live node wins.
  await observe(node, healthObservationKey(group, '127.0.3.2', 8080), 'healthy', null, now + 2000);
  assert.deepEqual(nonNormal(await read('GetListenerHealthStatus', { ListenerId: listener })), [
    { ip: '127.0.3.3', status: 'Unused', reason: undefined },
  ]);
});

test("machines are combined: Unhealthy only when most machines with a verdict see it so; a machine's workers count once", async () => {
  // Slow real checks (50 s, thresholds 10), so only the verdicts written here decide.
  const group = await groupWithServers('health-fleet', {
    HealthCheckConfig: { HealthCheckEnabled: true, HealthCheckInterval: 50, HealthyThreshold: 10, UnhealthyThreshold: 10 },
  });
  const listener = await listenerOn(group, 83);
  // The server's own node (an earlier test added a stale one beside it).
  const own = (await server.running.store.db.selectFrom('nodes').select('node_id').where('heartbeat_at', '>', 0).executeTakeFirstOrThrow())
    .node_id;
  const now = Date.now();
  await server.running.store.transact((tx) =>
    tx
      .insertInto('nodes')
      .values(
        ['far-w1', 'far-w2', 'other'].map((id) => ({
          node_id: id,
          address: '10.0.0.9',
          started_at: now,
          heartbeat_at: now + 60_000,
          applied_revision: 0,
        })),
      )
      .execute(),
  );
  const key1 = healthObservationKey(group, '127.0.3.1', 8080);
  const key2 = healthObservationKey(group, '127.0.3.2', 8080);
  // 127.0.3.1: one machine of three cannot reach it (and that machine has two workers).
  await observe(own, key1, 'healthy', null, now);
  await observe('other', key1, 'healthy', null, now);
  await observe('far-w1', key1, 'unhealthy', 'CONNECT_TIMEOUT', now);
  await observe('far-w2', key1, 'unhealthy', 'CONNECT_TIMEOUT', now);
  // 127.0.3.2: two machines of three say unhealthy.
  await observe(own, key2, 'unhealthy', 'CONNECT_FAILED', now);
  await observe('other', key2, 'unhealthy', 'CONNECT_FAILED', now);
  await observe('far-w1', key2, 'healthy', null, now);
  try {
    assert.deepEqual(nonNormal(await read('GetListenerHealthStatus', { ListenerId: listener })), [
      { ip: '127.0.3.2', status: 'Unhealthy', reason: 'CONNECT_FAILED' },
      { ip: '127.0.3.3', status: 'Unused', reason: undefined },
    ]);
  } finally {
    await server.running.store.transact(async (tx) => {
      await tx.deleteFrom('observations').where('node_id', 'in', ['far-w1', 'far-w2', 'other']).execute();
      await tx.deleteFrom('nodes').where('node_id', 'in', ['far-w1', 'far-w2', 'other']).execute();
    });
  }
});

test('with health checks disabled every server is Unavailable', async () => {
  const group = await groupWithServers('health-off', { HealthCheckConfig: { HealthCheckEnabled: false } });
  const listener = await listenerOn(group, 82);
  const body = await read('GetListenerHealthStatus', { ListenerId: listener });
  assert.equal(body.ListenerHealthStatus[0].ServerGroupInfos[0].HeathCheckEnabled, false);
  assert.deepEqual(
    nonNormal(body).map((s: any) => s.status),
    ['Unavailable', 'Unavailable', 'Unavailable'],
  );
});

test('unknown or missing listener IDs', async () => {
  const e = await callError(read('GetListenerHealthStatus', { ListenerId: 'lsn-doesnotexist0000000@80' }));
  assert.equal(e.code, 'ResourceNotFound.listener');
  assert.equal(e.statusCode, 404);
  assert.equal((await callError(read('GetListenerHealthStatus', {}))).code, 'MissingParam.ListenerId');
});
