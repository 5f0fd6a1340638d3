import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRing, parseSample } from '../../src/console/metrics-ring.js';

const text = (active: number, total: number, idle = 0) =>
  [
    '# HELP openslb_listener_active_connections Connections open now, per listener.',
    '# TYPE openslb_listener_active_connections gauge',
    `openslb_listener_active_connections{listener="lsn-a@80",protocol="TCP"} ${active}`,
    `openslb_listener_active_connections{listener="lsn-idle@81",protocol="TCP"} ${idle}`,
    `openslb_listener_connections_total{listener="lsn-a@80",protocol="TCP"} ${total}`,
    'openslb_api_requests_total{product="nlb",action="X",code="Success"} 7',
  ].join('\n');

test('a sample line is split into metric, labels (escapes undone) and value', () => {
  assert.deepEqual(parseSample('m{a="x",b="q\\"uote"} 4.5'), {
    key: 'm{a="x",b="q\\"uote"}',
    metric: 'm',
    labels: { a: 'x', b: 'q"uote' },
    value: 4.5,
  });
  assert.deepEqual(parseSample('plain 3'), { key: 'plain', metric: 'plain', labels: {}, value: 3 });
  assert.equal(parseSample('broken{a="x"} NaNish'), undefined);
});

test('the ring keeps the data-plane series per label, oldest first, and only the newest `capacity` samples', () => {
  const ring = new MetricsRing({ capacity: 3 });
  for (let i = 1; i <= 5; i++) ring.record(i * 5000, text(i, i * 10));
  const reply = ring.query('listener', 'lsn-a@80');
  assert.deepEqual(reply.timestamps, [15, 20, 25]);
  const byMetric = Object.fromEntries(reply.series.map((s) => [s.metric, s.values]));
  assert.deepEqual(byMetric.openslb_listener_active_connections, [3, 4, 5]);
  assert.deepEqual(byMetric.openslb_listener_connections_total, [30, 40, 50]);
  // API counters are not chart data here.
  assert.equal(ring.query('product', 'nlb').series.length, 0);
});

test('an idle series costs nothing until it moves, then reads as zero before its first value', () => {
  const ring = new MetricsRing({ capacity: 4 });
  ring.record(1000, text(1, 1, 0));
  ring.record(2000, text(1, 1, 0));
  assert.equal(ring.query('listener', 'lsn-idle@81').series.length, 0);
  assert.equal(ring.seriesCount, 2);
  ring.record(3000, text(1, 1, 2));
  assert.deepEqual(ring.query('listener', 'lsn-idle@81').series[0].values, [0, 0, 2]);
});

test('a series that disappears (listener deleted) has gaps, and maxSeries bounds the memory', () => {
  const ring = new MetricsRing({ capacity: 4, maxSeries: 1 });
  ring.record(1000, text(1, 1));
  ring.record(2000, '');
  assert.deepEqual(ring.query('listener', 'lsn-a@80').series[0].values, [1, null]);
  assert.equal(ring.seriesCount, 1);
  assert.ok(ring.droppedSeries >= 1);
});

test('health series are kept from their first sample, zero included, and are missing (not zero) before it', () => {
  const ring = new MetricsRing({ capacity: 4 });
  ring.record(1000, '');
  ring.record(2000, 'openslb_server_healthy{server_group="sgp-1",server="10.0.0.1:80"} 0');
  ring.record(3000, 'openslb_server_healthy{server_group="sgp-1",server="10.0.0.1:80"} 1');
  assert.deepEqual(ring.query('server_group', 'sgp-1').series[0].values, [null, 0, 1]);
});

test('the newest sample answers label lookups, e.g. which engine forwards each listener', () => {
  const ring = new MetricsRing({ capacity: 4 });
  ring.record(
    1000,
    [
      'openslb_listener_engine{listener="lsn-a@80",engine="kernel"} 1',
      'openslb_listener_engine{listener="lsn-b@81",engine="userspace"} 1',
    ].join('\n'),
  );
  ring.record(
    2000,
    [
      'openslb_listener_engine{listener="lsn-a@80",engine="kernel"} 1',
      'openslb_listener_engine{listener="lsn-b@81",engine="kernel"} 1',
    ].join('\n'),
  );
  assert.deepEqual(ring.latestLabels('openslb_listener_engine', 'listener', 'engine'), { 'lsn-a@80': 'kernel', 'lsn-b@81': 'kernel' });
  assert.deepEqual(new MetricsRing().latestLabels('openslb_listener_engine', 'listener', 'engine'), {});
});
