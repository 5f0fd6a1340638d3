/**
 * Fault rules as a user meets them: through the official client, against a real server, with
 * the rules managed on the admin listener.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RamService } from '../../src/accounts/ram-service.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, callError, waitForJob, type TestServer } from '../support/server.js';
import { createActiveLoadBalancer, createServerGroup } from '../support/nlb-setup.js';
import { runCli } from '../support/process.js';
import { ManualScheduler } from '../../src/util/scheduler.js';
import { admin, startFaultTestServer } from './support.js';

let server: TestServer;
// API latency rules hold replies on these timers: the latency test moves them.
const timers = new ManualScheduler(Date.now());
let adminUrl: string;
let lb: { id: string; vips: string[] };
const call = (action: string, params: Record<string, unknown> = {}, opts = {}) => callApi(server, NLB, action, params, opts);
const read = (action: string, params: Record<string, unknown> = {}) => callApi(server, NLB, action, params, { placement: 'query' });

before(async () => {
  server = await startFaultTestServer({ timers });
  adminUrl = server.running.adminUrl!;
  lb = await createActiveLoadBalancer(server);
});
after(async () => {
  await server?.stop();
});

async function addRule(rule: Record<string, unknown>): Promise<any> {
  const res = await admin(adminUrl, 'POST', '/faults', rule);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.rule;
}

async function ruleById(id: string): Promise<any> {
  const { body } = await admin(adminUrl, 'GET', '/faults');
  return body.rules.find((r: any) => r.id === id);
}

const ZONES = [
  { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' },
  { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' },
];

test('a Terraform-style create that meets SystemBusy twice succeeds on the third attempt, with exactly one load balancer', async () => {
  const before = Number((await read('ListLoadBalancers')).TotalCount);
  const rule = await addRule({ product: 'nlb', action: 'CreateLoadBalancer', count: 2, effect: { type: 'error', code: 'SystemBusy' } });

  // What the provider does: the same request (and ClientToken) again while the error is retryable.
  const failures: Array<{ code: string; statusCode: number; message: string }> = [];
  let created: Record<string, any> | undefined;
  for (let attempt = 1; attempt <= 5 && !created; attempt++) {
    try {
      created = await call('CreateLoadBalancer', {
        AddressType: 'Intranet',
        VpcId: 'vpc-local',
        ZoneMappings: ZONES,
        LoadBalancerName: 'tf-retry',
        ClientToken: 'tf-create-1',
      });
    } catch (err) {
      const e = err as { code: string; statusCode: number; data: any };
      if (e.code !== 'SystemBusy') throw err;
      failures.push({ code: e.code, statusCode: e.statusCode, message: e.data.Message });
    }
  }
  assert.ok(created, 'the third attempt succeeds');
  assert.deepEqual(failures, [
    { code: 'SystemBusy', statusCode: 400, message: 'System is busy, please try again later.' },
    { code: 'SystemBusy', statusCode: 400, message: 'System is busy, please try again later.' },
  ]);
  const listed = await read('ListLoadBalancers', { LoadBalancerNames: ['tf-retry'] });
  assert.equal(listed.TotalCount, 1);
  assert.equal(listed.LoadBalancers[0].LoadBalancerId, created.LoadbalancerId);
  assert.equal(Number((await read('ListLoadBalancers')).TotalCount), before + 1);

  const state = await ruleById(rule.id);
  assert.equal(state.fired, 2);
  assert.equal(state.remaining, 0);
  const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
  assert.match(metrics, new RegExp(`openslb_faults_injected_total\\{rule="${rule.id}",effect="error"\\} 2`));
});

test('an error after the commit: the change is made, and a retry with the same ClientToken gets the first reply, not a duplicate', async () => {
  await addRule({ product: 'nlb', action: 'CreateServerGroup', count: 1, effect: { type: 'error', code: 'Conflict.Lock', when: 'after' } });
  const params = { ServerGroupName: 'after-commit', VpcId: 'vpc-local', ServerGroupType: 'Ip', ClientToken: 'sg-after-commit' };
  const failed = await callError(call('CreateServerGroup', params));
  assert.equal(failed.code, 'Conflict.Lock');
  assert.equal(failed.statusCode, 400);
  assert.match(failed.data.Message, /^The Lock \[.+\] is conflict\.$/);

  const listed = await read('ListServerGroups', { ServerGroupNames: ['after-commit'] });
  assert.equal(listed.TotalCount, 1, 'the group was created although the caller saw an error');
  const retried = await call('CreateServerGroup', params);
  assert.equal(retried.ServerGroupId, listed.ServerGroups[0].ServerGroupId);
  assert.equal((await read('ListServerGroups', { ServerGroupNames: ['after-commit'] })).TotalCount, 1);
});

test('a job forced to fail is Failed in GetJobStatus, ListAsynJobs and openslb --wait', async () => {
  const sg = await createServerGroup(server, { HealthCheckConfig: { HealthCheckEnabled: false } }, []);
  const rule = await addRule({
    product: 'nlb',
    action: 'CreateListener',
    count: 2,
    effect: { type: 'fail-job', reason: 'the disk is on fire' },
  });

  const { JobId, ListenerId } = await call('CreateListener', {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 7401,
    ServerGroupId: sg,
  });
  assert.equal(await waitForJob(server, JobId), 'Failed');
  const jobs = await read('ListAsynJobs', { JobIds: [JobId] });
  // A failed job says why in ListAsynJobs too (ErrorCode / ErrorMessage, as ALB's job entries do).
  assert.deepEqual(jobs.Jobs, [
    {
      Id: JobId,
      Status: 'Failed',
      ErrorCode: 'OperationFailed.FaultInjected',
      ErrorMessage: `the disk is on fire (fault rule ${rule.id})`,
    },
  ]);
  // The create did not happen, as when the cloud fails it: the listener ends Stopped.
  assert.equal((await read('GetListenerAttribute', { ListenerId })).ListenerStatus, 'Stopped');
  const row = await server.running.store.db
    .selectFrom('jobs')
    .select(['error_code', 'error_message'])
    .where('id', '=', JobId)
    .executeTakeFirstOrThrow();
  assert.equal(row.error_code, 'OperationFailed.FaultInjected');
  assert.equal(row.error_message, `the disk is on fire (fault rule ${rule.id})`);

  const cli = await runCli(
    [
      'nlb',
      'CreateListener',
      '--LoadBalancerId',
      lb.id,
      '--ListenerProtocol',
      'TCP',
      '--ListenerPort',
      '7402',
      '--ServerGroupId',
      sg,
      '--wait',
      '--endpoint',
      server.url,
    ],
    { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
  );
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /job \S+ Failed/);
  assert.equal((await ruleById(rule.id)).remaining, 0);
});

test('a held job stays Processing and its resource in its transitional status while later changes finish', async () => {
  await addRule({ product: 'nlb', action: 'CreateServerGroup', count: 1, effect: { type: 'hold-job', ms: '1h' } });
  const held = await call('CreateServerGroup', { ServerGroupName: 'held-group', VpcId: 'vpc-local', ServerGroupType: 'Ip' });
  // A later change is applied by the data plane and finishes; the held one does not.
  const other = await call('CreateServerGroup', { ServerGroupName: 'free-group', VpcId: 'vpc-local', ServerGroupType: 'Ip' });
  assert.equal(await waitForJob(server, other.JobId), 'Succeeded');
  assert.equal((await read('GetJobStatus', { JobId: held.JobId })).Status, 'Processing');
  const group = (await read('ListServerGroups', { ServerGroupIds: [held.ServerGroupId] })).ServerGroups[0];
  assert.equal(group.ServerGroupStatus, 'Creating');
  const refused = await callError(call('UpdateServerGroupAttribute', { ServerGroupId: held.ServerGroupId, ServerGroupName: 'renamed' }));
  assert.match(refused.code, /^IncorrectStatus\./);
});

test('a rule scoped to one AccessKey throttles that caller only', async () => {
  const ram = new RamService(server.running.store);
  await ram.createUser('chaos-victim');
  await ram.createPolicy('nlb-all', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'nlb:*', Resource: '*' }] }));
  await ram.attachPolicy('nlb-all', 'chaos-victim');
  const key = await ram.createAccessKey('chaos-victim');
  const asVictim = { accessKeyId: key.accessKeyId, accessKeySecret: key.secret, placement: 'query' as const };

  const rule = await addRule({ accessKeyId: key.accessKeyId, effect: { type: 'error', code: 'Throttling.User' } });
  const throttled = await callError(callApi(server, NLB, 'ListLoadBalancers', {}, asVictim));
  assert.equal(throttled.data.Code, 'Throttling.User');
  assert.equal(throttled.data.Message, 'Request was denied due to api flow control.');
  // Everyone else is untouched.
  for (let i = 0; i < 3; i++) assert.ok(Number((await read('ListLoadBalancers')).TotalCount) >= 1);
  assert.equal((await ruleById(rule.id)).fired, 1);

  assert.equal((await admin(adminUrl, 'DELETE', `/faults/${rule.id}`)).status, 200);
  assert.ok(await callApi(server, NLB, 'ListLoadBalancers', {}, asVictim));
});

test('latency holds the reply for the injected time, not less; the reply itself is unchanged', async () => {
  await addRule({ product: 'nlb', action: 'DescribeZones', count: 1, effect: { type: 'latency', ms: 400 } });
  const waitingBefore = timers.pending;
  let replied = false;
  const reply = read('DescribeZones').finally(() => (replied = true));
  // The reply is ready and held once the latency timer is set: a real event, polled for a bounded while.
  for (let i = 0; i < 1000 && timers.pending === waitingBefore; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(timers.pending, waitingBefore + 1, 'the latency rule set its timer');
  timers.advance(399);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(replied, false, 'no reply 1 ms before the injected latency has passed');
  timers.advance(1);
  const zones = await reply;
  assert.equal(zones.Zones.length, 2);
});

test('the admin API refuses a bad rule with the reason, and an unknown rule with 404', async () => {
  const bad = await admin(adminUrl, 'POST', '/faults', { action: 'Create*', effect: { type: 'explode' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.Code, 'InvalidFaultRule');
  assert.match(bad.body.Message, /effect\.type must be one of/);
  const notJson = await fetch(`${adminUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
  assert.equal(notJson.status, 400);
  assert.equal(((await notJson.json()) as any).Code, 'MalformedRequest');
  assert.equal((await admin(adminUrl, 'DELETE', '/faults/fault-nope')).status, 404);
  // Nothing half-written.
  assert.ok((await admin(adminUrl, 'GET', '/faults')).body.rules.every((r: any) => r.effect.type !== 'explode'));
});

test('GWLB changes carry no JobId, yet a held job keeps the resource Creating and a failed one undoes the create', async () => {
  const { gwlb, groupStatus, until } = await import('../products/gwlb/support.js');
  await addRule({ product: 'gwlb', action: 'CreateServerGroup', count: 1, effect: { type: 'hold-job', ms: '1h' } });
  const held = await gwlb(server, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupName: 'gw-held' });
  const free = await gwlb(server, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupName: 'gw-free' });
  await until(() => groupStatus(server, free.ServerGroupId), 'Available');
  assert.equal(await groupStatus(server, held.ServerGroupId), 'Creating');

  const failing = await addRule({ product: 'gwlb', action: 'CreateServerGroup', count: 1, effect: { type: 'fail-job' } });
  const doomed = await gwlb(server, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupName: 'gw-doomed' });
  await until(
    async () =>
      (await ruleById(failing.id)).fired === 1 &&
      (await server.running.store.db.selectFrom('jobs').select('status').where('resource_id', '=', doomed.ServerGroupId).executeTakeFirst())
        ?.status,
    'Failed',
  );
  assert.equal(await groupStatus(server, doomed.ServerGroupId), undefined, 'the failed create left no group behind');
});
