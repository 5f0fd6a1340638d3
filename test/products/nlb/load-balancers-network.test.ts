/**
 * Cloud-network settings of an NLB (EIPs, IPv6 internet, security groups, shared bandwidth,
 * protection): validated, stored and shown as in the cloud.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';

const A = { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' };
const B = { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' };

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server?.stop());

function call(action: string, params: Record<string, unknown>) {
  return callApi(server, NLB, action, params);
}

async function code(action: string, params: Record<string, unknown>): Promise<string> {
  return (await callError(call(action, params))).code;
}

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

async function createActive(params: Record<string, unknown> = {}): Promise<string> {
  const { LoadbalancerId } = await call('CreateLoadBalancer', {
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: [A, B],
    ...params,
  });
  await waitActive(LoadbalancerId);
  return LoadbalancerId;
}

/** Runs an action that answers a JobId and waits for it. */
async function done(action: string, params: Record<string, unknown>): Promise<Record<string, any>> {
  const { JobId } = await call(action, params);
  assert.ok(JobId, `${action} answers a JobId`);
  assert.equal(await waitForJob(server, JobId), 'Succeeded');
  return get(params.LoadBalancerId as string);
}

const allocations = (lb: Record<string, any>) => lb.ZoneMappings.map((z: any) => z.LoadBalancerAddresses[0].AllocationId);

test('network type, EIPs and the shared bandwidth package', async () => {
  const id = await createActive();
  assert.equal(
    await code('UpdateLoadBalancerAddressTypeConfig', { LoadBalancerId: id, AddressType: 'Intranet' }),
    'OperationDenied.AddressTypeNotChanged',
  );
  assert.equal(
    await code('UpdateLoadBalancerAddressTypeConfig', {
      LoadBalancerId: id,
      AddressType: 'Internet',
      ZoneMappings: [{ ...A, VSwitchId: 'vsw-local-b' }],
    }),
    'Mismatch.ZoneIdAndVswitchId',
  );
  assert.equal(
    await code('UpdateLoadBalancerAddressTypeConfig', {
      LoadBalancerId: id,
      AddressType: 'Internet',
      ZoneMappings: [
        { ...A, AllocationId: 'eip-same' },
        { ...B, AllocationId: 'eip-same' },
      ],
    }),
    'DuplicatedParam.AllocationId',
  );
  assert.equal(
    await code('AttachCommonBandwidthPackageToLoadBalancer', { LoadBalancerId: id, BandwidthPackageId: 'cbwp-one' }),
    'OperationDenied.IntranetLoadBalancer',
  );

  let lb = await done('UpdateLoadBalancerAddressTypeConfig', {
    LoadBalancerId: id,
    AddressType: 'Internet',
    ZoneMappings: [
      { ...A, AllocationId: 'eip-a', EipType: 'Common' },
      { ...B, AllocationId: 'eip-b' },
    ],
  });
  assert.equal(lb.AddressType, 'Internet');
  assert.deepEqual(allocations(lb), ['eip-a', 'eip-b']);

  const missing = await callError(call('AttachCommonBandwidthPackageToLoadBalancer', { LoadBalancerId: id, BandwidthPackageId: 'bwp-1' }));
  assert.equal(missing.code, 'ResourceNotFound.BandwidthPackageId');
  assert.equal(missing.statusCode, 404);
  lb = await done('AttachCommonBandwidthPackageToLoadBalancer', { LoadBalancerId: id, BandwidthPackageId: 'cbwp-one' });
  assert.equal(lb.BandwidthPackageId, 'cbwp-one');
  assert.equal(
    await code('AttachCommonBandwidthPackageToLoadBalancer', { LoadBalancerId: id, BandwidthPackageId: 'cbwp-two' }),
    'ResourceAlreadyAssociated.loadbalancer',
  );
  assert.equal(
    await code('UpdateLoadBalancerAddressTypeConfig', { LoadBalancerId: id, AddressType: 'Intranet' }),
    'OperationDenied.EipAlreadyInBandwidthPackage',
  );
  assert.equal(
    await code('DetachCommonBandwidthPackageFromLoadBalancer', { LoadBalancerId: id, BandwidthPackageId: 'cbwp-two' }),
    'ResourceNotAssociated.loadbalancer',
  );

  lb = await done('DetachCommonBandwidthPackageFromLoadBalancer', { LoadBalancerId: id, BandwidthPackageId: 'cbwp-one' });
  assert.equal(lb.BandwidthPackageId, '', 'answered empty, not dropped: clients wait for ""');
  lb = await done('UpdateLoadBalancerAddressTypeConfig', { LoadBalancerId: id, AddressType: 'Intranet' });
  assert.equal(lb.AddressType, 'Intranet');
  assert.deepEqual(allocations(lb), [undefined, undefined]);
});

