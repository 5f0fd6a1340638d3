/**
 * Finding GWLB resources and refusing ones that are mid-change. Every family's module uses
 * these, so the 404 names (`ResourceNotFound.LoadBalancer`, `.Listener`, `.ServerGroup`) and
 * the `IncorrectStatus.*` rule live in one place.
 *
 * A resource in a transitional status (Provisioning, Configuring, Creating, Deleting) has a job
 * in flight whose effects will overwrite it; refusing further changes until it settles keeps
 * at most one job per resource, as the cloud does (clients such as Terraform retry).
 */
import type { ActionContext } from '../../gateway/action.js';
import { errors } from '../../gateway/errors.js';
import { getResource, listResources, type Db, type Resource, type WriteStamp } from '../common/resources.js';
import { vipsInUse } from '../common/vips-in-use.js';
import type { GwlbListenerDoc, GwlbLoadBalancerDoc, GwlbServerDoc, GwlbServerGroupDoc } from '../../domain/gwlb-documents.js';
import { GWLB, LISTENER, LOAD_BALANCER, SERVER_GROUP } from '../../domain/kinds.js';
import { GWLB_LISTENER, GWLB_LOAD_BALANCER, GWLB_SERVER_GROUP } from '../../domain/status-machines.js';

export const PRODUCT = GWLB;
export const LB_KIND = LOAD_BALANCER;
export const LISTENER_KIND = LISTENER;
export const SERVER_GROUP_KIND = SERVER_GROUP;

export type LoadBalancerRow = Resource<GwlbLoadBalancerDoc>;
export type ListenerRow = Resource<GwlbListenerDoc>;
export type ServerGroupRow = Resource<GwlbServerGroupDoc>;

type Lookup = Pick<ActionContext, 'db' | 'region'>;

export function requireLoadBalancer(ctx: Lookup, id: string): Promise<LoadBalancerRow> {
  return getResource<GwlbLoadBalancerDoc>(ctx.db, PRODUCT, LB_KIND, id, ctx.region.id, 'LoadBalancer');
}

export function requireListener(ctx: Lookup, id: string): Promise<ListenerRow> {
  return getResource<GwlbListenerDoc>(ctx.db, PRODUCT, LISTENER_KIND, id, ctx.region.id, 'Listener');
}

export function requireServerGroup(ctx: Lookup, id: string): Promise<ServerGroupRow> {
  return getResource<GwlbServerGroupDoc>(ctx.db, PRODUCT, SERVER_GROUP_KIND, id, ctx.region.id, 'ServerGroup');
}

/** The statuses each family rests in between changes. */
const SETTLED: Record<'LoadBalancer' | 'Listener' | 'ServerGroup', ReadonlySet<string>> = {
  LoadBalancer: GWLB_LOAD_BALANCER.settled,
  Listener: GWLB_LISTENER.settled,
  ServerGroup: GWLB_SERVER_GROUP.settled,
};

/** `IncorrectStatus.<kind>` unless the resource is settled. */
export function requireSettled(row: Resource<unknown>, kind: keyof typeof SETTLED): void {
  if (!SETTLED[kind].has(row.status)) throw errors.incorrectStatus(kind, row.id);
}

/** Every GWLB listener of the region, optionally only those matching `keep`. */
export async function listListeners(
  db: Db,
  regionId: string,
  keep: (listener: ListenerRow) => boolean = () => true,
): Promise<ListenerRow[]> {
  const rows = await listResources<GwlbListenerDoc>(db, { product: PRODUCT, kind: LISTENER_KIND, regionId });
  return rows.filter(keep);
}

export function stampOf(ctx: Pick<ActionContext, 'clock' | 'revision'>): WriteStamp {
  return { now: ctx.clock.now(), revision: ctx.revision };
}

/**
 * The group's servers as of `now`: a Draining server whose deadline has passed is gone, even
 * if no write has dropped it from the document yet.
 */
export function currentServers(doc: GwlbServerGroupDoc, now: number): GwlbServerDoc[] {
  return doc.Servers.filter((s) => !(s.Status === 'Draining' && s.DrainDeadline !== undefined && s.DrainDeadline <= now));
}

/**
 * Addresses a new GWLB VIP must not take: every load balancer's VIP (NLB and GWLB share the
 * vSwitch pools and this host) and every appliance address, so an appliance is never its own
 * load balancer.
 */
export async function addressesTaken(db: Db): Promise<Set<string>> {
  const taken = await vipsInUse(db);
  const groups = await listResources<GwlbServerGroupDoc>(db, { product: PRODUCT, kind: SERVER_GROUP_KIND });
  for (const group of groups) for (const server of group.body.Servers) taken.add(server.ServerIp);
  return taken;
}

/** Defaults for fields an older document may lack. */
export const DEFAULT_TCP_IDLE_TIMEOUT = 350;
export const DEFAULT_TRAFFIC_MODE = 'LoadBalance';
export const DEFAULT_FAILOVER_MODE = 'NoRebalance';
