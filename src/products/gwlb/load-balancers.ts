/**
 * GWLB instances: CreateLoadBalancer, GetLoadBalancerAttribute, ListLoadBalancers,
 * UpdateLoadBalancerAttribute, DeleteLoadBalancer. Statuses: Provisioning → Active on create,
 * Configuring → Active on change; deletion is immediate (the SDK does not call it
 * asynchronous, and Terraform stops polling at ResourceNotFound.LoadBalancer).
 */
import { errors } from '../../gateway/errors.js';
import { defineAction } from '../../gateway/action.js';
import { p } from '../../gateway/params/spec.js';
import { isoSeconds } from '../../util/clock.js';
import { newResourceId } from '../../util/ids.js';
import { countResources, deleteResource, hasAllTags, listResources, tagsOf, type Tag } from '../common/resources.js';
import { checkTags, GWLB_TAG_LIMITS, tagListParam, tagListParams, tagsSent } from '../common/tag-params.js';
import { findVpc } from '../common/vip-pool.js';
import { planZoneMappings, zoneMappingsParam } from './load-balancer-zones.js';
import {
  DEFAULT_TRAFFIC_MODE,
  LB_KIND,
  listListeners,
  PRODUCT,
  requireLoadBalancer,
  requireSettled,
  type LoadBalancerRow,
} from './lookups.js';
import type { GwlbLoadBalancerDoc } from '../../domain/gwlb-documents.js';
import { pageOf, pagingParams } from './paging.js';
import { resourceGroupOrDefault } from './tags.js';
import { changeWithJob, createWithJob } from './transitions.js';
import { GWLB_LOAD_BALANCER } from '../../domain/status-machines.js';

/** 2–128 characters, starting with a letter; letters, digits, `.`, `_`, `-`. */
const NAME = /^\p{L}[\p{L}\p{N}._-]{1,127}$/u;
const TRAFFIC_MODES = ['LoadBalance', 'ByPass'] as const;
const LB_STATUSES = ['Active', 'Inactive', 'Provisioning', 'Configuring'] as const;
/** GWLB is IPv4 only; the list filter's enum text also names DualStack (copied from NLB). */
const IP_VERSIONS = ['Ipv4', 'DualStack'] as const;

const loadBalancerId = p.string({ required: true, maxLength: 128 });
const loadBalancerName = p.string({ pattern: NAME });

export function renderLoadBalancer(lb: LoadBalancerRow, tags: readonly Tag[], shape: 'get' | 'list') {
  const doc = lb.body;
  const out: Record<string, unknown> = {
    LoadBalancerId: lb.id,
    LoadBalancerName: doc.LoadBalancerName ?? undefined,
    LoadBalancerStatus: lb.status,
    LoadBalancerBusinessStatus: 'Normal',
    AddressIpVersion: doc.AddressIpVersion,
    VpcId: doc.VpcId,
    ResourceGroupId: doc.ResourceGroupId,
    CreateTime: doc.CreateTime,
    Tags: tags.map((t) => ({ Key: t.Key, Value: t.Value })),
    ZoneMappings: doc.ZoneMappings.map((z) => ({
      ZoneId: z.ZoneId,
      VSwitchId: z.VSwitchId,
      LoadBalancerAddresses: [{ EniId: z.EniId, PrivateIpv4Address: z.PrivateIpv4Address }],
    })),
  };
  // List items carry no TrafficMode (gwlb-api §3.4).
  if (shape === 'get') out.TrafficMode = doc.TrafficMode ?? DEFAULT_TRAFFIC_MODE;
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

const createLoadBalancer = defineAction({
  name: 'CreateLoadBalancer',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    VpcId: p.string({ required: true, maxLength: 128 }),
    ZoneMappings: zoneMappingsParam,
    LoadBalancerName: loadBalancerName,
    // The documentation spells it Ipv4, its examples IPv4.
    AddressIpVersion: p.string({ enum: ['Ipv4'], caseInsensitive: true, default: 'Ipv4' }),
    ResourceGroupId: p.string({ maxLength: 128 }),
    ...tagListParams(GWLB_TAG_LIMITS),
  },
  authResources: () => [[LB_KIND, '*']],
  handler: async (input, ctx) => {
    const tags = checkTags(tagsSent(input), GWLB_TAG_LIMITS);
    const resourceGroupId = resourceGroupOrDefault(input.ResourceGroupId, ctx.accountId);
    findVpc(ctx.region, input.VpcId);
    // One zone is enough, even in a region with two: the documentation only recommends two, and
    // the provider's acceptance test creates a one-zone GWLB against the real cloud (NLB differs).

    const limit = ctx.config.quotas.gwlbLoadBalancers;
    const usage = await countResources(ctx.db, { product: PRODUCT, kind: LB_KIND, regionId: ctx.region.id });
    if (usage >= limit) throw errors.quotaInsufficient('gwlb_quota_loadbalancers_num', usage, limit);

    const doc: GwlbLoadBalancerDoc = {
      LoadBalancerName: input.LoadBalancerName,
      AddressIpVersion: input.AddressIpVersion,
      VpcId: input.VpcId,
      ZoneMappings: await planZoneMappings(ctx, input.VpcId, input.ZoneMappings),
      // Cross-zone forwarding is always on for GWLB and cannot be turned off.
      CrossZoneEnabled: true,
      TrafficMode: DEFAULT_TRAFFIC_MODE,
      ResourceGroupId: resourceGroupId,
      CreateTime: isoSeconds(ctx.clock.now()),
    };
    const id = newResourceId('gwlb');
    await createWithJob(ctx, { id, kind: LB_KIND, body: doc, tags, transition: GWLB_LOAD_BALANCER.transitions.create });
    return { LoadBalancerId: id };
  },
});

