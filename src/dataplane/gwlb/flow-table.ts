/**
 * The GWLB flow table: which appliance each flow is pinned to, for how long. Pure: time comes
 * from an injected clock, nothing here owns a timer.
 *
 * Keys. A flow is what the server group's scheduler hashes (gwlb-api.md §5.3): under 5TCH
 * protocol, addresses and ports; under 3TCH protocol and addresses; under 2TCH the addresses.
 * The key bytes are exactly those `hashPacketSymmetric` hashes (flow-hash.ts: the two endpoints
 * in canonical order, IPv4 as IPv4-mapped IPv6) and the table's hash *is* that flow hash — so
 * both directions of a flow find one entry, and the hash computed once per packet serves both
 * the table and the Maglev pick. Each entry remembers which side sent its first packet, so a
 * lookup also says which direction a packet travels (0: as the first packet, 1: reverse).
 *
 * Idle timeouts (gwlb-api.md §5.4): an entry that has carried TCP lives `tcpIdleMs` after its
 * last packet (the listener's TcpIdleTimeout, default 350 s), any other entry 120 s. An expired
 * entry is never returned: a lookup that meets one removes it, so the next packet is scheduled
 * afresh. Memory is reclaimed by `sweep()`, which the owner calls now and then: entries sit in
 * two least-recently-used lists (TCP / other, each with one timeout), so a sweep only looks at
 * the entries it removes — no timer per flow.
 *
 * Size. At most `maxFlows` entries; inserting into a full table first sweeps, then evicts the
 * least recently used entry (counted in `evicted`). An evicted flow loses its pin, not its
 * appliance: while the appliance set is unchanged the consistent hash sends it to the same one.
 *
 * Storage: open addressing with linear probing over a power-of-two slot array (load ≤ 1/2) and
 * backward-shift deletion; one object per flow, none per packet. Flow ids (31 bits, never 0,
 * not reused until 2^31 flows later) let a returning packet find its entry without a key.
 */
import type { Clock } from '../../util/clock.js';
import { murmur3, FLOW_HASH_SEED, type TupleMode } from '../balancing/flow-hash.js';
import type { InnerPacket } from './inner.js';
import { IPPROTO_TCP } from './inner.js';

export const DEFAULT_TCP_IDLE_MS = 350_000;
export const NON_TCP_IDLE_MS = 120_000;
export const DEFAULT_MAX_FLOWS = 262_144;

/** Key bytes kept per entry (the longest, 5-tuple, key). */
export const FLOW_KEY_BYTES = 40;

/** A flow key under construction; reuse one per socket. */
export class FlowKey {
  readonly bytes = new Uint8Array(FLOW_KEY_BYTES);
  /** How many leading bytes are hashed: 40 (5TCH), 36 (3TCH), 32 (2TCH). */
  length = FLOW_KEY_BYTES;
  mode: TupleMode = 5;
  /** The flow hash (= hashPacketSymmetric of the packet under `mode`). */
  hash = 0;
  /** Whether the packet's source is the endpoint written first (the "lo" side). */
  srcIsLo = true;
  /** Whether the packet is TCP. */
  tcp = false;
}

function writeAddress(out: Uint8Array, at: number, buf: Uint8Array, from: number, length: number): void {
  if (length === 16) {
    for (let k = 0; k < 16; k++) out[at + k] = buf[from + k];
    return;
  }
  for (let k = 0; k < 10; k++) out[at + k] = 0;
  out[at + 10] = 0xff;
  out[at + 11] = 0xff;
  out[at + 12] = buf[from];
  out[at + 13] = buf[from + 1];
  out[at + 14] = buf[from + 2];
  out[at + 15] = buf[from + 3];
}

/** Fills `key` for the inner packet `inner` (parsed from `buf`) under scheduler mode `mode`. */
export function flowKeyOf(mode: TupleMode, buf: Uint8Array, inner: InnerPacket, key: FlowKey): void {
  const b = key.bytes;
  writeAddress(b, 0, buf, inner.srcOffset, inner.addressLength);
  writeAddress(b, 16, buf, inner.dstOffset, inner.addressLength);
  let cmp = 0;
  for (let k = 0; k < 16 && cmp === 0; k++) cmp = b[k] - b[16 + k];
  if (cmp === 0 && mode === 5) cmp = inner.srcPort - inner.dstPort;
  const swap = cmp > 0;
  if (swap) {
    for (let k = 0; k < 16; k++) {
      const t = b[k];
      b[k] = b[16 + k];
      b[16 + k] = t;
    }
  }
  key.srcIsLo = !swap;
  key.mode = mode;
  key.tcp = inner.protocol === IPPROTO_TCP;
  let at = 32;
  if (mode === 5) {
    const lo = swap ? inner.dstPort : inner.srcPort;
    const hi = swap ? inner.srcPort : inner.dstPort;
    b[32] = lo >>> 8;
    b[33] = lo & 0xff;
    b[34] = hi >>> 8;
    b[35] = hi & 0xff;
    at = 36;
  }
  if (mode !== 2) {
    b[at] = inner.protocol;
    b[at + 1] = 0;
    b[at + 2] = 0;
    b[at + 3] = 0;
    at += 4;
  }
  key.length = at;
  for (let k = at; k < FLOW_KEY_BYTES; k++) b[k] = 0;
  key.hash = murmur3(b, 0, at, FLOW_HASH_SEED);
}

