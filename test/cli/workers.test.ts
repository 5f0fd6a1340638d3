/**
 * `openslb serve --workers 2` as a real process: the primary serves the API, two worker
 * processes are the data plane (each its own node), a killed worker comes back and the
 * listeners keep forwarding.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/config.js';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, waitForJob, type TestServer } from '../support/server.js';
import { decodeProxyV2 } from '../../src/dataplane/nlb/proxy-protocol.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, startUdpBackend, tcpRoundTrip, udpRoundTrip, type TcpBackend } from '../support/backends.js';
import { adminUrl, eventually, listNodes, listWorkers, metricsText, type WorkerInfo } from '../support/serve-admin.js';

const dataDir = mkdtempSync(join(tmpdir(), 'openslb-workers-'));
const credentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
let serve: ServeProcess;
let admin: string;
let api: TestServer;
let backends: TcpBackend[] = [];
let udpBackend: Awaited<ReturnType<typeof startUdpBackend>> | undefined;
let lb: { id: string; vips: string[] };

before(async () => {
  // VIP pools of this test's own, so its listeners never meet another test's on 127.0.1.x.
  const regions = defaultConfig().regions;
  regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.81.0/24';
  regions[0].vpcs[0].vSwitches[1].vipPool = '127.0.82.0/24';
  const configFile = join(dataDir, 'openslb.yaml');
  writeFileSync(configFile, JSON.stringify({ regions }));
  serve = await startServe(
    [
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      '--api-listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--workers',
      '2',
      '--log-level',
      'info',
    ],
    credentials,
  );
  admin = adminUrl(serve);
  const { hostname, port } = new URL(serve.apiUrl);
  api = { host: hostname, port: Number(port) } as TestServer;
  backends = await Promise.all(['a', 'b', 'c'].map((name) => startTcpBackend('127.0.0.1', name)));
  udpBackend = await startUdpBackend('127.0.0.1', 'u');
  lb = await createActiveLoadBalancer(api);
});

after(async () => {
  const pids = serve ? (await listWorkers(admin).catch(() => [])).map((w) => w.pid) : [];
  if (serve) await stopProcess(serve.child);
  for (const b of backends) await b.close();
  await udpBackend?.close();
  rmSync(dataDir, { recursive: true, force: true });
  // Stopping the primary stops its workers.
  for (const pid of pids) if (pid) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} outlived its primary`);
});

async function roundTrips(port: number, count: number): Promise<string[]> {
  const replies: string[] = [];
  for (let i = 0; i < count; i++) replies.push(await tcpRoundTrip(lb.vips[i % lb.vips.length], port, `hello${i}`));
  return replies;
}

function assertServedByBackends(replies: string[]): void {
  replies.forEach((r, i) => assert.match(r, new RegExp(`^[abc]:hello${i}$`)));
}

/** Waits until `slot` runs a different, ready process than `oldPid`. */
function restartedWorker(slot: number, oldPid: number): Promise<WorkerInfo> {
  return eventually(`worker ${slot} restarted`, async () => {
    const w = (await listWorkers(admin)).find((x) => x.slot === slot);
    return w && w.ready && w.pid && w.pid !== oldPid ? w : undefined;
  });
}

test('each worker is its own data-plane node, and a TCP listener made through the API forwards', async () => {
  const workers = await listWorkers(admin);
  assert.equal(workers.length, 2);
  assert.ok(
    workers.every((w) => w.ready && w.pid && w.pid !== serve.child.pid),
    'two ready worker processes besides the primary',
  );
  assert.notEqual(workers[0].pid, workers[1].pid);
  assert.deepEqual(
    workers.map((w) => w.datagrams),
    [true, false],
    'worker 1 alone owns the datagram sockets',
  );

  const nodes = await listNodes(admin);
  for (const w of workers)
    assert.ok(
      nodes.some((n) => n.nodeId === w.nodeId && n.live),
      `node ${w.nodeId} registered and live`,
    );

  const sg = await createServerGroup(
    api,
    { Scheduler: 'Wrr' },
    backends.map((b) => ({ ip: b.host, port: b.port })),
  );
  const listenerId = await createRunningListener(api, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 17_801,
    ServerGroupId: sg,
  });
  assertServedByBackends(await roundTrips(17_801, 12));

  // /metrics on the primary adds up what every worker counted.
  const text = await metricsText(admin);
  const accepted = new RegExp(`openslb_listener_connections_total\\{listener="${listenerId}",protocol="TCP"\\} (\\d+)`).exec(text);
  assert.ok(accepted, 'listener counters reach the primary /metrics');
  assert.equal(Number(accepted[1]), 12);
  assert.match(text, /openslb_dataplane_nodes\{state="live"\} 2/);
});

