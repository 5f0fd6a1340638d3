/**
 * A GWLB's zones: the vSwitch it sits in per zone and the VIP it receives GENEVE on there.
 * VIPs come from the same vSwitch pools as NLB VIPs (vip-pool.ts), so the two products never
 * hand out one address twice. UpdateLoadBalancerZones replaces the whole set.
 */
import type { ActionContext } from '../../gateway/action.js';
import { defineAction } from '../../gateway/action.js';
import { p } from '../../gateway/params/spec.js';
import { newResourceId } from '../../util/ids.js';
import { findZoneVSwitch, planZones, rejectDuplicateZones } from '../common/vip-pool.js';
import { addressesTaken, LB_KIND, requireLoadBalancer, requireSettled } from './lookups.js';
import type { GwlbZoneMappingDoc } from '../../domain/gwlb-documents.js';
import { changeWithJob } from './transitions.js';
import { GWLB_LOAD_BALANCER } from '../../domain/status-machines.js';

export const zoneMappingsParam = p.list(
  p.object({
    VSwitchId: p.string({ required: true, maxLength: 128 }),
    ZoneId: p.string({ required: true, maxLength: 64 }),
  }),
  { required: true, minItems: 1, maxItems: 20 },
);

export interface ZoneRequest {
  ZoneId: string;
  VSwitchId: string;
}

/**
 * The zone mappings a GWLB ends up with. A zone kept on the same vSwitch keeps its VIP and ENI
 * (its flows are undisturbed); a new zone, or a zone moved to another vSwitch, gets a fresh VIP.
 */
export async function planZoneMappings(
  ctx: Pick<ActionContext, 'db' | 'region'>,
  vpcId: string,
  requested: readonly ZoneRequest[],
  current: readonly GwlbZoneMappingDoc[] = [],
): Promise<GwlbZoneMappingDoc[]> {
  rejectDuplicateZones(requested);
  for (const zone of requested) findZoneVSwitch(ctx.region, vpcId, zone);
  const taken = await addressesTaken(ctx.db);
  return requested.map((zone) => {
    const kept = current.find((c) => c.ZoneId === zone.ZoneId && c.VSwitchId === zone.VSwitchId);
    if (kept) return { ...kept };
    const [planned] = planZones(ctx.region, vpcId, [zone], taken);
    return {
      ZoneId: zone.ZoneId,
      VSwitchId: zone.VSwitchId,
      PrivateIpv4Address: planned.PrivateIPv4Address,
      EniId: newResourceId('eni'),
    };
  });
}

const updateLoadBalancerZones = defineAction({
  name: 'UpdateLoadBalancerZones',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerId: p.string({ required: true, maxLength: 128 }),
    ZoneMappings: zoneMappingsParam,
  },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    const lb = await requireLoadBalancer(ctx, input.LoadBalancerId);
    requireSettled(lb, 'LoadBalancer');
    // Unlike creation, one zone is allowed here (the documentation only recommends two).
    const zones = await planZoneMappings(ctx, lb.body.VpcId, input.ZoneMappings, lb.body.ZoneMappings);
    await changeWithJob(ctx, lb, { transition: GWLB_LOAD_BALANCER.transitions.configure, body: { ...lb.body, ZoneMappings: zones } });
    return {};
  },
});

export const loadBalancerZoneActions = [updateLoadBalancerZones];
