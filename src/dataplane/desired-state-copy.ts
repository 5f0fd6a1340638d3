/**
 * The data plane's local copy of the desired state it last applied, so a machine that
 * (re)starts while the store is unreachable still forwards what it forwarded before.
 *
 * The copy is a SQLite file in the data dir (`desired-state.<nodeId>.db`, one per node so
 * cluster workers never contend for it) holding the `resources` rows — everything the
 * reconcilers read — and the revision they were applied at. It is written in the background
 * after a revision is applied (at most once per `minIntervalMs`, never on a per-connection
 * path) and read only at a cold start. It contains listener certificates' private keys, so the
 * files are 0600. AccessKeys are never copied.
 *
 * `DesiredStateSource` is what the reconcilers read through: the store, or the local copy
 * while the store could not be reached at start.
 */
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Schema, Store } from '../store/store.js';
import { openStore } from '../store/store.js';

export interface DesiredStateCopyOptions {
  dataDir: string;
  nodeId: string;
  /** Fewest milliseconds between two saves (default 2000). */
  minIntervalMs?: number;
  onError?: (err: unknown) => void;
}

export function desiredStateCopyPath(dataDir: string, nodeId: string): string {
  return join(dataDir, `desired-state.${nodeId}.db`);
}

export class DesiredStateCopy {
  readonly path: string;
  #local: Promise<Store> | undefined;
  #savedRevision = -1;
  #pending: { db: Kysely<Schema>; revision: number } | undefined;
  #saving: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastSaveAt = 0;
  #closed = false;

  constructor(private readonly opts: DesiredStateCopyOptions) {
    this.path = desiredStateCopyPath(opts.dataDir, opts.nodeId);
  }

  /** The local copy as a read-only-in-spirit store, or undefined when none was ever saved. */
  async open(): Promise<Store | undefined> {
    if (!existsSync(this.path)) return undefined;
    const local = await this.#open();
    return (await local.currentRevision()) > 0 ? local : undefined;
  }

  /** Remember that `revision` was applied from `db`; saved soon, in the background. */
  saveSoon(db: Kysely<Schema>, revision: number): void {
    if (this.#closed || revision <= this.#savedRevision) return;
    this.#pending = { db, revision };
    if (this.#timer || this.#saving) return;
    const wait = Math.max(0, this.#lastSaveAt + (this.opts.minIntervalMs ?? 2000) - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#saving = this.#saveNow()
        .catch((err) => this.opts.onError?.(err))
        .finally(() => {
          this.#saving = undefined;
          if (this.#pending) this.saveSoon(this.#pending.db, this.#pending.revision);
        });
    }, wait);
    this.#timer.unref();
  }

  /** Writes what is pending now (tests, and a clean stop). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#saving;
    await this.#saveNow();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#saving?.catch(() => undefined);
    const local = this.#local;
    this.#local = undefined;
    if (local) await (await local).close();
  }

  #open(): Promise<Store> {
    this.#local ??= (async () => {
      const store = await openStore({ sqlitePath: this.path });
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(this.path + suffix)) chmodSync(this.path + suffix, 0o600);
      }
      return store;
    })();
    return this.#local;
  }

  async #saveNow(): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending || pending.revision <= this.#savedRevision) return;
    // Rows committed after the applied revision may come along; they are committed, and the
    // next apply would have read them anyway.
    const rows = await pending.db.selectFrom('resources').selectAll().execute();
    const local = await this.#open();
    await local.transact(async (tx) => {
      await tx.deleteFrom('resources').execute();
      for (let i = 0; i < rows.length; i += 200)
        await tx
          .insertInto('resources')
          .values(rows.slice(i, i + 200))
          .execute();
      await tx.updateTable('revision').set({ revision: pending.revision }).execute();
    });
    this.#savedRevision = pending.revision;
    this.#lastSaveAt = Date.now();
  }
}

/**
 * The store as the reconcilers see it: every call goes to the store, except that `db` (all
 * they read) is the local copy's while `useLocal` is in effect.
 */
export class DesiredStateSource {
  #local: Store | undefined;

  constructor(readonly store: Store) {}

  useLocal(local: Store | undefined): void {
    this.#local = local;
  }

  get usingLocal(): boolean {
    return this.#local !== undefined;
  }

  /** A Store whose `db` follows this source. */
  asStore(): Store {
    const store = this.store;
    const currentDb = () => this.#local?.db ?? store.db;
    return {
      kind: store.kind,
      get db() {
        return currentDb();
      },
      mutate: (fn) => store.mutate(fn),
      transact: (fn) => store.transact(fn),
      currentRevision: () => (this.#local ?? store).currentRevision(),
      waitForRevision: (after, timeoutMs, signal) => store.waitForRevision(after, timeoutMs, signal),
      notifyRevision: (revision) => store.notifyRevision(revision),
      health: () => store.health(),
      nonces: store.nonces,
      close: () => store.close(),
    };
  }
}
