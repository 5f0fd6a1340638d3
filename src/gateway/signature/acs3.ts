/**
 * ACS3-HMAC-SHA256 / ACS3-HMAC-SM3 ("V3") verification, split in two so the caller can look
 * the secret up in between: readAcs3Request does every check that needs no secret,
 * verifyAcs3Signature does the body hash and the signature. The canonicalisation helpers are
 * exported for the published test vectors.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../errors.js';
import { percentEncode } from '../percent-encode.js';
import type { RawRequest } from './types.js';

export type Acs3Algorithm = 'ACS3-HMAC-SHA256' | 'ACS3-HMAC-SM3';

const HASH_OF: Record<Acs3Algorithm, string> = { 'ACS3-HMAC-SHA256': 'sha256', 'ACS3-HMAC-SM3': 'sm3' };

/**
 * Headers that must be covered by the signature: without them a captured request could be
 * re-targeted (host), re-routed (action/version) or replayed (date/nonce), or its body swapped.
 */
const REQUIRED_SIGNED_HEADERS = [
  'host',
  'x-acs-action',
  'x-acs-version',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-content-sha256',
] as const;

/** Headers whose value is a single token; a repeated one would be ambiguous. */
const SINGLE_VALUED_HEADERS = [...REQUIRED_SIGNED_HEADERS, 'x-acs-security-token'];

export interface Acs3Authorization {
  algorithm: Acs3Algorithm;
  accessKeyId: string;
  /** As declared by the client, lower-cased. */
  signedHeaders: string[];
  signature: string;
}

/** Everything the signature covers, extracted and structurally checked. */
export interface Acs3Request {
  algorithm: Acs3Algorithm;
  accessKeyId: string;
  signature: string;
  method: string;
  path: string;
  queryPairs: ReadonlyArray<readonly [string, string]>;
  /** Signed header name (lower case, sorted) to its canonical value. */
  signedHeaderValues: Map<string, string>;
  contentSha256: string;
  action: string;
  version: string;
  date: string;
  nonce: string;
  securityToken?: string;
}

export function incompleteSignature(detail: string): ApiError {
  return new ApiError('IncompleteSignature', `The request signature does not conform to Aliyun standards. ${detail}`, 400);
}

/**
 * Parses `ACS3-HMAC-SHA256 Credential=<ak>,SignedHeaders=a;b;c,Signature=<hex>`.
 * Spaces around the commas are tolerated (some non-Node SDKs write them); unknown fields are
 * ignored because the header itself is not signed and carries nothing else we rely on.
 */
export function parseAcs3Authorization(value: string): Acs3Authorization {
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== 'ACS3-HMAC-SHA256' && algorithm !== 'ACS3-HMAC-SM3') {
    // ACS3-RSA-SHA256 needs the client's public key, which a shared-secret server does not have.
    throw new ApiError('InvalidSignatureMethod', `The signature algorithm ${algorithm} is not supported.`, 400);
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) throw incompleteSignature('The Authorization header is malformed.');
    const key = part.slice(0, eq).trim();
    if (fields.has(key)) throw incompleteSignature(`The Authorization field ${key} is repeated.`);
    fields.set(key, part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) {
    throw incompleteSignature('The Authorization header must carry Credential, SignedHeaders and Signature.');
  }
  const names = signedHeaders.split(';').map((n) => n.trim().toLowerCase());
  if (names.some((n) => n === '')) throw incompleteSignature('SignedHeaders contains an empty name.');
  if (new Set(names).size !== names.length) throw incompleteSignature('SignedHeaders contains a repeated name.');
  return { algorithm, accessKeyId, signedHeaders: names, signature };
}

