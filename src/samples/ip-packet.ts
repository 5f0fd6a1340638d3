/**
 * Inner packets for the sample GWLB endpoint and appliance (`openslb geneve …`): builds a
 * bare IPv4 TCP or UDP packet with correct checksums, and describes one in a line a person
 * reads. Pure; allocates freely (a tool, not the data plane's hot path, which parses with
 * `dataplane/gwlb/inner.ts` — used here too, so both read a packet the same way).
 */
import { isIPv4 } from 'node:net';
import { ETHERTYPE_IPV4 } from '../dataplane/gwlb/geneve.js';
import {
  INNER_ERROR_NAMES,
  INNER_OK,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  InnerPacket,
  addressText,
  parseInner,
} from '../dataplane/gwlb/inner.js';

export interface Ipv4PacketSpec {
  src: string;
  dst: string;
  protocol: 'tcp' | 'udp';
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

const IPV4_HEADER = 20;
const TCP_HEADER = 20;
const UDP_HEADER = 8;
const TCP_ACK_PSH = 0x18;

function ipv4Bytes(text: string, what: string): Buffer {
  if (!isIPv4(text)) throw new RangeError(`${what} must be an IPv4 address, got "${text}"`);
  return Buffer.from(text.split('.').map(Number));
}

/** RFC 1071 one's-complement sum of `parts`, folded to 16 bits (not yet inverted). */
function onesComplementSum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const part of parts) {
    for (let i = 0; i + 1 < part.length; i += 2) sum += (part[i] << 8) | part[i + 1];
    if (part.length % 2 === 1) sum += part[part.length - 1] << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function internetChecksum(parts: Uint8Array[]): number {
  return ~onesComplementSum(parts) & 0xffff;
}

/** A whole IPv4 packet: header (no options, TTL 64, DF clear) and a TCP (ACK|PSH) or UDP segment. */
export function buildIpv4Packet(spec: Ipv4PacketSpec): Buffer {
  const src = ipv4Bytes(spec.src, 'the source');
  const dst = ipv4Bytes(spec.dst, 'the destination');
  const tcp = spec.protocol === 'tcp';
  const segment = Buffer.alloc((tcp ? TCP_HEADER : UDP_HEADER) + spec.payload.length);
  segment.writeUInt16BE(spec.srcPort, 0);
  segment.writeUInt16BE(spec.dstPort, 2);
  if (tcp) {
    segment.writeUInt32BE(1, 4); // sequence number
    segment[12] = (TCP_HEADER / 4) << 4;
    segment[13] = TCP_ACK_PSH;
    segment.writeUInt16BE(0xffff, 14); // window
  } else {
    segment.writeUInt16BE(segment.length, 4);
  }
  segment.set(spec.payload, tcp ? TCP_HEADER : UDP_HEADER);
  const pseudo = Buffer.alloc(12);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 4);
  pseudo[9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
  pseudo.writeUInt16BE(segment.length, 10);
  let sum = internetChecksum([pseudo, segment]);
  // UDP sends a computed 0 as 0xFFFF: 0 means "no checksum".
  if (!tcp && sum === 0) sum = 0xffff;
  segment.writeUInt16BE(sum, tcp ? 16 : 6);

  const header = Buffer.alloc(IPV4_HEADER);
  header[0] = 0x45;
  header.writeUInt16BE(IPV4_HEADER + segment.length, 2);
  header[8] = 64;
  header[9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
  src.copy(header, 12);
  dst.copy(header, 16);
  header.writeUInt16BE(internetChecksum([header]), 10);
  return Buffer.concat([header, segment]);
}

const PROTOCOL_NAMES: Record<number, string> = { [IPPROTO_ICMP]: 'ICMP', [IPPROTO_TCP]: 'TCP', [IPPROTO_UDP]: 'UDP', 58: 'ICMPv6' };
const SHOWN_PAYLOAD = 60;

/** Where the payload of a TCP or UDP packet starts, or -1 when it carries another protocol. */
function payloadOffset(packet: Uint8Array, p: InnerPacket): number {
  const l4 = p.version === 4 ? (packet[0] & 0x0f) * 4 : 40;
  if (p.protocol === IPPROTO_UDP) return l4 + UDP_HEADER;
  if (p.protocol === IPPROTO_TCP) return l4 + (packet[l4 + 12] >>> 4) * 4;
  return -1;
}

/**
 * `UDP 10.0.0.1:40000 > 10.0.0.2:53 "hello"`: protocol, addresses, ports and the payload as
 * text (printable ASCII; otherwise its length). Undecodable packets say why.
 */
export function describeIpPacket(packet: Uint8Array, protocolType = ETHERTYPE_IPV4): string {
  const p = new InnerPacket();
  const code = parseInner(packet, 0, packet.length, protocolType, p);
  if (code !== INNER_OK) return `unreadable inner packet (${INNER_ERROR_NAMES[code]}, ${packet.length} bytes)`;
  const name = PROTOCOL_NAMES[p.protocol] ?? `protocol ${p.protocol}`;
  const src = addressText(packet, p.srcOffset, p.addressLength);
  const dst = addressText(packet, p.dstOffset, p.addressLength);
  const ends = p.hasPorts ? `${src}:${p.srcPort} > ${dst}:${p.dstPort}` : `${src} > ${dst}`;
  const at = payloadOffset(packet, p);
  if (at < 0 || at > p.length) return `${name} ${ends} (${p.length} bytes)`;
  const payload = Buffer.from(packet.subarray(at, p.length));
  const printable = /^[\x20-\x7e]*$/.test(payload.toString('latin1'));
  if (!printable) return `${name} ${ends} (${payload.length} bytes of payload)`;
  const text = payload.length > SHOWN_PAYLOAD ? `${payload.toString('latin1', 0, SHOWN_PAYLOAD)}…` : payload.toString('latin1');
  return `${name} ${ends} ${JSON.stringify(text)}`;
}
