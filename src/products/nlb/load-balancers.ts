/**
 * NLB instances: CreateLoadBalancer, GetLoadBalancerAttribute, ListLoadBalancers,
 * UpdateLoadBalancerAttribute, DeleteLoadBalancer, plus the lookups other families use
 * (requireLoadBalancer, its VIPs) and the status rules every NLB mutation shares.
 */
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { defineAction, type ActionContext } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p, sameWord } from '../../gateway/params/spec.js';
import type { JobEffect } from '../../jobs/effects.js';
import { isoSeconds } from '../../util/clock.js';
import { newResourceId } from '../../util/ids.js';
import { parseIpv4 } from '../../util/ipv4.js';
import { settleEffects, startJob } from '../common/jobs.js';
import { NLB_LISTENER, NLB_LOAD_BALANCER } from '../../domain/status-machines.js';
import {
  findResource,
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
  type Tag,
} from '../common/resources.js';
import { checkTags, NLB_TAG_LIMITS, tagListParam } from '../common/tag-params.js';
import type { LoadBalancerDoc, ZoneMappingDoc } from '../../domain/nlb-documents.js';
import { defaultResourceGroupId, RESOURCE_GROUP_ID } from '../common/resource-groups.js';
import { findVpc, planZones, rejectDuplicateZones, requireEnoughZones } from '../common/vip-pool.js';
import { vipsInUse } from '../common/vips-in-use.js';
import { withPublicAddresses } from './public-addresses.js';
import { LISTENER, LOAD_BALANCER } from '../../domain/kinds.js';

export const LB_KIND = LOAD_BALANCER;
const LISTENER_KIND = LISTENER;

export type LoadBalancerRow = Resource<LoadBalancerDoc>;

type Ctx = Pick<ActionContext, 'db' | 'region'>;

// --- lookups other families use ----------------------------------------------------------

/**
 * Loads one NLB of the caller's region (404 `ResourceNotFound.loadBalancer`). With
 * `forWrite`, anything but `Active` is `IncorrectStatus.loadbalancer`: the cloud refuses to
 * change what hangs off an NLB while it is provisioning, configuring or being deleted.
 */
export async function requireLoadBalancer(ctx: Ctx, id: string, opts: { forWrite: boolean }): Promise<LoadBalancerRow> {
  const lb = await getResource<LoadBalancerDoc>(ctx.db, 'nlb', LB_KIND, id, ctx.region.id, 'loadBalancer');
  if (opts.forWrite && !NLB_LOAD_BALANCER.settled.has(lb.status)) throw errors.incorrectStatus('loadbalancer', id);
  return lb;
}

/** One VIP the data plane binds for an NLB: a zone's private IPv4 address. */
export interface LoadBalancerVip {
  zoneId: string;
  vSwitchId: string;
  address: string;
}

/** The NLB's VIPs, one per zone mapping; a zone shifted out of DNS still holds its address. */
export function loadBalancerVips(doc: LoadBalancerDoc): LoadBalancerVip[] {
  return doc.ZoneMappings.map((z) => ({ zoneId: z.ZoneId, vSwitchId: z.VSwitchId, address: z.PrivateIPv4Address }));
}

/** The VIPs of an NLB by ID, or [] when it does not exist (e.g. deleted meanwhile). */
export async function listLoadBalancerVips(db: Db, regionId: string, id: string): Promise<LoadBalancerVip[]> {
  const lb = await findResource<LoadBalancerDoc>(db, 'nlb', LB_KIND, id, regionId);
  return lb ? loadBalancerVips(lb.body) : [];
}

// --- status rules shared by every NLB mutation -------------------------------------------

/** Which "busy" codes an operation's error table lists; the rest answer IncorrectStatus. */
export interface BusyCodes {
  creating?: boolean;
  configuring?: boolean;
}

/**
 * Loads an NLB that is about to change. Only `Active` NLBs change; a busy one answers with
 * the code its operation documents (`ResourceInCreating.loadbalancer` while Provisioning,
 * `ResourceInConfiguring.loadbalancer` while Configuring), else `IncorrectStatus.loadbalancer`.
 */
