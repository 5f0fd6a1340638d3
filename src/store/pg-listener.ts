import pg from 'pg';

export const REVISION_CHANNEL = 'openslb_revision';

export interface PgRevisionListenerOptions {
  url: string;
  /** A NOTIFY arrived carrying this revision. */
  onRevision(revision: number): void;
  /** (Re)connected: notifications may have been missed meanwhile, so re-read. */
  onConnected(): void;
}

/**
 * A dedicated connection that LISTENs for revision NOTIFYs. LISTEN is per session, so it
 * cannot live in the pool. When the connection drops it reconnects with backoff; the feed's
 * poll covers the gap.
 */
export class PgRevisionListener {
  readonly #opts: PgRevisionListenerOptions;
  #client: pg.Client | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs = 250;
  #closed = false;

  constructor(opts: PgRevisionListenerOptions) {
    this.#opts = opts;
  }

  /** Connect once; rejects if the first connection fails, so openStore reports it. */
  async start(): Promise<void> {
    await this.#connect();
  }

  /** Connect when the server answers: for a process that starts while the store is down. */
  startInBackground(): void {
    this.#connect().catch(() => this.#scheduleReconnect());
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#opts.url });
    let ready = false;
    let lost = false;
    const onLost = (): void => {
      // Before `ready`, failures reject connect() below and are the caller's to handle.
      if (!ready || lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => {});
      this.#scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (msg) => {
      const revision = Number(msg.payload);
      if (msg.channel === REVISION_CHANNEL && Number.isSafeInteger(revision)) this.#opts.onRevision(revision);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REVISION_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    ready = true;
    this.#client = client;
    this.#retryDelayMs = 250;
    this.#opts.onConnected();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer) return;
    const delay = this.#retryDelayMs;
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, 10_000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect().catch(() => this.#scheduleReconnect());
    }, delay);
    // Reconnecting must not keep a process alive that has nothing else to do.
    this.#retryTimer.unref();
  }
}
