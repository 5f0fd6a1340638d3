/**
 * What the store says the NLB data plane should run: every listener that ought to be bound,
 * with its load balancer's VIPs and its server group resolved. Pure over the rows it is given,
 * so the reconciler's diffing is testable without sockets.
 */
import type { Resource } from '../../domain/resource.js';
import type { ListenerDoc, LoadBalancerDoc, ServerGroupDoc, HealthCheckDoc } from '../../domain/nlb-documents.js';
import { NLB_LISTENER, NLB_LOAD_BALANCER } from '../../domain/status-machines.js';

/** Listener statuses whose sockets should be open (the transitional ones finish when they are). */
const BOUND_LISTENER_STATUSES = NLB_LISTENER.bound;
/** Load balancer statuses whose VIPs carry traffic. */
const SERVING_LB_STATUSES = NLB_LOAD_BALANCER.bound;

export interface DesiredServer {
  key: string; // `<ip>:<port>` as configured
  host: string;
  port: number;
  weight: number;
}

export interface DesiredServerGroup {
  id: string;
  scheduler: string;
  anyPort: boolean;
  drainMs: number | undefined; // undefined: draining off
  /** PreserveClientIpEnabled: the kernel engine DNATs only; false: full NAT. */
  preserveClientIp: boolean;
  healthCheck: HealthCheckDoc;
  servers: DesiredServer[];
  /** Changes when anything the pool depends on changes. */
  fingerprint: string;
}

export interface DesiredListener {
  id: string;
  regionId: string;
  loadBalancerId: string;
  protocol: 'TCP' | 'UDP' | 'TCPSSL';
  vips: string[];
  ports: number[];
  keepDestinationPort: boolean;
  doc: ListenerDoc;
  vpcId: string;
  serverGroup: DesiredServerGroup;
  /**
   * Changes whenever anything this listener's runtime is built from changes: its row, its load
   * balancer's, its server group's, and (TCPSSL) its custom security policy's.
   */
  version: string;
  /** Revision of the listener's custom security policy row (0: a system policy or none). */
  securityPolicyRevision: number;
}

/** The rows the NLB data plane is built from. */
export interface NlbRows {
  listeners: ReadonlyArray<Resource<ListenerDoc>>;
  loadBalancers: ReadonlyArray<Resource<LoadBalancerDoc>>;
  serverGroups: ReadonlyArray<Resource<ServerGroupDoc>>;
  /** Custom security policies (system ones are not rows). */
  securityPolicies: ReadonlyArray<Resource<unknown>>;
}

/**
 * `previous` (the last result, by listener id) lets an unchanged listener — same version — be
 * reused as is, so a revision costs a lookup per listener, not a rebuild.
 */
export function desiredFromRows(rows: NlbRows, previous?: ReadonlyMap<string, DesiredListener>): DesiredListener[] {
  const lbById = new Map(rows.loadBalancers.map((lb) => [lb.id, lb]));
  const groupById = new Map(rows.serverGroups.map((g) => [g.id, g]));
  const policyRevision = new Map(rows.securityPolicies.map((p) => [p.id, p.revision]));
  // One desired group per server group, however many listeners share it.
  const desiredGroups = new Map<string, DesiredServerGroup>();
  const listeners = rows.listeners;
  const out: DesiredListener[] = [];
  for (const listener of listeners) {
    if (!BOUND_LISTENER_STATUSES.has(listener.status) || listener.body.StoppedWhileConfiguring) continue;
    const lb = lbById.get(listener.body.LoadBalancerId);
    const group = groupById.get(listener.body.ServerGroupId);
    if (!lb || !group || !SERVING_LB_STATUSES.has(lb.status)) continue;
    const doc = listener.body;
    const securityPolicyRevision = doc.ListenerProtocol === 'TCPSSL' ? (policyRevision.get(doc.SecurityPolicyId ?? '') ?? 0) : 0;
    const version = `${listener.revision}/${lb.revision}/${group.revision}/${securityPolicyRevision}`;
    const unchanged = previous?.get(listener.id);
    if (unchanged && unchanged.version === version) {
      out.push(unchanged);
      continue;
    }
    const ranged = doc.ListenerPort === 0;
    const ports: number[] = [];
    if (ranged) for (let p = Number(doc.StartPort); p <= Number(doc.EndPort); p++) ports.push(p);
    else ports.push(doc.ListenerPort);
    let serverGroup = desiredGroups.get(group.id);
    if (!serverGroup) {
      serverGroup = desiredGroup(group.id, group.body);
      desiredGroups.set(group.id, serverGroup);
    }
    out.push({
      id: listener.id,
      regionId: listener.regionId,
      loadBalancerId: lb.id,
      protocol: doc.ListenerProtocol as DesiredListener['protocol'],
      // An Internet NLB is served on each zone's public address too.
      vips: lb.body.ZoneMappings.flatMap((z) => [z.PrivateIPv4Address, z.PublicIPv4Address]).filter((a): a is string => !!a),
      ports,
      keepDestinationPort: ranged || group.body.AnyPortEnabled,
      doc,
      vpcId: lb.body.VpcId,
      serverGroup,
      version,
      securityPolicyRevision,
    });
  }
  return out;
}

function desiredGroup(id: string, g: ServerGroupDoc): DesiredServerGroup {
  const servers = g.Servers.filter((s) => s.Status !== 'Removing').map((s) => ({
    key: `${s.ServerIp}:${s.Port}`,
    host: s.ServerIp,
    port: s.Port,
    weight: s.Weight,
  }));
  const drainMs = g.ConnectionDrainEnabled ? g.ConnectionDrainTimeout * 1000 : undefined;
  return {
    id,
    scheduler: g.Scheduler,
    anyPort: g.AnyPortEnabled,
    drainMs,
    preserveClientIp: g.PreserveClientIpEnabled !== false,
    healthCheck: g.HealthCheck,
    servers,
    fingerprint: JSON.stringify([g.Scheduler, g.AnyPortEnabled, drainMs, g.PreserveClientIpEnabled, g.HealthCheck, servers]),
  };
}
