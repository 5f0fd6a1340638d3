/**
 * NLB listeners: CreateListener, UpdateListenerAttribute, GetListenerAttribute, ListListeners,
 * DeleteListener, StartListener, StopListener, and the look-ups the other listener modules use.
 *
 * Listener IDs are `lsn-<20 lower-case alphanumerics>@<ListenerPort>` as in the newer API
 * examples; a port-range listener (ListenerPort 0) ends in `@0`.
 *
 * Every change moves the listener into a transitional status and starts a job whose outcome
 * settles it (Provisioning/Configuring/Starting → Running, Stopping → Stopped, Deleting → gone).
 * A listener in a transitional status refuses further changes (`IncorrectStatus.listener`),
 * so at most one job per listener is ever in flight. The NLB itself stays Active meanwhile.
 */
import { defineAction, type ActionContext } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import type { JobEffect } from '../../jobs/effects.js';
import { isoSeconds } from '../../util/clock.js';
import { newResourceId } from '../../util/ids.js';
import { settleEffects, startJob } from '../common/jobs.js';
import { NLB_LISTENER, type Transition } from '../../domain/status-machines.js';
import {
  getResource,
  hasAllTags,
  insertResource,
  listResources,
  paginate,
  putTags,
  tagsOf,
  updateResource,
  type Resource,
  type Tag,
} from '../common/resources.js';
import { checkTags, NLB_TAG_LIMITS, tagListParam } from '../common/tag-params.js';
import {
  ALPN_POLICIES,
  LISTENER_PROTOCOLS,
  checkDescription,
  checkMss,
  checkPortClaim,
  checkServerGroupFit,
  isPortRange,
  resolveIdleTimeout,
  resolvePorts,
  resolveTls,
  type ListenerProtocol,
} from './listener-rules.js';
import { findCertificate } from '../cas/certificates.js';
import { parseCertificateRef } from '../../domain/certificates.js';
import { requireLoadBalancer } from './load-balancers.js';
import type { ListenerDoc } from '../../domain/nlb-documents.js';
import { findSecurityPolicy } from './security-policies.js';
import { requireServerGroup, type ServerGroupRow } from './server-groups.js';
import { LISTENER } from '../../domain/kinds.js';

export const LISTENER_KIND = LISTENER;
export type ListenerRow = Resource<ListenerDoc>;

/** Statuses from which a listener accepts a change; the others mean a job is still running. */
const SETTLED = [...NLB_LISTENER.settled];

export async function requireListener(ctx: Pick<ActionContext, 'db' | 'region'>, id: string): Promise<ListenerRow> {
  return getResource<ListenerDoc>(ctx.db, 'nlb', LISTENER_KIND, id, ctx.region.id, 'listener');
}

/** Refuses a listener that is not Running or Stopped (or one of `allowed`): a job is still settling it. */
export function checkSettled(listener: ListenerRow, allowed: readonly string[] = SETTLED): void {
  if (!allowed.includes(listener.status)) throw errors.incorrectStatus('listener', listener.id);
}

export async function requireSettledListener(
  ctx: Pick<ActionContext, 'db' | 'region'>,
  id: string,
  allowed: readonly string[] = SETTLED,
): Promise<ListenerRow> {
  const listener = await requireListener(ctx, id);
  checkSettled(listener, allowed);
  return listener;
}

/**
 * Moves a listener into the transition's status now; the job settles it (NLB_LISTENER) once the
 * data plane has applied the change, together with any `also` effects of that outcome.
 */
