/**
 * NLB / GWLB schedulers over a fixed backend set.
 *
 * A scheduler is built from the eligible backends (see `eligibleBackends`: healthy with
 * weight > 0, or every backend with weight > 0 when none is healthy) and rebuilt whenever
 * that set, a weight or the scheduler name changes. Building precomputes everything;
 * `pick` allocates nothing and does not keep the `FlowInfo` it is given, so a caller may reuse
 * one mutable FlowInfo object for every new connection.
 *
 * Answers are positions in the array the scheduler was built from (-1 when it holds no
 * backend with weight > 0). Backends with weight ≤ 0 in that array are never picked.
 *
 * | name  | pick                                                                        |
 * |-------|-----------------------------------------------------------------------------|
 * | Wrr   | smooth weighted round robin (nginx): weights 5,1,1 → a a b a c a a          |
 * | Rr    | round robin in array order, weights ignored (weight 0 still excluded)       |
 * | Wlc   | least active/weight; ties → higher weight, then round-robin order           |
 * | Sch   | Maglev on the source IP (the kernel's jhash, see kernel-hash.ts)             |
 * | Tch   | Maglev on the 4-tuple (the kernel's jhash)                                   |
 * | Qch   | Maglev on the QUIC DCID of `firstPacket`; 4-tuple when absent / not QUIC    |
 * | 5TCH  | Maglev on the symmetric 5-tuple (GWLB; `protocol` from FlowInfo, default 0) |
 * | 3TCH  | Maglev on the symmetric 3-tuple (GWLB)                                      |
 * | 2TCH  | Maglev on the symmetric 2-tuple (GWLB)                                      |
 *
 * Names are matched case-insensitively ("rr", "RR", "Rr"; "5tch").
 *
 * Retrying after a failed connect: `pickNext(first, attempt)` returns, for attempt = 1, 2, …,
 * the attempt-th backend after `first` in the scheduler's ring, and -1 once every backend has
 * been offered. The ring is array order for Wrr/Rr/Wlc and ascending key order for the hash
 * schedulers — so a retried flow lands on the same alternative on every worker and node. It is
 * stateless and allocation-free:
 *
 *   const first = s.pick(flow);
 *   for (let a = 0, i = first; i >= 0; i = s.pickNext(first, ++a)) { if (await connect(i)) break; }
 */
import type { Backend } from './backend.js';
import { hasTraffic } from './backend.js';
import { hashFiveTupleSymmetric, hashFourTuple, hashSourceIp, hashThreeTupleSymmetric, hashTwoTupleSymmetric } from './flow-hash.js';
import { MaglevTable, compactMaglevTableSize } from './maglev.js';
import { kernelFourTupleSlot, kernelSourceSlot } from './kernel-hash.js';
import { DEFAULT_QUIC_CID_LENGTH, hashQuicCid } from './quic.js';
import { normalizeSchedulerName, type SchedulerName } from '../../domain/schedulers.js';

export { eligibleBackends } from './backend.js';
export type { Backend } from './backend.js';

export interface FlowInfo {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** UDP: the first datagram's payload (for Qch). */
  firstPacket?: Uint8Array;
  /** IP protocol number (6 TCP, 17 UDP, …); read by 5TCH / 3TCH. */
  protocol?: number;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /** How many backends can be picked (weight > 0). */
  readonly count: number;
  /** A backend position for a new flow, or -1 when there is none. */
  pick(flow: FlowInfo): number;
  /**
   * For retries: the `attempt`-th backend after `first` in the ring (attempt 0 → `first`);
   * -1 when attempt ≥ count, or `first` is not a pickable position.
   */
  pickNext(first: number, attempt: number): number;
}

/** The consistent-hash schedulers (Sch, Tch, Qch, 5TCH, 3TCH, 2TCH) also expose their hashing. */
export interface HashScheduler extends Scheduler {
  readonly table: MaglevTable;
  /** The flow hash `pick` would look up. */
  flowHash(flow: FlowInfo): number;
  /** Look up a hash computed elsewhere (e.g. `hashPacketSymmetric` on a raw inner packet). */
  pickByHash(hash: number): number;
}

export interface SchedulerOptions {
  /**
   * Wlc only (required there): active connections per backend, read as
   * `active[backend.index ?? position]`, or a getter called with that same index.
   * The caller keeps it current; the scheduler only reads it.
   */
  active?: ArrayLike<number> | ((index: number) => number);
  /** Qch: DCID length for short-header packets (see quic.ts). Default 8. */
  quicCidLength?: number;
  /**
   * Hash schedulers: Maglev table size (prime). Default: `compactMaglevTableSize(count)` for Sch
   * and Tch (the size the kernel engine programs, so both engines agree), else `maglevTableSize(count)`.
   */
  tableSize?: number;
}