test('a killed TCP worker is restarted; listeners keep forwarding and jobs keep completing', async () => {
  const before = (await listWorkers(admin)).find((w) => w.slot === 2)!;
  process.kill(before.pid!, 'SIGKILL');
  const after = await restartedWorker(2, before.pid!);
  assert.equal(after.restarts, before.restarts + 1);
  assert.equal(after.nodeId, before.nodeId, 'the restarted worker is the same node');
  assert.match(serve.stdout(), /data-plane worker exited; its connections are lost; restarting it/);

  assertServedByBackends(await roundTrips(17_801, 6));
  const sg = await createServerGroup(
    api,
    { Scheduler: 'Sch' },
    backends.map((b) => ({ ip: b.host, port: b.port })),
  );
  await createRunningListener(api, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 17_802, ServerGroupId: sg });
  assertServedByBackends(await roundTrips(17_802, 6));
  const nodes = await listNodes(admin);
  assert.equal(nodes.filter((n) => n.live).length, 2, 'the dead worker left no stale node behind');
  // The engine is decided (nftables probed) once by the primary, not by each worker or restart.
  assert.equal(serve.stdout().match(/data plane: (kernel|user-space) engine/g)?.length, 1, 'one engine line per start');
});

test('UDP lives in worker 1, and survives that worker being killed and restarted', async () => {
  const sg = await createServerGroup(api, { Scheduler: 'Wrr', Protocol: 'UDP' }, [{ ip: udpBackend!.host, port: udpBackend!.port }]);
  await createRunningListener(api, { LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 17_803, ServerGroupId: sg });
  assert.equal(await udpRoundTrip(lb.vips[0], 17_803, 'ping'), 'u:ping');

  const before = (await listWorkers(admin)).find((w) => w.slot === 1)!;
  process.kill(before.pid!, 'SIGKILL');
  await restartedWorker(1, before.pid!);
  assert.equal(await udpRoundTrip(lb.vips[0], 17_803, 'again'), 'u:again');
  assertServedByBackends(await roundTrips(17_801, 4));
});

test('a PROXY v2 listener (user space) accepts in both workers off the shared socket, and its port can be re-bound', async () => {
  const sg = await createServerGroup(
    api,
    { Scheduler: 'Rr' },
    backends.map((b) => ({ ip: b.host, port: b.port })),
  );
  const params = { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 17_804, ServerGroupId: sg, ProxyProtocolEnabled: true };
  const first = await createRunningListener(api, params);
  for (const b of backends) b.firstChunks.length = 0;
  const replies = await roundTrips(17_804, 8);
  replies.forEach((r) => assert.match(r, /^[abc]:/));
  const headers = backends.flatMap((b) => b.firstChunks).map((c) => decodeProxyV2(c));
  assert.equal(headers.length, 8);
  for (const h of headers) {
    assert.equal(h?.srcIp, '127.0.0.1');
    assert.equal(h?.dstPort, 17_804);
  }
  // Every worker let go of the socket when the listener went: the same port binds again.
  const { JobId } = await callApi(api, NLB, 'DeleteListener', { ListenerId: first });
  assert.equal(await waitForJob(api, JobId), 'Succeeded');
  const second = await createRunningListener(api, params);
  replies.splice(0, replies.length, ...(await roundTrips(17_804, 4)));
  replies.forEach((r) => assert.match(r, /^[abc]:/));
  const text = await metricsText(admin);
  const accepted = new RegExp(`openslb_listener_connections_total\\{listener="${second}",protocol="TCP"\\} (\\d+)`).exec(text);
  assert.equal(Number(accepted?.[1]), 4);
});