export async function transitionListener(
  ctx: ActionContext,
  listener: ListenerRow,
  change: { transition: Transition; body?: ListenerDoc; also?: { onSuccess: JobEffect[]; onFailure: JobEffect[] } },
): Promise<string> {
  // A Stopped listener being reconfigured passes through Configuring but must stay unbound:
  // the data plane reads this marker, and either outcome of the job clears it.
  const keepStopped = listener.status === 'Stopped' && change.transition === NLB_LISTENER.transitions.configure;
  const body = keepStopped ? { ...(change.body ?? listener.body), StoppedWhileConfiguring: true } : change.body;
  const clear: JobEffect[] = keepStopped ? [{ op: 'patch', id: listener.id, patch: { StoppedWhileConfiguring: undefined } }] : [];
  const settled = settleEffects(listener.id, change.transition, listener.status);
  await updateResource(ctx.db, listener, { status: change.transition.via, body }, { now: ctx.clock.now(), revision: ctx.revision });
  return startJob(ctx, {
    resourceType: LISTENER_KIND,
    resourceId: listener.id,
    onSuccess: [...(change.also?.onSuccess ?? []), ...settled.onSuccess, ...clear],
    onFailure: [...(change.also?.onFailure ?? []), ...settled.onFailure, ...clear],
  });
}

export function setStatus(id: string, status: string): JobEffect {
  return { op: 'setStatus', id, status };
}

// --- errors the generic constructors don't spell ------------------------------------------

export function alreadyAssociated(certificateId: string): ApiError {
  return new ApiError('ResourceAlreadyAssociated.Certificate', `The specified resource ${certificateId} is already associated.`);
}

// --- TLS look-ups -------------------------------------------------------------------------

/** A system policy name or a custom policy of this region (`ResourceNotFound.securitypolicy`). */
export async function requireSecurityPolicy(ctx: Pick<ActionContext, 'db' | 'region'>, id: string): Promise<void> {
  if (!(await findSecurityPolicy(ctx.db, ctx.region.id, id))) throw errors.notFound('securitypolicy', id);
}

/**
 * The certificate service's own ID of a certificate reference: listeners take `123157` as
 * well as `123157-cn-hangzhou` and store what they were given, so compare through this.
 */
export function certificateKey(ref: string): string {
  return parseCertificateRef(ref)?.id ?? ref;
}

/** Server certificates (default or additional) must exist as server certificates. */
export async function requireServerCertificates(ctx: Pick<ActionContext, 'db'>, refs: readonly string[]): Promise<void> {
  for (const ref of refs) {
    const cert = await findCertificate(ctx.db, ref);
    // The cloud answers this one with 400, unlike most not-found codes.
    if (!cert || cert.type !== 'Server') {
      throw new ApiError('ResourceNotFound.Certificate', `The specified resource ${ref} is not found.`, 400);
    }
  }
}

export async function requireCaCertificates(ctx: Pick<ActionContext, 'db'>, refs: readonly string[]): Promise<void> {
  for (const ref of refs) {
    const cert = await findCertificate(ctx.db, ref);
    if (!cert || cert.type !== 'CA') {
      throw new ApiError('ResourceNotFound.CaCertificate', `The specified resource of CaCertificate [${ref}] is not found.`, 404);
    }
  }
}

// --- fine-grained monitoring ---------------------------------------------------------------

/**
 * SecSensorEnabled sends second-level metrics to the region's HdMonitor target, which
 * SetHdMonitorRegionConfig sets; without one the cloud refuses the switch. The key is the one
 * hd-monitor.ts stores that setting under.
 */
async function requireHdMonitorConfig(ctx: Pick<ActionContext, 'db' | 'region'>): Promise<void> {
  const row = await ctx.db.selectFrom('meta').select('key').where('key', '=', `nlb:hd-monitor:${ctx.region.id}`).executeTakeFirst();
  if (!row) {
    throw new ApiError(
      'ResourceNotFound.HdMonitorConfigNotExist',
      'The specified resource of HdMonitorConfigNotExist is not found. Call SetHdMonitorRegionConfig before enabling SecSensorEnabled.',
      404,
    );
  }
}

// --- rendering ----------------------------------------------------------------------------

type TagStyle = 'attribute' | 'list';

