/**
 * The GWLB's BPF fast path, driven from TypeScript. The program (bpf/gwlb.bpf.c) forwards every
 * GENEVE packet; this side decides: it loads and attaches the program, turns the runtime state
 * the reconciler keeps (listeners, appliance groups with their health and Maglev tables, who is
 * leaving) into map entries and writes only the ones that changed, pushes the clock, and reads
 * the counters and flow table back for /metrics and housekeeping.
 *
 * One sync at a time: calls queue behind each other, and a sync asked for while one waits is
 * folded into it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Clock } from '../../../util/clock.js';
import type { CommandRunner } from '../../kernel/commands.js';
import { attachmentIdOf } from '../geneve.js';
import { DROP_REASONS, newGwlbListenerCounters, type ApplianceGroup, type GwlbListenerCounters } from '../forwarder.js';
import {
  APPLIANCE_COUNTERS_BYTES,
  LISTENER_COUNTERS_BYTES,
  MAGLEV_STRIDE,
  MAX_APPLIANCES,
  MAX_GROUPS,
  MAX_LISTENERS,
  applianceAddressKey,
  applianceValue,
  clockValue,
  decodeFlow,
  flowLive,
  groupValue,
  listenerValue,
  maglevKey,
  maglevValue,
  slotKey,
  sumApplianceCounters,
  sumListenerCounters,
  vipKey,
} from './layout.js';
import { bpftoolLine, diffContents, has, newContents, put, remove, type MapContents } from './plan.js';
import { SlotPool } from './slots.js';
import { BpfTools } from './tools.js';

/** Where `npm install` / the test set-up put the compiled program. */
export const DEFAULT_OBJECT_PATH = fileURLToPath(new URL('../../../../build/bpf/gwlb.bpf.o', import.meta.url));

/** A listener as the fast path needs it. */
export interface BpfListenerSpec {
  id: string;
  vips: readonly string[];
  tcpIdleMs: number;
  bypass: boolean;
  optionClass: number;
  group: ApplianceGroup;
}

export interface BpfListenerStats {
  counters: GwlbListenerCounters;
  activeFlows: number;
  flowsCreated: number;
  flowsExpired: number;
  flowsEvicted: number;
}

export interface BpfEngineOptions {
  runner: CommandRunner;
  clock: Clock;
  log?: Logger;
  objectPath?: string;
}

interface ListenerSlot {
  slot: number;
  tag: number;
  groupId: string;
  tcpIdleMs: number;
}

export class BpfGwlbEngine {
  readonly tools: BpfTools;
  private readonly clock: Clock;
  private readonly log?: Logger;
  private readonly listenerSlots = new SlotPool(MAX_LISTENERS);
  private readonly groupSlots = new SlotPool(MAX_GROUPS);
  private readonly applianceSlots = new SlotPool(MAX_APPLIANCES);
  private readonly listenerInfo = new Map<string, ListenerSlot>();
  private nextTag = 1;
  private written: MapContents = newContents();
  private readonly deviceOf = new Map<string, string>();
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Promise<Map<string, string>> | undefined;
  private latest: readonly BpfListenerSpec[] = [];
  private readonly stats = new Map<string, BpfListenerStats>();
  private closed = false;

  private constructor(opts: BpfEngineOptions) {
    this.tools = new BpfTools(opts.runner);
    this.clock = opts.clock;
    this.log = opts.log;
  }

