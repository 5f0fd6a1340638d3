/**
 * Every official client signs its own way; each must be answered, and each kind of forged or
 * stale request must be refused with its own code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import openApiClient from '@alicloud/openapi-client';
import RPCClient from '@alicloud/pop-core';
import * as $tea from '@alicloud/tea-util';
import {
  NLB,
  GWLB,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
  callApi,
  callError,
  startTestServer,
  type TestServer,
} from '../support/server.js';
import { replay, startRecorder } from '../support/recorder.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
});

const endpoint = () => `${server.host}:${server.port}`;

function legacyClient(signatureAlgorithm?: string, secret = TEST_ACCESS_KEY_SECRET) {
  const Client = openApiClient.default;
  return new Client(
    new openApiClient.Config({
      accessKeyId: TEST_ACCESS_KEY_ID,
      accessKeySecret: secret,
      endpoint: endpoint(),
      protocol: 'http',
      ...(signatureAlgorithm ? { signatureAlgorithm } : {}),
    }),
  );
}

async function legacyDescribeRegions(signatureAlgorithm?: string, secret?: string) {
  const client = legacyClient(signatureAlgorithm, secret);
  const result = await client.callApi(
    new openApiClient.Params({
      action: 'DescribeRegions',
      version: NLB,
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    }),
    new openApiClient.OpenApiRequest({ query: { AcceptLanguage: 'en-US' }, body: { ClientToken: 'tok-regions' } }),
    new $tea.RuntimeOptions({}),
  );
  return result.body as any;
}

function popClient(secret = TEST_ACCESS_KEY_SECRET) {
  return new RPCClient({
    accessKeyId: TEST_ACCESS_KEY_ID,
    accessKeySecret: secret,
    endpoint: `http://${endpoint()}`,
    apiVersion: NLB,
  });
}

describe('DescribeRegions through every official client', () => {
  test('openapi-core, ACS3-HMAC-SHA256 (the default)', async () => {
    const body = await callApi(server, NLB, 'DescribeRegions', { AcceptLanguage: 'en-US' });
    assert.deepEqual(body.Regions, [
      { RegionId: 'cn-hangzhou', LocalName: 'China (Hangzhou)', RegionEndpoint: 'nlb.cn-hangzhou.aliyuncs.com' },
    ]);
    assert.match(body.RequestId, /^[0-9A-F-]{36}$/);
  });

  test('openapi-core, ACS3-HMAC-SM3', async () => {
    const body = await callApi(server, NLB, 'DescribeRegions', {}, { signatureAlgorithm: 'ACS3-HMAC-SM3' });
    assert.equal(body.Regions[0].RegionId, 'cn-hangzhou');
  });

  test("openapi-core, signatureAlgorithm 'v2' (RPC HMAC-SHA1)", async () => {
    const body = await callApi(server, NLB, 'DescribeRegions', {}, { signatureAlgorithm: 'v2' });
    assert.equal(body.Regions[0].RegionId, 'cn-hangzhou');
  });

  test('openapi-core answers GWLB by its version', async () => {
    const body = await callApi(server, GWLB, 'DescribeRegions', {}, { placement: 'query' });
    assert.equal(body.Regions[0].RegionEndpoint, 'gwlb.cn-hangzhou.aliyuncs.com');
  });

  test('openapi-client, default and v2', async () => {
    assert.equal((await legacyDescribeRegions()).Regions[0].RegionId, 'cn-hangzhou');
    assert.equal((await legacyDescribeRegions('v2')).Regions[0].RegionId, 'cn-hangzhou');
  });

  test('pop-core, GET and POST', async () => {
    const client = popClient();
    const viaGet = (await client.request('DescribeRegions', { AcceptLanguage: 'zh-CN' })) as any;
    assert.equal(viaGet.Regions[0].LocalName, '华东1（杭州）');
    const viaPost = (await client.request('DescribeRegions', {}, { method: 'POST' })) as any;
    assert.equal(viaPost.Regions[0].RegionId, 'cn-hangzhou');
  });
});

describe('refused requests', () => {
  test('a wrong secret is refused by every scheme', async () => {
    const v3 = await callError(callApi(server, NLB, 'DescribeRegions', {}, { accessKeySecret: 'not-the-secret' }));
    assert.equal(v3.code, 'IncompleteSignature');
    assert.equal(v3.statusCode, 400);
    const v2 = await callError(
      callApi(server, NLB, 'DescribeRegions', {}, { accessKeySecret: 'not-the-secret', signatureAlgorithm: 'v2' }),
    );
    assert.equal(v2.code, 'SignatureDoesNotMatch');
    await assert.rejects(popClient('not-the-secret').request('DescribeRegions', {}), { code: 'SignatureDoesNotMatch' });
    await assert.rejects(legacyDescribeRegions(undefined, 'not-the-secret'), { code: 'IncompleteSignature' });
  });

  test('an unknown AccessKeyId is refused', async () => {
    const e = await callError(callApi(server, NLB, 'DescribeRegions', {}, { accessKeyId: 'LTAInobody' }));
    assert.equal(e.code, 'InvalidAccessKeyId.NotFound');
    assert.equal(e.statusCode, 404);
  });

  test('a replayed request is refused; a tampered one too', async () => {
    const recorder = await startRecorder();
    try {
      const at = { host: server.host, port: server.port };
      const viaRecorder = { ...server, port: recorder.port };
      await callApi(viaRecorder, NLB, 'DescribeZones', { AcceptLanguage: 'en-US' });
      await callApi(viaRecorder, NLB, 'DescribeZones', { AcceptLanguage: 'en-US' }, { signatureAlgorithm: 'v2' });
      await popClient()
        .request('DescribeZones', { AcceptLanguage: 'en-US' }, { method: 'POST' })
        .catch(() => undefined);
      const [v3, v2] = recorder.recorded;

      const first = await replay(at, v3);
      assert.equal(first.status, 200);
      assert.equal(first.body.Zones.length, 2);
      const again = await replay(at, v3);
      assert.equal(again.status, 400);
      assert.equal(again.body.Code, 'SignatureNonceUsed');

      // A changed body no longer matches its signed hash; a changed query breaks the signature.
      const v3Body = Buffer.from(v3.body.toString().replace('en-US', 'ja'));
      assert.equal((await replay(at, v3, { body: v3Body })).body.Code, 'InvalidContentSha256');
      const v2Body = Buffer.from(v2.body.toString().replace('en-US', 'ja'));
      assert.equal((await replay(at, v2, { body: v2Body })).body.Code, 'SignatureDoesNotMatch');
      const v2Url = v2.url.replace('Action=DescribeZones', 'Action=DescribeRegions');
      assert.equal((await replay(at, v2, { url: v2Url })).body.Code, 'SignatureDoesNotMatch');
    } finally {
      await recorder.close();
    }
  });

  test('a request signed an hour ago is refused as expired', async () => {
    const skewed = await startTestServer({ clock: { now: () => Date.now() + 3_600_000 } });
    try {
      const e = await callError(callApi(skewed, NLB, 'DescribeRegions', {}));
      assert.equal(e.code, 'InvalidTimeStamp.Expired');
      await assert.rejects(
        new RPCClient({
          accessKeyId: TEST_ACCESS_KEY_ID,
          accessKeySecret: TEST_ACCESS_KEY_SECRET,
          endpoint: `http://${skewed.host}:${skewed.port}`,
          apiVersion: NLB,
        }).request('DescribeRegions', {}),
        { code: 'InvalidTimeStamp.Expired' },
      );
    } finally {
      await skewed.stop();
    }
  });
});

describe('routing and framework errors stay Alibaba-shaped', () => {
  test('unknown action, unknown version, unknown region', async () => {
    const action = await callError(callApi(server, NLB, 'CreateUnicorn', {}));
    assert.equal(action.code, 'InvalidAction.NotFound');
    assert.equal(action.statusCode, 404);
    const version = await callError(callApi(server, '2019-01-01', 'DescribeRegions', {}));
    assert.equal(version.code, 'InvalidVersion');
    const region = await callError(callApi(server, NLB, 'DescribeZones', { RegionId: 'mars-north-1' }));
    assert.equal(region.code, 'UnauthorizedRegion');
    assert.equal(region.statusCode, 403);
    for (const body of [action.data, version.data, region.data]) {
      assert.deepEqual(Object.keys(body).sort(), ['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
      assert.equal(body.HostId, 'nlb.cn-hangzhou.aliyuncs.com');
    }
  });

  test('an illegal enum value is IllegalParam.<Name>', async () => {
    const e = await callError(callApi(server, NLB, 'DescribeZones', { AcceptLanguage: 'klingon' }, { placement: 'query' }));
    assert.equal(e.code, 'IllegalParam.AcceptLanguage');
  });

  test('other paths, other methods, unsigned and malformed requests get JSON errors', async () => {
    const base = `http://${server.host}:${server.port}`;
    const cases: Array<[string, RequestInit, number, string]> = [
      ['/v1/anything', { method: 'GET' }, 404, 'InvalidAction.NotFound'],
      ['/', { method: 'DELETE' }, 405, 'UnsupportedHTTPMethod'],
      ['/?Action=DescribeRegions&Version=2022-04-30', { method: 'GET' }, 400, 'MissingParameter'],
      ['/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=%zz' }, 400, 'IllegalParam'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await fetch(base + path, init);
      assert.equal(res.status, status, `${init.method} ${path}`);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const body = (await res.json()) as Record<string, string>;
      assert.equal(body.Code, code, `${init.method} ${path}`);
      assert.ok(body.RequestId && body.HostId && body.Message && body.Recommend);
    }
  });
});
