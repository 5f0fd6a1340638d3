import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_GWLB_OPTION_CLASS,
  ETHERTYPE_ETHERNET,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  GENEVE_BAD_OPTION,
  GENEVE_BAD_VERSION,
  GENEVE_CONTROL_PACKET,
  GENEVE_CRITICAL_BIT_MISMATCH,
  GENEVE_ERROR_NAMES,
  GENEVE_OK,
  GENEVE_TRUNCATED,
  GENEVE_UNKNOWN_CRITICAL_OPTION,
  GENEVE_UNSUPPORTED_PROTOCOL,
  GWLB_OPTIONS_LENGTH,
  GeneveHeader,
  GwlbMetadata,
  attachmentIdOf,
  decodeGeneve,
  encodeGeneve,
  readGeneveOptions,
  writeApplianceHeader,
  type GeneveOption,
} from '../../../src/dataplane/gwlb/geneve.js';
import { ipPacket } from './packets.js';

const CLASS = DEFAULT_GWLB_OPTION_CLASS;
const inner = ipPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, srcPort: 4000, dstPort: 53, payload: 'hello' });

function decode(buf: Uint8Array, optionClass = CLASS): { code: number; h: GeneveHeader } {
  const h = new GeneveHeader();
  return { code: decodeGeneve(buf, 0, buf.length, optionClass, h), h };
}

function opt(optionClass: number, type: number, words: number, fill = 0xab): GeneveOption {
  return { optionClass, type, data: new Uint8Array(words * 4).fill(fill) };
}

test('a plain packet decodes: version 0, VNI, protocol, payload offset', () => {
  const pkt = encodeGeneve({ vni: 0xabcdef, protocolType: ETHERTYPE_IPV4, payload: inner });
  assert.equal(pkt.length, 8 + inner.length);
  assert.deepEqual([...pkt.subarray(0, 8)], [0, 0, 0x08, 0x00, 0xab, 0xcd, 0xef, 0]);
  const { code, h } = decode(pkt);
  assert.equal(code, GENEVE_OK);
  assert.equal(h.version, 0);
  assert.equal(h.vni, 0xabcdef);
  assert.equal(h.protocolType, ETHERTYPE_IPV4);
  assert.equal(h.optionsLength, 0);
  assert.equal(h.payloadOffset, 8);
  assert.equal(h.oam, false);
  assert.equal(h.critical, false);
  assert.deepEqual(Buffer.from(pkt.subarray(h.payloadOffset)), inner);
});

test('options are walked: GWLB options recognised, others counted as foreign', () => {
  const gwlb: GeneveOption[] = [
    { optionClass: CLASS, type: 1, data: Buffer.from('0000138d7f000601', 'hex') },
    { optionClass: CLASS, type: 2, data: Buffer.from('1122334455667788', 'hex') },
    { optionClass: CLASS, type: 3, data: Buffer.from('80000007', 'hex') },
  ];
  const foreign = opt(0x0101, 0x05, 2);
  const pkt = encodeGeneve({
    vni: 7,
    protocolType: ETHERTYPE_IPV6,
    options: [foreign, ...gwlb],
    payload: ipPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 17, srcPort: 1, dstPort: 2 }),
  });
  const { code, h } = decode(pkt);
  assert.equal(code, GENEVE_OK);
  assert.equal(h.optionCount, 4);
  assert.equal(h.optionsLength, 12 + 32);
  assert.equal(h.foreignOptionsLength, 12);
  assert.equal(h.foreignCritical, false);
  assert.equal(h.hasEndpointId, true);
  assert.equal(h.endpointIdHigh, 0x138d);
  assert.equal(h.endpointIdLow, 0x7f000601);
  assert.equal(h.hasAttachmentId, true);
  assert.equal(h.attachmentIdHigh, 0x11223344);
  assert.equal(h.attachmentIdLow, 0x55667788);
  assert.equal(h.flowCookie, 0x80000007);
  assert.deepEqual(
    readGeneveOptions(pkt, h).map((o) => [o.optionClass, o.type, o.data.length]),
    [
      [0x0101, 5, 8],
      [CLASS, 1, 8],
      [CLASS, 2, 8],
      [CLASS, 3, 4],
    ],
  );
  // With another class configured, the same options are foreign (and non-critical: fine).
  const other = decode(pkt, 0x0167);
  assert.equal(other.code, GENEVE_OK);
  assert.equal(other.h.flowCookie, -1);
  assert.equal(other.h.foreignOptionsLength, 44);
});

