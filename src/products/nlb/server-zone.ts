/**
 * The zone of a backend, as ListServerGroupServers reports it (`ZoneId`): the zone of the
 * vSwitch whose CIDR (config `cidr`, default its `vipPool`) holds the server's address —
 * a vSwitch of the group's VPC first, then any of the region. None when no vSwitch holds it.
 */
import type { RegionConfig } from '../../config/config.js';
import { cidrContains, parseCidr, parseIpv4 } from '../../util/ipv4.js';

export function zoneOfAddress(region: RegionConfig, vpcId: string, address: string): string | undefined {
  const ip = parseIpv4(address);
  if (ip === undefined) return undefined;
  const ordered = [...region.vpcs.filter((v) => v.id === vpcId), ...region.vpcs.filter((v) => v.id !== vpcId)];
  for (const vpc of ordered) {
    for (const vSwitch of vpc.vSwitches) {
      const cidr = parseCidr(vSwitch.cidr ?? vSwitch.vipPool);
      if (cidr && cidrContains(cidr, ip)) return vSwitch.zoneId;
    }
  }
  return undefined;
}
