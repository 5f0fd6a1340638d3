/**
 * TLS security policies as data: the TLS versions and cipher suites NLB knows, the five
 * system policies, the rule a custom policy must satisfy, and the translation to the options
 * Node's `tls` module takes (for the TCPSSL data plane). Pure: no store, no sockets.
 *
 * Cipher names are Alibaba's, which for TLS 1.0–1.2 are OpenSSL's own names and for TLS 1.3
 * the IANA names OpenSSL also uses, so no renaming is needed on the way to OpenSSL.
 */
import { constants } from 'node:crypto';

export const TLS_VERSIONS = ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** Suites the API offers for TLS 1.0 and 1.1; TLS 1.2 accepts them as well. */
export const LEGACY_CIPHERS = [
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-RSA-AES256-SHA',
  'AES128-SHA',
  'AES256-SHA',
  'DES-CBC3-SHA',
] as const;

/** Suites that exist only from TLS 1.2 on (GCM and SHA-2 MACs). */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-RSA-AES256-SHA384',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA256',
  'AES256-SHA256',
] as const;

/** TLS 1.3 suites: usable only by TLS 1.3, and the only suites TLS 1.3 can use. */
export const TLS13_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_AES_128_CCM_8_SHA256',
] as const;

/** Every cipher name a custom policy may list. */
export const ALL_CIPHERS: readonly string[] = [...LEGACY_CIPHERS, ...TLS12_CIPHERS, ...TLS13_CIPHERS];

/** The versions that can negotiate a suite. */
export function versionsForCipher(cipher: string): readonly TlsVersion[] {
  if ((LEGACY_CIPHERS as readonly string[]).includes(cipher)) return ['TLSv1.0', 'TLSv1.1', 'TLSv1.2'];
  if ((TLS12_CIPHERS as readonly string[]).includes(cipher)) return ['TLSv1.2'];
  if ((TLS13_CIPHERS as readonly string[]).includes(cipher)) return ['TLSv1.3'];
  return [];
}

export interface TlsPolicy {
  tlsVersions: TlsVersion[];
  ciphers: string[];
}

export interface SystemTlsPolicy extends TlsPolicy {
  id: string;
}

/** The order the cloud lists tls_cipher_policy_1_0's suites in (ListSystemSecurityPolicy example). */
const POLICY_1_0_CIPHERS = [
  ...TLS12_CIPHERS,
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-RSA-AES256-SHA',
  'AES128-SHA',
  'AES256-SHA',
  'DES-CBC3-SHA',
];

/**
 * The strict policies keep forward secrecy only: the eight ECDHE GCM/SHA-2 suites and the
 * four ECDHE-SHA1 suites — no static RSA key exchange, no 3DES (dataplane-anchors §1.8; the
 * four ECDHE-SHA1 entries are inferred there from the CLB/GA policies of the same name).
 */
const STRICT_CIPHERS = [
  ...TLS12_CIPHERS.filter((c) => c.startsWith('ECDHE-')),
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-RSA-AES256-SHA',
];

/**
 * The five built-in policies. Only tls_cipher_policy_1_0's cipher list is published in full;
 * 1_1 and 1_2 carry the same 19 suites (the docs' matrix shows the same rows, narrowed only by
 * version), the strict ones carry STRICT_CIPHERS, and _with_1_3 adds every TLS 1.3 suite.
 */
export const SYSTEM_TLS_POLICIES: readonly SystemTlsPolicy[] = [
  { id: 'tls_cipher_policy_1_0', tlsVersions: ['TLSv1.0', 'TLSv1.1', 'TLSv1.2'], ciphers: POLICY_1_0_CIPHERS },
  { id: 'tls_cipher_policy_1_1', tlsVersions: ['TLSv1.1', 'TLSv1.2'], ciphers: POLICY_1_0_CIPHERS },
  { id: 'tls_cipher_policy_1_2', tlsVersions: ['TLSv1.2'], ciphers: POLICY_1_0_CIPHERS },
  { id: 'tls_cipher_policy_1_2_strict', tlsVersions: ['TLSv1.2'], ciphers: STRICT_CIPHERS },
  {
    id: 'tls_cipher_policy_1_2_strict_with_1_3',
    tlsVersions: ['TLSv1.2', 'TLSv1.3'],
    ciphers: [...STRICT_CIPHERS, ...TLS13_CIPHERS],
  },
];

/** The policy a TCPSSL listener gets when it names none. */
export const DEFAULT_SYSTEM_POLICY_ID = 'tls_cipher_policy_1_0';

