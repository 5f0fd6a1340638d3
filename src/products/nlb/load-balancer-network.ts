/**
 * The cloud-network side of an NLB: its IPv4 network type (EIPs), public IPv6, security
 * groups, Internet Shared Bandwidth and the deletion/modification protection switches.
 * OpenSLB validates and records all of it and reports it back as the cloud does; none of it
 * changes what the local data plane binds or forwards (there are no EIPs, IPv6 gateways,
 * security groups or bandwidth packages on this host).
 */
import { defineAction } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p, sameWord } from '../../gateway/params/spec.js';
import { isoSeconds } from '../../util/clock.js';
import { updateResource } from '../common/resources.js';
import {
  checkAllocationIds,
  checkBandwidthPackageId,
  checkProtectionReason,
  denyIntranetBandwidthPackage,
  LB_KIND,
  reconfigureLoadBalancer,
  requireChangeableLoadBalancer,
  type LoadBalancerRow,
} from './load-balancers.js';
import type { LoadBalancerDoc } from '../../domain/nlb-documents.js';
import { withoutPublicAddresses, withPublicAddresses } from './public-addresses.js';
import { vipsInUse } from '../common/vips-in-use.js';

const loadBalancerId = p.string({ required: true, maxLength: 128 });
const byLoadBalancer = (input: { LoadBalancerId: string }) => [[LB_KIND, input.LoadBalancerId] as const];

const updateLoadBalancerAddressTypeConfig = defineAction({
  name: 'UpdateLoadBalancerAddressTypeConfig',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerId: loadBalancerId,
    AddressType: p.string({ required: true, enum: ['Internet', 'Intranet'], caseInsensitive: true }),
    ZoneMappings: p.list(
      p.object({
        ZoneId: p.string({ maxLength: 64 }),
        VSwitchId: p.string({ maxLength: 128 }),
        AllocationId: p.string({ maxLength: 128 }),
        EipType: p.string({ enum: ['Common', 'Anycast'] }),
      }),
      { maxItems: 10 },
    ),
  },
  authResources: byLoadBalancer,
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { configuring: true });
    if (lb.body.AddressType === input.AddressType) {
      throw errors.operationDenied('AddressTypeNotChanged', `The load balancer is already ${input.AddressType}.`);
    }
    const requested = input.ZoneMappings ?? [];
    for (const zone of requested) {
      const own = lb.body.ZoneMappings.find((z) => z.ZoneId === zone.ZoneId);
      if (!own || (zone.VSwitchId !== undefined && zone.VSwitchId !== own.VSwitchId)) {
        throw new ApiError(
          'Mismatch.ZoneIdAndVswitchId',
          `The ZoneIdAndVswitchId is mismatched for ${zone.ZoneId ?? ''} and ${zone.VSwitchId ?? ''}.`,
        );
      }
    }
    let zones;
    if (input.AddressType === 'Internet') {
      await checkAllocationIds(
        ctx.db,
        requested.map((z) => z.AllocationId),
        lb.id,
      );
      // Each zone gets an EIP: the one named, or one allocated (with an address from the public pool).
      const named = lb.body.ZoneMappings.map((z) => {
        const r = requested.find((q) => q.ZoneId === z.ZoneId);
        return r?.AllocationId ? { ...z, AllocationId: r.AllocationId, EipType: r.EipType ?? 'Common' } : z;
      });
      zones = withPublicAddresses(ctx.region, named, await vipsInUse(ctx.db));
    } else {
      // The EIPs are released; those billed through a shared bandwidth package must leave it first.
      if (lb.body.BandwidthPackageId) {
        throw errors.operationDenied(
          'EipAlreadyInBandwidthPackage',
          `Detach bandwidth package ${lb.body.BandwidthPackageId} before switching to Intranet.`,
        );
      }
      zones = withoutPublicAddresses(lb.body.ZoneMappings);
    }
    const jobId = await reconfigureLoadBalancer(ctx, lb, { ...lb.body, AddressType: input.AddressType, ZoneMappings: zones });
    return { JobId: jobId };
  },
});

