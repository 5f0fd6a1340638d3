/**
 * A data-plane node: registers in the store, heartbeats, follows the store revision and
 * reports which revision it has applied and what it observed (DESIGN rule 1). What
 * "applying" means is the reconciler's business; the node only keeps the bookkeeping honest.
 */
import type { Logger } from 'pino';
import type { Transaction } from 'kysely';
import type { Schema, Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';

export interface Observation {
  objectId: string;
  state: string; // e.g. bound | failed | healthy | unhealthy
  reason?: string;
  detail?: unknown;
}

export interface Reconciler {
  /** Brings the runtime in line with the store at `revision`; returns what it observed. */
  apply(revision: number): Promise<Observation[]>;
  close(): Promise<void>;
}

export interface DataPlaneNodeOptions {
  nodeId: string;
  address: string;
  store: Store;
  clock: Clock;
  reconciler: Reconciler;
  heartbeatMs?: number;
  log?: Logger;
}

export class DataPlaneNode {
  private applied = -1;
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private waitAbort = new AbortController();
  private loopDone: Promise<void> | undefined;

  constructor(private readonly opts: DataPlaneNodeOptions) {}

  async start(): Promise<void> {
    const { store, clock, nodeId, address } = this.opts;
    const now = clock.now();
    await store.transact(async (tx) => {
      await tx.deleteFrom('observations').where('node_id', '=', nodeId).execute();
      await tx.deleteFrom('nodes').where('node_id', '=', nodeId).execute();
      await tx
        .insertInto('nodes')
        .values({ node_id: nodeId, address, started_at: now, heartbeat_at: now, applied_revision: -1 })
        .execute();
    });
    await this.applyOnce(await store.currentRevision());
    this.heartbeat = setInterval(() => void this.beat(), this.opts.heartbeatMs ?? 2000);
    this.heartbeat.unref();
    this.loopDone = this.follow();
  }

  get appliedRevision(): number {
    return this.applied;
  }

  private async beat(): Promise<void> {
    try {
      await this.opts.store.transact((tx) =>
        tx
          .updateTable('nodes')
          .set({ heartbeat_at: this.opts.clock.now() })
          .where('node_id', '=', this.opts.nodeId)
          .execute(),
      );
    } catch (err) {
      this.opts.log?.warn({ err }, 'heartbeat failed');
    }
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        const revision = await this.opts.store.waitForRevision(this.applied, 1000, this.waitAbort.signal);
        if (this.stopped) break;
        if (revision > this.applied) await this.applyOnce(revision);
      } catch (err) {
        if (this.stopped) break;
        this.opts.log?.error({ err }, 'applying a revision failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Records observations made between revisions (health verdicts), at the applied revision. */
  report(observations: Observation[]): void {
    if (this.stopped || observations.length === 0) return;
    this.reporting = this.reporting
      .then(() => this.opts.store.transact((tx) => this.writeObservations(tx, observations, Math.max(this.applied, 0))))
      .then((wrote) => this.remember(wrote))
      .catch((err) => this.opts.log?.warn({ err }, 'recording observations failed'));
  }

  private reporting: Promise<unknown> = Promise.resolve();

  /** What this node last wrote per object, so an unchanged verdict costs no write. */
  private readonly written = new Map<string, string>();

  /** Writes what changed; returns what to remember once the transaction has committed. */
  private async writeObservations(tx: Transaction<Schema>, observations: Observation[], revision: number): Promise<Array<[string, string]>> {
    const now = this.opts.clock.now();
    const wrote: Array<[string, string]> = [];
    for (const o of observations) {
      // A failure is always re-stamped: a job fails on a failure at or after its own revision.
      // Anything else unchanged is skipped, so a revision costs writes for what changed only.
      const fingerprint = `${o.state}\u0000${o.reason ?? ''}\u0000${o.detail === undefined ? '' : JSON.stringify(o.detail)}`;
      if (o.state !== 'failed' && this.written.get(o.objectId) === fingerprint) continue;
      const row = {
        node_id: this.opts.nodeId,
        object_id: o.objectId,
        revision,
        state: o.state,
        reason: o.reason ?? null,
        detail: o.detail === undefined ? null : JSON.stringify(o.detail),
        updated_at: now,
      };
      await tx
        .insertInto('observations')
        .values(row)
        .onConflict((oc) => oc.columns(['node_id', 'object_id']).doUpdateSet(row))
        .execute();
      wrote.push([o.objectId, fingerprint]);
    }
    return wrote;
  }

  private remember(wrote: Array<[string, string]>): void {
    for (const [objectId, fingerprint] of wrote) this.written.set(objectId, fingerprint);
  }

  private async applyOnce(revision: number): Promise<void> {
    const observations = await this.opts.reconciler.apply(revision);
    const { store, clock, nodeId } = this.opts;
    const now = clock.now();
    // Observations and the applied revision land together, so a job never sees one without the other.
    const wrote = await store.transact(async (tx) => {
      const changed = await this.writeObservations(tx, observations, revision);
      await tx
        .updateTable('nodes')
        .set({ applied_revision: revision, heartbeat_at: now })
        .where('node_id', '=', nodeId)
        .execute();
      return changed;
    });
    this.remember(wrote);
    this.applied = revision;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waitAbort.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.loopDone?.catch(() => undefined);
    await this.opts.reconciler.close();
    await this.opts.store
      .transact((tx) => tx.deleteFrom('nodes').where('node_id', '=', this.opts.nodeId).execute())
      .catch(() => undefined);
  }
}
