/**
 * Data-plane faults. A rule holds a backend down: its health probes fail while the rule holds,
 * so it goes Unhealthy through the group's thresholds, gets no new connections, and comes back
 * the same way when the rule is removed. A rule drops a share of a listener's new connections.
 * Both run on each engine: plain TCP listeners in the kernel engine (nftables) and in the
 * user-space relay.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';
import { connectionFaults } from '../../src/dataplane/connection-faults.js';
import type { FaultRule } from '../../src/domain/fault-rules.js';
import { ManualScheduler } from '../../src/util/scheduler.js';
import { moveTimeUntil } from '../support/moved-time.js';
import { admin, startFaultTestServer } from './support.js';

const ENGINES = [
  { engine: 'userspace', port: 7420, host: 80 },
  { engine: 'kernel', port: 7460, host: 90 },
] as const;

for (const { engine, port, host } of ENGINES)
  describe(`${engine} engine`, () => {
    let server: TestServer;
    const backends: TcpBackend[] = [];
    // Probe intervals and the kernel's read-back of refusals run on these: the tests move them.
    const timers = new ManualScheduler(Date.now());
    const moveUntil = (what: string, check: () => Promise<boolean>) => moveTimeUntil(timers, 1000, what, check);

    before(async () => {
      server = await startFaultTestServer({ timers, configure: (c) => (c.dataplane.engine = engine) });
    });
    after(async () => {
      await server?.stop();
      for (const b of backends) await b.close().catch(() => undefined);
    });

    test('a backend forced unhealthy gets no new connections until the rule is removed', async () => {
      const steady = await startTcpBackend(`127.0.3.${host + 1}`, 'steady');
      const flaky = await startTcpBackend(`127.0.3.${host + 2}`, 'flaky');
      backends.push(steady, flaky);
      const lb = await createActiveLoadBalancer(server);
      const sg = await createServerGroup(
        server,
        {
          Scheduler: 'rr',
          HealthCheckConfig: {
            HealthCheckType: 'TCP',
            HealthCheckInterval: 1,
            HealthCheckConnectTimeout: 1,
            HealthyThreshold: 2,
            UnhealthyThreshold: 2,
          },
        },
        [
          { ip: steady.host, port: steady.port },
          { ip: flaky.host, port: flaky.port },
        ],
      );
      const listenerId = await createRunningListener(server, {
        LoadBalancerId: lb.id,
        ListenerProtocol: 'TCP',
        ListenerPort: port,
        ServerGroupId: sg,
      });
      const nonNormal = async () => {
        const h = await callApi(server, NLB, 'GetListenerHealthStatus', { ListenerId: listenerId }, { placement: 'query' });
        return h.ListenerHealthStatus[0].ServerGroupInfos[0].NonNormalServers as Array<{
          ServerIp: string;
          Status: string;
          Reason?: { ReasonCode: string };
        }>;
      };
      await moveUntil('both backends healthy', async () => (await nonNormal()).length === 0);

      const added = await admin(server.running.adminUrl!, 'POST', '/faults', {
        resourceId: sg,
        effect: { type: 'unhealthy', server: flaky.host },
      });
      assert.equal(added.status, 201);
      const unhealthyAfter = await moveUntil('the flaky backend reported unhealthy', async () => {
        const bad = await nonNormal();
        return bad.length === 1 && bad[0].ServerIp === flaky.host && bad[0].Status === 'Unhealthy';
      });
      // UnhealthyThreshold 2: two failed probes, an interval apart, not one.
      assert.ok(unhealthyAfter >= 2000, `reported unhealthy after ${unhealthyAfter} ms of probing`);
      const flakyBefore = flaky.accepted;
      const replies = [];
      for (let i = 0; i < 4; i++) replies.push(await tcpRoundTrip(lb.vips[0], port, 'q'));
      assert.deepEqual(replies, ['steady:q', 'steady:q', 'steady:q', 'steady:q']);
      assert.equal(flaky.accepted, flakyBefore, 'the backend itself was never unreachable, only reported down');
      const metrics = await (await fetch(`${server.running.adminUrl}/metrics`)).text();
      assert.match(metrics, new RegExp(`openslb_faults_injected_total\\{rule="${added.body.rule.id}",effect="unhealthy"\\} [1-9]`));

      assert.equal((await admin(server.running.adminUrl!, 'DELETE', '/faults')).body.removed, 1);
      await moveUntil('the backend healthy again', async () => (await nonNormal()).length === 0);
      const after = new Set<string>();
      for (let i = 0; i < 4; i++) after.add(await tcpRoundTrip(lb.vips[0], port, 'q'));
      assert.deepEqual([...after].sort(), ['flaky:q', 'steady:q']);
    });

    test('an unhealthy rule needs a server group and takes no count', async () => {
      const res = await admin(server.running.adminUrl!, 'POST', '/faults', { resourceId: 'nlb-x', effect: { type: 'unhealthy' } });
      assert.equal(res.status, 400);
      assert.match(res.body.Message, /server group/);
      const counted = await admin(server.running.adminUrl!, 'POST', '/faults', {
        resourceId: 'sgp-x',
        count: 2,
        effect: { type: 'unhealthy' },
      });
      assert.equal(counted.status, 400);
    });

    test('a drop-connections rule closes new connections to its listener only, until removed', async () => {
      const backend = await startTcpBackend(`127.0.3.${host + 3}`, 'b');
      backends.push(backend);
      const lb = await createActiveLoadBalancer(server);
      const sg = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false } }, [
        { ip: backend.host, port: backend.port },
      ]);
      const target = await createRunningListener(server, {
        LoadBalancerId: lb.id,
        ListenerProtocol: 'TCP',
        ListenerPort: port + 10,
        ServerGroupId: sg,
      });
      await createRunningListener(server, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: port + 11, ServerGroupId: sg });
      assert.equal(await tcpRoundTrip(lb.vips[0], port + 10, 'x'), 'b:x');

      const added = await admin(server.running.adminUrl!, 'POST', '/faults', {
        resourceId: target,
        for: '1h',
        effect: { type: 'drop-connections', share: 1 },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      await moveUntil('new connections to the listener are dropped', async () => {
        try {
          await tcpRoundTrip(lb.vips[0], port + 10, 'x');
          return false;
        } catch {
          return true;
        }
      });
      const acceptedBefore = backend.accepted;
      await assert.rejects(tcpRoundTrip(lb.vips[0], port + 10, 'x'));
      assert.equal(backend.accepted, acceptedBefore, 'a dropped connection never reaches a backend');
      assert.equal(await tcpRoundTrip(lb.vips[0], port + 11, 'y'), 'b:y', 'the other listener is untouched');
      // Counted and exported (the kernel's refusals are read back within a second).
      const fired = new RegExp(`openslb_faults_injected_total\\{rule="${added.body.rule.id}",effect="drop-connections"\\} [1-9]`);
      await moveUntil('the refusals counted', async () => fired.test(await (await fetch(`${server.running.adminUrl}/metrics`)).text()));

      await admin(server.running.adminUrl!, 'DELETE', `/faults/${added.body.rule.id}`);
      await moveUntil('connections flow again', async () => {
        try {
          return (await tcpRoundTrip(lb.vips[0], port + 10, 'x')) === 'b:x';
        } catch {
          return false;
        }
      });
    });
  });

test('a partial share drops the connections the random source picks', () => {
  const rule: FaultRule = {
    id: 'fault-1',
    createdAt: 0,
    fired: 0,
    match: { resourceId: 'lsn-1@80' },
    effect: { type: 'drop-connections', share: 0.25 },
  };
  const draws = [0.1, 0.3, 0.24, 0.9];
  const dropped: string[] = [];
  const shouldDrop = connectionFaults({
    rules: () => [rule],
    now: () => 0,
    random: () => draws.shift()!,
    onDrop: (_r, l) => dropped.push(l),
  });
  assert.deepEqual(
    [shouldDrop('lsn-1@80'), shouldDrop('lsn-1@80'), shouldDrop('lsn-1@80'), shouldDrop('lsn-1@80')],
    [true, false, true, false],
  );
  assert.equal(shouldDrop('lsn-2@80'), false);
  assert.deepEqual(dropped, ['lsn-1@80', 'lsn-1@80']);
});
