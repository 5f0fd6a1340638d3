/** The job table: async operations that finish when every live data-plane node has applied them. */
import type { Kysely, Transaction } from 'kysely';
import type { Schema } from '../store/schema.js';
import { newJobId } from '../util/ids.js';
import type { JobEffect, JobOutcome } from './effects.js';

export type JobStatus = 'Processing' | 'Succeeded' | 'Failed';

export interface NewJob {
  product: string;
  action: string;
  regionId: string;
  resourceType: string;
  resourceId: string;
  outcome: JobOutcome;
}

export interface JobTiming {
  now: number;
  extraDelayMs: number;
  revision: number;
}

export async function createJob(tx: Transaction<Schema>, job: NewJob, timing: JobTiming): Promise<string> {
  const id = newJobId();
  await tx
    .insertInto('jobs')
    .values({
      id,
      product: job.product,
      action: job.action,
      region_id: job.regionId,
      resource_type: job.resourceType,
      resource_id: job.resourceId,
      status: 'Processing',
      revision: timing.revision,
      on_finish: JSON.stringify(job.outcome),
      error_code: null,
      error_message: null,
      created_at: timing.now,
      not_before: timing.now + timing.extraDelayMs,
      finished_at: null,
    })
    .execute();
  return id;
}

export async function getJobs(db: Kysely<Schema>, product: string, ids: string[]) {
  if (ids.length === 0) return [];
  return db.selectFrom('jobs').selectAll().where('product', '=', product).where('id', 'in', ids).execute();
}

/** Applies a finished job's effects to the resource rows. */
export async function applyEffects(tx: Transaction<Schema>, effects: JobEffect[], now: number, revision: number) {
  for (const effect of effects) {
    if (effect.op === 'delete') {
      await tx.deleteFrom('tags').where('resource_id', '=', effect.id).execute();
      await tx.deleteFrom('resources').where('id', '=', effect.id).execute();
      continue;
    }
    const row = await tx.selectFrom('resources').select(['body']).where('id', '=', effect.id).executeTakeFirst();
    if (!row) continue; // the resource was deleted meanwhile; nothing left to update
    if (effect.op === 'setStatus') {
      await tx.updateTable('resources').set({ status: effect.status, updated_at: now, revision }).where('id', '=', effect.id).execute();
    } else {
      const body = { ...JSON.parse(row.body), ...effect.patch };
      await tx
        .updateTable('resources')
        .set({ body: JSON.stringify(body), updated_at: now, revision })
        .where('id', '=', effect.id)
        .execute();
    }
  }
}
