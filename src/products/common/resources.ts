/**
 * Resource documents in the store, shared by every product: one row per resource (its API
 * shape plus private fields as JSON), status in its own column, tags in their own table.
 * Handlers pass `ctx.db` — the mutation's transaction for writes — never `store.db`.
 */
import type { NewResource, Resource, WriteStamp } from '../../domain/resource.js';
import { fromRow, type Db, type ResourceRow as Row } from '../../store/resource-rows.js';
import { errors } from '../../gateway/errors.js';

export type { Db } from '../../store/resource-rows.js';
export type { NewResource, Resource, WriteStamp } from '../../domain/resource.js';
export { fromRow } from '../../store/resource-rows.js';

export async function insertResource<B>(db: Db, r: NewResource<B>, stamp: WriteStamp): Promise<Resource<B>> {
  const row: Row = {
    id: r.id,
    product: r.product,
    kind: r.kind,
    region_id: r.regionId,
    parent_id: r.parentId ?? null,
    status: r.status,
    body: JSON.stringify(r.body),
    created_at: stamp.now,
    updated_at: stamp.now,
    revision: stamp.revision,
  };
  await db.insertInto('resources').values(row).execute();
  return fromRow<B>(row);
}

export async function findResource<B>(
  db: Db,
  product: string,
  kind: string,
  id: string,
  regionId?: string,
): Promise<Resource<B> | undefined> {
  let q = db.selectFrom('resources').selectAll().where('id', '=', id).where('product', '=', product).where('kind', '=', kind);
  if (regionId !== undefined) q = q.where('region_id', '=', regionId);
  const row = await q.executeTakeFirst();
  return row ? fromRow<B>(row) : undefined;
}

/** Like findResource, but a missing resource is `ResourceNotFound.<notFoundName>` (404). */
export async function getResource<B>(
  db: Db,
  product: string,
  kind: string,
  id: string,
  regionId: string,
  notFoundName: string,
): Promise<Resource<B>> {
  const r = await findResource<B>(db, product, kind, id, regionId);
  if (!r) throw errors.notFound(notFoundName, id);
  return r;
}

export interface ListFilter {
  product: string;
  kind: string;
  regionId?: string;
  parentId?: string;
  ids?: readonly string[];
  statuses?: readonly string[];
}

/** All matching resources, oldest first (a stable order for NextToken paging). */
export async function listResources<B>(db: Db, f: ListFilter): Promise<Array<Resource<B>>> {
  let q = db.selectFrom('resources').selectAll().where('product', '=', f.product).where('kind', '=', f.kind);
  if (f.regionId !== undefined) q = q.where('region_id', '=', f.regionId);
  if (f.parentId !== undefined) q = q.where('parent_id', '=', f.parentId);
  if (f.ids) {
    if (f.ids.length === 0) return [];
    q = q.where('id', 'in', [...f.ids]);
  }
  if (f.statuses) {
    if (f.statuses.length === 0) return [];
    q = q.where('status', 'in', [...f.statuses]);
  }
  const rows = await q.orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => fromRow<B>(row));
}

export async function countResources(db: Db, f: ListFilter): Promise<number> {
  return (await listResources(db, f)).length;
}

export async function updateResource<B>(
  db: Db,
  r: Resource<B>,
  change: { status?: string; body?: B },
  stamp: WriteStamp,
): Promise<Resource<B>> {
  const status = change.status ?? r.status;
  const body = change.body ?? r.body;
  await db
    .updateTable('resources')
    .set({ status, body: JSON.stringify(body), updated_at: stamp.now, revision: stamp.revision })
    .where('id', '=', r.id)
    .execute();
  return { ...r, status, body, updatedAt: stamp.now, revision: stamp.revision };
}

export async function deleteResource(db: Db, id: string): Promise<void> {
  await db.deleteFrom('tags').where('resource_id', '=', id).execute();
  await db.deleteFrom('resources').where('id', '=', id).execute();
}

// --- paging ------------------------------------------------------------------------------

/**
 * NextToken is opaque to callers; here it carries the offset of the next page. A token that
 * does not decode is `IllegalParam.NextToken`.
 */
export function paginate<T>(items: T[], maxResults: number, nextToken: string | undefined) {
  let offset = 0;
  if (nextToken) {
    const m = /^o(\d{1,9})$/.exec(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!m) throw errors.illegalParam('NextToken');
    offset = Number(m[1]);
  }
  const page = items.slice(offset, offset + maxResults);
  const next = offset + maxResults < items.length ? Buffer.from(`o${offset + maxResults}`).toString('base64url') : '';
  return { page, nextToken: next, totalCount: items.length };
}

// --- tags --------------------------------------------------------------------------------

export interface Tag {
  Key: string;
  Value: string;
}

/** Adds or overwrites tags on one resource. */
export async function putTags(
  db: Db,
  target: { id: string; product: string; resourceType: string; regionId: string },
  tags: readonly Tag[],
): Promise<void> {
  for (const tag of tags) {
    const row = {
      resource_id: target.id,
      product: target.product,
      resource_type: target.resourceType,
      region_id: target.regionId,
      tag_key: tag.Key,
      tag_value: tag.Value ?? '',
    };
    await db
      .insertInto('tags')
      .values(row)
      .onConflict((oc) => oc.columns(['resource_id', 'tag_key']).doUpdateSet({ tag_value: row.tag_value }))
      .execute();
  }
}

/** Removes the given keys, or every tag when `keys` is undefined. */
export async function removeTags(db: Db, resourceId: string, keys?: readonly string[]): Promise<void> {
  let q = db.deleteFrom('tags').where('resource_id', '=', resourceId);
  if (keys) {
    if (keys.length === 0) return;
    q = q.where('tag_key', 'in', [...keys]);
  }
  await q.execute();
}

/** Tags of many resources at once, keyed by resource ID, each list sorted by key. */
export async function tagsOf(db: Db, resourceIds: readonly string[]): Promise<Map<string, Tag[]>> {
  const out = new Map<string, Tag[]>();
  if (resourceIds.length === 0) return out;
  const rows = await db
    .selectFrom('tags')
    .select(['resource_id', 'tag_key', 'tag_value'])
    .where('resource_id', 'in', [...resourceIds])
    .orderBy('tag_key')
    .execute();
  for (const row of rows) {
    const list = out.get(row.resource_id) ?? [];
    list.push({ Key: row.tag_key, Value: row.tag_value });
    out.set(row.resource_id, list);
  }
  return out;
}

/** True when the resource carries every one of the wanted tags (a filter like `Tag.N.Key/Value`). */
export function hasAllTags(have: readonly Tag[] | undefined, wanted: ReadonlyArray<{ Key: string; Value?: string }>): boolean {
  return wanted.every((w) => (have ?? []).some((t) => t.Key === w.Key && (w.Value === undefined || t.Value === w.Value)));
}
