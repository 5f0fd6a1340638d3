/**
 * Flow hashes: a flow key (addresses, ports, protocol) → an unsigned 32-bit number.
 *
 * DESIGN rule 5: every worker and node must map the same flow to the same backend without
 * sharing state, so the functions here are fixed and fully specified:
 *
 *   hash = MurmurHash3_x86_32(seed 0) over a byte string built from the flow key.
 *
 * Addresses enter the byte string as 16 bytes in network order. IPv4 addresses are written in
 * their IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so "1.2.3.4" and "::ffff:1.2.3.4" — the two
 * spellings Node uses depending on how a socket was bound — hash identically. Ports are two
 * bytes, network order. The byte strings:
 *
 *   sch  (source IP)         src(16)                                    16 bytes
 *   tch  (4-tuple)           src(16) dst(16) srcPort(2) dstPort(2)      36 bytes
 *   5-tuple (GWLB 5TCH)      lo(16) hi(16) loPort(2) hiPort(2) proto 0 0 0   40 bytes
 *   3-tuple (GWLB 3TCH)      lo(16) hi(16) proto 0 0 0                  36 bytes
 *   2-tuple (GWLB 2TCH)      lo(16) hi(16)                              32 bytes
 *
 * The GWLB hashes are symmetric: the two endpoints are put in a canonical order first ("lo" is
 * the endpoint whose address bytes, then port, compare smaller), so both directions of a flow
 * reach the same appliance. Text that is not an IP address (should not happen) is hashed as
 * the 16 bytes `fe 00 … 00` followed by FNV-1a-32 of its UTF-16 code units (big-endian) — still
 * deterministic, just not canonical.
 *
 * Nothing here allocates per call: addresses are parsed with charCodeAt straight into one
 * module-level scratch buffer (safe: JavaScript runs one call at a time per isolate).
 */

export { isIpv4Mapped } from '../../util/ipv6.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The seed every flow hash uses. */
export const FLOW_HASH_SEED = 0;