export async function requireChangeableLoadBalancer(ctx: Ctx, id: string, codes: BusyCodes): Promise<LoadBalancerRow> {
  const lb = await requireLoadBalancer(ctx, id, { forWrite: false });
  refuseUnlessIdle(lb, codes, [...NLB_LOAD_BALANCER.settled]);
  return lb;
}

function refuseUnlessIdle(lb: LoadBalancerRow, codes: BusyCodes, allowed: readonly string[]): void {
  if (allowed.includes(lb.status)) return;
  if (lb.status === 'Provisioning' && codes.creating) {
    throw new ApiError(
      'ResourceInCreating.loadbalancer',
      `The specified resource of loadbalancer [${lb.id}] is creating, please try again later.`,
    );
  }
  if (lb.status === 'Configuring' && codes.configuring) {
    throw new ApiError(
      'ResourceInConfiguring.loadbalancer',
      `The specified resource of loadbalancer [${lb.id}] is being configured, please try again later.`,
    );
  }
  throw errors.incorrectStatus('loadbalancer', lb.id);
}

/**
 * Stores a changed NLB as `Configuring` and returns the job that brings it back to `Active`
 * once the data plane has applied the change. Should the job fail, the changed top-level
 * fields go back to what they were.
 */
export async function reconfigureLoadBalancer(
  ctx: ActionContext,
  lb: LoadBalancerRow,
  body: LoadBalancerDoc,
  extra: { onSuccess?: JobEffect[] } = {},
): Promise<string> {
  const before = lb.body as unknown as Record<string, unknown>;
  const after = body as unknown as Record<string, unknown>;
  const restore: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) restore[key] = before[key] ?? null;
  }
  const transition = NLB_LOAD_BALANCER.transitions.configure;
  const settled = settleEffects(lb.id, transition, lb.status);
  await updateResource(ctx.db, lb, { status: transition.via, body }, stamp(ctx));
  return startJob(ctx, {
    resourceType: LB_KIND,
    resourceId: lb.id,
    onSuccess: [...(extra.onSuccess ?? []), ...settled.onSuccess],
    onFailure: [{ op: 'patch', id: lb.id, patch: restore }, ...settled.onFailure],
  });
}

function stamp(ctx: ActionContext) {
  return { now: ctx.clock.now(), revision: ctx.revision };
}

// --- parameter rules ---------------------------------------------------------------------

const NAME = /^\p{L}[\p{L}\p{N}._-]{1,127}$/u;
/** Documented as letters, digits, `.`, `_`, `-`; the documentation's own examples contain spaces. */
const REASON = /^\p{L}[\p{L}\p{N}._\- ]{1,127}$/u;

export function checkLoadBalancerName(name: string | undefined): void {
  if (name !== undefined && !NAME.test(name)) {
    throw new ApiError('IllegalParam.loadBalancerName', 'Param loadBalancerName is illegal.');
  }
}

/** Protection reasons: 2–128 characters starting with a letter. */
export function checkProtectionReason(reason: string | undefined, errorName: string): void {
  if (reason !== undefined && !REASON.test(reason)) throw errors.illegalParam(errorName);
}

const BANDWIDTH_PACKAGE_ID = /^cbwp-[a-z0-9]{1,64}$/;

/** OpenSLB has no Internet Shared Bandwidth service: a well-formed `cbwp-…` ID is taken as existing. */
export function checkBandwidthPackageId(id: string): void {
  if (!BANDWIDTH_PACKAGE_ID.test(id)) {
    throw new ApiError('ResourceNotFound.BandwidthPackageId', `The specified resource of BandwidthPackageId [${id}] is not found.`, 404);
  }
}

export function denyIntranetBandwidthPackage(addressType: string): void {
  if (addressType !== 'Internet') {
    throw errors.operationDenied('IntranetLoadBalancer', 'The operation is not allowed because of IntranetLoadBalancer.');
  }
}

