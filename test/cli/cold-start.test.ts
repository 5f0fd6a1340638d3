/**
 * A data-plane machine that reboots during a PostgreSQL outage: `openslb serve --role
 * dataplane` started while the store is down forwards from its local copy of the last applied
 * desired state, then registers and follows the store again once it is back — no restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { defaultConfig } from '../../src/config/config.js';
import { desiredStateCopyPath } from '../../src/dataplane/desired-state-copy.js';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';
import { adminUrl, eventually } from '../support/serve-admin.js';

const credentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
const dir = mkdtempSync(join(tmpdir(), 'openslb-coldstart-'));
const nodeDir = join(dir, 'node');
const NODE_ID = `cold-${process.pid}`;
const PORT_A = 20_000 + ((process.pid + 13) % 20_000);
const PORT_B = PORT_A + 1;
const processes: ServeProcess[] = [];
let pgServer: TestPostgres;
let apiServe: ServeProcess;
let api: TestServer;
let backend: TcpBackend;

function serve(args: string[], dataDir: string): Promise<ServeProcess> {
  return startServe(
    [
      '--config',
      join(dir, 'openslb.yaml'),
      '--store',
      pgServer.url,
      '--data-dir',
      dataDir,
      '--api-listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      ...args,
    ],
    credentials,
  ).then((s) => {
    processes.push(s);
    return s;
  });
}

function copiedRevision(): number {
  const path = desiredStateCopyPath(nodeDir, NODE_ID);
  if (!existsSync(path)) return -1;
  const db = new Database(path, { readonly: true });
  try {
    return Number((db.prepare('select revision from revision').get() as { revision: number }).revision);
  } finally {
    db.close();
  }
}

async function jobRevision(jobId: string): Promise<number> {
  const client = new pg.Client({ connectionString: pgServer.url });
  await client.connect();
  try {
    return Number((await client.query('select revision from jobs where id = $1', [jobId])).rows[0].revision);
  } finally {
    await client.end();
  }
}

before(async () => {
  const regions = defaultConfig().regions;
  regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.73.0/24';
  regions[0].vpcs[0].vSwitches[1].vipPool = '127.0.74.0/24';
  writeFileSync(join(dir, 'openslb.yaml'), JSON.stringify({ regions, jobs: { nodeTimeoutMs: 6000 } }));
  pgServer = await startTestPostgres();
  backend = await startTcpBackend('127.0.0.1', 'cold');
  apiServe = await serve(['--role', 'api'], join(dir, 'api'));
  const { hostname, port } = new URL(apiServe.apiUrl);
  api = { host: hostname, port: Number(port) } as TestServer;
});

after(async () => {
  for (const p of processes) await stopProcess(p.child, 'SIGKILL');
  await backend?.close();
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a data-plane node started while PostgreSQL is down forwards from its local copy, then follows the store again', async () => {
  let node = await serve(['--role', 'dataplane', '--workers', '1', '--node-id', NODE_ID], nodeDir);
  const lb = await createActiveLoadBalancer(api);
  const group = await createServerGroup(api, { Scheduler: 'Wrr' }, [{ ip: backend.host, port: backend.port }]);
  const { JobId } = await callApi(api, NLB, 'CreateListener', {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: PORT_A,
    ServerGroupId: group,
  });
  const revision = await jobRevision(JobId);
  await eventually('the listener is forwarding', async () => {
    try {
      return /^cold:a$/.test(await tcpRoundTrip(lb.vips[0], PORT_A, 'a')) ? true : undefined;
    } catch {
      return undefined;
    }
  });
  await eventually('the local copy holds the listener', async () => (copiedRevision() >= revision ? true : undefined));

  // The machine dies, and comes back while the database is down.
  await stopProcess(node.child, 'SIGKILL');
  await pgServer.outage!.stop();
  try {
    node = await serve(['--role', 'dataplane', '--workers', '1', '--node-id', NODE_ID], nodeDir);
    assert.match(node.stderr(), /data-plane node cold-\d+ \(serves no API\)/, 'the banner names the node, not an API');
    assert.match(await tcpRoundTrip(lb.vips[0], PORT_A, 'b'), /^cold:b$/, 'forwarding from the local copy');
    const admin = adminUrl(node);
    assert.equal((await fetch(`${admin}/healthz`)).status, 200, '/healthz: forwarding is fine');
    assert.equal((await fetch(`${admin}/readyz`)).status, 503, '/readyz: the store is not');
    assert.match(node.stdout(), /forwarding from the local copy of revision/);

    // A machine that never reached the store has no copy: it comes up all the same, forwards
    // nothing, and says so on /healthz (it would register once the store answers).
    const fresh = await serve(['--role', 'dataplane', '--workers', '1', '--node-id', `${NODE_ID}-fresh`], join(dir, 'fresh'));
    const freshHealth = await fetch(`${adminUrl(fresh)}/healthz`);
    assert.equal(freshHealth.status, 503);
    assert.equal(((await freshHealth.json()) as { appliedRevision: number }).appliedRevision, -1);
    assert.match(fresh.stdout(), /no local copy of the desired state: forwarding nothing until the store answers/);
    await stopProcess(fresh.child);
  } finally {
    await pgServer.outage!.start();
  }

  // Back: the node registers on its own and applies what changed meanwhile.
  const listenerB = await eventually('the API accepts changes again', async () => {
    try {
      return await createRunningListener(api, {
        LoadBalancerId: lb.id,
        ListenerProtocol: 'TCP',
        ListenerPort: PORT_B,
        ServerGroupId: group,
      });
    } catch {
      return undefined;
    }
  });
  assert.ok(listenerB);
  assert.match(await tcpRoundTrip(lb.vips[0], PORT_B, 'c'), /^cold:c$/, 'a listener made after the outage forwards');
  assert.match(await tcpRoundTrip(lb.vips[0], PORT_A, 'd'), /^cold:d$/);
  assert.match(node.stdout(), /following it instead of the local copy/);
});
