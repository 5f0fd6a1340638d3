/**
 * Which configured region a call is for: RegionId, else the region the endpoint host names,
 * else the first region. A host that names a region (`nlb.<region>.aliyuncs.com`, as the SDK
 * builds it) must name a configured one, and the same one as RegionId: answering for another
 * region than the caller addressed would act on resources it did not mean.
 */
import type { Config, RegionConfig } from '../config/config.js';
import { ApiError } from './errors.js';

export function resolveRegion(config: Config, hostPrefix: string, regionId: string | undefined, host: string | undefined): RegionConfig {
  const hostRegionId = regionInHost(hostPrefix, host);
  const hostRegion = hostRegionId === undefined ? undefined : findRegion(config, hostRegionId);
  if (regionId !== undefined && regionId !== '') {
    const region = findRegion(config, regionId);
    if (hostRegion && hostRegion !== region) {
      throw new ApiError(
        'InvalidRegionId.Mismatch',
        `The RegionId ${regionId} does not match the region ${hostRegion.id} of the endpoint.`,
        400,
      );
    }
    return region;
  }
  return hostRegion ?? config.regions[0];
}

/** The region of `<prefix>[-vpc].<region>.aliyuncs.com[:port]`, if the host has that form. */
function regionInHost(hostPrefix: string, host: string | undefined): string | undefined {
  if (!host) return undefined;
  const m = new RegExp(`^${hostPrefix}(?:-vpc)?\\.([a-z0-9-]+)\\.aliyuncs\\.com(?::\\d+)?$`, 'i').exec(host);
  return m ? m[1].toLowerCase() : undefined;
}

function findRegion(config: Config, regionId: string): RegionConfig {
  const region = config.regions.find((r) => r.id === regionId);
  if (!region) throw new ApiError('UnauthorizedRegion', `The specified region of ${regionId} is not authorized.`, 403);
  return region;
}

export function hostIdFor(hostPrefix: string, regionId: string): string {
  return `${hostPrefix}.${regionId}.aliyuncs.com`;
}
