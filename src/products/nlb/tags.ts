/**
 * TagResources, UntagResources, ListTagResources and MoveResourceGroup: the account-level
 * bookkeeping shared by every NLB resource family, and through the exported helpers by GWLB's.
 * The families' rows are read generically (resources.ts), so this module knows their kinds and
 * 404 names, not their documents.
 */
import { defineAction, type ActionContext } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { checkTags, NLB_TAG_LIMITS, tagListParam, type TagLimits } from '../common/tag-params.js';
import { aliUid } from '../common/ali-uid.js';
import {
  findResource,
  hasAllTags,
  listResources,
  paginate,
  putTags,
  removeTags,
  tagsOf,
  updateResource,
  type Db,
  type Resource,
  type Tag,
} from '../common/resources.js';
import { RESOURCE_GROUP_ID } from '../common/resource-groups.js';

// --- taggable resource types -------------------------------------------------------------

export interface TaggableType {
  /** `resources.kind` of the family's rows. */
  kind: string;
  /** Suffix of its `ResourceNotFound.*` code, spelled as each family's operations spell it. */
  notFound: string;
  /** MoveResourceGroup accepts it (listeners have no resource group). */
  movable: boolean;
}

/**
 * What one product lets callers tag, keyed by the API's ResourceType. NLB and GWLB share the
 * tag bookkeeping below and differ only in this table and in their declarations and replies.
 */
export interface TaggableFamilies {
  product: string;
  types: Record<string, TaggableType>;
}

const NLB_TAGGABLE: TaggableFamilies = {
  product: 'nlb',
  types: {
    loadbalancer: { kind: 'loadbalancer', notFound: 'loadBalancer', movable: true },
    servergroup: { kind: 'servergroup', notFound: 'serverGroup', movable: true },
    securitypolicy: { kind: 'securitypolicy', notFound: 'securitypolicy', movable: true },
    listener: { kind: 'listener', notFound: 'listener', movable: false },
  },
};

function taggableType(families: TaggableFamilies, resourceType: string, forMove = false): TaggableType {
  const type = Object.hasOwn(families.types, resourceType) ? families.types[resourceType] : undefined;
  if (!type || (forMove && !type.movable)) {
    throw new ApiError('IllegalParam.resourceType', `The param of resourceType [${resourceType}] is illegal.`);
  }
  return type;
}

async function requireTaggable(
  db: Db,
  families: TaggableFamilies,
  regionId: string,
  type: TaggableType,
  id: string,
): Promise<Resource<Record<string, unknown>>> {
  const row = await findResource<Record<string, unknown>>(db, families.product, type.kind, id, regionId);
  if (!row) throw errors.notFound(type.notFound, id);
  return row;
}

type TagContext = Pick<ActionContext, 'db' | 'region' | 'clock' | 'revision'>;

/** TagResources: every listed resource must exist; a key it already has gets the new value. */
export async function tagResources(
  ctx: TagContext,
  families: TaggableFamilies,
  resourceType: string,
  ids: readonly string[],
  tags: readonly Tag[],
): Promise<void> {
  const type = taggableType(families, resourceType);
  for (const id of new Set(ids)) {
    await requireTaggable(ctx.db, families, ctx.region.id, type, id);
    await putTags(ctx.db, { id, product: families.product, resourceType, regionId: ctx.region.id }, tags);
  }
}

/** UntagResources: the given keys, or every tag when `keys` is undefined. */
export async function untagResources(
  ctx: TagContext,
  families: TaggableFamilies,
  resourceType: string,
  ids: readonly string[],
  keys: readonly string[] | undefined,
): Promise<void> {
  const type = taggableType(families, resourceType);
  for (const id of new Set(ids)) {
    await requireTaggable(ctx.db, families, ctx.region.id, type, id);
    await removeTags(ctx.db, id, keys);
  }
}

export interface TagBinding {
  ResourceId: string;
  TagKey: string;
  TagValue: string;
}

/**
 * ListTagResources before paging: one row per tag of each resource that carries all the wanted
 * tags. Listed IDs must exist; without IDs, every resource of the type in the region.
 */
export async function tagBindings(
  ctx: TagContext,
  families: TaggableFamilies,
  resourceType: string,
  ids: readonly string[] | undefined,
  wanted: ReadonlyArray<{ Key: string; Value?: string }>,
): Promise<TagBinding[]> {
  const type = taggableType(families, resourceType);
  let rows: Array<Resource<unknown>>;
  if (ids && ids.length > 0) {
    rows = [];
    for (const id of new Set(ids)) rows.push(await requireTaggable(ctx.db, families, ctx.region.id, type, id));
  } else {
    rows = await listResources(ctx.db, { product: families.product, kind: type.kind, regionId: ctx.region.id });
  }
  const tags = await tagsOf(
    ctx.db,
    rows.map((r) => r.id),
  );
  return rows
    .filter((r) => (tags.get(r.id)?.length ?? 0) > 0 && hasAllTags(tags.get(r.id), wanted))
    .flatMap((r) => (tags.get(r.id) ?? []).map((t) => ({ ResourceId: r.id, TagKey: t.Key, TagValue: t.Value })));
}

