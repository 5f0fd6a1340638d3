/**
 * GWLB listeners: CreateListener (per the seed), GetListenerAttribute, ListListeners,
 * UpdateListenerAttribute, DeleteListener. A GWLB has at most one listener; it takes every IP
 * packet arriving at the GWLB's VIPs (GENEVE, UDP 6081) and hands it to the server group.
 * Statuses: Provisioning → Running, Configuring → Running, Deleting → gone.
 */
import { defineAction, type ActionContext } from '../../gateway/action.js';
import { errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { isoSeconds } from '../../util/clock.js';
import { newResourceId } from '../../util/ids.js';
import { hasAllTags, tagsOf, type Tag } from '../common/resources.js';
import { checkTags, GWLB_TAG_LIMITS, tagListParam, tagListParams, tagsSent } from '../common/tag-params.js';
import { checkIdleTimeoutFits, checkSameVpc, rejectVipAppliances } from './attachment-rules.js';
import {
  currentServers,
  DEFAULT_TCP_IDLE_TIMEOUT,
  LB_KIND,
  LISTENER_KIND,
  listListeners,
  requireListener,
  requireLoadBalancer,
  requireServerGroup,
  requireSettled,
  SERVER_GROUP_KIND,
  type ListenerRow,
  type LoadBalancerRow,
  type ServerGroupRow,
} from './lookups.js';
import type { GwlbListenerDoc } from '../../domain/gwlb-documents.js';
import { pageOf, pagingParams } from './paging.js';
import { changeWithJob, createWithJob, deleteWithJob } from './transitions.js';
import { GWLB_LISTENER } from '../../domain/status-machines.js';

/** 2–256 characters: letters (Chinese included), digits, `, . ; / @ _ -`. */
const DESCRIPTION = /^[\p{L}\p{N},.;/@_-]{2,256}$/u;

const listenerId = p.string({ required: true, maxLength: 128 });
const description = p.string({ pattern: DESCRIPTION });
const tcpIdleTimeout = p.integer({ min: 60, max: 6000 });

/**
 * The server group a listener of `lb` may forward to: Available, in the GWLB's VPC, scheduled
 * so that `timeout` is allowed, and with no appliance at a load balancer's VIP.
 */
async function checkAttachable(ctx: ActionContext, lb: LoadBalancerRow, group: ServerGroupRow, timeout: number): Promise<void> {
  requireSettled(group, 'ServerGroup');
  checkSameVpc(lb.body.VpcId, group.body.VpcId, group.id);
  checkIdleTimeoutFits(timeout, group.body.Scheduler);
  await rejectVipAppliances(
    ctx.db,
    currentServers(group.body, ctx.clock.now()).map((s) => s.ServerIp),
  );
}

function render(listener: ListenerRow, tags: readonly Tag[]) {
  const doc = listener.body;
  return {
    ListenerId: listener.id,
    ...(doc.ListenerDescription ? { ListenerDescription: doc.ListenerDescription } : {}),
    ListenerStatus: listener.status,
    LoadBalancerId: doc.LoadBalancerId,
    ServerGroupId: doc.ServerGroupId,
    TcpIdleTimeout: doc.TcpIdleTimeout,
    Tags: tags.map((t) => ({ Key: t.Key, Value: t.Value })),
  };
}

const createListener = defineAction({
  name: 'CreateListener',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerId: p.string({ required: true, maxLength: 128 }),
    ServerGroupId: p.string({ required: true, maxLength: 128 }),
    ListenerDescription: description,
    TcpIdleTimeout: p.integer({ min: 60, max: 6000, default: DEFAULT_TCP_IDLE_TIMEOUT }),
    ...tagListParams(GWLB_TAG_LIMITS),
  },
  // The seed's authorization table: the instance, the server group, and any listener.
  authResources: (input) => [
    [LB_KIND, input.LoadBalancerId],
    [SERVER_GROUP_KIND, input.ServerGroupId],
    [LISTENER_KIND, '*'],
  ],
  handler: async (input, ctx) => {
    const tags = checkTags(tagsSent(input), GWLB_TAG_LIMITS);
    const lb = await requireLoadBalancer(ctx, input.LoadBalancerId);
    const group = await requireServerGroup(ctx, input.ServerGroupId);
    requireSettled(lb, 'LoadBalancer');
    await checkAttachable(ctx, lb, group, input.TcpIdleTimeout);
    // One listener per GWLB, counting one still being deleted.
    if ((await listListeners(ctx.db, ctx.region.id, (l) => l.body.LoadBalancerId === lb.id)).length > 0) {
      throw errors.operationDenied('TooManyListeners', 'The operation is not allowed because of TooManyListener.');
    }
    const doc: GwlbListenerDoc = {
      LoadBalancerId: lb.id,
      ServerGroupId: input.ServerGroupId,
      ...(input.ListenerDescription !== undefined ? { ListenerDescription: input.ListenerDescription } : {}),
      TcpIdleTimeout: input.TcpIdleTimeout,
      CreateTime: isoSeconds(ctx.clock.now()),
    };
    const id = newResourceId('lsn');
    await createWithJob(ctx, { id, kind: LISTENER_KIND, parentId: lb.id, body: doc, tags, transition: GWLB_LISTENER.transitions.create });
    return { ListenerId: id };
  },
});

