/**
 * Tells waiters when the store's revision moves past the one they know. Revisions reach the
 * feed three ways: `publish` after a local commit, `publish` from an engine push (PostgreSQL
 * NOTIFY), and a poll of `read()` that runs only while someone waits — the poll is what sees
 * writers the feed cannot hear (another process on the same SQLite file, a lost LISTEN
 * connection).
 */
export interface RevisionFeedOptions {
  /** Reads the committed revision from the store. */
  read: () => Promise<number>;
  pollIntervalMs: number;
}

interface Waiter {
  after: number;
  settle(revision: number): void;
}

export class RevisionFeed {
  readonly #read: () => Promise<number>;
  readonly #pollIntervalMs: number;
  readonly #waiters = new Set<Waiter>();
  #latest = 0;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(opts: RevisionFeedOptions) {
    this.#read = opts.read;
    this.#pollIntervalMs = opts.pollIntervalMs;
  }

  /** The highest revision this feed has seen (never more than the store's). */
  get latest(): number {
    return this.#latest;
  }

  /** A revision is known to be committed: wake everyone waiting for less. */
  publish(revision: number): void {
    if (!(revision > this.#latest)) return;
    this.#latest = revision;
    for (const w of this.#waiters) if (revision > w.after) w.settle(revision);
  }

  wait(after: number, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    if (this.#closed) return Promise.resolve(this.#latest);
    return new Promise<number>((resolve) => {
      let done = false;
      const waiter: Waiter = {
        after,
        settle: (revision) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', giveUp);
          this.#waiters.delete(waiter);
          if (this.#waiters.size === 0) this.#stopPolling();
          resolve(revision);
        },
      };
      // Timeout and abort still answer with the current revision, read fresh.
      const giveUp = (): void => {
        void this.#readSafely().then((revision) => waiter.settle(revision));
      };
      const timer = setTimeout(giveUp, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', giveUp, { once: true });
      this.#waiters.add(waiter);
      this.#startPolling();
      if (signal?.aborted) return giveUp();
      // Read only after registering, so a commit landing in between cannot be missed.
      void this.#readSafely().then((revision) => {
        if (revision > after) waiter.settle(revision);
      });
    });
  }

  /** Resolve every waiter with the last revision seen; later waits resolve at once. */
  close(): void {
    this.#closed = true;
    this.#stopPolling();
    for (const w of [...this.#waiters]) w.settle(this.#latest);
  }

  /** Read and publish; a failed read (e.g. the server restarting) yields the last known revision. */
  async #readSafely(): Promise<number> {
    try {
      this.publish(await this.#read());
    } catch {
      // The next poll, NOTIFY or timeout tries again; waiters never see store errors.
    }
    return this.#latest;
  }

  #startPolling(): void {
    if (this.#pollTimer || this.#closed) return;
    // #readSafely never rejects, so the poll needs no error path.
    const poll = async (): Promise<void> => {
      // One read at a time no matter how many waiters there are.
      await (this.#polling ??= this.#readSafely().then(() => {
        this.#polling = undefined;
      }));
      // Stopped (or stopped and restarted) while reading: that other chain owns polling now.
      if (this.#pollTimer !== timer) return;
      this.#pollTimer = undefined;
      if (this.#waiters.size > 0) this.#startPolling();
    };
    const timer = setTimeout(() => void poll(), this.#pollIntervalMs);
    this.#pollTimer = timer;
  }

  #stopPolling(): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
  }
}
