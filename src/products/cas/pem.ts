/**
 * Reading uploaded certificates and private keys: PEM text → parsed, normalised objects and
 * the facts the certificate service reports (names, validity, fingerprints). Pure apart from
 * node:crypto. Error reasons never quote key material.
 */
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';

/** Why an upload cannot be read; the message is safe to show (it never contains the input). */
export class PemError extends Error {}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----([\s\S]*?)-----END \1-----/g;
/** `openssl ecparam -genkey` writes the curve name in a block of its own before the key. */
const EC_PARAMETERS_BLOCK = /-----BEGIN EC PARAMETERS-----[\s\S]*?-----END EC PARAMETERS-----/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Rebuilds a block the canonical way: callers paste PEM with spaces, CRLF or no newlines at all. */
function canonicalBlock(label: string, body: string, what: string): string {
  const base64 = body.replace(/\s+/g, '');
  if (!BASE64.test(base64)) throw new PemError(`${what} is not valid base64 PEM.`);
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function onlyWhitespaceLeft(text: string, ...blocks: RegExp[]): boolean {
  let rest = text;
  for (const block of blocks) rest = rest.replace(block, '');
  return rest.trim() === '';
}

export interface CertificateChain {
  /** Leaf first, then whatever intermediates or roots followed it, as canonical PEM. */
  pem: string;
  certs: X509Certificate[];
}

/** One or more `CERTIFICATE` blocks and nothing else. */
export function parseCertificateChain(text: string): CertificateChain {
  const blocks = [...text.matchAll(CERT_BLOCK)];
  if (blocks.length === 0) throw new PemError('No -----BEGIN CERTIFICATE----- block was found.');
  if (!onlyWhitespaceLeft(text, CERT_BLOCK)) throw new PemError('There is text outside the certificate PEM blocks.');
  const pems = blocks.map((b, i) => canonicalBlock('CERTIFICATE', b[1], `Certificate ${i + 1}`));
  const certs = pems.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw new PemError(`Certificate ${i + 1} is not a valid X.509 certificate.`);
    }
  });
  return { pem: pems.join(''), certs };
}

export interface PrivateKey {
  /** Canonical PEM of the key block as uploaded (PKCS#1, SEC1 or PKCS#8). */
  pem: string;
  key: KeyObject;
}

/** Exactly one unencrypted private key (an EC PARAMETERS block before it is tolerated). */
export function parsePrivateKey(text: string): PrivateKey {
  if (/ENCRYPTED PRIVATE KEY|Proc-Type:\s*4,\s*ENCRYPTED/.test(text)) {
    throw new PemError('Encrypted private keys are not supported; upload the key without a passphrase.');
  }
  const blocks = [...text.matchAll(KEY_BLOCK)];
  if (blocks.length === 0) throw new PemError('No -----BEGIN PRIVATE KEY----- block was found.');
  if (blocks.length > 1) throw new PemError('Exactly one private key is expected.');
  if (!onlyWhitespaceLeft(text, KEY_BLOCK, EC_PARAMETERS_BLOCK)) {
    throw new PemError('There is text outside the private key PEM block.');
  }
  const pem = canonicalBlock(blocks[0][1], blocks[0][2], 'The private key');
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch {
    throw new PemError('The private key could not be read.');
  }
}

/** True when the key is the private half of the certificate's public key. */
export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

// --- facts the certificate service reports ------------------------------------------------

/** `RSA` or `ECC` as the service names them; anything else is not accepted for TLS here. */
export function keyAlgorithm(cert: X509Certificate): 'RSA' | 'ECC' | undefined {
  const type = cert.publicKey.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') return 'RSA';
  if (type === 'ec') return 'ECC';
  return undefined;
}

/**
 * A distinguished name as Node prints it (`C=CN\nO=Example\nCN=a.example.com`) → first value per
 * attribute. Node gives `undefined` for an empty name (`openssl req -subj "/"`, common for
 * certificates that name their hosts only in subjectAltName): that is a name with no attributes.
 */
export function parseDistinguishedName(dn: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (dn === undefined) return out;
  for (const line of dn.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const name = line.slice(0, eq);
    let value = line.slice(eq + 1);
    // Node quotes values that contain separators, JSON-style.
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // keep the raw text
      }
    }
    if (!(name in out)) out[name] = value;
  }
  return out;
}

/** DNS names and IP addresses from subjectAltName. */
export function subjectAltNames(cert: X509Certificate): string[] {
  if (!cert.subjectAltName) return [];
  return cert.subjectAltName
    .split(', ')
    .map((entry) => /^(DNS|IP Address):(.*)$/.exec(entry))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[2]);
}

export interface CertificateFacts {
  commonName: string;
  subject: { OrgName?: string; Country?: string; Province?: string; City?: string };
  issuerCommonName: string;
  /** The issuing organisation, else its common name (what the service shows as Issuer). */
  issuer: string;
  sans: string[];
  serialNo: string;
  /** SHA-1 and SHA-256 of the DER, upper-case hex without separators. */
  fingerprint: string;
  sha2: string;
  notBefore: number;
  notAfter: number;
  isCa: boolean;
}

export function certificateFacts(cert: X509Certificate): CertificateFacts {
  const subject = parseDistinguishedName(cert.subject);
  const issuer = parseDistinguishedName(cert.issuer);
  return {
    commonName: subject.CN ?? '',
    subject: { OrgName: subject.O, Country: subject.C, Province: subject.ST, City: subject.L },
    issuerCommonName: issuer.CN ?? '',
    issuer: issuer.O ?? issuer.CN ?? '',
    sans: subjectAltNames(cert),
    serialNo: cert.serialNumber.toLowerCase(),
    fingerprint: cert.fingerprint.replace(/:/g, '').toUpperCase(),
    sha2: cert.fingerprint256.replace(/:/g, '').toUpperCase(),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    isCa: cert.ca,
  };
}
