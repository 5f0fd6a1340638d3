/**
 * /metrics of `openslb serve --workers 2` with TCP and UDP listeners carrying traffic, as
 * Prometheus sees it: `promtool check metrics` (Debian's prometheus package, installed by
 * scripts/ensure-test-deps.sh) finds nothing to complain about, counters are counters, and
 * the numbers of one process are not added across processes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/config.js';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, startUdpBackend, tcpRoundTrip, udpRoundTrip, type TcpBackend } from '../support/backends.js';
import { adminUrl, metricsText } from '../support/serve-admin.js';

const dataDir = mkdtempSync(join(tmpdir(), `openslb-promtool-${process.pid}-`));
const credentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
let serve: ServeProcess | undefined;
let tcpBackend: TcpBackend | undefined;
let udpBackend: Awaited<ReturnType<typeof startUdpBackend>> | undefined;
let text = '';
let tcpListener = '';
let udpListener = '';

before(async () => {
  // VIP pools of this test's own, so its listeners never meet another test's.
  const regions = defaultConfig().regions;
  regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.91.0/24';
  regions[0].vpcs[0].vSwitches[1].vipPool = '127.0.92.0/24';
  const configFile = join(dataDir, 'openslb.yaml');
  writeFileSync(configFile, JSON.stringify({ regions }));
  serve = await startServe(
    ['--config', configFile, '--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--workers', '2'],
    credentials,
  );
  const { hostname, port } = new URL(serve.apiUrl);
  const api = { host: hostname, port: Number(port) } as TestServer;
  tcpBackend = await startTcpBackend('127.0.0.1', 't');
  udpBackend = await startUdpBackend('127.0.0.1', 'u');
  const lb = await createActiveLoadBalancer(api);
  const tcpGroup = await createServerGroup(api, { Protocol: 'TCP' }, [{ ip: tcpBackend.host, port: tcpBackend.port }]);
  const udpGroup = await createServerGroup(api, { Protocol: 'UDP' }, [{ ip: udpBackend.host, port: udpBackend.port }]);
  tcpListener = await createRunningListener(api, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 17_901,
    ServerGroupId: tcpGroup,
  });
  udpListener = await createRunningListener(api, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'UDP',
    ListenerPort: 17_902,
    ServerGroupId: udpGroup,
  });
  for (let i = 0; i < 4; i++) assert.equal(await tcpRoundTrip(lb.vips[0], 17_901, `x${i}`), `t:x${i}`);
  assert.equal(await udpRoundTrip(lb.vips[0], 17_902, 'y'), 'u:y');
  text = await metricsText(adminUrl(serve));
});

after(async () => {
  if (serve) await stopProcess(serve.child);
  await tcpBackend?.close();
  await udpBackend?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function series(name: string): Array<{ labels: string; value: number }> {
  const re = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm');
  return [...text.matchAll(re)].map((m) => ({ labels: m[1] ?? '', value: Number(m[2]) }));
}

test('promtool check metrics accepts the exposition', () => {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool is installed (scripts/ensure-test-deps.sh)');
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no warnings either');
});

test('monotonic listener numbers are counters, summed over the workers', () => {
  for (const name of ['connections', 'dropped_cps', 'dropped_no_backend', 'bytes_in', 'bytes_out']) {
    assert.match(text, new RegExp(`^# TYPE openslb_listener_${name}_total counter$`, 'm'));
  }
  assert.match(text, /^# TYPE openslb_listener_active_connections gauge$/m);
  const accepted = series('openslb_listener_connections_total').find((s) => s.labels.includes(tcpListener));
  assert.equal(accepted?.value, 4);
  assert.match(accepted!.labels, /protocol="TCP"/);
});

test('UDP sessions are exported for UDP listeners only', () => {
  const udp = series('openslb_listener_udp_sessions');
  assert.ok(udp.some((s) => s.labels.includes(udpListener)));
  assert.ok(!udp.some((s) => s.labels.includes(tcpListener)), 'no udp_sessions series for a TCP listener');
});

test('per-process numbers keep one series per process; health is not added up', () => {
  const starts = series('openslb_process_start_time_seconds');
  assert.deepEqual(starts.map((s) => /worker="([^"]+)"/.exec(s.labels)?.[1]).sort(), ['1', '2', 'primary']);
  for (const s of series('openslb_process_max_fds')) assert.match(s.labels, /worker="/);
  const healthy = series('openslb_server_healthy');
  assert.ok(healthy.length >= 2);
  for (const s of healthy) assert.ok(s.value === 0 || s.value === 1, `healthy is 0 or 1, got ${s.value} for ${s.labels}`);
});
