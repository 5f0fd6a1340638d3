import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, GWLB, callApi, callError, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
});

test('DescribeRegions answers through openapi-core', async () => {
  const body = await callApi(server, NLB, 'DescribeRegions', {});
  assert.equal(body.Regions[0].RegionId, 'cn-hangzhou');
  const g = await callApi(server, GWLB, 'DescribeZones', {}, { placement: 'query' });
  assert.deepEqual(
    g.Zones.map((z: any) => z.ZoneId),
    ['cn-hangzhou-a', 'cn-hangzhou-b'],
  );
  const e = await callError(callApi(server, NLB, 'DescribeZones', { RegionId: 'us-east-1' }));
  assert.equal(e.code, 'UnauthorizedRegion');
});
