/**
 * Public addresses of Internet NLBs. In the cloud each zone of an Internet NLB has an EIP: the
 * one the client names by AllocationId, or one the cloud allocates. Here the address comes from
 * the region's `publicIpv4Pool` (a loopback range by default), the AllocationId is the client's
 * or a generated `eip-…`, and the data plane serves the listeners on the address as on the VIP,
 * so a client can really connect to `PublicIPv4Address`.
 */
import { DEFAULT_PUBLIC_IPV4_POOL, type RegionConfig } from '../../config/config.js';
import { ApiError } from '../../gateway/errors.js';
import { newResourceId } from '../../util/ids.js';
import type { ZoneMappingDoc } from '../../domain/nlb-documents.js';
import { chooseVip } from '../common/vip-pool.js';

/**
 * Gives each zone without one a public address and an AllocationId (`allocationIds` by zone:
 * the EIPs the client named). `taken` (every VIP and public address in use: pools may overlap)
 * grows with every address handed out.
 */
export function withPublicAddresses(
  region: RegionConfig,
  zones: readonly ZoneMappingDoc[],
  taken: Set<string>,
  allocationIds: ReadonlyMap<string, string | undefined> = new Map(),
): ZoneMappingDoc[] {
  const pool = region.publicIpv4Pool ?? DEFAULT_PUBLIC_IPV4_POOL;
  return zones.map((zone) => {
    const named = allocationIds.get(zone.ZoneId);
    const allocationId = named ?? zone.AllocationId ?? newResourceId('eip');
    const eipType = zone.EipType ?? 'Common';
    if (zone.PublicIPv4Address !== undefined) return { ...zone, AllocationId: allocationId, EipType: eipType };
    const choice = chooseVip(pool, taken);
    if (!choice.ok) {
      throw new ApiError(
        'ResourceNotEnough.PublicIPv4Address',
        `No public IPv4 address is left in ${pool} (region ${region.id}, config publicIpv4Pool).`,
      );
    }
    taken.add(choice.address);
    return { ...zone, AllocationId: allocationId, EipType: eipType, PublicIPv4Address: choice.address };
  });
}

/** An Intranet NLB's zones: the EIPs are released. */
export function withoutPublicAddresses(zones: readonly ZoneMappingDoc[]): ZoneMappingDoc[] {
  return zones.map(({ AllocationId: _a, EipType: _e, PublicIPv4Address: _p, ...zone }) => zone);
}
