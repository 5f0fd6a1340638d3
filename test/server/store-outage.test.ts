/**
 * OpenSLB on a real PostgreSQL the test starts, through faults an operator meets: backends
 * terminated under load (pg_terminate_backend), and the server stopped and started again.
 * The process must survive both, keep forwarding, answer the API with 503 ServiceUnavailable
 * while the store is gone, say so in one log line each way, and recover without a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { defaultConfig } from '../../src/config/config.js';
import { startOpenSlb, type RunningOpenSlb } from '../../src/server/openslb.js';
import { isStoreUnavailable } from '../../src/store/store.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, callError, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';
import { eventually } from '../support/serve-admin.js';

// A listener port of this run's own, so parallel runs on the machine do not meet.
const LISTENER_PORT = 20_000 + (process.pid % 20_000);

let pgServer: TestPostgres;
let admin: pg.Client | undefined;
let running: RunningOpenSlb;
let api: TestServer;
let backend: TcpBackend;
let vip: string;
const logLines: string[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'openslb-outage-'));

async function connectAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: pgServer.url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Ends every session except the test's own: what an administrator's pg_terminate_backend does. */
async function terminateOthers(): Promise<number> {
  const r = await admin!.query(
    'select count(*) filter (where pg_terminate_backend(pid)) as n from pg_stat_activity where pid <> pg_backend_pid() and datname = current_database()',
  );
  return Number(r.rows[0].n);
}

const lines = (text: string) => logLines.filter((l) => l.includes(text));

before(async () => {
  pgServer = await startTestPostgres();
  admin = await connectAdmin();
  backend = await startTcpBackend('127.0.0.1', 'outage');
  const config = defaultConfig();
  config.apiListen = '127.0.0.1:0';
  config.adminListen = '127.0.0.1:0';
  config.dataDir = dataDir;
  config.storeUrl = pgServer.url;
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  running = await startOpenSlb(config, {
    log: pino({ level: 'info' }, sink),
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
    nodeId: `outage-${process.pid}`,
  });
  api = { host: running.apiAddress.host, port: running.apiAddress.port } as TestServer;
  const lb = await createActiveLoadBalancer(api);
  vip = lb.vips[0];
  const group = await createServerGroup(api, { Scheduler: 'Wrr' }, [{ ip: backend.host, port: backend.port }]);
  await createRunningListener(api, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: LISTENER_PORT, ServerGroupId: group });
});

after(async () => {
  await running?.stop();
  await backend?.close();
  await admin?.end().catch(() => undefined);
  await pgServer?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('sessions terminated under load: every call succeeds or says ServiceUnavailable, and calls succeed again', async () => {
  const outcomes = { ok: 0, unavailable: 0, other: [] as string[] };
  let stop = false;
  const readLoop = async () => {
    // Bounded by count as well as by the terminations below.
    for (let i = 0; i < 2000 && !stop; i++) {
      try {
        await callApi(api, NLB, 'ListLoadBalancers', {}, { placement: 'query' });
        outcomes.ok++;
      } catch (err) {
        const e = err as { code?: string; statusCode?: number };
        if (e.code === 'ServiceUnavailable' && e.statusCode === 503) outcomes.unavailable++;
        else outcomes.other.push(`${e.code} ${e.statusCode} ${String(err)}`);
      }
    }
  };
  // Writes straight through the store: a transaction cut off before COMMIT is run again, one
  // cut off during COMMIT is not (it may have been applied), so nothing is written twice.
  const writes = { ok: [] as string[], uncertain: 0, unavailable: 0, other: [] as string[] };
  const writeLoop = async () => {
    for (let i = 0; i < 2000 && !stop; i++) {
      const key = `outage-write:${i}`;
      try {
        await running.store.mutate((tx) => tx.insertInto('meta').values({ key, value: 'x' }).execute());
        writes.ok.push(key);
      } catch (err) {
        if (!isStoreUnavailable(err)) writes.other.push(String(err));
        else if (err.commitUncertain) writes.uncertain++;
        else writes.unavailable++;
      }
    }
  };
  const loops = [readLoop(), readLoop(), readLoop(), readLoop(), writeLoop()];
  let terminated = 0;
  // About twice a second: each round ends every session, the pool's and the LISTEN one.
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 500));
    terminated += await terminateOthers();
  }
  stop = true;
  await Promise.all(loops);
  assert.ok(terminated >= 10, `sessions were terminated (${terminated})`);
  if (process.env.OPENSLB_TEST_VERBOSE)
    console.log({
      terminated,
      ok: outcomes.ok,
      unavailable: outcomes.unavailable,
      writes: writes.ok.length,
      uncertain: writes.uncertain,
      writesUnavailable: writes.unavailable,
    });
  assert.deepEqual(outcomes.other, [], 'no reply other than success or 503 ServiceUnavailable');
  assert.deepEqual(writes.other, [], 'writes fail only as StoreUnavailableError');
  const stored = await admin!.query("select key from meta where key like 'outage-write:%'");
  const storedKeys = new Set(stored.rows.map((r: { key: string }) => r.key));
  for (const key of writes.ok) assert.ok(storedKeys.has(key), `acknowledged write ${key} is in the store`);
  assert.ok(storedKeys.size <= writes.ok.length + writes.uncertain, 'no write applied that was neither acknowledged nor uncertain');
  assert.ok(outcomes.ok > 0, 'calls went through between terminations');
  // A terminated session is not an outage: reads are retried on a fresh connection.
  assert.equal(lines('store unreachable').length, 0, `no outage logged for terminated sessions: ${lines('store unreachable')}`);
  const lb = await callApi(api, NLB, 'ListLoadBalancers', {}, { placement: 'query' });
  assert.equal(lb.LoadBalancers.length, 1);
  assert.match(await tcpRoundTrip(vip, LISTENER_PORT, 'after'), /^outage:after$/);
});

