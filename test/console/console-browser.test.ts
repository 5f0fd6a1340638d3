/**
 * The console in a real browser (Debian's headless Chromium, driven by playwright-core), against
 * a real OpenSLB with its in-process data plane, real backends and a real GWLB appliance.
 * Everything the user does goes through the page's forms and buttons; the test checks what the
 * page shows, and, where the page's claim is about the world, the world (traffic, sockets).
 * Screenshots land in test-artefacts/console/.
 *
 * Addresses are this file's own: VIP pools 127.0.161.0/24 and 127.0.162.0/24, backends and the
 * appliance in 127.0.163.0/24.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Page } from 'playwright-core';
import { buildConsoleUi } from '../../scripts/build-console-ui.js';
import { RamService } from '../../src/accounts/ram-service.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';
import { startBrowser, type TestBrowser } from '../support/browser.js';
import { startApplianceProcess, type ApplianceProcess } from '../support/gwlb-appliance-process.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, startTestServer, type TestServer } from '../support/server.js';
import { startEndpoint, type EndpointSim } from '../dataplane/gwlb/harness.js';
import { makeFlows, sendFlows } from '../dataplane/gwlb/traffic.js';
import {
  appliances,
  addServers,
  createListener,
  createLoadBalancer,
  createServerGroup as createGwlbGroup,
  gwlb,
} from '../products/gwlb/support.js';

const BACKEND_IP = '127.0.163.10';
const APPLIANCE_IP = '127.0.163.20';
const APPLIANCE_HEALTH_PORT = 18163;
const GWLB_ENDPOINT_IP = '127.0.163.50';
// A port per run, so parallel runs of other suites on other VIPs never matter and a rerun never
// meets a lingering socket.
const LISTEN_PORT = 30000 + (process.pid % 10000);
const TAKEN_PORT = LISTEN_PORT + 1;

let server: TestServer;
let admin = '';
let browser: TestBrowser;
let page: Page;
let backend: TcpBackend | undefined;
let appliance: ApplianceProcess | undefined;
let squatter: net.Server | undefined;
let endpoint: EndpointSim | undefined;
const state = { lbId: '', vip: '', groupId: '', listenerId: '' };

before(async () => {
  await buildConsoleUi();
  server = await startTestServer({
    console: { sampleMs: 500 },
    configure: (c) => {
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = '127.0.161.0/24';
      b.vipPool = '127.0.162.0/24';
    },
  });
  admin = server.running.adminUrl!;
  browser = await startBrowser();
  page = browser.page;
  page.setDefaultTimeout(30_000);
});

after(async () => {
  await browser?.close();
  await backend?.close().catch(() => undefined);
  await appliance?.stop().catch(() => undefined);
  await endpoint?.close().catch(() => undefined);
  await new Promise<void>((r) => (squatter ? squatter.close(() => r()) : r()));
  await server?.stop();
});

/** Re-opens `hash` until `check` passes; bounded by attempts, not by a deadline assertion. */
async function until(hash: string, check: () => Promise<boolean>, what: string, attempts = 120): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const url = `${admin}/console/${hash}`;
    // Going to the URL the page is already on changes nothing: reload to draw it afresh.
    if (page.url() === url) await page.reload();
    else await page.goto(url);
    await page.waitForSelector('main');
    if (await check()) return;
    await page.waitForTimeout(500);
  }
  await browser.screenshot(`failed-${what.replace(/\W+/g, '-')}`);
  assert.fail(`never saw: ${what}`);
}

async function submit(testId: string, fill: Record<string, string>, selects: Record<string, string> = {}): Promise<void> {
  const form = page.getByTestId(testId);
  for (const [name, value] of Object.entries(fill)) await form.locator(`[name="${name}"]`).fill(value);
  for (const [name, value] of Object.entries(selects)) await form.locator(`select[name="${name}"]`).selectOption(value);
  await form.locator('button[type=submit]').click();
  // The API's error stays on the form; a change that went through redraws the page with a banner.
  await page.locator(`[data-testid="${testId}"] .op-status.error, [data-testid=flash]`).first().waitFor();
}

/** The banner a change leaves at the top of the page it redraws. */
const flash = () => page.getByTestId('flash').innerText();