test('public IPv6 only for DualStack NLBs', async () => {
  const ipv4 = await createActive();
  assert.equal(await code('EnableLoadBalancerIpv6Internet', { LoadBalancerId: ipv4 }), 'OperationDenied.NonDualStackInstance');
  assert.equal(await code('DisableLoadBalancerIpv6Internet', { LoadBalancerId: ipv4 }), 'OperationDenied.NonDualStackInstance');

  const dual = await createActive({ AddressIpVersion: 'DualStack' });
  assert.equal(await code('DisableLoadBalancerIpv6Internet', { LoadBalancerId: dual }), 'OperationDenied.Ipv6IntranetInstance');
  const enabled = await call('EnableLoadBalancerIpv6Internet', { LoadBalancerId: dual });
  assert.equal(enabled.JobId, undefined);
  assert.equal((await waitActive(dual)).Ipv6AddressType, 'Internet');
  await call('DisableLoadBalancerIpv6Internet', { LoadBalancerId: dual });
  assert.equal((await waitActive(dual)).Ipv6AddressType, 'Intranet');
  assert.equal(await code('EnableLoadBalancerIpv6Internet', { LoadBalancerId: 'nlb-missing' }), 'ResourceNotFound.loadBalancer');
});

test('security groups: at most four, each once', async () => {
  const id = await createActive();
  let lb = await done('LoadBalancerJoinSecurityGroup', { LoadBalancerId: id, SecurityGroupIds: ['sg-one', 'sg-two'] });
  assert.deepEqual(lb.SecurityGroupIds, ['sg-one', 'sg-two']);

  const cases: Array<[string, string[], string]> = [
    ['LoadBalancerJoinSecurityGroup', ['sg-one'], 'Conflict.SecurityGroup'],
    ['LoadBalancerJoinSecurityGroup', ['sg-3', 'sg-4', 'sg-5'], 'QuotaExceeded.QuotaInsufficient'],
    ['LoadBalancerJoinSecurityGroup', ['group-x'], 'ResourceNotFound.SecurityGroup'],
    ['LoadBalancerJoinSecurityGroup', ['sg-3', 'sg-3'], 'DuplicatedParam.SecurityGroupIds'],
    ['LoadBalancerJoinSecurityGroup', [], 'MissingParam.SecurityGroupIds'],
    ['LoadBalancerLeaveSecurityGroup', ['sg-never'], 'ResourceNotFound.SecurityGroup'],
  ];
  for (const [action, groups, expected] of cases) {
    assert.equal(await code(action, { LoadBalancerId: id, SecurityGroupIds: groups }), expected, `${action} ${groups}`);
  }

  lb = await done('LoadBalancerLeaveSecurityGroup', { LoadBalancerId: id, SecurityGroupIds: ['sg-one'] });
  assert.deepEqual(lb.SecurityGroupIds, ['sg-two']);
});

test('deletion and modification protection', async () => {
  const id = await createActive();
  const protect = (params: Record<string, unknown>) => call('UpdateLoadBalancerProtection', { LoadBalancerId: id, ...params });

  const reply = await protect({
    DeletionProtectionEnabled: true,
    DeletionProtectionReason: 'in-production',
    ModificationProtectionStatus: 'ConsoleProtection',
    ModificationProtectionReason: 'change freeze',
  });
  assert.equal(reply.JobId, undefined);
  let lb = await get(id);
  assert.equal(lb.LoadBalancerStatus, 'Active');
  assert.equal(lb.DeletionProtectionConfig.Enabled, true);
  assert.equal(lb.DeletionProtectionConfig.Reason, 'in-production');
  assert.match(lb.DeletionProtectionConfig.EnabledTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(lb.ModificationProtectionConfig.Status, 'ConsoleProtection');
  assert.equal(lb.ModificationProtectionConfig.Reason, 'change freeze');
  assert.equal(await code('DeleteLoadBalancer', { LoadBalancerId: id }), 'OperationDenied.DeletionProtectionEnabled');

  for (const [params, expected] of [
    [{ DeletionProtectionReason: '9lives' }, 'IllegalParam.deletionProtectionReason'],
    [{ ModificationProtectionReason: 'x' }, 'IllegalParam.modificationProtectionReason'],
    [{ ModificationProtectionStatus: 'FullProtection' }, 'IllegalParam.ModificationProtectionStatus'],
    [{ DeletionProtectionEnabled: false, DryRun: true }, 'DryRunOperation'],
  ] as const) {
    assert.equal((await callError(protect(params))).code, expected);
  }
  assert.equal((await get(id)).DeletionProtectionConfig.Enabled, true);

  // Turning protection off clears its reason and time; NonProtection ignores a reason.
  await protect({
    DeletionProtectionEnabled: false,
    ModificationProtectionStatus: 'NonProtection',
    ModificationProtectionReason: 'ignored',
  });
  lb = await get(id);
  assert.deepEqual(lb.DeletionProtectionConfig, { Enabled: false });
  assert.deepEqual(lb.ModificationProtectionConfig, { Status: 'NonProtection' });
  const { JobId } = await call('DeleteLoadBalancer', { LoadBalancerId: id });
  assert.equal(await waitForJob(server, JobId), 'Succeeded');
});
