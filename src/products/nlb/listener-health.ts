/**
 * GetListenerHealthStatus: per server group of a listener, the backends that are not known
 * to be healthy. Health is what the data plane observed, never what the control plane
 * assumes: a backend no node has reported on is `Initial`, not healthy.
 *
 * Contract with the data plane (health checkers write, this module reads): one row in
 * `observations` per node and backend, keyed by `healthObservationKey()` —
 *
 *     object_id = `health:<serverGroupId>/<serverIp>:<port>`   (port as configured; 0 for any-port groups)
 *     state     = 'healthy' | 'unhealthy'
 *     reason    = for 'unhealthy', the cloud's ReasonCode: CONNECT_TIMEOUT, CONNECT_FAILED,
 *                 RECV_RESPONSE_TIMEOUT, CONNECT_INTERRUPT, HTTP_CODE_NOT_MATCH, HTTP_INVALID_HEADER
 *
 * Only live nodes count (heartbeat within `jobs.nodeTimeoutMs`, as for jobs). Each machine
 * probes from where it stands, and forwards by its own view, so the machines' views are
 * combined the way one load balancer would present them (see `combineVerdicts` in common/health-observations.ts): a backend is
 * Unhealthy when more than half of the machines with a verdict see it unhealthy — then most
 * of the fleet's traffic avoids it — and is not listed while most machines still send to it.
 * Each machine's own view is on the admin listener's `/nodes`.
 */
import { defineAction } from '../../gateway/action.js';
import { p } from '../../gateway/params/spec.js';
import { findResource, paginate } from '../common/resources.js';
import { requireListener } from './listeners.js';
import type { ServerDoc, ServerGroupDoc } from '../../domain/nlb-documents.js';
import { healthObservationKey, HEALTHY, UNHEALTHY } from '../../domain/observations.js';
import { latestHealth, type Observed } from '../common/health-observations.js';

interface NonNormalServer {
  ServerId: string;
  ServerIp: string;
  Port: number;
  Status: 'Initial' | 'Unhealthy' | 'Unused' | 'Unavailable';
  Reason?: { ReasonCode: string };
}

/** A server's health as the API words it, or undefined when it is healthy (and so not listed). */
export function classifyServer(
  server: Pick<ServerDoc, 'Weight'>,
  healthCheckEnabled: boolean,
  observed: Observed | undefined,
): Pick<NonNormalServer, 'Status' | 'Reason'> | undefined {
  if (!healthCheckEnabled) return { Status: 'Unavailable' };
  if (server.Weight === 0) return { Status: 'Unused' };
  if (!observed) return { Status: 'Initial' };
  if (observed.state === HEALTHY) return undefined;
  if (observed.state === UNHEALTHY) {
    return { Status: 'Unhealthy', ...(observed.reason ? { Reason: { ReasonCode: observed.reason } } : {}) };
  }
  // Any other state (e.g. a checker that has not decided yet) is not a verdict.
  return { Status: 'Initial' };
}

const getListenerHealthStatus = defineAction({
  name: 'GetListenerHealthStatus',
  mode: 'read',
  params: {
    ListenerId: p.string({ required: true, maxLength: 128 }),
    MaxResults: p.integer({ min: 1, max: 100, default: 20 }),
    NextToken: p.string({ maxLength: 256 }),
  },
  authResources: (input) => [['listener', input.ListenerId]],
  handler: async (input, ctx) => {
    const listener = await requireListener(ctx, input.ListenerId);
    const groupId = listener.body.ServerGroupId;
    const group = await findResource<ServerGroupDoc>(ctx.db, 'nlb', 'servergroup', groupId, ctx.region.id);
    // Servers on their way out no longer receive traffic; they are not the listener's concern.
    const servers = (group?.body.Servers ?? []).filter((s) => s.Status !== 'Removing');
    const hcEnabled = group?.body.HealthCheck.HealthCheckEnabled ?? false;
    const observed = await latestHealth(
      ctx,
      servers.map((s) => healthObservationKey(groupId, s.ServerIp, s.Port)),
    );
    const nonNormal: NonNormalServer[] = [];
    for (const server of servers) {
      const verdict = classifyServer(server, hcEnabled, observed.get(healthObservationKey(groupId, server.ServerIp, server.Port)));
      if (verdict) nonNormal.push({ ServerId: server.ServerId, ServerIp: server.ServerIp, Port: server.Port, ...verdict });
    }
    const entries = [
      {
        ListenerId: listener.id,
        ListenerPort: listener.body.ListenerPort,
        ListenerProtocol: listener.body.ListenerProtocol,
        ServerGroupInfos: [{ ServerGroupId: groupId, HeathCheckEnabled: hcEnabled, NonNormalServers: nonNormal }],
      },
    ];
    const { page, nextToken, totalCount } = paginate(entries, input.MaxResults, input.NextToken);
    return { ListenerHealthStatus: page, MaxResults: input.MaxResults, NextToken: nextToken, TotalCount: totalCount };
  },
});

export const listenerHealthActions = [getListenerHealthStatus];
