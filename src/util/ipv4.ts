/** IPv4 addresses as unsigned 32-bit numbers, and CIDR blocks over them. */
export interface Cidr {
  readonly base: number; // network address
  readonly prefix: number;
  readonly text: string;
}

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i].length > 1 && m[i][0] === '0')) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function parseCidr(text: string): Cidr | undefined {
  const [addr, bits, extra] = text.split('/');
  if (extra !== undefined || bits === undefined || !/^\d{1,2}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  const ip = parseIpv4(addr);
  if (ip === undefined || prefix > 32) return undefined;
  const base = prefix === 0 ? 0 : (ip & maskOf(prefix)) >>> 0;
  return { base, prefix, text: `${formatIpv4(base)}/${prefix}` };
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return (ip & maskOf(cidr.prefix)) >>> 0 === cidr.base;
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

/** RFC 1918 private ranges: where Ip-type backends may live besides a configured VPC CIDR. */
export const PRIVATE_RANGES: readonly Cidr[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => parseCidr(c)!);
