/**
 * QUIC connection IDs for the `Qch` scheduler: the Destination Connection ID (DCID) of a UDP
 * datagram's first QUIC packet, read using only the version-independent invariants
 * (RFC 8999) plus the fixed bit of QUIC v1/v2 (RFC 9000, RFC 9369).
 *
 * Long header (first bit 1): flags(1) version(4) dcidLen(1) dcid(dcidLen) scidLen(1) scid …
 *   The DCID length is on the wire. Refused: version 0 (Version Negotiation, never sent by a
 *   client), a zero-length DCID (nothing to route on), a DCID over 20 bytes for v1/v2, a
 *   cleared fixed bit, or a datagram too short to hold both connection IDs.
 *
 * Short header (first bit 0): flags(1) dcid(?) packet-number …
 *   The DCID length is NOT on the wire: only the server that issued the ID knows it. A load
 *   balancer has to be told; the default is 8 bytes (`DEFAULT_QUIC_CID_LENGTH`), a common
 *   choice for server-issued IDs and the minimum a client uses for its first Initial DCID.
 *   Configure it to the length your servers issue, or anything shorter: a prefix of the ID
 *   still identifies the connection (with less entropy), whereas a longer value would
 *   swallow per-packet bytes and scatter the connection. Refused: a cleared fixed bit, or a
 *   datagram too short for flags + DCID + one more byte.
 *
 * For routing, `hashQuicCid` hashes the first min(DCID length, configured length) bytes, so a
 * long-header packet (e.g. Handshake) and a short-header packet carrying the same
 * server-issued ID agree. Caveat worth knowing: a client's very first Initial carries a random
 * DCID of its own choosing and later packets carry the server's ID, so the listener must keep
 * its per-4-tuple session for the handshake; the CID hash is what re-finds the backend when the
 * client's address changes mid-connection. RFC 9000 asks clients to switch to a fresh ID when
 * they migrate on purpose; affinity then needs server-issued IDs that encode the backend
 * (QUIC-LB) — out of scope here.
 */
import { murmur3 } from './flow-hash.js';

/** The short-header DCID length assumed when none is configured. */
export const DEFAULT_QUIC_CID_LENGTH = 8;
/** Largest connection ID QUIC v1/v2 allow. */
export const MAX_QUIC_CID_LENGTH = 20;
/** Seed of the CID routing hash (MurmurHash3_x86_32 over the CID bytes). */
export const QUIC_CID_HASH_SEED = 0x51554943; // "QUIC"

const QUIC_V1 = 0x00000001;
const QUIC_V2 = 0x6b3343cf;

/**
 * Length of the DCID of the datagram's first packet, or -1 when it does not look like QUIC.
 * The DCID starts at byte 6 for a long header (`packet[0] & 0x80`), byte 1 for a short one.
 */
export function quicDcidLength(packet: Uint8Array, shortHeaderCidLength: number = DEFAULT_QUIC_CID_LENGTH): number {
  const len = packet.length;
  if (len < 1) return -1;
  const flags = packet[0];
  if ((flags & 0x40) === 0) return -1; // fixed bit
  if ((flags & 0x80) === 0) {
    if (shortHeaderCidLength < 1 || shortHeaderCidLength > MAX_QUIC_CID_LENGTH) return -1;
    return len >= 1 + shortHeaderCidLength + 1 ? shortHeaderCidLength : -1;
  }
  if (len < 7) return -1;
  const version = ((packet[1] << 24) | (packet[2] << 16) | (packet[3] << 8) | packet[4]) >>> 0;
  if (version === 0) return -1;
  const dcidLen = packet[5];
  if (dcidLen === 0) return -1;
  if ((version === QUIC_V1 || version === QUIC_V2) && dcidLen > MAX_QUIC_CID_LENGTH) return -1;
  const scidLenAt = 6 + dcidLen;
  if (scidLenAt >= len) return -1;
  const scidLen = packet[scidLenAt];
  if ((version === QUIC_V1 || version === QUIC_V2) && scidLen > MAX_QUIC_CID_LENGTH) return -1;
  if (scidLenAt + 1 + scidLen > len) return -1;
  return dcidLen;
}

/**
 * The DCID bytes (a view into `packet`, not a copy), or undefined when the datagram does not
 * look like QUIC. Long header: the whole DCID; short header: `shortHeaderCidLength` bytes.
 */
export function extractQuicCid(packet: Uint8Array, shortHeaderCidLength: number = DEFAULT_QUIC_CID_LENGTH): Uint8Array | undefined {
  const n = quicDcidLength(packet, shortHeaderCidLength);
  if (n < 0) return undefined;
  const start = packet[0] & 0x80 ? 6 : 1;
  return packet.subarray(start, start + n);
}

/**
 * The routing hash of the datagram's DCID: MurmurHash3_x86_32 (seed `QUIC_CID_HASH_SEED`) over
 * its first min(DCID length, `cidLength`) bytes; -1 when the datagram does not look like QUIC
 * (the caller then falls back to the 4-tuple). Allocation-free.
 */
export function hashQuicCid(packet: Uint8Array, cidLength: number = DEFAULT_QUIC_CID_LENGTH): number {
  const n = quicDcidLength(packet, cidLength);
  if (n < 0) return -1;
  const start = packet[0] & 0x80 ? 6 : 1;
  const used = cidLength >= 1 && cidLength < n ? cidLength : n;
  return murmur3(packet, start, start + used, QUIC_CID_HASH_SEED);
}
