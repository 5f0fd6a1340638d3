/**
 * TCPSSL listeners and their certificates: the default and CA certificates set on the
 * listener, additional (SNI) certificates and their statuses, and every refusal around them.
 * Certificates are real, made with openssl and uploaded through the certificate service.
 * Jobs finish only when the test moves the clock, so `Associating`/`Diassociating` are visible.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/util/clock.js';
import { NLB, callApi, callError, waitForJob, type TestServer } from '../../support/server.js';
import { startSlowServer } from '../../support/slow-server.js';

const CAS = '2020-04-07';
// Small: the manual clock only moves when told, and signatures must stay within 15 minutes of it.
const DELAY_MS = 1_000;
const clock = new ManualClock(Date.now());
let server: TestServer;
let pki: string;

const call = (action: string, params: Record<string, unknown> = {}) => callApi(server, NLB, action, params);
const read = (action: string, params: Record<string, unknown>) => callApi(server, NLB, action, params, { placement: 'query' });
const certificates = (params: Record<string, unknown>) => call('ListListenerCertificates', params);
const status = async (ListenerId: string) => (await read('GetListenerAttribute', { ListenerId })).ListenerStatus;

async function settle(jobId: string): Promise<void> {
  clock.advance(DELAY_MS);
  assert.equal(await waitForJob(server, jobId), 'Succeeded');
}

// --- certificates ---------------------------------------------------------------------------

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
}

function newKey(name: string): void {
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
}

function makeCa(): string {
  newKey('ca');
  openssl('req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=OpenSLB Test CA');
  return readFileSync(join(pki, 'ca.pem'), 'utf8');
}

function makeServerCert(host: string): { cert: string; key: string } {
  newKey(host);
  openssl('req', '-new', '-key', `${host}.key`, '-subj', `/CN=${host}`, '-out', `${host}.csr`);
  writeFileSync(join(pki, `${host}.ext`), `subjectAltName=DNS:${host}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${host}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    `${host}.ext`,
    '-out',
    `${host}.pem`,
  );
  return { cert: readFileSync(join(pki, `${host}.pem`), 'utf8'), key: readFileSync(join(pki, `${host}.key`), 'utf8') };
}

/** Uploads a server certificate; returns the `<CertId>-<region>` form NLB documents. */
async function uploadServerCert(host: string): Promise<string> {
  const { cert, key } = makeServerCert(host);
  const { CertId } = await callApi(server, CAS, 'UploadUserCertificate', { Name: host, Cert: cert, Key: key });
  return `${CertId}-cn-hangzhou`;
}

// --- fixtures -------------------------------------------------------------------------------

let lb: string;
let tlsGroup: string;
let tcpGroup: string;
let defaultCert: string;
let caCert: string;
const sni: string[] = [];

