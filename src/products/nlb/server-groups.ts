/**
 * NLB server groups: CreateServerGroup, UpdateServerGroupAttribute, DeleteServerGroup,
 * ListServerGroups, plus the lookups other families use (`requireServerGroup`,
 * `listenersUsingServerGroup`). Backends live inside the group's document; servers.ts owns them.
 */
import type { ActionContext } from '../../gateway/action.js';
import { defineAction } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p, sameWord } from '../../gateway/params/spec.js';
import { NLB_DEFAULT_SCHEDULER, NLB_SCHEDULERS } from '../../domain/schedulers.js';
import { settleEffects, startJob } from '../common/jobs.js';
import { NLB_SERVER_GROUP } from '../../domain/status-machines.js';
import {
  countResources,
  deleteResource,
  getResource,
  hasAllTags,
  insertResource,
  listResources,
  paginate,
  putTags,
  tagsOf,
  updateResource,
  type Db,
  type Resource,
} from '../common/resources.js';
import { checkTags, NLB_TAG_LIMITS, tagListParam } from '../common/tag-params.js';
import { isoSeconds } from '../../util/clock.js';
import { newResourceId } from '../../util/ids.js';
import { DEFAULT_HEALTH_CHECK, healthCheckConfigParam, resolveHealthCheck } from './health-check-params.js';
import type { ListenerDoc, ServerGroupDoc } from '../../domain/nlb-documents.js';
import { defaultResourceGroupId, RESOURCE_GROUP_ID } from '../common/resource-groups.js';
import { aliUid } from '../common/ali-uid.js';
import { LISTENER, SERVER_GROUP } from '../../domain/kinds.js';

export const SERVER_GROUP_KIND = SERVER_GROUP;
const LISTENER_KIND = LISTENER;

export type ServerGroupRow = Resource<ServerGroupDoc>;

/**
 * Loads one server group of the caller's region (404 `ResourceNotFound.serverGroup`). With
 * `forWrite`, anything but `Available` is `IncorrectStatus.serverGroup`: the group is still
 * being created or another change is being applied (clients such as Terraform retry this).
 */
export async function requireServerGroup(
  ctx: Pick<ActionContext, 'db' | 'region'>,
  id: string,
  opts: { forWrite: boolean },
): Promise<ServerGroupRow> {
  const group = await getResource<ServerGroupDoc>(ctx.db, 'nlb', SERVER_GROUP_KIND, id, ctx.region.id, 'serverGroup');
  if (opts.forWrite && !NLB_SERVER_GROUP.settled.has(group.status)) {
    throw new ApiError('IncorrectStatus.serverGroup', `The status of servergroup [${id}] is incorrect.`);
  }
  return group;
}

/** The NLB listeners (rows of the listener family) that forward to the group. */
export async function listenersUsingServerGroup(db: Db, regionId: string, groupId: string): Promise<Array<Resource<ListenerDoc>>> {
  const listeners = await listResources<ListenerDoc>(db, { product: 'nlb', kind: LISTENER_KIND, regionId });
  return listeners.filter((l) => l.body.ServerGroupId === groupId);
}

/**
 * Settles the group once the data plane has applied a change: `onSuccess` fields patched in and
 * Available again; on failure the `undo` fields put back (the change did not happen). Only the
 * fields a change touched are patched, so e.g. a MoveResourceGroup meanwhile is kept.
 */
export function startServerGroupJob(
  ctx: ActionContext,
  group: ServerGroupRow,
  change: { onSuccess: Partial<ServerGroupDoc>; undo: Partial<ServerGroupDoc> },
): Promise<string> {
  const settled = settleEffects(group.id, NLB_SERVER_GROUP.transitions.configure, group.status);
  return startJob(ctx, {
    resourceType: SERVER_GROUP_KIND,
    resourceId: group.id,
    onSuccess: [
      ...(Object.keys(change.onSuccess).length > 0 ? [{ op: 'patch' as const, id: group.id, patch: change.onSuccess }] : []),
      ...settled.onSuccess,
    ],
    onFailure: [{ op: 'patch', id: group.id, patch: change.undo }, ...settled.onFailure],
  });
}

