/**
 * The GENEVE forwarder: one UDP socket on port 6081 per zone VIP of a Running GWLB listener.
 *
 * Who is who on a VIP socket. A datagram whose outer source address is an appliance of the
 * listener's server group (or one still draining) is a packet the appliance returns; anything
 * else comes from a GWLB endpoint. (In the cloud the endpoint side arrives over PrivateLink;
 * here endpoints send GENEVE to the VIP themselves, so an endpoint must not use an appliance's
 * address.)
 *
 * Endpoint → appliance. Decode strictly (geneve.ts), parse the inner packet (inner.ts), find
 * the flow by its symmetric key (flow-table.ts) or create it: the appliance comes from the
 * server group's Maglev table over the eligible appliances, looked up with the flow hash — the
 * same on every node and worker. Then the GWLB options (endpoint id, attachment id, flow
 * cookie) replace any of their class the endpoint sent, other options pass through, and the
 * datagram leaves the same VIP socket (source port 6081) for the appliance's address, port 6081.
 *
 * Appliance → endpoint. The returned datagram is matched to its flow by the GWLB flow cookie
 * when it carries one with this listener's attachment id — robust even if the appliance
 * rewrote the inner packet — else by the symmetric key of its inner packet. The cookie's
 * direction bit (else the inner source) says which endpoint to answer: the one that last sent
 * that direction of the flow, or the flow's other endpoint when only one direction was seen.
 * The datagram goes back unchanged (GENEVE header, options and inner packet as the appliance
 * returned them). A returned packet that matches no live flow is dropped (`unknown_flow`).
 *
 * Appliance choice for existing flows (gwlb-api.md §5.5 / §5.6):
 *   - an appliance that turns unhealthy gets no new flows; its pinned flows stay with it
 *     (NoRebalance, the default) or move to a healthy appliance on their next packet
 *     (ServerFailoverMode Rebalance);
 *   - a removed appliance (Removing / Draining) gets no new flows; with connection draining off
 *     its flows stay until they idle out (Rebalance: they move at once); with draining on they
 *     stay until the drain deadline (the API's DrainDeadline, else ConnectionDrainTimeout from
 *     when this node saw the removal) and are then scheduled afresh;
 *   - when no appliance is healthy the group fails open: new flows are hashed over every
 *     appliance that is not being removed (AWS's behaviour; Alibaba documents none — §5.5).
 *
 * The hot path allocates no per-packet objects of its own: one decoded header, inner packet,
 * flow key and option block are reused per listener, outgoing datagrams are built in pooled
 * buffers returned by the send callback, and counters are plain numbers read at scrape time.
 */
import dgram from 'node:dgram';
import type { Clock } from '../../util/clock.js';
import { createScheduler, eligibleBackends, isHashScheduler, type HashScheduler } from '../balancing/schedulers.js';
import type { TupleMode } from '../balancing/flow-hash.js';
import { compactMaglevTableSize } from '../balancing/maglev.js';
import type { DesiredApplianceGroup } from './desired.js';
import { FlowKey, FlowTable, flowKeyOf, type FlowEntry } from './flow-table.js';
import {
  GENEVE_BASE_LENGTH,
  GENEVE_ERROR_NAMES,
  GENEVE_MAX_OPTIONS_LENGTH,
  GENEVE_OK,
  GENEVE_UDP_PORT,
  GeneveHeader,
  GwlbMetadata,
  attachmentIdOf,
  decodeGeneve,
  writeApplianceHeader,
} from './geneve.js';
import { INNER_ERROR_NAMES, INNER_OK, IPPROTO_TCP, InnerPacket, MAX_INNER_PACKET, parseInner } from './inner.js';

// ---------------------------------------------------------------------------------------------
// Drop reasons: GENEVE decode outcomes, then inner-packet outcomes, then the forwarder's own.

