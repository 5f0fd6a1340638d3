import { join } from 'node:path';
import type { Store } from './types.js';
import { openSqliteStore } from './sqlite.js';
import { openPostgresStore } from './postgres.js';

export type { Store, StoreKind, MutateFn } from './types.js';
export type { Schema } from './schema.js';
export { StoreUnavailableError, isStoreUnavailable, type StoreHealthView, type StoreLog } from './store-health.js';
import type { StoreLog } from './store-health.js';

export interface OpenStoreOptions {
  /** postgres://… or postgresql://… — a PostgreSQL store shared by a fleet. */
  url?: string;
  /** SQLite at <dataDir>/openslb.db; the directory is created if missing. */
  dataDir?: string;
  /** An explicit SQLite file (takes precedence over dataDir). */
  sqlitePath?: string;
  /** How often waitForRevision polls while someone waits (SQLite default 100 ms, PostgreSQL 2000 ms). */
  pollIntervalMs?: number;
  /**
   * false: do not migrate, only check the schema is current (cluster workers, whose primary
   * migrated before forking them). Default true.
   */
  migrate?: boolean;
  /** Where a PostgreSQL store says it became unreachable and came back (one line each). */
  log?: StoreLog;
  /** PostgreSQL: open even while the server is unreachable (data-plane nodes; see postgres.ts). */
  startWhileUnreachable?: boolean;
}

export const SQLITE_FILE_NAME = 'openslb.db';

/** Open (and migrate) the store: PostgreSQL when a URL is given, otherwise SQLite. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  if (opts.url) {
    if (!/^postgres(ql)?:\/\//i.test(opts.url)) {
      throw new Error(`store: unsupported URL ${redact(opts.url)} (expected postgres://…)`);
    }
    return openPostgresStore(opts.url, {
      pollIntervalMs: opts.pollIntervalMs,
      migrate: opts.migrate,
      log: opts.log,
      startWhileUnreachable: opts.startWhileUnreachable,
    });
  }
  const path = opts.sqlitePath ?? (opts.dataDir ? join(opts.dataDir, SQLITE_FILE_NAME) : undefined);
  if (!path) throw new Error('store: give a PostgreSQL url, a dataDir or a sqlitePath');
  return openSqliteStore(path, { pollIntervalMs: opts.pollIntervalMs, migrate: opts.migrate });
}

/** Never echo a password into errors or logs. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
