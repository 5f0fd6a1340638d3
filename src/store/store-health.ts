/**
 * Whether the store can be reached, as this process last found it. A fault on one connection
 * (a backend terminated by an administrator, a dropped socket) is not an outage: the query is
 * retried on a fresh connection. The store counts as unreachable when no working connection
 * can be had, and the process says so once when that starts and once when it ends, instead of
 * a line per failed query.
 */
import type { Clock } from '../util/clock.js';

/** The store could not be reached; the API answers it with 503 ServiceUnavailable. */
export class StoreUnavailableError extends Error {
  /**
   * The connection died while COMMIT was in flight: the transaction may or may not have been
   * applied, so it must not be run again.
   */
  readonly commitUncertain: boolean;
  /**
   * No connection could be had even after retrying (as opposed to one connection lost): an
   * outage, which running the transaction again at once would not cure.
   */
  readonly unreachable: boolean;

  constructor(cause: unknown, how: { commitUncertain?: boolean; unreachable?: boolean } = {}) {
    super(`store unavailable: ${describe(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
    this.commitUncertain = how.commitUncertain ?? false;
    this.unreachable = how.unreachable ?? false;
  }
}

export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  // A unix socket path that is gone while the server is stopped.
  'ENOENT',
  // admin_shutdown (pg_terminate_backend, fast shutdown), crash_shutdown, cannot_connect_now (starting up).
  '57P01',
  '57P02',
  '57P03',
  'too_many_connections',
  '53300',
]);

const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Client was closed and is not queryable',
  'terminating connection',
];

/** A fault of the connection or the server, as opposed to an error in the statement itself. */
export function isConnectionFault(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  return CONNECTION_MESSAGES.some((m) => err.message.includes(m));
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

/** The two lines a person wants during an outage; pino's logger fits. */
export interface StoreLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface StoreHealthView {
  reachable: boolean;
  /** When the current state began (epoch ms); undefined before anything was tried. */
  since: number | undefined;
  /** The fault that made the store unreachable, while it is. */
  lastError: string | undefined;
}

export class StoreHealth {
  #reachable = true;
  #since: number | undefined;
  #lastError: string | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly log?: StoreLog,
    private readonly label = 'store',
  ) {}

  get reachable(): boolean {
    return this.#reachable;
  }

  view(): StoreHealthView {
    return { reachable: this.#reachable, since: this.#since, lastError: this.#lastError };
  }

  /** A query went through. Cheap when nothing changes: it runs after every query. */
  succeeded(): void {
    if (this.#reachable) return;
    const now = this.clock.now();
    const downMs = now - (this.#since ?? now);
    this.#reachable = true;
    this.#since = now;
    this.#lastError = undefined;
    this.log?.info({ downMs }, `${this.label} back after ${(downMs / 1000).toFixed(1)} s`);
  }

  /** No working connection could be had. */
  failed(err: unknown): void {
    this.#lastError = describe(err instanceof StoreUnavailableError ? err.cause : err);
    if (!this.#reachable) return;
    const now = this.clock.now();
    this.#reachable = false;
    this.#since = now;
    this.log?.warn({ error: this.#lastError }, `${this.label} unreachable since ${new Date(now).toISOString()}: ${this.#lastError}`);
  }
}
