import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tlsMaterialFromRows } from '../../../src/dataplane/nlb/tls-material.js';
import type { Resource } from '../../../src/domain/resource.js';

function row<B>(id: string, regionId: string, kind: string, body: B): Resource<B> {
  return {
    id,
    product: kind === 'certificate' ? 'cas' : 'nlb',
    kind,
    regionId,
    parentId: null,
    status: 'Available',
    body,
    createdAt: 0,
    updatedAt: 0,
    revision: 1,
  };
}

const cert = row('123157', 'cn-hangzhou', 'certificate', { CertPem: 'PEM', KeyPem: 'KEY', CommonName: 'a.example', Sans: ['b.example'] });
const policy = row('tlspolicy-1', 'cn-hangzhou', 'securitypolicy', { TlsVersions: ['TLSv1.2'], Ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'] });

test('certificates resolve by ID or by identifier of their own region only', () => {
  const material = tlsMaterialFromRows([], [cert]);
  assert.equal(material.certificate('123157')?.keyPem, 'KEY');
  assert.deepEqual(material.certificate('123157-cn-hangzhou')?.sans, ['b.example']);
  assert.equal(material.certificate('123157-cn-shanghai'), undefined);
  assert.equal(material.certificate('999'), undefined);
  assert.equal(material.certificate('not a reference'), undefined);
});

test('security policies: system ones by name, custom ones only in their region', () => {
  const material = tlsMaterialFromRows([policy], []);
  assert.deepEqual(material.securityPolicy('cn-shanghai', 'tls_cipher_policy_1_2')?.tlsVersions, ['TLSv1.2']);
  assert.deepEqual(material.securityPolicy('cn-hangzhou', 'tlspolicy-1'), {
    tlsVersions: ['TLSv1.2'],
    ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'],
  });
  assert.equal(material.securityPolicy('cn-shanghai', 'tlspolicy-1'), undefined);
  assert.equal(material.securityPolicy('cn-hangzhou', 'tlspolicy-404'), undefined);
});