// --- parameters ----------------------------------------------------------------------------

/** 2–128 characters, starting with a letter; letters, digits, `.`, `_`, `-`. */
const SERVER_GROUP_NAME = /^\p{L}[\p{L}\p{N}._-]{1,127}$/u;

const nameParam = <R extends boolean>(required: R) => p.string({ required, pattern: SERVER_GROUP_NAME, errorName: 'ServerGroupName' });

// The reference spells the same schedulers in several casings (`wrr` in the metadata default),
// so any casing is accepted, and kept as sent: the cloud answers `Rr` to a client that sent `Rr`.
const schedulerParam = p.string({ enum: NLB_SCHEDULERS, caseInsensitive: true, keepSpelling: true });

// Only older metadata lists TCPSSL; the current SDK and the listener compatibility rules know these three.
const PROTOCOLS = ['TCP', 'UDP', 'TCP_UDP'] as const;

const DEFAULT_DRAIN_TIMEOUT = 10;

const groupAttributeParams = {
  Scheduler: schedulerParam,
  PreserveClientIpEnabled: p.boolean(),
  ConnectionDrainEnabled: p.boolean(),
  ConnectionDrainTimeout: p.integer({ min: 0, max: 900 }),
  HealthCheckConfig: healthCheckConfigParam,
  IpVersionAffinityMode: p.string({ maxLength: 64 }),
};

// --- rules shared by create and update -----------------------------------------------------

function checkScheduler(scheduler: string, protocol: string): void {
  if (sameWord(scheduler, 'qch') && protocol !== 'UDP') {
    throw new ApiError(
      'IllegalParam.Scheduler',
      'The param of Scheduler is illegal. QUIC ID hashing (qch) needs a server group whose Protocol is UDP.',
    );
  }
}

function preserveClientIpSwitchError(detail: string): ApiError {
  return new ApiError('IllegalParam.PreserveClientIpSwitch', `The param of PreserveClientIpSwitch is illegal. ${detail}`);
}

/** The fields UpdateServerGroupAttribute may change: what a failed update puts back. */
function attributesOf(doc: ServerGroupDoc): Partial<ServerGroupDoc> {
  return {
    ServerGroupName: doc.ServerGroupName,
    Scheduler: doc.Scheduler,
    PreserveClientIpEnabled: doc.PreserveClientIpEnabled,
    ConnectionDrainEnabled: doc.ConnectionDrainEnabled,
    ConnectionDrainTimeout: doc.ConnectionDrainTimeout,
    HealthCheck: doc.HealthCheck,
    IpVersionAffinityMode: doc.IpVersionAffinityMode,
  };
}

// --- rendering ------------------------------------------------------------------------------

function renderHealthCheck(doc: ServerGroupDoc['HealthCheck']) {
  return {
    HealthCheckEnabled: doc.HealthCheckEnabled,
    HealthCheckType: doc.HealthCheckType,
    HealthCheckConnectPort: doc.HealthCheckConnectPort,
    HealthCheckConnectTimeout: doc.HealthCheckConnectTimeout,
    HealthCheckInterval: doc.HealthCheckInterval,
    HealthyThreshold: doc.HealthyThreshold,
    UnhealthyThreshold: doc.UnhealthyThreshold,
    HealthCheckUrl: doc.HealthCheckUrl,
    HealthCheckDomain: doc.HealthCheckDomain,
    HealthCheckHttpCode: [...doc.HealthCheckHttpCode],
    HttpCheckMethod: doc.HttpCheckMethod,
    HealthCheckHttpVersion: doc.HealthCheckHttpVersion,
    HealthCheckReq: doc.HealthCheckReq,
    HealthCheckExp: doc.HealthCheckExp,
  };
}