const getListenerAttribute = defineAction({
  name: 'GetListenerAttribute',
  mode: 'read',
  params: { ListenerId: listenerId },
  authResources: (input) => [[LISTENER_KIND, input.ListenerId]],
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const listener = await requireListener(ctx, input.ListenerId);
    const tags = await tagsOf(ctx.db, [listener.id]);
    return { ...render(listener, tags.get(listener.id) ?? []), RegionId: listener.regionId };
  },
});

const idList = p.list(p.string({ maxLength: 128 }), { maxItems: 20 });

const listListenersAction = defineAction({
  name: 'ListListeners',
  mode: 'read',
  params: {
    ListenerIds: idList,
    LoadBalancerIds: idList,
    Tag: tagListParam(GWLB_TAG_LIMITS),
    ...pagingParams,
  },
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const wanted = input.Tag ?? [];
    checkTags(wanted, GWLB_TAG_LIMITS);
    const rows = await listListeners(
      ctx.db,
      ctx.region.id,
      (l) =>
        (!input.ListenerIds?.length || input.ListenerIds.includes(l.id)) &&
        (!input.LoadBalancerIds?.length || input.LoadBalancerIds.includes(l.body.LoadBalancerId)),
    );
    const tags = await tagsOf(
      ctx.db,
      rows.map((r) => r.id),
    );
    const matches = rows.filter((l) => hasAllTags(tags.get(l.id), wanted));
    const { page, ...paging } = pageOf(matches, input);
    return { Listeners: page.map((l) => render(l, tags.get(l.id) ?? [])), ...paging };
  },
});

const updateListenerAttribute = defineAction({
  name: 'UpdateListenerAttribute',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ListenerId: listenerId,
    ListenerDescription: description,
    ServerGroupId: p.string({ maxLength: 128 }),
    TcpIdleTimeout: tcpIdleTimeout,
  },
  authResources: (input) => [
    [LISTENER_KIND, input.ListenerId],
    ...(input.ServerGroupId ? [[SERVER_GROUP_KIND, input.ServerGroupId] as const] : []),
  ],
  handler: async (input, ctx) => {
    const listener = await requireListener(ctx, input.ListenerId);
    requireSettled(listener, 'Listener');
    const current = listener.body;
    const next: GwlbListenerDoc = {
      ...current,
      ...(input.ListenerDescription !== undefined ? { ListenerDescription: input.ListenerDescription } : {}),
      ServerGroupId: input.ServerGroupId ?? current.ServerGroupId,
      TcpIdleTimeout: input.TcpIdleTimeout ?? current.TcpIdleTimeout,
    };
    const group = await requireServerGroup(ctx, next.ServerGroupId);
    if (next.ServerGroupId !== current.ServerGroupId) {
      await checkAttachable(ctx, await requireLoadBalancer(ctx, current.LoadBalancerId), group, next.TcpIdleTimeout);
    } else {
      checkIdleTimeoutFits(next.TcpIdleTimeout, group.body.Scheduler);
    }
    await changeWithJob(ctx, listener, { transition: GWLB_LISTENER.transitions.configure, body: next });
    return {};
  },
});

const deleteListener = defineAction({
  name: 'DeleteListener',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ListenerId: listenerId },
  authResources: (input) => [[LISTENER_KIND, input.ListenerId]],
  handler: async (input, ctx) => {
    const listener = await requireListener(ctx, input.ListenerId);
    requireSettled(listener, 'Listener');
    await deleteWithJob(ctx, listener, GWLB_LISTENER.transitions.delete);
    return {};
  },
});

export const listenerActions = [createListener, getListenerAttribute, listListenersAction, updateListenerAttribute, deleteListener];
