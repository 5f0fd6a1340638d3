/**
 * The store side of the replay guard (src/gateway/signature/store-nonce-registry.ts): one
 * atomic statement records a nonce key unless it is already there and still fresh.
 *
 * On SQLite this runs on every signed call, so it skips Kysely (which prepares each statement
 * anew) for cached prepared statements, and commits without fsync: in WAL mode with
 * synchronous=NORMAL the row survives a crash or kill -9 of the process (the OS has it), and
 * the next FULL commit's fsync makes it power-safe. An fsync per signed read would stall the
 * event loop for milliseconds. The single connection is held (Kysely's connection mutex)
 * throughout, so no transaction is open and no other statement runs with the relaxed setting.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';

export interface NonceRows {
  /** true when the key was recorded now: new, or its earlier row is stamped before staleBefore. */
  record(key: string, timestampMs: number, staleBefore: number): Promise<boolean>;
  /** Deletes rows stamped before `before`; resolves with how many. */
  prune(before: number): Promise<number>;
}

const UPSERT =
  'insert into nonces (nonce_key, timestamp_ms) values (?, ?) ' +
  'on conflict (nonce_key) do update set timestamp_ms = excluded.timestamp_ms where nonces.timestamp_ms < ?';

export function sqliteNonceRows(database: BetterSqlite3.Database, db: Kysely<Schema>): NonceRows {
  let statements:
    | {
        relaxed: BetterSqlite3.Statement;
        durable: BetterSqlite3.Statement;
        upsert: BetterSqlite3.Statement;
        prune: BetterSqlite3.Statement;
      }
    | undefined;
  // Prepared on first use: the table exists only once the migrations ran.
  const prepared = () =>
    (statements ??= {
      relaxed: database.prepare('pragma synchronous = NORMAL'),
      durable: database.prepare('pragma synchronous = FULL'),
      upsert: database.prepare(UPSERT),
      prune: database.prepare('delete from nonces where timestamp_ms < ?'),
    });
  const relaxed = <T>(fn: () => T): Promise<T> =>
    db.connection().execute(async () => {
      const s = prepared();
      s.relaxed.run();
      try {
        return fn();
      } finally {
        s.durable.run();
      }
    });
  return {
    record: (key, timestampMs, staleBefore) => relaxed(() => prepared().upsert.run(key, timestampMs, staleBefore).changes > 0),
    prune: (before) => relaxed(() => prepared().prune.run(before).changes),
  };
}

/** PostgreSQL: ordinary autocommit statements, one round trip each. */
export function kyselyNonceRows(db: Kysely<Schema>): NonceRows {
  return {
    async record(key, timestampMs, staleBefore) {
      const result = await db
        .insertInto('nonces')
        .values({ nonce_key: key, timestamp_ms: timestampMs })
        .onConflict((oc) =>
          oc.column('nonce_key').doUpdateSet({ timestamp_ms: timestampMs }).where('nonces.timestamp_ms', '<', staleBefore),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async prune(before) {
      const result = await db.deleteFrom('nonces').where('timestamp_ms', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