before(async () => {
  pki = mkdtempSync(join(tmpdir(), 'openslb-pki-'));
  server = await startSlowServer({ clock, delayMs: DELAY_MS, configure: (c) => (c.quotas.nlbAdditionalCertificatesPerLoadBalancer = 4) });
  const created = await call('CreateLoadBalancer', {
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: [
      { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' },
      { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' },
    ],
  });
  lb = created.LoadbalancerId;
  tlsGroup = (await call('CreateServerGroup', { ServerGroupName: 'tls-group', VpcId: 'vpc-local', PreserveClientIpEnabled: false }))
    .ServerGroupId;
  tcpGroup = (await call('CreateServerGroup', { ServerGroupName: 'tcp-group', VpcId: 'vpc-local' })).ServerGroupId;
  clock.advance(DELAY_MS);
  for (let i = 0; i < 500; i++) {
    if ((await read('GetLoadBalancerAttribute', { LoadBalancerId: lb })).LoadBalancerStatus === 'Active') break;
    await new Promise((r) => setTimeout(r, 10));
  }

  const ca = makeCa();
  caCert = (await callApi(server, CAS, 'UploadPCACert', { Cert: ca, WarehouseId: 1, Name: 'test-ca' })).Identifier;
  defaultCert = await uploadServerCert('default.example.com');
  for (const host of ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com', 'e.example.com']) {
    sni.push(await uploadServerCert(host));
  }
});
after(async () => {
  await server?.stop();
  if (pki) rmSync(pki, { recursive: true, force: true });
});

let portCounter = 8440;
async function tlsListener(extra: Record<string, unknown> = {}): Promise<string> {
  const { ListenerId, JobId } = await call('CreateListener', {
    LoadBalancerId: lb,
    ListenerProtocol: 'TCPSSL',
    ListenerPort: ++portCounter,
    ServerGroupId: tlsGroup,
    CertificateIds: [defaultCert],
    ...extra,
  });
  await settle(JobId);
  return ListenerId;
}

// --- TCPSSL listeners -------------------------------------------------------------------------

test('a TCPSSL listener with a server certificate, mutual TLS and ALPN', async () => {
  const { ListenerId, JobId } = await call('CreateListener', {
    LoadBalancerId: lb,
    ListenerProtocol: 'TCPSSL',
    ListenerPort: 443,
    ServerGroupId: tlsGroup,
    CertificateIds: [defaultCert],
    CaEnabled: true,
    CaCertificateIds: [caCert],
    AlpnEnabled: true,
    AlpnPolicy: 'HTTP2Preferred',
  });
  // While it is provisioning, its certificates are still being bound.
  const early = await certificates({ ListenerId });
  assert.deepEqual(
    early.Certificates.map((c: any) => c.Status),
    ['Associating', 'Associating'],
  );
  await settle(JobId);

  const l = await read('GetListenerAttribute', { ListenerId });
  assert.equal(l.ListenerStatus, 'Running');
  assert.deepEqual(l.CertificateIds, [defaultCert]);
  assert.deepEqual(l.CaCertificateIds, [caCert]);
  assert.equal(l.CaEnabled, true);
  assert.equal(l.AlpnEnabled, true);
  assert.equal(l.AlpnPolicy, 'HTTP2Preferred');
  assert.equal(l.SecurityPolicyId, 'tls_cipher_policy_1_0');
  assert.equal(l.IdleTimeout, 900);

  const listed = await certificates({ ListenerId });
  assert.deepEqual(listed.Certificates, [
    { CertificateId: defaultCert, CertificateType: 'Server', IsDefault: true, Status: 'Associated' },
    { CertificateId: caCert, CertificateType: 'Ca', IsDefault: true, Status: 'Associated' },
  ]);
  assert.deepEqual(listed.CertificateIds, [defaultCert]);
  assert.equal(listed.TotalCount, 2);
  const onlyCa = await certificates({ ListenerId, CertType: 'Ca' });
  assert.deepEqual(
    onlyCa.Certificates.map((c: any) => c.CertificateId),
    [caCert],
  );

  // TCP and TCPSSL share the TCP port space of an NLB.
  const clash = await callError(
    call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 443, ServerGroupId: tcpGroup }),
  );
  assert.equal(clash.code, 'Conflict.Port');
});

test('certificates must exist, with the right type', async () => {
  const base = { LoadBalancerId: lb, ListenerProtocol: 'TCPSSL', ListenerPort: 444, ServerGroupId: tlsGroup };
  const unknownServer = await callError(call('CreateListener', { ...base, CertificateIds: ['99999999-cn-hangzhou'] }));
  assert.equal(unknownServer.code, 'ResourceNotFound.Certificate');
  assert.equal(unknownServer.statusCode, 400);
  const caAsServer = await callError(call('CreateListener', { ...base, CertificateIds: [caCert] }));
  assert.equal(caAsServer.code, 'ResourceNotFound.Certificate');
  const unknownCa = await callError(
    call('CreateListener', {
      ...base,
      CertificateIds: [defaultCert],
      CaEnabled: true,
      CaCertificateIds: ['00000000-0000-0000-0000-000000000000'],
    }),
  );
  assert.equal(unknownCa.code, 'ResourceNotFound.CaCertificate');
  assert.equal(unknownCa.statusCode, 404);
  const serverAsCa = await callError(
    call('CreateListener', { ...base, CertificateIds: [defaultCert], CaEnabled: true, CaCertificateIds: [sni[0]] }),
  );
  assert.equal(serverAsCa.code, 'ResourceNotFound.CaCertificate');
  const twoCas = await callError(
    call('CreateListener', { ...base, CertificateIds: [defaultCert], CaEnabled: true, CaCertificateIds: [caCert, caCert] }),
  );
  assert.equal(twoCas.code, 'IllegalParamSize.certificateIds');
});

test('custom security policies are accepted by ID', async () => {
  const policy = await call('CreateSecurityPolicy', {
    TlsVersions: ['TLSv1.2'],
    Ciphers: ['ECDHE-ECDSA-AES128-GCM-SHA256'],
    SecurityPolicyName: 'strict-one',
  });
  await settle(policy.JobId);
  const id = await tlsListener({ SecurityPolicyId: policy.SecurityPolicyId });
  assert.equal((await read('GetListenerAttribute', { ListenerId: id })).SecurityPolicyId, policy.SecurityPolicyId);
  const e = await callError(call('UpdateListenerAttribute', { ListenerId: id, SecurityPolicyId: 'tls-doesnotexist00000' }));
  assert.equal(e.code, 'ResourceNotFound.securitypolicy');
});

