import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer } from '../../support/nlb-setup.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server?.stop());

// The SDK sends both HdMonitor operations' parameters in the query string.
function describeConfig() {
  return callApi(server, NLB, 'DescribeHdMonitorRegionConfig', {}, { placement: 'query' });
}

function setConfig(params: Record<string, unknown>) {
  return callApi(server, NLB, 'SetHdMonitorRegionConfig', params, { placement: 'query' });
}

test('the region has no fine-grained monitoring target until one is set', async () => {
  const e = await callError(describeConfig());
  assert.equal(e.code, 'DescribeHDMonitor.Fail');
  assert.equal(e.statusCode, 404);

  const target = { LogProject: 'hdmonitor-cn-hangzhou-1234', MetricStore: 'hdmonitor-cn-hangzhou-metricStore-1' };
  const set = await setConfig(target);
  assert.deepEqual({ ...set, RequestId: undefined }, { ...target, RegionId: 'cn-hangzhou', RequestId: undefined });
  const got = await describeConfig();
  assert.equal(got.RegionId, 'cn-hangzhou');
  assert.equal(got.LogProject, target.LogProject);
  assert.equal(got.MetricStore, target.MetricStore);

  await setConfig({ LogProject: 'other-project', MetricStore: 'other_store' });
  assert.equal((await describeConfig()).LogProject, 'other-project');
});

test('bad names are refused and keep the current target', async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ MetricStore: 'store-1' }, 'MissingParam.LogProject'],
    [{ LogProject: 'project-1' }, 'MissingParam.MetricStore'],
    [{ LogProject: 'Upper-Case', MetricStore: 'store-1' }, 'IllegalParam.LogProject'],
    [{ LogProject: 'project-', MetricStore: 'store-1' }, 'IllegalParam.LogProject'],
    [{ LogProject: 'project-1', MetricStore: 's' }, 'IllegalParam.MetricStore'],
  ];
  for (const [params, code] of cases) {
    assert.equal((await callError(setConfig(params))).code, code, JSON.stringify(params));
  }
  assert.equal((await describeConfig()).LogProject, 'other-project');
});

test('the target cannot move while a listener sends fine-grained metrics to it', async () => {
  const { id: lb } = await createActiveLoadBalancer(server);
  const group = await callApi(server, NLB, 'CreateServerGroup', { ServerGroupName: 'metrics', VpcId: 'vpc-local' });
  const listener = await callApi(server, NLB, 'CreateListener', {
    LoadBalancerId: lb,
    ListenerProtocol: 'TCP',
    ListenerPort: 443,
    ServerGroupId: group.ServerGroupId,
    SecSensorEnabled: true,
  });
  const current = await describeConfig();

  const moved = await callError(setConfig({ LogProject: 'new-project', MetricStore: 'new-store' }));
  assert.equal(moved.code, 'EnableHDMonitor.Fail');
  assert.equal((await describeConfig()).LogProject, current.LogProject);
  // Setting the same target again is harmless.
  await setConfig({ LogProject: current.LogProject, MetricStore: current.MetricStore });
  assert.ok(listener.ListenerId);

  // Nor can it be deleted; once the listener stops sending, it can.
  const refused = await callError(deleteConfig());
  assert.equal(refused.code, 'DeleteHDMonitor.Fail');
  assert.equal((await describeConfig()).LogProject, current.LogProject);
  await waitForJob(server, listener.JobId);
  const update = await callApi(server, NLB, 'UpdateListenerAttribute', { ListenerId: listener.ListenerId, SecSensorEnabled: false });
  await waitForJob(server, update.JobId);
  const deleted = await deleteConfig();
  assert.equal(deleted.RegionId, 'cn-hangzhou');
  assert.equal((await callError(describeConfig())).statusCode, 404);
});

function deleteConfig() {
  // Terraform's provider sends RegionId in the form body of an RPC POST.
  return callApi(server, NLB, 'DeleteHdMonitorRegionConfig', { RegionId: 'cn-hangzhou' });
}

test('DeleteHdMonitorRegionConfig removes the target; a second delete is "not found", as the provider expects', async () => {
  await setConfig({ LogProject: 'to-delete-1', MetricStore: 'to-delete-store' });
  await deleteConfig();
  const gone = await callError(describeConfig());
  assert.equal(gone.code, 'DescribeHDMonitor.Fail');
  const again = await callError(deleteConfig());
  assert.equal(again.code, 'ResourceNotFound.RegionHdMonitorConfig');
  assert.equal(again.statusCode, 404);
});
