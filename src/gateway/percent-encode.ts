/**
 * RFC 3986 percent-encoding as both Alibaba signature schemes use it: only the unreserved
 * characters `A-Z a-z 0-9 - _ . ~` stay literal; everything else becomes UTF-8 `%XX` with
 * upper-case hex (a space is `%20`, never `+`).
 *
 * encodeURIComponent already does this except for `! ' ( ) *`, which it leaves literal.
 * It throws URIError on a lone surrogate; the strings signed here come from parseForm,
 * which only yields well-formed text.
 */
export function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
