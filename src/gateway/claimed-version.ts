/**
 * The API version a request names, read before (or without) its signature being verified.
 * Only used to word an error for the product the caller meant — HostId `gwlb.<region>…` and
 * a GWLB Recommend link for a GWLB call whose key or signature is wrong — never to act on.
 */
import { parseForm } from './form.js';
import type { RawRequest } from './signature/types.js';

export function claimedVersion(req: RawRequest): string | undefined {
  const header = req.headers['x-acs-version'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader) return fromHeader;
  return versionIn(req.rawQuery) ?? versionIn(req.body.toString('utf8'));
}

function versionIn(form: string): string | undefined {
  try {
    return parseForm(form).find(([name]) => name === 'Version')?.[1];
  } catch {
    return undefined; // a malformed form names nothing
  }
}