  /**
   * Loads the program (after removing what dead nodes left behind) and returns the engine, or
   * throws saying why BPF cannot be used here.
   */
  static async start(opts: BpfEngineOptions): Promise<BpfGwlbEngine> {
    const objectPath = opts.objectPath ?? DEFAULT_OBJECT_PATH;
    if (!existsSync(objectPath)) throw new Error(`the BPF object ${objectPath} was not built (needs clang and libbpf-dev at install time)`);
    const engine = new BpfGwlbEngine(opts);
    const tools = engine.tools;
    try {
      await tools.ensureBpffs();
      const stale = await tools.removeStale();
      if (stale.length > 0) opts.log?.info({ removed: stale }, 'gwlb bpf: removed what stopped nodes left behind');
      await tools.load(objectPath);
      await tools.batch([
        `map update pinned ${tools.mapPath('state')} key hex 00 00 00 00 value hex 01 00 00 00`,
        `map update pinned ${tools.mapPath('clock')} key hex 00 00 00 00 value hex ${hex(clockValue(opts.clock.now()))}`,
      ]);
    } catch (err) {
      await tools.removeAll().catch(() => undefined);
      throw err;
    }
    return engine;
  }

  get pinDirectory(): string {
    return this.tools.dir;
  }

  /**
   * Brings the maps in line with `listeners` (and the health, membership and clock of their
   * groups). Resolves with the listeners that could not be programmed, and why.
   */
  sync(listeners: readonly BpfListenerSpec[]): Promise<Map<string, string>> {
    this.latest = listeners;
    if (this.pending) return this.pending;
    const run = this.queue.then(() => {
      this.pending = undefined;
      return this.apply(this.latest);
    });
    this.pending = run;
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(listeners: readonly BpfListenerSpec[]): Promise<Map<string, string>> {
    if (this.closed) return new Map();
    const errors = new Map<string, string>();
    const contents = newContents();
    const zeroStats: string[] = [];
    const now = this.clock.now();
    put(contents, 'clock', slotKey(0), clockValue(now));

    // Groups first: slots, Maglev tables, appliances.
    const groups = new Map<string, ApplianceGroup>();
    for (const l of listeners) groups.set(l.group.id, l.group);
    this.groupSlots.retain(new Set(groups.keys()));
    const liveAppliances = new Set<string>();
    for (const g of groups.values()) for (const a of g.appliances()) liveAppliances.add(`${g.id}\n${a.key}`);
    this.applianceSlots.retain(liveAppliances);
    const groupSlot = new Map<string, number>();
    const badGroup = new Map<string, string>();
    for (const g of groups.values()) {
      try {
        groupSlot.set(g.id, this.programGroup(g, contents, zeroStats, now));
      } catch (err) {
        badGroup.set(g.id, (err as Error).message);
      }
    }

    // Listeners.
    this.listenerSlots.retain(new Set(listeners.map((l) => l.id)));
    for (const id of [...this.listenerInfo.keys()]) if (!this.listenerSlots.has(id)) this.listenerInfo.delete(id);
    const devices = new Set<string>();
    for (const l of listeners) {
      try {
        const reason = badGroup.get(l.group.id);
        if (reason !== undefined) throw new Error(reason);
        const group = groupSlot.get(l.group.id)!;
        const { slot, fresh } = this.listenerSlots.obtain(l.id, `the BPF fast path holds at most ${MAX_LISTENERS} GWLB listeners per node`);
        let info = this.listenerInfo.get(l.id);
        if (fresh || !info || info.groupId !== l.group.id) {
          // A new listener, or a new group: its flows start afresh (the old ones are never found).
          info = { slot, tag: this.nextTag++ >>> 0, groupId: l.group.id, tcpIdleMs: l.tcpIdleMs };
          this.listenerInfo.set(l.id, info);
        }
        info.tcpIdleMs = l.tcpIdleMs;
        if (fresh) zeroStats.push(this.zeroLine('listener_stats', slot, LISTENER_COUNTERS_BYTES));
        for (const vip of l.vips) {
          const key = vipKey(vip);
          if (has(contents, 'vips', key)) throw new Error(`VIP ${vip} already carries another GWLB listener on this node`);
          put(contents, 'vips', key, slotKey(slot));
          devices.add(await this.device(vip));
        }
        const [attachmentHigh, attachmentLow] = attachmentIdOf(l.id);
        put(
          contents,
          'listeners',
          slotKey(slot),
          listenerValue({
            active: true,
            bypass: l.bypass,
            group,
            tcpIdleMs: l.tcpIdleMs,
            optionClass: l.optionClass,
            attachmentHigh,
            attachmentLow,
            tag: info.tag,
          }),
        );
      } catch (err) {
        errors.set(l.id, (err as Error).message);
        // Leave no half-programmed VIP behind.
        const slot = this.listenerSlots.get(l.id);
        for (const vip of l.vips) {
          const key = safeVipKey(vip);
          if (key && slot !== undefined) remove(contents, 'vips', key, slotKey(slot));
        }
      }
    }

    const writes = diffContents(this.written, contents);
    await this.tools.batch([...zeroStats, ...writes.map((w) => bpftoolLine(this.tools.mapsDir, w))]);
    this.written = contents;
    for (const dev of devices) await this.tools.attach(dev);
    for (const dev of this.tools.attachedDevices()) if (!devices.has(dev)) await this.tools.detach(dev);
    if (writes.length > 0) this.log?.debug({ writes: writes.length }, 'gwlb bpf: maps updated');
    return errors;
  }

  private programGroup(g: ApplianceGroup, contents: MapContents, zeroStats: string[], now: number): number {
    const { slot } = this.groupSlots.obtain(g.id, `the BPF fast path holds at most ${MAX_GROUPS} GWLB server groups per node`);
    const slotOf = new Map<string, number>();
    for (const a of g.appliances()) {
      const got = this.applianceSlots.obtain(`${g.id}\n${a.key}`, `the BPF fast path holds at most ${MAX_APPLIANCES} appliances per node`);
      if (got.fresh) zeroStats.push(this.zeroLine('appliance_stats', got.slot, APPLIANCE_COUNTERS_BYTES));
      slotOf.set(a.key, got.slot);
      put(contents, 'appliances', slotKey(got.slot), applianceValue(a.host, a.port, g.keeps(a, now)));
    }
    for (const [host, a] of g.byHost) {
      const key = applianceAddressKey(slot, host);
      const s = slotOf.get(a.key);
      if (key && s !== undefined) put(contents, 'appliance_by_addr', key, slotKey(s));
    }
    const table = g.maglev();
    const size = table?.size ?? 0;
    if (size > MAGLEV_STRIDE)
      throw new Error(`server group ${g.id}: a Maglev table of ${size} slots exceeds the BPF fast path's ${MAGLEV_STRIDE}`);
    put(contents, 'groups', slotKey(slot), groupValue(g.mode, size));
    if (table) {
      for (let i = 0; i < size; i++) {
        const owner = table.entries[i];
        put(contents, 'maglev', maglevKey(slot, i), maglevValue(owner >= 0 ? slotOf.get(table.eligible[owner].key) : undefined));
      }
    }
    return slot;
  }

  private zeroLine(map: 'listener_stats' | 'appliance_stats', slot: number, size: number): string {
    return `map update pinned ${this.tools.mapPath(map)} key hex ${hex(slotKey(slot))} value hex ${hex(Buffer.alloc(size))}`;
  }

  private async device(vip: string): Promise<string> {
    let dev = this.deviceOf.get(vip);
    if (dev === undefined) {
      dev = await this.tools.deviceFor(vip);
      this.deviceOf.set(vip, dev);
    }
    return dev;
  }

  /**
   * Reads the counters and the flow table: per-listener numbers (see `listenerStats`) and, on
   * the groups' appliances, their traffic and pinned-flow counts.
   */
  async refresh(listeners: readonly BpfListenerSpec[]): Promise<void> {
    if (this.closed) return;
    const [lstats, astats, flows] = await Promise.all([
      this.tools.dump('listener_stats'),
      this.tools.dump('appliance_stats'),
      this.tools.dump('flows'),
    ]);
    const now = this.clock.now();
    const byTag = new Map<number, ListenerSlot & { id: string }>();
    for (const [id, info] of this.listenerInfo) byTag.set(info.tag, { ...info, id });
    const entries = new Map<string, number>();
    const active = new Map<string, number>();
    const perAppliance = new Map<number, number>();
    for (const e of flows) {
      if (!e.value) continue;
      const f = decodeFlow(e.key, e.value);
      const owner = byTag.get(f.tag);
      if (!owner) continue;
      entries.set(owner.id, (entries.get(owner.id) ?? 0) + 1);
      if (!flowLive(f, owner.tcpIdleMs, now)) continue;
      active.set(owner.id, (active.get(owner.id) ?? 0) + 1);
      perAppliance.set(f.appliance, (perAppliance.get(f.appliance) ?? 0) + 1);
    }
    const counterSlot = new Map<number, Uint8Array[]>();
    for (const e of lstats) if (e.values) counterSlot.set(Buffer.from(e.key).readUInt32LE(0), e.values);
    this.stats.clear();
    for (const [id, info] of this.listenerInfo) {
      const v = sumListenerCounters(counterSlot.get(info.slot) ?? []);
      const counters = newGwlbListenerCounters();
      counters.packetsFromEndpoints = v.packetsFromEndpoints;
      counters.bytesFromEndpoints = v.bytesFromEndpoints;
      counters.packetsToAppliances = v.packetsToAppliances;
      counters.bytesToAppliances = v.bytesToAppliances;
      counters.packetsFromAppliances = v.packetsFromAppliances;
      counters.bytesFromAppliances = v.bytesFromAppliances;
      counters.packetsToEndpoints = v.packetsToEndpoints;
      counters.bytesToEndpoints = v.bytesToEndpoints;
      counters.flowsRescheduled = v.flowsRescheduled;
      for (let i = 0; i < DROP_REASONS.length; i++) {
        counters.endpointDrops[i] = v.endpointDrops[i];
        counters.applianceDrops[i] = v.applianceDrops[i];
      }
      const inTable = entries.get(id) ?? 0;
      const live = active.get(id) ?? 0;
      // Every flow created is still in the table, was replaced (expired or moved), or was evicted.
      this.stats.set(id, {
        counters,
        activeFlows: live,
        flowsCreated: v.flowsCreated,
        flowsExpired: v.flowsExpired + (inTable - live),
        flowsEvicted: Math.max(0, v.flowsCreated - v.flowsExpired - v.flowsRescheduled - inTable),
      });
    }
    const applianceValues = new Map<number, Uint8Array[]>();
    for (const e of astats) if (e.values) applianceValues.set(Buffer.from(e.key).readUInt32LE(0), e.values);
    const groups = new Map<string, ApplianceGroup>();
    for (const l of listeners) groups.set(l.group.id, l.group);
    for (const g of groups.values()) {
      for (const a of g.appliances()) {
        const slot = this.applianceSlots.get(`${g.id}\n${a.key}`);
        if (slot === undefined) continue;
        const v = sumApplianceCounters(applianceValues.get(slot) ?? []);
        a.counters.packetsTo = v.packetsTo;
        a.counters.bytesTo = v.bytesTo;
        a.counters.packetsFrom = v.packetsFrom;
        a.counters.bytesFrom = v.bytesFrom;
        a.counters.flows = v.flows;
        a.counters.activeFlows = perAppliance.get(slot) ?? 0;
      }
    }
  }

  /** The numbers of the last `refresh` for listener `id`. */
  listenerStats(id: string): BpfListenerStats {
    return this.stats.get(id) ?? { counters: newGwlbListenerCounters(), activeFlows: 0, flowsCreated: 0, flowsExpired: 0, flowsEvicted: 0 };
  }

  /** Detaches the program and removes its pins. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.tools.removeAll();
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
}

function safeVipKey(vip: string): Buffer | undefined {
  try {
    return vipKey(vip);
  } catch {
    return undefined;
  }
}
