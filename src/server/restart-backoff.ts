/**
 * How long to wait before restarting a data-plane worker that died. A worker that ran for a
 * while is restarted almost at once; one that keeps dying soon after starting waits twice as
 * long each time, up to a ceiling, so a crash loop costs at most one start per `maxMs`.
 */
export interface RestartBackoffOptions {
  /** Delay after a crash that followed a stable run. */
  initialMs?: number;
  maxMs?: number;
  /** A worker that lived this long counts as stable: the next delay starts over. */
  stableMs?: number;
}

export class RestartBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private last = 0;

  constructor(opts: RestartBackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 250;
    this.maxMs = opts.maxMs ?? 30_000;
    this.stableMs = opts.stableMs ?? 30_000;
  }

  /** The delay before restarting a worker that died after running `uptimeMs`. */
  next(uptimeMs: number): number {
    this.last = uptimeMs >= this.stableMs || this.last === 0 ? this.initialMs : Math.min(this.last * 2, this.maxMs);
    return this.last;
  }
}
