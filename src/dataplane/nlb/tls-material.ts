/**
 * What TCPSSL listeners are built from besides their own row — certificates (product `cas`)
 * and custom security policies — looked up in the rows the snapshot already read, so building
 * a TLS context does no store I/O in the middle of a reconcile.
 */
import type { Resource } from '../../domain/resource.js';
import type { CertificateDoc, SecurityPolicyDoc } from '../../domain/nlb-documents.js';
import { parseCertificateRef } from '../../domain/certificates.js';
import { systemTlsPolicy, type TlsPolicy, type TlsVersion } from '../../domain/tls-policies.js';

export interface CertificatePem {
  /** Leaf first, then the chain. */
  certPem: string;
  /** Server certificates only. */
  keyPem?: string;
  commonName: string;
  sans: readonly string[];
}

export interface TlsMaterial {
  /** A system policy by name, or a custom policy of the region by ID; undefined when neither exists. */
  securityPolicy(regionId: string, idOrSystemName: string): TlsPolicy | undefined;
  /** A certificate by the reference a listener holds (`123`, `123-cn-hangzhou`, a CA UUID …). */
  certificate(ref: string): CertificatePem | undefined;
}

export function tlsMaterialFromRows(
  securityPolicies: ReadonlyArray<Resource<unknown>>,
  certificates: ReadonlyArray<Resource<unknown>>,
): TlsMaterial {
  // Indexed on first use: most revisions build no TLS context at all.
  let policies: Map<string, Resource<SecurityPolicyDoc>> | undefined;
  let certs: Map<string, Resource<CertificateDoc>> | undefined;
  return {
    securityPolicy(regionId, idOrSystemName) {
      const system = systemTlsPolicy(idOrSystemName);
      if (system) return { tlsVersions: [...system.tlsVersions], ciphers: [...system.ciphers] };
      policies ??= new Map(securityPolicies.map((p) => [p.id, p as Resource<SecurityPolicyDoc>]));
      const row = policies.get(idOrSystemName);
      if (!row || row.regionId !== regionId) return undefined;
      return { tlsVersions: row.body.TlsVersions as TlsVersion[], ciphers: [...row.body.Ciphers] };
    },
    certificate(ref) {
      const parsed = parseCertificateRef(ref);
      if (!parsed) return undefined;
      certs ??= new Map(certificates.map((c) => [c.id, c as Resource<CertificateDoc>]));
      const row = certs.get(parsed.id);
      // A region suffix must be the certificate's own: `123-cn-shanghai` is not `123-cn-hangzhou`.
      if (!row || (parsed.regionId !== undefined && parsed.regionId !== row.regionId)) return undefined;
      return { certPem: row.body.CertPem, keyPem: row.body.KeyPem, commonName: row.body.CommonName, sans: row.body.Sans };
    },
  };
}
