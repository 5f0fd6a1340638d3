/**
 * GWLB server groups: CreateServerGroup, UpdateServerGroupAttribute, DeleteServerGroup,
 * ListServerGroups. A group holds the appliances (servers.ts owns them), is GENEVE only, and
 * may serve the listeners of several GWLBs (RelatedLoadBalancerIds).
 * Statuses: Creating → Available on create, Configuring → Available on change.
 */
import { defineAction } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { isoSeconds } from '../../util/clock.js';
import { newResourceId } from '../../util/ids.js';
import { countResources, deleteResource, hasAllTags, listResources, tagsOf, type Tag } from '../common/resources.js';
import { checkTags, GWLB_TAG_LIMITS, tagListParam, tagListParams, tagsSent } from '../common/tag-params.js';
import { findVpc } from '../common/vip-pool.js';
import { checkIdleTimeoutFits } from './attachment-rules.js';
import {
  connectionDrainConfigParam,
  DEFAULT_DRAIN,
  DEFAULT_HEALTH_CHECK,
  healthCheckConfigParam,
  renderHealthCheck,
  resolveDrain,
  resolveHealthCheck,
} from './health-check.js';
import {
  currentServers,
  DEFAULT_FAILOVER_MODE,
  listListeners,
  PRODUCT,
  requireServerGroup,
  requireSettled,
  SERVER_GROUP_KIND,
  type ListenerRow,
  type ServerGroupRow,
} from './lookups.js';
import type { GwlbServerGroupDoc } from '../../domain/gwlb-documents.js';
import { pageOf, pagingParams } from './paging.js';
import { resourceGroupOrDefault } from './tags.js';
import { changeWithJob, createWithJob } from './transitions.js';
import { GWLB_SERVER_GROUP } from '../../domain/status-machines.js';
import { GWLB_DEFAULT_SCHEDULER, GWLB_SCHEDULERS } from '../../domain/schedulers.js';

/** 2–128 characters, starting with a letter; letters, digits, `.`, `_`, `-`. */
const NAME = /^\p{L}[\p{L}\p{N}._-]{1,127}$/u;
const FAILOVER_MODES = ['NoRebalance', 'Rebalance'] as const;
const GROUP_TYPES = ['Instance', 'Ip'] as const;

const serverGroupId = p.string({ required: true, maxLength: 128 });
const serverGroupName = p.string({ pattern: NAME });
const scheduler = p.string({ enum: GWLB_SCHEDULERS, caseInsensitive: true });
const failoverMode = p.string({ enum: FAILOVER_MODES, caseInsensitive: true });

function render(group: ServerGroupRow, tags: readonly Tag[], listeners: readonly ListenerRow[], now: number) {
  const doc = group.body;
  const related = [...new Set(listeners.filter((l) => l.body.ServerGroupId === group.id).map((l) => l.body.LoadBalancerId))];
  return {
    ServerGroupId: group.id,
    ...(doc.ServerGroupName ? { ServerGroupName: doc.ServerGroupName } : {}),
    ServerGroupType: doc.ServerGroupType,
    ServerGroupStatus: group.status,
    Protocol: doc.Protocol,
    Scheduler: doc.Scheduler,
    ServerFailoverMode: doc.ServerFailoverMode ?? DEFAULT_FAILOVER_MODE,
    VpcId: doc.VpcId,
    ResourceGroupId: doc.ResourceGroupId,
    CreateTime: doc.CreateTime,
    ServerCount: currentServers(doc, now).length,
    RelatedLoadBalancerIds: related,
    HealthCheckConfig: renderHealthCheck(doc.HealthCheckConfig),
    ConnectionDrainConfig: { ...doc.ConnectionDrainConfig },
    Tags: tags.map((t) => ({ Key: t.Key, Value: t.Value })),
  };
}

const createServerGroup = defineAction({
  name: 'CreateServerGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    VpcId: p.string({ required: true, maxLength: 128 }),
    ServerGroupName: serverGroupName,
    ServerGroupType: p.string({ enum: GROUP_TYPES, caseInsensitive: true, default: 'Instance' }),
    Protocol: p.string({ enum: ['GENEVE'], caseInsensitive: true, default: 'GENEVE' }),
    Scheduler: p.string({ enum: GWLB_SCHEDULERS, caseInsensitive: true, default: GWLB_DEFAULT_SCHEDULER }),
    ServerFailoverMode: p.string({ enum: FAILOVER_MODES, caseInsensitive: true, default: 'NoRebalance' }),
    HealthCheckConfig: healthCheckConfigParam,
    ConnectionDrainConfig: connectionDrainConfigParam,
    ResourceGroupId: p.string({ maxLength: 128 }),
    ...tagListParams(GWLB_TAG_LIMITS),
  },
  authResources: () => [[SERVER_GROUP_KIND, '*']],
  handler: async (input, ctx) => {
    const vpc = findVpc(ctx.region, input.VpcId);
    const tags = checkTags(tagsSent(input), GWLB_TAG_LIMITS);
    const resourceGroupId = resourceGroupOrDefault(input.ResourceGroupId, ctx.accountId);

    const limit = ctx.config.quotas.gwlbServerGroups;
    const usage = await countResources(ctx.db, { product: PRODUCT, kind: SERVER_GROUP_KIND, regionId: ctx.region.id });
    if (usage >= limit) throw errors.quotaInsufficient('gwlb_quota_servergroups_num', usage, limit);

    const doc: GwlbServerGroupDoc = {
      ServerGroupName: input.ServerGroupName ?? '',
      ServerGroupType: input.ServerGroupType,
      Protocol: input.Protocol,
      Scheduler: input.Scheduler,
      ServerFailoverMode: input.ServerFailoverMode,
      VpcId: vpc.id,
      HealthCheckConfig: resolveHealthCheck(DEFAULT_HEALTH_CHECK, input.HealthCheckConfig),
      ConnectionDrainConfig: resolveDrain(DEFAULT_DRAIN, input.ConnectionDrainConfig),
      ResourceGroupId: resourceGroupId,
      Servers: [],
      CreateTime: isoSeconds(ctx.clock.now()),
    };
    const id = newResourceId('sgp');
    await createWithJob(ctx, { id, kind: SERVER_GROUP_KIND, body: doc, tags, transition: GWLB_SERVER_GROUP.transitions.create });
    return { ServerGroupId: id };
  },
});