test('malformed packets are refused with their reason', () => {
  const good = encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, options: [opt(0x0101, 1, 1)], payload: inner });
  // Shorter than the base header.
  assert.equal(decode(good.subarray(0, 7)).code, GENEVE_TRUNCATED);
  assert.equal(decode(new Uint8Array(0)).code, GENEVE_TRUNCATED);
  // Opt Len claims more than there is.
  const longOpts = Buffer.from(good.subarray(0, 8));
  longOpts[0] = 10;
  assert.equal(decode(longOpts).code, GENEVE_TRUNCATED);
  // Version 1, 2, 3.
  for (const v of [1, 2, 3]) {
    const bad = Buffer.from(good);
    bad[0] = (v << 6) | (bad[0] & 0x3f);
    assert.equal(decode(bad).code, GENEVE_BAD_VERSION, `version ${v}`);
  }
  // An option whose length runs past the option area.
  const overrun = Buffer.from(good);
  overrun[8 + 3] = 5; // 20 data bytes in an 8-byte option area
  assert.equal(decode(overrun).code, GENEVE_BAD_OPTION);
  // Ethernet payloads are not GWLB's.
  assert.equal(
    decode(encodeGeneve({ vni: 1, protocolType: ETHERTYPE_ETHERNET, payload: new Uint8Array(60) })).code,
    GENEVE_UNSUPPORTED_PROTOCOL,
  );
  assert.equal(decode(encodeGeneve({ vni: 1, protocolType: 0x88cc, payload: inner })).code, GENEVE_UNSUPPORTED_PROTOCOL);
  assert.equal(GENEVE_ERROR_NAMES[GENEVE_UNSUPPORTED_PROTOCOL], 'unsupported_protocol');
});

test('O bit: a control packet is never forwarded', () => {
  const pkt = encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, oam: true, payload: inner });
  assert.equal(pkt[1] & 0x80, 0x80);
  assert.equal(decode(pkt).code, GENEVE_CONTROL_PACKET);
});

test('C bit and critical options', () => {
  // Unknown critical option of another class: dropped.
  const unknown = encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, options: [opt(0x0101, 0x81, 1)], payload: inner });
  assert.equal(unknown[1] & 0x40, 0x40);
  assert.equal(decode(unknown).code, GENEVE_UNKNOWN_CRITICAL_OPTION);
  // Critical option of the GWLB class with an unknown type: dropped too.
  assert.equal(
    decode(encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, options: [opt(CLASS, 0x85, 1)], payload: inner })).code,
    GENEVE_UNKNOWN_CRITICAL_OPTION,
  );
  // A GWLB option this node understands may be critical.
  const known = encodeGeneve({
    vni: 1,
    protocolType: ETHERTYPE_IPV4,
    options: [{ optionClass: CLASS, type: 0x83, data: Buffer.from('00000005', 'hex') }],
    payload: inner,
  });
  const k = decode(known);
  assert.equal(k.code, GENEVE_OK);
  assert.equal(k.h.flowCookie, 5);
  // Unknown non-critical options are fine.
  assert.equal(
    decode(encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, options: [opt(0xffff, 0x7f, 3)], payload: inner })).code,
    GENEVE_OK,
  );
  // C set without a critical option, or clear with one: inconsistent.
  assert.equal(
    decode(encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, critical: true, payload: inner })).code,
    GENEVE_CRITICAL_BIT_MISMATCH,
  );
  assert.equal(
    decode(encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, critical: false, options: [opt(0x0101, 0x81, 1)], payload: inner })).code,
    GENEVE_CRITICAL_BIT_MISMATCH,
  );
});

test('reserved bits are ignored on receipt', () => {
  const pkt = encodeGeneve({ vni: 9, protocolType: ETHERTYPE_IPV4, payload: inner });
  pkt[1] |= 0x3f;
  pkt[7] = 0xff;
  const { code, h } = decode(pkt);
  assert.equal(code, GENEVE_OK);
  assert.equal(h.vni, 9);
});

