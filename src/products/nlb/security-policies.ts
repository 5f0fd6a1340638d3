/**
 * Custom TLS security policies (CreateSecurityPolicy, UpdateSecurityPolicyAttribute,
 * DeleteSecurityPolicy, ListSecurityPolicy) and the built-in ones (ListSystemSecurityPolicy),
 * plus `findSecurityPolicy`, which TCPSSL listeners and the data plane use to resolve a
 * policy ID or system policy name into versions and ciphers.
 */
import { defineAction } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { isoSeconds } from '../../util/clock.js';
import { newResourceId } from '../../util/ids.js';
import { settleEffects, startJob } from '../common/jobs.js';
import { NLB_SECURITY_POLICY } from '../../domain/status-machines.js';
import {
  type Db,
  deleteResource,
  findResource,
  getResource,
  hasAllTags,
  insertResource,
  listResources,
  paginate,
  putTags,
  type Resource,
  tagsOf,
  updateResource,
} from '../common/resources.js';
import { NLB_TAG_LIMITS, checkTags, tagListParam } from '../common/tag-params.js';
import type { ListenerDoc, SecurityPolicyDoc } from '../../domain/nlb-documents.js';
import { RESOURCE_GROUP_ID, defaultResourceGroupId } from '../common/resource-groups.js';
import {
  ALL_CIPHERS,
  SYSTEM_TLS_POLICIES,
  TLS_VERSIONS,
  type TlsVersion,
  sortVersions,
  systemTlsPolicy,
  tlsPolicyProblem,
} from '../../domain/tls-policies.js';
import { LISTENER, SECURITY_POLICY } from '../../domain/kinds.js';

export const SECURITY_POLICY_KIND = SECURITY_POLICY;
const LISTENER_KIND = LISTENER;
const NOT_FOUND_NAME = 'securitypolicy';

type PolicyRow = Resource<SecurityPolicyDoc>;

// --- lookups for listeners and the data plane -------------------------------------------

export interface ResolvedSecurityPolicy {
  id: string;
  system: boolean;
  tlsVersions: TlsVersion[];
  ciphers: string[];
}

/**
 * A system policy by name (`tls_cipher_policy_1_2`) or a custom policy of the region by ID;
 * undefined when neither exists.
 */
export async function findSecurityPolicy(db: Db, regionId: string, idOrSystemName: string): Promise<ResolvedSecurityPolicy | undefined> {
  const system = systemTlsPolicy(idOrSystemName);
  if (system) return { id: system.id, system: true, tlsVersions: [...system.tlsVersions], ciphers: [...system.ciphers] };
  const row = await findResource<SecurityPolicyDoc>(db, 'nlb', SECURITY_POLICY_KIND, idOrSystemName, regionId);
  if (!row) return undefined;
  return { id: row.id, system: false, tlsVersions: row.body.TlsVersions as TlsVersion[], ciphers: [...row.body.Ciphers] };
}

interface RelatedListener {
  ListenerId: string;
  ListenerPort: number;
  ListenerProtocol: string;
  LoadBalancerId: string;
}

/** Listeners of the region that use a custom policy, keyed by policy ID. */
async function listenersByPolicy(db: Db, regionId: string): Promise<Map<string, RelatedListener[]>> {
  const listeners = await listResources<ListenerDoc>(db, { product: 'nlb', kind: LISTENER_KIND, regionId });
  const out = new Map<string, RelatedListener[]>();
  for (const l of listeners) {
    const policyId = l.body.SecurityPolicyId;
    if (!policyId) continue;
    const list = out.get(policyId) ?? [];
    list.push({
      ListenerId: l.id,
      ListenerPort: l.body.ListenerPort,
      ListenerProtocol: l.body.ListenerProtocol,
      LoadBalancerId: l.body.LoadBalancerId,
    });
    out.set(policyId, list);
  }
  return out;
}

// --- validation ---------------------------------------------------------------------------

const NAME_PATTERN = /^[\p{L}\p{N}._-]+$/u;

const versionItem = p.string({ enum: TLS_VERSIONS, errorName: 'TlsVersions' });
const cipherItem = p.string({ enum: ALL_CIPHERS, errorName: 'Ciphers' });
const policyName = p.string({ minLength: 1, maxLength: 200, pattern: NAME_PATTERN });

function distinct<T extends string>(values: readonly T[], name: string): T[] {
  if (new Set(values).size !== values.length) throw errors.duplicatedParam(name);
  return [...values];
}

