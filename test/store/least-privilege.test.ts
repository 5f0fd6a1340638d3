/**
 * sql/dataplane-role.sql on a real PostgreSQL: a data-plane node connected with that role
 * registers, applies a listener and reports on it, and is refused any read of AccessKeys.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { startOpenSlb, type RunningOpenSlb } from '../../src/server/openslb.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';

const ROLE_SQL = fileURLToPath(new URL('../../sql/dataplane-role.sql', import.meta.url));
const LISTENER_PORT = 20_000 + ((process.pid + 29) % 20_000);
const dir = mkdtempSync(join(tmpdir(), 'openslb-leastpriv-'));
let pgServer: TestPostgres;
let dataplaneUrl: string;
const running: RunningOpenSlb[] = [];

function config(role: Config['role'], storeUrl: string, name: string): Config {
  const c = defaultConfig();
  c.role = role;
  c.storeUrl = storeUrl;
  c.apiListen = '127.0.0.1:0';
  c.adminListen = '';
  c.dataDir = join(dir, name);
  c.regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.71.0/24';
  c.regions[0].vpcs[0].vSwitches[1].vipPool = '127.0.72.0/24';
  return c;
}

before(async () => {
  pgServer = await startTestPostgres();
  // The API node (the owner) creates and migrates the schema first.
  const apiNode = await startOpenSlb(config('api', pgServer.url, 'api'), {
    log: pino({ level: 'silent' }),
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
  });
  running.push(apiNode);
  const owner = new pg.Client({ connectionString: pgServer.url });
  await owner.connect();
  try {
    await owner.query(readFileSync(ROLE_SQL, 'utf8'));
  } finally {
    await owner.end();
  }
  const url = new URL(pgServer.url);
  url.username = 'openslb_dataplane';
  url.password = 'change-me';
  dataplaneUrl = url.toString();
});

after(async () => {
  for (const r of running.reverse()) await r.stop().catch(() => undefined);
  // (On an external server, OPENSLB_TEST_PG_URL, the role stays; the SQL is safe to run again.)
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the data-plane role is refused AccessKeys and schema changes', async () => {
  const client = new pg.Client({ connectionString: dataplaneUrl });
  await client.connect();
  try {
    for (const sql of ['select secret from access_keys', 'select * from access_keys', 'select * from ram_policies', 'select * from jobs']) {
      await assert.rejects(client.query(sql), (err: { code?: string }) => err.code === '42501', `${sql} is refused`);
    }
    await assert.rejects(client.query('create table sneaky (x int)'), (err: { code?: string }) => err.code === '42501');
    await assert.rejects(client.query("update resources set status = 'x'"), (err: { code?: string }) => err.code === '42501');
  } finally {
    await client.end();
  }
});

test('a data-plane node on that role registers, applies a listener and reports on it', async () => {
  const dataplane = await startOpenSlb(config('dataplane', dataplaneUrl, 'dp'), {
    log: pino({ level: 'silent' }),
    nodeId: `leastpriv-${process.pid}`,
  });
  running.push(dataplane);
  assert.equal(dataplane.rootKey, undefined, 'a data-plane node never reads the root key');
  const apiNode = running[0];
  const api = { host: apiNode.apiAddress.host, port: apiNode.apiAddress.port } as TestServer;
  const lb = await createActiveLoadBalancer(api);
  const group = await createServerGroup(api, { Scheduler: 'Wrr' }, [{ ip: '127.0.0.1', port: 9 }]);
  // Succeeds only once the restricted node has applied the revision and written its observations.
  await createRunningListener(api, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: LISTENER_PORT, ServerGroupId: group });
  assert.ok(dataplane.node!.appliedRevision > 0);
  assert.deepEqual(dataplane.node!.status().failed, []);
});