export type RemoveCause = 'expired' | 'evicted' | 'removed';

export class FlowEntry<V> {
  readonly key = new Uint8Array(FLOW_KEY_BYTES);
  /** Position in the slot array (moves on deletions). */
  slot = -1;
  prev: FlowEntry<V> | null = null;
  next: FlowEntry<V> | null = null;
  live = true;

  constructor(
    readonly id: number,
    readonly hash: number,
    readonly mode: TupleMode,
    /** Whether the first packet's source was the key's "lo" side. */
    readonly initiatorIsLo: boolean,
    /** Carried TCP (sticky): then the TCP idle timeout applies. */
    public tcp: boolean,
    readonly createdAt: number,
    public lastSeen: number,
    public value: V,
  ) {}
}

export interface FlowTableOptions<V> {
  clock: Clock;
  maxFlows?: number;
  tcpIdleMs?: number;
  otherIdleMs?: number;
  /** Told about every entry that leaves the table, and why. */
  onRemove?: (entry: FlowEntry<V>, cause: RemoveCause) => void;
}

const OTHER = 0;
const TCP = 1;

export class FlowTable<V> {
  readonly maxFlows: number;
  private tcpIdle: number;
  private readonly otherIdle: number;
  private readonly clock: Clock;
  private readonly onRemove?: (entry: FlowEntry<V>, cause: RemoveCause) => void;
  private readonly slots: Array<FlowEntry<V> | undefined>;
  private readonly mask: number;
  private readonly byId = new Map<number, FlowEntry<V>>();
  /** LRU lists per timeout class: head = most recently used. */
  private readonly heads: Array<FlowEntry<V> | null> = [null, null];
  private readonly tails: Array<FlowEntry<V> | null> = [null, null];
  private nextId = 1;
  private count = 0;
  /** Lifetime totals. */
  created = 0;
  expired = 0;
  evicted = 0;