/** An EIP is one zone's, of one NLB. */
export async function checkAllocationIds(db: Db, ids: ReadonlyArray<string | undefined>, exceptLoadBalancer?: string): Promise<void> {
  const wanted = ids.filter((id): id is string => id !== undefined && id !== '');
  if (new Set(wanted).size !== wanted.length) throw errors.duplicatedParam('AllocationId');
  if (wanted.length === 0) return;
  const rows = await listResources<LoadBalancerDoc>(db, { product: 'nlb', kind: LB_KIND });
  for (const row of rows) {
    if (row.id === exceptLoadBalancer) continue;
    const clash = row.body.ZoneMappings.find((z) => z.AllocationId !== undefined && wanted.includes(z.AllocationId));
    if (clash) {
      throw new ApiError(
        'ResourceAlreadyAssociated.AllocationId',
        `The specified resource of AllocationId [${clash.AllocationId}] is already associated.`,
      );
    }
  }
}

function checkLocalAddresses(list: string[] | undefined, name: string, valid: (a: string) => boolean): void {
  if (list === undefined) return;
  if (list.length < 2 || list.length > 8 || list.length % 2 !== 0) {
    throw errors.illegalParamSize(name, 'Specify an even number of addresses, from 2 to 8.');
  }
  for (const address of list) if (!valid(address)) throw errors.illegalParam(name);
}

/**
 * The IPv6 VIP of a DualStack zone: the requested one, or a unique-local address built from
 * the zone's IPv4 VIP (unique because the IPv4 VIPs are). Shown by the API only; the local
 * data plane serves IPv4.
 */
function ipv6For(ipv4: string, requested: string | undefined): string {
  if (requested !== undefined) return requested.toLowerCase();
  const n = parseIpv4(ipv4)!;
  return `fd00::${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}`;
}

// --- rendering ---------------------------------------------------------------------------

function renderZone(zone: ZoneMappingDoc, detailed: boolean) {
  const address: Record<string, unknown> = {
    PrivateIPv4Address: zone.PrivateIPv4Address,
    EniId: zone.EniId,
  };
  if (zone.AllocationId) address.AllocationId = zone.AllocationId;
  if (zone.PublicIPv4Address) address.PublicIPv4Address = zone.PublicIPv4Address;
  if (zone.Ipv6Address) address.Ipv6Address = zone.Ipv6Address;
  // The health of a zone's addresses is reported only while the zone is Active.
  if (zone.Status === 'Active') {
    address.PrivateIPv4HcStatus = 'Healthy';
    if (zone.Ipv6Address) address.PrivateIPv6HcStatus = 'Healthy';
  }
  if (detailed) {
    address.Ipv4LocalAddresses = zone.Ipv4LocalAddresses ?? [];
    address.Ipv6LocalAddresses = zone.Ipv6LocalAddresses ?? [];
  }
  return { ZoneId: zone.ZoneId, VSwitchId: zone.VSwitchId, Status: zone.Status, LoadBalancerAddresses: [address] };
}

/**
 * GetLoadBalancerAttribute and ListLoadBalancers show nearly the same object; they differ in
 * tag key names, the spelling of LoadBalancerType, Cps and the local addresses (nlb-api §8).
 */
export function renderLoadBalancer(lb: LoadBalancerRow, tags: readonly Tag[], shape: 'get' | 'list') {
  const doc = lb.body;
  const out: Record<string, unknown> = {
    LoadBalancerId: lb.id,
    LoadBalancerName: doc.LoadBalancerName,
    LoadBalancerStatus: lb.status,
    LoadBalancerBusinessStatus: 'Normal',
    LoadBalancerType: doc.LoadBalancerType ?? (shape === 'get' ? 'network' : 'Network'),
    AddressType: doc.AddressType,
    AddressIpVersion: doc.AddressIpVersion,
    Ipv6AddressType: doc.Ipv6AddressType,
    VpcId: doc.VpcId,
    RegionId: lb.regionId,
    DNSName: doc.DNSName,
    CrossZoneEnabled: doc.CrossZoneEnabled,
    // Always a string: Terraform's bandwidth-package attachment waits for "" after a detach.
    BandwidthPackageId: doc.BandwidthPackageId ?? '',
    ResourceGroupId: doc.ResourceGroupId,
    CreateTime: doc.CreateTime,
    SecurityGroupIds: [...doc.SecurityGroupIds],
    ZoneMappings: doc.ZoneMappings.map((z) => renderZone(z, shape === 'get')),
    DeletionProtectionConfig: { ...doc.DeletionProtectionConfig },
    ModificationProtectionConfig: { ...doc.ModificationProtectionConfig },
    LoadBalancerBillingConfig: { ...doc.LoadBalancerBillingConfig },
    OperationLocks: [],
    Tags: shape === 'get' ? tags.map((t) => ({ TagKey: t.Key, TagValue: t.Value })) : tags.map((t) => ({ ...t })),
  };
  if (shape === 'get') out.Cps = doc.Cps ?? 0;
  // A field a failed job restored to "absent" is stored as null.
  for (const key of Object.keys(out)) if (out[key] === undefined || out[key] === null) delete out[key];
  return out;
}

