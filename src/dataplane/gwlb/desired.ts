/**
 * What the store says the GWLB data plane should run: every GWLB listener that ought to receive
 * GENEVE, with its load balancer's zone VIPs and its server group of appliances resolved.
 * Pure over the rows it reads, so the reconciler's diffing is testable without sockets.
 */
import type { Resource } from '../../domain/resource.js';
import type {
  GwlbHealthCheckDoc,
  GwlbListenerDoc,
  GwlbLoadBalancerDoc,
  GwlbServerDoc,
  GwlbServerGroupDoc,
} from '../../domain/gwlb-documents.js';
import type { HealthCheckDoc } from '../../domain/nlb-documents.js';
import { GWLB_LISTENER, GWLB_LOAD_BALANCER, GWLB_SERVER_SERVING_STATUSES } from '../../domain/status-machines.js';
import { gwlbScheduler, type GwlbSchedulerName } from '../../domain/schedulers.js';
import { DEFAULT_TCP_IDLE_MS } from './flow-table.js';

/** Listener statuses whose sockets should be open (the transitional ones finish when they are). */
const BOUND_LISTENER_STATUSES = GWLB_LISTENER.bound;
/** Load balancer statuses whose VIPs carry traffic (Inactive: listeners do not forward). */
const SERVING_LB_STATUSES = GWLB_LOAD_BALANCER.bound;

export interface DesiredAppliance {
  /** `<ip>:<port>`: the Maglev key and flow pin identity. */
  key: string;
  host: string;
  port: number;
}

export interface LeavingAppliance extends DesiredAppliance {
  /** Epoch ms after which its pinned flows must stop (the API's DrainDeadline), if known. */
  drainDeadline?: number;
}

export interface DesiredApplianceGroup {
  id: string;
  scheduler: GwlbSchedulerName;
  rebalance: boolean;
  /** Connection draining: milliseconds, or undefined when draining is off. */
  drainMs: number | undefined;
  healthCheck: HealthCheckDoc;
  /** Appliances that may take new flows. */
  servers: DesiredAppliance[];
  /** Appliances being removed (Removing / Draining): no new flows; pinned ones per §5.6. */
  leaving: LeavingAppliance[];
  /** Changes when anything the runtime group depends on changes. */
  fingerprint: string;
}

export interface DesiredGwlbListener {
  id: string;
  regionId: string;
  loadBalancerId: string;
  /** The zone VIPs GENEVE arrives on (UDP 6081). */
  vips: string[];
  tcpIdleMs: number;
  /** TrafficMode ByPass: packets go straight back to the endpoint. */
  bypass: boolean;
  group: DesiredApplianceGroup;
}

/** The rows the GWLB data plane is built from (the reconciler keeps them in a ResourceCache). */
export interface GwlbRows {
  listeners: ReadonlyArray<Resource<GwlbListenerDoc>>;
  loadBalancers: ReadonlyArray<Resource<GwlbLoadBalancerDoc>>;
  serverGroups: ReadonlyArray<Resource<GwlbServerGroupDoc>>;
}

export function gwlbDesiredFromRows({ listeners, loadBalancers: lbs, serverGroups: groups }: GwlbRows): DesiredGwlbListener[] {
  const lbById = new Map(lbs.map((lb) => [lb.id, lb]));
  const groupById = new Map(groups.map((g) => [g.id, g]));
  const out: DesiredGwlbListener[] = [];
  for (const listener of listeners) {
    if (!BOUND_LISTENER_STATUSES.has(listener.status)) continue;
    const lb = lbById.get(listener.body.LoadBalancerId);
    const group = groupById.get(listener.body.ServerGroupId);
    if (!lb || !group || !SERVING_LB_STATUSES.has(lb.status)) continue;
    const idle = Number(listener.body.TcpIdleTimeout);
    out.push({
      id: listener.id,
      regionId: listener.regionId,
      loadBalancerId: lb.id,
      vips: (lb.body.ZoneMappings ?? []).map((z) => z.PrivateIpv4Address).filter((v): v is string => Boolean(v)),
      tcpIdleMs: Number.isFinite(idle) && idle > 0 ? idle * 1000 : DEFAULT_TCP_IDLE_MS,
      bypass: (lb.body.TrafficMode ?? '').toLowerCase() === 'bypass',
      group: desiredGroup(group.id, group.body),
    });
  }
  return out;
}

/** The GWLB health check in the words the shared checker understands (NLB's HealthCheckDoc). */
export function healthCheckOf(c: GwlbHealthCheckDoc | undefined): HealthCheckDoc {
  return {
    HealthCheckEnabled: c?.HealthCheckEnabled ?? true,
    HealthCheckType: (c?.HealthCheckProtocol ?? 'TCP').toUpperCase() === 'HTTP' ? 'HTTP' : 'TCP',
    HealthCheckConnectPort: c?.HealthCheckConnectPort ?? 80,
    HealthCheckConnectTimeout: c?.HealthCheckConnectTimeout ?? 5,
    HealthCheckInterval: c?.HealthCheckInterval ?? 10,
    HealthyThreshold: c?.HealthyThreshold ?? 2,
    UnhealthyThreshold: c?.UnhealthyThreshold ?? 2,
    HealthCheckUrl: c?.HealthCheckPath,
    HealthCheckDomain: c?.HealthCheckDomain,
    HealthCheckHttpCode: c?.HealthCheckHttpCode ?? ['http_2xx'],
    HttpCheckMethod: 'GET',
  };
}

function appliance(s: GwlbServerDoc): DesiredAppliance {
  const host = s.ServerIp || s.ServerId;
  const port = Number(s.Port) || 6081;
  return { key: `${host}:${port}`, host, port };
}

function desiredGroup(id: string, g: GwlbServerGroupDoc): DesiredApplianceGroup {
  const servers: DesiredAppliance[] = [];
  const leaving: LeavingAppliance[] = [];
  for (const s of g.Servers ?? []) {
    if (GWLB_SERVER_SERVING_STATUSES.has(s.Status)) {
      servers.push(appliance(s));
    } else if (s.Status === 'Draining' || s.Status === 'Removing') {
      const a: LeavingAppliance = appliance(s);
      if (typeof s.DrainDeadline === 'number') a.drainDeadline = s.DrainDeadline;
      leaving.push(a);
    }
  }
  const scheduler = gwlbScheduler(g.Scheduler);
  const drain = g.ConnectionDrainConfig;
  const drainMs = drain?.ConnectionDrainEnabled ? Number(drain.ConnectionDrainTimeout ?? 300) * 1000 : undefined;
  const rebalance = (g.ServerFailoverMode ?? 'NoRebalance').toLowerCase() === 'rebalance';
  const healthCheck = healthCheckOf(g.HealthCheckConfig);
  return {
    id,
    scheduler,
    rebalance,
    drainMs,
    healthCheck,
    servers,
    leaving,
    fingerprint: JSON.stringify([scheduler, rebalance, drainMs, healthCheck, servers, leaving]),
  };
}
