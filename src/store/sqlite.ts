import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import type { Schema } from './schema.js';
import type { Store } from './types.js';
import { requireMigrated, runMigrations } from './migrations.js';
import { readRevision } from './revision-row.js';
import { RevisionFeed } from './revision-feed.js';
import { assembleStore } from './store-core.js';
import { sqliteNonceRows } from './nonce-rows.js';

/**
 * Kysely's SQLite driver starts transactions with a plain (deferred) BEGIN. A deferred
 * transaction that reads and then writes can fail with SQLITE_BUSY when another process
 * wrote in between, and busy_timeout cannot help. BEGIN IMMEDIATE takes the write lock up
 * front, so writers from other processes queue on busy_timeout instead. Within one process
 * the driver's connection mutex already keeps transactions from interleaving.
 *
 * Open ONE store per file per process: better-sqlite3 waits for a lock synchronously, so a
 * second connection in the same process waiting on the first would block the very event
 * loop the first needs to commit (SQLITE_BUSY after busy_timeout). Other processes are fine.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/**
 * The store holds the root and RAM secrets in clear, so nobody else may read it, from the
 * first byte on: a missing directory is created 0700 and the database file 0600 before SQLite
 * opens it (SQLite gives its -wal and -shm files the database file's mode). Files an older
 * version left readable are narrowed to 0600 too. An existing directory keeps its mode: it may
 * be shared on purpose, and the files in it are private either way.
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600);
    } catch (err) {
      // -wal/-shm exist only while a connection is open; another owner's file stays as it is.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
}

export interface SqliteStoreOptions {
  /** How often waiters poll the file for other processes' commits. */
  pollIntervalMs?: number;
  /** false: check the schema is current instead of migrating. */
  migrate?: boolean;
}

export async function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Promise<Store> {
  createPrivately(path);
  const database = new Database(path, { timeout: 5000 });
  try {
    // busy_timeout first: switching to WAL needs a lock another opener may hold.
    database.pragma('busy_timeout = 5000');
    const mode = database.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') throw new Error(`store: ${path} cannot use WAL (journal_mode=${mode})`);
    // FULL: an acknowledged write survives power loss and kill -9, not only a clean exit.
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
  } catch (err) {
    database.close();
    throw err;
  }

  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database }) });
  const begin = () => db.transaction();
  try {
    if (opts.migrate === false) await requireMigrated(db);
    else await runMigrations('sqlite', begin);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const feed = new RevisionFeed({ read: () => readRevision(db), pollIntervalMs: opts.pollIntervalMs ?? 100 });
  feed.publish(await readRevision(db));
  return assembleStore({
    kind: 'sqlite',
    db,
    begin,
    feed,
    nonces: sqliteNonceRows(database, db),
  });
}