/** All values of a header (lower-case name) as received. */
export function headerValues(headers: RawRequest['headers'], name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Structural checks that need no secret: the Authorization header, the set of signed headers
 * (host, the x-acs-* set above, every x-acs-* header and content-type present) and that every
 * signed header was actually received.
 *
 * content-type must be signed when present because it decides whether the body is parsed into
 * parameters; otherwise a man in the middle could add or drop it to inject or hide a body.
 * Missing x-acs-action/x-acs-version are reported as IncompleteSignature like the other
 * required headers: for V3 they are part of the signature, not ordinary parameters.
 */
export function readAcs3Request(req: RawRequest, queryPairs: ReadonlyArray<readonly [string, string]>): Acs3Request {
  const authorizations = headerValues(req.headers, 'authorization');
  if (authorizations.length !== 1) throw incompleteSignature('Exactly one Authorization header is required.');
  const auth = parseAcs3Authorization(authorizations[0]);
  const signed = new Set(auth.signedHeaders);

  for (const name of REQUIRED_SIGNED_HEADERS) {
    if (!signed.has(name)) throw incompleteSignature(`The header ${name} must be signed.`);
  }
  for (const name of Object.keys(req.headers)) {
    const lower = name.toLowerCase();
    if (req.headers[name] === undefined) continue;
    if ((lower.startsWith('x-acs-') || lower === 'content-type') && !signed.has(lower)) {
      throw incompleteSignature(`The header ${lower} is present but not signed.`);
    }
  }
  const signedHeaderValues = new Map<string, string>();
  for (const name of [...signed].sort(compareCodeUnits)) {
    const values = headerValues(req.headers, name);
    if (values.length === 0) throw incompleteSignature(`The signed header ${name} is missing.`);
    if (values.length > 1 && SINGLE_VALUED_HEADERS.includes(name)) {
      throw incompleteSignature(`The header ${name} must appear once.`);
    }
    signedHeaderValues.set(name, canonicalHeaderValue(values));
  }
  const single = (name: string): string => signedHeaderValues.get(name) ?? '';
  for (const name of ['x-acs-action', 'x-acs-version', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
    if (single(name) === '') throw incompleteSignature(`The header ${name} is empty.`);
  }
  return {
    algorithm: auth.algorithm,
    accessKeyId: auth.accessKeyId,
    signature: auth.signature,
    method: req.method,
    path: req.path,
    queryPairs,
    signedHeaderValues,
    contentSha256: single('x-acs-content-sha256'),
    action: single('x-acs-action'),
    version: single('x-acs-version'),
    date: single('x-acs-date'),
    nonce: single('x-acs-signature-nonce'),
    securityToken: signedHeaderValues.get('x-acs-security-token'),
  };
}

/**
 * Checks the body against x-acs-content-sha256 first, so a swapped body gets its own error,
 * then recomputes the signature and compares it in constant time.
 */
export function verifyAcs3Signature(request: Acs3Request, body: Buffer, secret: string): void {
  const bodyHash = createHash(HASH_OF[request.algorithm]).update(body).digest('hex');
  if (bodyHash !== request.contentSha256.toLowerCase()) {
    throw new ApiError('InvalidContentSha256', 'The x-acs-content-sha256 header does not match the request body.', 400);
  }
  const canonicalRequest = buildAcs3CanonicalRequest({
    method: request.method,
    path: request.path,
    queryPairs: request.queryPairs,
    signedHeaderValues: request.signedHeaderValues,
    hashedPayload: request.contentSha256,
  });
  const stringToSign = acs3StringToSign(request.algorithm, canonicalRequest);
  const expected = acs3Signature(request.algorithm, secret, stringToSign);
  if (!equalInConstantTime(expected, request.signature.toLowerCase())) {
    // Alibaba shows the string to sign too: it is a hash of public data and helps clients debug.
    throw incompleteSignature(`server string to sign is:${stringToSign}`);
  }
}

/** JS string comparison is by UTF-16 code unit, which is what the signers sort by. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Decoded pairs re-encoded and sorted by name. Alibaba's spec encodes the name as well (the JS
 * client does not; identical for names made of unreserved characters). A name sent twice is
 * sorted by value too, so the result does not depend on wire order.
 */
export function canonicalQueryString(pairs: ReadonlyArray<readonly [string, string]>): string {
  return [...pairs]
    .sort((a, b) => compareCodeUnits(a[0], b[0]) || compareCodeUnits(a[1], b[1]))
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
}

/**
 * Values trimmed; a repeated header's values sorted and joined with `,`. (The HTTP layer must
 * hand repeated headers over as arrays, e.g. Node's headersDistinct, not pre-joined with ", ".)
 */
export function canonicalHeaderValue(values: readonly string[]): string {
  return values
    .map((v) => v.trim())
    .sort(compareCodeUnits)
    .join(',');
}

export interface Acs3CanonicalInput {
  method: string;
  path: string;
  queryPairs: ReadonlyArray<readonly [string, string]>;
  /** Lower-case signed header names to canonical values. */
  signedHeaderValues: ReadonlyMap<string, string>;
  hashedPayload: string;
}

export function buildAcs3CanonicalRequest(input: Acs3CanonicalInput): string {
  const names = [...input.signedHeaderValues.keys()].sort(compareCodeUnits);
  const canonicalHeaders = names.map((n) => `${n}:${input.signedHeaderValues.get(n)}\n`).join('');
  return [input.method, input.path, canonicalQueryString(input.queryPairs), canonicalHeaders, names.join(';'), input.hashedPayload].join(
    '\n',
  );
}

export function acs3StringToSign(algorithm: Acs3Algorithm, canonicalRequest: string): string {
  return `${algorithm}\n${createHash(HASH_OF[algorithm]).update(canonicalRequest, 'utf8').digest('hex')}`;
}

/** Hex HMAC keyed with the raw secret (no `&`, unlike the RPC scheme). */
export function acs3Signature(algorithm: Acs3Algorithm, secret: string, stringToSign: string): string {
  return createHmac(HASH_OF[algorithm], secret).update(stringToSign, 'utf8').digest('hex');
}

function equalInConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