export function systemTlsPolicy(id: string): SystemTlsPolicy | undefined {
  return SYSTEM_TLS_POLICIES.find((p) => p.id === id);
}

/**
 * The rule for custom policies: every listed suite must be negotiable by at least one listed
 * version (e.g. a TLS 1.3 suite needs TLSv1.3), and every listed version must have at least
 * one listed suite (TLSv1.3 without a TLS 1.3 suite, or TLSv1.0 with only TLS 1.2 suites,
 * could never complete a handshake). Returns what is wrong, or undefined when the policy can work.
 */
export function tlsPolicyProblem(policy: TlsPolicy): string | undefined {
  for (const cipher of policy.ciphers) {
    const usable = versionsForCipher(cipher);
    if (!usable.some((v) => policy.tlsVersions.includes(v))) {
      return `${cipher} cannot be used with ${policy.tlsVersions.join(', ')}.`;
    }
  }
  for (const version of policy.tlsVersions) {
    if (!policy.ciphers.some((c) => versionsForCipher(c).includes(version))) {
      return `No listed cipher suite can be used with ${version}.`;
    }
  }
  return undefined;
}

/** Versions in protocol order, whatever order they were given in. */
export function sortVersions(versions: readonly TlsVersion[]): TlsVersion[] {
  return [...versions].sort((a, b) => TLS_VERSIONS.indexOf(a) - TLS_VERSIONS.indexOf(b));
}

// --- Node's tls module ------------------------------------------------------------------

type NodeTlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

const NODE_VERSION_NAMES: Record<TlsVersion, NodeTlsVersion> = {
  'TLSv1.0': 'TLSv1',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};

const NO_VERSION_FLAG: Record<TlsVersion, number> = {
  'TLSv1.0': constants.SSL_OP_NO_TLSv1,
  'TLSv1.1': constants.SSL_OP_NO_TLSv1_1,
  'TLSv1.2': constants.SSL_OP_NO_TLSv1_2,
  'TLSv1.3': constants.SSL_OP_NO_TLSv1_3,
};

/**
 * Suites Node's bundled OpenSSL 3 does not offer at all: 3DES is gone from its default
 * provider. A policy listing them still works; those suites are simply never negotiated.
 */
export const CIPHERS_UNAVAILABLE_IN_NODE: readonly string[] = ['DES-CBC3-SHA'];

export interface NodeTlsSettings {
  minVersion: NodeTlsVersion;
  maxVersion: NodeTlsVersion;
  /** Colon-separated; TLS 1.3 names and older names together, as `tls.createSecureContext` takes them. */
  ciphers: string;
  /** SSL_OP_NO_* for versions inside min..max that the policy leaves out (e.g. 1.0 + 1.2 without 1.1). */
  secureOptions: number;
  /** A policy's cipher order is the server's preference, not a suggestion to the client. */
  honorCipherOrder: true;
  /** Listed suites the local data plane cannot offer. */
  unavailable: string[];
}

/** Options for `tls.createSecureContext` / `tls.createServer` that enforce a policy. */
export function nodeTlsSettings(policy: TlsPolicy): NodeTlsSettings {
  const versions = sortVersions(policy.tlsVersions);
  const min = versions[0];
  const max = versions[versions.length - 1];
  let secureOptions = 0;
  for (const v of TLS_VERSIONS.slice(TLS_VERSIONS.indexOf(min), TLS_VERSIONS.indexOf(max) + 1)) {
    if (!versions.includes(v)) secureOptions |= NO_VERSION_FLAG[v];
  }
  const unavailable = policy.ciphers.filter((c) => CIPHERS_UNAVAILABLE_IN_NODE.includes(c));
  const usable = policy.ciphers.filter((c) => !CIPHERS_UNAVAILABLE_IN_NODE.includes(c));
  const pre13 = usable.filter((c) => !(TLS13_CIPHERS as readonly string[]).includes(c));
  const tls13 = usable.filter((c) => (TLS13_CIPHERS as readonly string[]).includes(c));
  const parts = [...tls13, ...pre13];
  // OpenSSL 3 refuses TLS 1.0/1.1 handshakes (SHA-1 based signatures) above security level 0.
  if (pre13.length > 0 && (versions.includes('TLSv1.0') || versions.includes('TLSv1.1'))) parts.push('@SECLEVEL=0');
  return {
    minVersion: NODE_VERSION_NAMES[min],
    maxVersion: NODE_VERSION_NAMES[max],
    ciphers: parts.join(':'),
    secureOptions,
    honorCipherOrder: true,
    unavailable,
  };
}
