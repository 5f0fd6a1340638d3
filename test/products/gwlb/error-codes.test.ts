/**
 * The documented GWLB error codes a self-hosted GWLB can meet and that the per-family test files
 * do not reach already: the error body as GWLB's endpoint writes it, gateway codes under the
 * GWLB version, instance-type appliances whose ID names another type, and ClientToken reuse.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GWLB, callApi, callError, startTestServer, type TestServer } from '../../support/server.js';
import { createLoadBalancer, createServerGroup, failure, gwlb } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({
    configure: (c) => {
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = '127.0.47.0/24';
      b.vipPool = '127.0.48.0/24';
    },
  });
});
after(() => server?.stop());

test('an error body carries RequestId, HostId (gwlb.<region>), Code, Message and Recommend', async () => {
  const e = await callError(gwlb(server, 'GetListenerAttribute', { ListenerId: 'lsn-missing' }));
  assert.equal(e.statusCode, 404);
  assert.deepEqual(Object.keys(e.data).sort(), ['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
  assert.equal(e.data.Code, 'ResourceNotFound.Listener');
  assert.equal(e.data.HostId, 'gwlb.cn-hangzhou.aliyuncs.com');
  assert.match(e.data.RequestId, /^[0-9A-F-]{36}$/);
  assert.match(e.data.Message, /lsn-missing/);
  assert.equal(typeof e.data.Recommend, 'string');
});

test('gateway codes under the GWLB version: unknown action (GWLB has no job API), bad key, bad signature', async () => {
  for (const action of ['GetJobStatus', 'ListAsynJobs', 'CreateSecurityPolicy', 'NoSuchAction']) {
    const e = await callError(gwlb(server, action, {}));
    assert.deepEqual([e.code, e.statusCode], ['InvalidAction.NotFound', 404], action);
  }
  const unknownKey = await callError(
    callApi(server, GWLB, 'ListLoadBalancers', {}, { placement: 'body', accessKeyId: 'LTAInobody000000000000000' }),
  );
  assert.deepEqual([unknownKey.code, unknownKey.statusCode], ['InvalidAccessKeyId.NotFound', 404]);
  // A wrong secret: ACS3 answers IncompleteSignature as Alibaba's V3 endpoints do, RPC v2 SignatureDoesNotMatch.
  const wrong = { placement: 'body' as const, accessKeySecret: 'not-the-secret-at-all-0000' };
  const v3 = await callError(callApi(server, GWLB, 'ListLoadBalancers', {}, wrong));
  const v2 = await callError(callApi(server, GWLB, 'ListLoadBalancers', {}, { ...wrong, signatureAlgorithm: 'v2' }));
  assert.deepEqual([v3.code, v2.code], ['IncompleteSignature', 'SignatureDoesNotMatch']);
  assert.ok(v3.statusCode < 500 && v2.statusCode < 500);
  // The legacy RPC v2 signature reaches the same action.
  assert.ok(
    Array.isArray((await callApi(server, GWLB, 'ListLoadBalancers', {}, { placement: 'body', signatureAlgorithm: 'v2' })).LoadBalancers),
  );
});

test('ResourceNotFound.Ecs/.Eni/.Eci: an instance appliance whose ID is not of its ServerType (404)', async () => {
  const id = await createServerGroup(server, { ServerGroupType: 'Instance' });
  for (const [serverId, type, code] of [
    ['eni-1', 'Ecs', 'ResourceNotFound.Ecs'],
    ['i-1', 'Eni', 'ResourceNotFound.Eni'],
    ['i-1', 'Eci', 'ResourceNotFound.Eci'],
  ]) {
    const e = await failure(server, 'AddServersToServerGroup', {
      ServerGroupId: id,
      Servers: [{ ServerId: serverId, ServerType: type, ServerIp: '127.0.47.200' }],
    });
    assert.deepEqual([e.code, e.status], [code, 404], `${type} ${serverId}`);
  }
  assert.deepEqual((await gwlb(server, 'ListServerGroupServers', { ServerGroupId: id })).Servers, []);
});

test('IdempotenceSignatureMismatch: a ClientToken reused with other parameters, per action', async () => {
  const first = await gwlb(server, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupName: 'token-a', ClientToken: 'sg-token-1' });
  assert.equal(
    (await gwlb(server, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupName: 'token-a', ClientToken: 'sg-token-1' })).ServerGroupId,
    first.ServerGroupId,
  );
  const e = await failure(server, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupName: 'token-b', ClientToken: 'sg-token-1' });
  assert.deepEqual([e.code, e.status], ['IdempotenceSignatureMismatch', 400]);

  const lb = await createLoadBalancer(server);
  const sg = await createServerGroup(server);
  const listener = await gwlb(server, 'CreateListener', { LoadBalancerId: lb, ServerGroupId: sg, ClientToken: 'lsn-token-1' });
  // The same token on another action is another request.
  const other = await gwlb(server, 'UpdateServerGroupAttribute', {
    ServerGroupId: first.ServerGroupId,
    ServerGroupName: 'renamed',
    ClientToken: 'lsn-token-1',
  });
  assert.match(other.RequestId, /^[0-9A-F-]{36}$/);
  assert.equal(
    (await gwlb(server, 'CreateListener', { LoadBalancerId: lb, ServerGroupId: sg, ClientToken: 'lsn-token-1' })).ListenerId,
    listener.ListenerId,
  );
  const mismatch = await failure(server, 'CreateListener', {
    LoadBalancerId: lb,
    ServerGroupId: sg,
    TcpIdleTimeout: 400,
    ClientToken: 'lsn-token-1',
  });
  assert.equal(mismatch.code, 'IdempotenceSignatureMismatch');
});
