/**
 * PROXY protocol version 2 (the binary header HAProxy specified), as NLB prepends it to the
 * first payload it sends a backend when `ProxyProtocolEnabled` is on, with Alibaba's TLVs.
 *
 * Layout (all multi-byte numbers in network order):
 *
 *   0   12  signature  0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
 *   12   1  version (high nibble, 2) | command (low nibble: 0 LOCAL, 1 PROXY)   → 0x21
 *   13   1  family (high nibble: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX)
 *           | transport (low nibble: 0 UNSPEC, 1 STREAM, 2 DGRAM)   → 0x11 0x12 0x21 0x22
 *   14   2  length of everything after these 16 bytes (addresses + TLVs)
 *   16      INET:  src addr(4) dst addr(4) src port(2) dst port(2)              12 bytes
 *           INET6: src addr(16) dst addr(16) src port(2) dst port(2)            36 bytes
 *           then TLVs: type(1) length(2) value(length)
 *
 * Alibaba TLVs (`ProxyProtocolV2Config`): type 0xE1 (in the 0xE0–0xEF custom range); value =
 * 1-byte subtype + the ID in ASCII; the TLV length counts the subtype byte plus the ID.
 *   0x01 VPC ID (Ppv2VpcIdEnabled) · 0x02 PrivateLink endpoint ID (Ppv2PrivateLinkEpIdEnabled)
 *   · 0x03 PrivateLink endpoint service ID (Ppv2PrivateLinkEpsIdEnabled).
 * Each ID is its own 0xE1 TLV, emitted in subtype order.
 *
 * Addresses: when both ends are IPv4 — including IPv4-mapped IPv6 text such as
 * "::ffff:1.2.3.4", which is what Node reports on dual-stack sockets — the header is INET;
 * otherwise INET6, with any IPv4 end written in its mapped form.
 *
 * The per-connection path is `encodeProxyV2(conn, tlvBytes)`: TLV bytes are encoded once per
 * listener (`alibabaTlvBytes` / `encodeTlvs`), and each connection costs one Buffer.
 */
import { isIpv4Mapped, parseIpInto } from '../balancing/flow-hash.js';
import { formatIpv6 } from '../../util/ipv6.js';

export { formatIpv6 };

export const PROXY_V2_SIGNATURE: Readonly<Uint8Array> = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
);
/** Fixed part: signature, version/command, family, length. */
export const PROXY_V2_FIXED_LENGTH = 16;

export const PP2_VERSION_2 = 0x20;
export const PP2_CMD_LOCAL = 0x00;
export const PP2_CMD_PROXY = 0x01;
export const PP2_FAM_TCP4 = 0x11;
export const PP2_FAM_UDP4 = 0x12;
export const PP2_FAM_TCP6 = 0x21;
export const PP2_FAM_UDP6 = 0x22;

/** Standard TLV types this module knows by name. */
export const PP2_TYPE_ALPN = 0x01;
export const PP2_TYPE_AUTHORITY = 0x02;
export const PP2_TYPE_CRC32C = 0x03;
export const PP2_TYPE_NOOP = 0x04;
export const PP2_TYPE_UNIQUE_ID = 0x05;
export const PP2_TYPE_SSL = 0x20;
export const PP2_TYPE_NETNS = 0x30;

/** Alibaba's TLV type and subtypes. */
export const PP2_TYPE_ALIBABA = 0xe1;
export const PP2_ALIBABA_VPC_ID = 0x01;
export const PP2_ALIBABA_ENDPOINT_ID = 0x02;
export const PP2_ALIBABA_ENDPOINT_SERVICE_ID = 0x03;

export type ProxyTransport = 'tcp' | 'udp';

export interface ProxyV2Tlv {
  type: number;
  value: Uint8Array;
}

/** The IDs NLB can add (each optional; the listener's `ProxyProtocolV2Config` decides). */
export interface AlibabaProxyIds {
  /** Subtype 0x01. */
  vpcId?: string;
  /** Subtype 0x02: PrivateLink endpoint ID. */
  endpointId?: string;
  /** Subtype 0x03: PrivateLink endpoint service ID. */
  endpointServiceId?: string;
}

export interface ProxyV2Connection {
  /** 'tcp' → STREAM (TCP listeners, TCPSSL), 'udp' → DGRAM. Default 'tcp'. */
  transport?: ProxyTransport;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
}