function requireDualStack(lb: LoadBalancerRow): void {
  if (!sameWord(lb.body.AddressIpVersion, 'DualStack')) {
    throw errors.operationDenied('NonDualStackInstance', `The load balancer [${lb.id}] is not a DualStack instance.`);
  }
}

const enableLoadBalancerIpv6Internet = defineAction({
  name: 'EnableLoadBalancerIpv6Internet',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId },
  authResources: byLoadBalancer,
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { creating: true });
    requireDualStack(lb);
    // Already public: nothing to change, as repeating the call in the cloud changes nothing.
    if (lb.body.Ipv6AddressType !== 'Internet') {
      await reconfigureLoadBalancer(ctx, lb, { ...lb.body, Ipv6AddressType: 'Internet' });
    }
    return {};
  },
});

const disableLoadBalancerIpv6Internet = defineAction({
  name: 'DisableLoadBalancerIpv6Internet',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId },
  authResources: byLoadBalancer,
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { configuring: true });
    requireDualStack(lb);
    if (lb.body.Ipv6AddressType !== 'Internet') {
      throw errors.operationDenied('Ipv6IntranetInstance', `The IPv6 address of load balancer [${lb.id}] is already private.`);
    }
    await reconfigureLoadBalancer(ctx, lb, { ...lb.body, Ipv6AddressType: 'Intranet' });
    return {};
  },
});

const SECURITY_GROUP_ID = /^sg-[a-z0-9]{1,64}$/;
const MAX_SECURITY_GROUPS = 4;
const securityGroupIds = p.list(p.string({ maxLength: 128 }), { required: true, minItems: 1, maxItems: 10 });

function distinctSecurityGroups(ids: string[]): string[] {
  if (new Set(ids).size !== ids.length) throw errors.duplicatedParam('SecurityGroupIds');
  return ids;
}

const loadBalancerJoinSecurityGroup = defineAction({
  name: 'LoadBalancerJoinSecurityGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId, SecurityGroupIds: securityGroupIds },
  authResources: byLoadBalancer,
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { creating: true, configuring: true });
    const ids = distinctSecurityGroups(input.SecurityGroupIds);
    for (const id of ids) {
      // OpenSLB keeps no directory of security groups; a well-formed `sg-…` ID is taken as existing.
      if (!SECURITY_GROUP_ID.test(id)) {
        throw new ApiError('ResourceNotFound.SecurityGroup', `The specified resource of SecurityGroup [${id}] is not found.`, 404);
      }
      if (lb.body.SecurityGroupIds.includes(id)) {
        throw new ApiError('Conflict.SecurityGroup', `The SecurityGroup [${id}] is already joined to load balancer [${lb.id}].`);
      }
    }
    const joined = [...lb.body.SecurityGroupIds, ...ids];
    if (joined.length > MAX_SECURITY_GROUPS) {
      throw new ApiError(
        'QuotaExceeded.QuotaInsufficient',
        `The quota of SecurityGroupsPerLoadBalancer is exceeded, usage ${joined.length}/${MAX_SECURITY_GROUPS}.`,
      );
    }
    return { JobId: await reconfigureLoadBalancer(ctx, lb, { ...lb.body, SecurityGroupIds: joined }) };
  },
});

const loadBalancerLeaveSecurityGroup = defineAction({
  name: 'LoadBalancerLeaveSecurityGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId, SecurityGroupIds: securityGroupIds },
  authResources: byLoadBalancer,
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { configuring: true });
    const ids = distinctSecurityGroups(input.SecurityGroupIds);
    for (const id of ids) {
      if (!lb.body.SecurityGroupIds.includes(id)) {
        throw new ApiError('ResourceNotFound.SecurityGroup', `The specified resource of SecurityGroup [${id}] is not found.`, 404);
      }
    }
    const remaining = lb.body.SecurityGroupIds.filter((id) => !ids.includes(id));
    return { JobId: await reconfigureLoadBalancer(ctx, lb, { ...lb.body, SecurityGroupIds: remaining }) };
  },
});

const bandwidthPackageId = p.string({ required: true, maxLength: 128 });

