/**
 * The listener status machine while jobs are still running. Jobs here only finish when the
 * test moves the clock past the configured extra delay, so transitional statuses can be seen
 * and the refusals they cause asserted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.js';
import { NLB, callApi, callError, waitForJob, type TestServer } from '../../support/server.js';
import { startSlowServer } from '../../support/slow-server.js';

// Small: the manual clock only moves when told, and signatures must stay within 15 minutes of it.
const DELAY_MS = 1_000;
const clock = new ManualClock(Date.now());
let server: TestServer;

const call = (action: string, params: Record<string, unknown> = {}) => callApi(server, NLB, action, params);
const read = (action: string, params: Record<string, unknown>) => callApi(server, NLB, action, params, { placement: 'query' });
const status = async (ListenerId: string) => (await read('GetListenerAttribute', { ListenerId })).ListenerStatus;
const lbStatus = async (LoadBalancerId: string) => (await read('GetLoadBalancerAttribute', { LoadBalancerId })).LoadBalancerStatus;

/** Lets every pending job finish, then waits for this one. */
async function settle(jobId: string): Promise<void> {
  clock.advance(DELAY_MS);
  assert.equal(await waitForJob(server, jobId), 'Succeeded');
}

let lb: string;
let group: string;

before(async () => {
  server = await startSlowServer({ clock, delayMs: DELAY_MS });
  const created = await call('CreateLoadBalancer', {
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: [
      { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' },
      { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' },
    ],
  });
  lb = created.LoadbalancerId;
  const sg = await call('CreateServerGroup', { ServerGroupName: 'status-group', VpcId: 'vpc-local' });
  group = sg.ServerGroupId;
});
after(async () => {
  await server?.stop();
});

test('an NLB that is still Provisioning takes no listener', async () => {
  assert.equal(await lbStatus(lb), 'Provisioning');
  const e = await callError(
    call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 80, ServerGroupId: group }),
  );
  assert.equal(e.code, 'IncorrectStatus.loadbalancer');
  assert.match(e.data.Message, new RegExp(lb));
  clock.advance(DELAY_MS);
  for (let i = 0; i < 500 && (await lbStatus(lb)) !== 'Active'; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await lbStatus(lb), 'Active');
});

test('a Provisioning listener refuses every change until its job is done; the NLB stays Active', async () => {
  const { ListenerId, JobId } = await call('CreateListener', {
    LoadBalancerId: lb,
    ListenerProtocol: 'TCP',
    ListenerPort: 80,
    ServerGroupId: group,
  });
  assert.equal(await status(ListenerId), 'Provisioning');
  const listed = await read('ListListeners', { ListenerIds: [ListenerId] });
  assert.equal(listed.Listeners[0].ListenerStatus, 'Provisioning');
  assert.equal(await lbStatus(lb), 'Active');
  assert.equal((await read('GetJobStatus', { JobId })).Status, 'Processing');

  for (const action of ['StartListener', 'StopListener', 'DeleteListener']) {
    const e = await callError(call(action, { ListenerId }));
    assert.equal(e.code, 'IncorrectStatus.listener', action);
  }
  assert.equal((await callError(call('UpdateListenerAttribute', { ListenerId, Cps: 1 }))).code, 'IncorrectStatus.listener');

  await settle(JobId);
  assert.equal(await status(ListenerId), 'Running');
});

test('Configuring during an update, Stopping, Starting and Deleting are visible and exclusive', async () => {
  const { ListenerId, JobId } = await call('CreateListener', {
    LoadBalancerId: lb,
    ListenerProtocol: 'TCP',
    ListenerPort: 81,
    ServerGroupId: group,
  });
  await settle(JobId);

  const update = await call('UpdateListenerAttribute', { ListenerId, ListenerDescription: 'changed' });
  assert.equal(await status(ListenerId), 'Configuring');
  assert.equal((await callError(call('UpdateListenerAttribute', { ListenerId, Cps: 2 }))).code, 'IncorrectStatus.listener');
  await settle(update.JobId);
  assert.equal(await status(ListenerId), 'Running');

  const stop = await call('StopListener', { ListenerId });
  assert.equal(await status(ListenerId), 'Stopping');
  assert.equal((await callError(call('StartListener', { ListenerId }))).code, 'IncorrectStatus.listener');
  await settle(stop.JobId);
  assert.equal(await status(ListenerId), 'Stopped');

  const start = await call('StartListener', { ListenerId });
  assert.equal(await status(ListenerId), 'Starting');
  await settle(start.JobId);
  assert.equal(await status(ListenerId), 'Running');

  const del = await call('DeleteListener', { ListenerId });
  assert.equal(await status(ListenerId), 'Deleting');
  // Until it is gone, a deleting listener still holds its port.
  const taken = await callError(
    call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 81, ServerGroupId: group }),
  );
  assert.equal(taken.code, 'Conflict.Port');
  await settle(del.JobId);
  assert.equal((await callError(read('GetListenerAttribute', { ListenerId }))).code, 'ResourceNotFound.listener');
});

test('a listener of an NLB that is being reconfigured cannot be deleted', async () => {
  const { ListenerId, JobId } = await call('CreateListener', {
    LoadBalancerId: lb,
    ListenerProtocol: 'TCP',
    ListenerPort: 82,
    ServerGroupId: group,
  });
  await settle(JobId);
  const lbUpdate = await call('UpdateLoadBalancerAttribute', { LoadBalancerId: lb, LoadBalancerName: 'renamed' });
  assert.equal(await lbStatus(lb), 'Configuring');
  const e = await callError(call('DeleteListener', { ListenerId }));
  assert.equal(e.code, 'IncorrectStatus.loadbalancer');
  const create = await callError(
    call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 83, ServerGroupId: group }),
  );
  assert.equal(create.code, 'IncorrectStatus.loadbalancer');
  clock.advance(DELAY_MS);
  await waitForJob(server, lbUpdate.JobId);
  assert.equal(await status(ListenerId), 'Running');
});