// --- actions --------------------------------------------------------------------------------

const createServerGroup = defineAction({
  name: 'CreateServerGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ServerGroupName: nameParam(true),
    VpcId: p.string({ required: true, maxLength: 128 }),
    ServerGroupType: p.string({ enum: ['Instance', 'Ip'], default: 'Instance' }),
    Protocol: p.string({ enum: PROTOCOLS, default: 'TCP' }),
    // The metadata spells the default `Ipv4`; the SDK `ipv4`. Either is fine, and kept as sent.
    AddressIPVersion: p.string({ enum: ['ipv4', 'DualStack'], caseInsensitive: true, keepSpelling: true, default: 'ipv4' }),
    AnyPortEnabled: p.boolean({ default: false }),
    ResourceGroupId: p.string({ maxLength: 128 }),
    Tag: tagListParam(NLB_TAG_LIMITS),
    ...groupAttributeParams,
  },
  handler: async (input, ctx) => {
    const vpc = ctx.region.vpcs.find((v) => v.id === input.VpcId);
    if (!vpc) throw new ApiError('ResourceNotFound.Vpc', `The specified resource of Vpc [${input.VpcId}] is not found.`, 404);
    const resourceGroupId = input.ResourceGroupId ?? defaultResourceGroupId(ctx.accountId);
    if (!RESOURCE_GROUP_ID.test(resourceGroupId)) {
      throw new ApiError('ResourceNotFound.ResourceGroup', `The param of resourceGroup [${resourceGroupId}] not existed.`, 404);
    }
    const scheduler = input.Scheduler ?? NLB_DEFAULT_SCHEDULER;
    checkScheduler(scheduler, input.Protocol);

    // Client IP preservation is an IPv4 feature: on by default there, off (and fixed) for DualStack.
    const dualStack = sameWord(input.AddressIPVersion, 'DualStack');
    if (dualStack && input.PreserveClientIpEnabled === true) {
      throw preserveClientIpSwitchError('DualStack server groups do not support client IP preservation.');
    }
    const healthCheck = resolveHealthCheck(DEFAULT_HEALTH_CHECK, input.HealthCheckConfig, {
      operation: 'create',
      protocol: input.Protocol,
      anyPortEnabled: input.AnyPortEnabled,
    });
    const tags = checkTags(input.Tag);

    const limit = ctx.config.quotas.nlbServerGroups;
    const usage = await countResources(ctx.db, { product: 'nlb', kind: SERVER_GROUP_KIND, regionId: ctx.region.id });
    if (usage >= limit) throw errors.quotaInsufficient('nlb_quota_servergroups_num', usage, limit);

    const id = newResourceId('sgp');
    const doc: ServerGroupDoc = {
      ServerGroupName: input.ServerGroupName,
      ServerGroupType: input.ServerGroupType,
      Protocol: input.Protocol,
      Scheduler: scheduler,
      VpcId: vpc.id,
      AddressIPVersion: input.AddressIPVersion,
      AnyPortEnabled: input.AnyPortEnabled,
      PreserveClientIpEnabled: input.PreserveClientIpEnabled ?? !dualStack,
      ConnectionDrainEnabled: input.ConnectionDrainEnabled ?? false,
      ConnectionDrainTimeout: input.ConnectionDrainTimeout ?? DEFAULT_DRAIN_TIMEOUT,
      HealthCheck: healthCheck,
      ResourceGroupId: resourceGroupId,
      ...(input.IpVersionAffinityMode !== undefined ? { IpVersionAffinityMode: input.IpVersionAffinityMode } : {}),
      Servers: [],
      CreateTime: isoSeconds(ctx.clock.now()),
    };
    await insertResource(
      ctx.db,
      { id, product: 'nlb', kind: SERVER_GROUP_KIND, regionId: ctx.region.id, status: NLB_SERVER_GROUP.transitions.create.via, body: doc },
      { now: ctx.clock.now(), revision: ctx.revision },
    );
    await putTags(ctx.db, { id, product: 'nlb', resourceType: SERVER_GROUP_KIND, regionId: ctx.region.id }, tags);
    const jobId = await startJob(ctx, {
      resourceType: SERVER_GROUP_KIND,
      resourceId: id,
      ...settleEffects(id, NLB_SERVER_GROUP.transitions.create, NLB_SERVER_GROUP.transitions.create.via),
    });
    return { JobId: jobId, ServerGroupId: id };
  },
});

