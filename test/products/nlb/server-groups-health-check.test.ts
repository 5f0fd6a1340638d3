/** HealthCheckConfig on CreateServerGroup / UpdateServerGroupAttribute: ranges, per-type rules, defaults. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
});

let counter = 0;
function create(params: Record<string, unknown>) {
  return callApi(server, NLB, 'CreateServerGroup', { ServerGroupName: `hc-${++counter}`, VpcId: 'vpc-local', ...params });
}

async function createGroup(params: Record<string, unknown>): Promise<string> {
  const r = await create(params);
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
  return r.ServerGroupId as string;
}

async function healthCheckOf(id: string): Promise<Record<string, any>> {
  const r = await callApi(server, NLB, 'ListServerGroups', { ServerGroupIds: [id] });
  return r.ServerGroups[0].HealthCheck;
}

async function update(id: string, config: Record<string, unknown>) {
  const r = await callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: id, HealthCheckConfig: config });
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
}

test('an HTTP check gets the documented HTTP defaults and keeps what was sent', async () => {
  const id = await createGroup({ HealthCheckConfig: { HealthCheckType: 'HTTP' } });
  const hc = await healthCheckOf(id);
  assert.equal(hc.HealthCheckType, 'HTTP');
  assert.equal(hc.HealthCheckUrl, '/');
  assert.equal(hc.HealthCheckDomain, '$SERVER_IP');
  assert.equal(hc.HttpCheckMethod, 'GET');
  assert.equal(hc.HealthCheckHttpVersion, 'HTTP1.0');
  assert.deepEqual(hc.HealthCheckHttpCode, ['http_2xx']);

  const full = await createGroup({
    HealthCheckConfig: {
      HealthCheckEnabled: true,
      HealthCheckType: 'http',
      HealthCheckConnectPort: 8081,
      HealthCheckConnectTimeout: 300,
      HealthCheckInterval: 50,
      HealthyThreshold: 10,
      UnhealthyThreshold: 3,
      HealthCheckUrl: '/status/check.html?a&b#x',
      HealthCheckDomain: 'health.example.com',
      HealthCheckHttpCode: ['http_2xx', 'http_3xx', 'http_3xx'],
      HttpCheckMethod: 'head',
      HealthCheckHttpVersion: 'HTTP1.1',
    },
  });
  assert.deepEqual(await healthCheckOf(full), {
    HealthCheckEnabled: true,
    HealthCheckType: 'HTTP',
    HealthCheckConnectPort: 8081,
    HealthCheckConnectTimeout: 300,
    HealthCheckInterval: 50,
    HealthyThreshold: 10,
    UnhealthyThreshold: 3,
    HealthCheckUrl: '/status/check.html?a&b#x',
    HealthCheckDomain: 'health.example.com',
    HealthCheckHttpCode: ['http_2xx', 'http_3xx'],
    HttpCheckMethod: 'HEAD',
    HealthCheckHttpVersion: 'HTTP1.1',
  });
});

test('UDP checks take an interval up to 300 s and a request/response string; TCP and HTTP stop at 50 s', async () => {
  const id = await createGroup({
    Protocol: 'UDP',
    HealthCheckConfig: { HealthCheckType: 'UDP', HealthCheckInterval: 300, HealthCheckReq: 'hello', HealthCheckExp: 'ok' },
  });
  const hc = await healthCheckOf(id);
  assert.equal(hc.HealthCheckInterval, 300);
  assert.equal(hc.HealthCheckReq, 'hello');
  assert.equal(hc.HealthCheckExp, 'ok');

  // Switching that group to TCP checks would leave a 300 s interval outside the TCP range.
  const e = await callError(
    callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: id, HealthCheckConfig: { HealthCheckType: 'TCP' } }),
  );
  assert.equal(e.code, 'IllegalParam.HealthCheckInterval');
  assert.equal((await healthCheckOf(id)).HealthCheckType, 'UDP');
  await update(id, { HealthCheckType: 'TCP', HealthCheckInterval: 10 });
  assert.equal((await healthCheckOf(id)).HealthCheckType, 'TCP');

  const tcpUdp = await createGroup({ Protocol: 'TCP_UDP', HealthCheckConfig: { HealthCheckType: 'UDP' } });
  assert.equal((await healthCheckOf(tcpUdp)).HealthCheckType, 'UDP');
});

test('out-of-range and malformed health-check fields are refused with the reference codes', async () => {
  const cases: Array<[Record<string, unknown>, string, Record<string, unknown>?]> = [
    [{ HealthCheckInterval: 51 }, 'IllegalParam.HealthCheckInterval'],
    [{ HealthCheckType: 'HTTP', HealthCheckInterval: 51 }, 'IllegalParam.HealthCheckInterval'],
    [{ HealthCheckType: 'UDP', HealthCheckInterval: 301 }, 'IllegalParam.HealthCheckInterval', { Protocol: 'UDP' }],
    [{ HealthCheckInterval: 0 }, 'IllegalParam.HealthCheckInterval'],
    [{ HealthCheckConnectTimeout: 0 }, 'IllegalParam.HealthCheckConnectTimeout'],
    [{ HealthCheckConnectTimeout: 301 }, 'IllegalParam.HealthCheckConnectTimeout'],
    [{ HealthCheckConnectPort: 65536 }, 'IllegalParam.HealthCheckConnectPort'],
    [{ HealthyThreshold: 1 }, 'IllegalParam.HealthyThreshold'],
    [{ UnhealthyThreshold: 11 }, 'IllegalParam.UnhealthyThreshold'],
    [{ HealthCheckType: 'ICMP' }, 'IllegalParam.HealthCheckType'],
    [{ HealthCheckType: 'UDP' }, 'IllegalParam.HealthCheckType'], // a TCP group has no UDP port to probe
    [{ HealthCheckEnabled: 'yes' }, 'IllegalParam.HealthCheckEnabled'],
    [{ HealthCheckType: 'HTTP', HealthCheckUrl: 'no-slash' }, 'IlleagalParam.healthCheckUrl'],
    [{ HealthCheckType: 'HTTP', HealthCheckUrl: `/${'a'.repeat(80)}` }, 'IlleagalParam.healthCheckUrl'],
    [{ HealthCheckType: 'HTTP', HealthCheckUrl: '/with space' }, 'IlleagalParam.healthCheckUrl'],
    // CreateServerGroup documents a narrower URL character set than UpdateServerGroupAttribute.
    [{ HealthCheckType: 'HTTP', HealthCheckUrl: '/ready?x=1' }, 'IlleagalParam.healthCheckUrl'],
    [{ HealthCheckType: 'HTTP', HealthCheckDomain: 'bad_domain!' }, 'IllegalParam.healthCheckDomain'],
    [{ HealthCheckType: 'HTTP', HealthCheckDomain: `${'d'.repeat(81)}` }, 'IllegalParam.healthCheckDomain'],
    [{ HealthCheckType: 'HTTP', HealthCheckHttpCode: ['http_6xx'] }, 'IllegalParam.HealthCheckHttpCode'],
    [{ HealthCheckType: 'HTTP', HttpCheckMethod: 'POST' }, 'IllegalParam.HttpCheckMethod'],
    [{ HealthCheckType: 'HTTP', HealthCheckHttpVersion: 'HTTP2' }, 'IllegalParam.HealthCheckHttpVersion'],
    [{ HealthCheckType: 'UDP', HealthCheckReq: 'not ok!' }, 'IllegalParam.HealthCheckReq', { Protocol: 'UDP' }],
    [{ HealthCheckType: 'UDP', HealthCheckExp: 'x'.repeat(513) }, 'IllegalParam.HealthCheckExp', { Protocol: 'UDP' }],
  ];
  const before = (await callApi(server, NLB, 'ListServerGroups', {})).TotalCount;
  for (const [config, code, extra] of cases) {
    const e = await callError(create({ ...extra, HealthCheckConfig: config }));
    assert.equal(e.code, code, JSON.stringify(config));
  }
  assert.equal((await callApi(server, NLB, 'ListServerGroups', {})).TotalCount, before);
});

test('UpdateServerGroupAttribute accepts the wider URL character set and validates like create', async () => {
  const id = await createGroup({ HealthCheckConfig: { HealthCheckType: 'HTTP' } });
  await update(id, { HealthCheckUrl: "/ready?probe=1&x_y=(a)*[b]@$^:',+~!;" });
  assert.equal((await healthCheckOf(id)).HealthCheckUrl, "/ready?probe=1&x_y=(a)*[b]@$^:',+~!;");
  const e = await callError(
    callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: id, HealthCheckConfig: { HealthCheckUrl: '/a b' } }),
  );
  assert.equal(e.code, 'IlleagalParam.healthCheckUrl');
  const d = await callError(
    callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: id, HealthCheckConfig: { HealthCheckDomain: '-bad domain' } }),
  );
  assert.equal(d.code, 'IllegalParam.healthCheckDomain');
  await update(id, { HealthCheckEnabled: false });
  const hc = await healthCheckOf(id);
  assert.equal(hc.HealthCheckEnabled, false);
  assert.equal(hc.HealthCheckType, 'HTTP', 'disabling keeps the rest of the configuration');
});

test('an any-port group needs an explicit health-check port or health checks off', async () => {
  const e = await callError(create({ AnyPortEnabled: true }));
  assert.equal(e.code, 'IllegalParam.AnyPortServerGroupConflictWithHealthCheckConfig');

  const withPort = await createGroup({ AnyPortEnabled: true, HealthCheckConfig: { HealthCheckConnectPort: 8080 } });
  assert.equal((await healthCheckOf(withPort)).HealthCheckConnectPort, 8080);
  const off = await createGroup({ AnyPortEnabled: true, HealthCheckConfig: { HealthCheckEnabled: false } });
  assert.equal((await healthCheckOf(off)).HealthCheckEnabled, false);

  const u = await callError(
    callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: withPort, HealthCheckConfig: { HealthCheckConnectPort: 0 } }),
  );
  assert.equal(u.code, 'IllegalParam.AnyPortServerGroupConflictWithHealthCheckConfig');
  const on = await callError(
    callApi(server, NLB, 'UpdateServerGroupAttribute', { ServerGroupId: off, HealthCheckConfig: { HealthCheckEnabled: true } }),
  );
  assert.equal(on.code, 'IllegalParam.AnyPortServerGroupConflictWithHealthCheckConfig');
});
