/**
 * A probe product for gateway tests: one write action that does what every write action does
 * (validate, write a resource, start a job) and one read, under its own API version.
 */
import { defineAction, makeProduct } from '../../src/gateway/action.js';
import { errors } from '../../src/gateway/errors.js';
import { p } from '../../src/gateway/params/spec.js';
import { startJob } from '../../src/products/common/jobs.js';
import { getResource, insertResource } from '../../src/products/common/resources.js';
import { jobActions } from '../../src/products/nlb/jobs.js';
import { newResourceId } from '../../src/util/ids.js';

export const PROBE = '2099-01-01';

export const probe = makeProduct('nlb', PROBE, 'Nlb', [
  ...jobActions,
  defineAction({
    name: 'CreateWidget',
    mode: 'write',
    dryRun: true,
    clientToken: true,
    params: { Name: p.string({ required: true, maxLength: 10 }), Size: p.integer({ min: 1, max: 10, default: 1 }) },
    handler: async (input, ctx) => {
      if (input.Name === 'taken') throw errors.duplicatedParam('Name');
      const id = newResourceId('wdg');
      const stamp = { now: ctx.clock.now(), revision: ctx.revision };
      await insertResource(ctx.db, { id, product: 'nlb', kind: 'widget', regionId: ctx.region.id, status: 'Creating', body: input }, stamp);
      const jobId = await startJob(ctx, {
        resourceType: 'widget',
        resourceId: id,
        onSuccess: [{ op: 'setStatus', id, status: 'Ready' }],
        onFailure: [{ op: 'setStatus', id, status: 'CreateFailed' }],
      });
      return { WidgetId: id, JobId: jobId };
    },
  }),
  defineAction({
    name: 'GetWidget',
    mode: 'read',
    dryRun: true,
    params: { WidgetId: p.string({ required: true }) },
    authResources: (input) => [['widget', input.WidgetId]],
    handler: async (input, ctx) => {
      const w = await getResource<{ Name: string }>(ctx.db, 'nlb', 'widget', input.WidgetId, ctx.region.id, 'widget');
      return { WidgetId: w.id, Name: w.body.Name, Status: w.status };
    },
  }),
]);