const GENEVE_DROPS = GENEVE_ERROR_NAMES.slice(1);
const INNER_DROPS = INNER_ERROR_NAMES.slice(1);
/** Metric label of each drop counter, indexed like `GwlbListenerCounters.*Drops`. */
export const DROP_REASONS: readonly string[] = [
  ...GENEVE_DROPS,
  ...INNER_DROPS,
  'no_appliance',
  'unknown_flow',
  'options_too_long',
  'send_error',
];
const INNER_BASE = GENEVE_DROPS.length;
const DROP_NO_APPLIANCE = INNER_BASE + INNER_DROPS.length;
const DROP_UNKNOWN_FLOW = DROP_NO_APPLIANCE + 1;
const DROP_OPTIONS_TOO_LONG = DROP_NO_APPLIANCE + 2;
const DROP_SEND_ERROR = DROP_NO_APPLIANCE + 3;

/** Per-listener counters, bumped on the hot path and read when Prometheus scrapes. */
export interface GwlbListenerCounters {
  packetsFromEndpoints: number;
  bytesFromEndpoints: number;
  packetsToAppliances: number;
  bytesToAppliances: number;
  packetsFromAppliances: number;
  bytesFromAppliances: number;
  packetsToEndpoints: number;
  bytesToEndpoints: number;
  /** Flows moved off their appliance (rebalance, drain over). */
  flowsRescheduled: number;
  /** Drops of packets from endpoints / from appliances, indexed like DROP_REASONS. */
  endpointDrops: Float64Array;
  applianceDrops: Float64Array;
}

export function newGwlbListenerCounters(): GwlbListenerCounters {
  return {
    packetsFromEndpoints: 0,
    bytesFromEndpoints: 0,
    packetsToAppliances: 0,
    bytesToAppliances: 0,
    packetsFromAppliances: 0,
    bytesFromAppliances: 0,
    packetsToEndpoints: 0,
    bytesToEndpoints: 0,
    flowsRescheduled: 0,
    endpointDrops: new Float64Array(DROP_REASONS.length),
    applianceDrops: new Float64Array(DROP_REASONS.length),
  };
}

// ---------------------------------------------------------------------------------------------
// Appliances and their group.

export interface ApplianceCounters {
  packetsTo: number;
  bytesTo: number;
  packetsFrom: number;
  bytesFrom: number;
  /** Flows pinned to the appliance now (over every listener of the group). */
  activeFlows: number;
  /** Flows ever pinned to it. */
  flows: number;
}

export class Appliance {
  /** GWLB servers carry no weight: every appliance counts the same in the Maglev table. */
  readonly weight = 100;
  /** Forwardable per its health check (Healthy, or check off). */
  healthy = false;
  /** Being removed: no new flows. */
  leaving = false;
  /** While leaving with draining on: when its pinned flows must stop. */
  drainUntil: number | undefined;
  readonly counters: ApplianceCounters = { packetsTo: 0, bytesTo: 0, packetsFrom: 0, bytesFrom: 0, activeFlows: 0, flows: 0 };

  constructor(
    readonly key: string,
    readonly host: string,
    readonly port: number,
  ) {}
}

const MODES: Record<string, TupleMode> = { '5TCH': 5, '3TCH': 3, '2TCH': 2 };

/** One server group at run time, shared by the listeners that use it. */
export class ApplianceGroup {
  mode: TupleMode = 5;
  rebalance = false;
  drainMs: number | undefined;
  fingerprint = '';
  /** Outer source address → appliance: tells returned packets from endpoint packets. */
  readonly byHost = new Map<string, Appliance>();
  private readonly all = new Map<string, Appliance>();
  private members: Appliance[] = [];
  private eligible: Appliance[] = [];
  private scheduler: HashScheduler | undefined;
  private schedulerName = '5TCH';
  /** Whether at least one member is healthy (else the group fails open). */
  anyHealthy = false;

  constructor(readonly id: string) {}