// --- additional certificates -----------------------------------------------------------------

test('associating additional certificates: Associating, then Associated; the listener is Configuring meanwhile', async () => {
  const ListenerId = await tlsListener();
  const { JobId } = await call('AssociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[0], sni[1]] });
  assert.equal(await status(ListenerId), 'Configuring');
  const pending = await certificates({ ListenerId });
  assert.deepEqual(
    pending.Certificates.map((c: any) => [c.CertificateId, c.IsDefault, c.Status]),
    [
      [defaultCert, true, 'Associated'],
      [sni[0], false, 'Associating'],
      [sni[1], false, 'Associating'],
    ],
  );
  const busy = await callError(call('AssociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[2]] }));
  assert.equal(busy.code, 'IncorrectStatus.listener');
  await settle(JobId);

  assert.equal(await status(ListenerId), 'Running');
  const done = await certificates({ ListenerId, CertType: 'Server' });
  assert.deepEqual(
    done.Certificates.map((c: any) => c.Status),
    ['Associated', 'Associated', 'Associated'],
  );
  assert.deepEqual(done.CertificateIds, [defaultCert, sni[0], sni[1]]);
  const paged = await certificates({ ListenerId, MaxResults: 2 });
  assert.equal(paged.Certificates.length, 2);
  assert.ok(paged.NextToken);
  const filtered = await certificates({ ListenerId, CertificateIds: [sni[1]] });
  assert.deepEqual(
    filtered.Certificates.map((c: any) => c.CertificateId),
    [sni[1]],
  );

  // GetListenerAttribute keeps showing only the default certificate.
  assert.deepEqual((await read('GetListenerAttribute', { ListenerId })).CertificateIds, [defaultCert]);
});

test('association refusals', async () => {
  const ListenerId = await tlsListener();
  const codeFor = async (ids: string[], id = ListenerId) =>
    (await callError(call('AssociateAdditionalCertificatesWithListener', { ListenerId: id, AdditionalCertificateIds: ids }))).code;
  assert.equal(await codeFor([defaultCert]), 'ResourceAlreadyAssociated.Certificate');
  assert.equal(await codeFor(['99999999-cn-hangzhou']), 'ResourceNotFound.Certificate');
  assert.equal(await codeFor([caCert]), 'ResourceNotFound.Certificate');
  assert.equal(await codeFor([sni[3], sni[3]]), 'DuplicatedParam.AdditionalCertificateIds');
  assert.equal(await codeFor(Array.from({ length: 16 }, (_, i) => `${1000 + i}`)), 'IllegalParamSize.AdditionalCertificateIds');
  assert.equal(await codeFor([]), 'MissingParam.AdditionalCertificateIds');
  assert.equal(await codeFor([sni[3]], 'lsn-doesnotexist0000000@1'), 'ResourceNotFound.listener');

  const tcp = await call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 9000, ServerGroupId: tcpGroup });
  await settle(tcp.JobId);
  assert.equal(await codeFor([sni[3]], tcp.ListenerId), 'OperationDenied.Protocol');
  assert.equal((await callError(certificates({ ListenerId: tcp.ListenerId }))).code, 'OperationDenied.Protocol');
  assert.equal((await callError(certificates({ ListenerId: 'lsn-doesnotexist0000000@1' }))).code, 'ResourceNotFound.listener');

  const { JobId } = await call('AssociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[3]] });
  await settle(JobId);
  assert.equal(await codeFor([sni[3]]), 'ResourceAlreadyAssociated.Certificate');

  const dry = await callError(
    call('AssociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[4]], DryRun: true }),
  );
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal((await certificates({ ListenerId })).TotalCount, 2);
});

test('the additional-certificate quota counts every listener of the NLB', async () => {
  // Earlier tests left three additional certificates on this NLB; the quota is 4.
  const ListenerId = await tlsListener();
  const e = await callError(
    call('AssociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[2], sni[4]] }),
  );
  assert.equal(e.code, 'QuotaExceeded.QuotaInsufficient');
  assert.match(e.data.Message, /usage 3\/4/);
  const { JobId } = await call('AssociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[2]] });
  await settle(JobId);
});

test('disassociating: Diassociating, then gone; the default and CA certificates stay', async () => {
  const ListenerId = await tlsListener({ CaEnabled: true, CaCertificateIds: [caCert] });
  // Make room under the NLB's quota first.
  const listeners = await read('ListListeners', { LoadBalancerIds: [lb], ListenerProtocol: 'TCPSSL' });
  for (const l of listeners.Listeners) {
    const extra = (await certificates({ ListenerId: l.ListenerId })).Certificates.filter((c: any) => !c.IsDefault);
    if (extra.length === 0) continue;
    const { JobId } = await call('DisassociateAdditionalCertificatesWithListener', {
      ListenerId: l.ListenerId,
      AdditionalCertificateIds: extra.map((c: any) => c.CertificateId),
    });
    await settle(JobId);
  }
  const assoc = await call('AssociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[0], sni[1]] });
  await settle(assoc.JobId);

  const codeFor = async (ids: string[]) =>
    (await callError(call('DisassociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: ids }))).code;
  assert.equal(await codeFor([defaultCert]), 'OperationDenied.DefaultCertificateUsed');
  assert.equal(await codeFor([caCert]), 'OperationDenied.CaCertificateUsed');
  assert.equal(await codeFor([sni[4]]), 'ResourceNotAssociated.Certificate');

  const { JobId } = await call('DisassociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[0]] });
  const leaving = await certificates({ ListenerId, CertType: 'Server' });
  assert.deepEqual(
    leaving.Certificates.map((c: any) => [c.CertificateId, c.Status]),
    [
      [defaultCert, 'Associated'],
      [sni[0], 'Diassociating'],
      [sni[1], 'Associated'],
    ],
  );
  await settle(JobId);
  const after = await certificates({ ListenerId });
  assert.deepEqual(
    after.Certificates.map((c: any) => c.CertificateId),
    [defaultCert, caCert, sni[1]],
  );
});

test('updating a TCPSSL listener: a new default certificate, not one already associated; TLS rules still apply', async () => {
  const ListenerId = await tlsListener();
  const assoc = await call('AssociateAdditionalCertificatesWithListener', { ListenerId, AdditionalCertificateIds: [sni[3]] });
  await settle(assoc.JobId);

  const codeFor = async (params: Record<string, unknown>) =>
    (await callError(call('UpdateListenerAttribute', { ListenerId, ...params }))).code;
  assert.equal(await codeFor({ CertificateIds: [sni[3]] }), 'ResourceAlreadyAssociated.Certificate');
  assert.equal(await codeFor({ CertificateIds: [sni[4], sni[2]] }), 'IllegalParamSize.certificateIds');
  assert.equal(await codeFor({ AlpnEnabled: true }), 'MissingParam.AlpnPolicy');
  assert.equal(await codeFor({ CaEnabled: true }), 'MissingParam.CaCertificateIds');
  assert.equal(await codeFor({ CertificateIds: ['99999999-cn-hangzhou'] }), 'ResourceNotFound.Certificate');
  assert.equal(await codeFor({ IdleTimeout: 901 }), 'IllegalParam.IdleTimeout');
  assert.equal(await codeFor({ ServerGroupId: tcpGroup }), 'IllegalParam.PreserveClientIpSwitch');

  const { JobId } = await call('UpdateListenerAttribute', {
    ListenerId,
    CertificateIds: [sni[4]],
    CaEnabled: true,
    CaCertificateIds: [caCert],
    SecurityPolicyId: 'tls_cipher_policy_1_2',
    Mss: 1300,
  });
  assert.equal(await status(ListenerId), 'Configuring');
  await settle(JobId);
  const l = await read('GetListenerAttribute', { ListenerId });
  assert.deepEqual(l.CertificateIds, [sni[4]]);
  assert.deepEqual(l.CaCertificateIds, [caCert]);
  assert.equal(l.CaEnabled, true);
  assert.equal(l.SecurityPolicyId, 'tls_cipher_policy_1_2');
  assert.equal(l.Mss, 1300);
  assert.equal(l.ListenerStatus, 'Running');
});

test('certificate changes wait while the NLB itself is being reconfigured', async () => {
  const ListenerId = await tlsListener();
  const busy = await call('UpdateLoadBalancerAttribute', { LoadBalancerId: lb, LoadBalancerName: 'busy-nlb' });
  for (const action of ['AssociateAdditionalCertificatesWithListener', 'DisassociateAdditionalCertificatesWithListener']) {
    const e = await callError(call(action, { ListenerId, AdditionalCertificateIds: [sni[0]] }));
    assert.equal(e.code, 'IncorrectStatus.loadbalancer', action);
  }
  await settle(busy.JobId);
});
