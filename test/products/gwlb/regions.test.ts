/** GWLB DescribeRegions and DescribeZones, answered from the configured regions. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../support/server.js';
import { failure, gwlb } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({
    configure: (c) => {
      c.regions.push({
        id: 'eu-central-1',
        localName: { 'en-US': 'Germany (Frankfurt)', 'zh-CN': '德国（法兰克福）', ja: 'ドイツ (フランクフルト)' },
        zones: [
          { id: 'eu-central-1a', localName: { 'en-US': 'Frankfurt Zone A', 'zh-CN': '法兰克福 可用区A', ja: 'フランクフルト ゾーンA' } },
        ],
        vpcs: [],
      });
      // A region configured without zones (possible only in code, not in a config file).
      c.regions.push({ id: 'ap-empty-1', localName: { 'en-US': 'Nowhere' }, zones: [], vpcs: [] });
    },
  });
});
after(() => server?.stop());

test('DescribeRegions lists every configured region with its GWLB endpoint, in the asked language', async () => {
  const en = await gwlb(server, 'DescribeRegions');
  assert.deepEqual(en.Regions, [
    { RegionId: 'cn-hangzhou', LocalName: 'China (Hangzhou)', RegionEndpoint: 'gwlb.cn-hangzhou.aliyuncs.com' },
    { RegionId: 'eu-central-1', LocalName: 'Germany (Frankfurt)', RegionEndpoint: 'gwlb.eu-central-1.aliyuncs.com' },
    { RegionId: 'ap-empty-1', LocalName: 'Nowhere', RegionEndpoint: 'gwlb.ap-empty-1.aliyuncs.com' },
  ]);
  assert.match(en.RequestId, /^[0-9A-F-]{36}$/);
  const zh = await gwlb(server, 'DescribeRegions', { AcceptLanguage: 'zh-CN' });
  assert.equal(zh.Regions[0].LocalName, '华东1（杭州）');
  // A language a region has no name in falls back to English.
  assert.equal(zh.Regions[2].LocalName, 'Nowhere');
  assert.equal((await gwlb(server, 'DescribeRegions', { AcceptLanguage: 'ja' })).Regions[1].LocalName, 'ドイツ (フランクフルト)');
  // DescribeRegions is not bound to one region: any RegionId still lists them all.
  assert.equal((await gwlb(server, 'DescribeRegions', { RegionId: 'eu-central-1' })).Regions.length, 3);
});

test('DescribeZones lists the zones of the region the call is for', async () => {
  const hz = await gwlb(server, 'DescribeZones');
  assert.deepEqual(hz.Zones, [
    { ZoneId: 'cn-hangzhou-a', LocalName: 'Hangzhou Zone A' },
    { ZoneId: 'cn-hangzhou-b', LocalName: 'Hangzhou Zone B' },
  ]);
  const fra = await gwlb(server, 'DescribeZones', { RegionId: 'eu-central-1', AcceptLanguage: 'zh-CN' });
  assert.deepEqual(fra.Zones, [{ ZoneId: 'eu-central-1a', LocalName: '法兰克福 可用区A' }]);
});

test('errors: bad language, unknown region, a region without zones', async () => {
  for (const action of ['DescribeRegions', 'DescribeZones']) {
    const e = await failure(server, action, { AcceptLanguage: 'fr-FR' });
    assert.deepEqual([e.code, e.status], ['IllegalParam.AcceptLanguage', 400], action);
  }
  const unknown = await failure(server, 'DescribeZones', { RegionId: 'us-nowhere-9' });
  assert.deepEqual([unknown.code, unknown.status], ['UnauthorizedRegion', 403]);
  const empty = await failure(server, 'DescribeZones', { RegionId: 'ap-empty-1' });
  assert.deepEqual([empty.code, empty.status], ['ResourceNotFound.Zone', 404]);
});
