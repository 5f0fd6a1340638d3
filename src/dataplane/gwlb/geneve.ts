/**
 * GENEVE (RFC 8926) codec for the GWLB data plane. Pure: bytes in, bytes out; no sockets.
 *
 * Wire format (all multi-byte fields in network order):
 *
 *   byte 0   Ver(2) | Opt Len(6)        Opt Len = option bytes / 4 (0–63), after the 8-byte base
 *   byte 1   O(1) | C(1) | Rsvd(6)      O: control packet; C: some option is critical
 *   byte 2-3 Protocol Type              EtherType of the payload
 *   byte 4-6 VNI (24 bits)              byte 7 reserved
 *   options  Class(16) | Type(8, high bit = critical) | R(3) | Length(5, data / 4) | data
 *   payload  at 8 + 4 · Opt Len
 *
 * Decoding is strict. A packet is refused (and the caller counts the reason) when:
 *
 *   truncated                shorter than the base header, or than the option length claims
 *   bad_version              Ver ≠ 0 (RFC 8926 §3.4: receivers drop unknown versions)
 *   bad_option               an option runs past the option area
 *   critical_bit_mismatch    the C bit disagrees with the options (set without a critical
 *                            option, or clear while one is critical)
 *   unknown_critical_option  a critical option this node does not understand (RFC 8926 §3.5:
 *                            such a packet must be dropped)
 *   control_packet           O bit set: a control message for this endpoint, never forwarded
 *   unsupported_protocol     Protocol Type other than IPv4 (0x0800) or IPv6 (0x86DD). GWLB
 *                            carries bare IP packets — gwlb-api.md §5.2 infers raw IP by analogy
 *                            with AWS, whose GWLB rejects other EtherTypes; Ethernet (0x6558)
 *                            is refused too.
 *
 * Reserved bits are ignored on receipt and written as zero.
 *
 * GWLB options. The GWLB adds three options of one class (`dataplane.gwlbOptionClass`, default
 * 0x0108) to every packet it hands an appliance, laid out like AWS GWLB's (gwlb-api.md §6) so an
 * appliance written against AWS decodes them unchanged — Alibaba's own class and types are not
 * public (gwlb-api.md §5.2 gap). With the outer IPv4 (20), UDP (8) and GENEVE base (8) headers
 * these 32 bytes make the 68 bytes of overhead Alibaba documents:
 *
 *   type 1  endpoint id    8 bytes  where the flow's packets came from: 16 zero bits, the
 *                                   endpoint's UDP source port (16), its IPv4 address (32)
 *   type 2  attachment id  8 bytes  the GWLB listener: MurmurHash3 of its id with seeds 1 and 2
 *                                   (high, low half) — stable on every node
 *   type 3  flow cookie    4 bytes  bit 31: direction (0 = as the flow's first packet, 1 =
 *                                   reverse); bits 0–30: the flow's id on this node
 *
 * None is critical. Options of the GWLB class that arrive from an endpoint are replaced (never
 * passed on), options of other classes are passed through to the appliance unchanged; an
 * appliance is expected to return the options it received (as with AWS).
 */
import { murmur3 } from '../balancing/flow-hash.js';

export const GENEVE_UDP_PORT = 6081;
export const GENEVE_BASE_LENGTH = 8;
/** Opt Len is 6 bits of 4-byte words. */
export const GENEVE_MAX_OPTIONS_LENGTH = 63 * 4;
/** An option's Length is 5 bits of 4-byte words. */
export const GENEVE_MAX_OPTION_DATA = 31 * 4;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_ETHERNET = 0x6558;

/** AWS GWLB's option class; OpenSLB's default (gwlb-api.md §6). */
export const DEFAULT_GWLB_OPTION_CLASS = 0x0108;
export const GWLB_OPTION_ENDPOINT_ID = 1;
export const GWLB_OPTION_ATTACHMENT_ID = 2;
export const GWLB_OPTION_FLOW_COOKIE = 3;
/** What the three GWLB options take: (4 + 8) + (4 + 8) + (4 + 4). */
export const GWLB_OPTIONS_LENGTH = 32;
/** The critical bit of an option's Type. */
export const OPTION_CRITICAL = 0x80;

