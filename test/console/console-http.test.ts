/**
 * The console's HTTP side without a browser: where it is served, the session cookie, and that
 * every console action is an API call made with the signed-in key (RAM, API metrics).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RamService } from '../../src/accounts/ram-service.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin = '';

before(async () => {
  server = await startTestServer({ console: { sampleMs: 200 } });
  admin = server.running.adminUrl!;
});
after(async () => server?.stop());

const H = { 'content-type': 'application/json', 'x-openslb-console': '1' };

async function signIn(
  accessKeyId: string,
  accessKeySecret: string,
): Promise<{ status: number; cookie?: string; setCookie: string; body: any }> {
  const res = await fetch(`${admin}/console/api/signin`, {
    method: 'POST',
    headers: H,
    body: JSON.stringify({ accessKeyId, accessKeySecret }),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { status: res.status, cookie: /^(openslb_console=[^;]+)/.exec(setCookie)?.[1], setCookie, body: await res.json() };
}

async function consoleCall(cookie: string, product: string, action: string, params: Record<string, string> = {}) {
  const res = await fetch(`${admin}/console/api/call`, {
    method: 'POST',
    headers: { ...H, cookie },
    body: JSON.stringify({ product, action, params }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

test('GET / on the admin listener leads to the console page, which loads its bundled script', async () => {
  const root = await fetch(`${admin}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/console/');
  const page = await fetch(`${admin}/console/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.match(await page.text(), /<script type="module" src="\/console\/assets\/app.js">/);
  const js = await fetch(`${admin}/console/assets/app.js`);
  assert.equal(js.status, 200, 'run `npm run build` first: the bundle is built at build time');
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.equal((await fetch(`${admin}/console/assets/../../package.json`)).status, 404);
  // /metrics and /healthz are where they were.
  assert.equal((await fetch(`${admin}/metrics`)).status, 200);
});

test('sign-in: a wrong secret is refused with the signature error; the right one gets an HttpOnly, SameSite=Strict, expiring cookie', async () => {
  const wrong = await signIn(TEST_ACCESS_KEY_ID, 'not-the-secret');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.Code, 'SignatureDoesNotMatch');
  assert.equal(wrong.cookie, undefined);
  const unknown = await signIn('LTAInobody', 'x');
  assert.equal(unknown.status, 401);
  assert.match(unknown.body.Code, /^InvalidAccessKeyId/);

  const ok = await signIn(TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET);
  assert.equal(ok.status, 200);
  assert.match(ok.setCookie, /HttpOnly/);
  assert.match(ok.setCookie, /SameSite=Strict/);
  assert.match(ok.setCookie, /Path=\/console/);
  assert.match(ok.setCookie, /Max-Age=\d+/);
  assert.ok(Number(/Max-Age=(\d+)/.exec(ok.setCookie)![1]) > 0);
  assert.equal(ok.body.isRoot, true);
  assert.equal(JSON.stringify(ok.body).includes(TEST_ACCESS_KEY_SECRET), false, 'the secret never goes back to the browser');

  const regions = await consoleCall(ok.cookie!, 'nlb', 'DescribeRegions');
  assert.equal(regions.status, 200);
  assert.ok(regions.body.Regions.length > 0);

  // Sign-out ends the session on the server, not only in the browser.
  const out = await fetch(`${admin}/console/api/signout`, { method: 'POST', headers: { ...H, cookie: ok.cookie! }, body: '{}' });
  assert.equal(out.status, 200);
  assert.equal((await consoleCall(ok.cookie!, 'nlb', 'DescribeRegions')).status, 401);
});

test('without a session, or without the console header, nothing is called', async () => {
  const anon = await consoleCall('openslb_console=forged', 'nlb', 'ListLoadBalancers');
  assert.equal(anon.status, 401);
  assert.equal(anon.body.Code, 'Console.SessionExpired');
  const { cookie } = await signIn(TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET);
  // A cross-site form post cannot add a custom header.
  const res = await fetch(`${admin}/console/api/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: cookie! },
    body: JSON.stringify({ product: 'nlb', action: 'ListLoadBalancers', params: {} }),
  });
  assert.equal(res.status, 403);
});

test('a console action is an API call with the signed-in key: validation, RAM and the API counters are the gateway’s', async () => {
  const ram = new RamService(server.running.store, { now: () => Date.now() });
  await ram.createUser('console-reader');
  await ram.createPolicy(
    'console-nlb-read',
    JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['nlb:Get*', 'nlb:List*', 'nlb:Describe*'], Resource: '*' }] }),
  );
  await ram.attachPolicy('console-nlb-read', 'console-reader');
  const key = await ram.createAccessKey('console-reader');

  const reader = await signIn(key.accessKeyId, key.secret);
  assert.equal(reader.status, 200);
  assert.equal(reader.body.isRoot, false);
  assert.deepEqual({ nlb: reader.body.writable.nlb, gwlb: reader.body.writable.gwlb }, { nlb: false, gwlb: false });
  assert.equal((await consoleCall(reader.cookie!, 'nlb', 'ListLoadBalancers')).status, 200);
  const denied = await consoleCall(reader.cookie!, 'nlb', 'CreateServerGroup', {
    ServerGroupName: 'nope',
    VpcId: 'vpc-local',
    ServerGroupType: 'Ip',
  });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.Code, 'Forbidden.NoPermission');

  const root = await signIn(TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET);
  const bad = await consoleCall(root.cookie!, 'nlb', 'CreateListener', {
    LoadBalancerId: 'nlb-x',
    ListenerProtocol: 'TCP',
    ListenerPort: '70000',
    ServerGroupId: 'sgp-x',
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.Code, /^IllegalParam/);
  assert.ok(bad.body.RequestId && bad.body.HostId, 'the Alibaba error body, as the API gives it');

  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, /openslb_api_requests_total\{product="nlb",action="CreateServerGroup",code="Forbidden.NoPermission"\} 1/);
});

test('chart data: the ring answers per label once the sampler has run', async () => {
  const { cookie } = await signIn(TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET);
  let reply: any;
  for (let i = 0; i < 200; i++) {
    reply = await (await fetch(`${admin}/console/api/metrics?label=listener&value=lsn-none`, { headers: { cookie: cookie! } })).json();
    if (reply.timestamps.length >= 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(reply.timestamps.length >= 2, 'samples are taken on their own');
  assert.deepEqual(reply.series, []);
  const bad = await fetch(`${admin}/console/api/metrics`, { headers: { cookie: cookie! } });
  assert.equal(bad.status, 400);
});