/** One listener as GetListenerAttribute and ListListeners show it (StartPort/EndPort are strings). */
function renderListener(row: ListenerRow, tags: Tag[], style: TagStyle): Record<string, unknown> {
  const d = row.body;
  const range = isPortRange(d);
  return {
    AlpnEnabled: d.AlpnEnabled,
    ...(d.AlpnPolicy !== undefined ? { AlpnPolicy: d.AlpnPolicy } : {}),
    CaCertificateIds: d.CaCertificateIds,
    CaEnabled: d.CaEnabled,
    CertificateIds: d.CertificateIds,
    Cps: d.Cps,
    ...(range ? { EndPort: String(d.EndPort) } : {}),
    IdleTimeout: d.IdleTimeout,
    ...(d.ListenerDescription !== undefined ? { ListenerDescription: d.ListenerDescription } : {}),
    ListenerId: row.id,
    ListenerPort: d.ListenerPort,
    ListenerProtocol: d.ListenerProtocol,
    ListenerStatus: row.status,
    LoadBalancerId: d.LoadBalancerId,
    Mss: d.Mss,
    ProxyProtocolEnabled: d.ProxyProtocolEnabled,
    ProxyProtocolV2Config: { ...d.ProxyProtocolV2Config },
    RegionId: row.regionId,
    SecSensorEnabled: d.SecSensorEnabled,
    ...(d.SecurityPolicyId !== undefined ? { SecurityPolicyId: d.SecurityPolicyId } : {}),
    ServerGroupId: d.ServerGroupId,
    ...(range ? { StartPort: String(d.StartPort) } : {}),
    Tags:
      style === 'attribute' ? tags.map((t) => ({ TagKey: t.Key, TagValue: t.Value })) : tags.map((t) => ({ Key: t.Key, Value: t.Value })),
  };
}

// --- shared parameters ----------------------------------------------------------------------

const listenerIdParam = p.string({ required: true, maxLength: 128 });
const serverGroupIdPattern = /^sgp-[0-9a-z]{1,64}$/;
const certificateIdParam = p.string({ maxLength: 128 });

const proxyProtocolV2Config = p.json({
  Ppv2VpcIdEnabled: p.boolean(),
  Ppv2PrivateLinkEpIdEnabled: p.boolean(),
  Ppv2PrivateLinkEpsIdEnabled: p.boolean(),
});

/** Parameters CreateListener and UpdateListenerAttribute share. */
const changeableParams = {
  ListenerDescription: p.string(),
  IdleTimeout: p.integer(),
  Cps: p.integer({ min: 0, max: 1_000_000 }),
  Mss: p.integer({ min: 0, max: 1500 }),
  ProxyProtocolEnabled: p.boolean(),
  ProxyProtocolV2Config: proxyProtocolV2Config,
  SecSensorEnabled: p.boolean(),
  SecurityPolicyId: p.string({ maxLength: 200 }),
  CertificateIds: p.list(certificateIdParam, { maxItems: 10 }),
  CertificateId: certificateIdParam,
  CaCertificateIds: p.list(certificateIdParam, { maxItems: 10 }),
  CaCertificateId: certificateIdParam,
  CaEnabled: p.boolean(),
  AlpnEnabled: p.boolean(),
  AlpnPolicy: p.string({ enum: ALPN_POLICIES }),
};

type ProxyV2 = ListenerDoc['ProxyProtocolV2Config'];

function mergeProxyV2(current: ProxyV2 | undefined, requested: Partial<Record<keyof ProxyV2, boolean | undefined>> | undefined): ProxyV2 {
  return {
    Ppv2VpcIdEnabled: requested?.Ppv2VpcIdEnabled ?? current?.Ppv2VpcIdEnabled ?? false,
    Ppv2PrivateLinkEpIdEnabled: requested?.Ppv2PrivateLinkEpIdEnabled ?? current?.Ppv2PrivateLinkEpIdEnabled ?? false,
    Ppv2PrivateLinkEpsIdEnabled: requested?.Ppv2PrivateLinkEpsIdEnabled ?? current?.Ppv2PrivateLinkEpsIdEnabled ?? false,
  };
}

function groupFacts(group: ServerGroupRow) {
  return {
    id: group.id,
    Protocol: group.body.Protocol,
    VpcId: group.body.VpcId,
    AnyPortEnabled: group.body.AnyPortEnabled,
    PreserveClientIpEnabled: group.body.PreserveClientIpEnabled,
  };
}