test('GET / leads to the sign-in page; a wrong secret is refused, the right key signs in with an HttpOnly, SameSite=Strict cookie', async () => {
  await page.goto(`${admin}/`);
  assert.match(page.url(), /\/console\/$/);
  await page.getByLabel('AccessKey ID').fill(TEST_ACCESS_KEY_ID);
  await page.getByLabel('AccessKey secret').fill('wrong-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'SignatureDoesNotMatch' }).waitFor();
  await browser.screenshot('01-sign-in-refused');

  await page.getByLabel('AccessKey secret').fill(TEST_ACCESS_KEY_SECRET);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'NLB instances' }).waitFor();
  assert.match(await page.getByTestId('who').innerText(), new RegExp(TEST_ACCESS_KEY_ID));

  const [cookie] = (await browser.context.cookies()).filter((c) => c.name === 'openslb_console');
  assert.ok(cookie, 'a session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.ok(cookie.expires > Date.now() / 1000, 'it expires (not a forever cookie)');
  const visible = await page.evaluate(() => ({
    cookie: document.cookie,
    local: JSON.stringify(localStorage),
    session: JSON.stringify(sessionStorage),
    html: document.documentElement.outerHTML,
  }));
  assert.equal(visible.cookie.includes('openslb_console'), false, 'scripts cannot read the cookie');
  for (const where of [visible.local, visible.session, visible.html])
    assert.equal(where.includes(TEST_ACCESS_KEY_SECRET), false, 'the secret is nowhere in the page');
});

test('an NLB instance created from the form becomes Active and shows its VIP per zone', async () => {
  await submit('create-nlb', { LoadBalancerName: 'console-web' });
  await until(
    '#/nlb/instances',
    async () =>
      (await page.getByTestId('nlb-instances').locator('tr', { hasText: 'console-web' }).locator('[data-status=Active]').count()) === 1,
    'NLB Active',
  );
  await page.getByTestId('nlb-instances').locator('tr', { hasText: 'console-web' }).getByRole('link').click();
  await page.getByTestId('zones').waitFor();
  state.lbId = decodeURIComponent(page.url().split('/').pop()!);
  const zones = await page.getByTestId('zones').innerText();
  const vips = [...zones.matchAll(/127\.0\.16[12]\.\d+/g)].map((m) => m[0]);
  assert.equal(vips.length, 2, zones);
  state.vip = vips[0];
});

test('a server group with a real backend, from the forms', async () => {
  backend = await startTcpBackend(BACKEND_IP, 'web-1');
  await page.goto(`${admin}/console/#/nlb/server-groups`);
  await submit(
    'create-server-group',
    {
      ServerGroupName: 'console-web-group',
      'HealthCheckConfig.HealthCheckInterval': '1',
      'HealthCheckConfig.UnhealthyThreshold': '2',
      'HealthCheckConfig.HealthyThreshold': '2',
    },
    { PreserveClientIpEnabled: 'false' },
  );
  await until(
    '#/nlb/server-groups',
    async () => (await page.getByTestId('server-groups').locator('tr', { hasText: 'console-web-group' }).count()) === 1,
    'group listed',
  );
  await page.getByTestId('server-groups').locator('tr', { hasText: 'console-web-group' }).getByRole('link').first().click();
  await page.getByTestId('add-backend').waitFor();
  state.groupId = decodeURIComponent(page.url().split('/').pop()!);

  await submit('add-backend', { ServerIp: BACKEND_IP, Port: String(backend.port), Weight: '100' });
  await until(
    `#/nlb/server-groups/${state.groupId}`,
    async () =>
      (await page
        .getByTestId('backends')
        .locator('tr', { hasText: `${BACKEND_IP}:${backend!.port}` })
        .count()) === 1,
    'backend listed',
  );
});

test('a TCP listener from the form: the API’s validation message shows on the form, then the listener runs', async () => {
  await page.goto(`${admin}/console/#/nlb/instances/${state.lbId}`);
  await submit('create-listener', { ListenerPort: '70000' }, { ServerGroupId: state.groupId });
  const error = await page.getByTestId('create-listener').locator('.op-status.error').innerText();
  assert.match(error, /^IllegalParam\.ListenerPort: /, error);
  await browser.screenshot('02-listener-form-validation');

  await submit(
    'create-listener',
    { ListenerPort: String(LISTEN_PORT), ListenerDescription: 'console-web' },
    { ServerGroupId: state.groupId },
  );
  await until(
    `#/nlb/instances/${state.lbId}`,
    async () =>
      (await page
        .getByTestId('listeners')
        .locator('tr', { hasText: String(LISTEN_PORT) })
        .locator('[data-status=Running]')
        .count()) === 1,
    'listener Running',
  );
  const row = page.getByTestId('listeners').locator('tr', { hasText: String(LISTEN_PORT) });
  state.listenerId = (await row.getByRole('link').first().innerText()).trim();
  assert.equal(await tcpRoundTrip(state.vip, LISTEN_PORT, 'hello'), 'web-1:hello', 'the listener the form made forwards real traffic');
});

