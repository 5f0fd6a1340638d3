/**
 * How every GWLB change reaches the data plane. GWLB answers no JobId — clients poll statuses —
 * but each change still starts a job, so a status settles only once every live data-plane node
 * has applied the change (DESIGN rule 1). The statuses are each resource's machine in
 * domain/status-machines.ts (GWLB_*): Provisioning/Creating → Active/Running/Available on
 * create, Configuring → back on change, Deleting → gone.
 */
import type { ActionContext } from '../../gateway/action.js';
import type { JobEffect } from '../../jobs/effects.js';
import { settleEffects, startJob } from '../common/jobs.js';
import type { Transition } from '../../domain/status-machines.js';
import { insertResource, putTags, updateResource, type Resource, type Tag } from '../common/resources.js';
import { PRODUCT, stampOf } from './lookups.js';

export interface Creation<B> {
  id: string;
  kind: string;
  parentId?: string;
  body: B;
  tags: readonly Tag[];
  /** The machine's `create` transition. */
  transition: Transition;
}

/** Stores a new resource in its transitional status. A data plane that cannot take it on leaves nothing behind. */
export async function createWithJob<B>(ctx: ActionContext, c: Creation<B>): Promise<void> {
  await insertResource(
    ctx.db,
    {
      id: c.id,
      product: PRODUCT,
      kind: c.kind,
      regionId: ctx.region.id,
      parentId: c.parentId ?? null,
      status: c.transition.via,
      body: c.body,
    },
    stampOf(ctx),
  );
  await putTags(ctx.db, { id: c.id, product: PRODUCT, resourceType: c.kind, regionId: ctx.region.id }, c.tags);
  await startJob(ctx, {
    resourceType: c.kind,
    resourceId: c.id,
    ...settleEffects(c.id, c.transition, c.transition.via),
  });
}

export interface Change<B> {
  /** The document while the change is applied (what the data plane reads meanwhile). */
  body: B;
  /** The machine's `configure` transition. */
  transition: Transition;
  /** Fields written when the data plane has applied the change (e.g. servers Adding → Available). */
  onSettled?: Partial<B>;
}

/**
 * Stores `change.body` in the transitional status; the job settles the resource as its machine
 * says (back to the status it had). Should the job fail, the top-level fields the change
 * touched are put back.
 */
export async function changeWithJob<B>(ctx: ActionContext, row: Resource<B>, change: Change<B>): Promise<void> {
  const before = row.body as Record<string, unknown>;
  const after = change.body as Record<string, unknown>;
  const restore: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) restore[key] = before[key] ?? null;
  }
  const settledPatch: JobEffect[] =
    change.onSettled && Object.keys(change.onSettled).length > 0
      ? [{ op: 'patch', id: row.id, patch: change.onSettled as Record<string, unknown> }]
      : [];
  const settled = settleEffects(row.id, change.transition, row.status);
  await updateResource(ctx.db, row, { status: change.transition.via, body: change.body }, stampOf(ctx));
  await startJob(ctx, {
    resourceType: row.kind,
    resourceId: row.id,
    onSuccess: [...settledPatch, ...settled.onSuccess],
    onFailure: [{ op: 'patch', id: row.id, patch: restore }, ...settled.onFailure],
  });
}

/** Marks the resource Deleting; it is gone once the data plane has let go of it. */
export async function deleteWithJob(ctx: ActionContext, row: Resource<unknown>, transition: Transition): Promise<void> {
  await updateResource(ctx.db, row, { status: transition.via }, stampOf(ctx));
  await startJob(ctx, { resourceType: row.kind, resourceId: row.id, ...settleEffects(row.id, transition, row.status) });
}
