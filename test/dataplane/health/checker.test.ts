import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { HealthChecker, probeOffset, type HealthChange, type HealthTarget, type ProbeFn } from '../../../src/dataplane/health/checker.js';
import type { ProbeResult } from '../../../src/dataplane/health/state.js';
import type { HealthCheckDoc } from '../../../src/domain/nlb-documents.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';

const HOST = '127.0.0.1';

const TCP: HealthCheckDoc = {
  HealthCheckEnabled: true,
  HealthCheckType: 'TCP',
  HealthCheckConnectPort: 0,
  HealthCheckConnectTimeout: 2,
  HealthCheckInterval: 5,
  HealthyThreshold: 2,
  UnhealthyThreshold: 2,
  HealthCheckHttpCode: [],
};

function setup(probe?: ProbeFn) {
  const scheduler = new ManualScheduler();
  const changes: HealthChange[] = [];
  const checker = new HealthChecker({ scheduler, probe, onChange: (c) => changes.push(c) });
  const step = async (ms: number): Promise<void> => {
    scheduler.advance(ms);
    await checker.idle();
  };
  return { scheduler, checker, changes, step };
}

function listenTcp(port = 0): Promise<net.Server> {
  const server = net.createServer((sock) => sock.on('error', () => undefined));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => resolve(server));
  });
}

