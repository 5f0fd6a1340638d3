/**
 * The TLS settings of a TCPSSL listener, built from the snapshot's rows (see tls-material.ts):
 * its default certificate, SNI certificates, CA for mutual TLS, security policy and ALPN policy.
 */
import tls from 'node:tls';
import { X509Certificate, hkdfSync } from 'node:crypto';
import { DEFAULT_SYSTEM_POLICY_ID, nodeTlsSettings } from '../../domain/tls-policies.js';
import type { ListenerDoc } from '../../domain/nlb-documents.js';
import type { TlsMaterial } from './tls-material.js';
import { opensslVersion, type NativeTlsSpec } from '../native/tls-relay.js';

const ALPN: Record<string, string[]> = {
  HTTP1Only: ['http/1.1'],
  HTTP2Only: ['h2'],
  HTTP2Optional: ['http/1.1', 'h2'],
  HTTP2Preferred: ['h2', 'http/1.1'],
};

export class TlsSetupError extends Error {}

/** Everything that, when it changes, needs new TLS contexts (the listener rebinds). */
export function tlsFingerprint(doc: ListenerDoc): string {
  return JSON.stringify([
    doc.CertificateIds,
    doc.CaEnabled,
    doc.CaCertificateIds,
    doc.SecurityPolicyId,
    doc.AlpnEnabled,
    doc.AlpnPolicy,
    doc.AdditionalCertificates.filter((c) => c.Status !== 'Diassociating').map((c) => c.CertificateId),
  ]);
}

/** What both TLS engines are built from: the listener's certificates, policy and ALPN, resolved. */
interface ResolvedTls {
  policy: ReturnType<typeof nodeTlsSettings>;
  main: { cert: string; key: string };
  /** PEM of each CA certificate, when mutual TLS is on. */
  ca?: string[];
  alpn?: string[];
  sni: Array<{ names: string[]; cert: string; key: string }>;
  ticketKeys: Buffer;
}

function resolveTls(material: TlsMaterial, regionId: string, doc: ListenerDoc, listenerId: string): ResolvedTls {
  const policyId = doc.SecurityPolicyId || DEFAULT_SYSTEM_POLICY_ID;
  const policy = material.securityPolicy(regionId, policyId);
  if (!policy) throw new TlsSetupError(`security policy ${policyId} not found`);
  const main = serverCertificate(material, doc.CertificateIds[0]);
  let ca: string[] | undefined;
  if (doc.CaEnabled) {
    const cas = doc.CaCertificateIds.map((id) => material.certificate(id));
    if (cas.some((c) => !c)) throw new TlsSetupError('CA certificate not found');
    ca = cas.map((c) => c!.certPem);
  }
  // SNI: each additional certificate answers for the names it carries; others get the default.
  const sni = doc.AdditionalCertificates.filter((c) => c.Status !== 'Diassociating').map((extra) =>
    serverCertificate(material, extra.CertificateId),
  );
  return {
    policy: nodeTlsSettings({ tlsVersions: policy.tlsVersions, ciphers: policy.ciphers }),
    main,
    ca,
    alpn: doc.AlpnEnabled && doc.AlpnPolicy ? ALPN[doc.AlpnPolicy] : undefined,
    sni,
    ticketKeys: ticketKeys(listenerId, main.key),
  };
}

/** Options for Node's `tls.createServer` (the fallback engine). */
export function buildTlsOptions(material: TlsMaterial, regionId: string, doc: ListenerDoc, listenerId: string): tls.TlsOptions {
  const r = resolveTls(material, regionId, doc, listenerId);
  const policyOptions = {
    minVersion: r.policy.minVersion,
    maxVersion: r.policy.maxVersion,
    ciphers: r.policy.ciphers,
    secureOptions: r.policy.secureOptions,
    honorCipherOrder: true,
  };
  const options: tls.TlsOptions = { ...policyOptions, cert: r.main.cert, key: r.main.key, ticketKeys: r.ticketKeys };
  if (r.ca) {
    options.ca = r.ca;
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  if (r.alpn) options.ALPNProtocols = r.alpn;
  if (r.sni.length > 0) {
    const contexts = r.sni.map((c) => ({
      names: c.names,
      context: tls.createSecureContext({ ...policyOptions, cert: c.cert, key: c.key, ca: options.ca }),
    }));
    options.SNICallback = (servername, callback) => {
      const name = servername.toLowerCase();
      const match = contexts.find((c) => c.names.some((n) => nameMatches(n, name)));
      callback(null, match?.context);
    };
  }
  return options;
}

/** The same settings for the native TLS relay (native/tls_relay.c matches SNI names as `nameMatches`). */
export function buildNativeTlsSpec(material: TlsMaterial, regionId: string, doc: ListenerDoc, listenerId: string): NativeTlsSpec {
  const r = resolveTls(material, regionId, doc, listenerId);
  // Node takes TLS 1.3 suites and older ciphers in one string; OpenSSL takes them apart.
  const parts = r.policy.ciphers.split(':').filter(Boolean);
  return {
    certPem: r.main.cert,
    keyPem: r.main.key,
    caPem: r.ca ? r.ca.join('\n') : '',
    minVersion: opensslVersion(r.policy.minVersion),
    maxVersion: opensslVersion(r.policy.maxVersion),
    cipherList: parts.filter((c) => !c.startsWith('TLS_')).join(':'),
    cipherSuites: parts.filter((c) => c.startsWith('TLS_')).join(':'),
    secureOptions: r.policy.secureOptions,
    alpn: r.alpn ?? [],
    ticketKeys: r.ticketKeys,
    sni: r.sni.map((c) => ({ names: c.names, certPem: c.cert, keyPem: c.key })),
  };
}

function serverCertificate(material: TlsMaterial, id: string | undefined) {
  if (!id) throw new TlsSetupError('listener has no server certificate');
  const found = material.certificate(id);
  if (!found || !found.keyPem) throw new TlsSetupError(`server certificate ${id} not found`);
  const x509 = new X509Certificate(found.certPem);
  const names = [found.commonName, ...found.sans].filter(Boolean).map((n) => n.toLowerCase());
  if (x509.subjectAltName) {
    for (const part of x509.subjectAltName.split(/,\s*/)) {
      if (part.startsWith('DNS:')) names.push(part.slice(4).toLowerCase());
    }
  }
  return { cert: found.certPem, key: found.keyPem, names };
}

/** Exact names, and `*.example.com` for exactly one leading label. */
function nameMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith('*.')) return false;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

/**
 * Session-ticket keys (48 bytes: name, HMAC and AES keys) for a listener. Node makes random
 * ones per server, so a client resuming on another worker, or after a rebind or restart, would
 * get a full handshake again. These are derived from the listener's ID and its certificate's
 * private key: the same in every worker and across restarts, new when the certificate changes,
 * and not guessable without the key.
 */
function ticketKeys(listenerId: string, keyPem: string): Buffer {
  return Buffer.from(hkdfSync('sha256', keyPem, listenerId, 'openslb tls session tickets', 48));
}
