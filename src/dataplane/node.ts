/**
 * A data-plane node: registers in the store, heartbeats, follows the store revision and
 * reports which revision it has applied and what it observed (DESIGN rule 1). What
 * "applying" means is the reconciler's business; the node only keeps the bookkeeping honest.
 */
import type { Logger } from 'pino';
import type { Transaction } from 'kysely';
import { isStoreUnavailable, type Schema, type Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { FAILED, type ObservationState } from '../domain/observations.js';
import type { DesiredStateCopy, DesiredStateSource } from './desired-state-copy.js';

export interface Observation {
  objectId: string;
  state: ObservationState;
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
  /**
   * The local copy of the last applied desired state, and the source the reconciler reads
   * through: with both, a node that cannot reach the store at start forwards from the copy
   * and reconnects in the background.
   */
  copy?: DesiredStateCopy;
  source?: DesiredStateSource;
}

/** What this node forwards right now, for /healthz (answered without the store). */
export interface ForwardingStatus {
  appliedRevision: number;
  /** Objects (listeners) the last revision wanted but this node could not apply, with why. */
  failed: Array<{ objectId: string; reason: string }>;
}

export class DataPlaneNode {
  private applied = -1;
  private startedAt = 0;
  private readonly failedObjects = new Map<string, string>();
  /** Store faults in a row per activity, so each streak is logged once, not once per try. */
  private readonly faultStreaks = new Map<string, number>();
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private waitAbort = new AbortController();
  private loopDone: Promise<void> | undefined;

  constructor(private readonly opts: DataPlaneNodeOptions) {}

  async start(): Promise<void> {
    const { store, clock } = this.opts;
    this.startedAt = clock.now();
    try {
      await this.register();
    } catch (err) {
      const { copy, source } = this.opts;
      if (!isStoreUnavailable(err) || !copy || !source) throw err;
      const local = await copy.open();
      if (local) {
        this.localStore = local;
        source.useLocal(local);
        const revision = await local.currentRevision();
        this.noteFailures(await this.opts.reconciler.apply(revision));
        this.applied = revision;
        this.opts.log?.warn(
          { revision, copy: copy.path },
          `store unreachable at start: forwarding from the local copy of revision ${revision}; reconnecting in the background`,
        );
      } else {
        // Never applied anything here: nothing to forward yet, but come up and keep trying.
        this.opts.log?.warn(
          { copy: copy.path },
          'store unreachable at start and no local copy of the desired state: forwarding nothing until the store answers',
        );
      }
      this.startLoops(this.reconnectThenFollow());
      return;
    }
    await this.applyOnce(await store.currentRevision());
    this.startLoops(this.follow());
  }

  private startLoops(loop: Promise<void>): void {
    this.heartbeat = setInterval(() => void this.beat(), this.opts.heartbeatMs ?? 2000);
    this.heartbeat.unref();
    this.loopDone = loop;
  }

  /** A restarted node (same identity) takes over its row: whatever it said before is void. */
  private async register(): Promise<void> {
    const { store, clock, nodeId, address } = this.opts;
    const now = clock.now();
    await store.transact(async (tx) => {
      await tx.deleteFrom('observations').where('node_id', '=', nodeId).execute();
      await tx.deleteFrom('nodes').where('node_id', '=', nodeId).execute();
      await tx
        .insertInto('nodes')
        .values({ node_id: nodeId, address, started_at: this.startedAt, heartbeat_at: now, applied_revision: this.applied })
        .execute();
    });
  }

  /** Started from the local copy: register once the store answers, then follow it as usual. */
  private async reconnectThenFollow(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      await this.pause(Math.min(500 * 2 ** Math.min(attempt, 10), 10_000));
      if (this.stopped) return;
      try {
        await this.register();
        // From now on the store: apply its revision (and record it) before following it.
        this.opts.source?.useLocal(undefined);
        await this.applyOnce(await this.opts.store.currentRevision());
        this.opts.log?.info({ appliedRevision: this.applied }, 'store reachable: following it instead of the local copy');
        break;
      } catch (err) {
        // Registered but could not apply from the store yet: keep serving from the copy.
        this.opts.source?.useLocal(this.localStore);
        this.fault('reconnecting to the store', err);
      }
    }
    await this.follow();
  }

  /** The local copy a cold start forwards from until the store answers. */
  private localStore: Store | undefined;

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.waitAbort.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }

  private noteFailures(observations: Observation[]): void {
    this.failedObjects.clear();
    for (const o of observations) if (o.state === FAILED) this.failedObjects.set(o.objectId, o.reason ?? 'failed');
  }

  get appliedRevision(): number {
    return this.applied;
  }

  status(): ForwardingStatus {
    return {
      appliedRevision: this.applied,
      failed: [...this.failedObjects].map(([objectId, reason]) => ({ objectId, reason })),
    };
  }

  /**
   * Logs the first failure of a streak and the recovery; an unreachable store is left to the
   * store's own one line per outage.
   */
  private fault(activity: string, err: unknown): void {
    const n = (this.faultStreaks.get(activity) ?? 0) + 1;
    this.faultStreaks.set(activity, n);
    if (n === 1 && !isStoreUnavailable(err)) {
      this.loggedFaults.add(activity);
      this.opts.log?.warn({ err }, `${activity} failed; retrying`);
    }
  }

  private readonly loggedFaults = new Set<string>();

  private recovered(activity: string): void {
    const n = this.faultStreaks.get(activity);
    if (n === undefined) return;
    this.faultStreaks.delete(activity);
    if (this.loggedFaults.delete(activity)) this.opts.log?.info({ failures: n }, `${activity} works again`);
  }

  private async beat(): Promise<void> {
    const { nodeId, address, clock } = this.opts;
    const now = clock.now();
    try {
      // An upsert: a node whose row was forgotten while it was cut off registers again.
      await this.opts.store.transact((tx) =>
        tx
          .insertInto('nodes')
          .values({ node_id: nodeId, address, started_at: this.startedAt, heartbeat_at: now, applied_revision: this.applied })
          .onConflict((oc) => oc.column('node_id').doUpdateSet({ heartbeat_at: now }))
          .execute(),
      );
      this.recovered('heartbeat');
    } catch (err) {
      this.fault('heartbeat', err);
    }
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        const revision = await this.opts.store.waitForRevision(this.applied, 1000, this.waitAbort.signal);
        if (this.stopped) break;
        if (revision > this.applied) await this.applyOnce(revision);
        this.recovered('applying a revision');
      } catch (err) {
        if (this.stopped) break;
        this.fault('applying a revision', err);
        const n = this.faultStreaks.get('applying a revision') ?? 1;
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** Math.min(n, 10), 5000)));
      }
    }
  }

  /** Records observations made between revisions (health verdicts), at the applied revision. */
  report(observations: Observation[]): void {
    if (this.stopped || observations.length === 0) return;
    this.reporting = this.reporting
      .then(() => this.opts.store.transact((tx) => this.writeObservations(tx, observations, Math.max(this.applied, 0))))
      .then((wrote) => {
        this.remember(wrote);
        this.recovered('recording observations');
      })
      .catch((err) => this.fault('recording observations', err));
  }

  private reporting: Promise<unknown> = Promise.resolve();

  /** What this node last wrote per object, so an unchanged verdict costs no write. */
  private readonly written = new Map<string, string>();

  /** Writes what changed; returns what to remember once the transaction has committed. */
  private async writeObservations(
    tx: Transaction<Schema>,
    observations: Observation[],
    revision: number,
  ): Promise<Array<[string, string]>> {
    const now = this.opts.clock.now();
    const wrote: Array<[string, string]> = [];
    for (const o of observations) {
      // A failure is always re-stamped: a job fails on a failure at or after its own revision.
      // Anything else unchanged is skipped, so a revision costs writes for what changed only.
      const fingerprint = `${o.state}\u0000${o.reason ?? ''}\u0000${o.detail === undefined ? '' : JSON.stringify(o.detail)}`;
      if (o.state !== FAILED && this.written.get(o.objectId) === fingerprint) continue;
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
    this.noteFailures(observations);
    const { store, clock, nodeId } = this.opts;
    const now = clock.now();
    // Observations and the applied revision land together, so a job never sees one without the other.
    const wrote = await store.transact(async (tx) => {
      const changed = await this.writeObservations(tx, observations, revision);
      await tx.updateTable('nodes').set({ applied_revision: revision, heartbeat_at: now }).where('node_id', '=', nodeId).execute();
      return changed;
    });
    this.remember(wrote);
    this.applied = revision;
    this.opts.copy?.saveSoon(store.db, revision);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waitAbort.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.loopDone?.catch(() => undefined);
    await this.opts.reconciler.close();
    await this.opts.copy?.close().catch(() => undefined);
    await this.opts.store.transact((tx) => tx.deleteFrom('nodes').where('node_id', '=', this.opts.nodeId).execute()).catch(() => undefined);
  }
}