test('the appliance header: foreign options kept, GWLB-class options replaced by the three GWLB options', () => {
  const foreign = opt(0x0101, 0x10, 1, 0x5a);
  const spoofed = { optionClass: CLASS, type: 3, data: Buffer.from('deadbeef', 'hex') };
  const src = encodeGeneve({ vni: 0x123456, protocolType: ETHERTYPE_IPV4, options: [spoofed, foreign], payload: inner });
  const h = new GeneveHeader();
  assert.equal(decodeGeneve(src, 0, src.length, CLASS, h), GENEVE_OK);
  const meta = new GwlbMetadata();
  meta.endpointIdHigh = 40000;
  meta.endpointIdLow = 0x7f000601;
  [meta.attachmentIdHigh, meta.attachmentIdLow] = attachmentIdOf('lsn-test');
  meta.flowCookie = 0x80000011;
  const out = Buffer.alloc(600);
  const n = writeApplianceHeader(out, src, h, CLASS, meta);
  assert.equal(n, 8 + 8 + GWLB_OPTIONS_LENGTH);
  const whole = Buffer.concat([out.subarray(0, n), src.subarray(h.payloadOffset)]);
  const d = new GeneveHeader();
  assert.equal(decodeGeneve(whole, 0, whole.length, CLASS, d), GENEVE_OK);
  assert.equal(d.vni, 0x123456);
  assert.equal(d.protocolType, ETHERTYPE_IPV4);
  assert.equal(d.critical, false);
  assert.equal(d.oam, false);
  assert.equal(d.flowCookie, 0x80000011);
  assert.equal(d.endpointIdHigh, 40000);
  assert.equal(d.endpointIdLow, 0x7f000601);
  assert.deepEqual([d.attachmentIdHigh, d.attachmentIdLow], attachmentIdOf('lsn-test'));
  const options = readGeneveOptions(whole, d);
  assert.deepEqual(
    options.map((o) => [o.optionClass, o.type, o.data.length]),
    [
      [0x0101, 0x10, 4],
      [CLASS, 1, 8],
      [CLASS, 2, 8],
      [CLASS, 3, 4],
    ],
  );
  assert.deepEqual(Buffer.from(options[0].data), Buffer.alloc(4, 0x5a));
  assert.deepEqual(Buffer.from(whole.subarray(d.payloadOffset)), inner);
  // 68 bytes of overhead over an outer IPv4 + UDP: 20 + 8 + 8 + 32.
  const plain = encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, payload: inner });
  const p = new GeneveHeader();
  decodeGeneve(plain, 0, plain.length, CLASS, p);
  assert.equal(20 + 8 + writeApplianceHeader(out, plain, p, CLASS, meta), 68);
});

test('the appliance header refuses options beyond what Opt Len can say', () => {
  // 224 bytes of foreign options + 32 of GWLB options > 252.
  const options = [opt(0x0101, 1, 31), opt(0x0101, 2, 23)];
  const src = encodeGeneve({ vni: 1, protocolType: ETHERTYPE_IPV4, options, payload: inner });
  const h = new GeneveHeader();
  assert.equal(decodeGeneve(src, 0, src.length, CLASS, h), GENEVE_OK);
  assert.equal(writeApplianceHeader(Buffer.alloc(2000), src, h, CLASS, new GwlbMetadata()), -1);
});

test('encodeGeneve refuses options it cannot express', () => {
  assert.throws(
    () =>
      encodeGeneve({
        vni: 1,
        protocolType: ETHERTYPE_IPV4,
        options: [{ optionClass: 1, type: 1, data: new Uint8Array(3) }],
        payload: inner,
      }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeGeneve({
        vni: 1,
        protocolType: ETHERTYPE_IPV4,
        options: [{ optionClass: 1, type: 1, data: new Uint8Array(128) }],
        payload: inner,
      }),
    RangeError,
  );
});

test('attachment ids are stable and differ per listener', () => {
  assert.deepEqual(attachmentIdOf('lsn-a'), attachmentIdOf('lsn-a'));
  assert.notDeepEqual(attachmentIdOf('lsn-a'), attachmentIdOf('lsn-b'));
});
