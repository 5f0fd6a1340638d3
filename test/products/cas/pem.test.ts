/** Reading PEM certificates and keys, without a server. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PemError,
  certificateFacts,
  keyMatches,
  parseCertificateChain,
  parseDistinguishedName,
  parsePrivateKey,
} from '../../../src/products/cas/pem.js';
import { makeTestPki, type TestPki } from './openssl.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});

describe('parseCertificateChain', () => {
  test('keeps the order, canonicalises line breaks and CRLF', () => {
    const chain = parseCertificateChain(pki.serverChain.replace(/\n/g, '\r\n'));
    assert.equal(chain.certs.length, 2);
    assert.equal(certificateFacts(chain.certs[0]).commonName, 'www.example.com');
    assert.equal(certificateFacts(chain.certs[1]).commonName, 'OpenSLB Test Root');
    assert.ok(!chain.pem.includes('\r'));
    assert.equal(chain.pem.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
  });

  test('refuses empty input, text outside blocks, bad base64 and non-certificates', () => {
    assert.throws(() => parseCertificateChain(''), PemError);
    assert.throws(() => parseCertificateChain(`hello\n${pki.serverCert}`), /outside/);
    assert.throws(() => parseCertificateChain('-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----'), /base64/);
    assert.throws(() => parseCertificateChain('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), /not a valid X.509/);
  });
});

describe('parsePrivateKey and keyMatches', () => {
  test('reads PKCS#8 keys and EC keys written with their parameters block', () => {
    const rsa = parsePrivateKey(pki.serverKey);
    assert.equal(rsa.key.asymmetricKeyType, 'rsa');
    assert.ok(keyMatches(parseCertificateChain(pki.serverCert).certs[0], rsa.key));
    assert.ok(!keyMatches(parseCertificateChain(pki.serverCert).certs[0], parsePrivateKey(pki.otherKey).key));
    const withParams = `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${pki.ecKey}`;
    assert.equal(parsePrivateKey(withParams).key.asymmetricKeyType, 'ec');
  });

  test('refuses encrypted keys, several keys and certificates given as keys', () => {
    assert.throws(() => parsePrivateKey('-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----'), /passphrase/);
    assert.throws(() => parsePrivateKey(pki.serverKey + pki.otherKey), /Exactly one/);
    assert.throws(() => parsePrivateKey(pki.serverCert), PemError);
  });
});

describe('certificateFacts', () => {
  test('reports names, SANs, issuer, validity and fingerprints', () => {
    const facts = certificateFacts(parseCertificateChain(pki.serverCert).certs[0]);
    assert.equal(facts.commonName, 'www.example.com');
    assert.deepEqual(facts.sans, ['www.example.com', 'api.example.com', '127.0.0.1']);
    assert.deepEqual(facts.subject, { OrgName: 'Example Corp', Country: 'CN', Province: 'Zhejiang', City: 'Hangzhou' });
    assert.equal(facts.issuer, 'OpenSLB Test CA');
    assert.equal(facts.issuerCommonName, 'OpenSLB Test Root');
    assert.equal(facts.fingerprint, pki.serverFingerprint);
    assert.equal(facts.isCa, false);
    assert.ok(facts.notAfter > facts.notBefore);
    assert.equal(certificateFacts(parseCertificateChain(pki.caCert).certs[0]).isCa, true);
  });

  test('distinguished names with quoted values', () => {
    assert.deepEqual(parseDistinguishedName('C=CN\nO="Example, Inc."\nCN=a.example.com'), {
      C: 'CN',
      O: 'Example, Inc.',
      CN: 'a.example.com',
    });
  });
});