/** Versions in protocol order and ciphers in the caller's (preference) order, checked together. */
function checkedPolicy(versions: readonly TlsVersion[], ciphers: readonly string[]): { TlsVersions: TlsVersion[]; Ciphers: string[] } {
  const problem = tlsPolicyProblem({ tlsVersions: [...versions], ciphers: [...ciphers] });
  if (problem) throw errors.illegalParam('Ciphers', problem);
  return { TlsVersions: sortVersions(versions), Ciphers: [...ciphers] };
}

async function requireCustomPolicy(db: Db, regionId: string, id: string): Promise<PolicyRow> {
  return getResource<SecurityPolicyDoc>(db, 'nlb', SECURITY_POLICY_KIND, id, regionId, NOT_FOUND_NAME);
}

/** A policy being configured cannot be changed or deleted until its job has finished. */
function requireAvailable(row: PolicyRow): void {
  if (!NLB_SECURITY_POLICY.settled.has(row.status)) throw errors.incorrectStatus(NOT_FOUND_NAME, row.id);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// --- rendering ------------------------------------------------------------------------------

/** List replies carry versions and ciphers as comma-joined strings under singular `TlsVersion`. */
function joined(policy: { TlsVersions: readonly string[]; Ciphers: readonly string[] }) {
  return { TlsVersion: policy.TlsVersions.join(','), Ciphers: policy.Ciphers.join(',') };
}

// --- actions ----------------------------------------------------------------------------------

const createSecurityPolicy = defineAction({
  name: 'CreateSecurityPolicy',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    TlsVersions: p.list(versionItem, { required: true, maxItems: 4, errorName: 'TlsVersions' }),
    Ciphers: p.list(cipherItem, { required: true, maxItems: 32, errorName: 'Ciphers' }),
    SecurityPolicyName: policyName,
    ResourceGroupId: p.string({ pattern: RESOURCE_GROUP_ID }),
    Tag: tagListParam(NLB_TAG_LIMITS),
  },
  handler: async (input, ctx) => {
    const policy = checkedPolicy(distinct(input.TlsVersions, 'TlsVersions'), distinct(input.Ciphers, 'Ciphers'));
    const tags = checkTags(input.Tag);
    const id = newResourceId('tls');
    const now = ctx.clock.now();
    const body: SecurityPolicyDoc = {
      SecurityPolicyName: input.SecurityPolicyName,
      ...policy,
      ResourceGroupId: input.ResourceGroupId ?? defaultResourceGroupId(ctx.accountId),
      CreateTime: isoSeconds(now),
    };
    const stamp = { now, revision: ctx.revision };
    await insertResource(
      ctx.db,
      { id, product: 'nlb', kind: SECURITY_POLICY_KIND, regionId: ctx.region.id, status: NLB_SECURITY_POLICY.transitions.create.via, body },
      stamp,
    );
    await putTags(ctx.db, { id, product: 'nlb', resourceType: SECURITY_POLICY_KIND, regionId: ctx.region.id }, tags);
    const create = NLB_SECURITY_POLICY.transitions.create;
    const jobId = await startJob(ctx, { resourceType: SECURITY_POLICY_KIND, resourceId: id, ...settleEffects(id, create, create.via) });
    return { JobId: jobId, SecurityPolicyId: id };
  },
});

const updateSecurityPolicyAttribute = defineAction({
  name: 'UpdateSecurityPolicyAttribute',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    SecurityPolicyId: p.string({ required: true, maxLength: 128 }),
    TlsVersions: p.list(versionItem, { minItems: 1, maxItems: 4, errorName: 'TlsVersions' }),
    Ciphers: p.list(cipherItem, { minItems: 1, maxItems: 32, errorName: 'Ciphers' }),
    SecurityPolicyName: policyName,
  },
  authResources: (input) => [['securitypolicy', input.SecurityPolicyId]],
  handler: async (input, ctx) => {
    const row = await requireCustomPolicy(ctx.db, ctx.region.id, input.SecurityPolicyId);
    const policy = checkedPolicy(
      input.TlsVersions ? distinct(input.TlsVersions, 'TlsVersions') : (row.body.TlsVersions as TlsVersion[]),
      input.Ciphers ? distinct(input.Ciphers, 'Ciphers') : row.body.Ciphers,
    );
    requireAvailable(row);
    const next: SecurityPolicyDoc = {
      ...row.body,
      ...policy,
      SecurityPolicyName: input.SecurityPolicyName ?? row.body.SecurityPolicyName,
    };
    const unchanged =
      next.SecurityPolicyName === row.body.SecurityPolicyName &&
      sameList(next.TlsVersions, row.body.TlsVersions) &&
      sameList(next.Ciphers, row.body.Ciphers);
    if (unchanged) {
      throw new ApiError('UpdateSecurityPolicyFailed', 'The operation failed because of Security Policy is not changed.');
    }
    const configure = NLB_SECURITY_POLICY.transitions.configure;
    await updateResource(ctx.db, row, { status: configure.via, body: next }, { now: ctx.clock.now(), revision: ctx.revision });
    const id = row.id;
    const jobId = await startJob(ctx, { resourceType: SECURITY_POLICY_KIND, resourceId: id, ...settleEffects(id, configure, row.status) });
    return { JobId: jobId, SecurityPolicyId: id };
  },
});