function checkServerGroupIdShape(id: string): void {
  if (!serverGroupIdPattern.test(id)) throw errors.illegalParam('ServerGroupId');
}

/** Listeners of one NLB, any status: a listener being deleted still holds its port until it is gone. */
export async function listenersOf(ctx: Pick<ActionContext, 'db' | 'region'>, loadBalancerId: string): Promise<ListenerRow[]> {
  return listResources<ListenerDoc>(ctx.db, {
    product: 'nlb',
    kind: LISTENER_KIND,
    regionId: ctx.region.id,
    parentId: loadBalancerId,
  });
}

// --- actions ------------------------------------------------------------------------------

const createListener = defineAction({
  name: 'CreateListener',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerId: p.string({ required: true, maxLength: 128 }),
    ListenerProtocol: p.string({ required: true, enum: LISTENER_PROTOCOLS }),
    ListenerPort: p.integer({ required: true, min: 0, max: 65535 }),
    StartPort: p.integer({ min: 0, max: 65535 }),
    EndPort: p.integer({ min: 0, max: 65535 }),
    ServerGroupId: p.string({ required: true, maxLength: 128 }),
    ...changeableParams,
    Tag: tagListParam(NLB_TAG_LIMITS),
  },
  authResources: (input) => [
    ['loadbalancer', input.LoadBalancerId],
    ['servergroup', input.ServerGroupId],
    ...(input.SecurityPolicyId !== undefined ? [['securitypolicy', input.SecurityPolicyId] as const] : []),
  ],
  handler: async (input, ctx) => {
    const protocol: ListenerProtocol = input.ListenerProtocol;
    checkDescription(input.ListenerDescription);
    checkServerGroupIdShape(input.ServerGroupId);
    const ports = resolvePorts(input.ListenerPort, input.StartPort, input.EndPort);
    const idleTimeout = resolveIdleTimeout(protocol, input.IdleTimeout);
    checkMss(protocol, input.Mss);
    const tls = resolveTls(protocol, input);
    const tags = checkTags(input.Tag);

    const lb = await requireLoadBalancer(ctx, input.LoadBalancerId, { forWrite: true });
    const group = await requireServerGroup(ctx, input.ServerGroupId, { forWrite: false });
    checkServerGroupFit({ protocol, portRange: isPortRange(ports), vpcId: lb.body.VpcId }, groupFacts(group));
    if (protocol === 'TCPSSL') await requireSecurityPolicy(ctx, tls.settings.SecurityPolicyId!);
    await requireServerCertificates(ctx, tls.requestedServerCertificates);
    await requireCaCertificates(ctx, tls.requestedCaCertificates);
    if (input.SecSensorEnabled === true) await requireHdMonitorConfig(ctx);

    const siblings = await listenersOf(ctx, lb.id);
    const quota = ctx.config.quotas.nlbListenersPerLoadBalancer;
    if (siblings.length >= quota) {
      throw errors.quotaInsufficient('nlb_quota_loadbalancer_listeners_num', siblings.length, quota);
    }
    checkPortClaim(
      { ListenerProtocol: protocol, ...ports },
      siblings.map((s) => s.body),
    );

    const id = `${newResourceId('lsn')}@${ports.ListenerPort}`;
    const now = ctx.clock.now();
    const doc: ListenerDoc = {
      LoadBalancerId: lb.id,
      ListenerProtocol: protocol,
      ...ports,
      ServerGroupId: group.id,
      ...(input.ListenerDescription !== undefined ? { ListenerDescription: input.ListenerDescription } : {}),
      IdleTimeout: idleTimeout,
      Cps: input.Cps ?? 0,
      Mss: input.Mss ?? 0,
      ProxyProtocolEnabled: input.ProxyProtocolEnabled ?? false,
      ProxyProtocolV2Config: mergeProxyV2(undefined, input.ProxyProtocolV2Config),
      SecSensorEnabled: input.SecSensorEnabled ?? false,
      ...tls.settings,
      AdditionalCertificates: [],
      CreateTime: isoSeconds(now),
    };
    await insertResource(
      ctx.db,
      {
        id,
        product: 'nlb',
        kind: LISTENER_KIND,
        regionId: ctx.region.id,
        parentId: lb.id,
        status: NLB_LISTENER.transitions.create.via,
        body: doc,
      },
      { now, revision: ctx.revision },
    );
    await putTags(ctx.db, { id, product: 'nlb', resourceType: LISTENER_KIND, regionId: ctx.region.id }, tags);
    const jobId = await startJob(ctx, {
      resourceType: LISTENER_KIND,
      resourceId: id,
      ...settleEffects(id, NLB_LISTENER.transitions.create, NLB_LISTENER.transitions.create.via),
    });
    return { ListenerId: id, JobId: jobId };
  },
});