// --- actions -----------------------------------------------------------------------------

const ADDRESS_TYPES = ['Internet', 'Intranet'] as const;
const IP_VERSIONS = ['ipv4', 'DualStack'] as const;
const LB_STATUSES = ['Inactive', 'Active', 'Provisioning', 'Configuring', 'CreateFailed', 'Deleting', 'Deleted'] as const;
const loadBalancerId = p.string({ required: true, maxLength: 128 });
const loadBalancerType = p.string({ enum: ['network'], caseInsensitive: true, keepSpelling: true, errorName: 'LoadBalancerType' });

const createLoadBalancer = defineAction({
  name: 'CreateLoadBalancer',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerName: p.string(),
    LoadBalancerType: loadBalancerType,
    AddressType: p.string({ required: true, enum: ADDRESS_TYPES, caseInsensitive: true }),
    AddressIpVersion: p.string({ enum: IP_VERSIONS, caseInsensitive: true, keepSpelling: true, default: 'ipv4' }),
    VpcId: p.string({ required: true, maxLength: 128 }),
    ZoneMappings: p.list(
      p.object({
        ZoneId: p.string({ required: true, maxLength: 64 }),
        VSwitchId: p.string({ required: true, maxLength: 128 }),
        PrivateIPv4Address: p.string({ maxLength: 15 }),
        AllocationId: p.string({ maxLength: 128 }),
        Ipv6Address: p.string({ maxLength: 39 }),
        Ipv4LocalAddresses: p.list(p.string({ maxLength: 15 })),
        Ipv6LocalAddresses: p.list(p.string({ maxLength: 39 })),
      }),
      { required: true, minItems: 1, maxItems: 10 },
    ),
    BandwidthPackageId: p.string({ maxLength: 128 }),
    ResourceGroupId: p.string({ maxLength: 128 }),
    DeletionProtectionConfig: p.object({
      Enabled: p.boolean({ default: false }),
      Reason: p.string(),
    }),
    ModificationProtectionConfig: p.object({
      Status: p.string({ enum: ['NonProtection', 'ConsoleProtection'] }),
      Reason: p.string(),
    }),
    LoadBalancerBillingConfig: p.object({ PayType: p.string({ maxLength: 64 }) }),
    Tag: tagListParam(NLB_TAG_LIMITS),
  },
  authResources: () => [[LB_KIND, '*']],
  handler: async (input, ctx) => {
    checkLoadBalancerName(input.LoadBalancerName);
    const payType = input.LoadBalancerBillingConfig?.PayType;
    if (payType !== undefined && payType !== 'PostPay') {
      throw errors.operationDenied('OnlyPostPaidSupported', 'The operation is not allowed because of OnlyPostPaidSupported.');
    }
    const deletion = input.DeletionProtectionConfig;
    const modification = input.ModificationProtectionConfig;
    checkProtectionReason(deletion?.Reason, 'deletionProtectionReason');
    checkProtectionReason(modification?.Reason, 'modificationProtectionReason');
    const tags = checkTags(input.Tag);
    const resourceGroupId = input.ResourceGroupId ?? defaultResourceGroupId(ctx.accountId);
    if (!RESOURCE_GROUP_ID.test(resourceGroupId)) {
      throw new ApiError('OperationFailed.NotExist.ResourceGroup', 'Operation failed because ResourceGroup not exist.');
    }
    if (input.BandwidthPackageId !== undefined) {
      denyIntranetBandwidthPackage(input.AddressType);
      checkBandwidthPackageId(input.BandwidthPackageId);
    }

    findVpc(ctx.region, input.VpcId);
    const zones = input.ZoneMappings;
    rejectDuplicateZones(zones);
    requireEnoughZones(ctx.region, zones.length);
    const dualStack = sameWord(input.AddressIpVersion, 'DualStack');
    for (const zone of zones) {
      checkLocalAddresses(zone.Ipv4LocalAddresses, 'Ipv4LocalAddresses', (a) => parseIpv4(a) !== undefined);
      checkLocalAddresses(zone.Ipv6LocalAddresses, 'Ipv6LocalAddresses', isIPv6);
      if (zone.Ipv6Address !== undefined && !isIPv6(zone.Ipv6Address)) throw errors.illegalParam('Ipv6Address');
    }
    const internet = input.AddressType === 'Internet';
    if (internet)
      await checkAllocationIds(
        ctx.db,
        zones.map((z) => z.AllocationId),
      );

    const count = (await listResources(ctx.db, { product: 'nlb', kind: LB_KIND, regionId: ctx.region.id })).length;
    const limit = ctx.config.quotas.nlbLoadBalancers;
    if (count >= limit) {
      throw new ApiError(
        'QuotaExceeded.QuotaInsufficient',
        `The quota of nlb_quota_loadbalancers_num is exceeded, usage ${count}/${limit}.`,
      );
    }

    const taken = await vipsInUse(ctx.db);
    const planned = planZones(ctx.region, input.VpcId, zones, taken);
    const privateZones: ZoneMappingDoc[] = planned.map((plan, i) => {
      const req = zones[i];
      return {
        ...plan,
        EniId: newResourceId('eni'),
        AllocationId: internet ? req.AllocationId : undefined,
        EipType: internet && req.AllocationId ? 'Common' : undefined,
        Ipv6Address: dualStack ? ipv6For(plan.PrivateIPv4Address, req.Ipv6Address) : undefined,
        Ipv4LocalAddresses: req.Ipv4LocalAddresses,
        Ipv6LocalAddresses: dualStack ? req.Ipv6LocalAddresses : undefined,
        Status: 'Starting',
      };
    });
    const zoneDocs = internet ? withPublicAddresses(ctx.region, privateZones, taken) : privateZones;
    if (dualStack) await rejectTakenIpv6(ctx.db, zoneDocs);

    const now = ctx.clock.now();
    const id = newResourceId('nlb');
    const doc: LoadBalancerDoc = {
      LoadBalancerName: input.LoadBalancerName,
      LoadBalancerType: input.LoadBalancerType,
      AddressType: input.AddressType,
      AddressIpVersion: input.AddressIpVersion,
      Ipv6AddressType: dualStack ? 'Intranet' : undefined,
      VpcId: input.VpcId,
      ZoneMappings: zoneDocs,
      CrossZoneEnabled: true,
      BandwidthPackageId: input.BandwidthPackageId,
      SecurityGroupIds: [],
      ResourceGroupId: resourceGroupId,
      DeletionProtectionConfig: deletion?.Enabled
        ? { Enabled: true, Reason: deletion.Reason, EnabledTime: isoSeconds(now) }
        : { Enabled: false },
      ModificationProtectionConfig:
        modification?.Status === 'ConsoleProtection'
          ? { Status: 'ConsoleProtection', Reason: modification.Reason, EnabledTime: isoSeconds(now) }
          : { Status: 'NonProtection' },
      LoadBalancerBillingConfig: { PayType: 'PostPay' },
      CreateTime: isoSeconds(now),
      DNSName: `${id}.${ctx.region.id}.nlb.aliyuncs.com`,
    };
    const creation = NLB_LOAD_BALANCER.transitions.create;
    await insertResource(
      ctx.db,
      { id, product: 'nlb', kind: LB_KIND, regionId: ctx.region.id, status: creation.via, body: doc },
      stamp(ctx),
    );
    await putTags(ctx.db, { id, product: 'nlb', resourceType: LB_KIND, regionId: ctx.region.id }, tags);
    // CreateLoadBalancer answers no JobId: clients poll LoadBalancerStatus. The job still
    // decides when the data plane has the NLB's VIPs.
    const settled = settleEffects(id, creation, creation.via);
    await startJob(ctx, {
      resourceType: LB_KIND,
      resourceId: id,
      onSuccess: [{ op: 'patch', id, patch: { ZoneMappings: zoneDocs.map((z) => ({ ...z, Status: 'Active' })) } }, ...settled.onSuccess],
      onFailure: settled.onFailure,
    });
    return { LoadbalancerId: id, OrderId: randomInt(2 ** 47) };
  },
});

