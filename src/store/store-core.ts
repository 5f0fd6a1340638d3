import type { Kysely, Transaction, TransactionBuilder } from 'kysely';
import type { Schema } from './schema.js';
import type { MutateFn, Store, StoreKind } from './types.js';
import { bumpRevision, readRevision } from './revision-row.js';
import type { RevisionFeed } from './revision-feed.js';
import { isStoreUnavailable, type StoreHealth, type StoreHealthView } from './store-health.js';

/**
 * A transaction whose connection died before COMMIT was sent was rolled back by the server,
 * so it is run again (a fresh connection, a fresh revision) after these pauses. One whose
 * COMMIT was in flight is never run again: it may have been applied. Nor is one that found
 * the store unreachable (the pool already retried getting a connection): the caller hears
 * of the outage at once instead of after a longer wait.
 */
const TRANSACTION_RETRY_DELAYS_MS = [100, 400, 1000];

async function withRetry<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isStoreUnavailable(err) || err.commitUncertain || err.unreachable || attempt >= TRANSACTION_RETRY_DELAYS_MS.length) throw err;
      await new Promise((r) => setTimeout(r, TRANSACTION_RETRY_DELAYS_MS[attempt]));
    }
  }
}

const ALWAYS_REACHABLE: StoreHealthView = { reachable: true, since: undefined, lastError: undefined };
import type { NonceRows } from './nonce-rows.js';

/** What an engine module supplies; everything engine-neutral about a Store lives here. */
export interface Engine {
  kind: StoreKind;
  db: Kysely<Schema>;
  /** A transaction with the engine's locking/isolation (SQLite: IMMEDIATE; PG: READ COMMITTED). */
  begin(): TransactionBuilder<Schema>;
  /** Tell other processes about a revision; runs inside the mutation so it is sent on commit. */
  announce?(tx: Transaction<Schema>, revision: number): Promise<void>;
  feed: RevisionFeed;
  /** Reachability, for engines that can lose their server (PostgreSQL); SQLite has none. */
  health?: StoreHealth;
  nonces: NonceRows;
  /** Release engine resources other than `db` (e.g. a LISTEN connection). */
  shutdown?(): Promise<void>;
}

export function assembleStore(engine: Engine): Store {
  const { kind, db, feed } = engine;
  let closing: Promise<void> | undefined;

  return {
    kind,
    db,

    async mutate<T>(fn: MutateFn<T>) {
      const out = await withRetry(() =>
        engine.begin().execute(async (tx) => {
          // First statement: takes the writer lock before fn reads anything it might act on.
          const revision = await bumpRevision(tx);
          await engine.announce?.(tx, revision);
          const result = await fn(tx, revision);
          return { result, revision };
        }),
      );
      // Committed: wake this process's waiters without waiting for a poll.
      feed.publish(out.revision);
      return out;
    },

    transact<T>(fn: (tx: Transaction<Schema>) => Promise<T>) {
      return withRetry(() => engine.begin().execute(fn));
    },

    health() {
      return engine.health?.view() ?? ALWAYS_REACHABLE;
    },

    nonces: engine.nonces,

    currentRevision() {
      return readRevision(db);
    },

    waitForRevision(after, timeoutMs, signal) {
      return feed.wait(after, timeoutMs, signal);
    },

    notifyRevision(revision) {
      feed.publish(revision);
    },

    close() {
      closing ??= (async () => {
        feed.close();
        await engine.shutdown?.();
        await db.destroy();
      })();
      return closing;
    },
  };
}