const updateServerGroupAttribute = defineAction({
  name: 'UpdateServerGroupAttribute',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ServerGroupId: serverGroupId,
    ServerGroupName: serverGroupName,
    Scheduler: scheduler,
    ServerFailoverMode: failoverMode,
    HealthCheckConfig: healthCheckConfigParam,
    ConnectionDrainConfig: connectionDrainConfigParam,
  },
  authResources: (input) => [[SERVER_GROUP_KIND, input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId);
    requireSettled(group, 'ServerGroup');
    const current = group.body;
    const next: GwlbServerGroupDoc = {
      ...current,
      ServerGroupName: input.ServerGroupName ?? current.ServerGroupName,
      Scheduler: input.Scheduler ?? current.Scheduler,
      ServerFailoverMode: input.ServerFailoverMode ?? current.ServerFailoverMode ?? DEFAULT_FAILOVER_MODE,
      HealthCheckConfig: resolveHealthCheck(current.HealthCheckConfig, input.HealthCheckConfig),
      ConnectionDrainConfig: resolveDrain(current.ConnectionDrainConfig, input.ConnectionDrainConfig),
      // Appliances whose draining has ended leave with this write.
      Servers: currentServers(current, ctx.clock.now()),
    };
    for (const listener of await listListeners(ctx.db, ctx.region.id, (l) => l.body.ServerGroupId === group.id)) {
      checkIdleTimeoutFits(listener.body.TcpIdleTimeout, next.Scheduler);
    }
    await changeWithJob(ctx, group, { transition: GWLB_SERVER_GROUP.transitions.configure, body: next });
    return {};
  },
});

const deleteServerGroup = defineAction({
  name: 'DeleteServerGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ServerGroupId: serverGroupId },
  authResources: (input) => [[SERVER_GROUP_KIND, input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId);
    requireSettled(group, 'ServerGroup');
    const users = await listListeners(ctx.db, ctx.region.id, (l) => l.body.ServerGroupId === group.id);
    if (users.length > 0) {
      throw new ApiError(
        'ResourceInUse.ServerGroup',
        `The specified resource of ServerGroup [${group.id}] is in use by listener ${users.map((l) => l.id).join(', ')}.`,
      );
    }
    // An appliance still draining may carry flows a data plane has not let go of yet.
    const draining = currentServers(group.body, ctx.clock.now()).find((s) => s.Status !== 'Available');
    if (draining) {
      throw new ApiError(
        'IncorrectStatus.BackendServer',
        `The status of BackendServer [${draining.ServerId}] is incorrect (${draining.Status}).`,
      );
    }
    // No listener forwards to it, so no data plane holds anything of it: it goes at once.
    await deleteResource(ctx.db, group.id);
    return {};
  },
});

const nameList = p.list(p.string({ maxLength: 128 }), { maxItems: 20 });

const listServerGroups = defineAction({
  name: 'ListServerGroups',
  mode: 'read',
  params: {
    ServerGroupIds: nameList,
    ServerGroupNames: nameList,
    ServerGroupType: p.string({ enum: GROUP_TYPES, caseInsensitive: true }),
    VpcId: p.string({ maxLength: 128 }),
    ResourceGroupId: p.string({ maxLength: 128 }),
    Tag: tagListParam(GWLB_TAG_LIMITS),
    ...pagingParams,
  },
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const wanted = input.Tag ?? [];
    checkTags(wanted, GWLB_TAG_LIMITS);
    const rows = await listResources<GwlbServerGroupDoc>(ctx.db, {
      product: PRODUCT,
      kind: SERVER_GROUP_KIND,
      regionId: ctx.region.id,
      ids: input.ServerGroupIds?.length ? input.ServerGroupIds : undefined,
    });
    const tags = await tagsOf(
      ctx.db,
      rows.map((r) => r.id),
    );
    const matches = rows.filter(
      ({ id, body }) =>
        (!input.ServerGroupNames?.length || input.ServerGroupNames.includes(body.ServerGroupName)) &&
        (input.ServerGroupType === undefined || input.ServerGroupType === body.ServerGroupType) &&
        (input.VpcId === undefined || input.VpcId === body.VpcId) &&
        (input.ResourceGroupId === undefined || input.ResourceGroupId === body.ResourceGroupId) &&
        hasAllTags(tags.get(id), wanted),
    );
    const listeners = await listListeners(ctx.db, ctx.region.id);
    const now = ctx.clock.now();
    const { page, ...paging } = pageOf(matches, input);
    return { ServerGroups: page.map((g) => render(g, tags.get(g.id) ?? [], listeners, now)), ...paging };
  },
});

export const serverGroupActions = [createServerGroup, updateServerGroupAttribute, deleteServerGroup, listServerGroups];