test('PostgreSQL stopped and started: forwarding goes on, the API answers 503, one line each way, recovery without a restart', async () => {
  await admin!.end();
  admin = undefined;
  await pgServer.outage!.stop();
  try {
    // Forwarding is the data plane's: it does not need the store.
    assert.match(await tcpRoundTrip(vip, LISTENER_PORT, 'during'), /^outage:during$/);

    const e = await callError(callApi(api, NLB, 'ListLoadBalancers', {}, { placement: 'query' }));
    assert.equal(e.statusCode, 503);
    assert.equal(e.code, 'ServiceUnavailable');
    assert.ok(e.data.RequestId, 'an Alibaba error envelope');
    const w = await callError(
      callApi(api, NLB, 'CreateServerGroup', { ServerGroupName: 'during-outage', VpcId: 'vpc-local', ServerGroupType: 'Ip' }),
    );
    assert.equal(w.code, 'ServiceUnavailable');

    // The admin listener tells a router the node forwards, and an operator the store is gone.
    const healthz = await fetch(`${running.adminUrl}/healthz`);
    assert.equal(healthz.status, 200);
    assert.equal(((await healthz.json()) as { status: string }).status, 'ok');
    const readyz = await fetch(`${running.adminUrl}/readyz`);
    assert.equal(readyz.status, 503);
    const ready = (await readyz.json()) as { status: string; store: { reachable: boolean; since: number } };
    assert.equal(ready.store.reachable, false);
    assert.match(await (await fetch(`${running.adminUrl}/metrics`)).text(), /openslb_store_reachable 0/);

    // Let every background loop (jobs, node watch, heartbeat, revision feed) meet the outage.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(lines('store unreachable since').length, 1, 'one line when the store went away');
  } finally {
    await pgServer.outage!.start();
  }
  admin = await connectAdmin();

  const back = await eventually('the API answers again', async () => {
    try {
      return await callApi(api, NLB, 'ListLoadBalancers', {}, { placement: 'query' });
    } catch {
      return undefined;
    }
  });
  assert.equal(back.LoadBalancers.length, 1);
  assert.equal(lines('store unreachable since').length, 1);
  await eventually('one line when the store came back', async () => (lines('store back after').length === 1 ? true : undefined));
  // Quiet meanwhile: no stack per retry from the job runner or the node.
  assert.equal(lines('job runner pass failed').length, 0);
  assert.equal(lines('heartbeat failed').length, 0);
  assert.equal((await fetch(`${running.adminUrl}/readyz`)).status, 200);

  // Writes and jobs work again, and so does forwarding.
  const { JobId } = await callApi(api, NLB, 'CreateServerGroup', {
    ServerGroupName: 'after-outage',
    VpcId: 'vpc-local',
    ServerGroupType: 'Ip',
  });
  assert.ok(JobId);
  assert.match(await tcpRoundTrip(vip, LISTENER_PORT, 'after'), /^outage:after$/);
});