const updateServerGroupAttribute = defineAction({
  name: 'UpdateServerGroupAttribute',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ServerGroupId: p.string({ required: true, maxLength: 128 }),
    ServerGroupName: nameParam(false),
    ...groupAttributeParams,
  },
  authResources: (input) => [['servergroup', input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId, { forWrite: true });
    const current = group.body;
    const scheduler = input.Scheduler ?? current.Scheduler;
    checkScheduler(scheduler, current.Protocol);

    const preserve = input.PreserveClientIpEnabled ?? current.PreserveClientIpEnabled;
    if (preserve && !current.PreserveClientIpEnabled) {
      if (sameWord(current.AddressIPVersion, 'DualStack')) {
        throw preserveClientIpSwitchError('DualStack server groups do not support client IP preservation.');
      }
      const listeners = await listenersUsingServerGroup(ctx.db, ctx.region.id, group.id);
      if (listeners.some((l) => l.body.ListenerProtocol === 'TCPSSL')) {
        throw preserveClientIpSwitchError(
          'The server group associated with the tcpssl listener does not support enabling PreserveClientIp.',
        );
      }
    }
    const healthCheck = resolveHealthCheck(current.HealthCheck, input.HealthCheckConfig, {
      operation: 'update',
      protocol: current.Protocol,
      anyPortEnabled: current.AnyPortEnabled,
    });

    const next: ServerGroupDoc = {
      ...current,
      ServerGroupName: input.ServerGroupName ?? current.ServerGroupName,
      Scheduler: scheduler,
      PreserveClientIpEnabled: preserve,
      ConnectionDrainEnabled: input.ConnectionDrainEnabled ?? current.ConnectionDrainEnabled,
      ConnectionDrainTimeout: input.ConnectionDrainTimeout ?? current.ConnectionDrainTimeout,
      HealthCheck: healthCheck,
      ...(input.IpVersionAffinityMode !== undefined ? { IpVersionAffinityMode: input.IpVersionAffinityMode } : {}),
    };
    await updateResource(
      ctx.db,
      group,
      { status: NLB_SERVER_GROUP.transitions.configure.via, body: next },
      { now: ctx.clock.now(), revision: ctx.revision },
    );
    const jobId = await startServerGroupJob(ctx, group, { onSuccess: {}, undo: attributesOf(current) });
    return { JobId: jobId, ServerGroupId: group.id };
  },
});

const deleteServerGroup = defineAction({
  name: 'DeleteServerGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ServerGroupId: p.string({ required: true, maxLength: 128 }) },
  authResources: (input) => [['servergroup', input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId, { forWrite: true });
    const listeners = await listenersUsingServerGroup(ctx.db, ctx.region.id, group.id);
    if (listeners.length > 0) {
      throw new ApiError(
        'ResourceInUse.ServerGroup',
        `The specified resource of ServerGroup [${group.id}] is in use by listener ${listeners.map((l) => l.id).join(', ')}.`,
      );
    }
    // No listener forwards to it, so the data plane holds nothing for it: the row goes now, and
    // the job only reports when every node has seen that.
    await deleteResource(ctx.db, group.id);
    const jobId = await startJob(ctx, { resourceType: SERVER_GROUP_KIND, resourceId: group.id, onSuccess: [] });
    return { JobId: jobId };
  },
});

