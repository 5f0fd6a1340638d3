/**
 * Two API processes (`openslb serve --role api`) on one PostgreSQL store share their fault
 * rules: a rule added on one applies on the other, a counted rule fires its N times across
 * both together, and a rule removed on one stops on the other within a second.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi } from '../support/server.js';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { admin, until } from './support.js';

let pg: TestPostgres;
const nodes: Array<{ serve: ServeProcess; api: { host: string; port: number }; adminUrl: string }> = [];

async function startApiNode(): Promise<(typeof nodes)[number]> {
  const serve = await startServe(
    ['--role', 'api', '--store', pg.url, '--api-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'warn'],
    { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
  );
  const url = new URL(serve.apiUrl);
  const adminUrl = /metrics on (http:\/\/[\d.]+:\d+)\/metrics/.exec(serve.stderr())![1];
  const node = { serve, api: { host: url.hostname, port: Number(url.port) }, adminUrl };
  nodes.push(node);
  return node;
}

before(async () => {
  pg = await startTestPostgres();
});
after(async () => {
  for (const n of nodes) await stopProcess(n.serve.child);
  await pg?.stop();
});

/** The call's error code, or 'Success'. */
async function outcome(node: (typeof nodes)[number], action: string): Promise<string> {
  try {
    await callApi(node.api, NLB, action, {}, { placement: 'query' });
    return 'Success';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

test('a counted rule fires its N times across both API processes; add and remove on either reach the other', async () => {
  const a = await startApiNode();
  const b = await startApiNode();

  const added = await admin(a.adminUrl, 'POST', '/faults', {
    product: 'nlb',
    action: 'ListLoadBalancers',
    count: 3,
    effect: { type: 'error', code: 'SystemBusy' },
  });
  assert.equal(added.status, 201);
  // B has answered no call yet, so it reads the rules afresh on its first one.
  const seen = [];
  for (const node of [a, b, a, b, a, b]) seen.push(await outcome(node, 'ListLoadBalancers'));
  assert.deepEqual(seen, ['SystemBusy', 'SystemBusy', 'SystemBusy', 'Success', 'Success', 'Success']);
  const onB = (await admin(b.adminUrl, 'GET', '/faults')).body.rules;
  assert.equal(onB.length, 1);
  assert.equal(onB[0].fired, 3);
  assert.equal(onB[0].remaining, 0);

  // Added on B, applied by A (within its one-second cache), removed on A, gone on B.
  const rule = (await admin(b.adminUrl, 'POST', '/faults', { action: 'DescribeZones', effect: { type: 'error', code: 'Conflict.Lock' } }))
    .body.rule;
  assert.equal(await outcome(b, 'DescribeZones'), 'Conflict.Lock');
  await until('A applies the rule added on B', async () => (await outcome(a, 'DescribeZones')) === 'Conflict.Lock', 500);
  assert.equal((await admin(a.adminUrl, 'DELETE', `/faults/${rule.id}`)).status, 200);
  assert.equal(await outcome(a, 'DescribeZones'), 'Success');
  await until('B drops the rule removed on A', async () => (await outcome(b, 'DescribeZones')) === 'Success', 500);
});
