/**
 * `openslb serve --workers 2`: both workers serve a TCP listener and keep their own health
 * state, but the backend sees one probe per interval from the machine, not one per worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/config.js';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';
import { adminUrl, eventually, listWorkers } from '../support/serve-admin.js';

const dataDir = mkdtempSync(join(tmpdir(), 'openslb-sharedprobe-'));
// User space: there both workers serve the TCP listener and check its backend (the kernel
// engine leaves plain TCP to worker 1 alone, which would make one probe trivial).
const credentials = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET,
  OPENSLB_ENGINE: 'userspace',
};
const PORT = 20_000 + ((process.pid + 41) % 20_000);
// The shortest interval the API allows: a separate process cannot share the test's timers, so the
// window below is real time. Unshared, two workers would probe about twice per interval.
const INTERVAL_S = 1;
let serve: ServeProcess | undefined;
let backend: TcpBackend | undefined;

before(async () => {
  const regions = defaultConfig().regions;
  regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.75.0/24';
  regions[0].vpcs[0].vSwitches[1].vipPool = '127.0.76.0/24';
  writeFileSync(join(dataDir, 'openslb.yaml'), JSON.stringify({ regions }));
  serve = await startServe(
    [
      '--config',
      join(dataDir, 'openslb.yaml'),
      '--data-dir',
      dataDir,
      '--api-listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--workers',
      '2',
    ],
    credentials,
  );
  backend = await startTcpBackend('127.0.0.1', 'probed');
});

after(async () => {
  if (serve) await stopProcess(serve.child);
  await backend?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('two workers, one probe per interval to the backend', async () => {
  const admin = adminUrl(serve!);
  await eventually('both workers ready', async () => ((await listWorkers(admin)).every((w) => w.ready) ? true : undefined));
  const { hostname, port } = new URL(serve!.apiUrl);
  const api = { host: hostname, port: Number(port) } as TestServer;
  const lb = await createActiveLoadBalancer(api);
  const group = await createServerGroup(
    api,
    {
      Scheduler: 'Wrr',
      HealthCheckConfig: {
        HealthCheckEnabled: true,
        HealthCheckType: 'TCP',
        HealthCheckInterval: INTERVAL_S,
        HealthyThreshold: 2,
        UnhealthyThreshold: 2,
        HealthCheckConnectTimeout: 1,
      },
    },
    [{ ip: backend!.host, port: backend!.port }],
  );
  await createRunningListener(api, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: PORT, ServerGroupId: group });
  // Healthy in both workers: connections through either (the kernel picks) reach the backend.
  for (let i = 0; i < 6; i++) {
    await eventually('forwarded', async () => {
      try {
        return await tcpRoundTrip(lb.vips[0], PORT, `x${i}`);
      } catch {
        return undefined;
      }
    });
  }

  // Only probes reach the backend now. Unshared, two workers would make about two per interval.
  const before = backend!.accepted;
  const started = Date.now();
  await new Promise((r) => setTimeout(r, 5 * INTERVAL_S * 1000));
  const probes = backend!.accepted - before;
  const intervals = (Date.now() - started) / (INTERVAL_S * 1000);
  if (process.env.OPENSLB_TEST_VERBOSE) console.log({ probes, intervals });
  assert.ok(probes >= 1, 'the backend is probed');
  // At most one per interval started in the window, plus one at its edge.
  assert.ok(
    probes <= Math.floor(intervals) + 2,
    `${probes} probes in ${intervals.toFixed(1)} intervals: one per interval, not one per worker`,
  );
});
