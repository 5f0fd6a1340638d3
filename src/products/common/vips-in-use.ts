/**
 * The VIPs already taken on this host, read from the store: what the VIP pool (vip-pool.ts)
 * must not hand out again. Shared by NLB and GWLB, whose load balancers bind on the same host.
 */
import { LOAD_BALANCER } from '../../domain/kinds.js';
import type { Db } from './resources.js';

/**
 * Every private IPv4 VIP held by any load balancer in the store (all regions, NLB and GWLB
 * alike): they all bind on this host, so an address is free only when nobody holds it.
 */
export async function vipsInUse(db: Db): Promise<Set<string>> {
  const rows = await db.selectFrom('resources').select(['body']).where('kind', '=', LOAD_BALANCER).execute();
  const taken = new Set<string>();
  for (const row of rows) {
    const body = JSON.parse(row.body) as { ZoneMappings?: Array<Record<string, unknown>> };
    for (const zone of body.ZoneMappings ?? []) {
      if (typeof zone.PrivateIPv4Address === 'string') taken.add(zone.PrivateIPv4Address);
      // An Internet NLB's public address is served on this host as well.
      if (typeof zone.PublicIPv4Address === 'string') taken.add(zone.PublicIPv4Address);
      // GWLB documents spell the same address `PrivateIpv4Address`.
      if (typeof zone.PrivateIpv4Address === 'string') taken.add(zone.PrivateIpv4Address);
      for (const address of (zone.LoadBalancerAddresses as Array<Record<string, unknown>> | undefined) ?? []) {
        if (typeof address.PrivateIPv4Address === 'string') taken.add(address.PrivateIPv4Address);
      }
    }
  }
  return taken;
}
