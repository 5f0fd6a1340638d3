/**
 * CA certificates for mutual TLS, kept in the service's one local certificate repository:
 * UploadPCACert, ListCert, DescribeWarehouseCert, DeletePCACert, ListCertWarehouse.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { insertResource } from '../../../src/products/common/resources.js';
import { findCertificate } from '../../../src/products/cas/certificates.js';
import { CAS_VERSION } from '../../../src/products/cas/index.js';
import { callApi, callError, startTestServer, type TestServer } from '../../support/server.js';
import { makeTestPki, type TestPki } from './openssl.js';

let server: TestServer;
let pki: TestPki;
before(async () => {
  pki = makeTestPki();
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
});

const cas = (action: string, params: Record<string, unknown> = {}) => callApi(server, CAS_VERSION, action, params, { placement: 'query' });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function warehouseId(): Promise<number> {
  const { CertWarehouseList } = await cas('ListCertWarehouse', { Type: 'uploadPCA' });
  return CertWarehouseList[0].WhId;
}

describe('ListCertWarehouse', () => {
  test('there is one repository for uploaded CA certificates', async () => {
    const all = await cas('ListCertWarehouse');
    assert.equal(all.TotalCount, 1);
    assert.equal(all.CertWarehouseList[0].Type, 'uploadPCA');
    assert.equal(all.CertWarehouseList[0].WhId, 1);
    assert.equal(all.CertWarehouseList[0].IsExpired, false);
    assert.deepEqual((await cas('ListCertWarehouse', { Type: 'ssl' })).CertWarehouseList, []);
  });
});

describe('UploadPCACert, ListCert, DescribeWarehouseCert', () => {
  test('a CA certificate gets an identifier and is listed and described without any private key', async () => {
    const up = await cas('UploadPCACert', { Name: 'test-root', Cert: pki.caCert, WarehouseId: await warehouseId() });
    assert.match(up.Identifier, UUID);

    const list = await cas('ListCert', { WarehouseId: 1, CertType: 'CA' });
    const entry = list.CertList.find((c: { Identifier: string }) => c.Identifier === up.Identifier);
    assert.ok(entry);
    assert.equal(entry.CommonName, 'OpenSLB Test Root');
    assert.equal(entry.CertType, 'CA');
    assert.equal(entry.SourceType, 'upload');
    assert.equal(entry.Status, 'ISSUE');
    assert.equal(entry.ExistPrivateKey, false);
    assert.equal(entry.WhId, 1);
    assert.ok(entry.AfterDate > entry.BeforeDate);
    assert.deepEqual((await cas('ListCert', { CertType: 'CERT' })).CertList, []);
    assert.equal((await cas('ListCert', { KeyWord: 'no-such-name' })).TotalCount, 0);

    const d = await cas('DescribeWarehouseCert', { CertIdentifier: up.Identifier });
    assert.equal(d.CertIdentifier, up.Identifier);
    assert.equal(d.CertType, 'CA');
    assert.equal(d.CommonName, 'OpenSLB Test Root');
    assert.equal(d.Issuer, 'OpenSLB Test CA');
    assert.match(d.Content, /^-----BEGIN CERTIFICATE-----\n/);
    assert.equal(d.IssuerIdentifier, up.Identifier, 'a self-signed root is its own issuer');
    assert.ok(!JSON.stringify(d).includes('PRIVATE KEY'));
  });

  test('the CA key may come along; it must match', async () => {
    const withKey = await cas('UploadPCACert', { Cert: pki.caCert, PrivateKey: pki.caKey, WarehouseId: 1 });
    const list = await cas('ListCert', {});
    const entry = list.CertList.find((c: { Identifier: string }) => c.Identifier === withKey.Identifier);
    assert.equal(entry.ExistPrivateKey, true);
    const e = await callError(cas('UploadPCACert', { Cert: pki.caCert, PrivateKey: pki.otherKey, WarehouseId: 1 }));
    assert.equal(e.code, 'Mismatch.PrivateKey');
  });

  test('what is not a CA certificate, or not in a known repository, is refused', async () => {
    const before = (await cas('ListCert', {})).TotalCount;
    const notCa = await callError(cas('UploadPCACert', { Cert: pki.serverCert, WarehouseId: 1 }));
    assert.equal(notCa.code, 'IllegalParam.Cert');
    assert.match(notCa.data.Message, /not a CA certificate/);
    assert.equal((await callError(cas('UploadPCACert', { Cert: 'garbage', WarehouseId: 1 }))).code, 'IllegalParam.Cert');
    const wh = await callError(cas('UploadPCACert', { Cert: pki.caCert, WarehouseId: 2 }));
    assert.equal(wh.code, 'ResourceNotFound.Warehouse');
    assert.equal(wh.statusCode, 404);
    assert.equal((await callError(cas('UploadPCACert', { Cert: pki.caCert }))).code, 'MissingParam.WarehouseId');
    assert.equal((await callError(cas('UploadPCACert', { WarehouseId: 1 }))).code, 'MissingParam.Cert');
    assert.equal((await cas('ListCert', {})).TotalCount, before);
  });

  test('an unknown identifier is ResourceNotFound.Certificate', async () => {
    const e = await callError(cas('DescribeWarehouseCert', { CertIdentifier: '00000000-0000-0000-0000-000000000000' }));
    assert.equal(e.code, 'ResourceNotFound.Certificate');
    assert.equal(e.statusCode, 404);
  });
});

describe('DeletePCACert and findCertificate', () => {
  test('a CA certificate is found by identifier (with or without region) and cannot be deleted while a listener verifies with it', async () => {
    const { Identifier } = await cas('UploadPCACert', { Cert: pki.caCert, WarehouseId: 1 });
    const db = server.running.store.db;
    const found = await findCertificate(db, `${Identifier}-cn-hangzhou`);
    assert.ok(found);
    assert.equal(found.type, 'CA');
    assert.equal(found.keyPem, undefined);
    assert.equal(found.commonName, 'OpenSLB Test Root');
    assert.deepEqual(await findCertificate(db, Identifier), found);

    const listenerId = 'lsn-usesca000000000000001@443';
    await server.running.store.mutate((tx, revision) =>
      insertResource(
        tx,
        {
          id: listenerId,
          product: 'nlb',
          kind: 'listener',
          regionId: 'cn-hangzhou',
          status: 'Running',
          body: {
            ListenerProtocol: 'TCPSSL',
            CertificateIds: [],
            CaEnabled: true,
            CaCertificateIds: [Identifier],
            AdditionalCertificates: [],
          },
        },
        { now: Date.now(), revision },
      ),
    );
    assert.equal((await callError(cas('DeletePCACert', { Identifier }))).code, 'ResourceInUse.Certificate');
    await server.running.store.mutate((tx) => tx.deleteFrom('resources').where('id', '=', listenerId).execute());

    await cas('DeletePCACert', { Identifier });
    assert.equal(await findCertificate(db, Identifier), undefined);
    assert.equal((await callError(cas('DeletePCACert', { Identifier }))).code, 'ResourceNotFound.Certificate');
  });

  test('server and CA certificates do not stand in for each other', async () => {
    const { Identifier } = await cas('UploadPCACert', { Cert: pki.caCert, WarehouseId: 1 });
    const server1 = await cas('UploadUserCertificate', { Name: 'not-a-ca', Cert: pki.serverCert, Key: pki.serverKey });
    assert.equal(
      (await callError(cas('DescribeWarehouseCert', { CertIdentifier: String(server1.CertId) }))).code,
      'ResourceNotFound.Certificate',
    );
    assert.equal((await callError(cas('DeletePCACert', { Identifier: String(server1.CertId) }))).code, 'ResourceNotFound.Certificate');
    const listed = await cas('ListUserCertificateOrder', { OrderType: 'UPLOAD', ShowSize: 1000 });
    assert.ok(listed.CertificateOrderList.every((c: { CommonName: string }) => c.CommonName !== 'OpenSLB Test Root'));
    assert.ok(Identifier);
  });
});