const listServerGroups = defineAction({
  name: 'ListServerGroups',
  mode: 'read',
  params: {
    ServerGroupIds: p.list(p.string({ maxLength: 128 }), { maxItems: 20, errorName: 'ServerGroupIds' }),
    ServerGroupNames: p.list(p.string({ maxLength: 128 }), { maxItems: 20, errorName: 'ServerGroupNames' }),
    ServerGroupType: p.string({ enum: ['Instance', 'Ip'] }),
    VpcId: p.string({ maxLength: 128 }),
    ResourceGroupId: p.string({ maxLength: 128 }),
    Tag: tagListParam(NLB_TAG_LIMITS),
    MaxResults: p.integer({ min: 1, max: 100, default: 20 }),
    NextToken: p.string({ maxLength: 512 }),
  },
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const wantedTags = input.Tag ?? [];
    let groups = await listResources<ServerGroupDoc>(ctx.db, {
      product: 'nlb',
      kind: SERVER_GROUP_KIND,
      regionId: ctx.region.id,
      ...(input.ServerGroupIds && input.ServerGroupIds.length > 0 ? { ids: input.ServerGroupIds } : {}),
    });
    const names = input.ServerGroupNames && input.ServerGroupNames.length > 0 ? new Set(input.ServerGroupNames) : undefined;
    groups = groups.filter(
      (g) =>
        (!names || names.has(g.body.ServerGroupName)) &&
        (input.ServerGroupType === undefined || g.body.ServerGroupType === input.ServerGroupType) &&
        (input.VpcId === undefined || g.body.VpcId === input.VpcId) &&
        (input.ResourceGroupId === undefined || g.body.ResourceGroupId === input.ResourceGroupId),
    );
    const tags = await tagsOf(
      ctx.db,
      groups.map((g) => g.id),
    );
    if (wantedTags.length > 0) groups = groups.filter((g) => hasAllTags(tags.get(g.id), wantedTags));

    const { page, nextToken, totalCount } = paginate(groups, input.MaxResults, input.NextToken);
    const listeners = await listResources<ListenerDoc>(ctx.db, { product: 'nlb', kind: LISTENER_KIND, regionId: ctx.region.id });
    const uid = aliUid(ctx.accountId);
    const serverGroups = page.map((g) => {
      const users = listeners.filter((l) => l.body.ServerGroupId === g.id);
      return {
        ServerGroupId: g.id,
        ServerGroupName: g.body.ServerGroupName,
        ServerGroupStatus: g.status,
        ServerGroupType: g.body.ServerGroupType,
        Protocol: g.body.Protocol,
        Scheduler: g.body.Scheduler,
        AddressIPVersion: g.body.AddressIPVersion,
        AnyPortEnabled: g.body.AnyPortEnabled,
        PreserveClientIpEnabled: g.body.PreserveClientIpEnabled,
        ConnectionDrainEnabled: g.body.ConnectionDrainEnabled,
        ConnectionDrainTimeout: g.body.ConnectionDrainTimeout,
        HealthCheck: renderHealthCheck(g.body.HealthCheck),
        IpVersionAffinityMode: g.body.IpVersionAffinityMode,
        VpcId: g.body.VpcId,
        RegionId: g.regionId,
        ResourceGroupId: g.body.ResourceGroupId,
        ...(uid !== undefined ? { AliUid: uid } : {}),
        ServerCount: g.body.Servers.length,
        RelatedLoadBalancerIds: [...new Set(users.map((l) => l.body.LoadBalancerId))],
        // Not in the SDK model (clients ignore it); handy for seeing at a glance what blocks a delete.
        ListenerCount: users.length,
        Tags: (tags.get(g.id) ?? []).map((t) => ({ Key: t.Key, Value: t.Value })),
      };
    });
    return { ServerGroups: serverGroups, NextToken: nextToken, MaxResults: input.MaxResults, TotalCount: totalCount };
  },
});

export const serverGroupActions = [createServerGroup, updateServerGroupAttribute, deleteServerGroup, listServerGroups];
