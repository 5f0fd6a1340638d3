/** Which configured region a call is for: RegionId, else the endpoint host, else the first region. */
import type { Config, RegionConfig } from '../config/config.js';
import { ApiError } from './errors.js';

export function resolveRegion(
  config: Config,
  hostPrefix: string,
  regionId: string | undefined,
  host: string | undefined,
): RegionConfig {
  if (regionId !== undefined && regionId !== '') {
    const region = config.regions.find((r) => r.id === regionId);
    if (!region) {
      throw new ApiError('UnauthorizedRegion', `The specified region of ${regionId} is not authorized.`, 403);
    }
    return region;
  }
  // `nlb.cn-hangzhou.aliyuncs.com` (the SDK's default endpoint, e.g. behind a DNS override).
  const m = host ? new RegExp(`^${hostPrefix}(?:-vpc)?\\.([a-z0-9-]+)\\.aliyuncs\\.com(?::\\d+)?$`).exec(host) : null;
  if (m) {
    const region = config.regions.find((r) => r.id === m[1]);
    if (region) return region;
  }
  return config.regions[0];
}

export function hostIdFor(hostPrefix: string, regionId: string): string {
  return `${hostPrefix}.${regionId}.aliyuncs.com`;
}
