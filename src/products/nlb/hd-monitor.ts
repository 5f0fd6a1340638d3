/**
 * DescribeHdMonitorRegionConfig / SetHdMonitorRegionConfig / DeleteHdMonitorRegionConfig (not in
 * the API reference, but called by Terraform's `alicloud_nlb_hd_monitor_region_config` on
 * destroy): which Simple Log Service project
 * and MetricStore receive a region's fine-grained (second-level) listener metrics. OpenSLB
 * keeps the setting per region in the store's `meta` table and returns it; nothing is shipped
 * to SLS (local metrics are on the Prometheus endpoint).
 */
import { defineAction } from '../../gateway/action.js';
import { ApiError } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { listResources, type Db } from '../common/resources.js';

export interface HdMonitorConfig {
  LogProject: string;
  MetricStore: string;
}

const metaKey = (regionId: string) => `nlb:hd-monitor:${regionId}`;

/** The region's setting, if SetHdMonitorRegionConfig was called (listeners need it for SecSensorEnabled). */
export async function getHdMonitorConfig(db: Db, regionId: string): Promise<HdMonitorConfig | undefined> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', metaKey(regionId)).executeTakeFirst();
  return row ? (JSON.parse(row.value) as HdMonitorConfig) : undefined;
}

// SLS naming rules: projects are lower-case; MetricStore names (logstore rules) may also hold
// `_`, and the API's own example (`hdmonitor-cn-hangzhou-metricStore-1`) has upper case too.
const LOG_PROJECT = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const METRIC_STORE = /^[A-Za-z0-9][A-Za-z0-9_-]{1,61}[A-Za-z0-9]$/;

async function refuseWhileSending(db: Db, regionId: string, code: string, status: number): Promise<void> {
  const listeners = await listResources<{ SecSensorEnabled?: boolean }>(db, { product: 'nlb', kind: 'listener', regionId });
  const sending = listeners.find((l) => l.body.SecSensorEnabled === true);
  if (sending) {
    throw new ApiError(
      code,
      `Listener ${sending.id} has SecSensorEnabled; disable fine-grained monitoring on every listener first.`,
      status,
    );
  }
}

export const hdMonitorActions = [
  defineAction({
    name: 'DescribeHdMonitorRegionConfig',
    mode: 'read',
    params: {},
    handler: async (_input, ctx) => {
      const config = await getHdMonitorConfig(ctx.db, ctx.region.id);
      if (!config) {
        throw new ApiError(
          'DescribeHDMonitor.Fail',
          `Fine-grained monitoring is not configured in region ${ctx.region.id}; call SetHdMonitorRegionConfig first.`,
          404,
        );
      }
      return { RegionId: ctx.region.id, LogProject: config.LogProject, MetricStore: config.MetricStore };
    },
  }),
  defineAction({
    name: 'SetHdMonitorRegionConfig',
    mode: 'write',
    params: {
      LogProject: p.string({ required: true, pattern: LOG_PROJECT }),
      MetricStore: p.string({ required: true, pattern: METRIC_STORE }),
    },
    handler: async (input, ctx) => {
      const current = await getHdMonitorConfig(ctx.db, ctx.region.id);
      const changing = !current || current.LogProject !== input.LogProject || current.MetricStore !== input.MetricStore;
      // Listeners already sending fine-grained metrics must stop before the target moves.
      if (changing) await refuseWhileSending(ctx.db, ctx.region.id, 'EnableHDMonitor.Fail', 404);
      const value = JSON.stringify({ LogProject: input.LogProject, MetricStore: input.MetricStore });
      await ctx.db
        .insertInto('meta')
        .values({ key: metaKey(ctx.region.id), value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
      return { RegionId: ctx.region.id, LogProject: input.LogProject, MetricStore: input.MetricStore };
    },
  }),
  defineAction({
    name: 'DeleteHdMonitorRegionConfig',
    mode: 'write',
    params: {},
    handler: async (_input, ctx) => {
      const current = await getHdMonitorConfig(ctx.db, ctx.region.id);
      if (!current) {
        // The code Terraform's provider takes for "already gone".
        throw new ApiError(
          'ResourceNotFound.RegionHdMonitorConfig',
          `The specified resource of RegionHdMonitorConfig [${ctx.region.id}] is not found.`,
          404,
        );
      }
      await refuseWhileSending(ctx.db, ctx.region.id, 'DeleteHDMonitor.Fail', 400);
      await ctx.db.deleteFrom('meta').where('key', '=', metaKey(ctx.region.id)).execute();
      return { RegionId: ctx.region.id };
    },
  }),
];
