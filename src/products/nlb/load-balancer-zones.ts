/**
 * An NLB's zones: UpdateLoadBalancerZones (replace the whole zone set; new zones get VIPs,
 * dropped zones release theirs) and Start/CancelShiftLoadBalancerZones (take one zone out of
 * DNS and put it back). Shifting only changes what DNS would resolve to in the cloud; the
 * local data plane keeps serving the zone's VIP.
 */
import type { ActionContext } from '../../gateway/action.js';
import { defineAction } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { newResourceId } from '../../util/ids.js';
import {
  checkAllocationIds,
  LB_KIND,
  reconfigureLoadBalancer,
  requireChangeableLoadBalancer,
  type LoadBalancerRow,
} from './load-balancers.js';
import type { ZoneMappingDoc } from '../../domain/nlb-documents.js';
import { findZoneVSwitch, planZones, rejectDuplicateZones, requireEnoughZones } from '../common/vip-pool.js';
import { withPublicAddresses } from './public-addresses.js';
import { vipsInUse } from '../common/vips-in-use.js';

const loadBalancerId = p.string({ required: true, maxLength: 128 });

const updateLoadBalancerZones = defineAction({
  name: 'UpdateLoadBalancerZones',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerId: loadBalancerId,
    ZoneMappings: p.list(
      p.object({
        ZoneId: p.string({ required: true, maxLength: 64 }),
        VSwitchId: p.string({ required: true, maxLength: 128 }),
        PrivateIPv4Address: p.string({ maxLength: 15 }),
        AllocationId: p.string({ maxLength: 128 }),
        EipType: p.string({ enum: ['Common', 'Anycast'] }),
      }),
      { required: true, minItems: 1, maxItems: 10 },
    ),
  },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { creating: true, configuring: true });
    const wanted = input.ZoneMappings;
    rejectDuplicateZones(wanted);
    requireEnoughZones(ctx.region, wanted.length);
    const current = new Map(lb.body.ZoneMappings.map((z) => [z.ZoneId, z]));

    // A zone that stays keeps its vSwitch and its VIP: both are fixed for the zone's lifetime.
    for (const zone of wanted) {
      const kept = current.get(zone.ZoneId);
      if (!kept) continue;
      if (kept.VSwitchId !== zone.VSwitchId) {
        throw errors.operationDenied('ZoneVSwitchChanged', `The vSwitch of zone ${zone.ZoneId} cannot be changed.`);
      }
      if (zone.PrivateIPv4Address !== undefined && zone.PrivateIPv4Address !== kept.PrivateIPv4Address) {
        throw errors.operationDenied(
          'ProtectedPrivateIPv4AddressChanged',
          `The private IPv4 address of zone ${zone.ZoneId} cannot be changed.`,
        );
      }
    }
    const internet = lb.body.AddressType === 'Internet';
    if (internet)
      await checkAllocationIds(
        ctx.db,
        wanted.map((z) => z.AllocationId),
        lb.id,
      );

    const added = wanted.filter((z) => !current.has(z.ZoneId));
    const taken = await vipsInUse(ctx.db);
    const planned = planZones(ctx.region, lb.body.VpcId, added, taken);
    const plannedByZone = new Map(planned.map((z) => [z.ZoneId, z]));
    let zones: ZoneMappingDoc[] = wanted.map((zone) => {
      const kept = current.get(zone.ZoneId);
      const allocation = internet ? (zone.AllocationId ?? kept?.AllocationId) : undefined;
      if (kept) return { ...kept, AllocationId: allocation, EipType: allocation ? (zone.EipType ?? kept.EipType ?? 'Common') : undefined };
      return {
        ...plannedByZone.get(zone.ZoneId)!,
        EniId: newResourceId('eni'),
        AllocationId: allocation,
        EipType: allocation ? (zone.EipType ?? 'Common') : undefined,
        Status: 'Starting',
      };
    });
    if (internet) zones = withPublicAddresses(ctx.region, zones, taken);
    const settled = zones.map((z) => (z.Status === 'Starting' ? { ...z, Status: 'Active' } : z));
    const jobId = await reconfigureLoadBalancer(
      ctx,
      lb,
      { ...lb.body, ZoneMappings: zones },
      {
        onSuccess: [{ op: 'patch', id: lb.id, patch: { ZoneMappings: settled } }],
      },
    );
    return { JobId: jobId };
  },
});

const oneZone = p.list(
  p.object({
    ZoneId: p.string({ required: true, maxLength: 64 }),
    VSwitchId: p.string({ required: true, maxLength: 128 }),
  }),
  { required: true, minItems: 1, maxItems: 1 },
);

/** The NLB's own mapping for the one zone named in a shift request. */
function shiftedZone(ctx: ActionContext, lb: LoadBalancerRow, wanted: { ZoneId: string; VSwitchId: string }): ZoneMappingDoc {
  const zone = lb.body.ZoneMappings.find((z) => z.ZoneId === wanted.ZoneId);
  if (!zone) {
    // Not one of this NLB's zones: tell apart a zone/vSwitch pair that is wrong in itself.
    findZoneVSwitch(ctx.region, lb.body.VpcId, wanted);
    throw errors.illegalParam('ZoneId', `The load balancer is not deployed in zone ${wanted.ZoneId}.`);
  }
  if (zone.VSwitchId !== wanted.VSwitchId) {
    throw new ApiError('Mismatch.ZoneIdAndVswitchId', `The ZoneIdAndVswitchId is mismatched for ${wanted.ZoneId} and ${wanted.VSwitchId}.`);
  }
  return zone;
}

function incorrectZoneStatus(zoneId: string): ApiError {
  return errors.incorrectStatus('ZoneId', zoneId);
}

const startShiftLoadBalancerZones = defineAction({
  name: 'StartShiftLoadBalancerZones',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId, ZoneMappings: oneZone },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { configuring: true });
    const zone = shiftedZone(ctx, lb, input.ZoneMappings[0]);
    if (zone.Status !== 'Active') throw incorrectZoneStatus(zone.ZoneId);
    // DNS must keep at least one zone to resolve to.
    if (lb.body.ZoneMappings.filter((z) => z.Status === 'Active').length < 2) {
      throw new ApiError(
        'Forbidden.OnlyOneActiveZone',
        'The operation is forbidden because the load balancer would be left without an active zone.',
        403,
      );
    }
    const zones = lb.body.ZoneMappings.map((z) => (z.ZoneId === zone.ZoneId ? { ...z, Status: 'Shifted' } : z));
    // No JobId in the reply (the SDK model has none); the NLB is Configuring until it is done.
    await reconfigureLoadBalancer(ctx, lb, { ...lb.body, ZoneMappings: zones });
    return {};
  },
});

const cancelShiftLoadBalancerZones = defineAction({
  name: 'CancelShiftLoadBalancerZones',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId, ZoneMappings: oneZone },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, {});
    const zone = shiftedZone(ctx, lb, input.ZoneMappings[0]);
    if (zone.Status !== 'Shifted') throw incorrectZoneStatus(zone.ZoneId);
    const zones = lb.body.ZoneMappings.map((z) => (z.ZoneId === zone.ZoneId ? { ...z, Status: 'Active' } : z));
    await reconfigureLoadBalancer(ctx, lb, { ...lb.body, ZoneMappings: zones });
    return {};
  },
});

export const loadBalancerZoneActions = [updateLoadBalancerZones, startShiftLoadBalancerZones, cancelShiftLoadBalancerZones];
