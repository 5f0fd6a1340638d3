/**
 * TCPSSL listeners terminate TLS as configured through the API: certificate, security policy,
 * ALPN, SNI certificates and mutual TLS, with plain TCP to the backend.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NLB, callApi, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';
import { startTcpBackend, type TcpBackend } from '../../support/backends.js';
import { makeTestPki, type TestPki } from '../../products/cas/openssl.js';
import { CAS_VERSION } from '../../../src/products/cas/index.js';

let server: TestServer;
let lb: { id: string; vips: string[] };
let backend: TcpBackend;
let pki: TestPki;
let group: string;

before(async () => {
  pki = makeTestPki();
  server = await startTestServer();
  lb = await createActiveLoadBalancer(server);
  backend = await startTcpBackend('127.0.3.20', 'plain');
  group = await createServerGroup(server, { PreserveClientIpEnabled: false }, [{ ip: backend.host, port: backend.port }]);
});
after(async () => {
  await server?.stop();
  await backend?.close();
});

async function uploadServerCert(name: string, cert: string, key: string): Promise<string> {
  const { CertId } = await callApi(server, CAS_VERSION, 'UploadUserCertificate', { Name: name, Cert: cert, Key: key });
  return `${CertId}-cn-hangzhou`;
}

function handshake(port: number, options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: lb.vips[0], port, ...options }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function roundTrip(socket: tls.TLSSocket, line: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (d) => resolve(d.toString()));
    socket.write(line);
  });
}

/** A client certificate signed by the test CA, made with openssl. */
function clientCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'openslb-client-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), pki.caCert);
    writeFileSync(join(dir, 'ca.key'), pki.caKey);
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'c.key', '-out', 'c.csr', '-subj', '/CN=client']);
    run(['x509', '-req', '-in', 'c.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'c.pem', '-days', '2']);
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'c.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('TLS is terminated with the listener certificate, policy and ALPN; the backend gets plain TCP', async () => {
  const cert = await uploadServerCert('www', pki.serverCert, pki.serverKey);
  await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCPSSL',
    ListenerPort: 8443,
    ServerGroupId: group,
    CertificateIds: [cert],
    SecurityPolicyId: 'tls_cipher_policy_1_2',
    AlpnEnabled: true,
    AlpnPolicy: 'HTTP2Preferred',
  });
  const socket = await handshake(8443, { servername: 'www.example.com', ca: pki.caCert, ALPNProtocols: ['http/1.1', 'h2'] });
  assert.equal(socket.authorized, true);
  assert.equal(socket.getPeerCertificate().subject.CN, 'www.example.com');
  assert.equal(socket.getProtocol(), 'TLSv1.2');
  assert.equal(socket.alpnProtocol, 'h2');
  assert.equal(await roundTrip(socket, 'secret'), 'plain:secret');
  assert.equal(backend.firstChunks.at(-1)?.toString(), 'secret');
  socket.destroy();

  // The policy's floor is enforced: a TLS 1.1 client is refused.
  await assert.rejects(handshake(8443, { servername: 'www.example.com', ca: pki.caCert, maxVersion: 'TLSv1.1', minVersion: 'TLSv1.1' }));
});

test('an additional certificate answers for its own name (SNI)', async () => {
  const main = await uploadServerCert('www2', pki.serverCert, pki.serverKey);
  const extra = await uploadServerCert('ec', pki.ecCert, pki.ecKey);
  const id = await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCPSSL',
    ListenerPort: 8444,
    ServerGroupId: group,
    CertificateIds: [main],
  });
  const { JobId } = await callApi(server, NLB, 'AssociateAdditionalCertificatesWithListener', {
    ListenerId: id,
    AdditionalCertificateIds: [extra],
  });
  assert.equal(await waitForJob(server, JobId), 'Succeeded');
  const sni = await handshake(8444, { servername: 'ec.example.com', rejectUnauthorized: false });
  assert.equal(sni.getPeerCertificate().subject.CN, 'ec.example.com');
  sni.destroy();
  const other = await handshake(8444, { servername: 'www.example.com', rejectUnauthorized: false });
  assert.equal(other.getPeerCertificate().subject.CN, 'www.example.com');
  other.destroy();
});

test('with CaEnabled, clients need a certificate from the CA', async () => {
  const main = await uploadServerCert('www3', pki.serverCert, pki.serverKey);
  const { Identifier } = await callApi(server, CAS_VERSION, 'UploadPCACert', { Cert: pki.caCert, WarehouseId: 1, Name: 'root' });
  await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCPSSL',
    ListenerPort: 8445,
    ServerGroupId: group,
    CertificateIds: [main],
    CaEnabled: true,
    CaCertificateIds: [Identifier],
  });
  const client = clientCertificate();
  const ok = await handshake(8445, { servername: 'www.example.com', ca: pki.caCert, cert: client.cert, key: client.key });
  assert.equal(await roundTrip(ok, 'mutual'), 'plain:mutual');
  ok.destroy();

  // Without a client certificate the server ends the handshake (TLS 1.3 reports it on first read).
  const refused = await new Promise<string>((resolve) => {
    const s = tls.connect({ host: lb.vips[0], port: 8445, servername: 'www.example.com', ca: pki.caCert }, () => s.write('x'));
    s.once('data', () => resolve('data'));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.once('close', () => resolve('closed'));
  });
  assert.notEqual(refused, 'data');
});

