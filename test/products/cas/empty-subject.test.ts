/**
 * A certificate whose subject is empty (`openssl req -subj "/"`, as certificates that name
 * their hosts only in subjectAltName often are) is accepted by both upload actions and read
 * back with empty name fields, never a 500.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAS_VERSION } from '../../../src/products/cas/index.js';
import { callApi, startTestServer, type TestServer } from '../../support/server.js';

let server: TestServer;
let dir: string;
const read = (name: string) => readFileSync(join(dir, name), 'utf8');
const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), `openslb-empty-subject-${process.pid}-`));
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.pem',
    '-days',
    '30',
    '-subj',
    '/',
    '-addext',
    'subjectAltName=DNS:nameless.example.com',
    '-addext',
    'basicConstraints=CA:FALSE',
  ]);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '30',
    '-subj',
    '/',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cas = (action: string, params: Record<string, unknown> = {}) => callApi(server, CAS_VERSION, action, params, { placement: 'query' });

test('UploadUserCertificate accepts an empty subject and reports its SANs', async () => {
  const up = await cas('UploadUserCertificate', { Name: 'nameless', Cert: read('leaf.pem'), Key: read('leaf.key') });
  const d = await cas('GetUserCertificateDetail', { CertId: up.CertId });
  assert.equal(d.Common, '');
  assert.equal(d.Issuer, '');
  assert.equal(d.Sans, 'nameless.example.com');
});

test('UploadPCACert accepts a CA certificate with an empty subject', async () => {
  const up = await cas('UploadPCACert', { Name: 'nameless-root', Cert: read('ca.pem'), WarehouseId: 1 });
  const list = await cas('ListCert', { WarehouseId: 1, CertType: 'CA' });
  const entry = list.CertList.find((c: { Identifier: string }) => c.Identifier === up.Identifier);
  assert.ok(entry);
  assert.equal(entry.CommonName, '');
});