/** Decode outcomes; 0 is success. */
export const GENEVE_OK = 0;
export const GENEVE_TRUNCATED = 1;
export const GENEVE_BAD_VERSION = 2;
export const GENEVE_BAD_OPTION = 3;
export const GENEVE_CRITICAL_BIT_MISMATCH = 4;
export const GENEVE_UNKNOWN_CRITICAL_OPTION = 5;
export const GENEVE_CONTROL_PACKET = 6;
export const GENEVE_UNSUPPORTED_PROTOCOL = 7;

/** Metric label of each decode outcome, indexed by the codes above. */
export const GENEVE_ERROR_NAMES: readonly string[] = [
  'ok',
  'truncated',
  'bad_version',
  'bad_option',
  'critical_bit_mismatch',
  'unknown_critical_option',
  'control_packet',
  'unsupported_protocol',
];

/**
 * A decoded header, filled in place by `decodeGeneve` (reuse one per socket: decoding allocates
 * nothing). Offsets are absolute positions in the buffer that was decoded.
 */
export class GeneveHeader {
  version = 0;
  oam = false;
  critical = false;
  protocolType = 0;
  vni = 0;
  optionsOffset = 0;
  /** Bytes of options (4 · Opt Len). */
  optionsLength = 0;
  payloadOffset = 0;
  optionCount = 0;
  /** Bytes of options of other classes than the GWLB's (these are passed through). */
  foreignOptionsLength = 0;
  /** Whether one of those is critical (then the C bit must be set when they are passed on). */
  foreignCritical = false;
  /** GWLB options found (each -1 / false when absent or of the wrong length). */
  hasEndpointId = false;
  endpointIdHigh = 0;
  endpointIdLow = 0;
  hasAttachmentId = false;
  attachmentIdHigh = 0;
  attachmentIdLow = 0;
  flowCookie = -1;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/**
 * Decodes the GENEVE header of `buf[offset, end)` into `out`; returns GENEVE_OK or the reason
 * the packet must be dropped (see the module comment). `gwlbClass` is the option class whose
 * types 1–3 this node understands.
 */
export function decodeGeneve(buf: Uint8Array, offset: number, end: number, gwlbClass: number, out: GeneveHeader): number {
  if (end - offset < GENEVE_BASE_LENGTH) return GENEVE_TRUNCATED;
  const b0 = buf[offset];
  const b1 = buf[offset + 1];
  out.version = b0 >>> 6;
  if (out.version !== 0) return GENEVE_BAD_VERSION;
  const optionsLength = (b0 & 0x3f) * 4;
  out.oam = (b1 & 0x80) !== 0;
  out.critical = (b1 & 0x40) !== 0;
  out.protocolType = (buf[offset + 2] << 8) | buf[offset + 3];
  out.vni = (buf[offset + 4] << 16) | (buf[offset + 5] << 8) | buf[offset + 6];
  out.optionsOffset = offset + GENEVE_BASE_LENGTH;
  out.optionsLength = optionsLength;
  out.payloadOffset = out.optionsOffset + optionsLength;
  if (out.payloadOffset > end) return GENEVE_TRUNCATED;

  out.optionCount = 0;
  out.foreignOptionsLength = 0;
  out.foreignCritical = false;
  out.hasEndpointId = false;
  out.hasAttachmentId = false;
  out.flowCookie = -1;
  let anyCritical = false;
  let unknownCritical = false;
  let at = out.optionsOffset;
  const optionsEnd = out.payloadOffset;
  while (at < optionsEnd) {
    // Options are whole words and the area is whole words, so a header always fits.
    const optionClass = (buf[at] << 8) | buf[at + 1];
    const type = buf[at + 2];
    const dataLength = (buf[at + 3] & 0x1f) * 4;
    const data = at + 4;
    if (data + dataLength > optionsEnd) return GENEVE_BAD_OPTION;
    const critical = (type & OPTION_CRITICAL) !== 0;
    if (critical) anyCritical = true;
    out.optionCount++;
    if (optionClass === gwlbClass) {
      const t = type & 0x7f;
      let understood = true;
      if (t === GWLB_OPTION_ENDPOINT_ID && dataLength === 8) {
        out.hasEndpointId = true;
        out.endpointIdHigh = u32(buf, data);
        out.endpointIdLow = u32(buf, data + 4);
      } else if (t === GWLB_OPTION_ATTACHMENT_ID && dataLength === 8) {
        out.hasAttachmentId = true;
        out.attachmentIdHigh = u32(buf, data);
        out.attachmentIdLow = u32(buf, data + 4);
      } else if (t === GWLB_OPTION_FLOW_COOKIE && dataLength === 4) {
        out.flowCookie = u32(buf, data);
      } else {
        understood = false;
      }
      if (critical && !understood) unknownCritical = true;
    } else {
      out.foreignOptionsLength += 4 + dataLength;
      if (critical) {
        out.foreignCritical = true;
        unknownCritical = true;
      }
    }
    at = data + dataLength;
  }
  if (anyCritical !== out.critical) return GENEVE_CRITICAL_BIT_MISMATCH;
  if (unknownCritical) return GENEVE_UNKNOWN_CRITICAL_OPTION;
  if (out.oam) return GENEVE_CONTROL_PACKET;
  if (out.protocolType !== ETHERTYPE_IPV4 && out.protocolType !== ETHERTYPE_IPV6) return GENEVE_UNSUPPORTED_PROTOCOL;
  return GENEVE_OK;
}

/** The values of the three GWLB options; reuse one object per socket. */
export class GwlbMetadata {
  endpointIdHigh = 0;
  endpointIdLow = 0;
  attachmentIdHigh = 0;
  attachmentIdLow = 0;
  flowCookie = 0;
}

/** Writes the three GWLB options at `out[at]`; returns GWLB_OPTIONS_LENGTH. */
export function writeGwlbOptions(out: Uint8Array, at: number, gwlbClass: number, meta: GwlbMetadata): number {
  const hi = (gwlbClass >>> 8) & 0xff;
  const lo = gwlbClass & 0xff;
  out[at] = hi;
  out[at + 1] = lo;
  out[at + 2] = GWLB_OPTION_ENDPOINT_ID;
  out[at + 3] = 2;
  putU32(out, at + 4, meta.endpointIdHigh);
  putU32(out, at + 8, meta.endpointIdLow);
  out[at + 12] = hi;
  out[at + 13] = lo;
  out[at + 14] = GWLB_OPTION_ATTACHMENT_ID;
  out[at + 15] = 2;
  putU32(out, at + 16, meta.attachmentIdHigh);
  putU32(out, at + 20, meta.attachmentIdLow);
  out[at + 24] = hi;
  out[at + 25] = lo;
  out[at + 26] = GWLB_OPTION_FLOW_COOKIE;
  out[at + 27] = 1;
  putU32(out, at + 28, meta.flowCookie);
  return GWLB_OPTIONS_LENGTH;
}

/**
 * The header the GWLB sends an appliance for a packet it decoded into `h` (from `src`): the
 * same protocol type and VNI, the packet's options of other classes, then the three GWLB
 * options; O clear, C set only if a passed-through option is critical. Writes at `out[0]` and
 * returns the header length (the payload goes right after it), or -1 when the options would
 * exceed what Opt Len can express.
 */
export function writeApplianceHeader(out: Uint8Array, src: Uint8Array, h: GeneveHeader, gwlbClass: number, meta: GwlbMetadata): number {
  const optionsLength = h.foreignOptionsLength + GWLB_OPTIONS_LENGTH;
  if (optionsLength > GENEVE_MAX_OPTIONS_LENGTH) return -1;
  out[0] = optionsLength >>> 2; // version 0
  out[1] = h.foreignCritical ? 0x40 : 0;
  out[2] = (h.protocolType >>> 8) & 0xff;
  out[3] = h.protocolType & 0xff;
  out[4] = (h.vni >>> 16) & 0xff;
  out[5] = (h.vni >>> 8) & 0xff;
  out[6] = h.vni & 0xff;
  out[7] = 0;
  let w = GENEVE_BASE_LENGTH;
  if (h.foreignOptionsLength > 0) {
    let at = h.optionsOffset;
    const end = h.payloadOffset;
    while (at < end) {
      const optionClass = (src[at] << 8) | src[at + 1];
      const size = 4 + (src[at + 3] & 0x1f) * 4;
      if (optionClass !== gwlbClass) {
        for (let k = 0; k < size; k++) out[w + k] = src[at + k];
        w += size;
      }
      at += size;
    }
  }
  return w + writeGwlbOptions(out, w, gwlbClass, meta);
}

// ---------------------------------------------------------------------------------------------
// Allocating helpers: for endpoints and appliances in tests and tools, not for the hot path.

export interface GeneveOption {
  optionClass: number;
  /** Including the critical bit (0x80). */
  type: number;
  /** A multiple of 4 bytes, at most 124. */
  data: Uint8Array;
}

export interface GeneveMessage {
  vni: number;
  protocolType: number;
  oam?: boolean;
  /** The C bit; default: whether an option is critical. */
  critical?: boolean;
  options?: readonly GeneveOption[];
  payload: Uint8Array;
}

/** Builds a whole GENEVE datagram (the UDP payload). Throws on options that cannot be encoded. */
export function encodeGeneve(msg: GeneveMessage): Buffer {
  const options = msg.options ?? [];
  let optionsLength = 0;
  for (const o of options) {
    if (o.data.length % 4 !== 0 || o.data.length > GENEVE_MAX_OPTION_DATA) {
      throw new RangeError(`GENEVE option data must be a multiple of 4 bytes up to ${GENEVE_MAX_OPTION_DATA}, got ${o.data.length}`);
    }
    optionsLength += 4 + o.data.length;
  }
  if (optionsLength > GENEVE_MAX_OPTIONS_LENGTH)
    throw new RangeError(`GENEVE options take ${optionsLength} bytes; at most ${GENEVE_MAX_OPTIONS_LENGTH}`);
  const out = Buffer.alloc(GENEVE_BASE_LENGTH + optionsLength + msg.payload.length);
  const critical = msg.critical ?? options.some((o) => (o.type & OPTION_CRITICAL) !== 0);
  out[0] = optionsLength >>> 2;
  out[1] = (msg.oam ? 0x80 : 0) | (critical ? 0x40 : 0);
  out.writeUInt16BE(msg.protocolType & 0xffff, 2);
  out[4] = (msg.vni >>> 16) & 0xff;
  out[5] = (msg.vni >>> 8) & 0xff;
  out[6] = msg.vni & 0xff;
  let w = GENEVE_BASE_LENGTH;
  for (const o of options) {
    out.writeUInt16BE(o.optionClass & 0xffff, w);
    out[w + 2] = o.type & 0xff;
    out[w + 3] = o.data.length >>> 2;
    out.set(o.data, w + 4);
    w += 4 + o.data.length;
  }
  out.set(msg.payload, w);
  return out;
}

/** Lists the options of a decoded header (copies). */
export function readGeneveOptions(buf: Uint8Array, h: GeneveHeader): GeneveOption[] {
  const out: GeneveOption[] = [];
  let at = h.optionsOffset;
  while (at < h.payloadOffset) {
    const dataLength = (buf[at + 3] & 0x1f) * 4;
    if (at + 4 + dataLength > h.payloadOffset) break;
    out.push({
      optionClass: (buf[at] << 8) | buf[at + 1],
      type: buf[at + 2],
      data: Uint8Array.prototype.slice.call(buf, at + 4, at + 4 + dataLength),
    });
    at += 4 + dataLength;
  }
  return out;
}

/** The 64-bit attachment id of a listener as two 32-bit halves (see the module comment). */
export function attachmentIdOf(listenerId: string): [number, number] {
  const bytes = Buffer.from(listenerId, 'utf8');
  return [murmur3(bytes, 0, bytes.length, 1), murmur3(bytes, 0, bytes.length, 2)];
}