/** MurmurHash3_x86_32 of `bytes[start, end)`; the standard algorithm, result unsigned. */
export function murmur3(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let h = seed | 0;
  const len = end - start;
  const blocksEnd = start + (len & ~3);
  let i = start;
  for (; i < blocksEnd; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = len & 3;
  if (tail !== 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[i + 2] << 16;
    if (tail >= 2) k ^= bytes[i + 1] << 8;
    k ^= bytes[i];
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= len;
  return fmix32(h);
}

/** MurmurHash3's 32-bit finaliser (full avalanche); result unsigned. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Address parsing (no allocation): text → 16 bytes (IPv4 as IPv4-mapped IPv6).

const hextets = new Uint16Array(8);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/** Dotted-quad `text[start, end)` → unsigned 32-bit, or -1. Leading zeros are refused. */
function parseV4(text: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    let octet = 0;
    let digits = 0;
    const first = i;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || octet > 255) return -1;
    if (digits > 1 && text.charCodeAt(first) === 48) return -1;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (i >= end || text.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

/** IPv6 `text[start, end)` → `hextets`, or false. Accepts `::`, embedded IPv4. */
function parseV6(text: string, start: number, end: number): boolean {
  let n = 0;
  let gap = -1; // index in `hextets` where "::" stands
  let i = start;
  if (end - start >= 2 && text.charCodeAt(start) === 58 && text.charCodeAt(start + 1) === 58) {
    gap = 0;
    i = start + 2;
  } else if (i < end && text.charCodeAt(i) === 58) {
    return false;
  }
  while (i < end) {
    if (n >= 8) return false;
    let j = i;
    let v = 0;
    let digits = 0;
    while (j < end) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      digits++;
      j++;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      // Embedded IPv4 takes the last two hextets.
      if (n > 6) return false;
      const v4 = parseV4(text, i, end);
      if (v4 < 0) return false;
      hextets[n++] = v4 >>> 16;
      hextets[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    hextets[n++] = v;
    if (j === end) {
      i = end;
      break;
    }
    if (text.charCodeAt(j) !== 58) return false;
    j++;
    if (j < end && text.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = n;
      j++;
    } else if (j === end) {
      return false; // a single trailing ':'
    }
    i = j;
  }
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  const moved = n - gap;
  for (let k = 0; k < moved; k++) hextets[7 - k] = hextets[n - 1 - k];
  for (let k = gap; k < 8 - moved; k++) hextets[k] = 0;
  return true;
}

/**
 * Parses an IP address string into 16 bytes at `out[offset]` (IPv4 written IPv4-mapped).
 * Returns 4 for dotted-quad text, 6 for IPv6 text (including `::ffff:a.b.c.d`), 0 when the
 * text is not an address (then `out` is left partly written). A `%zone` suffix is ignored.
 */
export function parseIpInto(text: string, out: Uint8Array, offset: number): 0 | 4 | 6 {
  let end = text.length;
  let colon = false;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 37) {
      end = i; // '%'
      break;
    }
    if (c === 58) colon = true;
  }
  if (!colon) {
    const v4 = parseV4(text, 0, end);
    if (v4 < 0) return 0;
    for (let k = 0; k < 10; k++) out[offset + k] = 0;
    out[offset + 10] = 0xff;
    out[offset + 11] = 0xff;
    out[offset + 12] = v4 >>> 24;
    out[offset + 13] = (v4 >>> 16) & 0xff;
    out[offset + 14] = (v4 >>> 8) & 0xff;
    out[offset + 15] = v4 & 0xff;
    return 4;
  }
  if (!parseV6(text, 0, end)) return 0;
  for (let k = 0; k < 8; k++) {
    out[offset + 2 * k] = hextets[k] >>> 8;
    out[offset + 2 * k + 1] = hextets[k] & 0xff;
  }
  return 6;
}

/** `parseIpInto` that never fails: non-addresses get the documented fallback bytes. */
function writeAddress(text: string, out: Uint8Array, offset: number): void {
  if (parseIpInto(text, out, offset) !== 0) return;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h = Math.imul(h ^ (c >>> 8), 0x01000193);
    h = Math.imul(h ^ (c & 0xff), 0x01000193);
  }
  out[offset] = 0xfe;
  for (let k = 1; k < 12; k++) out[offset + k] = 0;
  out[offset + 12] = h >>> 24;
  out[offset + 13] = (h >>> 16) & 0xff;
  out[offset + 14] = (h >>> 8) & 0xff;
  out[offset + 15] = h & 0xff;
}

// ---------------------------------------------------------------------------------------------
// Flow hashes.

const scratch = new Uint8Array(40);

function writePort(at: number, port: number): void {
  scratch[at] = (port >>> 8) & 0xff;
  scratch[at + 1] = port & 0xff;
}

/** `sch`: source IP only. */
export function hashSourceIp(srcIp: string): number {
  writeAddress(srcIp, scratch, 0);
  return murmur3(scratch, 0, 16, FLOW_HASH_SEED);
}

/** `tch`: the 4-tuple (src ip, src port, dst ip, dst port). Direction matters. */
export function hashFourTuple(srcIp: string, srcPort: number, dstIp: string, dstPort: number): number {
  writeAddress(srcIp, scratch, 0);
  writeAddress(dstIp, scratch, 16);
  writePort(32, srcPort);
  writePort(34, dstPort);
  return murmur3(scratch, 0, 36, FLOW_HASH_SEED);
}

/**
 * Puts the endpoints at scratch[0..16) / [16..32) (ports at 32, 34) in canonical order:
 * swaps them when the second compares smaller (address bytes, then port).
 */
function canonicalise(withPorts: boolean): void {
  let cmp = 0;
  for (let k = 0; k < 16 && cmp === 0; k++) cmp = scratch[k] - scratch[16 + k];
  if (cmp === 0 && withPorts) {
    cmp = ((scratch[32] << 8) | scratch[33]) - ((scratch[34] << 8) | scratch[35]);
  }
  if (cmp <= 0) return;
  for (let k = 0; k < 16; k++) {
    const t = scratch[k];
    scratch[k] = scratch[16 + k];
    scratch[16 + k] = t;
  }
  if (withPorts) {
    let t = scratch[32];
    scratch[32] = scratch[34];
    scratch[34] = t;
    t = scratch[33];
    scratch[33] = scratch[35];
    scratch[35] = t;
  }
}

/** The GWLB stickiness modes: 5TCH, 3TCH, 2TCH. */
export type TupleMode = 5 | 3 | 2;

function finishSymmetric(mode: TupleMode, protocol: number): number {
  canonicalise(mode === 5);
  if (mode === 2) return murmur3(scratch, 0, 32, FLOW_HASH_SEED);
  const at = mode === 5 ? 36 : 32;
  scratch[at] = protocol & 0xff;
  scratch[at + 1] = 0;
  scratch[at + 2] = 0;
  scratch[at + 3] = 0;
  return murmur3(scratch, 0, at + 4, FLOW_HASH_SEED);
}

/** GWLB `5TCH`: protocol, both addresses and ports; symmetric in the two endpoints. */
export function hashFiveTupleSymmetric(protocol: number, aIp: string, aPort: number, bIp: string, bPort: number): number {
  writeAddress(aIp, scratch, 0);
  writeAddress(bIp, scratch, 16);
  writePort(32, aPort);
  writePort(34, bPort);
  return finishSymmetric(5, protocol);
}

/** GWLB `3TCH`: protocol and both addresses; symmetric. */
export function hashThreeTupleSymmetric(protocol: number, aIp: string, bIp: string): number {
  writeAddress(aIp, scratch, 0);
  writeAddress(bIp, scratch, 16);
  return finishSymmetric(3, protocol);
}

/** GWLB `2TCH`: both addresses; symmetric. */
export function hashTwoTupleSymmetric(aIp: string, bIp: string): number {
  writeAddress(aIp, scratch, 0);
  writeAddress(bIp, scratch, 16);
  return finishSymmetric(2, 0);
}

/** One entry point for the three GWLB modes (ports/protocol ignored where the mode drops them). */
export function hashTupleSymmetric(mode: TupleMode, protocol: number, aIp: string, aPort: number, bIp: string, bPort: number): number {
  if (mode === 5) return hashFiveTupleSymmetric(protocol, aIp, aPort, bIp, bPort);
  if (mode === 3) return hashThreeTupleSymmetric(protocol, aIp, bIp);
  return hashTwoTupleSymmetric(aIp, bIp);
}

/**
 * The same symmetric GWLB hash, read straight from a raw inner IP packet (IPv4 or IPv6) at
 * `packet[offset]`, as the GENEVE forwarder sees it — equal to `hashTupleSymmetric` on the
 * same addresses, ports and protocol. Ports are read for TCP (6), UDP (17) and SCTP (132) when
 * present (IPv4: only in the first fragment; IPv6: only when they directly follow the fixed
 * header — extension headers are not walked); otherwise they count as 0.
 * Returns -1 when the bytes are not an IPv4/IPv6 packet.
 */
export function hashPacketSymmetric(mode: TupleMode, packet: Uint8Array, offset: number): number {
  const avail = packet.length - offset;
  if (avail < 1) return -1;
  const version = packet[offset] >>> 4;
  let protocol: number;
  let l4: number;
  let fragmented = false;
  if (version === 4) {
    const ihl = (packet[offset] & 0x0f) * 4;
    if (ihl < 20 || avail < ihl) return -1;
    protocol = packet[offset + 9];
    fragmented = (((packet[offset + 6] & 0x1f) << 8) | packet[offset + 7]) !== 0;
    for (let k = 0; k < 10; k++) {
      scratch[k] = 0;
      scratch[16 + k] = 0;
    }
    scratch[10] = scratch[11] = scratch[26] = scratch[27] = 0xff;
    for (let k = 0; k < 4; k++) {
      scratch[12 + k] = packet[offset + 12 + k];
      scratch[28 + k] = packet[offset + 16 + k];
    }
    l4 = offset + ihl;
  } else if (version === 6) {
    if (avail < 40) return -1;
    protocol = packet[offset + 6];
    for (let k = 0; k < 16; k++) {
      scratch[k] = packet[offset + 8 + k];
      scratch[16 + k] = packet[offset + 24 + k];
    }
    l4 = offset + 40;
  } else {
    return -1;
  }
  const hasPorts = (protocol === 6 || protocol === 17 || protocol === 132) && !fragmented && packet.length >= l4 + 4;
  for (let k = 0; k < 4; k++) scratch[32 + k] = hasPorts ? packet[l4 + k] : 0;
  return finishSymmetric(mode, protocol);
}
