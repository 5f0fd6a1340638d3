/**
 * Finishes jobs. A Processing job succeeds once every live data-plane node has applied its
 * revision (and its extra delay has passed), or fails with a node's reason when a node
 * reports the job's resource as failed at or after that revision (DESIGN rule 1).
 */
import type { Logger } from 'pino';
import { isStoreUnavailable, type Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { JobOutcome } from './effects.js';
import { applyEffects } from './jobs.js';
import { FAILED } from '../domain/observations.js';

export interface JobRunnerOptions {
  store: Store;
  clock: Clock;
  nodeTimeoutMs: number;
  log?: Logger;
  /** How often to look again while jobs are pending. */
  pollMs?: number;
  /** Longest pause between passes while they keep failing (they back off exponentially up to it). */
  maxBackoffMs?: number;
}

export class JobRunner {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<number> | undefined;

  constructor(private readonly opts: JobRunnerOptions) {}

  /** Finishes whatever can be finished now; returns how many jobs are still Processing. */
  tick(): Promise<number> {
    // Concurrent callers (the loop and a GetJobStatus) share one pass instead of racing.
    if (!this.running) {
      this.running = this.pass().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async pass(): Promise<number> {
    const { store, clock, nodeTimeoutMs } = this.opts;
    const db = store.db;
    const pending = await db.selectFrom('jobs').selectAll().where('status', '=', 'Processing').orderBy('revision').execute();
    if (pending.length === 0) return 0;

    const now = clock.now();
    const liveNodes = await db
      .selectFrom('nodes')
      .select(['node_id', 'applied_revision'])
      .where('heartbeat_at', '>=', now - nodeTimeoutMs)
      .execute();
    if (liveNodes.length === 0) return pending.length; // nothing can confirm the change yet
    const applied = Math.min(...liveNodes.map((n) => n.applied_revision));
    const liveIds = liveNodes.map((n) => n.node_id);

    const ready = pending.filter((job) => job.revision <= applied && job.not_before <= now);
    if (ready.length === 0) return pending.length;

    const failures = await db
      .selectFrom('observations')
      .select(['object_id', 'revision', 'reason', 'node_id'])
      .where('state', '=', FAILED)
      .where('node_id', 'in', liveIds)
      .where(
        'object_id',
        'in',
        ready.map((j) => j.resource_id),
      )
      .execute();

    await store.mutate(async (tx, revision) => {
      for (const job of ready) {
        const failure = failures.find((f) => f.object_id === job.resource_id && f.revision >= job.revision);
        const outcome = JSON.parse(job.on_finish) as JobOutcome;
        const forced = outcome.forcedFailure;
        const status = failure || forced ? 'Failed' : 'Succeeded';
        // Only finish jobs still Processing: another runner (another API node) may have won.
        const updated = await tx
          .updateTable('jobs')
          .set({
            status,
            finished_at: now,
            error_code: forced?.code ?? (failure ? 'OperationFailed.DataPlane' : null),
            error_message: forced?.message ?? (failure ? `node ${failure.node_id}: ${failure.reason ?? 'failed'}` : null),
          })
          .where('id', '=', job.id)
          .where('status', '=', 'Processing')
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) continue;
        await applyEffects(tx, status === 'Failed' ? outcome.onFailure : outcome.onSuccess, now, revision);
        this.opts.log?.info(
          { jobId: job.id, action: job.action, resourceId: job.resource_id, status, reason: forced?.message ?? failure?.reason },
          'job finished',
        );
      }
    });
    return pending.length - ready.length;
  }

  /**
   * For reads that show job or resource status: finishes what can be finished now, like tick,
   * but costs nothing while the loop knows no job is Processing. It knows that between a pass
   * that found none (with the store revision read before that pass) and the next committed
   * revision: jobs are only created by revision-bumping mutations, and the loop's wait wakes
   * on this process's commits at once (before their replies are sent) and on other processes'
   * within the store's poll or notification delay, which then also bounds how long a read here
   * may skip a job another API process just created (that process's own runner finishes it).
   */
  refresh(): Promise<number> {
    return this.idle ? Promise.resolve(0) : this.tick();
  }

  start(): void {
    const pollMs = this.opts.pollMs ?? 20;
    const maxBackoffMs = this.opts.maxBackoffMs ?? 5000;
    let lastRemaining = 0;
    /** Passes failed in a row: each doubles the pause, and only the first one is logged. */
    let failures = 0;
    const loop = async () => {
      if (this.stopped) return;
      // Read before the pass, so a job committed after this read wakes the wait below. Only
      // needed when this pass may be the last one (none were pending the time before).
      const wantSeen = lastRemaining === 0;
      const seen = wantSeen ? await this.opts.store.currentRevision().catch(() => undefined) : undefined;
      let remaining = 0;
      let failed = false;
      try {
        remaining = await this.tick();
      } catch (err) {
        failed = true;
        // An unreachable store is logged by the store itself, once per outage.
        if (failures === 0 && !isStoreUnavailable(err)) this.opts.log?.error({ err }, 'job runner pass failed; retrying with back-off');
        remaining = 1;
      }
      if (failed || (wantSeen && seen === undefined)) {
        failures++;
      } else if (failures > 0) {
        this.opts.log?.info({ failedPasses: failures }, 'job runner passes succeed again');
        failures = 0;
      }
      lastRemaining = remaining;
      if (this.stopped) return;
      const pause = failures > 0 ? Math.min(pollMs * 2 ** Math.min(failures, 20), maxBackoffMs) : pollMs;
      if (remaining > 0) {
        this.timer = setTimeout(() => void loop(), pause);
      } else if (seen === undefined) {
        // Jobs just drained: one more pass, with the revision read first. (Or the revision
        // could not be read: try again after the usual pause.)
        this.timer = setTimeout(() => void loop(), wantSeen ? pause : 0);
      } else {
        // Idle: sleep until the next committed change (a new job bumps the revision).
        this.idle = true;
        this.waitAbort = new AbortController();
        await this.opts.store.waitForRevision(seen, 1000, this.waitAbort.signal).catch(() => 0);
        this.idle = false;
        if (!this.stopped) this.timer = setTimeout(() => void loop(), 0);
      }
    };
    void loop();
  }

  /** True while the loop waits with no job Processing as of the last revision it saw. */
  private idle = false;

  /** Whether refresh() would skip its pass right now (for diagnostics and tests). */
  get isIdle(): boolean {
    return this.idle;
  }
  private waitAbort: AbortController | undefined;

  async stop(): Promise<void> {
    this.stopped = true;
    this.idle = false;
    if (this.timer) clearTimeout(this.timer);
    this.waitAbort?.abort();
    await this.running?.catch(() => undefined);
  }
}
