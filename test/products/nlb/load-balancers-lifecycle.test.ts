/**
 * Status rules while an NLB is busy. Jobs here finish only when the test moves the clock
 * past the configured extra delay, so every transitional status can be observed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.js';
import { NLB, callApi, callError, startTestServer, type TestServer } from '../../support/server.js';

const DELAY_MS = 60_000;
let server: TestServer;
const clock = new ManualClock(Date.now());

before(async () => {
  server = await startTestServer({
    clock,
    configure: (c) => {
      c.jobs.extraDelayMs = DELAY_MS;
      c.jobs.nodeTimeoutMs = 60 * 60_000; // the node's heartbeat must outlive the clock jumps
    },
  });
});
after(() => server?.stop());

const TWO_ZONES = [
  { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' },
  { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' },
];

function call(action: string, params: Record<string, unknown>) {
  return callApi(server, NLB, action, params);
}

function get(id: string) {
  return callApi(server, NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: id }, { placement: 'query' });
}

async function code(action: string, params: Record<string, unknown>): Promise<string> {
  return (await callError(call(action, params))).code;
}

/** Lets pending jobs finish: past their delay, then poll until the NLB leaves `from`. */
async function finishJobs(id: string, from: string): Promise<string | undefined> {
  clock.advance(DELAY_MS);
  for (let i = 0; i < 500; i++) {
    let lb: Record<string, any>;
    try {
      lb = await get(id);
    } catch (err) {
      if ((err as { code?: string }).code === 'ResourceNotFound.loadBalancer') return undefined;
      throw err;
    }
    if (lb.LoadBalancerStatus !== from) return lb.LoadBalancerStatus as string;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${id} stayed ${from}`);
}

test('Provisioning → Active → Configuring → Active → Deleting → gone, refusing changes meanwhile', async () => {
  const { LoadbalancerId: id } = await call('CreateLoadBalancer', {
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: TWO_ZONES,
  });

  const provisioning = await get(id);
  assert.equal(provisioning.LoadBalancerStatus, 'Provisioning');
  assert.deepEqual(
    provisioning.ZoneMappings.map((z: any) => z.Status),
    ['Starting', 'Starting'],
  );
  assert.equal(provisioning.ZoneMappings[0].LoadBalancerAddresses[0].PrivateIPv4HcStatus, undefined);
  const listed = await callApi(server, NLB, 'ListLoadBalancers', { LoadBalancerStatus: 'Provisioning' }, { placement: 'query' });
  assert.deepEqual(
    listed.LoadBalancers.map((lb: any) => lb.LoadBalancerId),
    [id],
  );

  // Each operation answers with the busy code its own error table lists.
  assert.equal(await code('DeleteLoadBalancer', { LoadBalancerId: id }), 'ResourceInCreating.loadbalancer');
  assert.equal(await code('UpdateLoadBalancerZones', { LoadBalancerId: id, ZoneMappings: TWO_ZONES }), 'ResourceInCreating.loadbalancer');
  assert.equal(
    await code('UpdateLoadBalancerProtection', { LoadBalancerId: id, DeletionProtectionEnabled: true }),
    'ResourceInCreating.loadbalancer',
  );
  assert.equal(await code('EnableLoadBalancerIpv6Internet', { LoadBalancerId: id }), 'ResourceInCreating.loadbalancer');
  assert.equal(await code('UpdateLoadBalancerAttribute', { LoadBalancerId: id, Cps: 10 }), 'IncorrectStatus.loadbalancer');
  // Tags are bookkeeping and may change at any time.
  await call('TagResources', { ResourceType: 'loadbalancer', ResourceId: [id], Tag: [{ Key: 'k', Value: 'v' }] });

  assert.equal(await finishJobs(id, 'Provisioning'), 'Active');
  assert.deepEqual(
    (await get(id)).ZoneMappings.map((z: any) => z.Status),
    ['Active', 'Active'],
  );

  const { JobId } = await call('UpdateLoadBalancerAttribute', { LoadBalancerId: id, LoadBalancerName: 'busy' });
  assert.equal((await get(id)).LoadBalancerStatus, 'Configuring');
  const job = await callApi(server, NLB, 'GetJobStatus', { JobId }, { placement: 'query' });
  assert.equal(job.Status, 'Processing');
  assert.equal(await code('UpdateLoadBalancerAttribute', { LoadBalancerId: id, Cps: 10 }), 'ResourceInConfiguring.loadbalancer');
  assert.equal(await code('DeleteLoadBalancer', { LoadBalancerId: id }), 'ResourceInConfiguring.loadbalancer');
  assert.equal(
    await code('LoadBalancerJoinSecurityGroup', { LoadBalancerId: id, SecurityGroupIds: ['sg-abc'] }),
    'ResourceInConfiguring.loadbalancer',
  );
  assert.equal(
    await code('DetachCommonBandwidthPackageFromLoadBalancer', { LoadBalancerId: id, BandwidthPackageId: 'cbwp-x' }),
    'IncorrectStatus.loadbalancer',
  );

  assert.equal(await finishJobs(id, 'Configuring'), 'Active');
  assert.equal((await get(id)).LoadBalancerName, 'busy');

  await call('DeleteLoadBalancer', { LoadBalancerId: id });
  assert.equal((await get(id)).LoadBalancerStatus, 'Deleting');
  assert.equal(await code('DeleteLoadBalancer', { LoadBalancerId: id }), 'IncorrectStatus.loadbalancer');
  assert.equal(await code('UpdateLoadBalancerAttribute', { LoadBalancerId: id, Cps: 10 }), 'IncorrectStatus.loadbalancer');
  const deleting = await callApi(server, NLB, 'ListLoadBalancers', { LoadBalancerStatus: 'Deleting' }, { placement: 'query' });
  assert.equal(deleting.TotalCount, 1);

  assert.equal(await finishJobs(id, 'Deleting'), undefined);
  const tags = await callApi(server, NLB, 'ListTagResources', { ResourceType: 'loadbalancer' });
  assert.deepEqual(tags.TagResources, [], 'the tags went with the NLB');
});
