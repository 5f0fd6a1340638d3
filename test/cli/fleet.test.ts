/**
 * A fleet on one PostgreSQL: `openslb serve --role api` in the test's own namespace, and two
 * data-plane machines, each in a network namespace this test creates (they bind the same
 * VIPs): one `--role dataplane`, one `--role all --workers 2`. They reach PostgreSQL over its
 * unix socket. Each namespace also holds the same three backends and a small peer process
 * (test/support/netns-peer.ts) through which the test connects to that namespace's VIP, so
 * every byte of traffic stays on the loopback of a namespace the test made.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { createNamespace, type NetNamespace } from '../support/netns.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { adminUrl, eventually, listNodes, metricsText } from '../support/serve-admin.js';

const NODE_TIMEOUT_MS = 6000;
const PEER = fileURLToPath(new URL('../support/netns-peer.ts', import.meta.url));
const BACKENDS = ['a', 'b', 'c'].map((name, i) => ({ name, host: `127.0.3.${i + 1}`, port: 17_900 }));
const credentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };

const dir = mkdtempSync(join(tmpdir(), 'openslb-fleet-'));
let pgServer: TestPostgres | undefined;
let db: pg.Client | undefined;
const namespaces: NetNamespace[] = [];
const processes: ServeProcess[] = [];
const peers: Peer[] = [];
let apiServe: ServeProcess;
let admin: string;
let api: TestServer;
/** Machine A: `--role dataplane`, one node. Machine B: `--role all --workers 2`, two nodes. */
let machineA: { serve: ServeProcess; peer: Peer; nodeId: string };
let machineB: { serve: ServeProcess; peer: Peer; nodeIds: string[] };
let vip: string;
let serverGroupId: string;

class Peer {
  private readonly waiting = new Map<number, (r: { reply?: string; error?: string }) => void>();
  private nextId = 1;
  readonly ready: Promise<void>;
  constructor(readonly child: ChildProcess) {
    const lines = createInterface({ input: child.stdout! });
    this.ready = new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`netns peer exited with ${code}`)));
      lines.on('line', (line) => {
        if (line === 'ready') return resolve();
        const msg = JSON.parse(line) as { id: number; reply?: string; error?: string };
        this.waiting.get(msg.id)?.(msg);
        this.waiting.delete(msg.id);
      });
    });
  }
  /** Stops one of the namespace's backends. */
  closeBackend(name: string): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) => (r.reply !== undefined ? resolve(r.reply) : reject(new Error(r.error))));
      this.child.stdin!.write(`${JSON.stringify({ id, close: name })}\n`);
    });
  }

  /** One connection to `host:port` from 127.0.0.1:`srcPort` inside the namespace; the reply. */
  send(host: string, port: number, srcPort: number, line: string): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) => (r.reply !== undefined ? resolve(r.reply) : reject(new Error(r.error))));
      this.child.stdin!.write(`${JSON.stringify({ id, host, port, srcPort, line })}\n`);
    });
  }
}

