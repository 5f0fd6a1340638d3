/**
 * A backend going down or coming back leaves one info line saying which server of which group,
 * which way, and why: what an operator looks for first when traffic shifts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig } from '../../../src/config/config.js';
import { startOpenSlb } from '../../../src/server/openslb.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';
import { startTcpBackend } from '../../support/backends.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { moveTimeUntil } from '../../support/moved-time.js';

test('backend down and up are logged at info with the server, the direction and the reason', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), `openslb-health-log-${process.pid}-`));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = defaultConfig();
  config.apiListen = '127.0.0.1:0';
  config.adminListen = '';
  config.dataDir = dataDir;
  // A VIP pool of this test's own.
  config.regions[0].vpcs[0].vSwitches[0].vipPool = '127.0.93.0/24';
  config.regions[0].vpcs[0].vSwitches[1].vipPool = '127.0.94.0/24';
  // Probe intervals run on moved time: each step of a second is one interval.
  const timers = new ManualScheduler(Date.now());
  const running = await startOpenSlb(config, {
    timers,
    log: pino({ level: 'info' }, sink),
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
    nodeId: `health-log-${process.pid}`,
  });
  t.after(() => running.stop());
  const api = { host: running.apiAddress.host, port: running.apiAddress.port } as TestServer;

  let backend = await startTcpBackend('127.0.3.71', 'b');
  const port = backend.port;
  t.after(() => backend.close());
  const lb = await createActiveLoadBalancer(api);
  const sg = await createServerGroup(
    api,
    {
      Protocol: 'TCP',
      HealthCheckConfig: {
        HealthCheckType: 'TCP',
        HealthCheckInterval: 1,
        HealthCheckConnectTimeout: 1,
        HealthyThreshold: 2,
        UnhealthyThreshold: 2,
      },
    },
    [{ ip: backend.host, port }],
  );
  await createRunningListener(api, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7171, ServerGroupId: sg });
  const server = `${backend.host}:${port}`;
  const logged = async (msg: string): Promise<Record<string, unknown>> => {
    const find = () => lines.find((l) => l.msg === msg && l.server === server);
    await moveTimeUntil(timers, 1000, `"${msg}" logged`, () => find() !== undefined);
    return find()!;
  };

  const up = await logged('backend up');
  assert.equal(up.level, 30, 'info');
  assert.equal(up.serverGroupId, sg);
  assert.equal(up.to, 'Healthy');

  await backend.close();
  const down = await logged('backend down');
  assert.equal(down.level, 30);
  assert.equal(down.from, 'Healthy');
  assert.equal(down.to, 'Unhealthy');
  assert.match(String(down.reason), /refused|ECONNREFUSED/i, 'the reason names the failure');

  lines.length = 0;
  backend = await startTcpBackend('127.0.3.71', 'b', port);
  const back = await logged('backend up');
  assert.equal(back.from, 'Unhealthy');
});
