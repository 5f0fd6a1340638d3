/**
 * RPC HMAC-SHA1 ("V2", SignatureVersion=1.0) verification. Like acs3.ts it is split around the
 * secret lookup: readRpcRequest checks the protocol parameters, verifyRpcSignature recomputes
 * the signature. No header is covered by this scheme, so everything comes from the parameters.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../errors.js';
import { percentEncode } from '../percent-encode.js';
import { compareCodeUnits } from './acs3.js';

/** Checked in this order, so the first one missing is the one reported. */
const REQUIRED_PARAMS = [
  'Signature',
  'AccessKeyId',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'Timestamp',
  'Action',
  'Version',
] as const;

export interface RpcRequest {
  method: string;
  /** Query ∪ body, body winning, exactly as the client signed them. */
  params: Record<string, string>;
  accessKeyId: string;
  signature: string;
  nonce: string;
  timestamp: string;
  action: string;
  version: string;
  securityToken?: string;
}

export function missingParameter(name: string): ApiError {
  return new ApiError(
    'MissingParameter',
    `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
    400,
  );
}

/** An empty value counts as missing: none of these parameters can meaningfully be empty. */
export function readRpcRequest(method: string, params: Record<string, string>): RpcRequest {
  for (const name of REQUIRED_PARAMS) {
    if (!params[name]) throw missingParameter(name);
  }
  if (params.SignatureMethod !== 'HMAC-SHA1') {
    throw new ApiError('InvalidSignatureMethod', `The SignatureMethod ${params.SignatureMethod} is not supported.`, 400);
  }
  if (params.SignatureVersion !== '1.0') {
    // Same code as an unsupported method: to the client both mean "sign with HMAC-SHA1 1.0".
    throw new ApiError('InvalidSignatureMethod', `The SignatureVersion ${params.SignatureVersion} is not supported.`, 400);
  }
  return {
    method,
    params,
    accessKeyId: params.AccessKeyId,
    signature: params.Signature,
    nonce: params.SignatureNonce,
    timestamp: params.Timestamp,
    action: params.Action,
    version: params.Version,
    securityToken: params.SecurityToken || undefined,
  };
}

export function verifyRpcSignature(request: RpcRequest, secret: string): void {
  const stringToSign = rpcStringToSign(request.method, request.params);
  const expected = rpcSignature(secret, stringToSign);
  if (!equalInConstantTime(expected, request.signature)) {
    // Alibaba's reply includes the server string to sign; it holds only what the client sent.
    throw new ApiError(
      'SignatureDoesNotMatch',
      `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
      400,
    );
  }
}

/** Every parameter but Signature, percent-encoded, sorted by name in code-unit order. */
export function rpcCanonicalizedParams(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((name) => name !== 'Signature')
    .sort(compareCodeUnits)
    .map((name) => `${percentEncode(name)}=${percentEncode(params[name])}`)
    .join('&');
}

/** `METHOD&%2F&` + the canonicalized parameters encoded a second time. */
export function rpcStringToSign(method: string, params: Record<string, string>): string {
  return `${method}&${percentEncode('/')}&${percentEncode(rpcCanonicalizedParams(params))}`;
}

/** Base64 HMAC-SHA1 keyed with the secret plus `&` (the empty token-secret slot of the scheme). */
export function rpcSignature(secret: string, stringToSign: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign, 'utf8').digest('base64');
}

function equalInConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