function close(server: net.Server | http.Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

test('tcp target: Initial → Healthy → Unhealthy when the server closes → Healthy when it is back', async () => {
  let server = await listenTcp();
  const port = (server.address() as AddressInfo).port;
  const key = `sgp-1/${HOST}:${port}`;
  const { checker, changes, step, scheduler } = setup();
  const start = scheduler.now();
  checker.update([{ key, host: HOST, port, config: TCP }]);
  try {
    assert.equal(checker.state(key)?.status, 'Initial');
    assert.equal(checker.state(key)?.forwardable, false);

    await step(probeOffset(key, 5000)); // the first probe
    assert.equal(checker.state(key)?.status, 'Initial');
    assert.equal(checker.state(key)?.successes, 1);

    await step(5000);
    assert.equal(checker.state(key)?.status, 'Healthy');
    assert.equal(checker.state(key)?.forwardable, true);
    const healthyAt = start + probeOffset(key, 5000) + 5000;
    assert.deepEqual(changes, [{ key, from: 'Initial', to: 'Healthy', at: healthyAt }]);

    await close(server);
    await step(5000);
    assert.equal(checker.state(key)?.status, 'Healthy', 'one failure is not a verdict');
    assert.equal(checker.state(key)?.failures, 1);
    await step(5000);
    const down = checker.state(key);
    assert.equal(down?.status, 'Unhealthy');
    assert.equal(down?.forwardable, false);
    assert.equal(down?.reason, 'connect ECONNREFUSED');
    assert.equal(down?.code, 'CONNECT_FAILED');
    assert.deepEqual(changes.at(-1), {
      key,
      from: 'Healthy',
      to: 'Unhealthy',
      at: healthyAt + 10_000,
      reason: 'connect ECONNREFUSED',
      code: 'CONNECT_FAILED',
    });

    server = await listenTcp(port);
    await step(5000);
    await step(5000);
    assert.equal(checker.state(key)?.status, 'Healthy');
    assert.equal(checker.state(key)?.reason, undefined, 'no reason while healthy');
    assert.equal(checker.state(key)?.lastFailure?.reason, 'connect ECONNREFUSED');
    assert.deepEqual(
      changes.map((c) => `${c.from}->${c.to}`),
      ['Initial->Healthy', 'Healthy->Unhealthy', 'Unhealthy->Healthy'],
    );
  } finally {
    await checker.stop();
    await close(server);
  }
});

test('http target: probes the connect port with the configured path and reacts to the status code', async () => {
  let status = 200;
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(`${req.method} ${req.url} ${req.headers.host}`);
    res.writeHead(status);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const hcPort = (server.address() as AddressInfo).port;
  const config: HealthCheckDoc = {
    ...TCP,
    HealthCheckType: 'HTTP',
    HealthCheckConnectPort: hcPort,
    HealthCheckUrl: '/healthz',
    HealthCheckDomain: '$SERVER_IP',
    HealthCheckHttpCode: ['http_2xx'],
    HttpCheckMethod: 'HEAD',
    HealthCheckHttpVersion: 'HTTP1.1',
  };
  const key = 'sgp-2/127.0.0.1:8080';
  const { checker, step } = setup();
  checker.update([{ key, host: HOST, port: 8080, config }]);
  try {
    assert.equal(checker.state(key)?.probePort, hcPort);
    await step(probeOffset(key, 5000));
    await step(5000);
    assert.equal(checker.state(key)?.status, 'Healthy');
    assert.deepEqual(paths, [`HEAD /healthz ${HOST}`, `HEAD /healthz ${HOST}`]);
    status = 503;
    await step(5000);
    await step(5000);
    assert.equal(checker.state(key)?.status, 'Unhealthy');
    assert.equal(checker.state(key)?.reason, 'HTTP 503 not in http_2xx');
    assert.equal(checker.state(key)?.code, 'HTTP_CODE_NOT_MATCH');
  } finally {
    await checker.stop();
    server.closeAllConnections();
    await close(server);
  }
});

/** A fake probe: per-key scripted results, and a log of who was probed when. */
function scripted(scheduler: () => number) {
  const results = new Map<string, ProbeResult>();
  const calls: Array<{ key: string; at: number; port: number }> = [];
  const probe: ProbeFn = async (target) => {
    calls.push({ key: target.key, at: scheduler(), port: target.config.HealthCheckConnectPort || target.port });
    return results.get(target.key) ?? { ok: true };
  };
  return { results, calls, probe };
}

test('probes run every interval from a fixed per-key offset, without drift', async () => {
  let now = (): number => 0;
  const fake = scripted(() => now());
  const { checker, scheduler, step } = setup(fake.probe);
  now = () => scheduler.now();
  const start = scheduler.now();
  const key = 'sgp-3/10.0.0.1:80';
  checker.update([{ key, host: '10.0.0.1', port: 80, config: TCP }]);
  for (let i = 0; i < 4; i++) await step(5000);
  const offset = probeOffset(key, 5000);
  assert.deepEqual(
    fake.calls.map((c) => c.at - start),
    [offset, offset + 5000, offset + 10_000, offset + 15_000].filter((t) => t <= 20_000),
  );
  await checker.stop();
});

test('update keeps the verdict of unchanged targets, restarts changed probes, and reports disabled checks as Unavailable', async () => {
  let now = (): number => 0;
  const fake = scripted(() => now());
  const { checker, scheduler, changes, step } = setup(fake.probe);
  now = () => scheduler.now();
  const a: HealthTarget = { key: 'sgp/a:80', host: '10.0.0.1', port: 80, config: { ...TCP } };
  const b: HealthTarget = { key: 'sgp/b:80', host: '10.0.0.2', port: 80, config: { ...TCP } };
  checker.update([a, b]);
  await step(5000);
  await step(5000);
  assert.deepEqual(
    checker.snapshot().map((t) => [t.key, t.status]),
    [
      ['sgp/a:80', 'Healthy'],
      ['sgp/b:80', 'Healthy'],
    ],
  );
  assert.equal(changes.length, 2);

  // A reconcile with equal (but freshly built) configs changes nothing.
  checker.update([
    { ...a, config: { ...TCP } },
    { ...b, config: { ...TCP } },
  ]);
  assert.equal(checker.state(a.key)?.status, 'Healthy');
  assert.equal(checker.state(b.key)?.status, 'Healthy');
  assert.equal(changes.length, 2);
  assert.equal(scheduler.pending, 2, 'still one timer per target');

  // Timing-only changes keep the verdict; a new probe port starts over.
  checker.update([
    { ...a, config: { ...TCP, HealthCheckInterval: 10, HealthyThreshold: 3 } },
    { ...b, config: { ...TCP, HealthCheckConnectPort: 8080 } },
  ]);
  assert.equal(checker.state(a.key)?.status, 'Healthy');
  assert.equal(checker.state(b.key)?.status, 'Initial');
  assert.equal(checker.state(b.key)?.probePort, 8080);
  assert.deepEqual(
    changes.slice(2).map((c) => [c.key, c.from, c.to]),
    [['sgp/b:80', 'Healthy', 'Initial']],
  );
  assert.equal(scheduler.pending, 2);

  // Health check off: Unavailable, forwarded to, never probed.
  checker.update([
    { ...a, config: { ...TCP, HealthCheckEnabled: false } },
    { ...b, config: { ...TCP, HealthCheckConnectPort: 8080 } },
  ]);
  const off = checker.state(a.key);
  assert.equal(off?.status, 'Unavailable');
  assert.equal(off?.forwardable, true);
  assert.deepEqual(changes.at(-1)?.to, 'Unavailable');
  const probedBefore = fake.calls.filter((c) => c.key === a.key).length;
  await step(10_000);
  await step(10_000);
  assert.equal(fake.calls.filter((c) => c.key === a.key).length, probedBefore);
  assert.equal(checker.state(b.key)?.status, 'Healthy');
  assert.deepEqual(
    fake.calls
      .filter((c) => c.key === b.key)
      .slice(-2)
      .map((c) => c.port),
    [8080, 8080],
  );

  // Switching it back on starts at Initial.
  checker.update([a, { ...b, config: { ...TCP, HealthCheckConnectPort: 8080 } }]);
  assert.equal(checker.state(a.key)?.status, 'Initial');
  assert.deepEqual(changes.at(-1)?.from, 'Unavailable');

  // Removing targets drops them and their timers.
  checker.update([]);
  assert.deepEqual(checker.snapshot(), []);
  assert.equal(checker.state(a.key), undefined);
  assert.equal(scheduler.pending, 0);
  await checker.stop();
});

test('3,000 targets are spread over the interval', async () => {
  let now = (): number => 0;
  const fake = scripted(() => now());
  const { checker, scheduler, step } = setup(fake.probe);
  now = () => scheduler.now();
  const start = scheduler.now();
  const targets: HealthTarget[] = [];
  for (let i = 0; i < 3000; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    targets.push({ key: `sgp-big/${ip}:80`, host: ip, port: 80, config: TCP });
  }
  checker.update(targets);
  await step(4999); // one full interval: offsets are in [0, 5000)
  const perSlot = new Array<number>(50).fill(0);
  for (const c of fake.calls) perSlot[Math.floor((c.at - start) / 100)]++;
  assert.equal(fake.calls.length, 3000, 'every target probed once per interval');
  assert.equal(new Set(fake.calls.map((c) => c.key)).size, 3000);
  const mean = 3000 / 50;
  assert.ok(Math.min(...perSlot) > 0, `an empty 100 ms slot: ${perSlot.join(',')}`);
  assert.ok(Math.max(...perSlot) <= 2 * mean, `a crowded 100 ms slot: ${perSlot.join(',')}`);
  const instants = new Set(fake.calls.map((c) => c.at - start));
  assert.ok(instants.size > 2000, `only ${instants.size} distinct instants`);
  // Deterministic: the same key always lands on the same offset.
  assert.equal(probeOffset('sgp-big/10.0.0.7:80', 5000), probeOffset('sgp-big/10.0.0.7:80', 5000));
  await checker.stop();
});

test('a probe still in flight is not started again; stop() aborts it and clears the timers', async () => {
  let started = 0;
  let aborted = 0;
  const hanging: ProbeFn = (_t, signal) => {
    started++;
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        aborted++;
        resolve({ ok: false, reason: 'probe aborted' });
      });
    });
  };
  const { checker, scheduler, changes } = setup(hanging);
  const key = 'sgp/slow:80';
  checker.update([{ key, host: '10.0.0.9', port: 80, config: { ...TCP, HealthCheckInterval: 1 } }]);
  scheduler.advance(5000);
  assert.equal(started, 1, 'later runs were skipped while the first probe hung');
  assert.equal(checker.probesInFlight, 1);
  await checker.stop();
  assert.equal(aborted, 1);
  assert.equal(checker.probesInFlight, 0);
  assert.equal(scheduler.pending, 0);
  assert.equal(checker.state(key)?.status, 'Initial', 'an aborted probe is not a verdict');
  assert.equal(changes.length, 0);
  checker.update([{ key: 'sgp/other:80', host: '10.0.0.10', port: 80, config: TCP }]);
  assert.equal(scheduler.pending, 0, 'update after stop is ignored');
});