test('traffic through the listener moves its live chart', async () => {
  await page.goto(`${admin}/console/#/nlb/listeners/${encodeURIComponent(state.listenerId)}`);
  const chart = page.locator('[data-chart="Connections"]');
  await chart.waitFor();
  let seen = '';
  // Bounded load: at most 400 connections, each a real round trip through the listener.
  for (let i = 0; i < 400; i++) {
    assert.equal(await tcpRoundTrip(state.vip, LISTEN_PORT, `ping-${i}`), `web-1:ping-${i}`);
    if (i % 10 === 9) {
      seen = (await chart.getAttribute('data-latest')) ?? '';
      const [newPerSecond] = seen.split(',').map(Number);
      if (newPerSecond > 0) break;
    }
    await page.waitForTimeout(25);
  }
  assert.ok(Number(seen.split(',')[0]) > 0, `the chart shows new connections per second (latest: ${seen})`);
  // A little more traffic so the picture shows a curve, not a point.
  for (let i = 0; i < 40; i++) {
    await tcpRoundTrip(state.vip, LISTEN_PORT, `more-${i}`);
    await page.waitForTimeout(50);
  }
  await browser.screenshot('03-listener-live-chart');
});

test('a killed backend turns Unhealthy with its reason', async () => {
  await backend!.close();
  backend = undefined;
  const hash = `#/nlb/server-groups/${state.groupId}`;
  await until(hash, async () => (await page.getByTestId('backends').locator('[data-status=Unhealthy]').count()) === 1, 'backend Unhealthy');
  const row = await page.getByTestId('backends').locator('tbody tr').first().innerText();
  assert.match(row, /CONNECT_(FAILED|TIMEOUT)|RECV_RESPONSE_TIMEOUT|CONNECT_INTERRUPT/, row);
  await page.locator('[data-chart^="Health per backend"]').waitFor();
  await browser.screenshot('04-backend-unhealthy');
});

test('a job that fails shows as Failed, with the reason wherever the API gives one', async () => {
  // Something else holds the port on the VIP: the data plane cannot bind it.
  squatter = net.createServer();
  await new Promise<void>((resolve, reject) => squatter!.once('error', reject).listen(TAKEN_PORT, state.vip, resolve));
  await page.goto(`${admin}/console/#/nlb/instances/${state.lbId}`);
  await submit('create-listener', { ListenerPort: String(TAKEN_PORT) }, { ServerGroupId: state.groupId });
  const message = await flash();
  assert.match(message, /^CreateListener failed \(job [^)]+\): /, message);

  await page.goto(`${admin}/console/#/nlb/jobs`);
  const row = page
    .getByTestId('jobs')
    .locator('tr', { has: page.locator('[data-status=Failed]') })
    .first();
  await row.waitFor();
  const jobId = (await row.locator('td').first().innerText()).trim();
  const api = (await callApi(server, NLB, 'ListAsynJobs', { JobIds: [jobId] })).Jobs[0];
  assert.equal(api.Status, 'Failed');
  const text = await row.innerText();
  if (api.ErrorCode || api.ErrorMessage) {
    // The page shows the API's own reason (ErrorCode / ErrorMessage on the job).
    for (const part of [api.ErrorCode, api.ErrorMessage].filter(Boolean)) assert.ok(text.includes(part), `${text} lacks ${part}`);
    assert.ok(message.includes(api.ErrorMessage ?? api.ErrorCode));
  } else {
    assert.match(text, /The API reports no reason for this job/);
  }
  await browser.screenshot('05-failed-job');
});

