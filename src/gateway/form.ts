import { ApiError } from './errors.js';

/**
 * Decodes an application/x-www-form-urlencoded string (also used for URL query strings) into
 * name/value pairs in wire order. `+` is a space and `%XX` sequences are UTF-8 bytes; a pair
 * without `=` has an empty value and empty segments (`a=1&&b=2`, a trailing `&`) are skipped.
 *
 * A malformed escape (`%zz`, a dangling `%`, bytes that are not UTF-8) is a client error: the
 * signature would be computed over something the client did not mean, so refuse the request
 * instead of guessing.
 */
export function parseForm(raw: string, limits: ParamLimits = NO_LIMITS, already = 0): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (raw === '') return pairs;
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf('&', start);
    if (end === -1) end = raw.length;
    if (end > start) {
      // Refused while splitting, so a flood of tiny parameters costs no more than the limit.
      if (already + pairs.length >= limits.maxParams) throw tooManyParams(limits.maxParams);
      const segment = raw.slice(start, end);
      const eq = segment.indexOf('=');
      const rawName = eq === -1 ? segment : segment.slice(0, eq);
      // Refused before decoding when even full escaping could not make it short enough
      // (one UTF-16 unit is at most 9 encoded characters: `%E2%82%AC`).
      if (rawName.length > limits.maxParamNameLength * 9) throw nameTooLong(limits.maxParamNameLength);
      const name = decodeComponent(rawName);
      if (name.length > limits.maxParamNameLength) throw nameTooLong(limits.maxParamNameLength);
      pairs.push([name, eq === -1 ? '' : decodeComponent(segment.slice(eq + 1))]);
    }
    start = end + 1;
  }
  return pairs;
}

/** Bounds on what one request may carry, checked before any signature or decoding work. */
export interface ParamLimits {
  /** Parameters in query and body together. */
  maxParams: number;
  /** Longest decoded parameter name, in UTF-16 units. */
  maxParamNameLength: number;
}

const NO_LIMITS: ParamLimits = { maxParams: Infinity, maxParamNameLength: Infinity };

function tooManyParams(max: number): ApiError {
  return new ApiError('InvalidParameter.TooMany', `The request carries more than ${max} parameters.`, 400);
}

function nameTooLong(max: number): ApiError {
  return new ApiError('InvalidParameter.NameTooLong', `A parameter name is longer than ${max} characters.`, 400);
}

function decodeComponent(s: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw malformedForm();
  }
  // A raw unpaired surrogate could not be UTF-8 encoded again when the signature is rebuilt.
  if (LONE_SURROGATE.test(decoded)) throw malformedForm();
  return decoded;
}

const LONE_SURROGATE = /\p{Cs}/u;

export function malformedForm(): ApiError {
  return new ApiError('IllegalParam', 'The request body or query string is malformed.', 400);
}

/**
 * Query ∪ body as one map. The body wins on a name present in both, as the RPC signer does
 * (`Object.assign(query, body)`); within one source the last occurrence wins.
 * Null prototype, so names such as `__proto__` or `constructor` are plain keys.
 */
export function mergeParams(
  queryPairs: ReadonlyArray<readonly [string, string]>,
  bodyPairs: ReadonlyArray<readonly [string, string]>,
): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of queryPairs) params[name] = value;
  for (const [name, value] of bodyPairs) params[name] = value;
  return params;
}
