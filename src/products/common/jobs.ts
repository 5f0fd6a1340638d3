/** Starting an async job from inside an action handler, in the handler's own transaction. */
import type { Transaction } from 'kysely';
import type { ActionContext } from '../../gateway/action.js';
import type { JobEffect } from '../../jobs/effects.js';
import { createJob } from '../../jobs/jobs.js';
import type { Schema } from '../../store/schema.js';
import { settle, type Outcome, type Transition } from '../../domain/status-machines.js';

export interface JobRequest {
  resourceType: string;
  resourceId: string;
  onSuccess: JobEffect[];
  onFailure?: JobEffect[];
}

/** Returns the JobId. Only valid in write actions (ctx.db is then the mutation's transaction). */
export function startJob(ctx: ActionContext, job: JobRequest): Promise<string> {
  return createJob(
    ctx.db as Transaction<Schema>,
    {
      product: ctx.product,
      action: ctx.action,
      regionId: ctx.region.id,
      resourceType: job.resourceType,
      resourceId: job.resourceId,
      outcome: { onSuccess: job.onSuccess, onFailure: job.onFailure ?? [] },
    },
    { now: ctx.clock.now(), extraDelayMs: ctx.config.jobs.extraDelayMs, revision: ctx.revision },
  );
}

/** The job effects that settle one resource after `transition`, from the status it had before. */
export function settleEffects(id: string, transition: Transition, previous: string): { onSuccess: JobEffect[]; onFailure: JobEffect[] } {
  return { onSuccess: [outcomeEffect(id, transition.onSuccess, previous)], onFailure: [outcomeEffect(id, transition.onFailure, previous)] };
}

function outcomeEffect(id: string, outcome: Outcome, previous: string): JobEffect {
  const status = settle(outcome, previous);
  return status === null ? { op: 'delete', id } : { op: 'setStatus', id, status };
}
