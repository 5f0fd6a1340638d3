/**
 * The in-process server's health checks run on the timers it is given: with a ManualScheduler a
 * test moves time across 50-second probe intervals instead of waiting for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ManualScheduler } from '../../src/util/scheduler.js';
import { NLB, callApi, startTestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';

const INTERVAL_S = 50; // the longest interval NLB allows

/** A loopback port nothing listens on: probes to it are refused at once. */
async function closedPort(host: string): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, host, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test('health probes follow the injected timers: two 50 s intervals pass in moments', async (t) => {
  const timers = new ManualScheduler(Date.now());
  const server = await startTestServer({ timers });
  t.after(() => server.stop());
  const backend = '127.0.3.91';
  const port = await closedPort(backend);
  const { id: lb } = await createActiveLoadBalancer(server);
  const group = await createServerGroup(
    server,
    {
      HealthCheckConfig: {
        HealthCheckType: 'TCP',
        HealthCheckInterval: INTERVAL_S,
        HealthCheckConnectTimeout: 5,
        HealthyThreshold: 2,
        UnhealthyThreshold: 2,
      },
    },
    [{ ip: backend, port }],
  );
  const listener = await createRunningListener(server, {
    LoadBalancerId: lb,
    ListenerProtocol: 'TCP',
    ListenerPort: 7491,
    ServerGroupId: group,
  });

  const started = timers.now();
  let verdict: Record<string, any> | undefined;
  // Each step moves one probe interval on, then gives the real probe (a refused connect) a moment.
  for (let step = 0; step < 40 && verdict?.Status !== 'Unhealthy'; step++) {
    timers.advance(INTERVAL_S * 1000);
    await new Promise((r) => setTimeout(r, 50));
    const body = await callApi(server, NLB, 'GetListenerHealthStatus', { ListenerId: listener }, { placement: 'query' });
    verdict = body.ListenerHealthStatus[0].ServerGroupInfos[0].NonNormalServers[0];
  }
  assert.equal(verdict?.Status, 'Unhealthy', `last verdict: ${JSON.stringify(verdict)}`);
  assert.equal(verdict?.Reason?.ReasonCode, 'CONNECT_FAILED');
  // Two failed probes at least two intervals apart: time that was moved, not waited for.
  assert.ok(timers.now() - started >= 2 * INTERVAL_S * 1000);
});
