import type { ParamLimits } from '../form.js';

/** What the signature verifier needs from an HTTP request, independent of any framework. */
export interface RawRequest {
  method: string; // upper-case HTTP method
  path: string; // the raw path, without the query (always `/` for RPC APIs)
  rawQuery: string; // the raw query string without `?` ('' when none)
  /** Header names in lower case, as Node delivers them; repeated headers as arrays. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer; // the exact body bytes received
}

export type SignatureScheme = 'ACS3-HMAC-SHA256' | 'ACS3-HMAC-SM3' | 'RPC-HMAC-SHA1';

export interface VerifiedRequest {
  scheme: SignatureScheme;
  accessKeyId: string;
  /** From the signed x-acs-action/x-acs-version headers (ACS3) or the Action/Version parameters (RPC). */
  action: string;
  version: string;
  /** Query ∪ form body, decoded; the body wins on duplicate names. Signature-protocol parameters included. */
  params: Record<string, string>;
  /** STS token, when the client sent one (OpenSLB issues none, the gateway refuses it). */
  securityToken?: string;
  nonce: string;
  timestampMs: number;
}

export interface VerifyOptions {
  now: number; // server time in ms (injected clock)
  /** Secret for an AccessKeyId, or undefined when there is no such (active) key. */
  lookupSecret: (accessKeyId: string) => string | undefined | Promise<string | undefined>;
  nonces: NonceRegistry;
  skewMs?: number; // default 15 minutes
  /** Parameter count and name length bounds (none when omitted). */
  paramLimits?: ParamLimits;
}

export interface NonceRegistry {
  /**
   * Records a nonce for an AccessKeyId; false when it was already used within the window
   * (or when it can no longer be told apart from a replay because memory was reclaimed).
   */
  remember(accessKeyId: string, nonce: string, timestampMs: number, nowMs: number): boolean | Promise<boolean>;
}