test('updating a custom security policy applies to the TCPSSL listeners that use it', async () => {
  const cert = await uploadServerCert('www-policy', pki.serverCert, pki.serverKey);
  const ciphers = ['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_AES_128_GCM_SHA256'];
  const created = await callApi(server, NLB, 'CreateSecurityPolicy', {
    SecurityPolicyName: 'both',
    TlsVersions: ['TLSv1.2', 'TLSv1.3'],
    Ciphers: ciphers,
  });
  assert.equal(await waitForJob(server, created.JobId), 'Succeeded');
  await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCPSSL',
    ListenerPort: 8446,
    ServerGroupId: group,
    CertificateIds: [cert],
    SecurityPolicyId: created.SecurityPolicyId,
  });
  const client = { servername: 'www.example.com', ca: pki.caCert };
  const before = await handshake(8446, { ...client, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  assert.equal(before.getProtocol(), 'TLSv1.2');
  before.destroy();

  const updated = await callApi(server, NLB, 'UpdateSecurityPolicyAttribute', {
    SecurityPolicyId: created.SecurityPolicyId,
    TlsVersions: ['TLSv1.3'],
    Ciphers: ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384'],
  });
  assert.equal(await waitForJob(server, updated.JobId), 'Succeeded');
  await assert.rejects(handshake(8446, { ...client, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), 'TLS 1.2 is no longer offered');
  const after = await handshake(8446, client);
  assert.equal(after.getProtocol(), 'TLSv1.3');
  assert.equal(await roundTrip(after, 'still'), 'plain:still');
  after.destroy();
});

test('/metrics labels a TCPSSL listener protocol="TCPSSL", not TCP, and counts failed handshakes', async () => {
  const cert = await uploadServerCert('metrics', pki.serverCert, pki.serverKey);
  const id = await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCPSSL',
    ListenerPort: 8447,
    ServerGroupId: group,
    CertificateIds: [cert],
  });
  // Plain HTTP to the TLS port: the handshake fails, no backend is opened, and /metrics counts it.
  const plain = net.connect({ host: lb.vips[0], port: 8447 });
  plain.on('error', () => undefined);
  plain.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((resolve) => plain.once('close', resolve));
  let text = '';
  const failures = new RegExp(`^openslb_listener_tls_handshake_failures_total\\{listener="${id}",protocol="TCPSSL"\\} 1$`, 'm');
  for (let i = 0; i < 100 && !failures.test(text); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 50));
    text = await (await fetch(`${server.running.adminUrl}/metrics`)).text();
  }
  assert.match(text, failures);
  assert.match(text, new RegExp(`^openslb_listener_connections_total\\{listener="${id}",protocol="TCPSSL"\\} `, 'm'));
  assert.doesNotMatch(text, new RegExp(`listener="${id}",protocol="TCP"`));
});

test('TLS sessions resume, also on a re-bound listener (each worker and restart derives the same ticket keys)', async () => {
  const cert = await uploadServerCert('resume', pki.serverCert, pki.serverKey);
  const params = {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCPSSL',
    ListenerPort: 8448,
    ServerGroupId: group,
    CertificateIds: [cert],
    SecurityPolicyId: 'tls_cipher_policy_1_2',
  };
  const id = await createRunningListener(server, params);
  const options = { servername: 'www.example.com', ca: pki.caCert };
  const first = await handshake(8448, options);
  assert.equal(await roundTrip(first, 'one'), 'plain:one');
  const session = first.getSession();
  assert.ok(session, 'the server issued a session ticket');
  first.destroy();

  const again = await handshake(8448, { ...options, session });
  assert.equal(again.isSessionReused(), true);
  again.destroy();

  // A stopped and started listener is a new TLS server, as another worker or a restart is.
  assert.equal(await waitForJob(server, (await callApi(server, NLB, 'StopListener', { ListenerId: id })).JobId), 'Succeeded');
  assert.equal(await waitForJob(server, (await callApi(server, NLB, 'StartListener', { ListenerId: id })).JobId), 'Succeeded');
  const rebound = await handshake(8448, { ...options, session });
  assert.equal(rebound.isSessionReused(), true);
  assert.equal(await roundTrip(rebound, 'two'), 'plain:two');
  rebound.destroy();
});