const getLoadBalancerAttribute = defineAction({
  name: 'GetLoadBalancerAttribute',
  mode: 'read',
  params: { LoadBalancerId: loadBalancerId },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const lb = await requireLoadBalancer(ctx, input.LoadBalancerId);
    const tags = await tagsOf(ctx.db, [lb.id]);
    return renderLoadBalancer(lb, tags.get(lb.id) ?? [], 'get');
  },
});

const idList = p.list(p.string({ maxLength: 128 }), { maxItems: 20 });

const listLoadBalancers = defineAction({
  name: 'ListLoadBalancers',
  mode: 'read',
  params: {
    LoadBalancerIds: idList,
    LoadBalancerNames: idList,
    VpcIds: idList,
    ZoneIds: idList,
    LoadBalancerStatus: p.string({ enum: LB_STATUSES }),
    LoadBalancerBusinessStatus: p.string({ enum: ['Normal', 'FinancialLocked'] }),
    AddressIpVersion: p.string({ enum: IP_VERSIONS, caseInsensitive: true }),
    TrafficMode: p.string({ enum: TRAFFIC_MODES }),
    ResourceGroupId: p.string({ maxLength: 128 }),
    Tag: tagListParam(GWLB_TAG_LIMITS),
    ...pagingParams,
  },
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const wanted = input.Tag ?? [];
    checkTags(wanted, GWLB_TAG_LIMITS);
    const rows = await listResources<GwlbLoadBalancerDoc>(ctx.db, {
      product: PRODUCT,
      kind: LB_KIND,
      regionId: ctx.region.id,
      ids: input.LoadBalancerIds?.length ? input.LoadBalancerIds : undefined,
      statuses: input.LoadBalancerStatus ? [input.LoadBalancerStatus] : undefined,
    });
    const tags = await tagsOf(
      ctx.db,
      rows.map((r) => r.id),
    );
    const oneOf = (list: string[] | undefined, value: string | undefined) => !list?.length || (value !== undefined && list.includes(value));
    const matches = rows.filter(
      ({ id, body }) =>
        oneOf(input.LoadBalancerNames, body.LoadBalancerName) &&
        oneOf(input.VpcIds, body.VpcId) &&
        (!input.ZoneIds?.length || body.ZoneMappings.some((z) => input.ZoneIds!.includes(z.ZoneId))) &&
        (input.LoadBalancerBusinessStatus === undefined || input.LoadBalancerBusinessStatus === 'Normal') &&
        (input.AddressIpVersion === undefined || input.AddressIpVersion === body.AddressIpVersion) &&
        (input.TrafficMode === undefined || input.TrafficMode === (body.TrafficMode ?? DEFAULT_TRAFFIC_MODE)) &&
        (input.ResourceGroupId === undefined || input.ResourceGroupId === body.ResourceGroupId) &&
        hasAllTags(tags.get(id), wanted),
    );
    const { page, ...paging } = pageOf(matches, input);
    return { LoadBalancers: page.map((lb) => renderLoadBalancer(lb, tags.get(lb.id) ?? [], 'list')), ...paging };
  },
});

const updateLoadBalancerAttribute = defineAction({
  name: 'UpdateLoadBalancerAttribute',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerId: loadBalancerId,
    LoadBalancerName: loadBalancerName,
    TrafficMode: p.string({ enum: TRAFFIC_MODES }),
  },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    const lb = await requireLoadBalancer(ctx, input.LoadBalancerId);
    requireSettled(lb, 'LoadBalancer');
    const body: GwlbLoadBalancerDoc = {
      ...lb.body,
      LoadBalancerName: input.LoadBalancerName ?? lb.body.LoadBalancerName,
      TrafficMode: input.TrafficMode ?? lb.body.TrafficMode ?? DEFAULT_TRAFFIC_MODE,
    };
    await changeWithJob(ctx, lb, { transition: GWLB_LOAD_BALANCER.transitions.configure, body });
    return {};
  },
});

const deleteLoadBalancer = defineAction({
  name: 'DeleteLoadBalancer',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    const lb = await requireLoadBalancer(ctx, input.LoadBalancerId);
    requireSettled(lb, 'LoadBalancer');
    // Its listener goes with it, as NLB's do; server groups stay (they may serve other GWLBs).
    for (const listener of await listListeners(ctx.db, ctx.region.id, (l) => l.body.LoadBalancerId === lb.id)) {
      await deleteResource(ctx.db, listener.id);
    }
    await deleteResource(ctx.db, lb.id);
    return {};
  },
});

export const loadBalancerActions = [
  createLoadBalancer,
  getLoadBalancerAttribute,
  listLoadBalancers,
  updateLoadBalancerAttribute,
  deleteLoadBalancer,
];