const updateListenerAttribute = defineAction({
  name: 'UpdateListenerAttribute',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ListenerId: listenerIdParam,
    ServerGroupId: p.string({ maxLength: 128 }),
    ...changeableParams,
  },
  authResources: (input) => [
    ['listener', input.ListenerId],
    ...(input.ServerGroupId !== undefined ? [['servergroup', input.ServerGroupId] as const] : []),
    ...(input.SecurityPolicyId !== undefined ? [['securitypolicy', input.SecurityPolicyId] as const] : []),
  ],
  handler: async (input, ctx) => {
    const listener = await requireSettledListener(ctx, input.ListenerId);
    const current = listener.body;
    const protocol = current.ListenerProtocol as ListenerProtocol;
    checkDescription(input.ListenerDescription);
    const idleTimeout = input.IdleTimeout === undefined ? current.IdleTimeout : resolveIdleTimeout(protocol, input.IdleTimeout);
    checkMss(protocol, input.Mss);
    const tls = resolveTls(protocol, input, current);

    let serverGroupId = current.ServerGroupId;
    if (input.ServerGroupId !== undefined && input.ServerGroupId !== current.ServerGroupId) {
      checkServerGroupIdShape(input.ServerGroupId);
      const lb = await requireLoadBalancer(ctx, current.LoadBalancerId, { forWrite: false });
      const group = await requireServerGroup(ctx, input.ServerGroupId, { forWrite: false });
      checkServerGroupFit({ protocol, portRange: isPortRange(current), vpcId: lb.body.VpcId }, groupFacts(group));
      serverGroupId = group.id;
    }
    if (protocol === 'TCPSSL' && input.SecurityPolicyId !== undefined) await requireSecurityPolicy(ctx, input.SecurityPolicyId);
    await requireServerCertificates(ctx, tls.requestedServerCertificates);
    await requireCaCertificates(ctx, tls.requestedCaCertificates);
    if (input.SecSensorEnabled === true && !current.SecSensorEnabled) await requireHdMonitorConfig(ctx);
    const newDefault = tls.requestedServerCertificates[0];
    if (
      newDefault !== undefined &&
      current.AdditionalCertificates.some((c) => certificateKey(c.CertificateId) === certificateKey(newDefault))
    ) {
      throw alreadyAssociated(newDefault);
    }

    const body: ListenerDoc = {
      ...current,
      ...(input.ListenerDescription !== undefined ? { ListenerDescription: input.ListenerDescription } : {}),
      ServerGroupId: serverGroupId,
      IdleTimeout: idleTimeout,
      Cps: input.Cps ?? current.Cps,
      Mss: input.Mss ?? current.Mss,
      ProxyProtocolEnabled: input.ProxyProtocolEnabled ?? current.ProxyProtocolEnabled,
      ProxyProtocolV2Config: mergeProxyV2(current.ProxyProtocolV2Config, input.ProxyProtocolV2Config),
      SecSensorEnabled: input.SecSensorEnabled ?? current.SecSensorEnabled,
      ...tls.settings,
    };
    // A stopped listener stays stopped: reconfiguring it does not start it.
    const jobId = await transitionListener(ctx, listener, { transition: NLB_LISTENER.transitions.configure, body });
    return { JobId: jobId };
  },
});

