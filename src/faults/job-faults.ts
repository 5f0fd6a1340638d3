/**
 * Fault effects on async jobs, written into the jobs a change creates, in the change's own
 * transaction: the job runner then fails the job with the given code (once the data plane has
 * applied the change, as a real failure is reported), or keeps it Processing until later.
 */
import type { Transaction } from 'kysely';
import type { JobOutcome } from '../jobs/effects.js';
import type { Schema } from '../store/schema.js';

export interface JobFault {
  fail?: { code: string; message: string };
  holdMs?: number;
}

export async function markJobs(tx: Transaction<Schema>, revision: number, now: number, fault: JobFault): Promise<number> {
  // Jobs carry the revision of the mutation that created them.
  const jobs = await tx.selectFrom('jobs').select(['id', 'on_finish', 'not_before']).where('revision', '=', revision).execute();
  for (const job of jobs) {
    const outcome = JSON.parse(job.on_finish) as JobOutcome;
    if (fault.fail) outcome.forcedFailure = fault.fail;
    const notBefore = fault.holdMs ? Math.max(Number(job.not_before), now + fault.holdMs) : Number(job.not_before);
    await tx
      .updateTable('jobs')
      .set({ on_finish: JSON.stringify(outcome), not_before: notBefore })
      .where('id', '=', job.id)
      .execute();
  }
  return jobs.length;
}
