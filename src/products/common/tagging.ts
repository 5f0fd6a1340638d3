/**
 * The tag and resource-group bookkeeping behind TagResources, UntagResources, ListTagResources
 * and MoveResourceGroup, for any product: a product declares what it lets callers tag
 * (`TaggableFamilies`) and its own actions and replies. Rows are read generically
 * (resources.ts), so this module knows kinds and 404 names, not documents.
 */
import type { ActionContext } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import {
  findResource,
  hasAllTags,
  listResources,
  putTags,
  removeTags,
  tagsOf,
  updateResource,
  type Db,
  type Resource,
  type Tag,
} from './resources.js';
import { RESOURCE_GROUP_ID } from './resource-groups.js';

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