const getListenerAttribute = defineAction({
  name: 'GetListenerAttribute',
  mode: 'read',
  clientToken: true,
  dryRun: true,
  params: { ListenerId: listenerIdParam },
  authResources: (input) => [['listener', input.ListenerId]],
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const listener = await requireListener(ctx, input.ListenerId);
    const tags = await tagsOf(ctx.db, [listener.id]);
    return renderListener(listener, tags.get(listener.id) ?? [], 'attribute');
  },
});

const listListeners = defineAction({
  name: 'ListListeners',
  mode: 'read',
  params: {
    ListenerIds: p.list(p.string({ maxLength: 128 }), { maxItems: 20 }),
    LoadBalancerIds: p.list(p.string({ maxLength: 128 }), { maxItems: 20 }),
    ListenerProtocol: p.string({ enum: LISTENER_PROTOCOLS }),
    SecSensorEnabled: p.string({ enum: ['true', 'false'], caseInsensitive: true }),
    Tag: tagListParam(NLB_TAG_LIMITS),
    MaxResults: p.integer({ min: 1, max: 100, default: 20 }),
    NextToken: p.string({ maxLength: 256 }),
  },
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const all = await listResources<ListenerDoc>(ctx.db, {
      product: 'nlb',
      kind: LISTENER_KIND,
      regionId: ctx.region.id,
      ids: input.ListenerIds,
    });
    const lbIds = input.LoadBalancerIds ? new Set(input.LoadBalancerIds) : undefined;
    const secSensor = input.SecSensorEnabled === undefined ? undefined : input.SecSensorEnabled === 'true';
    const tags = await tagsOf(
      ctx.db,
      all.map((l) => l.id),
    );
    const wantedTags = input.Tag ?? [];
    const matching = all.filter(
      (l) =>
        (!lbIds || lbIds.has(l.body.LoadBalancerId)) &&
        (input.ListenerProtocol === undefined || l.body.ListenerProtocol === input.ListenerProtocol) &&
        (secSensor === undefined || l.body.SecSensorEnabled === secSensor) &&
        hasAllTags(tags.get(l.id), wantedTags),
    );
    const { page, nextToken, totalCount } = paginate(matching, input.MaxResults, input.NextToken);
    return {
      Listeners: page.map((l) => renderListener(l, tags.get(l.id) ?? [], 'list')),
      MaxResults: input.MaxResults,
      NextToken: nextToken,
      TotalCount: totalCount,
    };
  },
});

const deleteListener = defineAction({
  name: 'DeleteListener',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ListenerId: listenerIdParam },
  authResources: (input) => [['listener', input.ListenerId]],
  handler: async (input, ctx) => {
    const listener = await requireSettledListener(ctx, input.ListenerId);
    await requireLoadBalancer(ctx, listener.body.LoadBalancerId, { forWrite: true });
    const jobId = await transitionListener(ctx, listener, { transition: NLB_LISTENER.transitions.delete });
    return { JobId: jobId };
  },
});

const startListener = defineAction({
  name: 'StartListener',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ListenerId: listenerIdParam },
  authResources: (input) => [['listener', input.ListenerId]],
  handler: async (input, ctx) => {
    const listener = await requireSettledListener(ctx, input.ListenerId, ['Stopped']);
    const jobId = await transitionListener(ctx, listener, { transition: NLB_LISTENER.transitions.start });
    return { JobId: jobId };
  },
});

const stopListener = defineAction({
  name: 'StopListener',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ListenerId: listenerIdParam },
  authResources: (input) => [['listener', input.ListenerId]],
  handler: async (input, ctx) => {
    const listener = await requireSettledListener(ctx, input.ListenerId, ['Running']);
    const jobId = await transitionListener(ctx, listener, { transition: NLB_LISTENER.transitions.stop });
    return { JobId: jobId };
  },
});

export const listenerActions = [
  createListener,
  updateListenerAttribute,
  getListenerAttribute,
  listListeners,
  deleteListener,
  startListener,
  stopListener,
];
