/**
 * The `resources` table's rows as Resource values. Readers on both sides of the store — API
 * handlers and the data plane's snapshot — go through this one mapping.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Resource } from '../domain/resource.js';
import type { Schema } from './schema.js';

/** A handle to read or write with: the store's database, or a mutation's transaction. */
export type Db = Kysely<Schema> | Transaction<Schema>;

export type ResourceRow = Schema['resources'];

export function fromRow<B>(row: ResourceRow): Resource<B> {
  return {
    id: row.id,
    product: row.product,
    kind: row.kind,
    regionId: row.region_id,
    parentId: row.parent_id,
    status: row.status,
    body: JSON.parse(row.body) as B,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    revision: Number(row.revision),
  };
}