  /**
   * Takes on a new desired state; appliances keep their health and counters. `prune`: forget
   * removed appliances without flows now (the BPF path says no: its flow counts are only as
   * fresh as its last read, so it prunes right after reading them).
   */
  update(desired: DesiredApplianceGroup, now: number, prune = true): void {
    this.fingerprint = desired.fingerprint;
    this.schedulerName = desired.scheduler;
    this.mode = MODES[desired.scheduler] ?? 5;
    this.rebalance = desired.rebalance;
    this.drainMs = desired.drainMs;
    const members: Appliance[] = [];
    const seen = new Set<string>();
    for (const s of desired.servers) {
      const a = this.obtain(s.key, s.host, s.port);
      a.leaving = false;
      a.drainUntil = undefined;
      members.push(a);
      seen.add(s.key);
    }
    for (const s of desired.leaving) {
      if (seen.has(s.key)) continue;
      const a = this.obtain(s.key, s.host, s.port);
      this.markLeaving(a, now, s.drainDeadline);
      seen.add(s.key);
    }
    for (const a of this.all.values()) if (!seen.has(a.key)) this.markLeaving(a, now, undefined);
    this.members = members;
    if (prune) this.prune();
    this.rebuild();
  }

  private obtain(key: string, host: string, port: number): Appliance {
    let a = this.all.get(key);
    if (!a) {
      a = new Appliance(key, host, port);
      this.all.set(key, a);
    }
    if (!this.byHost.has(host)) this.byHost.set(host, a);
    return a;
  }

  private markLeaving(a: Appliance, now: number, deadline: number | undefined): void {
    if (deadline !== undefined) a.drainUntil = deadline;
    else if (!a.leaving) a.drainUntil = this.drainMs !== undefined ? now + this.drainMs : undefined;
    a.leaving = true;
  }

  /** Forgets appliances that are gone and carry no flow any more. */
  prune(): void {
    const current = new Set(this.members);
    for (const [key, a] of this.all) {
      if (current.has(a) || a.counters.activeFlows > 0) continue;
      this.all.delete(key);
      if (this.byHost.get(a.host) === a) {
        this.byHost.delete(a.host);
        for (const other of this.all.values()) {
          if (other.host === a.host) {
            this.byHost.set(a.host, other);
            break;
          }
        }
      }
    }
  }

  /** Rebuilds the Maglev table after a membership or health change. */
  rebuild(): void {
    const members = this.members;
    this.anyHealthy = members.some((a) => a.healthy);
    this.eligible = eligibleBackends(members, (i) => members[i].healthy);
    if (this.eligible.length === 0) {
      this.scheduler = undefined;
      return;
    }
    // The compact size (≥ 1,021 slots, ≥ 100 per appliance) keeps a table cheap to copy into the
    // BPF fast path's map; both paths use the same table, so they pick the same appliance.
    const s = createScheduler(this.schedulerName, this.eligible, { tableSize: compactMaglevTableSize(this.eligible.length) });
    this.scheduler = isHashScheduler(s) ? s : undefined;
  }

  /** The Maglev table new flows are hashed into (slot → index into `eligible`), if any appliance is eligible. */
  maglev(): { size: number; entries: Int32Array; eligible: readonly Appliance[] } | undefined {
    const s = this.scheduler;
    if (s === undefined) return undefined;
    return { size: s.table.size, entries: s.table.entries, eligible: this.eligible };
  }

  /** The appliance for a new flow with flow hash `hash`, or undefined when there is none. */
  pick(hash: number): Appliance | undefined {
    const s = this.scheduler;
    if (s === undefined) return undefined;
    const i = s.pickByHash(hash);
    return i < 0 ? undefined : this.eligible[i];
  }

  /** Whether a flow pinned to `a` stays there (see the module comment). */
  keeps(a: Appliance, now: number): boolean {
    if (a.leaving) {
      if (a.drainUntil !== undefined) return now < a.drainUntil;
      return !this.rebalance;
    }
    if (!a.healthy && this.rebalance && this.anyHealthy) return false;
    return true;
  }

  /** Whether some pinned flows are due to move (so a sweep should look for them). */
  hasStalePins(now: number): boolean {
    for (const a of this.all.values()) if (a.counters.activeFlows > 0 && !this.keeps(a, now)) return true;
    return false;
  }

  /** Every appliance the group knows (members and leaving ones with flows). */
  appliances(): Appliance[] {
    return [...this.all.values()];
  }

  get(key: string): Appliance | undefined {
    return this.all.get(key);
  }
}

// ---------------------------------------------------------------------------------------------
// Per-flow state.

