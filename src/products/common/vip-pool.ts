/**
 * Choosing a zone's vSwitch and VIP from the configured network. Pure: the caller passes the
 * region's config and the addresses already taken. Every NLB gets its own address per zone,
 * so two NLBs can both listen on port 80.
 */
import type { RegionConfig, VSwitchConfig, VpcConfig } from '../../config/config.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { cidrContains, cidrSize, formatIpv4, parseCidr, parseIpv4 } from '../../util/ipv4.js';

export type VipChoice =
  | { ok: true; address: string }
  /** NotInPool: the requested address lies outside the pool (or is its network/broadcast address). */
  | { ok: false; reason: 'Malformed' | 'NotInPool' | 'InUse' | 'Exhausted' };

/**
 * The requested address when it is in the pool and free; otherwise the lowest free address.
 * The pool's network and broadcast addresses are never handed out, so /31 and /32 pools
 * have nothing to give.
 */
export function chooseVip(pool: string, taken: ReadonlySet<string>, requested?: string): VipChoice {
  const cidr = parseCidr(pool);
  if (!cidr) throw new Error(`vSwitch VIP pool ${pool} is not a CIDR block`); // config is validated at load
  const first = cidr.base + 1;
  const last = cidr.base + cidrSize(cidr) - 2;

  if (requested !== undefined) {
    const ip = parseIpv4(requested);
    if (ip === undefined) return { ok: false, reason: 'Malformed' };
    if (!cidrContains(cidr, ip) || ip < first || ip > last) return { ok: false, reason: 'NotInPool' };
    const address = formatIpv4(ip);
    return taken.has(address) ? { ok: false, reason: 'InUse' } : { ok: true, address };
  }

  // Scans at most |taken| + 1 addresses, so even a /8 pool is cheap.
  for (let ip = first; ip <= last; ip++) {
    const address = formatIpv4(ip);
    if (!taken.has(address)) return { ok: true, address };
  }
  return { ok: false, reason: 'Exhausted' };
}

// --- zone mappings → vSwitches → VIPs ---------------------------------------------------

export interface ZoneRequest {
  ZoneId: string;
  VSwitchId: string;
  PrivateIPv4Address?: string;
}

export interface PlannedZone {
  ZoneId: string;
  VSwitchId: string;
  PrivateIPv4Address: string;
}

/** The VPC of the NLB, or 404 `ResourceNotFound.Vpc`. */
export function findVpc(region: RegionConfig, vpcId: string): VpcConfig {
  const vpc = region.vpcs.find((v) => v.id === vpcId);
  if (!vpc) throw new ApiError('ResourceNotFound.Vpc', `The specified resource of Vpc [${vpcId}] is not found.`, 404);
  return vpc;
}

/**
 * Checks one zone mapping against the configured network: the zone must be one of the
 * region's, the vSwitch must exist, belong to the NLB's VPC and sit in that zone.
 */
export function findZoneVSwitch(region: RegionConfig, vpcId: string, zone: ZoneRequest): VSwitchConfig {
  if (!region.zones.some((z) => z.id === zone.ZoneId)) {
    throw new ApiError('UnauthorizedZone', `The specified zone of ${zone.ZoneId} is not authorized.`, 403);
  }
  const owner = region.vpcs.find((v) => v.vSwitches.some((s) => s.id === zone.VSwitchId));
  const vSwitch = owner?.vSwitches.find((s) => s.id === zone.VSwitchId);
  if (!owner || !vSwitch) {
    throw new ApiError('ResourceNotFound.VSwitch', `The specified resource of vSwitch [${zone.VSwitchId}] is not found.`, 404);
  }
  if (owner.id !== vpcId) {
    throw new ApiError('Mismatch.VpcId', `The VpcId is mismatched for ${vpcId} and ${zone.VSwitchId}.`);
  }
  if (vSwitch.zoneId !== zone.ZoneId) {
    throw new ApiError('Mismatch.ZoneIdAndVswitchId', `The ZoneIdAndVswitchId is mismatched for ${zone.ZoneId} and ${zone.VSwitchId}.`);
  }
  return vSwitch;
}

/** One zone per entry, as the cloud requires: a repeated zone is `OperationFailed.DuplicateZones.` (sic). */
export function rejectDuplicateZones(zones: readonly ZoneRequest[]): void {
  const seen = new Set<string>();
  for (const zone of zones) {
    if (seen.has(zone.ZoneId)) {
      throw new ApiError('OperationFailed.DuplicateZones.', 'The operation failed because of Can not Specify duplicate zones.');
    }
    seen.add(zone.ZoneId);
  }
}

/** A region with two or more zones needs an NLB in at least two of them. */
export function requireEnoughZones(region: RegionConfig, count: number): void {
  if (region.zones.length >= 2 && count < 2) {
    throw new ApiError(
      'InvalidZones',
      'The current zone list is illegal. Specify at least two zones in a region that has two or more zones.',
    );
  }
}

/** Validates each mapping and gives it a VIP; `taken` grows with every address handed out. */
export function planZones(region: RegionConfig, vpcId: string, zones: readonly ZoneRequest[], taken: Set<string>): PlannedZone[] {
  return zones.map((zone) => {
    const vSwitch = findZoneVSwitch(region, vpcId, zone);
    const choice = chooseVip(vSwitch.vipPool, taken, zone.PrivateIPv4Address);
    if (!choice.ok) throw vipError(choice.reason, zone, vSwitch);
    taken.add(choice.address);
    return { ZoneId: zone.ZoneId, VSwitchId: zone.VSwitchId, PrivateIPv4Address: choice.address };
  });
}

function vipError(reason: 'Malformed' | 'NotInPool' | 'InUse' | 'Exhausted', zone: ZoneRequest, vSwitch: VSwitchConfig): ApiError {
  switch (reason) {
    case 'Malformed':
      return errors.illegalParam('PrivateIPv4Address', `${zone.PrivateIPv4Address} is not an IPv4 address.`);
    case 'NotInPool':
      return errors.illegalParam(
        'PrivateIPv4Address',
        `${zone.PrivateIPv4Address} is not an assignable address of vSwitch ${vSwitch.id} (${vSwitch.vipPool}).`,
      );
    case 'InUse':
      return new ApiError('ResourceInUse.IP', `The specified resource of IP [${zone.PrivateIPv4Address}] is in use.`);
    case 'Exhausted':
      return new ApiError('ResourceNotEnough.VSwitchIp', `The specified resource of VSwitchIp [${vSwitch.id}] is not enough.`);
  }
}