export function createScheduler(name: string, backends: readonly Backend[], options: SchedulerOptions = {}): Scheduler {
  const canonical = normalizeSchedulerName(name);
  switch (canonical) {
    case 'Wrr':
      return new WrrScheduler(backends);
    case 'Rr':
      return new RrScheduler(backends);
    case 'Wlc':
      if (options.active === undefined) throw new TypeError('the Wlc scheduler needs active connection counts');
      return new WlcScheduler(backends, options.active);
    case 'Sch':
    case 'Tch':
    case 'Qch':
    case '5TCH':
    case '3TCH':
    case '2TCH':
      return new ConsistentHashScheduler(canonical, backends, options);
    default:
      throw new RangeError(`unknown scheduler ${JSON.stringify(name)}`);
  }
}

/** Ring bookkeeping shared by every scheduler (for `pickNext`). */
abstract class RingScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  readonly count: number;
  /** Pickable positions, in ring order. */
  protected readonly ring: Int32Array;
  /** Position → its index in `ring`, or -1. */
  private readonly rankOf: Int32Array;

  protected constructor(backendTotal: number, ring: Int32Array) {
    this.ring = ring;
    this.count = ring.length;
    this.rankOf = new Int32Array(backendTotal).fill(-1);
    for (let r = 0; r < ring.length; r++) this.rankOf[ring[r]] = r;
  }

  abstract pick(flow: FlowInfo): number;

  pickNext(first: number, attempt: number): number {
    if (first < 0 || first >= this.rankOf.length) return -1;
    const rank = this.rankOf[first];
    if (rank < 0 || attempt < 0 || attempt >= this.count) return -1;
    return this.ring[(rank + attempt) % this.count];
  }
}

function pickablePositions(backends: readonly Backend[]): Int32Array {
  let n = 0;
  for (const b of backends) if (hasTraffic(b)) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < backends.length; i++) if (hasTraffic(backends[i])) out[n++] = i;
  return out;
}

/** Smooth weighted round robin: every pick adds each weight to its counter, takes the largest, subtracts the total. */
class WrrScheduler extends RingScheduler {
  readonly name = 'Wrr' as const;
  private readonly weight: Float64Array;
  private readonly current: Float64Array;
  private readonly total: number;

  constructor(backends: readonly Backend[]) {
    super(backends.length, pickablePositions(backends));
    this.weight = new Float64Array(this.count);
    this.current = new Float64Array(this.count);
    let total = 0;
    for (let r = 0; r < this.count; r++) {
      this.weight[r] = backends[this.ring[r]].weight;
      total += this.weight[r];
    }
    this.total = total;
  }

  pick(_flow: FlowInfo): number {
    const n = this.count;
    if (n === 0) return -1;
    let best = 0;
    for (let r = 0; r < n; r++) {
      this.current[r] += this.weight[r];
      if (this.current[r] > this.current[best]) best = r;
    }
    this.current[best] -= this.total;
    return this.ring[best];
  }
}

class RrScheduler extends RingScheduler {
  readonly name = 'Rr' as const;
  private cursor = 0;

  constructor(backends: readonly Backend[]) {
    super(backends.length, pickablePositions(backends));
  }

  pick(_flow: FlowInfo): number {
    if (this.count === 0) return -1;
    const p = this.ring[this.cursor];
    this.cursor = this.cursor + 1 === this.count ? 0 : this.cursor + 1;
    return p;
  }
}

/**
 * Weighted least connections: the backend with the smallest active/weight (compared as
 * active_a · w_b < active_b · w_a, no division). Ties go to the higher weight, then to the
 * first one at or after a cursor that moves past each pick — so equal, idle backends take
 * turns even when the caller bumps the counts late. Deterministic for a given call sequence.
 */
class WlcScheduler extends RingScheduler {
  readonly name = 'Wlc' as const;
  private readonly weight: Float64Array;
  private readonly slot: Int32Array;
  private readonly array: ArrayLike<number> | undefined;
  private readonly getter: ((index: number) => number) | undefined;
  private cursor = 0;