export class ProxyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyProtocolError';
  }
}

function asciiId(id: string, what: string): Uint8Array {
  if (id.length === 0 || id.length > 0xfffe) throw new RangeError(`${what} must be 1–65534 characters`);
  const out = new Uint8Array(id.length + 1);
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new RangeError(`${what} must be printable ASCII: ${JSON.stringify(id)}`);
    out[i + 1] = c;
  }
  return out;
}

/** The 0xE1 TLVs for the given IDs, in subtype order (absent IDs are skipped). */
export function alibabaTlvs(ids: AlibabaProxyIds): ProxyV2Tlv[] {
  const out: ProxyV2Tlv[] = [];
  const add = (subtype: number, id: string | undefined, what: string): void => {
    if (id === undefined) return;
    const value = asciiId(id, what);
    value[0] = subtype;
    out.push({ type: PP2_TYPE_ALIBABA, value });
  };
  add(PP2_ALIBABA_VPC_ID, ids.vpcId, 'VPC ID');
  add(PP2_ALIBABA_ENDPOINT_ID, ids.endpointId, 'endpoint ID');
  add(PP2_ALIBABA_ENDPOINT_SERVICE_ID, ids.endpointServiceId, 'endpoint service ID');
  return out;
}

/** TLVs → their wire bytes (type, 2-byte length, value), to be computed once per listener. */
export function encodeTlvs(tlvs: readonly ProxyV2Tlv[]): Buffer {
  let total = 0;
  for (const t of tlvs) {
    if (!Number.isInteger(t.type) || t.type < 0 || t.type > 0xff) throw new RangeError(`bad TLV type ${t.type}`);
    if (t.value.length > 0xffff) throw new RangeError(`TLV 0x${t.type.toString(16)} value is too long`);
    total += 3 + t.value.length;
  }
  const out = Buffer.alloc(total);
  let at = 0;
  for (const t of tlvs) {
    out[at] = t.type;
    out.writeUInt16BE(t.value.length, at + 1);
    out.set(t.value, at + 3);
    at += 3 + t.value.length;
  }
  return out;
}

/** `encodeTlvs(alibabaTlvs(ids))`. */
export function alibabaTlvBytes(ids: AlibabaProxyIds): Buffer {
  return encodeTlvs(alibabaTlvs(ids));
}

const addrScratch = new Uint8Array(32);

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`${what} ${port} is not a port`);
}

/**
 * The PROXY v2 header (command PROXY) for one connection, followed by `tlvBytes` (already
 * encoded, see `encodeTlvs`). Throws RangeError on an address or port it cannot encode.
 */
export function encodeProxyV2(conn: ProxyV2Connection, tlvBytes?: Uint8Array): Buffer {
  if (parseIpInto(conn.srcIp, addrScratch, 0) === 0) throw new RangeError(`not an IP address: ${conn.srcIp}`);
  if (parseIpInto(conn.dstIp, addrScratch, 16) === 0) throw new RangeError(`not an IP address: ${conn.dstIp}`);
  checkPort(conn.srcPort, 'source port');
  checkPort(conn.dstPort, 'destination port');
  const udp = conn.transport === 'udp';
  const inet = isIpv4Mapped(addrScratch, 0) && isIpv4Mapped(addrScratch, 16);
  const addrLen = inet ? 12 : 36;
  const tlvLen = tlvBytes === undefined ? 0 : tlvBytes.length;
  if (addrLen + tlvLen > 0xffff) throw new RangeError('PROXY v2 header would exceed 65535 bytes');
  const out = Buffer.allocUnsafe(PROXY_V2_FIXED_LENGTH + addrLen + tlvLen);
  out.set(PROXY_V2_SIGNATURE, 0);
  out[12] = PP2_VERSION_2 | PP2_CMD_PROXY;
  out[13] = inet ? (udp ? PP2_FAM_UDP4 : PP2_FAM_TCP4) : udp ? PP2_FAM_UDP6 : PP2_FAM_TCP6;
  out[14] = (addrLen + tlvLen) >>> 8;
  out[15] = (addrLen + tlvLen) & 0xff;
  let at = 16;
  if (inet) {
    for (let k = 0; k < 4; k++) {
      out[16 + k] = addrScratch[12 + k];
      out[20 + k] = addrScratch[28 + k];
    }
    at = 24;
  } else {
    for (let k = 0; k < 16; k++) {
      out[16 + k] = addrScratch[k];
      out[32 + k] = addrScratch[16 + k];
    }
    at = 48;
  }
  out[at] = conn.srcPort >>> 8;
  out[at + 1] = conn.srcPort & 0xff;
  out[at + 2] = conn.dstPort >>> 8;
  out[at + 3] = conn.dstPort & 0xff;
  if (tlvLen > 0) out.set(tlvBytes!, at + 4);
  return out;
}