/** What a flow-table entry holds: the appliance and, per direction, the endpoint to answer. */
export class FlowState {
  addr0 = '';
  port0 = 0;
  id0 = 0;
  addr1 = '';
  port1 = 0;
  id1 = 0;

  constructor(public appliance: Appliance) {}

  /** Records the endpoint that sent direction `dir`; returns its 32-bit address for the endpoint id. */
  endpoint(dir: 0 | 1, address: string, port: number): number {
    if (dir === 0) {
      if (address !== this.addr0) {
        this.addr0 = address;
        this.id0 = ipv4Number(address);
      }
      this.port0 = port;
      return this.id0;
    }
    if (address !== this.addr1) {
      this.addr1 = address;
      this.id1 = ipv4Number(address);
    }
    this.port1 = port;
    return this.id1;
  }
}

/** Dotted quad → unsigned 32-bit (0 for anything else). */
function ipv4Number(text: string): number {
  let value = 0;
  let octet = 0;
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return 0;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return 0;
    } else {
      return 0;
    }
  }
  if (dots !== 3 || digits === 0) return 0;
  return (value * 256 + octet) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Send buffers: reused, handed back by dgram's send callback.

/** Largest datagram the forwarder builds: base header, every option, the largest inner packet. */
const SEND_BUFFER_SIZE = GENEVE_BASE_LENGTH + GENEVE_MAX_OPTIONS_LENGTH + MAX_INNER_PACKET;

interface SendSlot {
  readonly buf: Buffer;
  readonly done: (err: Error | null) => void;
}

class SendBuffers {
  private readonly free: SendSlot[] = [];

  constructor(private readonly onError: () => void) {}

  take(): SendSlot {
    const slot = this.free.pop();
    if (slot !== undefined) return slot;
    const made: SendSlot = {
      buf: Buffer.allocUnsafe(SEND_BUFFER_SIZE),
      done: (err) => {
        if (err) this.onError();
        this.free.push(made);
      },
    };
    return made;
  }

  give(slot: SendSlot): void {
    this.free.push(slot);
  }
}

// ---------------------------------------------------------------------------------------------
// The listener runtime.

export interface GwlbListenerSettings {
  vips: readonly string[];
  tcpIdleMs: number;
  bypass: boolean;
  optionClass: number;
}

export interface GwlbListenerOptions {
  clock: Clock;
  maxFlows?: number;
  counters?: GwlbListenerCounters;
}

const COOKIE_ID_MASK = 0x7fffffff;

export class GwlbListener {
  readonly counters: GwlbListenerCounters;
  readonly table: FlowTable<FlowState>;
  private readonly sockets = new Map<string, dgram.Socket>();
  private readonly clock: Clock;
  private readonly buffers: SendBuffers;
  private readonly header = new GeneveHeader();
  private readonly inner = new InnerPacket();
  private readonly key = new FlowKey();
  private readonly meta = new GwlbMetadata();
  private readonly attachmentHigh: number;
  private readonly attachmentLow: number;
  private closed = false;

  constructor(
    readonly id: string,
    private settings: GwlbListenerSettings,
    private group: ApplianceGroup,
    opts: GwlbListenerOptions,
  ) {
    this.clock = opts.clock;
    this.counters = opts.counters ?? newGwlbListenerCounters();
    const counters = this.counters;
    this.buffers = new SendBuffers(() => {
      counters.endpointDrops[DROP_SEND_ERROR]++;
    });
    this.table = new FlowTable<FlowState>({
      clock: opts.clock,
      maxFlows: opts.maxFlows,
      tcpIdleMs: settings.tcpIdleMs,
      onRemove: (entry) => {
        entry.value.appliance.counters.activeFlows--;
      },
    });
    [this.attachmentHigh, this.attachmentLow] = attachmentIdOf(id);
    this.meta.attachmentIdHigh = this.attachmentHigh;
    this.meta.attachmentIdLow = this.attachmentLow;
  }

  get groupId(): string {
    return this.group.id;
  }

  get vips(): string[] {
    return [...this.sockets.keys()];
  }

