/** GetJobStatus and ListAsynJobs: the state of async NLB operations. */
import { defineAction } from '../../gateway/action.js';
import { errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { getJobs } from '../../jobs/jobs.js';

export const jobActions = [
  defineAction({
    name: 'GetJobStatus',
    mode: 'read',
    global: true,
    clientToken: true,
    params: { JobId: p.string({ required: true, maxLength: 128 }) },
    handler: async (input, ctx) => {
      await ctx.refreshJobs();
      const [job] = await getJobs(ctx.store.db, 'nlb', [input.JobId]);
      if (!job) throw errors.notFound('JobId');
      return { Status: job.status };
    },
  }),
  defineAction({
    name: 'ListAsynJobs',
    mode: 'read',
    global: true,
    params: { JobIds: p.list(p.string({ maxLength: 128 }), { maxItems: 100 }) },
    handler: async (input, ctx) => {
      await ctx.refreshJobs();
      const ids = [...new Set(input.JobIds ?? [])];
      const rows = await getJobs(ctx.store.db, 'nlb', ids);
      const byId = new Map(rows.map((r) => [r.id, r]));
      // Keep the caller's order; unknown IDs are simply absent, as the cloud lists only jobs it knows.
      const jobs = ids.flatMap((id) => {
        const job = byId.get(id);
        if (!job) return [];
        // The cloud's entry has no reason field; ErrorCode/ErrorMessage (ALB's names) say why a
        // job failed, e.g. the listener's port is taken on a node. SDKs ignore unknown keys.
        return job.status === 'Failed' && job.error_code
          ? [{ Id: job.id, Status: job.status, ErrorCode: job.error_code, ErrorMessage: job.error_message ?? '' }]
          : [{ Id: job.id, Status: job.status }];
      });
      return { Jobs: jobs, TotalCount: String(jobs.length) };
    },
  }),
];