test('a read-only RAM user sees every page but cannot change anything', async () => {
  const ram = new RamService(server.running.store, { now: () => Date.now() });
  await ram.createUser('console-viewer');
  await ram.createPolicy(
    'console-viewer-read',
    JSON.stringify({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: ['nlb:Get*', 'nlb:List*', 'nlb:Describe*', 'gwlb:Get*', 'gwlb:List*'], Resource: '*' }],
    }),
  );
  await ram.attachPolicy('console-viewer-read', 'console-viewer');
  const key = await ram.createAccessKey('console-viewer');

  const viewer = await startBrowser();
  try {
    const p = viewer.page;
    await p.goto(`${admin}/console/`);
    await p.getByLabel('AccessKey ID').fill(key.accessKeyId);
    await p.getByLabel('AccessKey secret').fill(key.secret);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByTestId('read-only').waitFor();
    await p.getByTestId('nlb-instances').locator('tr', { hasText: 'console-web' }).waitFor();
    assert.equal(await p.getByTestId('create-nlb').count(), 0);

    await p.goto(`${admin}/console/#/nlb/instances/${state.lbId}`);
    await p
      .getByTestId('listeners')
      .locator('tr', { hasText: String(LISTEN_PORT) })
      .waitFor();
    assert.equal(await p.getByTestId('create-listener').count(), 0);
    assert.equal(await p.getByRole('button', { name: /^(Stop|Start|Delete)/ }).count(), 0, 'no buttons that change anything');
    await p.goto(`${admin}/console/#/nlb/server-groups/${state.groupId}`);
    await p.getByTestId('backends').locator('tbody tr').first().waitFor();
    assert.equal(await p.getByTestId('add-backend').count(), 0);
    await viewer.screenshot('06-read-only-user');

    // Going around the page does not help: the gateway's RAM check refuses the call itself.
    const reply = await p.evaluate(async (listenerId) => {
      const res = await fetch('/console/api/call', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-openslb-console': '1' },
        body: JSON.stringify({ product: 'nlb', action: 'StopListener', params: { ListenerId: listenerId } }),
      });
      return { status: res.status, body: await res.json() };
    }, state.listenerId);
    assert.equal(reply.status, 403);
    assert.equal(reply.body.Code, 'Forbidden.NoPermission');
  } finally {
    await viewer.close();
  }
  const attrs = await callApi(server, NLB, 'GetListenerAttribute', { ListenerId: state.listenerId });
  assert.equal(attrs.ListenerStatus, 'Running', 'still running');
});

test('the GWLB pages show a running appliance, healthy, behind a Running listener, and its packets on the charts', async () => {
  appliance = await startApplianceProcess(APPLIANCE_IP, APPLIANCE_HEALTH_PORT);
  const lb = await createLoadBalancer(server, { LoadBalancerName: 'console-inspection' });
  const group = await createGwlbGroup(server, {
    ServerGroupName: 'console-appliances',
    Protocol: 'GENEVE',
    HealthCheckConfig: {
      HealthCheckEnabled: true,
      HealthCheckProtocol: 'TCP',
      HealthCheckConnectPort: APPLIANCE_HEALTH_PORT,
      HealthCheckInterval: 1,
      HealthyThreshold: 2,
      UnhealthyThreshold: 2,
      HealthCheckConnectTimeout: 1,
    },
  });
  await addServers(server, group, appliances(APPLIANCE_IP));
  await createListener(server, { LoadBalancerId: lb, ServerGroupId: group });
  const vips = ((await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: lb })).ZoneMappings as any[]).map(
    (z) => z.LoadBalancerAddresses[0].PrivateIpv4Address as string,
  );

  await until(
    '#/gwlb/instances',
    async () =>
      (await page
        .getByTestId('gwlb-instances')
        .locator('tr', { hasText: 'console-inspection' })
        .locator('[data-status=Active]')
        .count()) === 1,
    'GWLB Active',
  );
  await until(
    `#/gwlb/instances/${lb}`,
    async () => (await page.getByTestId('appliance-health').locator('[data-status=Healthy]').count()) === 1,
    'appliance Healthy',
  );
  assert.equal(await page.getByTestId('gwlb-listener').locator('[data-status=Running]').count(), 1);
  // GENEVE traffic from an endpoint, through the appliance and back: bounded, 20 rounds of 5 flows.
  endpoint = await startEndpoint(GWLB_ENDPOINT_IP);
  const packets = page.locator('[data-chart="Packets"]');
  await packets.waitFor();
  let latest = '';
  for (let round = 0; round < 20; round++) {
    await sendFlows(endpoint, vips, makeFlows(`console-${round}`, 5, 17, false, 40000 + round * 5));
    await page.waitForTimeout(300);
    latest = (await packets.getAttribute('data-latest')) ?? '';
    if (latest.split(',').some((v) => Number(v) > 0)) break;
  }
  assert.ok(
    latest.split(',').some((v) => Number(v) > 0),
    `packets per second by direction on the chart (latest: ${latest})`,
  );
  const flows = (await page.locator('[data-chart="Flows"]').getAttribute('data-latest')) ?? '';
  assert.ok(Number(flows.split(',')[0]) > 0, `active flows on the chart (latest: ${flows})`);
  await browser.screenshot('07-gwlb-instance');

  await page.goto(`${admin}/console/#/gwlb/server-groups/${group}`);
  const row = page.getByTestId('appliances').locator('tr', { hasText: APPLIANCE_IP });
  await row.waitFor();
  assert.match(await row.innerText(), /Available/);
  assert.equal(await row.locator('[data-status=Healthy]').count(), 1);
});
