/**
 * Entry point of request authentication: tells the two signature schemes apart, verifies the
 * signature, then the timestamp, then the nonce, and returns what the gateway routes on.
 *
 * Error codes (all HTTP 400 unless noted):
 *   MissingParameter              no signature at all, or an RPC protocol parameter missing
 *   InvalidSignatureMethod        a scheme we cannot verify: ACS3-RSA-SHA256, another
 *                                 Authorization scheme, SignatureMethod other than HMAC-SHA1,
 *                                 SignatureVersion other than 1.0, bearer tokens
 *   IncompleteSignature           V3 Authorization malformed, a required header unsigned or
 *                                 missing (x-acs-action/x-acs-version included), an x-acs-*
 *                                 header unsigned, or the signature wrong
 *   InvalidContentSha256          V3 body does not hash to x-acs-content-sha256
 *   SignatureDoesNotMatch         RPC signature wrong
 *   InvalidAccessKeyId.NotFound   404, unknown or inactive AccessKeyId
 *   InvalidTimeStamp.Format       x-acs-date / Timestamp not YYYY-MM-DDTHH:mm:ssZ
 *   InvalidTimeStamp.Expired      more than skewMs away from server time
 *   SignatureNonceUsed            nonce replayed (or older than the registry can vouch for)
 *   IllegalParam                  query or form body not decodable (from form.ts)
 *   InvalidParameter.TooMany      more parameters than paramLimits allow (from form.ts)
 *   InvalidParameter.NameTooLong  a parameter name longer than paramLimits allow (from form.ts)
 */
import { isoSeconds } from '../../util/clock.js';
import { ApiError } from '../errors.js';
import { malformedForm, mergeParams, parseForm } from '../form.js';
import { headerValues, readAcs3Request, verifyAcs3Signature } from './acs3.js';
import { missingParameter, readRpcRequest, verifyRpcSignature } from './rpc.js';
import type { RawRequest, SignatureScheme, VerifiedRequest, VerifyOptions } from './types.js';

const DEFAULT_SKEW_MS = 15 * 60_000;

/** What either scheme yields once its signature checked out. */
interface SignedClaims {
  scheme: SignatureScheme;
  accessKeyId: string;
  action: string;
  version: string;
  nonce: string;
  timestamp: string;
  securityToken?: string;
}

export async function verifyRequest(req: RawRequest, opts: VerifyOptions): Promise<VerifiedRequest> {
  const queryPairs = parseForm(req.rawQuery, opts.paramLimits);
  const bodyPairs = isFormBody(req) ? parseForm(decodeUtf8(req.body), opts.paramLimits, queryPairs.length) : [];
  const params = mergeParams(queryPairs, bodyPairs);

  const claims = await verifySignature(req, queryPairs, params, opts.lookupSecret);

  // Time and nonce only after the signature: an unauthenticated caller must not be able to
  // burn someone else's nonces or probe the clock.
  const timestampMs = parseTimestamp(claims.timestamp);
  if (Math.abs(timestampMs - opts.now) > (opts.skewMs ?? DEFAULT_SKEW_MS)) {
    throw new ApiError('InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.', 400);
  }
  if (!(await opts.nonces.remember(claims.accessKeyId, claims.nonce, timestampMs, opts.now))) {
    throw new ApiError('SignatureNonceUsed', 'Specified signature nonce was used already.', 400);
  }
  return {
    scheme: claims.scheme,
    accessKeyId: claims.accessKeyId,
    action: claims.action,
    version: claims.version,
    params,
    securityToken: claims.securityToken,
    nonce: claims.nonce,
    timestampMs,
  };
}

async function verifySignature(
  req: RawRequest,
  queryPairs: Array<[string, string]>,
  params: Record<string, string>,
  lookupSecret: VerifyOptions['lookupSecret'],
): Promise<SignedClaims> {
  const authorization = headerValues(req.headers, 'authorization');
  if (authorization.some((v) => v.startsWith('ACS3-'))) {
    const v3 = readAcs3Request(req, queryPairs);
    verifyAcs3Signature(v3, req.body, await secretFor(v3.accessKeyId, lookupSecret));
    return { ...v3, scheme: v3.algorithm, timestamp: v3.date };
  }
  if (isBearerToken(req, params)) {
    throw new ApiError('InvalidSignatureMethod', 'Bearer token authentication is not supported.', 400);
  }
  if (params.Signature !== undefined || params.SignatureMethod !== undefined) {
    const rpc = readRpcRequest(req.method, params);
    verifyRpcSignature(rpc, await secretFor(rpc.accessKeyId, lookupSecret));
    return { ...rpc, scheme: 'RPC-HMAC-SHA1' };
  }
  if (authorization.length > 0) {
    // e.g. ACS4-HMAC-SHA256 (gateway-pop) or a foreign scheme.
    throw new ApiError('InvalidSignatureMethod', 'The Authorization scheme is not supported.', 400);
  }
  throw missingParameter('Signature');
}

async function secretFor(accessKeyId: string, lookupSecret: VerifyOptions['lookupSecret']): Promise<string> {
  const secret = await lookupSecret(accessKeyId);
  if (!secret) throw new ApiError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.', 404);
  return secret;
}

function isBearerToken(req: RawRequest, params: Record<string, string>): boolean {
  return (
    headerValues(req.headers, 'x-acs-bearer-token').length > 0 || params.SignatureType === 'BEARERTOKEN' || params.BearerToken !== undefined
  );
}

/** The body holds parameters only for form content; anything else is left to the action. */
function isFormBody(req: RawRequest): boolean {
  const contentType = headerValues(req.headers, 'content-type')[0];
  return contentType !== undefined && contentType.trim().toLowerCase().startsWith('application/x-www-form-urlencoded');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw malformedForm();
  }
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** Strict `YYYY-MM-DDTHH:mm:ssZ`; the round trip rejects impossible dates such as 02-30. */
export function parseTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text);
  const ms = m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
  if (Number.isNaN(ms) || isoSeconds(ms) !== text) {
    throw new ApiError('InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.', 400);
  }
  return ms;
}
