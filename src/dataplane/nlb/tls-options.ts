/**
 * The TLS settings of a TCPSSL listener, built from the snapshot's rows (see tls-material.ts):
 * its default certificate, SNI certificates, CA for mutual TLS, security policy and ALPN policy.
 */
import tls from 'node:tls';
import { X509Certificate, hkdfSync } from 'node:crypto';
import { DEFAULT_SYSTEM_POLICY_ID, nodeTlsSettings } from '../../domain/tls-policies.js';
import type { ListenerDoc } from '../../domain/nlb-documents.js';
import type { TlsMaterial } from './tls-material.js';

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

export function buildTlsOptions(material: TlsMaterial, regionId: string, doc: ListenerDoc, listenerId: string): tls.TlsOptions {
  const policyId = doc.SecurityPolicyId || DEFAULT_SYSTEM_POLICY_ID;
  const policy = material.securityPolicy(regionId, policyId);
  if (!policy) throw new TlsSetupError(`security policy ${policyId} not found`);
  const versions = nodeTlsSettings({ tlsVersions: policy.tlsVersions, ciphers: policy.ciphers });
  const policyOptions = {
    minVersion: versions.minVersion,
    maxVersion: versions.maxVersion,
    ciphers: versions.ciphers,
    secureOptions: versions.secureOptions,
    honorCipherOrder: true,
  };

  const main = serverCertificate(material, doc.CertificateIds[0]);
  const options: tls.TlsOptions = { ...policyOptions, cert: main.cert, key: main.key, ticketKeys: ticketKeys(listenerId, main.key) };

  if (doc.CaEnabled) {
    const cas = doc.CaCertificateIds.map((id) => material.certificate(id));
    if (cas.some((c) => !c)) throw new TlsSetupError('CA certificate not found');
    options.ca = cas.map((c) => c!.certPem);
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  if (doc.AlpnEnabled && doc.AlpnPolicy) options.ALPNProtocols = ALPN[doc.AlpnPolicy];

  // SNI: each additional certificate answers for the names it carries; others get the default.
  const extras = doc.AdditionalCertificates.filter((c) => c.Status !== 'Diassociating');
  if (extras.length > 0) {
    const contexts: Array<{ names: string[]; context: tls.SecureContext }> = [];
    for (const extra of extras) {
      const c = serverCertificate(material, extra.CertificateId);
      const context = tls.createSecureContext({ ...policyOptions, cert: c.cert, key: c.key, ca: options.ca });
      contexts.push({ names: c.names, context });
    }
    options.SNICallback = (servername, callback) => {
      const name = servername.toLowerCase();
      const match = contexts.find((c) => c.names.some((n) => nameMatches(n, name)));
      callback(null, match?.context);
    };
  }
  return options;
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