async function rejectTakenIpv6(db: Db, zones: readonly ZoneMappingDoc[]): Promise<void> {
  const rows = await listResources<LoadBalancerDoc>(db, { product: 'nlb', kind: LB_KIND });
  const taken = new Set(rows.flatMap((r) => r.body.ZoneMappings.map((z) => z.Ipv6Address).filter(Boolean)));
  for (const zone of zones) {
    if (taken.has(zone.Ipv6Address)) {
      throw new ApiError('ResourceInUse.IP', `The specified resource of IP [${zone.Ipv6Address}] is in use.`);
    }
    taken.add(zone.Ipv6Address);
  }
}

const getLoadBalancerAttribute = defineAction({
  name: 'GetLoadBalancerAttribute',
  mode: 'read',
  clientToken: true,
  dryRun: true,
  params: { LoadBalancerId: loadBalancerId },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const lb = await requireLoadBalancer(ctx, input.LoadBalancerId, { forWrite: false });
    const tags = await tagsOf(ctx.db, [lb.id]);
    return renderLoadBalancer(lb, tags.get(lb.id) ?? [], 'get');
  },
});

const listLoadBalancers = defineAction({
  name: 'ListLoadBalancers',
  mode: 'read',
  params: {
    LoadBalancerIds: p.list(p.string({ maxLength: 128 }), { maxItems: 20 }),
    LoadBalancerNames: p.list(p.string({ maxLength: 128 }), { maxItems: 20 }),
    VpcIds: p.list(p.string({ maxLength: 128 }), { maxItems: 10 }),
    ZoneId: p.string({ maxLength: 64 }),
    DNSName: p.string({ maxLength: 256 }),
    AddressType: p.string({ enum: ADDRESS_TYPES, caseInsensitive: true }),
    AddressIpVersion: p.string({ enum: IP_VERSIONS, caseInsensitive: true }),
    Ipv6AddressType: p.string({ enum: ADDRESS_TYPES, caseInsensitive: true }),
    LoadBalancerStatus: p.string({ enum: LB_STATUSES }),
    LoadBalancerBusinessStatus: p.string({ enum: ['Normal', 'Abnormal'] }),
    LoadBalancerType: loadBalancerType,
    ResourceGroupId: p.string({ maxLength: 128 }),
    Tag: tagListParam(NLB_TAG_LIMITS),
    MaxResults: p.integer({ min: 1, max: 100, default: 20 }),
    NextToken: p.string({ maxLength: 512 }),
  },
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const wantedTags = (input.Tag ?? []).map((t) => ({ Key: t.Key, Value: t.Value }));
    checkTags(input.Tag);
    const rows = await listResources<LoadBalancerDoc>(ctx.db, {
      product: 'nlb',
      kind: LB_KIND,
      regionId: ctx.region.id,
      ids: input.LoadBalancerIds,
      statuses: input.LoadBalancerStatus ? [input.LoadBalancerStatus] : undefined,
    });
    const tags = await tagsOf(
      ctx.db,
      rows.map((r) => r.id),
    );
    const oneOf = (list: string[] | undefined, value: string | undefined) =>
      list === undefined || list.length === 0 || (value !== undefined && list.includes(value));
    const matches = rows.filter((lb) => {
      const doc = lb.body;
      return (
        oneOf(input.LoadBalancerNames, doc.LoadBalancerName) &&
        oneOf(input.VpcIds, doc.VpcId) &&
        (input.ZoneId === undefined || doc.ZoneMappings.some((z) => z.ZoneId === input.ZoneId)) &&
        (input.DNSName === undefined || doc.DNSName === input.DNSName) &&
        (input.AddressType === undefined || doc.AddressType === input.AddressType) &&
        (input.AddressIpVersion === undefined || sameWord(doc.AddressIpVersion, input.AddressIpVersion)) &&
        (input.Ipv6AddressType === undefined || doc.Ipv6AddressType === input.Ipv6AddressType) &&
        (input.LoadBalancerBusinessStatus === undefined || input.LoadBalancerBusinessStatus === 'Normal') &&
        (input.ResourceGroupId === undefined || doc.ResourceGroupId === input.ResourceGroupId) &&
        hasAllTags(tags.get(lb.id), wantedTags)
      );
    });
    const { page, nextToken, totalCount } = paginate(matches, input.MaxResults, input.NextToken);
    return {
      LoadBalancers: page.map((lb) => renderLoadBalancer(lb, tags.get(lb.id) ?? [], 'list')),
      NextToken: nextToken,
      MaxResults: input.MaxResults,
      TotalCount: totalCount,
    };
  },
});

