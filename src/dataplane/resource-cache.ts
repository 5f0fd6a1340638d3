/**
 * The data plane's copy of one product's resource rows, kept between revisions. Every write
 * stamps its row with the revision it commits as, and revisions commit in order (SQLite has one
 * writer; on PostgreSQL the revision row lock is held to commit), so a refresh needs only:
 *
 *   1. the row count and the highest row revision: unchanged means nothing moved;
 *   2. the rows above the highest revision seen: the ones written since;
 *   3. only when the count still disagrees (something was deleted): the ids, to drop the gone.
 *
 * With thousands of listeners a revision that touches one of them costs one row, not thousands.
 * Rows keep the order they were first seen in (creation order on a full scan, then arrival).
 */
import type { Resource } from '../domain/resource.js';
import { fromRow, type Db } from '../store/resource-rows.js';

export class ResourceCache {
  private readonly rows = new Map<string, Resource<unknown>>();
  /** Highest row revision seen so far (−1: nothing read yet). */
  private top = -1;

  constructor(
    private readonly product: string,
    private readonly kinds: readonly string[],
  ) {}

  /** The current rows of each kind. */
  async refresh(db: Db): Promise<Map<string, Array<Resource<unknown>>>> {
    const summary = await db
      .selectFrom('resources')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('revision').as('top')])
      .where('product', '=', this.product)
      .where('kind', 'in', [...this.kinds])
      .executeTakeFirst();
    const count = Number(summary?.n ?? 0);
    const top = summary?.top === null || summary?.top === undefined ? -1 : Number(summary.top);
    if (count !== this.rows.size || top !== this.top) {
      const moved = await db
        .selectFrom('resources')
        .selectAll()
        .where('product', '=', this.product)
        .where('kind', 'in', [...this.kinds])
        .where('revision', '>', this.top)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      let highest = top;
      for (const row of moved) {
        this.rows.set(row.id, fromRow(row));
        highest = Math.max(highest, Number(row.revision));
      }
      if (this.rows.size !== count) await this.reconcileIds(db);
      this.top = highest;
    }
    const byKind = new Map<string, Array<Resource<unknown>>>(this.kinds.map((k) => [k, []]));
    for (const row of this.rows.values()) byKind.get(row.kind)!.push(row);
    return byKind;
  }

  /** Drops rows deleted from the store; fetches any the revision walk could not have seen. */
  private async reconcileIds(db: Db): Promise<void> {
    const ids = await db
      .selectFrom('resources')
      .select('id')
      .where('product', '=', this.product)
      .where('kind', 'in', [...this.kinds])
      .execute();
    const present = new Set(ids.map((r) => r.id));
    for (const id of this.rows.keys()) if (!present.has(id)) this.rows.delete(id);
    const missing = [...present].filter((id) => !this.rows.has(id));
    if (missing.length === 0) return;
    const fetched = await db.selectFrom('resources').selectAll().where('id', 'in', missing).execute();
    for (const row of fetched) this.rows.set(row.id, fromRow(row));
  }
}
