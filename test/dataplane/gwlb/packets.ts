/**
 * Test helpers for the GWLB suite: inner IPv4/IPv6 packets (TCP, UDP, ICMP) built byte by byte
 * with correct checksums, and a canonical text key of a flow (both directions give the same).
 */
import { isIPv4 } from 'node:net';

export interface PacketSpec {
  src: string;
  dst: string;
  /** 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, anything else: raw payload. */
  protocol: number;
  srcPort?: number;
  dstPort?: number;
  payload?: Uint8Array | string;
  /** TCP flags byte (default ACK|PSH). */
  tcpFlags?: number;
  /** IPv4 only. */
  fragmentOffset?: number;
  moreFragments?: boolean;
  ttl?: number;
}

function addressBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function sum16(buf: Uint8Array, initial = 0): number {
  let s = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) s += (buf[i] << 8) | buf[i + 1];
  if (buf.length % 2 === 1) s += buf[buf.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function checksum(parts: Uint8Array[]): number {
  const all = Buffer.concat(parts);
  return ~sum16(all) & 0xffff;
}

function l4Segment(spec: PacketSpec, srcA: Buffer, dstA: Buffer, v6: boolean): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : Buffer.from(spec.payload ?? []);
  let seg: Buffer;
  let checksumAt = -1;
  if (spec.protocol === 6) {
    seg = Buffer.alloc(20 + payload.length);
    seg.writeUInt16BE(spec.srcPort ?? 0, 0);
    seg.writeUInt16BE(spec.dstPort ?? 0, 2);
    seg.writeUInt32BE(1000, 4);
    seg.writeUInt32BE(2000, 8);
    seg[12] = 5 << 4;
    seg[13] = spec.tcpFlags ?? 0x18;
    seg.writeUInt16BE(65535, 14);
    payload.copy(seg, 20);
    checksumAt = 16;
  } else if (spec.protocol === 17) {
    seg = Buffer.alloc(8 + payload.length);
    seg.writeUInt16BE(spec.srcPort ?? 0, 0);
    seg.writeUInt16BE(spec.dstPort ?? 0, 2);
    seg.writeUInt16BE(seg.length, 4);
    payload.copy(seg, 8);
    checksumAt = 6;
  } else if (spec.protocol === 1 || spec.protocol === 58) {
    seg = Buffer.alloc(8 + payload.length);
    seg[0] = spec.protocol === 1 ? 8 : 128; // echo request
    seg.writeUInt16BE(0x1234, 4);
    seg.writeUInt16BE(1, 6);
    payload.copy(seg, 8);
    if (spec.protocol === 1) seg.writeUInt16BE(checksum([seg]), 2);
    else checksumAt = 2;
  } else {
    seg = payload;
  }
  if (checksumAt >= 0) {
    const pseudo = v6 ? Buffer.alloc(40) : Buffer.alloc(12);
    if (v6) {
      srcA.copy(pseudo, 0);
      dstA.copy(pseudo, 16);
      pseudo.writeUInt32BE(seg.length, 32);
      pseudo[39] = spec.protocol;
    } else {
      srcA.copy(pseudo, 0);
      dstA.copy(pseudo, 4);
      pseudo[9] = spec.protocol;
      pseudo.writeUInt16BE(seg.length, 10);
    }
    let c = checksum([pseudo, seg]);
    if (spec.protocol === 17 && c === 0) c = 0xffff;
    seg.writeUInt16BE(c, checksumAt);
  }
  return seg;
}

/** An inner IP packet (IPv4 or IPv6 by the address family of `src`). */
export function ipPacket(spec: PacketSpec): Buffer {
  const srcA = addressBytes(spec.src);
  const dstA = addressBytes(spec.dst);
  const v6 = srcA.length === 16;
  const seg = l4Segment(spec, srcA, dstA, v6);
  if (v6) {
    const h = Buffer.alloc(40);
    h[0] = 0x60;
    h.writeUInt16BE(seg.length, 4);
    h[6] = spec.protocol;
    h[7] = spec.ttl ?? 64;
    srcA.copy(h, 8);
    dstA.copy(h, 24);
    return Buffer.concat([h, seg]);
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + seg.length, 2);
  h.writeUInt16BE(0x4242, 4);
  const frag = ((spec.fragmentOffset ?? 0) & 0x1fff) | (spec.moreFragments ? 0x2000 : 0);
  h.writeUInt16BE(frag, 6);
  h[8] = spec.ttl ?? 64;
  h[9] = spec.protocol;
  srcA.copy(h, 12);
  dstA.copy(h, 16);
  h.writeUInt16BE(checksum([h]), 10);
  return Buffer.concat([h, seg]);
}

/** The reverse direction of a spec (addresses and ports swapped). */
export function reverse(spec: PacketSpec): PacketSpec {
  return { ...spec, src: spec.dst, dst: spec.src, srcPort: spec.dstPort, dstPort: spec.srcPort };
}

/** A direction-free name for a flow: `proto lo-endpoint hi-endpoint`. */
export function flowName(spec: Pick<PacketSpec, 'src' | 'dst' | 'protocol' | 'srcPort' | 'dstPort'>): string {
  const a = `${spec.src}:${spec.srcPort ?? 0}`;
  const b = `${spec.dst}:${spec.dstPort ?? 0}`;
  return `${spec.protocol} ${a < b ? a : b} ${a < b ? b : a}`;
}

/** Reads addresses, protocol and ports back from an inner packet (for appliances in tests). */
export function describeInner(packet: Uint8Array): { src: string; dst: string; protocol: number; srcPort: number; dstPort: number } {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  const v6 = b[0] >>> 4 === 6;
  const protocol = v6 ? b[6] : b[9];
  const l4 = v6 ? 40 : (b[0] & 0x0f) * 4;
  const text = (at: number, n: number) =>
    n === 4
      ? [...b.subarray(at, at + 4)].join('.')
      : Array.from({ length: 8 }, (_, i) => b.readUInt16BE(at + 2 * i).toString(16)).join(':');
  const ports = protocol === 6 || protocol === 17;
  return {
    src: v6 ? text(8, 16) : text(12, 4),
    dst: v6 ? text(24, 16) : text(16, 4),
    protocol,
    srcPort: ports ? b.readUInt16BE(l4) : 0,
    dstPort: ports ? b.readUInt16BE(l4 + 2) : 0,
  };
}
