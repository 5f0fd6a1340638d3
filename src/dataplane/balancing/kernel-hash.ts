/**
 * The Linux kernel's `jhash()` (Bob Jenkins' lookup3, as in include/linux/jhash.h) and the
 * `reciprocal_scale()` nftables applies to it for `jhash … mod N`. The user-space engine hashes
 * flows with these too, so a flow picks the same Maglev slot whether the kernel or Node forwards
 * it (DESIGN rule 5).
 *
 * nftables hashes the registers it loaded: each field of a concatenation is zero-padded to a
 * multiple of 4 bytes (an IPv4 address is 4 bytes, a port 2 bytes + 2 zero bytes), and words are
 * read in host byte order (little-endian here, as on every machine OpenSLB targets).
 */

/** The seed every node and both engines use for `sch` / `tch` (nft: `seed 0x…`). */
export const KERNEL_FLOW_HASH_SEED = 0x5eed0b5;

const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** jhash(key, length, initval) over bytes [0, length) of `key`. */
export function jhash(key: Uint8Array, length: number, initval: number): number {
  let a = (JHASH_INITVAL + length + initval) >>> 0;
  let b = a;
  let c = a;
  let k = 0;
  let left = length;
  const word = (at: number) => (key[at] | (key[at + 1] << 8) | (key[at + 2] << 16) | (key[at + 3] << 24)) >>> 0;
  while (left > 12) {
    a = (a + word(k)) >>> 0;
    b = (b + word(k + 4)) >>> 0;
    c = (c + word(k + 8)) >>> 0;
    // __jhash_mix
    a = (a - c) >>> 0;
    a = (a ^ rol32(c, 4)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rol32(a, 6)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rol32(b, 8)) >>> 0;
    b = (b + a) >>> 0;
    a = (a - c) >>> 0;
    a = (a ^ rol32(c, 16)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rol32(a, 19)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rol32(b, 4)) >>> 0;
    b = (b + a) >>> 0;
    left -= 12;
    k += 12;
  }
  if (left === 0) return c;
  // The tail, byte by byte (the kernel's fall-through switch).
  for (let i = left - 1; i >= 0; i--) {
    const v = key[k + i];
    const shift = (i % 4) * 8;
    if (i >= 8) c = (c + ((v << shift) >>> 0)) >>> 0;
    else if (i >= 4) b = (b + ((v << shift) >>> 0)) >>> 0;
    else a = (a + ((v << shift) >>> 0)) >>> 0;
  }
  // __jhash_final
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 14)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rol32(c, 11)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rol32(a, 25)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 16)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rol32(c, 4)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rol32(a, 14)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 24)) >>> 0;
  return c;
}

/** reciprocal_scale(value, n): what `… mod n` means after an nftables hash or `numgen random`. */
export function reciprocalScale(value: number, n: number): number {
  return Math.floor(((value >>> 0) * n) / 0x1_0000_0000);
}

const scratch = new Uint8Array(16);

function putIpv4(text: string, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const ch = i < text.length ? text.charCodeAt(i) : 46;
    if (ch === 46) {
      if (digits === 0 || value > 255 || part > 3) return false;
      scratch[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (ch >= 48 && ch <= 57) {
      value = value * 10 + (ch - 48);
      digits++;
    } else return false;
  }
  return part === 4;
}

function putPort(port: number, at: number): void {
  scratch[at] = (port >>> 8) & 0xff;
  scratch[at + 1] = port & 0xff;
  scratch[at + 2] = 0;
  scratch[at + 3] = 0;
}

/** `jhash ip saddr mod size seed S` for an IPv4 source; -1 when the address is not IPv4. */
export function kernelSourceSlot(srcIp: string, size: number): number {
  if (!putIpv4(stripMapped(srcIp), 0)) return -1;
  return reciprocalScale(jhash(scratch, 4, KERNEL_FLOW_HASH_SEED), size);
}

/** `jhash ip saddr . th sport . ip daddr . th dport mod size seed S`; -1 when not IPv4. */
export function kernelFourTupleSlot(srcIp: string, srcPort: number, dstIp: string, dstPort: number, size: number): number {
  if (!putIpv4(stripMapped(srcIp), 0) || !putIpv4(stripMapped(dstIp), 8)) return -1;
  putPort(srcPort, 4);
  putPort(dstPort, 12);
  return reciprocalScale(jhash(scratch, 16, KERNEL_FLOW_HASH_SEED), size);
}

/** Node reports IPv4 peers of a dual-stack socket as `::ffff:a.b.c.d`. */
function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
