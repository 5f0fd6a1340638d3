/**
 * The package's programmatic API as a test suite uses it: start OpenSLB in-process on
 * ephemeral ports, call it with the official client and the credentials it hands back, send
 * traffic through a listener, stop it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded, NLB_VERSION, type EmbeddedOpenSlb } from '../../src/index.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, callError, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip } from '../support/backends.js';

test('startEmbedded generates credentials, serves the API and forwards traffic; stop() removes its temp dir', async (t) => {
  const slb = await startEmbedded();
  t.after(() => slb.stop());
  assert.match(slb.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(slb.apiPort, 0);
  assert.match(slb.accessKeyId, /^LTAI/);
  assert.equal(slb.regionId, 'cn-hangzhou');
  const server = { host: slb.host, port: slb.apiPort };
  const creds = { accessKeyId: slb.accessKeyId, accessKeySecret: slb.accessKeySecret };

  const regions = await callApi(server, NLB_VERSION, 'DescribeRegions', {}, creds);
  assert.ok(regions.Regions.some((r: { RegionId: string }) => r.RegionId === slb.regionId));
  const wrong = await callError(callApi(server, NLB_VERSION, 'DescribeRegions', {}, { ...creds, accessKeySecret: 'not-the-secret' }));
  assert.match(wrong.code, /Signature/, 'a wrong secret is refused');

  const metrics = await fetch(`${slb.adminUrl}/metrics`);
  assert.equal(metrics.status, 200);

  const dataDir = slb.dataDir;
  assert.ok(existsSync(join(dataDir, 'credentials')));
  await slb.stop();
  assert.ok(!existsSync(dataDir), 'the temporary data directory is gone after stop()');
});

test('explicit credentials and data dir: a listener forwards traffic, and the resources survive a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), `openslb-embedded-test-${process.pid}-`));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  // The key the test helpers sign with, so they can build resources on this server.
  const key = { accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: TEST_ACCESS_KEY_SECRET };
  const backend = await startTcpBackend('127.0.0.1', 'emb');
  t.after(() => backend.close());

  let slb = await startEmbedded({ dataDir, ...key, adminPort: false });
  assert.equal(slb.adminUrl, undefined);
  assert.equal(slb.accessKeyId, key.accessKeyId);
  const server = asTestServer(slb);
  const lb = await createActiveLoadBalancer(server);
  const sg = await createServerGroup(server, { Protocol: 'TCP' }, [{ ip: backend.host, port: backend.port }]);
  await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7811, ServerGroupId: sg });
  assert.equal(await tcpRoundTrip(lb.vips[0], 7811, 'hello'), 'emb:hello');
  await slb.stop();
  assert.ok(existsSync(dataDir), 'a data directory the caller chose is kept');

  slb = await startEmbedded({ dataDir, ...key, adminPort: false });
  t.after(() => slb.stop());
  const listed = await callApi(asTestServer(slb), NLB_VERSION, 'ListLoadBalancers', {});
  assert.deepEqual(
    listed.LoadBalancers.map((l: { LoadBalancerId: string }) => l.LoadBalancerId),
    [lb.id],
  );
  assert.equal(await tcpRoundTrip(lb.vips[0], 7811, 'again'), 'emb:again');
});

test('half a key pair is refused before anything starts', async () => {
  await assert.rejects(startEmbedded({ accessKeyId: 'LTAIonlyTheId' }), /pass both or neither/);
});

/** The nlb-setup helpers take a TestServer but only use its address. */
function asTestServer(slb: EmbeddedOpenSlb): TestServer {
  return { host: slb.host, port: slb.apiPort } as TestServer;
}
