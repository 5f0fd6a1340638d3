/**
 * The kernel program kept per listener, so a change costs what changed and not the table size
 * (pure; no I/O). Each listener's part is memoised under a key of everything it is built from;
 * a new snapshot rebuilds only the parts whose key moved, and the transaction is computed from
 * the before / after of those parts alone: their chains, their elements in the shared maps, and
 * the objects and group maps they use (which stay while any listener still uses them).
 */
import type { NftMap, NftProgram, ListenerPart, Tags } from './program.js';
import { assemble, baseProgram, buildListenerPart, emptyProgram, GroupMaps, SHARED_MAPS } from './program.js';
import type { KernelListener, KernelSnapshot } from './snapshot.js';

interface Memo {
  key: string;
  part: ListenerPart;
}

export interface ProgramChange {
  /** The touched part of the table as the kernel holds it, and as it will be. */
  before: NftProgram;
  after: NftProgram;
  /** Listeners whose part was rebuilt (added, changed or removed). */
  touched: string[];
  /** The whole new table, for a full replace. */
  full(): NftProgram;
  /** Records the change as applied. */
  commit(): void;
}

export class IncrementalProgram {
  private parts = new Map<string, Memo>();
  private groups = new Map<string, { key: string; maps: GroupMaps }>();
  /** Users per object key (`counter …`, `ct timeout …`) and per group map name (`map …`). */
  private users = new Map<string, number>();

  constructor(private readonly instance: number) {}

  /** Forgets everything: the next change is computed from nothing (the kernel holds no table). */
  reset(): void {
    this.parts = new Map();
    this.groups = new Map();
    this.users = new Map();
  }

  change(snapshot: KernelSnapshot, tags: Tags): ProgramChange {
    const groups = new Map<string, { key: string; maps: GroupMaps }>();
    for (const g of snapshot.groups) {
      const key = JSON.stringify(g);
      const known = this.groups.get(g.id);
      groups.set(g.id, known && known.key === key ? known : { key, maps: new GroupMaps(g, tags.group(g.id)) });
    }
    const parts = new Map<string, Memo>();
    const changed: Array<{ id: string; before?: ListenerPart; after?: ListenerPart }> = [];
    for (const l of snapshot.listeners) {
      const group = groups.get(l.groupId);
      if (!group) throw new Error(`listener ${l.id}: server group ${l.groupId} is not in the snapshot`);
      const tag = tags.listener(l.id);
      const key = memoKey(l, tag, group.key);
      const known = this.parts.get(l.id);
      if (known && known.key === key) {
        parts.set(l.id, known);
        continue;
      }
      const part = buildListenerPart(l, tag, group.maps, this.instance);
      parts.set(l.id, { key, part });
      changed.push({ id: l.id, before: known?.part, after: part });
    }
    for (const [id, known] of this.parts) if (!parts.has(id)) changed.push({ id, before: known.part });

    // Users after the change, for the names the changed parts touch.
    const delta = new Map<string, number>();
    const bodies = new Map<string, string>();
    const count = (part: ListenerPart | undefined, by: number) => {
      if (!part) return;
      for (const [key, body] of part.objects) {
        delta.set(key, (delta.get(key) ?? 0) + by);
        bodies.set(key, body);
      }
      if (part.groupMap) delta.set(`map ${part.groupMap.name}`, (delta.get(`map ${part.groupMap.name}`) ?? 0) + by);
    };
    for (const c of changed) {
      count(c.before, -1);
      count(c.after, +1);
    }
    const usersBefore = (key: string) => this.users.get(key) ?? 0;
    const usersAfter = (key: string) => usersBefore(key) + (delta.get(key) ?? 0);

    const before = sharedMapsOnly(this.instance);
    const after = sharedMapsOnly(this.instance);
    const mapsBefore = new Map<string, NftMap>();
    const mapsAfter = new Map<string, NftMap>();
    for (const c of changed) {
      if (c.before) addTouched(before, c.before, mapsBefore);
      if (c.after) addTouched(after, c.after, mapsAfter);
    }
    // Shared objects and group maps are in a side's table while anyone uses them there.
    for (const key of delta.keys()) {
      const isMap = key.startsWith('map ');
      const name = isMap ? key.slice(4) : key;
      if (!isMap) {
        const body = bodies.get(key)!;
        if (usersBefore(key) > 0) before.objects.set(name, body);
        if (usersAfter(key) > 0) after.objects.set(name, body);
        continue;
      }
      const old = mapsBefore.get(name) ?? this.committedMap(name);
      if (usersBefore(key) > 0 && old) before.maps.set(name, old);
      const next = mapsAfter.get(name) ?? mapIn(parts, name);
      if (usersAfter(key) > 0 && next) after.maps.set(name, next);
    }

    return {
      before,
      after,
      touched: changed.map((c) => c.id),
      full: () =>
        assemble(
          this.instance,
          [...parts.values()].map((m) => m.part),
        ),
      commit: () => {
        this.parts = parts;
        this.groups = groups;
        for (const [key, d] of delta) {
          const n = usersBefore(key) + d;
          if (n > 0) this.users.set(key, n);
          else this.users.delete(key);
        }
      },
    };
  }

  /** A group map as the kernel holds it (from a listener part that uses it now). */
  private committedMap(name: string): NftMap | undefined {
    return mapIn(this.parts, name);
  }
}

/**
 * A group map from any part in `parts` that uses it. A changed group's listeners are all rebuilt,
 * so an unchanged part holds the same map on both sides.
 */
function mapIn(parts: Map<string, Memo>, name: string): NftMap | undefined {
  for (const { part } of parts.values()) if (part.groupMap?.name === name) return part.groupMap.map;
  return undefined;
}

function memoKey(l: KernelListener, tag: number, groupKey: string): string {
  return `${tag}|${groupKey}|${JSON.stringify(l)}`;
}

/** The base program's shared maps, empty, and nothing else: untouched chains stay out of the diff. */
function sharedMapsOnly(instance: number): NftProgram {
  const base = baseProgram(instance);
  const out = emptyProgram();
  for (const name of SHARED_MAPS) {
    const map = base.maps.get(name)!;
    out.maps.set(name, { ...map, elements: new Map() });
  }
  return out;
}

function addTouched(program: NftProgram, part: ListenerPart, groupMaps: Map<string, NftMap>): void {
  for (const [name, chain] of part.chains) program.chains.set(name, chain);
  for (const [map, key, value] of part.elements) program.maps.get(map)!.elements.set(key, value);
  if (part.groupMap) groupMaps.set(part.groupMap.name, part.groupMap.map);
}
