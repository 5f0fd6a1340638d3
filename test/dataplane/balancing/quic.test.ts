import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_QUIC_CID_LENGTH,
  QUIC_CID_HASH_SEED,
  extractQuicCid,
  hashQuicCid,
  quicDcidLength,
} from '../../../src/dataplane/balancing/quic.js';
import { murmur3 } from '../../../src/dataplane/balancing/flow-hash.js';

const CID = Uint8Array.of(0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08);

/** A QUIC v1 Initial-shaped long header: flags, version, DCID, SCID, then some payload. */
function longHeader(dcid: Uint8Array, opts: { version?: number; flags?: number; scid?: Uint8Array; payload?: number } = {}): Uint8Array {
  const scid = opts.scid ?? Uint8Array.of(1, 2, 3, 4);
  const version = opts.version ?? 1;
  const out = [
    opts.flags ?? 0xc3,
    (version >>> 24) & 255,
    (version >>> 16) & 255,
    (version >>> 8) & 255,
    version & 255,
    dcid.length,
    ...dcid,
    scid.length,
    ...scid,
    ...new Array(opts.payload ?? 20).fill(0xaa),
  ];
  return Uint8Array.from(out);
}

function shortHeader(dcid: Uint8Array, payload: number[] = [0x11, 0x22, 0x33, 0x44]): Uint8Array {
  return Uint8Array.from([0x41, ...dcid, ...payload]);
}

test('long header: the DCID length comes from the wire', () => {
  const p = longHeader(CID);
  assert.equal(quicDcidLength(p), 8);
  assert.deepEqual(extractQuicCid(p), CID);
  const long20 = new Uint8Array(20).fill(7);
  assert.deepEqual(extractQuicCid(longHeader(long20)), long20);
  // Version 2 and an unknown (e.g. grease) version are fine.
  assert.deepEqual(extractQuicCid(longHeader(CID, { version: 0x6b3343cf })), CID);
  assert.deepEqual(extractQuicCid(longHeader(new Uint8Array(30).fill(1), { version: 0x1a2a3a4a })), new Uint8Array(30).fill(1));
  // The result is a view, not a copy.
  const cid = extractQuicCid(p)!;
  assert.equal(cid.buffer, p.buffer);
  assert.equal(cid.byteOffset, p.byteOffset + 6);
});

test('short header: the configured DCID length (default 8)', () => {
  assert.equal(DEFAULT_QUIC_CID_LENGTH, 8);
  const p = shortHeader(CID);
  assert.deepEqual(extractQuicCid(p), CID);
  assert.deepEqual(extractQuicCid(p, 4), CID.subarray(0, 4));
  assert.equal(quicDcidLength(p, 0), -1);
  assert.equal(quicDcidLength(p, 21), -1);
  // Too short for flags + 8-byte DCID + at least one byte.
  assert.equal(extractQuicCid(Uint8Array.from([0x41, ...CID])), undefined);
});

test('not QUIC-looking → undefined', () => {
  assert.equal(extractQuicCid(new Uint8Array(0)), undefined);
  assert.equal(extractQuicCid(Uint8Array.of(0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)), undefined, 'fixed bit clear (short)');
  assert.equal(extractQuicCid(longHeader(CID, { flags: 0x83 })), undefined, 'fixed bit clear (long)');
  assert.equal(extractQuicCid(longHeader(CID, { version: 0 })), undefined, 'version negotiation');
  assert.equal(extractQuicCid(longHeader(new Uint8Array(0))), undefined, 'empty DCID');
  assert.equal(extractQuicCid(longHeader(new Uint8Array(21))), undefined, 'v1 DCID over 20 bytes');
  assert.equal(extractQuicCid(longHeader(CID).subarray(0, 10)), undefined, 'truncated DCID');
  assert.equal(extractQuicCid(longHeader(CID, { scid: new Uint8Array(10), payload: 0 }).subarray(0, 20)), undefined, 'truncated SCID');
  assert.equal(extractQuicCid(Uint8Array.of(0xc3, 0, 0, 0, 1)), undefined, 'too short');
  assert.equal(hashQuicCid(Uint8Array.of(0x01, 2, 3)), -1);
});

test('the routing hash covers min(DCID, configured) bytes, so long and short headers agree', () => {
  const h = hashQuicCid(shortHeader(CID));
  assert.equal(h, murmur3(CID, 0, 8, QUIC_CID_HASH_SEED));
  assert.equal(hashQuicCid(longHeader(CID)), h);
  // A longer server-issued ID: hashing its first 8 bytes in both header forms.
  const id12 = Uint8Array.from([...CID, 9, 9, 9, 9]);
  assert.equal(hashQuicCid(longHeader(id12)), h);
  assert.equal(hashQuicCid(shortHeader(id12)), h);
  // Per-packet bytes after the ID do not matter.
  assert.equal(hashQuicCid(shortHeader(CID, [0x99, 0x98, 0x97])), h);
  // A shorter long-header DCID is hashed whole.
  assert.equal(hashQuicCid(longHeader(CID.subarray(0, 5))), murmur3(CID, 0, 5, QUIC_CID_HASH_SEED));
  assert.notEqual(hashQuicCid(shortHeader(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))), h);
});
