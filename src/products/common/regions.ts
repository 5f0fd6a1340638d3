/** DescribeRegions / DescribeZones, answered from the configured regions; shared by NLB and GWLB. */
import { localName } from '../../config/config.js';
import { defineAction } from '../../gateway/action.js';
import { errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';

const LANGUAGES = ['zh-CN', 'en-US', 'ja'] as const;

const language = p.string({ enum: LANGUAGES, default: 'en-US', errorName: 'AcceptLanguage' });

export function regionActions(hostPrefix: string) {
  const serviceCode = p.string({ enum: [hostPrefix], errorName: 'ServiceCode' });
  return [
    defineAction({
      name: 'DescribeRegions',
      mode: 'read',
      global: true,
      clientToken: true,
      params: { AcceptLanguage: language, ServiceCode: serviceCode },
      handler: async (input, ctx) => ({
        Regions: ctx.config.regions.map((region) => ({
          RegionId: region.id,
          LocalName: localName(region.localName, input.AcceptLanguage),
          RegionEndpoint: `${hostPrefix}.${region.id}.aliyuncs.com`,
        })),
      }),
    }),
    defineAction({
      name: 'DescribeZones',
      mode: 'read',
      clientToken: true,
      params: { AcceptLanguage: language, ServiceCode: serviceCode },
      handler: async (input, ctx) => {
        if (ctx.region.zones.length === 0) throw errors.notFound('Zone');
        return {
          Zones: ctx.region.zones.map((zone) => ({
            ZoneId: zone.id,
            LocalName: localName(zone.localName, input.AcceptLanguage),
          })),
        };
      },
    }),
  ];
}
