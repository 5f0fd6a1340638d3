import type { Kysely, Transaction } from 'kysely';
import type { Schema } from './schema.js';
import type { StoreHealthView } from './store-health.js';
import type { NonceRows } from './nonce-rows.js';

export type StoreKind = 'sqlite' | 'postgres';

/** The body of a mutation: receives the transaction and the revision it will commit as. */
export type MutateFn<T> = (tx: Transaction<Schema>, revision: number) => Promise<T>;

/**
 * The only source of truth (DESIGN rule 1). Desired state changes go through `mutate`, which
 * bumps the revision the data plane follows; bookkeeping nobody follows goes through `transact`.
 *
 * Inside `fn`, use `tx` only, never `db`: on SQLite the single connection is held by the
 * transaction (using `db` would wait forever), on PostgreSQL `db` would see other data.
 */
export interface Store {
  readonly kind: StoreKind;
  /** For reads outside a transaction. */
  readonly db: Kysely<Schema>;
  /**
   * Run fn in ONE transaction that first bumps the revision; returns fn's result and the new
   * revision. Nothing is visible to others, and the promise does not resolve, until commit.
   * A transaction whose connection died before COMMIT is run again (fn must therefore touch
   * nothing but tx); when the store stays unreachable it rejects with StoreUnavailableError.
   * Concurrent calls serialise (PostgreSQL: the revision row lock; SQLite: BEGIN IMMEDIATE on
   * the single connection), so revisions are distinct and consecutive.
   */
  mutate<T>(fn: MutateFn<T>): Promise<{ result: T; revision: number }>;
  /** A transaction that does NOT bump the revision (idempotency, nonces, heartbeats, observations, job status). */
  transact<T>(fn: (tx: Transaction<Schema>) => Promise<T>): Promise<T>;
  /** Signature nonce rows (see nonce-rows.ts): recorded once, shared by every API node. */
  readonly nonces: NonceRows;
  currentRevision(): Promise<number>;
  /**
   * Resolves with the current revision as soon as it is > after (at once if it already is),
   * or with the current revision when timeoutMs passes or signal aborts. Never rejects.
   */
  waitForRevision(after: number, timeoutMs: number, signal?: AbortSignal): Promise<number>;
  /**
   * Another process says `revision` is committed (a cluster primary tells its workers): wake
   * the waiters now instead of at the next poll. Only ever pass a revision that is committed.
   */
  notifyRevision(revision: number): void;
  /**
   * Whether this process can reach the store, as its last queries found it (always reachable
   * on SQLite). A connection fault the store retried past does not count.
   */
  health(): StoreHealthView;
  /** Idempotent. Pending waitForRevision calls resolve with the last revision seen. */
  close(): Promise<void>;
}