  /** Opens a socket on UDP 6081 of every VIP not bound yet, closes the others. */
  async bind(): Promise<void> {
    const wanted = new Set(this.settings.vips);
    const opened: string[] = [];
    try {
      for (const vip of wanted) {
        if (this.sockets.has(vip)) continue;
        this.sockets.set(vip, await this.open(vip));
        opened.push(vip);
      }
    } catch (err) {
      for (const vip of opened) this.closeSocket(vip);
      throw err;
    }
    for (const vip of [...this.sockets.keys()]) if (!wanted.has(vip)) this.closeSocket(vip);
  }

  private open(vip: string): Promise<dgram.Socket> {
    const socket = dgram.createSocket({ type: vip.includes(':') ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => {
        try {
          socket.close();
        } catch {
          // never bound
        }
        reject(new Error(`cannot listen on udp ${vip}:${GENEVE_UDP_PORT}: ${err.code ?? err.message}`));
      });
      socket.bind({ address: vip, port: GENEVE_UDP_PORT, exclusive: true }, () => {
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        try {
          socket.setRecvBufferSize(4 << 20);
          socket.setSendBufferSize(4 << 20);
        } catch {
          // the kernel's limits stand
        }
        socket.on('message', (msg, rinfo) => this.onMessage(socket, msg, rinfo));
        resolve(socket);
      });
    });
  }

  private closeSocket(vip: string): void {
    const socket = this.sockets.get(vip);
    this.sockets.delete(vip);
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }

  /** New settings and/or group. A different group unpins every flow (they are scheduled afresh). */
  async update(settings: GwlbListenerSettings, group: ApplianceGroup): Promise<void> {
    const vipsChanged = settings.vips.join(',') !== this.settings.vips.join(',');
    this.settings = settings;
    this.table.setTcpIdleMs(settings.tcpIdleMs);
    if (group !== this.group) {
      this.table.clear();
      this.group = group;
    }
    if (vipsChanged) await this.bind();
  }

  private onMessage(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    const appliance = this.group.byHost.get(rinfo.address);
    if (appliance !== undefined) this.fromAppliance(socket, msg, rinfo, appliance);
    else this.fromEndpoint(socket, msg, rinfo);
  }

  private fromEndpoint(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const c = this.counters;
    c.packetsFromEndpoints++;
    c.bytesFromEndpoints += msg.length;
    const h = this.header;
    const optionClass = this.settings.optionClass;
    const code = decodeGeneve(msg, 0, msg.length, optionClass, h);
    if (code !== GENEVE_OK) {
      c.endpointDrops[code - 1]++;
      return;
    }
    const inner = this.inner;
    const innerCode = parseInner(msg, h.payloadOffset, msg.length, h.protocolType, inner);
    if (innerCode !== INNER_OK) {
      c.endpointDrops[INNER_BASE + innerCode - 1]++;
      return;
    }
    if (this.settings.bypass) {
      // TrafficMode ByPass: straight back to the endpoint, appliances untouched.
      socket.send(msg, 0, msg.length, rinfo.port, rinfo.address, this.bypassDone);
      c.packetsToEndpoints++;
      c.bytesToEndpoints += msg.length;
      return;
    }

    const group = this.group;
    const key = this.key;
    const table = this.table;
    flowKeyOf(group.mode, msg, inner, key);
    let entry: FlowEntry<FlowState> | undefined = table.lookup(key);
    if (entry !== undefined && !group.keeps(entry.value.appliance, this.clock.now())) {
      table.remove(entry, 'removed');
      c.flowsRescheduled++;
      entry = undefined;
    }
    if (entry === undefined) {
      const chosen = group.pick(key.hash);
      if (chosen === undefined) {
        c.endpointDrops[DROP_NO_APPLIANCE]++;
        return;
      }
      entry = table.insert(key, new FlowState(chosen));
      chosen.counters.activeFlows++;
      chosen.counters.flows++;
    } else {
      table.touch(entry, key.tcp);
    }
    const dir = table.directionOf(entry, key);
    const state = entry.value;
    const meta = this.meta;
    meta.endpointIdLow = state.endpoint(dir, rinfo.address, rinfo.port);
    meta.endpointIdHigh = rinfo.port;
    meta.flowCookie = ((dir << 31) | entry.id) >>> 0;

    const slot = this.buffers.take();
    const headerLength = writeApplianceHeader(slot.buf, msg, h, optionClass, meta);
    if (headerLength < 0) {
      this.buffers.give(slot);
      c.endpointDrops[DROP_OPTIONS_TOO_LONG]++;
      return;
    }
    const length = headerLength + msg.copy(slot.buf, headerLength, h.payloadOffset);
    const a = state.appliance;
    try {
      socket.send(slot.buf, 0, length, a.port, a.host, slot.done);
    } catch {
      this.buffers.give(slot);
      c.endpointDrops[DROP_SEND_ERROR]++;
      return;
    }
    c.packetsToAppliances++;
    c.bytesToAppliances += length;
    a.counters.packetsTo++;
    a.counters.bytesTo += length;
  }

  private fromAppliance(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo, appliance: Appliance): void {
    void rinfo;
    const c = this.counters;
    c.packetsFromAppliances++;
    c.bytesFromAppliances += msg.length;
    appliance.counters.packetsFrom++;
    appliance.counters.bytesFrom += msg.length;
    const h = this.header;
    const code = decodeGeneve(msg, 0, msg.length, this.settings.optionClass, h);
    if (code !== GENEVE_OK) {
      c.applianceDrops[code - 1]++;
      return;
    }
    const inner = this.inner;
    const innerCode = parseInner(msg, h.payloadOffset, msg.length, h.protocolType, inner);
    if (innerCode !== INNER_OK) {
      c.applianceDrops[INNER_BASE + innerCode - 1]++;
      return;
    }
    const table = this.table;
    let entry: FlowEntry<FlowState> | undefined;
    let dir = 0;
    const cookie = h.flowCookie;
    if (cookie >= 0 && h.hasAttachmentId && h.attachmentIdHigh === this.attachmentHigh && h.attachmentIdLow === this.attachmentLow) {
      entry = table.byFlowId(cookie & COOKIE_ID_MASK);
      dir = cookie >>> 31;
    }
    if (entry === undefined) {
      const key = this.key;
      flowKeyOf(this.group.mode, msg, inner, key);
      entry = table.lookup(key);
      if (entry !== undefined) dir = table.directionOf(entry, key);
    }
    if (entry === undefined) {
      c.applianceDrops[DROP_UNKNOWN_FLOW]++;
      return;
    }
    table.touch(entry, inner.protocol === IPPROTO_TCP);
    const state = entry.value;
    let address = dir === 0 ? state.addr0 : state.addr1;
    let port = dir === 0 ? state.port0 : state.port1;
    if (address === '') {
      address = dir === 0 ? state.addr1 : state.addr0;
      port = dir === 0 ? state.port1 : state.port0;
    }
    try {
      socket.send(msg, 0, msg.length, port, address, this.sendDone);
    } catch {
      c.applianceDrops[DROP_SEND_ERROR]++;
      return;
    }
    c.packetsToEndpoints++;
    c.bytesToEndpoints += msg.length;
  }

  /** Completion of a returned packet's send to its endpoint. */
  private readonly sendDone = (err: Error | null): void => {
    if (err) this.counters.applianceDrops[DROP_SEND_ERROR]++;
  };

  /** Completion of a ByPass send. */
  private readonly bypassDone = (err: Error | null): void => {
    if (err) this.counters.endpointDrops[DROP_SEND_ERROR]++;
  };

  /**
   * Housekeeping, called about once a second: drops idle flows, and moves the flows whose
   * appliance they must leave (drain over, rebalance) so per-appliance counts stay true.
   */
  sweep(): void {
    this.table.sweep();
    const now = this.clock.now();
    if (!this.group.hasStalePins(now)) return;
    for (const entry of this.table.entries()) {
      if (!this.group.keeps(entry.value.appliance, now)) {
        this.table.remove(entry, 'removed');
        this.counters.flowsRescheduled++;
      }
    }
  }

  get activeFlows(): number {
    return this.table.size;
  }

  /** Closes the sockets; the flows go with them. */
  close(): void {
    this.closed = true;
    for (const vip of [...this.sockets.keys()]) this.closeSocket(vip);
    this.table.clear();
  }
}
