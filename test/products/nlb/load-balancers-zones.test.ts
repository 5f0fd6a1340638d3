import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';

const A = { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' };
const B = { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' };
const C = { ZoneId: 'cn-hangzhou-c', VSwitchId: 'vsw-local-c' };

let server: TestServer;
before(async () => {
  server = await startTestServer({
    configure: (c) => {
      const region = c.regions[0];
      region.zones.push({ id: 'cn-hangzhou-c', localName: { 'en-US': 'Hangzhou Zone C' } });
      region.vpcs[0].vSwitches.push(
        { id: 'vsw-local-c', zoneId: 'cn-hangzhou-c', vipPool: '127.0.4.0/24' },
        { id: 'vsw-local-b2', zoneId: 'cn-hangzhou-b', vipPool: '127.0.5.0/24' },
      );
    },
  });
});
after(() => server?.stop());

function get(id: string) {
  return callApi(server, NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: id }, { placement: 'query' });
}

async function waitActive(id: string): Promise<Record<string, any>> {
  for (let i = 0; i < 500; i++) {
    const lb = await get(id);
    if (lb.LoadBalancerStatus === 'Active') return lb;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${id} never became Active`);
}

async function createActive(zones = [A, B]): Promise<string> {
  const { LoadbalancerId } = await callApi(server, NLB, 'CreateLoadBalancer', {
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: zones,
  });
  await waitActive(LoadbalancerId);
  return LoadbalancerId;
}

const zoneView = (lb: Record<string, any>) =>
  lb.ZoneMappings.map((z: any) => [z.ZoneId, z.VSwitchId, z.Status, z.LoadBalancerAddresses[0].PrivateIPv4Address]);

function updateZones(id: string, zones: object[]) {
  return callApi(server, NLB, 'UpdateLoadBalancerZones', { LoadBalancerId: id, ZoneMappings: zones });
}

test('UpdateLoadBalancerZones adds and removes zones; staying zones keep their VIP', async () => {
  const id = await createActive();
  const before = zoneView(await get(id));

  const added = await updateZones(id, [A, B, C]);
  assert.equal(await waitForJob(server, added.JobId), 'Succeeded');
  const three = await get(id);
  assert.equal(three.LoadBalancerStatus, 'Active');
  assert.deepEqual(zoneView(three), [...before, ['cn-hangzhou-c', 'vsw-local-c', 'Active', '127.0.4.1']]);

  // Omitted zones are removed, and their VIPs go back to the pool.
  const removed = await updateZones(id, [B, { ...C, PrivateIPv4Address: '127.0.4.1' }]);
  assert.equal(await waitForJob(server, removed.JobId), 'Succeeded');
  assert.deepEqual(zoneView(await get(id)), [before[1], ['cn-hangzhou-c', 'vsw-local-c', 'Active', '127.0.4.1']]);
  const other = await createActive();
  assert.equal(zoneView(await get(other))[0][3], before[0][3]);
});

test('UpdateLoadBalancerZones refuses what the cloud refuses and changes nothing', async () => {
  const id = await createActive();
  const before = zoneView(await get(id));
  const cases: Array<[object[], string]> = [
    [[A, { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b2' }], 'OperationDenied.ZoneVSwitchChanged'],
    [[{ ...A, PrivateIPv4Address: '127.0.1.200' }, B], 'OperationDenied.ProtectedPrivateIPv4AddressChanged'],
    [[A], 'InvalidZones'],
    [[A, A], 'OperationFailed.DuplicateZones.'],
    [[A, { ZoneId: 'cn-hangzhou-c', VSwitchId: 'vsw-missing' }], 'ResourceNotFound.VSwitch'],
    [[A, { ZoneId: 'cn-hangzhou-c', VSwitchId: 'vsw-local-a' }], 'Mismatch.ZoneIdAndVswitchId'],
    [[A, B, { ...C, PrivateIPv4Address: '127.0.1.1' }], 'IllegalParam.PrivateIPv4Address'],
    [[A, B, { ...C, EipType: 'Special' }], 'IllegalParam.ZoneMappings.EipType'],
  ];
  for (const [zones, code] of cases) {
    const e = await callError(updateZones(id, zones));
    assert.equal(e.code, code, JSON.stringify(zones));
  }
  const unknown = await callError(updateZones('nlb-missing', [A, B]));
  assert.equal(unknown.code, 'ResourceNotFound.loadBalancer');
  const dry = await callError(
    callApi(server, NLB, 'UpdateLoadBalancerZones', { LoadBalancerId: id, ZoneMappings: [A, B, C], DryRun: true }),
  );
  assert.equal(dry.code, 'DryRunOperation');
  const after = await get(id);
  assert.equal(after.LoadBalancerStatus, 'Active');
  assert.deepEqual(zoneView(after), before);
});

test('a zone shifted out of DNS is Shifted until the shift is cancelled; the last active zone stays', async () => {
  const id = await createActive();
  const shift = (action: string, zone: object) => callApi(server, NLB, action, { LoadBalancerId: id, ZoneMappings: [zone] });

  const reply = await shift('StartShiftLoadBalancerZones', B);
  assert.equal(reply.JobId, undefined);
  let lb = await waitActive(id);
  assert.deepEqual(
    lb.ZoneMappings.map((z: any) => z.Status),
    ['Active', 'Shifted'],
  );
  // Health is shown only for Active zones; the VIP itself stays.
  assert.equal(lb.ZoneMappings[1].LoadBalancerAddresses[0].PrivateIPv4HcStatus, undefined);
  assert.ok(lb.ZoneMappings[1].LoadBalancerAddresses[0].PrivateIPv4Address);

  assert.equal((await callError(shift('StartShiftLoadBalancerZones', B))).code, 'IncorrectStatus.ZoneId');
  const last = await callError(shift('StartShiftLoadBalancerZones', A));
  assert.equal(last.code, 'Forbidden.OnlyOneActiveZone');
  assert.equal(last.statusCode, 403);
  assert.equal((await callError(shift('CancelShiftLoadBalancerZones', A))).code, 'IncorrectStatus.ZoneId');
  assert.equal(
    (await callError(shift('CancelShiftLoadBalancerZones', { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b2' }))).code,
    'Mismatch.ZoneIdAndVswitchId',
  );
  assert.equal((await callError(shift('CancelShiftLoadBalancerZones', C))).code, 'IllegalParam.ZoneId');
  const two = await callError(callApi(server, NLB, 'StartShiftLoadBalancerZones', { LoadBalancerId: id, ZoneMappings: [A, B] }));
  assert.equal(two.code, 'IllegalParamSize.ZoneMappings');

  // A shifted zone stays shifted through a zone update.
  const { JobId } = await updateZones(id, [A, B, C]);
  assert.equal(await waitForJob(server, JobId), 'Succeeded');
  assert.deepEqual(
    (await get(id)).ZoneMappings.map((z: any) => z.Status),
    ['Active', 'Shifted', 'Active'],
  );

  await shift('CancelShiftLoadBalancerZones', B);
  lb = await waitActive(id);
  assert.deepEqual(
    lb.ZoneMappings.map((z: any) => z.Status),
    ['Active', 'Active', 'Active'],
  );
});