/** A LOCAL header (e.g. for health checks): family UNSPEC, no addresses, optional TLVs. */
export function encodeProxyV2Local(tlvBytes?: Uint8Array): Buffer {
  const tlvLen = tlvBytes === undefined ? 0 : tlvBytes.length;
  if (tlvLen > 0xffff) throw new RangeError('PROXY v2 header would exceed 65535 bytes');
  const out = Buffer.alloc(PROXY_V2_FIXED_LENGTH + tlvLen);
  out.set(PROXY_V2_SIGNATURE, 0);
  out[12] = PP2_VERSION_2 | PP2_CMD_LOCAL;
  out[13] = 0x00;
  out.writeUInt16BE(tlvLen, 14);
  if (tlvLen > 0) out.set(tlvBytes!, 16);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

export interface DecodedProxyV2 {
  command: 'LOCAL' | 'PROXY';
  family: 'UNSPEC' | 'INET' | 'INET6' | 'UNIX';
  transport: 'UNSPEC' | 'STREAM' | 'DGRAM';
  /** Present for INET / INET6. IPv6 in RFC 5952 form (IPv4-mapped as "::ffff:a.b.c.d"). */
  srcIp?: string;
  srcPort?: number;
  dstIp?: string;
  dstPort?: number;
  /** Every TLV, in wire order (values are views into the input). */
  tlvs: ProxyV2Tlv[];
  /** The Alibaba 0xE1 IDs found among the TLVs. */
  alibaba: AlibabaProxyIds;
  /** Total header length: the payload starts at this offset. */
  length: number;
}

const FAMILY_ADDRESS_LENGTH: Record<number, number> = { 0x0: 0, 0x1: 12, 0x2: 36, 0x3: 216 };
const FAMILY_NAMES = ['UNSPEC', 'INET', 'INET6', 'UNIX'] as const;
const TRANSPORT_NAMES = ['UNSPEC', 'STREAM', 'DGRAM'] as const;

/**
 * Parses a PROXY v2 header at the start of `buf`. Returns undefined when `buf` is a correct
 * but incomplete prefix (read more bytes and call again); throws ProxyProtocolError on
 * anything malformed: wrong signature, version ≠ 2, unknown command, family or transport,
 * a length too small for the family's addresses, TLVs that do not exactly fill the rest, a
 * CRC32C TLV that does not match, a malformed or repeated Alibaba TLV. UNIX addresses are
 * skipped (not returned).
 */
export function decodeProxyV2(buf: Uint8Array): DecodedProxyV2 | undefined {
  const have = Math.min(buf.length, 12);
  for (let i = 0; i < have; i++) {
    if (buf[i] !== PROXY_V2_SIGNATURE[i]) throw new ProxyProtocolError('not a PROXY protocol v2 header (bad signature)');
  }
  if (buf.length < PROXY_V2_FIXED_LENGTH) {
    if (buf.length > 12 && buf[12] >>> 4 !== 2) throw new ProxyProtocolError(`unsupported PROXY version ${buf[12] >>> 4}`);
    return undefined;
  }
  const verCmd = buf[12];
  if (verCmd >>> 4 !== 2) throw new ProxyProtocolError(`unsupported PROXY version ${verCmd >>> 4}`);
  const cmd = verCmd & 0x0f;
  if (cmd !== PP2_CMD_LOCAL && cmd !== PP2_CMD_PROXY) throw new ProxyProtocolError(`unknown PROXY command ${cmd}`);
  const fam = buf[13];
  const familyCode = fam >>> 4;
  const transportCode = fam & 0x0f;
  const familyOk = familyCode === 0 ? transportCode === 0 : familyCode <= 3 && transportCode >= 1 && transportCode <= 2;
  if (!familyOk) throw new ProxyProtocolError(`unknown address family/transport 0x${fam.toString(16).padStart(2, '0')}`);
  const len = (buf[14] << 8) | buf[15];
  const total = PROXY_V2_FIXED_LENGTH + len;
  if (buf.length < total) return undefined;
  const addrLen = FAMILY_ADDRESS_LENGTH[familyCode];
  if (len < addrLen) throw new ProxyProtocolError(`length ${len} is too small for the address block (${addrLen})`);

  const out: DecodedProxyV2 = {
    command: cmd === PP2_CMD_PROXY ? 'PROXY' : 'LOCAL',
    family: FAMILY_NAMES[familyCode],
    transport: TRANSPORT_NAMES[transportCode],
    tlvs: [],
    alibaba: {},
    length: total,
  };
  if (familyCode === 1) {
    out.srcIp = `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}`;
    out.dstIp = `${buf[20]}.${buf[21]}.${buf[22]}.${buf[23]}`;
    out.srcPort = (buf[24] << 8) | buf[25];
    out.dstPort = (buf[26] << 8) | buf[27];
  } else if (familyCode === 2) {
    out.srcIp = formatIpv6(buf, 16);
    out.dstIp = formatIpv6(buf, 32);
    out.srcPort = (buf[48] << 8) | buf[49];
    out.dstPort = (buf[50] << 8) | buf[51];
  }

  let at = PROXY_V2_FIXED_LENGTH + addrLen;
  let crcAt = -1;
  while (at < total) {
    if (total - at < 3) throw new ProxyProtocolError('truncated TLV header');
    const type = buf[at];
    const vlen = (buf[at + 1] << 8) | buf[at + 2];
    if (at + 3 + vlen > total) throw new ProxyProtocolError(`TLV 0x${type.toString(16)} overruns the header`);
    const value = buf.subarray(at + 3, at + 3 + vlen);
    out.tlvs.push({ type, value });
    if (type === PP2_TYPE_CRC32C) {
      if (vlen !== 4) throw new ProxyProtocolError('CRC32C TLV must hold 4 bytes');
      if (crcAt >= 0) throw new ProxyProtocolError('more than one CRC32C TLV');
      crcAt = at + 3;
    } else if (type === PP2_TYPE_ALIBABA) {
      readAlibabaTlv(value, out.alibaba);
    }
    at += 3 + vlen;
  }
  if (crcAt >= 0) {
    const expected = ((buf[crcAt] << 24) | (buf[crcAt + 1] << 16) | (buf[crcAt + 2] << 8) | buf[crcAt + 3]) >>> 0;
    const copy = new Uint8Array(buf.subarray(0, total)); // a copy, whatever `buf` is
    copy.fill(0, crcAt, crcAt + 4);
    if (crc32c(copy) !== expected) throw new ProxyProtocolError('CRC32C TLV does not match the header');
  }
  return out;
}

function readAlibabaTlv(value: Uint8Array, into: AlibabaProxyIds): void {
  if (value.length < 2) throw new ProxyProtocolError('Alibaba TLV 0xE1 needs a subtype and an ID');
  const subtype = value[0];
  let id = '';
  for (let i = 1; i < value.length; i++) {
    const c = value[i];
    if (c < 0x21 || c > 0x7e) throw new ProxyProtocolError(`Alibaba TLV 0xE1/0x${subtype.toString(16)} ID is not printable ASCII`);
    id += String.fromCharCode(c);
  }
  const field =
    subtype === PP2_ALIBABA_VPC_ID
      ? 'vpcId'
      : subtype === PP2_ALIBABA_ENDPOINT_ID
        ? 'endpointId'
        : subtype === PP2_ALIBABA_ENDPOINT_SERVICE_ID
          ? 'endpointServiceId'
          : undefined;
  if (field === undefined) return; // an unknown subtype stays in `tlvs` only
  if (into[field] !== undefined) throw new ProxyProtocolError(`repeated Alibaba TLV 0xE1/0x0${subtype}`);
  into[field] = id;
}

let crcTable: Uint32Array | undefined;

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as the PP2_TYPE_CRC32C TLV uses. */
export function crc32c(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