test('a probe that throws or rejects counts as a failure; listener errors go to onError', async () => {
  const scheduler = new ManualScheduler();
  const errors: unknown[] = [];
  const checker = new HealthChecker({
    scheduler,
    probe: () => Promise.reject(new Error('boom')),
    onError: (e) => errors.push(e),
  });
  const seen: string[] = [];
  const off = checker.onChange((c) => seen.push(c.to));
  checker.onChange(() => {
    throw new Error('listener broke');
  });
  const key = 'sgp/x:80';
  checker.update([{ key, host: '10.0.0.1', port: 80, config: { ...TCP, HealthCheckInterval: 1 } }]);
  scheduler.advance(1000);
  await checker.idle();
  scheduler.advance(1000);
  await checker.idle();
  assert.equal(checker.state(key)?.status, 'Unhealthy');
  assert.equal(checker.state(key)?.reason, 'probe error: Error: boom');
  assert.deepEqual(seen, ['Unhealthy']);
  assert.equal(errors.length, 1);
  off();
  await checker.stop();
});

test('ManualScheduler runs due callbacks in order, including ones scheduled on the way', () => {
  const s = new ManualScheduler(1000);
  const log: string[] = [];
  s.setTimeout(() => log.push(`b@${s.now()}`), 20);
  s.setTimeout(() => {
    log.push(`a@${s.now()}`);
    s.setTimeout(() => log.push(`c@${s.now()}`), 5);
    s.setTimeout(() => log.push(`late@${s.now()}`), 500);
  }, 10);
  s.setTimeout(() => log.push(`b2@${s.now()}`), 20);
  const cancelled = s.setTimeout(() => log.push('never'), 15);
  s.clearTimeout(cancelled);
  assert.equal(s.pending, 3);
  s.advance(100);
  assert.deepEqual(log, ['a@1010', 'c@1015', 'b@1020', 'b2@1020']);
  assert.equal(s.now(), 1100);
  assert.equal(s.pending, 1);
  assert.equal(s.nextDue(), 1510);
  s.setTimeout(() => log.push(`zero@${s.now()}`), 0);
  s.runDue();
  assert.equal(log.at(-1), 'zero@1100');
  assert.throws(() => s.advance(-1), RangeError);
  assert.throws(() => s.advanceTo(0), RangeError);
});
