/**
 * GetListenerHealthStatus: the health of every appliance behind a GWLB listener, as the data
 * plane observed it — never assumed. Observations are read exactly as for NLB
 * (nlb/listener-health.ts): one row per node and appliance under
 * `healthObservationKey(serverGroupId, serverIp, 6081)`, state `healthy` | `unhealthy` with
 * the cloud's ReasonCode; only live nodes count, the newest row wins.
 *
 * Unlike NLB, GWLB lists every appliance (healthy ones too). Paging applies to the appliances.
 */
import { defineAction } from '../../gateway/action.js';
import { p } from '../../gateway/params/spec.js';
import { findResource } from '../common/resources.js';
import { healthObservationKey, HEALTHY, UNHEALTHY } from '../../domain/observations.js';
import { latestHealth, type Observed } from '../common/health-observations.js';
import { currentServers, LISTENER_KIND, PRODUCT, requireListener, SERVER_GROUP_KIND } from './lookups.js';
import type { GwlbServerDoc, GwlbServerGroupDoc } from '../../domain/gwlb-documents.js';
import { pageOf, pagingParams } from './paging.js';

const FILTER_NAMES = ['Status', 'ReasonCode', 'ServerId', 'ServerIp'] as const;

interface ApplianceHealth {
  ServerId: string;
  ServerIp: string;
  Port: number;
  Status: 'Initial' | 'Healthy' | 'Unhealthy' | 'Unused' | 'Unavailable';
  Reason?: { ReasonCode: string };
}

/** One appliance's health as the API words it. */
function classify(
  server: GwlbServerDoc,
  checksEnabled: boolean,
  observed: Observed | undefined,
): Omit<ApplianceHealth, 'ServerId' | 'ServerIp' | 'Port'> {
  if (!checksEnabled) return { Status: 'Unavailable' };
  // A draining appliance takes no new flows: it is not in use, whatever its health.
  if (server.Status === 'Draining') return { Status: 'Unused' };
  // Not yet applied by the data plane (Adding), or not yet judged.
  if (server.Status !== 'Available' || !observed) return { Status: 'Initial' };
  if (observed.state === HEALTHY) return { Status: 'Healthy' };
  if (observed.state === UNHEALTHY) return { Status: 'Unhealthy', ...(observed.reason ? { Reason: { ReasonCode: observed.reason } } : {}) };
  return { Status: 'Initial' };
}

function filterValue(entry: ApplianceHealth, name: (typeof FILTER_NAMES)[number]): string | undefined {
  return name === 'ReasonCode' ? entry.Reason?.ReasonCode : entry[name];
}

const getListenerHealthStatus = defineAction({
  name: 'GetListenerHealthStatus',
  mode: 'read',
  params: {
    ListenerId: p.string({ required: true, maxLength: 128 }),
    Filter: p.list(
      p.object({
        Name: p.string({ required: true, enum: FILTER_NAMES, errorName: 'Filter.Name' }),
        Values: p.list(p.string({ maxLength: 128 }), { maxItems: 20, errorName: 'Filter.Values' }),
      }),
      { maxItems: 20, errorName: 'Filter' },
    ),
    ...pagingParams,
  },
  authResources: (input) => [[LISTENER_KIND, input.ListenerId]],
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const listener = await requireListener(ctx, input.ListenerId);
    const groupId = listener.body.ServerGroupId;
    const group = await findResource<GwlbServerGroupDoc>(ctx.db, PRODUCT, SERVER_GROUP_KIND, groupId, ctx.region.id);
    // Appliances on their way out take no traffic and are no longer the listener's concern.
    const servers = group ? currentServers(group.body, ctx.clock.now()).filter((s) => s.Status !== 'Removing') : [];
    const checksEnabled = group?.body.HealthCheckConfig.HealthCheckEnabled ?? false;
    const keyOf = (s: GwlbServerDoc) => healthObservationKey(groupId, s.ServerIp, s.Port);
    const observed = await latestHealth(ctx, servers.map(keyOf));

    const filters = (input.Filter ?? []).filter((f) => f.Values?.length);
    const entries = servers
      .map((s): ApplianceHealth => ({
        ServerId: s.ServerId,
        ServerIp: s.ServerIp,
        Port: s.Port,
        ...classify(s, checksEnabled, observed.get(keyOf(s))),
      }))
      .filter((e) => filters.every((f) => f.Values!.includes(filterValue(e, f.Name) ?? '')));
    const { page, ...paging } = pageOf(entries, input);
    return {
      ListenerHealthStatus: [
        { ListenerId: listener.id, ServerGroupInfos: [{ ServerGroupId: groupId, HealthCheckEnabled: checksEnabled, Servers: page }] },
      ],
      ...paging,
    };
  },
});

export const listenerHealthActions = [getListenerHealthStatus];
