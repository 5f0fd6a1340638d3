/**
 * What the BPF maps should hold, and which entries must change to get there. Pure: the engine
 * builds a `MapContents` from the runtime state on every sync and writes only the difference
 * from what it wrote last time (a health change rewrites the Maglev slots that moved, not the
 * table; a sweep rewrites the clock and the appliances whose "keep" flag flipped).
 */
import { ARRAY_MAPS, type MapName } from './layout.js';

/** Map → key (hex) → value (hex). */
export type MapContents = Map<MapName, Map<string, string>>;

export interface MapWrite {
  map: MapName;
  key: string;
  /** Undefined: delete the entry (array maps get zeros instead, see `bpftoolLine`). */
  value: string | undefined;
}

export function newContents(): MapContents {
  return new Map();
}

export function put(contents: MapContents, map: MapName, key: Uint8Array, value: Uint8Array): void {
  let m = contents.get(map);
  if (!m) {
    m = new Map();
    contents.set(map, m);
  }
  m.set(Buffer.from(key).toString('hex'), Buffer.from(value).toString('hex'));
}

/** Takes out `key` of `map` if it holds `value`. */
export function remove(contents: MapContents, map: MapName, key: Uint8Array, value: Uint8Array): void {
  const m = contents.get(map);
  const k = Buffer.from(key).toString('hex');
  if (m?.get(k) === Buffer.from(value).toString('hex')) m.delete(k);
}

export function has(contents: MapContents, map: MapName, key: Uint8Array): boolean {
  return contents.get(map)?.has(Buffer.from(key).toString('hex')) ?? false;
}

/** The writes that turn `before` into `after`: new or changed entries, then removed ones. */
export function diffContents(before: MapContents, after: MapContents): MapWrite[] {
  const writes: MapWrite[] = [];
  for (const [map, entries] of after) {
    const old = before.get(map);
    for (const [key, value] of entries) if (old?.get(key) !== value) writes.push({ map, key, value });
  }
  for (const [map, entries] of before) {
    const now = after.get(map);
    for (const [key, value] of entries) {
      if (now?.has(key)) continue;
      if (ARRAY_MAPS.has(map)) {
        const zeros = '0'.repeat(value.length);
        if (value !== zeros) writes.push({ map, key, value: zeros });
      } else {
        writes.push({ map, key, value: undefined });
      }
    }
  }
  return writes;
}

function hexArgs(hex: string): string {
  return hex.replace(/(..)(?!$)/g, '$1 ');
}

/** One `bpftool batch` line for a write to the map pinned at `dir/<map>`. */
export function bpftoolLine(dir: string, w: MapWrite): string {
  const path = `${dir}/${w.map}`;
  if (w.value === undefined) return `map delete pinned ${path} key hex ${hexArgs(w.key)}`;
  return `map update pinned ${path} key hex ${hexArgs(w.key)} value hex ${hexArgs(w.value)}`;
}
