import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HealthStateMachine,
  initialHealthState,
  observeProbe,
  type HealthState,
  type HealthTransition,
  type ProbeResult,
} from '../../../src/dataplane/health/state.js';

const ok: ProbeResult = { ok: true };
const refused: ProbeResult = { ok: false, reason: 'connect ECONNREFUSED', code: 'CONNECT_FAILED' };
const timeout: ProbeResult = { ok: false, reason: 'connect timeout after 5s', code: 'CONNECT_TIMEOUT' };

function run(results: ProbeResult[], thresholds = { healthy: 2, unhealthy: 3 }): { state: HealthState; transitions: HealthTransition[] } {
  let state = initialHealthState(0);
  const transitions: HealthTransition[] = [];
  results.forEach((r, i) => {
    const out = observeProbe(state, r, thresholds, (i + 1) * 1000);
    state = out.state;
    if (out.transition) transitions.push(out.transition);
  });
  return { state, transitions };
}

test('a new target is Initial with no streaks', () => {
  const s = initialHealthState(42);
  assert.deepEqual(s, { status: 'Initial', successes: 0, failures: 0, since: 42 });
});

test('Initial → Healthy after HealthyThreshold consecutive successes', () => {
  const one = run([ok]);
  assert.equal(one.state.status, 'Initial');
  assert.equal(one.state.successes, 1);
  assert.equal(one.transitions.length, 0);

  const two = run([ok, ok]);
  assert.equal(two.state.status, 'Healthy');
  assert.deepEqual(two.transitions, [{ from: 'Initial', to: 'Healthy', at: 2000 }]);
  assert.equal(two.state.since, 2000);
  assert.equal(two.state.lastProbeAt, 2000);
});

test('Initial → Unhealthy after UnhealthyThreshold consecutive failures, with the reason', () => {
  const two = run([refused, refused]);
  assert.equal(two.state.status, 'Initial');
  assert.equal(two.state.failures, 2);

  const three = run([refused, refused, timeout]);
  assert.equal(three.state.status, 'Unhealthy');
  assert.deepEqual(three.transitions, [
    { from: 'Initial', to: 'Unhealthy', at: 3000, reason: 'connect timeout after 5s', code: 'CONNECT_TIMEOUT' },
  ]);
  assert.deepEqual(three.state.lastFailure, { reason: 'connect timeout after 5s', code: 'CONNECT_TIMEOUT', at: 3000 });
});

test('mixed results keep a target Initial: streaks reset each other', () => {
  const r = run([ok, refused, ok, refused, refused, ok]);
  assert.equal(r.state.status, 'Initial');
  assert.equal(r.state.successes, 1);
  assert.equal(r.state.failures, 0);
  assert.equal(r.transitions.length, 0);
});

test('Healthy → Unhealthy needs UnhealthyThreshold failures in a row; a success in between restarts the count', () => {
  const r = run([ok, ok, refused, refused, ok, refused, refused, refused]);
  assert.deepEqual(
    r.transitions.map((t) => `${t.from}->${t.to}@${t.at}`),
    ['Initial->Healthy@2000', 'Healthy->Unhealthy@8000'],
  );
  assert.equal(r.state.failures, 3);
  assert.equal(r.state.successes, 0);
});

test('Unhealthy → Healthy after HealthyThreshold successes; the last failure is kept', () => {
  const r = run([refused, refused, refused, ok, ok], { healthy: 2, unhealthy: 3 });
  assert.deepEqual(
    r.transitions.map((t) => `${t.from}->${t.to}`),
    ['Initial->Unhealthy', 'Unhealthy->Healthy'],
  );
  assert.equal(r.state.status, 'Healthy');
  assert.equal(r.state.lastFailure?.reason, 'connect ECONNREFUSED');
  assert.equal(r.state.lastFailure?.at, 3000);
});

test('staying in a state emits nothing and keeps `since`', () => {
  const r = run([ok, ok, ok, ok, ok]);
  assert.equal(r.transitions.length, 1);
  assert.equal(r.state.since, 2000);
  assert.equal(r.state.successes, 5);
});

test('an Unhealthy target that keeps failing keeps the newest reason', () => {
  const r = run([refused, refused, refused, timeout]);
  assert.equal(r.state.status, 'Unhealthy');
  assert.equal(r.state.lastFailure?.reason, 'connect timeout after 5s');
  assert.equal(r.transitions.length, 1);
});

test('thresholds below 1 count as 1; a failure without a reason gets a generic one', () => {
  const r = run([{ ok: false }], { healthy: 0, unhealthy: 0 });
  assert.equal(r.state.status, 'Unhealthy');
  assert.equal(r.state.lastFailure?.reason, 'probe failed');
  const h = run([ok], { healthy: -3, unhealthy: 2 });
  assert.equal(h.state.status, 'Healthy');
});

test('observeProbe does not mutate its input', () => {
  const s = initialHealthState(0);
  const copy = structuredClone(s);
  observeProbe(s, refused, { healthy: 2, unhealthy: 2 }, 1);
  assert.deepEqual(s, copy);
});

test('HealthStateMachine wraps the pure function and can be reset', () => {
  const m = new HealthStateMachine({ healthy: 2, unhealthy: 2 }, 0);
  assert.equal(m.observe(ok, 1), undefined);
  assert.deepEqual(m.observe(ok, 2), { from: 'Initial', to: 'Healthy', at: 2 });
  assert.equal(m.state.status, 'Healthy');
  m.thresholds = { healthy: 2, unhealthy: 1 };
  assert.equal(m.observe(refused, 3)?.to, 'Unhealthy');
  m.reset(10);
  assert.deepEqual(m.state, { status: 'Initial', successes: 0, failures: 0, since: 10 });
});
