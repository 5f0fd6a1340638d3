/**
 * Findings of the SDK run: a refused sign-in is answered in the name of the product the request
 * was for, and a dry run is never answered from the ClientToken cache.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GWLB, NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server?.stop());

const CAS = '2020-04-07';

for (const [version, action, host, product] of [
  [GWLB, 'ListLoadBalancers', 'gwlb.cn-hangzhou.aliyuncs.com', 'Gwlb'],
  [CAS, 'ListUserCertificateOrder', 'cas.cn-hangzhou.aliyuncs.com', 'cas'],
  [NLB, 'ListLoadBalancers', 'nlb.cn-hangzhou.aliyuncs.com', 'Nlb'],
] as const) {
  test(`an unknown key or a bad signature on ${product} is answered as ${host}`, async () => {
    for (const signatureAlgorithm of [undefined, 'v2']) {
      const unknown = await callError(callApi(server, version, action, {}, { accessKeyId: 'LTAInobody000000000000', signatureAlgorithm }));
      assert.equal(unknown.code, 'InvalidAccessKeyId.NotFound');
      assert.equal(unknown.data.HostId, host);
      assert.match(unknown.data.Recommend, new RegExp(`product=${product}&`));

      const badSignature = await callError(callApi(server, version, action, {}, { accessKeySecret: 'wrong-secret', signatureAlgorithm }));
      assert.ok(['IncompleteSignature', 'SignatureDoesNotMatch'].includes(badSignature.code), badSignature.code);
      assert.equal(badSignature.data.HostId, host);
      assert.match(badSignature.data.Recommend, new RegExp(`product=${product}&`));
    }
  });
}

test('DryRun with a ClientToken an identical call already used validates and answers DryRunOperation', async () => {
  const params = { ServerGroupName: 'token-dry-run', VpcId: 'vpc-local', ClientToken: 'tf-dry-run-token-1' };
  const created = await callApi(server, NLB, 'CreateServerGroup', params);
  await waitForJob(server, created.JobId);
  const replay = await callApi(server, NLB, 'CreateServerGroup', params);
  assert.equal(replay.ServerGroupId, created.ServerGroupId, 'the token still replays the real call');

  const dry = await callError(callApi(server, NLB, 'CreateServerGroup', { ...params, DryRun: true }));
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal(dry.statusCode, 400);
  // And a dry run that fails validation says why, token or not.
  const invalid = await callError(callApi(server, NLB, 'CreateServerGroup', { ...params, VpcId: 'vpc-none', DryRun: true }));
  assert.equal(invalid.code, 'ResourceNotFound.Vpc');
});
