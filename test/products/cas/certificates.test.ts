/**
 * Server certificates through the certificate-service API, called as the CAS SDK calls it
 * (every parameter in the query string), with certificates made by the real openssl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { insertResource } from '../../../src/products/common/resources.js';
import { findCertificate } from '../../../src/products/cas/certificates.js';
import { CAS_VERSION } from '../../../src/products/cas/index.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, callError, startTestServer, type TestServer } from '../../support/server.js';
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

let nameCounter = 0;
const uniqueName = (prefix: string) => `${prefix}_${++nameCounter}`;

async function uploadServer(overrides: Record<string, unknown> = {}) {
  return cas('UploadUserCertificate', { Name: uniqueName('cert'), Cert: pki.serverChain, Key: pki.serverKey, ...overrides });
}

const uploaded = () => cas('ListUserCertificateOrder', { OrderType: 'UPLOAD', ShowSize: 1000 });
const base64Of = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

async function addListener(id: string, body: Record<string, unknown>) {
  await server.running.store.mutate((tx, revision) =>
    insertResource(
      tx,
      { id, product: 'nlb', kind: 'listener', regionId: 'cn-hangzhou', status: 'Running', body: { ListenerProtocol: 'TCPSSL', ...body } },
      { now: Date.now(), revision },
    ),
  );
}

async function removeListener(id: string) {
  await server.running.store.mutate((tx) => tx.deleteFrom('resources').where('id', '=', id).execute());
}

describe('UploadUserCertificate and GetUserCertificateDetail', () => {
  test('a certificate chain with its key gets a numeric CertId and reads back with the facts of the leaf', async () => {
    const name = uniqueName('www');
    const up = await uploadServer({ Name: name });
    assert.equal(typeof up.CertId, 'number');
    assert.match(up.ResourceId, /^cas-upload-[a-z0-9]{6}$/);

    const d = await cas('GetUserCertificateDetail', { CertId: up.CertId });
    assert.equal(d.Id, up.CertId);
    assert.equal(d.Name, name);
    assert.equal(d.CertIdentifier, `${up.CertId}-cn-hangzhou`);
    assert.equal(d.InstanceId, up.ResourceId);
    assert.equal(d.Common, 'www.example.com');
    assert.equal(d.Sans, 'www.example.com,api.example.com,127.0.0.1');
    assert.equal(d.OrgName, 'Example Corp');
    assert.equal(d.Country, 'CN');
    assert.equal(d.Province, 'Zhejiang');
    assert.equal(d.City, 'Hangzhou');
    assert.equal(d.Issuer, 'OpenSLB Test CA');
    assert.equal(d.Algorithm, 'RSA');
    assert.equal(d.Fingerprint, pki.serverFingerprint);
    assert.match(d.Sha2, /^[0-9A-F]{64}$/);
    assert.equal(d.Expired, false);
    assert.equal(d.BuyInAliyun, false);
    assert.match(d.StartDate, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(d.NotAfter > d.NotBefore && d.NotAfter > Date.now());
    assert.match(d.ResourceGroupId, /^rg-/);
    assert.deepEqual(
      d.CertChain.map((c: { CommonName: string; IssuerCommonName: string }) => [c.CommonName, c.IssuerCommonName]),
      [
        ['www.example.com', 'OpenSLB Test Root'],
        ['OpenSLB Test Root', 'OpenSLB Test Root'],
      ],
    );
    assert.ok(d.CertChain[0].RemainDay > 190);
    // As the service does, the detail carries the certificate and its key unless CertFilter=true.
    assert.equal(base64Of(d.Cert), base64Of(pki.serverChain));
    assert.equal(base64Of(d.Key), base64Of(pki.serverKey));
  });

  test('CertFilter=true leaves the certificate and the private key out', async () => {
    const up = await uploadServer();
    const d = await cas('GetUserCertificateDetail', { CertId: up.CertId, CertFilter: true });
    assert.equal(d.Cert, undefined);
    assert.equal(d.Key, undefined);
    assert.equal(d.Common, 'www.example.com');
  });

  test('PEM pasted on one line (spaces instead of newlines) is accepted', async () => {
    const oneLine = (pem: string) => pem.replace(/\n/g, ' ');
    const up = await uploadServer({ Cert: oneLine(pki.serverCert), Key: oneLine(pki.serverKey) });
    const d = await cas('GetUserCertificateDetail', { CertId: up.CertId });
    assert.equal(d.Fingerprint, pki.serverFingerprint);
    assert.match(d.Cert, /^-----BEGIN CERTIFICATE-----\n/);
  });

  test('an ECDSA certificate is reported as ECC', async () => {
    const up = await uploadServer({ Cert: pki.ecCert, Key: pki.ecKey });
    const d = await cas('GetUserCertificateDetail', { CertId: up.CertId, CertFilter: true });
    assert.equal(d.Algorithm, 'ECC');
    assert.equal(d.Common, 'ec.example.com');
  });

  test('a key that does not belong to the certificate is refused and nothing is stored', async () => {
    const before = (await uploaded()).TotalCount;
    const e = await callError(uploadServer({ Key: pki.otherKey }));
    assert.equal(e.code, 'Mismatch.PrivateKey');
    assert.equal(e.statusCode, 400);
    assert.doesNotMatch(e.data.Message, /PRIVATE KEY|MII/);
    assert.equal((await uploaded()).TotalCount, before);
  });

  test('malformed input gets a clear error naming the parameter', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ Cert: 'not a certificate' }, 'IllegalParam.Cert'],
      [{ Cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, 'IllegalParam.Cert'],
      [{ Cert: `${pki.serverCert}trailing junk` }, 'IllegalParam.Cert'],
      [{ Cert: pki.ed25519Cert, Key: pki.ed25519Key }, 'IllegalParam.Cert'],
      [{ Key: 'not a key' }, 'IllegalParam.Key'],
      [{ Key: pki.serverKey.replace(/PRIVATE KEY/g, 'ENCRYPTED PRIVATE KEY') }, 'IllegalParam.Key'],
      [{ Key: `${pki.serverKey}${pki.otherKey}` }, 'IllegalParam.Key'],
      [{ Key: undefined }, 'MissingParam.Key'],
      [{ Cert: undefined }, 'MissingParam.Cert'],
      [{ Name: undefined }, 'MissingParam.Name'],
      [{ Name: 'x'.repeat(65) }, 'IllegalParam.Name'],
      [{ Cert: undefined, Key: undefined, SignCert: pki.serverCert }, 'IllegalParam.SignCert'],
    ];
    for (const [params, code] of cases) {
      const e = await callError(uploadServer(params));
      assert.equal(e.code, code, `${JSON.stringify(Object.keys(params))} → ${e.code}: ${e.data?.Message}`);
      assert.doesNotMatch(e.data.Message, /MII/, 'no key or certificate material in messages');
    }
  });

  test('certificate names are unique', async () => {
    await uploadServer({ Name: 'same-name' });
    const e = await callError(uploadServer({ Name: 'same-name' }));
    assert.equal(e.code, 'NameRepeat');
    assert.equal(e.data.Message, 'The certificate name already exists.');
  });

  test('an unknown CertId is ResourceNotFound.Certificate (404)', async () => {
    const e = await callError(cas('GetUserCertificateDetail', { CertId: 1 }));
    assert.equal(e.code, 'ResourceNotFound.Certificate');
    assert.equal(e.statusCode, 404);
    assert.equal((await callError(cas('GetUserCertificateDetail', { CertId: 'abc' }))).code, 'IllegalParam.CertId');
  });
});

describe('ListUserCertificateOrder', () => {
  test('uploaded certificates are listed under OrderType UPLOAD/CERT, never under purchase orders', async () => {
    const rsa = await uploadServer({ Name: uniqueName('listed-rsa') });
    const ec = await uploadServer({ Name: uniqueName('listed-ec'), Cert: pki.ecCert, Key: pki.ecKey });

    const orders = await cas('ListUserCertificateOrder');
    assert.deepEqual(orders.CertificateOrderList, []);
    assert.equal(orders.TotalCount, 0);

    const list = await uploaded();
    const ids = list.CertificateOrderList.map((c: { CertificateId: number }) => c.CertificateId);
    assert.ok(ids.includes(rsa.CertId) && ids.includes(ec.CertId));
    const entry = list.CertificateOrderList.find((c: { CertificateId: number }) => c.CertificateId === rsa.CertId);
    assert.equal(entry.CommonName, 'www.example.com');
    assert.equal(entry.Sans, 'www.example.com,api.example.com,127.0.0.1');
    assert.equal(entry.Fingerprint, pki.serverFingerprint);
    assert.equal(entry.Upload, true);
    assert.equal(entry.Expired, false);
    assert.equal(entry.InstanceId, rsa.ResourceId);
    assert.equal((await cas('ListUserCertificateOrder', { OrderType: 'CERT', ShowSize: 1000 })).TotalCount, list.TotalCount);
  });

  test('Status, Keyword and paging narrow the list', async () => {
    const soon = await cas('ListUserCertificateOrder', { OrderType: 'UPLOAD', Status: 'WILLEXPIRED', ShowSize: 1000 });
    assert.ok(soon.TotalCount > 0);
    assert.ok(soon.CertificateOrderList.every((c: { CommonName: string }) => c.CommonName === 'ec.example.com'));
    const issued = await cas('ListUserCertificateOrder', { OrderType: 'UPLOAD', Status: 'ISSUED', ShowSize: 1000 });
    assert.ok(issued.CertificateOrderList.every((c: { CommonName: string }) => c.CommonName === 'www.example.com'));
    assert.equal((await cas('ListUserCertificateOrder', { OrderType: 'UPLOAD', Status: 'EXPIRED' })).TotalCount, 0);

    const byDomain = await cas('ListUserCertificateOrder', { OrderType: 'UPLOAD', Keyword: 'api.example', ShowSize: 1000 });
    assert.ok(byDomain.TotalCount > 0);
    assert.ok(byDomain.CertificateOrderList.every((c: { CommonName: string }) => c.CommonName === 'www.example.com'));

    const page1 = await cas('ListUserCertificateOrder', { OrderType: 'UPLOAD', ShowSize: 1, CurrentPage: 1 });
    const page2 = await cas('ListUserCertificateOrder', { OrderType: 'UPLOAD', ShowSize: 1, CurrentPage: 2 });
    assert.equal(page1.CertificateOrderList.length, 1);
    assert.equal(page1.ShowSize, 1);
    assert.equal(page2.CurrentPage, 2);
    assert.notEqual(page1.CertificateOrderList[0].CertificateId, page2.CertificateOrderList[0].CertificateId);
    assert.equal((await callError(cas('ListUserCertificateOrder', { OrderType: 'GIFT' }))).code, 'IllegalParam.OrderType');
  });
});

describe('DeleteUserCertificate', () => {
  test('a certificate a listener serves cannot be deleted; once unused it can', async () => {
    const up = await uploadServer();
    await addListener('lsn-usescert0000000000001@443', {
      CertificateIds: [`${up.CertId}-cn-hangzhou`],
      CaCertificateIds: [],
      AdditionalCertificates: [],
    });
    const e = await callError(cas('DeleteUserCertificate', { CertId: up.CertId }));
    assert.equal(e.code, 'ResourceInUse.Certificate');
    assert.match(e.data.Message, /lsn-usescert0000000000001@443/);
    await removeListener('lsn-usescert0000000000001@443');

    await cas('DeleteUserCertificate', { CertId: up.CertId });
    assert.equal((await callError(cas('GetUserCertificateDetail', { CertId: up.CertId }))).code, 'ResourceNotFound.Certificate');
    assert.equal((await callError(cas('DeleteUserCertificate', { CertId: up.CertId }))).code, 'ResourceNotFound.Certificate');
  });

  test('an additional (SNI) certificate counts as in use too', async () => {
    const up = await uploadServer();
    await addListener('lsn-usessni00000000000001@443', {
      CertificateIds: [],
      CaCertificateIds: [],
      AdditionalCertificates: [{ CertificateId: String(up.CertId), Status: 'Associated' }],
    });
    assert.equal((await callError(cas('DeleteUserCertificate', { CertId: up.CertId }))).code, 'ResourceInUse.Certificate');
    await removeListener('lsn-usessni00000000000001@443');
    await cas('DeleteUserCertificate', { CertId: up.CertId });
  });
});

describe('findCertificate (for listeners and the data plane)', () => {
  test('resolves the bare CertId and the `<CertId>-<region>` identifier, with cert and key PEM', async () => {
    const up = await uploadServer();
    const db = server.running.store.db;
    const bare = await findCertificate(db, String(up.CertId));
    assert.ok(bare);
    assert.equal(bare.type, 'Server');
    assert.equal(bare.identifier, `${up.CertId}-cn-hangzhou`);
    assert.equal(base64Of(bare.certPem), base64Of(pki.serverChain));
    assert.equal(base64Of(bare.keyPem!), base64Of(pki.serverKey));
    assert.deepEqual(bare.sans, ['www.example.com', 'api.example.com', '127.0.0.1']);
    assert.deepEqual(await findCertificate(db, `${up.CertId}-cn-hangzhou`), bare);
    assert.equal(await findCertificate(db, `${up.CertId}-cn-shanghai`), undefined);
    assert.equal(await findCertificate(db, '999'), undefined);
    assert.equal(await findCertificate(db, 'nonsense'), undefined);
  });
});

describe('openslb cas <Action>', () => {
  test('the CLI calls the certificate service', async () => {
    const up = await uploadServer();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'cas',
        'GetUserCertificateDetail',
        '--CertId',
        String(up.CertId),
        '--CertFilter',
        'true',
        '--endpoint',
        server.url,
      ],
      { env: { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET } },
    );
    const body = JSON.parse(stdout);
    assert.equal(body.Id, up.CertId);
    assert.equal(body.Common, 'www.example.com');
  });
});
