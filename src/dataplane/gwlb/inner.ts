/**
 * The inner packet a GENEVE datagram carries: a bare IPv4 or IPv6 packet (GWLB's protocol
 * types 0x0800 / 0x86DD). Pure and allocation-free: `parseInner` fills a reusable
 * `InnerPacket` with offsets into the buffer, never copies of it.
 *
 * What is read, with the same rules as `hashPacketSymmetric` (balancing/flow-hash.ts) so the
 * flow a packet belongs to and the appliance its hash picks always agree:
 *
 *   - addresses (IPv4: 4 bytes, IPv6: 16) and the protocol (IPv4 Protocol, IPv6 Next Header —
 *     extension headers are not walked);
 *   - source and destination ports for TCP (6), UDP (17) and SCTP (132) when the packet has
 *     them: not for IPv4 fragments other than the first (their ports count as 0); ICMP and
 *     every other protocol are identified by addresses (and protocol) only.
 *
 * Refused (the caller drops and counts):
 *
 *   inner_too_large     the inner packet is over 1500 bytes — GWLB's documented maximum: it
 *                       neither fragments nor sends ICMP "fragmentation needed" (gwlb-api.md §5.2)
 *   inner_malformed     not an IPv4/IPv6 packet: too short for its header, IHL < 5, a total /
 *                       payload length beyond the bytes received, or a TCP / UDP header cut short
 *   inner_version_mismatch  the IP version disagrees with the GENEVE protocol type
 *
 * Bytes after the length the IP header states are tolerated (as Linux does) and travel on
 * untouched; the size limit applies to everything the GENEVE payload holds.
 */
import { ETHERTYPE_IPV6 } from './geneve.js';

/** GWLB's largest inner (original) packet. */
export const MAX_INNER_PACKET = 1500;

export const INNER_OK = 0;
export const INNER_TOO_LARGE = 1;
export const INNER_MALFORMED = 2;
export const INNER_VERSION_MISMATCH = 3;

/** Metric label of each outcome, indexed by the codes above. */
export const INNER_ERROR_NAMES: readonly string[] = ['ok', 'inner_too_large', 'inner_malformed', 'inner_version_mismatch'];

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

export class InnerPacket {
  /** 4 or 6. */
  version = 4;
  protocol = 0;
  /** Absolute offsets of the source / destination address bytes. */
  srcOffset = 0;
  dstOffset = 0;
  /** 4 or 16. */
  addressLength = 4;
  /** Whether the ports below were read (else both are 0). */
  hasPorts = false;
  srcPort = 0;
  dstPort = 0;
  /** The packet's own length (IPv4 Total Length; IPv6 40 + Payload Length). */
  length = 0;
  /** IPv4 only: a fragment other than the first. */
  laterFragment = false;
}

function carriesPorts(protocol: number): boolean {
  return protocol === IPPROTO_TCP || protocol === IPPROTO_UDP || protocol === IPPROTO_SCTP;
}

/** Parses the inner packet `buf[offset, end)`, announced by GENEVE protocol type `protocolType`. */
export function parseInner(buf: Uint8Array, offset: number, end: number, protocolType: number, out: InnerPacket): number {
  const avail = end - offset;
  if (avail > MAX_INNER_PACKET) return INNER_TOO_LARGE;
  if (avail < 1) return INNER_MALFORMED;
  const version = buf[offset] >>> 4;
  if (version !== 4 && version !== 6) return INNER_MALFORMED;
  if ((version === 6) !== (protocolType === ETHERTYPE_IPV6)) return INNER_VERSION_MISMATCH;
  out.version = version;
  let l4: number;
  let packetEnd: number;
  if (version === 4) {
    if (avail < 20) return INNER_MALFORMED;
    const ihl = (buf[offset] & 0x0f) * 4;
    const total = (buf[offset + 2] << 8) | buf[offset + 3];
    if (ihl < 20 || total < ihl || total > avail) return INNER_MALFORMED;
    out.protocol = buf[offset + 9];
    out.srcOffset = offset + 12;
    out.dstOffset = offset + 16;
    out.addressLength = 4;
    out.length = total;
    out.laterFragment = (((buf[offset + 6] & 0x1f) << 8) | buf[offset + 7]) !== 0;
    l4 = offset + ihl;
    packetEnd = offset + total;
  } else {
    if (avail < 40) return INNER_MALFORMED;
    const payload = (buf[offset + 4] << 8) | buf[offset + 5];
    if (40 + payload > avail) return INNER_MALFORMED;
    out.protocol = buf[offset + 6];
    out.srcOffset = offset + 8;
    out.dstOffset = offset + 24;
    out.addressLength = 16;
    out.length = 40 + payload;
    out.laterFragment = false;
    l4 = offset + 40;
    packetEnd = offset + 40 + payload;
  }
  out.hasPorts = false;
  out.srcPort = 0;
  out.dstPort = 0;
  if (!out.laterFragment && carriesPorts(out.protocol)) {
    const l4Length = packetEnd - l4;
    // A first fragment may stop anywhere after the ports; a whole packet must hold its header.
    const moreFragments = out.version === 4 && (buf[offset + 6] & 0x20) !== 0;
    const minimum = moreFragments ? 4 : out.protocol === IPPROTO_TCP ? 20 : out.protocol === IPPROTO_UDP ? 8 : 4;
    if (l4Length < minimum) return INNER_MALFORMED;
    out.hasPorts = true;
    out.srcPort = (buf[l4] << 8) | buf[l4 + 1];
    out.dstPort = (buf[l4 + 2] << 8) | buf[l4 + 3];
  }
  return INNER_OK;
}

/** The text form of an address in the packet (diagnostics and tests; allocates). */
export function addressText(buf: Uint8Array, at: number, length: number): string {
  if (length === 4) return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
  const parts: string[] = [];
  for (let k = 0; k < 16; k += 2) parts.push(((buf[at + k] << 8) | buf[at + k + 1]).toString(16));
  return parts.join(':');
}
