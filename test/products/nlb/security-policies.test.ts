/**
 * TLS security policies: the system ones, custom ones through the official client, the rule
 * tying ciphers to TLS versions, and what the policies mean to Node's tls module.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { insertResource } from '../../../src/products/common/resources.js';
import { ManualClock } from '../../../src/util/clock.js';
import { findSecurityPolicy } from '../../../src/products/nlb/security-policies.js';
import {
  SYSTEM_TLS_POLICIES,
  nodeTlsSettings,
  systemTlsPolicy,
  tlsPolicyProblem,
  type TlsPolicy,
} from '../../../src/domain/tls-policies.js';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { makeTestPki, type TestPki } from '../cas/openssl.js';
import { startSlowServer } from '../../support/slow-server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
});

const call = (action: string, params: Record<string, unknown> = {}) => callApi(server, NLB, action, params);

const POLICY_1_0_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256,ECDHE-ECDSA-AES256-GCM-SHA384,ECDHE-ECDSA-AES128-SHA256,ECDHE-ECDSA-AES256-SHA384,' +
  'ECDHE-RSA-AES128-GCM-SHA256,ECDHE-RSA-AES256-GCM-SHA384,ECDHE-RSA-AES128-SHA256,ECDHE-RSA-AES256-SHA384,' +
  'AES128-GCM-SHA256,AES256-GCM-SHA384,AES128-SHA256,AES256-SHA256,ECDHE-ECDSA-AES128-SHA,ECDHE-ECDSA-AES256-SHA,' +
  'ECDHE-RSA-AES128-SHA,ECDHE-RSA-AES256-SHA,AES128-SHA,AES256-SHA,DES-CBC3-SHA';

async function createPolicy(params: Record<string, unknown> = {}) {
  const reply = await call('CreateSecurityPolicy', {
    TlsVersions: ['TLSv1.2'],
    Ciphers: ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
    ...params,
  });
  return reply as { JobId: string; SecurityPolicyId: string };
}

async function listPolicies(params: Record<string, unknown> = {}) {
  return call('ListSecurityPolicy', { MaxResults: 100, ...params });
}

async function policyEntry(id: string) {
  const { SecurityPolicies } = await listPolicies({ SecurityPolicyIds: [id] });
  return SecurityPolicies[0];
}

describe('ListSystemSecurityPolicy', () => {
  test('lists the five system policies with comma-joined versions and ciphers', async () => {
    const { SecurityPolicies } = await call('ListSystemSecurityPolicy');
    assert.deepEqual(
      SecurityPolicies.map((p: { SecurityPolicyId: string }) => p.SecurityPolicyId),
      [
        'tls_cipher_policy_1_0',
        'tls_cipher_policy_1_1',
        'tls_cipher_policy_1_2',
        'tls_cipher_policy_1_2_strict',
        'tls_cipher_policy_1_2_strict_with_1_3',
      ],
    );
    const [p10, p11, p12, strict, with13] = SecurityPolicies;
    assert.equal(p10.TlsVersion, 'TLSv1.0,TLSv1.1,TLSv1.2');
    assert.equal(p10.Ciphers, POLICY_1_0_CIPHERS);
    assert.equal(p10.SecurityPolicyName, 'tls_cipher_policy_1_0');
    assert.equal(p11.TlsVersion, 'TLSv1.1,TLSv1.2');
    assert.equal(p12.TlsVersion, 'TLSv1.2');
    assert.equal(strict.TlsVersion, 'TLSv1.2');
    assert.ok(!strict.Ciphers.split(',').some((c: string) => !c.startsWith('ECDHE-')), 'strict keeps forward secrecy only');
    assert.equal(with13.TlsVersion, 'TLSv1.2,TLSv1.3');
    assert.ok(with13.Ciphers.includes('TLS_AES_128_GCM_SHA256'));
  });
});

describe('CreateSecurityPolicy', () => {
  test('creates a custom policy that is Configuring until its job is done, then Available', async () => {
    const created = await createPolicy({
      SecurityPolicyName: 'tls-strict.v1',
      TlsVersions: ['TLSv1.3', 'TLSv1.2'],
      Ciphers: ['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_AES_128_GCM_SHA256'],
      Tag: [{ Key: 'env', Value: 'test' }],
    });
    assert.match(created.SecurityPolicyId, /^tls-[a-z0-9]{20}$/);
    assert.ok(created.JobId);
    assert.equal(await waitForJob(server, created.JobId), 'Succeeded');

    const p = await policyEntry(created.SecurityPolicyId);
    assert.equal(p.SecurityPolicyStatus, 'Available');
    assert.equal(p.SecurityPolicyName, 'tls-strict.v1');
    assert.equal(p.TlsVersion, 'TLSv1.2,TLSv1.3', 'versions in protocol order, as one string');
    assert.equal(p.Ciphers, 'ECDHE-RSA-AES128-GCM-SHA256,TLS_AES_128_GCM_SHA256', 'ciphers in the given (preference) order');
    assert.equal(p.RegionId, 'cn-hangzhou');
    assert.match(p.ResourceGroupId, /^rg-/);
    assert.deepEqual(p.RelatedListeners, []);
    assert.deepEqual(p.Tags, [{ Key: 'env', Value: 'test' }]);
  });

  test('ciphers must fit the TLS versions, and every version needs a cipher', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ TlsVersions: ['TLSv1.2'], Ciphers: ['TLS_AES_128_GCM_SHA256'] }, 'IllegalParam.Ciphers'],
      [{ TlsVersions: ['TLSv1.0'], Ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'] }, 'IllegalParam.Ciphers'],
      [{ TlsVersions: ['TLSv1.2', 'TLSv1.3'], Ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'] }, 'IllegalParam.Ciphers'],
      [{ TlsVersions: ['TLSv1.0', 'TLSv1.2'], Ciphers: ['AES128-GCM-SHA256'] }, 'IllegalParam.Ciphers'],
      [{ Ciphers: ['ECDHE-RSA-RC4-SHA'] }, 'IllegalParam.Ciphers'],
      [{ TlsVersions: ['SSLv3'] }, 'IllegalParam.TlsVersions'],
      [{ TlsVersions: ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3', 'TLSv1.2'] }, 'IllegalParamSize.TlsVersions'],
      [{ TlsVersions: ['TLSv1.2', 'TLSv1.2'] }, 'DuplicatedParam.TlsVersions'],
      [{ Ciphers: ['AES128-SHA', 'AES128-SHA'] }, 'DuplicatedParam.Ciphers'],
      [{ Ciphers: Array.from({ length: 33 }, () => 'AES128-SHA') }, 'IllegalParamSize.Ciphers'],
      [{ TlsVersions: undefined }, 'MissingParam.TlsVersions'],
      [{ Ciphers: undefined }, 'MissingParam.Ciphers'],
      [{ SecurityPolicyName: 'no spaces allowed' }, 'IllegalParam.SecurityPolicyName'],
      [{ SecurityPolicyName: 'x'.repeat(201) }, 'IllegalParam.SecurityPolicyName'],
      [{ ResourceGroupId: 'group-1' }, 'IllegalParam.ResourceGroupId'],
      [{ Tag: [{ Key: 'aliyun:x', Value: 'v' }] }, 'IllegalParam.TagKey'],
    ];
    const before = (await listPolicies()).TotalCount;
    for (const [params, code] of cases) {
      const e = await callError(createPolicy(params));
      assert.equal(e.code, code, `${JSON.stringify(params).slice(0, 80)} → ${e.code}: ${e.data?.Message}`);
    }
    assert.equal((await listPolicies()).TotalCount, before, 'nothing was created');
  });

  test('legacy suites are valid with TLS 1.2, and CJK names are accepted', async () => {
    const created = await createPolicy({
      SecurityPolicyName: '测试策略_1',
      TlsVersions: ['TLSv1.0', 'TLSv1.1', 'TLSv1.2'],
      Ciphers: ['AES128-SHA', 'DES-CBC3-SHA', 'ECDHE-RSA-AES256-SHA384'],
    });
    await waitForJob(server, created.JobId);
    assert.equal((await policyEntry(created.SecurityPolicyId)).SecurityPolicyName, '测试策略_1');
  });

  test('DryRun validates and creates nothing; ClientToken replays the first reply', async () => {
    const before = (await listPolicies()).TotalCount;
    assert.equal((await callError(createPolicy({ DryRun: true }))).code, 'DryRunOperation');
    assert.equal((await callError(createPolicy({ DryRun: true, Ciphers: ['TLS_AES_128_GCM_SHA256'] }))).code, 'IllegalParam.Ciphers');
    assert.equal((await listPolicies()).TotalCount, before);

    const first = await createPolicy({ ClientToken: 'sp-token-1' });
    const again = await createPolicy({ ClientToken: 'sp-token-1' });
    assert.equal(again.SecurityPolicyId, first.SecurityPolicyId);
    assert.equal((await listPolicies()).TotalCount, before + 1);
  });
});

describe('UpdateSecurityPolicyAttribute', () => {
  test('changes versions, ciphers and name through a job', async () => {
    const { SecurityPolicyId, JobId } = await createPolicy({ SecurityPolicyName: 'before' });
    await waitForJob(server, JobId);
    const updated = await call('UpdateSecurityPolicyAttribute', {
      SecurityPolicyId,
      SecurityPolicyName: 'after',
      TlsVersions: ['TLSv1.1', 'TLSv1.2'],
      Ciphers: ['ECDHE-RSA-AES128-SHA'],
    });
    assert.equal(updated.SecurityPolicyId, SecurityPolicyId);
    await waitForJob(server, updated.JobId);
    const p = await policyEntry(SecurityPolicyId);
    assert.equal(p.SecurityPolicyStatus, 'Available');
    assert.equal(p.SecurityPolicyName, 'after');
    assert.equal(p.TlsVersion, 'TLSv1.1,TLSv1.2');
    assert.equal(p.Ciphers, 'ECDHE-RSA-AES128-SHA');
  });

  test('the merged result must still be valid, and must differ', async () => {
    const { SecurityPolicyId, JobId } = await createPolicy({ SecurityPolicyName: 'same' });
    await waitForJob(server, JobId);
    // Only TLSv1.3 with the existing TLS 1.2 ciphers cannot work.
    const bad = await callError(call('UpdateSecurityPolicyAttribute', { SecurityPolicyId, TlsVersions: ['TLSv1.3'] }));
    assert.equal(bad.code, 'IllegalParam.Ciphers');
    for (const params of [{}, { SecurityPolicyName: 'same' }, { TlsVersions: ['TLSv1.2'] }]) {
      const e = await callError(call('UpdateSecurityPolicyAttribute', { SecurityPolicyId, ...params }));
      assert.equal(e.code, 'UpdateSecurityPolicyFailed');
      assert.equal(e.data.Message, 'The operation failed because of Security Policy is not changed.');
    }
  });

  test('unknown, system and busy policies are refused', async () => {
    for (const id of ['tls-doesnotexist00000000', 'tls_cipher_policy_1_0']) {
      const e = await callError(call('UpdateSecurityPolicyAttribute', { SecurityPolicyId: id, SecurityPolicyName: 'x' }));
      assert.equal(e.code, 'ResourceNotFound.securitypolicy');
      assert.equal(e.statusCode, 404);
    }
    assert.equal((await callError(call('UpdateSecurityPolicyAttribute', {}))).code, 'MissingParam.SecurityPolicyId');
  });
});

describe('while a policy change is being applied', () => {
  // A server whose jobs stay Processing until its clock is moved on: the cloud's pace, held still.
  const clock = new ManualClock(Date.now());
  let slow: TestServer;
  before(async () => {
    slow = await startSlowServer({ clock });
  });
  after(async () => {
    await slow?.stop();
  });
  const slowCall = (action: string, params: Record<string, unknown>) => callApi(slow, NLB, action, params);
  const status = async (id: string) =>
    (await slowCall('ListSecurityPolicy', { SecurityPolicyIds: [id] })).SecurityPolicies[0].SecurityPolicyStatus;

  test('the policy is Configuring and refuses further changes until the job is done', async () => {
    const { SecurityPolicyId, JobId } = await slowCall('CreateSecurityPolicy', { TlsVersions: ['TLSv1.2'], Ciphers: ['AES128-SHA'] });
    assert.equal(await status(SecurityPolicyId), 'Configuring');
    const busy = await callError(slowCall('UpdateSecurityPolicyAttribute', { SecurityPolicyId, SecurityPolicyName: 'x' }));
    assert.equal(busy.code, 'IncorrectStatus.securitypolicy');
    assert.equal((await callError(slowCall('DeleteSecurityPolicy', { SecurityPolicyId }))).code, 'IncorrectStatus.securitypolicy');

    clock.advance(60_001);
    assert.equal(await waitForJob(slow, JobId), 'Succeeded');
    assert.equal(await status(SecurityPolicyId), 'Available');
    const update = await slowCall('UpdateSecurityPolicyAttribute', { SecurityPolicyId, SecurityPolicyName: 'x' });
    assert.equal(await status(SecurityPolicyId), 'Configuring');
    clock.advance(60_001);
    await waitForJob(slow, update.JobId);
    assert.equal(await status(SecurityPolicyId), 'Available');
  });
});

describe('DeleteSecurityPolicy and RelatedListeners', () => {
  test('a policy a listener uses is listed with it and cannot be deleted until the listener lets go', async () => {
    const { SecurityPolicyId, JobId } = await createPolicy();
    await waitForJob(server, JobId);
    const listenerId = 'lsn-usespolicy0000000001@443';
    await server.running.store.mutate((tx, revision) =>
      insertResource(
        tx,
        {
          id: listenerId,
          product: 'nlb',
          kind: 'listener',
          regionId: 'cn-hangzhou',
          status: 'Running',
          body: { LoadBalancerId: 'nlb-owner00000000000001', ListenerProtocol: 'TCPSSL', ListenerPort: 443, SecurityPolicyId },
        },
        { now: Date.now(), revision },
      ),
    );
    assert.deepEqual((await policyEntry(SecurityPolicyId)).RelatedListeners, [
      { ListenerId: listenerId, ListenerPort: 443, ListenerProtocol: 'TCPSSL', LoadBalancerId: 'nlb-owner00000000000001' },
    ]);
    const e = await callError(call('DeleteSecurityPolicy', { SecurityPolicyId }));
    assert.equal(e.code, 'ResourceInUse.SecurityPolicy');
    assert.equal(e.statusCode, 400);

    await server.running.store.mutate((tx) => tx.deleteFrom('resources').where('id', '=', listenerId).execute());
    assert.equal((await callError(call('DeleteSecurityPolicy', { SecurityPolicyId, DryRun: true }))).code, 'DryRunOperation');
    const reply = await call('DeleteSecurityPolicy', { SecurityPolicyId });
    assert.deepEqual(Object.keys(reply), ['RequestId']);
    assert.equal((await listPolicies({ SecurityPolicyIds: [SecurityPolicyId] })).TotalCount, 0);
    const gone = await callError(call('DeleteSecurityPolicy', { SecurityPolicyId }));
    assert.equal(gone.code, 'ResourceNotFound.securitypolicy');
    assert.equal(gone.statusCode, 404);
  });
});

describe('ListSecurityPolicy', () => {
  test('filters by IDs, names, resource group and tags (Tag in the query, as the SDK sends it); pages with NextToken', async () => {
    const a = await createPolicy({ SecurityPolicyName: 'list-a', Tag: [{ Key: 'team', Value: 'blue' }] });
    const b = await createPolicy({ SecurityPolicyName: 'list-b', Tag: [{ Key: 'team', Value: 'red' }] });
    await waitForJob(server, a.JobId);
    await waitForJob(server, b.JobId);

    const byName = await listPolicies({ SecurityPolicyNames: ['list-b'] });
    assert.deepEqual(
      byName.SecurityPolicies.map((p: { SecurityPolicyId: string }) => p.SecurityPolicyId),
      [b.SecurityPolicyId],
    );
    const byIds = await listPolicies({ SecurityPolicyIds: [a.SecurityPolicyId, b.SecurityPolicyId] });
    assert.equal(byIds.TotalCount, 2);
    const byTag = await callApi(server, NLB, 'ListSecurityPolicy', { Tag: [{ Key: 'team', Value: 'blue' }] }, { placement: 'query' });
    assert.deepEqual(
      byTag.SecurityPolicies.map((p: { SecurityPolicyId: string }) => p.SecurityPolicyId),
      [a.SecurityPolicyId],
    );
    const rg = (await policyEntry(a.SecurityPolicyId)).ResourceGroupId;
    assert.ok((await listPolicies({ ResourceGroupId: rg })).TotalCount >= 2);
    assert.equal((await listPolicies({ ResourceGroupId: 'rg-elsewhere' })).TotalCount, 0);

    const all = await listPolicies();
    const page1 = await listPolicies({ MaxResults: 1 });
    assert.equal(page1.SecurityPolicies.length, 1);
    assert.equal(page1.MaxResults, 1);
    assert.equal(page1.TotalCount, all.TotalCount);
    assert.ok(page1.NextToken);
    const page2 = await listPolicies({ MaxResults: 1, NextToken: page1.NextToken });
    assert.notEqual(page2.SecurityPolicies[0].SecurityPolicyId, page1.SecurityPolicies[0].SecurityPolicyId);
    assert.equal(all.NextToken, '');
    assert.equal((await callError(listPolicies({ MaxResults: 101 }))).code, 'IllegalParam.MaxResults');
    assert.equal((await callError(listPolicies({ NextToken: 'bogus' }))).code, 'IllegalParam.NextToken');
  });
});

describe('findSecurityPolicy', () => {
  test('resolves system names and custom IDs of the region', async () => {
    const db = server.running.store.db;
    const system = await findSecurityPolicy(db, 'cn-hangzhou', 'tls_cipher_policy_1_2_strict');
    assert.deepEqual(system?.tlsVersions, ['TLSv1.2']);
    assert.equal(system?.system, true);
    const { SecurityPolicyId } = await createPolicy({ TlsVersions: ['TLSv1.3'], Ciphers: ['TLS_AES_256_GCM_SHA384'] });
    const custom = await findSecurityPolicy(db, 'cn-hangzhou', SecurityPolicyId);
    assert.deepEqual(custom, { id: SecurityPolicyId, system: false, tlsVersions: ['TLSv1.3'], ciphers: ['TLS_AES_256_GCM_SHA384'] });
    assert.equal(await findSecurityPolicy(db, 'cn-shanghai', SecurityPolicyId), undefined);
    assert.equal(await findSecurityPolicy(db, 'cn-hangzhou', 'tls-unknown'), undefined);
  });
});

// --- pure policy rules and the Node mapping ----------------------------------------------

describe('TLS policy rules', () => {
  test('every system policy satisfies the custom-policy rule', () => {
    for (const policy of SYSTEM_TLS_POLICIES) assert.equal(tlsPolicyProblem(policy), undefined, policy.id);
  });

  test('every system policy makes a Node secure context; 3DES is reported as unavailable locally', () => {
    for (const policy of SYSTEM_TLS_POLICIES) {
      const s = nodeTlsSettings(policy);
      assert.doesNotThrow(() => tls.createSecureContext(s), policy.id);
    }
    assert.deepEqual(nodeTlsSettings(systemTlsPolicy('tls_cipher_policy_1_0')!).unavailable, ['DES-CBC3-SHA']);
    assert.deepEqual(nodeTlsSettings(systemTlsPolicy('tls_cipher_policy_1_2_strict')!).unavailable, []);
  });

  test('versions with a gap exclude the missing one', () => {
    const s = nodeTlsSettings({ tlsVersions: ['TLSv1.2', 'TLSv1.0'], ciphers: ['AES128-SHA'] });
    assert.equal(s.minVersion, 'TLSv1');
    assert.equal(s.maxVersion, 'TLSv1.2');
    assert.notEqual(s.secureOptions, 0);
    assert.match(s.ciphers, /@SECLEVEL=0$/);
    assert.equal(nodeTlsSettings({ tlsVersions: ['TLSv1.3'], ciphers: ['TLS_AES_128_GCM_SHA256'] }).ciphers, 'TLS_AES_128_GCM_SHA256');
  });
});

describe('a TLS server configured from a policy', () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });

  async function handshake(policy: TlsPolicy, client: tls.ConnectionOptions): Promise<string> {
    const srv = tls.createServer({ ...nodeTlsSettings(policy), cert: pki.serverCert, key: pki.serverKey }, (s) => s.end());
    srv.on('tlsClientError', () => undefined);
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    try {
      return await new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, rejectUnauthorized: false, ...client });
        socket.once('secureConnect', () => {
          const result = `${socket.getProtocol()} ${socket.getCipher().standardName}`;
          socket.destroy();
          resolve(result);
        });
        socket.once('error', () => resolve('refused'));
      });
    } finally {
      srv.close();
    }
  }

  test('tls_cipher_policy_1_2_strict refuses TLS 1.1 and static-RSA suites, and accepts ECDHE over TLS 1.2', async () => {
    const strict = systemTlsPolicy('tls_cipher_policy_1_2_strict')!;
    assert.equal(await handshake(strict, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'ALL:@SECLEVEL=0' }), 'refused');
    assert.equal(await handshake(strict, { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' }), 'refused');
    // No TLS 1.3 in a TLS 1.2-only policy; the first suite of the policy an RSA certificate can serve wins.
    assert.equal(await handshake(strict, { maxVersion: 'TLSv1.3' }), 'TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    const reordered: TlsPolicy = { tlsVersions: ['TLSv1.2'], ciphers: ['ECDHE-RSA-AES256-SHA384', 'ECDHE-RSA-AES128-GCM-SHA256'] };
    assert.equal(await handshake(reordered, {}), 'TLSv1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384');
  });

  test('a custom TLS 1.3-only policy negotiates its one suite', async () => {
    const policy: TlsPolicy = { tlsVersions: ['TLSv1.3'], ciphers: ['TLS_CHACHA20_POLY1305_SHA256'] };
    assert.equal(await handshake(policy, {}), 'TLSv1.3 TLS_CHACHA20_POLY1305_SHA256');
    assert.equal(await handshake(policy, { maxVersion: 'TLSv1.2' }), 'refused');
  });
});
