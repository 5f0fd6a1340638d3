/**
 * A node's life in the store, with real `openslb serve` processes on SQLite: a stable identity
 * kept in the data dir, a restart that takes over its own row, worker rows removed when the
 * primary is killed outright, and `openslb nodes list|forget`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { processAlive, runCli, startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET } from '../support/server.js';
import { adminUrl, eventually, listNodes, listWorkers } from '../support/serve-admin.js';

const credentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
const dirs: string[] = [];
const processes: ServeProcess[] = [];

after(async () => {
  for (const p of processes) await stopProcess(p.child, 'SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openslb-nodes-'));
  dirs.push(dir);
  return dir;
}

async function serve(dir: string, extra: string[] = []): Promise<ServeProcess> {
  const s = await startServe(['--data-dir', dir, '--api-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...extra], credentials);
  processes.push(s);
  return s;
}

/** Node rows straight from the SQLite file (read-only, so the server's writes are unaffected). */
function nodeRows(dir: string): Array<{ node_id: string; heartbeat_at: number }> {
  const db = new Database(join(dir, 'openslb.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('select node_id, heartbeat_at from nodes order by node_id').all() as Array<{ node_id: string; heartbeat_at: number }>;
  } finally {
    db.close();
  }
}

test('a node killed and started again on the same data dir takes over its own row', async () => {
  const dir = dataDir();
  const first = await serve(dir, ['--workers', '0']);
  const identity = readFileSync(join(dir, 'node-id'), 'utf8').trim();
  assert.match(identity, /^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{8}$/, 'host name and a random suffix');
  assert.deepEqual(
    (await listNodes(adminUrl(first))).map((n) => n.nodeId),
    [identity],
  );

  await stopProcess(first.child, 'SIGKILL');
  assert.deepEqual(
    nodeRows(dir).map((r) => r.node_id),
    [identity],
    'a killed node leaves its row behind',
  );

  const second = await serve(dir, ['--workers', '0']);
  const nodes = await listNodes(adminUrl(second));
  assert.deepEqual(
    nodes.map((n) => n.nodeId),
    [identity],
    'the same identity, and no stale row beside it',
  );
  assert.equal(nodes[0].live, true);
  await stopProcess(second.child);
  assert.deepEqual(nodeRows(dir), [], 'a node stopped cleanly deregisters');
});

test('--node-id names the node; worker rows are removed when the primary is killed outright', async () => {
  const dir = dataDir();
  const id = `lifecycle-${process.pid}`;
  const s = await serve(dir, ['--workers', '2', '--node-id', id]);
  const admin = adminUrl(s);
  const workers = await eventually('both workers ready', async () => {
    const w = await listWorkers(admin);
    return w.length === 2 && w.every((x) => x.ready) ? w : undefined;
  });
  assert.deepEqual(
    workers.map((w) => w.nodeId),
    [`${id}-w1`, `${id}-w2`],
  );
  await eventually('both worker nodes registered', async () =>
    nodeRows(dir)
      .map((r) => r.node_id)
      .join() === `${id}-w1,${id}-w2`
      ? true
      : undefined,
  );

  await stopProcess(s.child, 'SIGKILL');
  await eventually('the workers deregistered and exited', async () =>
    nodeRows(dir).length === 0 && workers.every((w) => !processAlive(w.pid!)) ? true : undefined,
  );
});

test('openslb nodes list shows registered nodes; nodes forget removes one', async () => {
  const dir = dataDir();
  const s = await serve(dir, ['--workers', '0', '--node-id', `listed-${process.pid}`]);
  const listed = await runCli(['nodes', 'list', '--data-dir', dir]);
  assert.equal(listed.code, 0, listed.stderr);
  const nodes = (JSON.parse(listed.stdout) as { Nodes: Array<{ nodeId: string; live: boolean }> }).Nodes;
  assert.deepEqual(
    nodes.map((n) => [n.nodeId, n.live]),
    [[`listed-${process.pid}`, true]],
  );

  // A retired machine: stopped without deregistering, then forgotten by the operator.
  await stopProcess(s.child, 'SIGKILL');
  const forgot = await runCli(['nodes', 'forget', `listed-${process.pid}`, '--data-dir', dir]);
  assert.equal(forgot.code, 0, forgot.stderr);
  assert.deepEqual(nodeRows(dir), []);

  const unknown = await runCli(['nodes', 'forget', 'no-such-node', '--data-dir', dir]);
  assert.equal(unknown.code, 1);
  assert.equal((JSON.parse(unknown.stderr) as { Code: string }).Code, 'NodeNotFound');
});