function startPeer(ns: NetNamespace): Peer {
  const child = spawn(ns.exec[0], [...ns.exec.slice(1), process.execPath, '--import', 'tsx', PEER, JSON.stringify(BACKENDS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const peer = new Peer(child);
  peers.push(peer);
  return peer;
}

async function serveIn(ns: NetNamespace | undefined, args: string[], store: string): Promise<ServeProcess> {
  const dataDir = mkdtempSync(join(dir, 'node-'));
  const serve = await startServe(
    ['--config', join(dir, 'openslb.yaml'), '--store', store, '--data-dir', dataDir, '--api-listen', '127.0.0.1:0', ...args],
    credentials,
    ns?.exec ?? [],
  );
  processes.push(serve);
  return serve;
}

async function nodeRow(nodeId: string): Promise<{ applied: number; heartbeatAt: number } | undefined> {
  const r = await db!.query('select applied_revision, heartbeat_at from nodes where node_id = $1', [nodeId]);
  return r.rows[0] ? { applied: Number(r.rows[0].applied_revision), heartbeatAt: Number(r.rows[0].heartbeat_at) } : undefined;
}

async function jobRevision(jobId: string): Promise<number> {
  const r = await db!.query('select revision from jobs where id = $1', [jobId]);
  return Number(r.rows[0].revision);
}

async function jobStatus(jobId: string): Promise<string> {
  return (await callApi(api, NLB, 'GetJobStatus', { JobId: jobId }, { placement: 'query' })).Status as string;
}

function waitJobDone(jobId: string): Promise<string> {
  return eventually(`job ${jobId} finished`, async () => {
    const status = await jobStatus(jobId);
    return status === 'Processing' ? undefined : status;
  });
}

/** The backend name in a reply `<name>:<line>`. */
function backendOf(reply: string): string {
  return reply.slice(0, reply.indexOf(':'));
}

let nextSrcPort = 41_000;

before(async () => {
  writeFileSync(join(dir, 'openslb.yaml'), JSON.stringify({ jobs: { nodeTimeoutMs: NODE_TIMEOUT_MS } }));
  pgServer = await startTestPostgres();
  assert.ok(pgServer.socketUrl, 'the test PostgreSQL has a unix socket the namespaces can reach');
  db = new pg.Client({ connectionString: pgServer.url });
  await db.connect();

  apiServe = await serveIn(undefined, ['--role', 'api', '--admin-listen', '127.0.0.1:0'], pgServer.url);
  admin = adminUrl(apiServe);
  const { hostname: host, port } = new URL(apiServe.apiUrl);
  api = { host, port: Number(port) } as TestServer;

  const tag = `osl${process.pid}`;
  const [nsA, nsB] = [createNamespace(`${tag}a`), createNamespace(`${tag}b`)];
  namespaces.push(nsA, nsB);
  const [peerA, peerB] = [startPeer(nsA), startPeer(nsB)];
  await Promise.all([peerA.ready, peerB.ready]);

  const serveA = await serveIn(
    nsA,
    ['--role', 'dataplane', '--workers', '1', '--admin-listen', '', '--node-id', `${tag}-a`, '--node-address', '192.0.2.10'],
    pgServer.socketUrl!,
  );
  const serveB = await serveIn(
    nsB,
    ['--role', 'all', '--workers', '2', '--admin-listen', '', '--node-id', `${tag}-b`, '--node-address', '192.0.2.11'],
    pgServer.socketUrl!,
  );
  machineA = { serve: serveA, peer: peerA, nodeId: `${tag}-a` };
  machineB = { serve: serveB, peer: peerB, nodeIds: [1, 2].map((w) => `${tag}-b-w${w}`) };
  await eventually('all three data-plane nodes registered', async () => {
    const live = (await listNodes(admin)).filter((n) => n.live).map((n) => n.nodeId);
    return [machineA.nodeId, ...machineB.nodeIds].every((id) => live.includes(id)) ? true : undefined;
  });

  // Each machine's own address, as configured (a namespace has nothing but a loopback).
  const addresses = Object.fromEntries((await listNodes(admin)).map((n) => [n.nodeId, n.address]));
  assert.deepEqual(addresses, {
    [machineA.nodeId]: '192.0.2.10',
    [machineB.nodeIds[0]]: '192.0.2.11',
    [machineB.nodeIds[1]]: '192.0.2.11',
  });

  const lb = await createActiveLoadBalancer(api);
  vip = lb.vips[0];
  serverGroupId = await createServerGroup(
    api,
    { Scheduler: 'Tch' },
    BACKENDS.map((b) => ({ ip: b.host, port: b.port })),
  );
});

after(async () => {
  for (const s of processes) {
    if (s.child.pid && s.child.exitCode === null) s.child.kill('SIGCONT');
    await stopProcess(s.child);
  }
  for (const p of peers) {
    p.child.stdin?.end();
    await stopProcess(p.child);
  }
  for (const ns of namespaces) ns.remove();
  await db?.end().catch(() => undefined);
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('every node of the fleet applies a listener, and each sends the same flow to the same backend', async () => {
  await createRunningListener(api, {
    LoadBalancerId: (await firstLb()).id,
    ListenerProtocol: 'TCP',
    ListenerPort: 17_911,
    ServerGroupId: serverGroupId,
  });
  const chosen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const srcPort = nextSrcPort++;
    const a = await machineA.peer.send(vip, 17_911, srcPort, `flow${i}`);
    const b = await machineB.peer.send(vip, 17_911, srcPort, `flow${i}`);
    assert.match(a, new RegExp(`^[abc]:flow${i}$`));
    assert.equal(backendOf(b), backendOf(a), `flow from port ${srcPort}: node A chose ${a}, machine B chose ${b}`);
    chosen.add(backendOf(a));
  }
  assert.ok(chosen.size > 1, 'the flows spread over more than one backend');
});

test('a job waits for every live node; a node that stops heartbeating is left out and reported', async () => {
  const lbId = (await firstLb()).id;
  machineA.serve.child.kill('SIGSTOP');
  const { JobId } = await callApi(api, NLB, 'CreateListener', {
    LoadBalancerId: lbId,
    ListenerProtocol: 'TCP',
    ListenerPort: 17_912,
    ServerGroupId: serverGroupId,
  });
  const revision = await jobRevision(JobId);
  await eventually('machine B applied the new listener', async () => {
    const rows = await Promise.all(machineB.nodeIds.map(nodeRow));
    return rows.every((r) => r && r.applied >= revision) ? true : undefined;
  });

  // While A is still live by the timeout and has not applied, the job must not be finished.
  const status = await jobStatus(JobId);
  const a = (await nodeRow(machineA.nodeId))!;
  assert.ok(a.applied < revision, 'the stopped node has not applied the revision');
  assert.ok(a.heartbeatAt >= Date.now() - NODE_TIMEOUT_MS, 'precondition: the stopped node is still within its timeout');
  assert.equal(status, 'Processing');

  // Past the timeout the job finishes without A, and the API process says so.
  assert.equal(await waitJobDone(JobId), 'Succeeded');
  assert.ok((await nodeRow(machineA.nodeId))!.applied < revision, 'the job finished without the stopped node');
  await eventually('node A reported stale', async () => {
    const n = (await listNodes(admin)).find((x) => x.nodeId === machineA.nodeId);
    return n && !n.live ? true : undefined;
  });
  const staleLines = () =>
    apiServe
      .stdout()
      .split('\n')
      .filter((l) => l.includes('stopped heartbeating') && l.includes(machineA.nodeId));
  await eventually('the API process logged the stale node', async () => (staleLines().length > 0 ? true : undefined));
  assert.equal(staleLines().length, 1, 'one log line when the node went stale');
  assert.match(await metricsText(admin), /openslb_dataplane_nodes\{state="stale"\} 1/);
  assert.match(await machineB.peer.send(vip, 17_912, nextSrcPort++, 'hi'), /^[abc]:hi$/);

  // Resumed, A catches up on its own and is counted again.
  machineA.serve.child.kill('SIGCONT');
  await eventually('node A live and caught up', async () => {
    const n = (await listNodes(admin)).find((x) => x.nodeId === machineA.nodeId);
    return n && n.live && n.appliedRevision >= revision ? true : undefined;
  });
  assert.match(await machineA.peer.send(vip, 17_912, nextSrcPort++, 'back'), /^[abc]:back$/);
  await eventually('the API process logged the node coming back', async () =>
    apiServe
      .stdout()
      .split('\n')
      .some((l) => l.includes('heartbeating again') && l.includes(machineA.nodeId))
      ? true
      : undefined,
  );
});

test('health: a backend one machine cannot reach stays in service; Unhealthy once most machines see it so', async () => {
  const listenerId = await eventually('the first listener', async () => {
    const r = await callApi(api, NLB, 'ListListeners', {}, { placement: 'query' });
    return (r.Listeners as Array<{ ListenerId: string; ListenerPort: number }>).find((l) => l.ListenerPort === 17_911)?.ListenerId;
  });
  const c = BACKENDS[2];
  const target = `${serverGroupId}/${c.host}:${c.port}`;
  const sees = async (nodeId: string) =>
    (await fleetNodes()).find((n) => n.nodeId === nodeId)?.health?.unhealthy.some((u) => u.target === target) ?? false;
  const nonNormal = async () =>
    (await callApi(api, NLB, 'GetListenerHealthStatus', { ListenerId: listenerId }, { placement: 'query' })).ListenerHealthStatus[0]
      .ServerGroupInfos[0].NonNormalServers as Array<{ ServerIp: string; Status: string; Reason?: { ReasonCode: string } }>;

  await machineA.peer.closeBackend('c');
  await eventually('machine A sees backend c unhealthy', async () => ((await sees(machineA.nodeId)) ? true : undefined));
  assert.equal(await sees(machineB.nodeIds[0]), false, 'machine B still reaches it');
  assert.deepEqual(await nonNormal(), [], 'one machine of two is not a majority: c is still in service');

  await machineB.peer.closeBackend('c');
  const listed = await eventually('c Unhealthy once both machines see it so', async () => {
    const n = await nonNormal();
    return n.length > 0 ? n : undefined;
  });
  assert.deepEqual(
    listed.map((s) => [s.ServerIp, s.Status]),
    [[c.host, 'Unhealthy']],
  );
  assert.ok(listed[0].Reason?.ReasonCode, 'with the reason');
  // Machine B's verdict is its worker 1's: with the kernel engine (auto, as here) only worker 1
  // runs plain TCP listeners and checks their backends. Workers sharing one probe in user space
  // are shown by test/cli/shared-probes.test.ts.
  assert.ok(await sees(machineB.nodeIds[0]), 'machine B reports c unhealthy on /nodes');
});

test('every process of the fleet survives its PostgreSQL sessions being terminated, and work goes on', async () => {
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 500));
    await db!.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and datname = current_database()',
    );
  }
  for (const s of [apiServe, machineA.serve, machineB.serve]) assert.equal(s.child.exitCode, null, 'still running');
  const { JobId } = await callApi(api, NLB, 'CreateListener', {
    LoadBalancerId: (await firstLb()).id,
    ListenerProtocol: 'TCP',
    ListenerPort: 17_914,
    ServerGroupId: serverGroupId,
  });
  assert.equal(await waitJobDone(JobId), 'Succeeded', 'every node applied it');
  assert.match(await machineA.peer.send(vip, 17_914, nextSrcPort++, 'a'), /^[abc]:a$/);
  assert.match(await machineB.peer.send(vip, 17_914, nextSrcPort++, 'b'), /^[abc]:b$/);
  for (const s of [apiServe, machineA.serve, machineB.serve]) assert.doesNotMatch(s.stderr(), /Unhandled 'error' event/);
  assert.doesNotMatch(machineB.serve.stdout(), /data-plane worker exited/, "machine B's workers survived too");
});

async function fleetNodes(): Promise<Array<{ nodeId: string; health?: { unhealthy: Array<{ target: string }> } }>> {
  return (await (await fetch(`${admin}/nodes`)).json()).nodes;
}

test('jobs still complete after a node is killed outright', async () => {
  machineA.serve.child.kill('SIGKILL');
  const { JobId } = await callApi(api, NLB, 'CreateListener', {
    LoadBalancerId: (await firstLb()).id,
    ListenerProtocol: 'TCP',
    ListenerPort: 17_913,
    ServerGroupId: serverGroupId,
  });
  assert.equal(await waitJobDone(JobId), 'Succeeded');
  assert.match(await machineB.peer.send(vip, 17_913, nextSrcPort++, 'x'), /^[abc]:x$/);
  const a = (await listNodes(admin)).find((x) => x.nodeId === machineA.nodeId);
  assert.equal(a?.live, false, 'the killed node is reported, not silently dropped');
});

async function firstLb(): Promise<{ id: string }> {
  const r = await callApi(api, NLB, 'ListLoadBalancers', {}, { placement: 'query' });
  return { id: r.LoadBalancers[0].LoadBalancerId as string };
}
