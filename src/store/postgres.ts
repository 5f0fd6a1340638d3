import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Schema } from './schema.js';
import type { Store } from './types.js';
import { requireMigrated, runMigrations } from './migrations.js';
import { readRevision } from './revision-row.js';
import { RevisionFeed } from './revision-feed.js';
import { PgRevisionListener, REVISION_CHANNEL } from './pg-listener.js';
import { assembleStore } from './store-core.js';
import { resilientPool } from './resilient-pool.js';
import { isStoreUnavailable, StoreHealth, type StoreLog } from './store-health.js';
import { systemClock, type Clock } from '../util/clock.js';
import { kyselyNonceRows } from './nonce-rows.js';

const INT8_OID = 20;

/**
 * Times and revisions are BIGINT; pg hands int8 back as a string to be safe with values past
 * 2^53. Ours are epoch milliseconds and counters, far below that, and the Schema types say
 * number. Set per pool rather than globally so other pg users in the process are unaffected.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PostgresStoreOptions {
  /** Fallback poll while someone waits, in case a NOTIFY was lost with its connection. */
  pollIntervalMs?: number;
  poolSize?: number;
  /** false: check the schema is current instead of migrating. */
  migrate?: boolean;
  /** Where "store unreachable since …" / "store back after …" go. */
  log?: StoreLog;
  /**
   * Open even when the server cannot be reached (a data-plane node starting during an outage):
   * queries fail with StoreUnavailableError until it answers; the schema check is skipped.
   */
  startWhileUnreachable?: boolean;
  clock?: Clock;
}

export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: opts.poolSize ?? 10,
    // A server that accepts TCP but never answers (stopped, partitioned) must not hang callers.
    connectionTimeoutMillis: 5000,
    keepAlive: true,
  });
  const health = new StoreHealth(opts.clock ?? systemClock, opts.log);
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool: resilientPool(pool, health) }) });
  // READ COMMITTED (PostgreSQL's default, stated so nobody changes it by accident): the
  // revision row lock serialises writers; stricter levels would turn waits into errors.
  const begin = () => db.transaction().setIsolationLevel('read committed');

  let listener: PgRevisionListener | undefined;
  try {
    let unreachable = false;
    try {
      if (opts.migrate === false) await requireMigrated(db);
      else await runMigrations('postgres', begin);
    } catch (err) {
      if (!opts.startWhileUnreachable || !isStoreUnavailable(err)) throw err;
      unreachable = true;
    }
    const feed = new RevisionFeed({ read: () => readRevision(db), pollIntervalMs: opts.pollIntervalMs ?? 2000 });
    listener = new PgRevisionListener({
      url,
      onRevision: (revision) => feed.publish(revision),
      onConnected: () => {
        readRevision(db).then(
          (r) => feed.publish(r),
          () => {},
        );
      },
    });
    if (unreachable) listener.startInBackground();
    else await listener.start();
    const l = listener;
    return assembleStore({
      kind: 'postgres',
      db,
      begin,
      feed,
      health,
      // NOTIFY inside the transaction is delivered only on commit, and never on rollback.
      async announce(tx, revision) {
        await sql`select pg_notify(${REVISION_CHANNEL}, ${String(revision)})`.execute(tx);
      },
      shutdown: () => l.close(),
      nonces: kyselyNonceRows(db),
    });
  } catch (err) {
    await listener?.close();
    await db.destroy();
    throw err;
  }
}
