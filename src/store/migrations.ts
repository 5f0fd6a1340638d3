import { sql, type Kysely, type Transaction, type TransactionBuilder } from 'kysely';
import type { Schema } from './schema.js';
import type { StoreKind } from './types.js';
import { isConnectionFault, StoreUnavailableError } from './store-health.js';
import { faultRulesMigration } from './fault-rules-migration.js';

/**
 * Ordered schema migrations, written with Kysely's schema builder so the same code runs on
 * SQLite and PostgreSQL. Type choices: `text` for strings and JSON documents, `bigint` for
 * epoch-millisecond times and revisions (SQLite stores it as INTEGER; PostgreSQL's int8 is
 * parsed back to a number by the pool), `integer` for small numbers and 0/1 booleans.
 *
 * Never edit a migration that has shipped: append a new one. Applied names are recorded in
 * `meta` under `migration:<name>`.
 */
export interface Migration {
  name: string;
  // `any`: a migration sees the schema as it was then, not today's Schema type.
  up(tx: Transaction<any>): Promise<void>;
}

export const migrations: readonly Migration[] = [
  {
    name: '0001_initial',
    async up(tx) {
      const s = tx.schema;
      await s
        .createTable('revision')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('revision', 'bigint', (c) => c.notNull())
        .execute();
      await tx.insertInto('revision').values({ id: 1, revision: 0 }).execute();

      await s
        .createTable('access_keys')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('access_keys_owner').on('access_keys').column('owner').execute();

      await s
        .createTable('ram_users')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createTable('ram_policies')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // No foreign keys anywhere: handlers own referential rules because the API answers
      // them with specific Alibaba errors (e.g. "policy still attached"), not SQL failures.
      await s
        .createTable('ram_attachments')
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('policy_name', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('ram_attachments_pk', ['user_name', 'policy_name'])
        .execute();
      await s.createIndex('ram_attachments_policy').on('ram_attachments').column('policy_name').execute();

      await s
        .createTable('resources')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('product', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('revision', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('resources_product_kind_region').on('resources').columns(['product', 'kind', 'region_id']).execute();
      await s.createIndex('resources_parent').on('resources').column('parent_id').execute();
      // The data plane asks "what changed after revision N".
      await s.createIndex('resources_revision').on('resources').column('revision').execute();

      await s
        .createTable('tags')
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('product', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('tag_key', 'text', (c) => c.notNull())
        .addColumn('tag_value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tags_pk', ['resource_id', 'tag_key'])
        .execute();
      await s.createIndex('tags_key_value').on('tags').columns(['tag_key', 'tag_value']).execute();

      await s
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('product', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('revision', 'bigint', (c) => c.notNull())
        .addColumn('on_finish', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('not_before', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await s.createIndex('jobs_status').on('jobs').column('status').execute();

      await s
        .createTable('idempotency')
        .addColumn('token_key', 'text', (c) => c.primaryKey())
        .addColumn('params_hash', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // Expired tokens are swept by age.
      await s.createIndex('idempotency_created').on('idempotency').column('created_at').execute();

      await s
        .createTable('nodes')
        .addColumn('node_id', 'text', (c) => c.primaryKey())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .addColumn('applied_revision', 'bigint', (c) => c.notNull())
        .execute();

      await s
        .createTable('observations')
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('object_id', 'text', (c) => c.notNull())
        .addColumn('revision', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('detail', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('observations_pk', ['node_id', 'object_id'])
        .execute();
      // Jobs ask "what did every node say about this object".
      await s.createIndex('observations_object').on('observations').column('object_id').execute();
    },
  },
  {
    // The data plane asks "how many rows, and the highest revision" on every revision (see
    // src/dataplane/resource-cache.ts); this index answers it without reading any document.
    name: '0002_resources_product_kind_revision',
    async up(tx) {
      await tx.schema.createIndex('resources_product_kind_revision').on('resources').columns(['product', 'kind', 'revision']).execute();
    },
  },
  {
    // Signature nonces, shared by every API node and kept across restarts (see
    // src/gateway/signature/store-nonce-registry.ts). The key is a hash of the AccessKeyId and
    // the nonce, so a caller's long nonce costs a fixed 64 characters.
    name: '0003_nonces',
    async up(tx) {
      await tx.schema
        .createTable('nonces')
        .addColumn('nonce_key', 'text', (c) => c.primaryKey())
        .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
        .execute();
      await tx.schema.createIndex('nonces_timestamp').on('nonces').column('timestamp_ms').execute();
    },
  },
  faultRulesMigration,
];

const MIGRATION_KEY_PREFIX = 'migration:';

/**
 * Apply pending migrations in one transaction. Two processes opening the same database at
 * once must not both migrate: on PostgreSQL a transaction-scoped advisory lock serialises
 * them (the second then sees the first's committed `meta` rows, READ COMMITTED takes a fresh
 * snapshot per statement); on SQLite `begin` is BEGIN IMMEDIATE, which takes the write lock.
 * DDL is transactional on both engines, so a failed migration leaves nothing behind.
 */
export async function runMigrations(
  kind: StoreKind,
  begin: () => TransactionBuilder<Schema>,
  list: readonly Migration[] = migrations,
): Promise<string[]> {
  return begin().execute(async (tx) => {
    if (kind === 'postgres') {
      await sql`select pg_advisory_xact_lock(hashtext('openslb:migrations'))`.execute(tx);
    }
    // `meta` holds the migration log itself, so it exists before any migration runs.
    await tx.schema
      .createTable('meta')
      .ifNotExists()
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    const rows = await tx.selectFrom('meta').select('key').where('key', 'like', `${MIGRATION_KEY_PREFIX}%`).execute();
    const applied = new Set(rows.map((r) => r.key.slice(MIGRATION_KEY_PREFIX.length)));
    const ran: string[] = [];
    for (const m of list) {
      if (applied.has(m.name)) continue;
      await m.up(tx as Transaction<any>);
      await tx
        .insertInto('meta')
        .values({ key: MIGRATION_KEY_PREFIX + m.name, value: new Date().toISOString() })
        .execute();
      ran.push(m.name);
    }
    return ran;
  });
}

/** Names of applied migrations, in order; for diagnostics and tests. */
export async function appliedMigrations(db: Kysely<Schema>): Promise<string[]> {
  const rows = await db.selectFrom('meta').select('key').where('key', 'like', `${MIGRATION_KEY_PREFIX}%`).orderBy('key').execute();
  return rows.map((r) => r.key.slice(MIGRATION_KEY_PREFIX.length));
}

/** Throws unless every known migration has been applied (for processes that must not migrate). */
export async function requireMigrated(db: Kysely<Schema>, list: readonly Migration[] = migrations): Promise<void> {
  let applied: string[];
  try {
    applied = await appliedMigrations(db);
  } catch (err) {
    // Unreachable is not "not migrated": saying "start the primary first" would mislead.
    if (isConnectionFault(err)) throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(err);
    applied = [];
  }
  const missing = list.filter((m) => !applied.includes(m.name)).map((m) => m.name);
  if (missing.length > 0) throw new Error(`store: not migrated (missing ${missing.join(', ')}); start the primary first`);
}