const attachCommonBandwidthPackageToLoadBalancer = defineAction({
  name: 'AttachCommonBandwidthPackageToLoadBalancer',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId, BandwidthPackageId: bandwidthPackageId },
  authResources: byLoadBalancer,
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { configuring: true });
    denyIntranetBandwidthPackage(lb.body.AddressType);
    checkBandwidthPackageId(input.BandwidthPackageId);
    if (lb.body.BandwidthPackageId) {
      throw new ApiError(
        'ResourceAlreadyAssociated.loadbalancer',
        `The specified resource of loadbalancer [${lb.id}] is already associated with ${lb.body.BandwidthPackageId}.`,
      );
    }
    const body: LoadBalancerDoc = { ...lb.body, BandwidthPackageId: input.BandwidthPackageId };
    return { JobId: await reconfigureLoadBalancer(ctx, lb, body) };
  },
});

const detachCommonBandwidthPackageFromLoadBalancer = defineAction({
  name: 'DetachCommonBandwidthPackageFromLoadBalancer',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId, BandwidthPackageId: bandwidthPackageId },
  authResources: byLoadBalancer,
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, {});
    if (lb.body.BandwidthPackageId !== input.BandwidthPackageId) {
      throw new ApiError(
        'ResourceNotAssociated.loadbalancer',
        `The specified resource of loadbalancer [${lb.id}] is not associated with ${input.BandwidthPackageId}.`,
      );
    }
    const { BandwidthPackageId: _detached, ...body } = lb.body;
    return { JobId: await reconfigureLoadBalancer(ctx, lb, body) };
  },
});

const updateLoadBalancerProtection = defineAction({
  name: 'UpdateLoadBalancerProtection',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerId: loadBalancerId,
    DeletionProtectionEnabled: p.boolean(),
    DeletionProtectionReason: p.string(),
    ModificationProtectionStatus: p.string({ enum: ['NonProtection', 'ConsoleProtection'] }),
    ModificationProtectionReason: p.string(),
  },
  authResources: byLoadBalancer,
  handler: async (input, ctx) => {
    checkProtectionReason(input.DeletionProtectionReason, 'deletionProtectionReason');
    checkProtectionReason(input.ModificationProtectionReason, 'modificationProtectionReason');
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { creating: true, configuring: true });
    const now = isoSeconds(ctx.clock.now());

    const deletion = { ...lb.body.DeletionProtectionConfig };
    const deletionOn = input.DeletionProtectionEnabled ?? deletion.Enabled;
    if (!deletionOn) {
      delete deletion.Reason;
      delete deletion.EnabledTime;
    } else {
      if (!deletion.Enabled) deletion.EnabledTime = now;
      if (input.DeletionProtectionReason !== undefined) deletion.Reason = input.DeletionProtectionReason;
    }
    deletion.Enabled = deletionOn;

    // ConsoleProtection makes only the console read-only: API calls, these included, still apply.
    const modification = { ...lb.body.ModificationProtectionConfig };
    const status = input.ModificationProtectionStatus ?? modification.Status;
    if (status === 'NonProtection') {
      delete modification.Reason;
      delete modification.EnabledTime;
    } else {
      if (modification.Status !== 'ConsoleProtection') modification.EnabledTime = now;
      if (input.ModificationProtectionReason !== undefined) modification.Reason = input.ModificationProtectionReason;
    }
    modification.Status = status;

    // Protection is bookkeeping only, so it applies at once: no job, the NLB stays Active.
    await updateResource(
      ctx.db,
      lb,
      { body: { ...lb.body, DeletionProtectionConfig: deletion, ModificationProtectionConfig: modification } },
      { now: ctx.clock.now(), revision: ctx.revision },
    );
    return {};
  },
});

export const loadBalancerNetworkActions = [
  updateLoadBalancerAddressTypeConfig,
  enableLoadBalancerIpv6Internet,
  disableLoadBalancerIpv6Internet,
  loadBalancerJoinSecurityGroup,
  loadBalancerLeaveSecurityGroup,
  attachCommonBandwidthPackageToLoadBalancer,
  detachCommonBandwidthPackageFromLoadBalancer,
  updateLoadBalancerProtection,
];
