/**
 * The data plane's copy of one product's resource rows, kept between revisions. Each refresh
 * reads only ids and row revisions, then fetches and parses the bodies of rows that are new or
 * moved; rows gone from the store are dropped. With thousands of listeners a revision that
 * changes one of them costs one body, not thousands.
 *
 * Rows are fetched after the id scan, so a row written in between arrives newer than its scan
 * said; the next refresh sees its revision again and keeps it. Deleted in between: left out.
 */
import type { Db, Resource } from '../products/common/resources.js';
import { fromRow } from '../products/common/resources.js';

/** SQLite's default limit on bound parameters is far above this; PostgreSQL has none that matters. */
const FETCH_CHUNK = 500;

export class ResourceCache {
  private readonly rows = new Map<string, Resource<unknown>>();

  constructor(
    private readonly product: string,
    private readonly kinds: readonly string[],
  ) {}

  /** The current rows of each kind, in creation order, as `listResources` would return them. */
  async refresh(db: Db): Promise<Map<string, Array<Resource<unknown>>>> {
    const scan = await db
      .selectFrom('resources')
      .select(['id', 'revision'])
      .where('product', '=', this.product)
      .where('kind', 'in', [...this.kinds])
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const stale: string[] = [];
    const present = new Set<string>();
    for (const { id, revision } of scan) {
      present.add(id);
      if (this.rows.get(id)?.revision !== Number(revision)) stale.push(id);
    }
    for (let i = 0; i < stale.length; i += FETCH_CHUNK) {
      const fetched = await db.selectFrom('resources').selectAll().where('id', 'in', stale.slice(i, i + FETCH_CHUNK)).execute();
      for (const row of fetched) this.rows.set(row.id, fromRow(row));
    }
    for (const id of this.rows.keys()) if (!present.has(id)) this.rows.delete(id);

    const byKind = new Map<string, Array<Resource<unknown>>>(this.kinds.map((k) => [k, []]));
    for (const { id } of scan) {
      const row = this.rows.get(id);
      if (row) byKind.get(row.kind)!.push(row);
    }
    return byKind;
  }
}