const updateLoadBalancerAttribute = defineAction({
  name: 'UpdateLoadBalancerAttribute',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    LoadBalancerId: loadBalancerId,
    LoadBalancerName: p.string(),
    CrossZoneEnabled: p.boolean(),
    Cps: p.integer({ min: 1, max: 1_000_000 }),
  },
  authResources: (input) => [[LB_KIND, input.LoadBalancerId]],
  handler: async (input, ctx) => {
    checkLoadBalancerName(input.LoadBalancerName);
    const lb = await requireChangeableLoadBalancer(ctx, input.LoadBalancerId, { configuring: true });
    const body: LoadBalancerDoc = {
      ...lb.body,
      LoadBalancerName: input.LoadBalancerName ?? lb.body.LoadBalancerName,
      CrossZoneEnabled: input.CrossZoneEnabled ?? lb.body.CrossZoneEnabled,
      Cps: input.Cps ?? lb.body.Cps,
    };
    return { JobId: await reconfigureLoadBalancer(ctx, lb, body) };
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
    const lb = await requireLoadBalancer(ctx, input.LoadBalancerId, { forWrite: false });
    // A failed creation can only be deleted; an Inactive NLB can still be released.
    refuseUnlessIdle(lb, { creating: true, configuring: true }, ['Active', 'Inactive', 'CreateFailed']);
    if (lb.body.DeletionProtectionConfig.Enabled) {
      throw errors.operationDenied('DeletionProtectionEnabled');
    }
    // The NLB's listeners go with it, as in the cloud; server groups and policies stay.
    const listeners = (
      await listResources<{ LoadBalancerId?: string }>(ctx.db, {
        product: 'nlb',
        kind: LISTENER_KIND,
        regionId: ctx.region.id,
      })
    ).filter((l) => l.parentId === lb.id || l.body.LoadBalancerId === lb.id);
    for (const listener of listeners) {
      await updateResource(ctx.db, listener, { status: NLB_LISTENER.transitions.delete.via }, stamp(ctx));
    }
    await updateResource(ctx.db, lb, { status: NLB_LOAD_BALANCER.transitions.delete.via }, stamp(ctx));
    const jobId = await startJob(ctx, {
      resourceType: LB_KIND,
      resourceId: lb.id,
      onSuccess: [...listeners.map((l) => ({ op: 'delete' as const, id: l.id })), { op: 'delete', id: lb.id }],
      onFailure: [
        ...listeners.map((l) => ({ op: 'setStatus' as const, id: l.id, status: l.status })),
        { op: 'setStatus', id: lb.id, status: lb.status },
      ],
    });
    return { JobId: jobId };
  },
});

export const loadBalancerActions = [
  createLoadBalancer,
  getLoadBalancerAttribute,
  listLoadBalancers,
  updateLoadBalancerAttribute,
  deleteLoadBalancer,
];
