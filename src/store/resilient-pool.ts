/**
 * The pool Kysely's PostgreSQL dialect draws from, made to survive database faults:
 *
 *  - every pooled client has an 'error' listener for its whole life, so a connection lost
 *    while checked out (pg_terminate_backend, a server restart) fails its query instead of
 *    crashing the process with an unhandled 'error' event;
 *  - acquiring a connection is always safe to repeat, so it is retried with back-off;
 *  - a read outside a transaction that failed because its connection died is run again on a
 *    fresh connection (a read changes nothing, so running it twice is harmless);
 *  - every connection fault leaves as a StoreUnavailableError, and a COMMIT that was in flight
 *    when its connection died is marked `commitUncertain` (it may have been applied), so the
 *    store's transaction retry (store-core.ts) never runs a possibly applied change twice;
 *  - the first connection fault on a client sticks to it: the ROLLBACK Kysely sends after a
 *    failed statement fails with that same error, so the error a caller sees (and whether its
 *    commit is uncertain) is the one that mattered.
 *
 * Writes outside a transaction are not retried: when the connection dies mid-statement,
 * whether it was applied is unknown.
 */
import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { isConnectionFault, StoreUnavailableError, type StoreHealth } from './store-health.js';

export interface ResilientPoolOptions {
  /** Delays between attempts to get a connection, and to re-run a read (ms). */
  retryDelaysMs?: readonly number[];
}

const DEFAULT_RETRY_DELAYS_MS = [50, 200, 500] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function resilientPool(pool: pg.Pool, health: StoreHealth, opts: ResilientPoolOptions = {}): PostgresPool {
  const delays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  // A client's 'error' event fires whether or not it is checked out; the failing query (if
  // any) rejects on its own, and pg-pool drops the broken client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  pool.on('error', () => undefined);

  async function acquire(): Promise<pg.PoolClient> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await pool.connect();
      } catch (err) {
        if (!isConnectionFault(err)) throw err;
        if (attempt >= delays.length) {
          health.failed(err);
          throw new StoreUnavailableError(err, { unreachable: true });
        }
        await sleep(delays[attempt]);
      }
    }
  }

  return {
    async connect(): Promise<PostgresPoolClient> {
      // Kysely uses query(sql, parameters) and release(); cursors (streaming) are not used here.
      return new ResilientClient(await acquire(), acquire, health, delays) as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const END = /^\s*(commit|rollback|end)\b/i;
const COMMIT = /^\s*(commit|end)\b/i;
/** Plain reads: a SELECT that locks nothing and calls no function with effects we use. */
const SAFE_READ = /^\s*select\b(?![\s\S]*\b(for\s+update|for\s+share|pg_notify|pg_advisory|nextval|pg_terminate)\b)/i;

class ResilientClient {
  #inTransaction = false;
  /** The connection fault this client met; every later statement on it fails with it. */
  #fault: StoreUnavailableError | undefined;

  constructor(
    private client: pg.PoolClient,
    private readonly acquire: () => Promise<pg.PoolClient>,
    private readonly health: StoreHealth,
    private readonly delays: readonly number[],
  ) {}

  async query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    if (this.#fault) {
      if (END.test(sql)) this.#inTransaction = false;
      throw this.#fault;
    }
    const opening = BEGIN.test(sql);
    try {
      const result = await this.run<R>(sql, parameters);
      if (opening) this.#inTransaction = true;
      else if (END.test(sql)) this.#inTransaction = false;
      return result;
    } catch (err) {
      if (!isConnectionFault(err)) throw err;
      if (this.#inTransaction || opening || !SAFE_READ.test(sql)) {
        this.#fault = err instanceof StoreUnavailableError ? err : new StoreUnavailableError(err, { commitUncertain: COMMIT.test(sql) });
        if (END.test(sql)) this.#inTransaction = false;
        throw this.#fault;
      }
      return this.rerunRead<R>(sql, parameters, err);
    }
  }

  private async run<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const result = (await this.client.query(sql, parameters as unknown[])) as unknown as PostgresQueryResult<R>;
    this.health.succeeded();
    return result;
  }

  /** The read's connection died: swap it for a fresh one and run the read again. */
  private async rerunRead<R>(sql: string, parameters: ReadonlyArray<unknown>, first: unknown): Promise<PostgresQueryResult<R>> {
    let last = first;
    for (const delay of [0, ...this.delays]) {
      if (delay) await sleep(delay);
      this.client.release(last instanceof Error ? last : true);
      try {
        this.client = await this.acquire();
      } catch (err) {
        // acquire() already retried and recorded the outage; keep a live-looking client out.
        this.#fault = err instanceof StoreUnavailableError ? err : new StoreUnavailableError(err);
        this.client = DEAD_CLIENT;
        throw this.#fault;
      }
      try {
        return await this.run<R>(sql, parameters);
      } catch (err) {
        if (!isConnectionFault(err)) throw err;
        last = err;
      }
    }
    this.health.failed(last);
    this.#fault = new StoreUnavailableError(last, { unreachable: true });
    throw this.#fault;
  }

  release(): void {
    // A client that met a fault goes back as broken, so the pool closes it instead of reusing it.
    this.client.release(this.#fault ?? undefined);
  }
}

/** Stands in once a replacement connection could not be had; releasing it does nothing. */
const DEAD_CLIENT = {
  query: () => Promise.reject(new Error('Connection terminated')),
  release: () => undefined,
} as unknown as pg.PoolClient;