const deleteSecurityPolicy = defineAction({
  name: 'DeleteSecurityPolicy',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { SecurityPolicyId: p.string({ required: true, maxLength: 128 }) },
  authResources: (input) => [['securitypolicy', input.SecurityPolicyId]],
  handler: async (input, ctx) => {
    const row = await requireCustomPolicy(ctx.db, ctx.region.id, input.SecurityPolicyId);
    const users = (await listenersByPolicy(ctx.db, ctx.region.id)).get(row.id) ?? [];
    if (users.length > 0) {
      throw new ApiError(
        'ResourceInUse.SecurityPolicy',
        `The specified resource of SecurityPolicy is in use (by ${users.map((u) => u.ListenerId).join(', ')}).`,
      );
    }
    requireAvailable(row);
    await deleteResource(ctx.db, row.id);
    return {};
  },
});

const listSecurityPolicy = defineAction({
  name: 'ListSecurityPolicy',
  mode: 'read',
  params: {
    SecurityPolicyIds: p.list(p.string({ maxLength: 128 }), { maxItems: 20, errorName: 'SecurityPolicyIds' }),
    SecurityPolicyNames: p.list(p.string({ maxLength: 200 }), { maxItems: 20, errorName: 'SecurityPolicyNames' }),
    ResourceGroupId: p.string({ pattern: RESOURCE_GROUP_ID }),
    Tag: tagListParam(NLB_TAG_LIMITS),
    MaxResults: p.integer({ min: 1, max: 100, default: 20 }),
    NextToken: p.string({ maxLength: 256 }),
  },
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const ids = input.SecurityPolicyIds ? [...new Set(input.SecurityPolicyIds)] : undefined;
    const rows = await listResources<SecurityPolicyDoc>(ctx.db, {
      product: 'nlb',
      kind: SECURITY_POLICY_KIND,
      regionId: ctx.region.id,
      ids,
    });
    const tags = await tagsOf(
      ctx.db,
      rows.map((r) => r.id),
    );
    const names = input.SecurityPolicyNames;
    const matching = rows.filter(
      (r) =>
        (!names || (r.body.SecurityPolicyName !== undefined && names.includes(r.body.SecurityPolicyName))) &&
        (!input.ResourceGroupId || r.body.ResourceGroupId === input.ResourceGroupId) &&
        hasAllTags(tags.get(r.id), input.Tag ?? []),
    );
    const { page, nextToken, totalCount } = paginate(matching, input.MaxResults, input.NextToken);
    const related = await listenersByPolicy(ctx.db, ctx.region.id);
    return {
      SecurityPolicies: page.map((r) => ({
        SecurityPolicyId: r.id,
        SecurityPolicyName: r.body.SecurityPolicyName,
        SecurityPolicyStatus: r.status,
        ...joined(r.body),
        RegionId: r.regionId,
        ResourceGroupId: r.body.ResourceGroupId,
        RelatedListeners: related.get(r.id) ?? [],
        Tags: tags.get(r.id) ?? [],
      })),
      MaxResults: input.MaxResults,
      NextToken: nextToken,
      TotalCount: totalCount,
    };
  },
});

const listSystemSecurityPolicy = defineAction({
  name: 'ListSystemSecurityPolicy',
  mode: 'read',
  params: {},
  handler: async () => ({
    SecurityPolicies: SYSTEM_TLS_POLICIES.map((policy) => ({
      SecurityPolicyId: policy.id,
      SecurityPolicyName: policy.id,
      ...joined({ TlsVersions: policy.tlsVersions, Ciphers: policy.ciphers }),
    })),
  }),
});

export const securityPolicyActions = [
  createSecurityPolicy,
  updateSecurityPolicyAttribute,
  deleteSecurityPolicy,
  listSecurityPolicy,
  listSystemSecurityPolicy,
];
