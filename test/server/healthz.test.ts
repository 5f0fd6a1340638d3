/**
 * /healthz answers about forwarding: a Running listener this node could not bind makes it
 * `degraded` (503, with the listener and the reason), so a router can take the node out;
 * /readyz answers about the store.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { startOpenSlb, type RunningOpenSlb } from '../../src/server/openslb.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';

const dir = mkdtempSync(join(tmpdir(), 'openslb-healthz-'));
const LISTENER_PORT = 20_000 + ((process.pid + 7) % 20_000);
const cleanups: Array<() => Promise<unknown>> = [];

after(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

function config(): Config {
  const c = defaultConfig();
  c.apiListen = '127.0.0.1:0';
  c.adminListen = '127.0.0.1:0';
  c.dataDir = dir;
  // VIP pools of this test's own.
  c.regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.77.0/24';
  c.regions[0].vpcs[0].vSwitches[1].vipPool = '127.0.78.0/24';
  return c;
}

async function start(): Promise<RunningOpenSlb> {
  const running = await startOpenSlb(config(), {
    log: pino({ level: 'silent' }),
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
  });
  cleanups.push(() => running.stop());
  return running;
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

test('a Running listener that cannot bind after a restart makes /healthz degraded; /readyz is about the store', async () => {
  const first = await start();
  const api = { host: first.apiAddress.host, port: first.apiAddress.port } as TestServer;
  const healthy = await get(`${first.adminUrl}/healthz`);
  assert.equal(healthy.status, 200);
  assert.equal(healthy.body.status, 'ok');
  assert.equal(healthy.body.role, 'all');

  const lb = await createActiveLoadBalancer(api);
  const group = await createServerGroup(api, { Scheduler: 'Wrr' }, [{ ip: '127.0.0.1', port: 9 }]);
  const listenerId = await createRunningListener(api, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: LISTENER_PORT,
    ServerGroupId: group,
  });
  assert.equal((await get(`${first.adminUrl}/healthz`)).body.status, 'ok');
  await first.stop();

  // While the node was down, something else took the listener's address.
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(LISTENER_PORT, lb.vips[0], resolve));
  cleanups.push(() => new Promise((r) => squatter.close(r)));

  const second = await start();
  const degraded = await get(`${second.adminUrl}/healthz`);
  assert.equal(degraded.status, 503);
  assert.equal(degraded.body.status, 'degraded');
  assert.equal(degraded.body.failed.length, 1);
  assert.equal(degraded.body.failed[0].objectId, listenerId);
  assert.match(degraded.body.failed[0].reason, /EADDRINUSE|in use/i);
  const listener = await callApi(
    { host: second.apiAddress.host, port: second.apiAddress.port },
    NLB,
    'GetListenerAttribute',
    { ListenerId: listenerId },
    { placement: 'query' },
  );
  assert.equal(listener.ListenerStatus, 'Running', 'the API still says Running: only /healthz knows the node cannot serve it');

  const ready = await get(`${second.adminUrl}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
  assert.equal(ready.body.store.kind, 'sqlite');
});