/** MoveResourceGroup: OpenSLB keeps no directory of resource groups; any well-formed ID names one. */
export async function moveResourceGroup(
  ctx: TagContext,
  families: TaggableFamilies,
  resourceType: string,
  id: string,
  newResourceGroupId: string,
): Promise<void> {
  const type = taggableType(families, resourceType, true);
  const row = await requireTaggable(ctx.db, families, ctx.region.id, type, id);
  if (!RESOURCE_GROUP_ID.test(newResourceGroupId)) {
    throw new ApiError(
      'ResourceNotFound.ResourceGroup',
      `The specified resource of ResourceGroup [${newResourceGroupId}] is not found.`,
      404,
    );
  }
  if (row.body.ResourceGroupId !== newResourceGroupId) {
    await updateResource(
      ctx.db,
      row,
      { body: { ...row.body, ResourceGroupId: newResourceGroupId } },
      { now: ctx.clock.now(), revision: ctx.revision },
    );
  }
}

const resourceTypeParam = p.string({ required: true, maxLength: 64 });
const resourceIds = p.list(p.string({ maxLength: 128 }), { required: true, maxItems: 50, errorName: 'ResourceId' });
const resourceIdFilter = p.list(p.string({ maxLength: 128 }), { maxItems: 50, errorName: 'ResourceId' });

/** ListTagResources documents keys up to 128 characters, unlike the 64 of Tag.N elsewhere. */
const LIST_TAG_LIMITS: TagLimits = { maxKeyLength: 128, maxValueLength: 128 };

export const tagActions = [
  defineAction({
    name: 'TagResources',
    mode: 'write',
    clientToken: true,
    dryRun: true,
    params: {
      ResourceType: resourceTypeParam,
      ResourceId: resourceIds,
      Tag: { ...tagListParam(NLB_TAG_LIMITS), required: true as const },
    },
    authResources: (input) => input.ResourceId.map((id) => [input.ResourceType, id] as const),
    handler: async (input, ctx) => {
      const tags = checkTags(input.Tag);
      await tagResources(ctx, NLB_TAGGABLE, input.ResourceType, input.ResourceId, tags);
      return {};
    },
  }),
  defineAction({
    name: 'UntagResources',
    mode: 'write',
    clientToken: true,
    dryRun: true,
    params: {
      ResourceType: resourceTypeParam,
      ResourceId: resourceIds,
      TagKey: p.list(p.string({ maxLength: 128 }), { maxItems: 20, errorName: 'TagKey' }),
      All: p.boolean({ default: false }),
    },
    authResources: (input) => input.ResourceId.map((id) => [input.ResourceType, id] as const),
    handler: async (input, ctx) => {
      // Without TagKey the cloud removes every tag, exactly as All=true does.
      const keys = input.All || !input.TagKey || input.TagKey.length === 0 ? undefined : input.TagKey;
      await untagResources(ctx, NLB_TAGGABLE, input.ResourceType, input.ResourceId, keys);
      return {};
    },
  }),
  defineAction({
    name: 'ListTagResources',
    mode: 'read',
    params: {
      ResourceType: resourceTypeParam,
      ResourceId: resourceIdFilter,
      Tag: tagListParam(LIST_TAG_LIMITS),
      MaxResults: p.integer({ min: 1, max: 50, default: 50 }),
      NextToken: p.string({ maxLength: 512 }),
    },
    handler: async (input, ctx) => {
      const wanted = checkTags(input.Tag).map((t, i) => ({ Key: t.Key, Value: input.Tag?.[i]?.Value }));
      const bindings = await tagBindings(ctx, NLB_TAGGABLE, input.ResourceType, input.ResourceId, wanted);
      const uid = aliUid(ctx.accountId);
      const pairs = bindings.map((b) => ({
        ResourceId: b.ResourceId,
        ResourceType: input.ResourceType,
        RegionNo: ctx.region.id,
        TagKey: b.TagKey,
        TagValue: b.TagValue,
        Category: 'Custom',
        Scope: 'public',
        ...(uid !== undefined ? { AliUid: uid } : {}),
      }));
      const { page, nextToken, totalCount } = paginate(pairs, input.MaxResults, input.NextToken);
      return { TagResources: page, NextToken: nextToken, MaxResults: input.MaxResults, TotalCount: totalCount };
    },
  }),
  defineAction({
    name: 'MoveResourceGroup',
    mode: 'write',
    params: {
      ResourceType: resourceTypeParam,
      ResourceId: p.string({ required: true, maxLength: 128 }),
      NewResourceGroupId: p.string({ required: true, maxLength: 128 }),
    },
    authResources: (input) => [[input.ResourceType, input.ResourceId]],
    handler: async (input, ctx) => {
      await moveResourceGroup(ctx, NLB_TAGGABLE, input.ResourceType, input.ResourceId, input.NewResourceGroupId);
      return { Success: true, HttpStatusCode: 200, Data: { ResourceId: input.ResourceId } };
    },
  }),
];
