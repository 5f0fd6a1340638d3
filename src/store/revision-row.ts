import type { Kysely, Transaction } from 'kysely';
import type { Schema } from './schema.js';

/** The revision row's id: there is exactly one. */
export const REVISION_ROW_ID = 1;

/**
 * Bump the revision inside a mutation. On PostgreSQL the UPDATE takes the row lock, which is
 * what serialises concurrent writers until commit; SQLite's write lock does the same job.
 */
export async function bumpRevision(tx: Transaction<Schema>): Promise<number> {
  const row = await tx
    .updateTable('revision')
    .set((eb) => ({ revision: eb('revision', '+', 1) }))
    .where('id', '=', REVISION_ROW_ID)
    .returning('revision')
    .executeTakeFirst();
  if (!row) throw new Error('store: the revision row is missing (migrations did not run?)');
  return Number(row.revision);
}

export async function readRevision(db: Kysely<Schema>): Promise<number> {
  const row = await db.selectFrom('revision').select('revision').where('id', '=', REVISION_ROW_ID).executeTakeFirst();
  if (!row) throw new Error('store: the revision row is missing (migrations did not run?)');
  return Number(row.revision);
}
