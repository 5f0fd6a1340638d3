/** SharedProber and ProbeClient: workers' asks for the same probe share one real probe. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeClient, SharedProber, type ProbeRequest } from '../../src/dataplane/health/shared-probe.js';
import type { HealthTarget } from '../../src/dataplane/health/checker.js';
import { DEFAULT_HEALTH_CHECK } from '../../src/products/nlb/health-check-params.js';

const target = (host: string, interval = 2): HealthTarget => ({
  key: `sgp-1/${host}:80`,
  host,
  port: 80,
  config: { ...DEFAULT_HEALTH_CHECK, HealthCheckEnabled: true, HealthCheckType: 'TCP', HealthCheckInterval: interval },
});

test('asks for the same probe within half an interval share one real probe; later ones probe again', async () => {
  let now = 1_000_000;
  const probed: string[] = [];
  const prober = new SharedProber(
    async (t) => {
      probed.push(t.host);
      return { ok: t.host !== '10.0.0.2', reason: t.host === '10.0.0.2' ? 'refused' : undefined };
    },
    () => now,
  );
  // Two workers, same target, same moment: one probe.
  const [a, b] = await Promise.all([prober.run(target('10.0.0.1')), prober.run(target('10.0.0.1'))]);
  assert.deepEqual([a.ok, b.ok], [true, true]);
  assert.deepEqual(probed, ['10.0.0.1']);
  // Another target is its own probe.
  assert.equal((await prober.run(target('10.0.0.2'))).ok, false);
  assert.deepEqual(probed, ['10.0.0.1', '10.0.0.2']);
  // Within half of the 2 s interval: shared; after it: a new probe.
  now += 999;
  await prober.run(target('10.0.0.1'));
  assert.equal(probed.length, 2);
  now += 2;
  await prober.run(target('10.0.0.1'));
  assert.deepEqual(probed, ['10.0.0.1', '10.0.0.2', '10.0.0.1']);
});

test('a probe that throws is a failed probe, not a crash', async () => {
  const prober = new SharedProber(async () => {
    throw new Error('boom');
  });
  const result = await prober.run(target('10.0.0.3'));
  assert.equal(result.ok, false);
  assert.match(result.reason ?? '', /boom/);
});

test('ProbeClient: the answer reaches the asking probe; an abort ends it as a failure', async () => {
  const sent: ProbeRequest[] = [];
  const client = new ProbeClient((r) => sent.push(r));
  const pending = client.probe(target('10.0.0.4'), new AbortController().signal);
  assert.equal(sent.length, 1);
  client.deliver({ type: 'openslb:probe-result', id: sent[0].id, result: { ok: true } });
  assert.deepEqual(await pending, { ok: true });

  const abort = new AbortController();
  const cancelled = client.probe(target('10.0.0.4'), abort.signal);
  abort.abort();
  assert.equal((await cancelled).ok, false);
  // A late answer for it is ignored.
  client.deliver({ type: 'openslb:probe-result', id: sent[1].id, result: { ok: true } });
});