  constructor(opts: FlowTableOptions<V>) {
    this.clock = opts.clock;
    this.maxFlows = Math.max(1, Math.floor(opts.maxFlows ?? DEFAULT_MAX_FLOWS));
    this.tcpIdle = opts.tcpIdleMs ?? DEFAULT_TCP_IDLE_MS;
    this.otherIdle = opts.otherIdleMs ?? NON_TCP_IDLE_MS;
    this.onRemove = opts.onRemove;
    let capacity = 16;
    while (capacity < this.maxFlows * 2) capacity *= 2;
    this.slots = new Array<FlowEntry<V> | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  get tcpIdleMs(): number {
    return this.tcpIdle;
  }

  /** A new TCP idle timeout, for every TCP entry from now on. */
  setTcpIdleMs(ms: number): void {
    this.tcpIdle = ms;
  }

  /** The idle timeout that applies to `entry`. */
  timeoutOf(entry: FlowEntry<V>): number {
    return entry.tcp ? this.tcpIdle : this.otherIdle;
  }

  isExpired(entry: FlowEntry<V>, now: number): boolean {
    return now - entry.lastSeen >= this.timeoutOf(entry);
  }

  /** The live entry for `key`, or undefined (an expired one is removed on the way). */
  lookup(key: FlowKey): FlowEntry<V> | undefined {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = key.hash & mask; ; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === undefined) return undefined;
      if (e.hash === key.hash && e.mode === key.mode && sameKey(e.key, key.bytes)) {
        if (this.isExpired(e, this.clock.now())) {
          this.remove(e, 'expired');
          return undefined;
        }
        return e;
      }
    }
  }

  /** The live entry with flow id `id` (e.g. from a flow cookie), or undefined. */
  byFlowId(id: number): FlowEntry<V> | undefined {
    const e = this.byId.get(id);
    if (e === undefined) return undefined;
    if (this.isExpired(e, this.clock.now())) {
      this.remove(e, 'expired');
      return undefined;
    }
    return e;
  }

  /** 0 when the packet that made `key` travels like the entry's first packet, 1 when reverse. */
  directionOf(entry: FlowEntry<V>, key: FlowKey): 0 | 1 {
    return key.srcIsLo === entry.initiatorIsLo ? 0 : 1;
  }

  /**
   * Adds an entry for `key` (the caller has just seen `lookup(key)` come back empty). Makes room
   * first when the table is full.
   */
  insert(key: FlowKey, value: V): FlowEntry<V> {
    if (this.count >= this.maxFlows) {
      this.sweep();
      if (this.count >= this.maxFlows) this.evictOne();
    }
    const now = this.clock.now();
    const entry = new FlowEntry<V>(this.allocateId(), key.hash, key.mode, key.srcIsLo, key.tcp, now, now, value);
    entry.key.set(key.bytes);
    const slots = this.slots;
    let i = key.hash & this.mask;
    while (slots[i] !== undefined) i = (i + 1) & this.mask;
    slots[i] = entry;
    entry.slot = i;
    this.byId.set(entry.id, entry);
    this.linkHead(entry, entry.tcp ? TCP : OTHER);
    this.count++;
    this.created++;
    return entry;
  }

  /** Records activity: the entry becomes most recently used; TCP makes it a TCP entry. */
  touch(entry: FlowEntry<V>, tcp: boolean): void {
    entry.lastSeen = this.clock.now();
    const list = entry.tcp ? TCP : OTHER;
    this.unlink(entry, list);
    if (tcp) entry.tcp = true;
    this.linkHead(entry, entry.tcp ? TCP : OTHER);
  }

  /** Takes an entry out (a no-op for one already gone). */
  remove(entry: FlowEntry<V>, cause: RemoveCause = 'removed'): void {
    if (!entry.live) return;
    entry.live = false;
    this.unlink(entry, entry.tcp ? TCP : OTHER);
    this.byId.delete(entry.id);
    this.deleteSlot(entry.slot);
    entry.slot = -1;
    this.count--;
    if (cause === 'expired') this.expired++;
    else if (cause === 'evicted') this.evicted++;
    this.onRemove?.(entry, cause);
  }

  /** Removes every expired entry; returns how many. Costs only the entries it removes. */
  sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const list of [OTHER, TCP]) {
      for (let e = this.tails[list]; e !== null && this.isExpired(e, now); e = this.tails[list]) {
        this.remove(e, 'expired');
        n++;
      }
    }
    return n;
  }

  /** Every entry (live or expired-but-unswept), least recently used first per list. */
  *entries(): IterableIterator<FlowEntry<V>> {
    for (const list of [OTHER, TCP]) {
      for (let e = this.tails[list]; e !== null;) {
        const prev: FlowEntry<V> | null = e.prev; // the caller may remove `e`
        yield e;
        e = prev;
      }
    }
  }

  /** Removes everything (cause 'removed'). */
  clear(): void {
    for (const e of [...this.entries()]) this.remove(e, 'removed');
  }

  // -------------------------------------------------------------------------------------------

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= 0x7fffffff ? 1 : id + 1;
      if (!this.byId.has(id)) return id;
    }
  }

  private evictOne(): void {
    const a = this.tails[OTHER];
    const b = this.tails[TCP];
    const victim = a === null ? b : b === null ? a : a.lastSeen <= b.lastSeen ? a : b;
    if (victim !== null) this.remove(victim, 'evicted');
  }

  private linkHead(entry: FlowEntry<V>, list: number): void {
    const head = this.heads[list];
    entry.prev = null;
    entry.next = head;
    if (head !== null) head.prev = entry;
    else this.tails[list] = entry;
    this.heads[list] = entry;
  }

  private unlink(entry: FlowEntry<V>, list: number): void {
    if (entry.prev !== null) entry.prev.next = entry.next;
    else this.heads[list] = entry.next;
    if (entry.next !== null) entry.next.prev = entry.prev;
    else this.tails[list] = entry.prev;
    entry.prev = null;
    entry.next = null;
  }

  /** Linear-probing deletion without tombstones: later entries of the cluster shift back. */
  private deleteSlot(hole: number): void {
    const slots = this.slots;
    const mask = this.mask;
    slots[hole] = undefined;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const e = slots[j];
      if (e === undefined) return;
      const home = e.hash & mask;
      // `e` may move into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      slots[hole] = e;
      e.slot = hole;
      slots[j] = undefined;
      hole = j;
    }
  }
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  for (let k = 0; k < FLOW_KEY_BYTES; k++) if (a[k] !== b[k]) return false;
  return true;
}
