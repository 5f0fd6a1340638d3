/** IPv6 addresses as 16 bytes: the checks and the text form shared by the data plane. */

/** True when the 16 bytes at `bytes[offset]` are an IPv4-mapped IPv6 address. */
export function isIpv4Mapped(bytes: Uint8Array, offset: number): boolean {
  for (let k = 0; k < 10; k++) if (bytes[offset + k] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}

/** RFC 5952 text of the 16 bytes at `b[at]`; IPv4-mapped addresses as "::ffff:a.b.c.d". */
export function formatIpv6(b: Uint8Array, at: number): string {
  if (isIpv4Mapped(b, at)) return `::ffff:${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
  const h: number[] = [];
  for (let k = 0; k < 8; k++) h.push((b[at + 2 * k] << 8) | b[at + 2 * k + 1]);
  // The longest run of ≥ 2 zero groups (first one on a tie) becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (h[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && h[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  const groups = (from: number, to: number): string => {
    let text = '';
    for (let k = from; k < to; k++) text += (k > from ? ':' : '') + h[k].toString(16);
    return text;
  };
  if (bestStart < 0) return groups(0, 8);
  return `${groups(0, bestStart)}::${groups(bestStart + bestLen, 8)}`;
}