  constructor(backends: readonly Backend[], active: ArrayLike<number> | ((index: number) => number)) {
    super(backends.length, pickablePositions(backends));
    this.weight = new Float64Array(this.count);
    this.slot = new Int32Array(this.count);
    for (let r = 0; r < this.count; r++) {
      const b = backends[this.ring[r]];
      this.weight[r] = b.weight;
      this.slot[r] = b.index ?? this.ring[r];
    }
    if (typeof active === 'function') this.getter = active;
    else this.array = active;
  }

  private load(r: number): number {
    return this.getter !== undefined ? this.getter(this.slot[r]) : this.array![this.slot[r]];
  }

  pick(_flow: FlowInfo): number {
    const n = this.count;
    if (n === 0) return -1;
    let best = this.cursor;
    let bestLoad = this.load(best);
    let bestWeight = this.weight[best];
    for (let k = 1; k < n; k++) {
      let r = this.cursor + k;
      if (r >= n) r -= n;
      const load = this.load(r);
      const w = this.weight[r];
      const lhs = load * bestWeight;
      const rhs = bestLoad * w;
      if (lhs < rhs || (lhs === rhs && w > bestWeight)) {
        best = r;
        bestLoad = load;
        bestWeight = w;
      }
    }
    this.cursor = best + 1 === n ? 0 : best + 1;
    return this.ring[best];
  }
}

const MODE_SCH = 0;
const MODE_TCH = 1;
const MODE_QCH = 2;
const MODE_5 = 5;
const MODE_3 = 3;
const MODE_2 = 4;

class ConsistentHashScheduler extends RingScheduler implements HashScheduler {
  readonly name: SchedulerName;
  readonly table: MaglevTable;
  private readonly mode: number;
  private readonly cidLength: number;

  constructor(name: 'Sch' | 'Tch' | 'Qch' | '5TCH' | '3TCH' | '2TCH', backends: readonly Backend[], options: SchedulerOptions) {
    const kernelCompatible = name === 'Sch' || name === 'Tch' || name === 'Qch'; // Qch falls back to Tch's hash
    const size = options.tableSize ?? (kernelCompatible ? compactMaglevTableSize(pickablePositions(backends).length) : undefined);
    const table = MaglevTable.build(backends, { size });
    super(backends.length, table.order);
    this.table = table;
    this.name = name;
    this.mode =
      name === 'Sch'
        ? MODE_SCH
        : name === 'Tch'
          ? MODE_TCH
          : name === 'Qch'
            ? MODE_QCH
            : name === '5TCH'
              ? MODE_5
              : name === '3TCH'
                ? MODE_3
                : MODE_2;
    this.cidLength = options.quicCidLength ?? DEFAULT_QUIC_CID_LENGTH;
  }

  flowHash(flow: FlowInfo): number {
    switch (this.mode) {
      case MODE_SCH: {
        // IPv4: the slot nftables' `jhash ip saddr mod M` picks (already < M, so lookup keeps it).
        const slot = kernelSourceSlot(flow.srcIp, this.table.size);
        return slot >= 0 ? slot : hashSourceIp(flow.srcIp);
      }
      case MODE_QCH:
        if (flow.firstPacket !== undefined) {
          const h = hashQuicCid(flow.firstPacket, this.cidLength);
          if (h >= 0) return h;
        }
        return this.fourTuple(flow);
      case MODE_5:
        return hashFiveTupleSymmetric(flow.protocol ?? 0, flow.srcIp, flow.srcPort, flow.dstIp, flow.dstPort);
      case MODE_3:
        return hashThreeTupleSymmetric(flow.protocol ?? 0, flow.srcIp, flow.dstIp);
      case MODE_2:
        return hashTwoTupleSymmetric(flow.srcIp, flow.dstIp);
      default:
        return this.fourTuple(flow);
    }
  }

  /** IPv4: the slot nftables' `jhash ip saddr . th sport . ip daddr . th dport mod M` picks. */
  private fourTuple(flow: FlowInfo): number {
    const slot = kernelFourTupleSlot(flow.srcIp, flow.srcPort, flow.dstIp, flow.dstPort, this.table.size);
    return slot >= 0 ? slot : hashFourTuple(flow.srcIp, flow.srcPort, flow.dstIp, flow.dstPort);
  }

  pick(flow: FlowInfo): number {
    if (this.count === 0) return -1;
    return this.table.lookup(this.flowHash(flow));
  }

  pickByHash(hash: number): number {
    return this.count === 0 ? -1 : this.table.lookup(hash);
  }
}

/** Narrows a scheduler to the consistent-hash kind. */
export function isHashScheduler(s: Scheduler): s is HashScheduler {
  return s instanceof ConsistentHashScheduler;
}
