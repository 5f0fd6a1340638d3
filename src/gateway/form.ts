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
export function parseForm(raw: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (raw === '') return pairs;
  for (const segment of raw.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const name = eq === -1 ? segment : segment.slice(0, eq);
    const value = eq === -1 ? '' : segment.slice(eq + 1);
    pairs.push([decodeComponent(name), decodeComponent(value)]);
  }
  return pairs;
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
