/**
 * The byte layout of the BPF fast path's maps (bpf/gwlb.bpf.c), both ways. Pure: encoders give
 * the key and value bytes TypeScript writes, decoders read the counters and flow entries the
 * program keeps. Integers are little-endian (the machine's order, as the program stores them)
 * except addresses and ports, which the program compares with packet bytes and so keeps in
 * network order. Any change here must be made in the C structs too.
 */
import { DROP_REASONS } from '../forwarder.js';

export const MAX_LISTENERS = 256;
export const MAX_GROUPS = 64;
export const MAX_APPLIANCES = 1024;
/** Maglev slots reserved per group in the `maglev` array: the largest table a group may use. */
export const MAGLEV_STRIDE = 16411;
export const NON_TCP_IDLE_MS = 120_000;

export const LISTENER_ACTIVE = 1;
export const LISTENER_BYPASS = 2;
export const APPLIANCE_KEEP = 1;

/** The program's maps, by their pinned names. */
export type MapName =
  | 'vips'
  | 'listeners'
  | 'groups'
  | 'maglev'
  | 'appliances'
  | 'appliance_by_addr'
  | 'flows'
  | 'cookies'
  | 'state'
  | 'clock'
  | 'listener_stats'
  | 'appliance_stats';

/** Array maps: an entry cannot be deleted, only set back to zero. */
export const ARRAY_MAPS: ReadonlySet<MapName> = new Set<MapName>(['listeners', 'groups', 'maglev', 'appliances', 'state', 'clock']);

/** Listener counter slots (`enum C_*`), then the two drop arrays. */
export const COUNTER_SLOTS = 11;
export const LISTENER_COUNTERS_BYTES = (COUNTER_SLOTS + 2 * DROP_REASONS.length) * 8;
export const APPLIANCE_COUNTERS_BYTES = 5 * 8;

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  return b;
}

/** Dotted quad → its 4 bytes in network order; undefined for anything else. */
export function ipv4Bytes(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

export const slotKey = (slot: number): Buffer => u32(slot);

export function vipKey(vip: string): Buffer {
  const b = ipv4Bytes(vip);
  if (!b) throw new RangeError(`the BPF fast path carries IPv4 VIPs only, not ${vip}`);
  return b;
}

export interface ListenerConfig {
  active: boolean;
  bypass: boolean;
  group: number;
  tcpIdleMs: number;
  optionClass: number;
  attachmentHigh: number;
  attachmentLow: number;
  tag: number;
}

export function listenerValue(c: ListenerConfig): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32LE((c.active ? LISTENER_ACTIVE : 0) | (c.bypass ? LISTENER_BYPASS : 0), 0);
  b.writeUInt32LE(c.group, 4);
  b.writeUInt32LE(Math.min(0xffffffff, Math.max(0, Math.round(c.tcpIdleMs))), 8);
  b.writeUInt32LE(c.optionClass & 0xffff, 12);
  b.writeUInt32LE(c.attachmentHigh >>> 0, 16);
  b.writeUInt32LE(c.attachmentLow >>> 0, 20);
  b.writeUInt32LE(c.tag >>> 0, 24);
  return b;
}

/** `mode` 5, 3 or 2; `size` the Maglev table size, 0 when no appliance may take new flows. */
export function groupValue(mode: number, size: number): Buffer {
  return Buffer.concat([u32(mode), u32(size)]);
}

export function maglevKey(group: number, index: number): Buffer {
  return u32(group * MAGLEV_STRIDE + index);
}

/** The owner of a Maglev slot: appliance slot + 1, 0 for none. */
export function maglevValue(applianceSlot: number | undefined): Buffer {
  return u32(applianceSlot === undefined ? 0 : applianceSlot + 1);
}

export function applianceValue(host: string, port: number, keep: boolean): Buffer {
  const addr = ipv4Bytes(host);
  if (!addr) throw new RangeError(`the BPF fast path reaches IPv4 appliances only, not ${host}`);
  return Buffer.concat([addr, u32(port), u32(keep ? APPLIANCE_KEEP : 0)]);
}

export function applianceAddressKey(group: number, host: string): Buffer | undefined {
  const addr = ipv4Bytes(host);
  return addr ? Buffer.concat([u32(group), addr]) : undefined;
}

export function clockValue(nowMs: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(nowMs))), 0);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Reading back.

function u64(b: Uint8Array, at: number): number {
  return Number(Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(at));
}

export interface ListenerCounterValues {
  packetsFromEndpoints: number;
  bytesFromEndpoints: number;
  packetsToAppliances: number;
  bytesToAppliances: number;
  packetsFromAppliances: number;
  bytesFromAppliances: number;
  packetsToEndpoints: number;
  bytesToEndpoints: number;
  flowsRescheduled: number;
  flowsCreated: number;
  flowsExpired: number;
  endpointDrops: number[];
  applianceDrops: number[];
}

/** Sums one listener's per-CPU counter values. */
export function sumListenerCounters(perCpu: readonly Uint8Array[]): ListenerCounterValues {
  const n = DROP_REASONS.length;
  const slots = new Array<number>(COUNTER_SLOTS + 2 * n).fill(0);
  for (const v of perCpu) for (let i = 0; i < slots.length && (i + 1) * 8 <= v.length; i++) slots[i] += u64(v, i * 8);
  return {
    packetsFromEndpoints: slots[0],
    bytesFromEndpoints: slots[1],
    packetsToAppliances: slots[2],
    bytesToAppliances: slots[3],
    packetsFromAppliances: slots[4],
    bytesFromAppliances: slots[5],
    packetsToEndpoints: slots[6],
    bytesToEndpoints: slots[7],
    flowsRescheduled: slots[8],
    flowsCreated: slots[9],
    flowsExpired: slots[10],
    endpointDrops: slots.slice(COUNTER_SLOTS, COUNTER_SLOTS + n),
    applianceDrops: slots.slice(COUNTER_SLOTS + n, COUNTER_SLOTS + 2 * n),
  };
}

export interface ApplianceCounterValues {
  packetsTo: number;
  bytesTo: number;
  packetsFrom: number;
  bytesFrom: number;
  flows: number;
}

export function sumApplianceCounters(perCpu: readonly Uint8Array[]): ApplianceCounterValues {
  const s = [0, 0, 0, 0, 0];
  for (const v of perCpu) for (let i = 0; i < 5 && (i + 1) * 8 <= v.length; i++) s[i] += u64(v, i * 8);
  return { packetsTo: s[0], bytesTo: s[1], packetsFrom: s[2], bytesFrom: s[3], flows: s[4] };
}

/** What TypeScript needs of a flow entry: whose it is, where it is pinned, when it was last used. */
export interface FlowEntryView {
  tag: number;
  appliance: number;
  lastSeen: number;
  tcp: boolean;
}

export function decodeFlow(key: Uint8Array, value: Uint8Array): FlowEntryView {
  const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return { tag: k.readUInt32LE(0), lastSeen: u64(v, 0), appliance: v.readUInt32LE(8), tcp: v[28] !== 0 };
}

/** Whether a flow entry is still live at `now` (flow-table.ts's rule). */
export function flowLive(f: FlowEntryView, tcpIdleMs: number, now: number): boolean {
  return now - f.lastSeen < (f.tcp ? tcpIdleMs : NON_TCP_IDLE_MS);
}
