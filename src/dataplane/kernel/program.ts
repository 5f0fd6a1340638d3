/**
 * Snapshot → the nftables objects of one node's table (pure). Every listener is a chain reached
 * through one verdict map keyed `VIP . protocol . port` from both the prerouting hook (clients in
 * other hosts / namespaces) and the output hook (clients on this host); each server group is a
 * map from a scheduler expression to backend addresses. `render.ts` turns two programs into the
 * text of one atomic `nft -f -` transaction.
 *
 * Names carry everything that fixes an object's type (e.g. the modulus of a scheduler map), so an
 * object whose name survives a change keeps its type and only its contents need re-sending.
 */
import { buildMaglevTable, compactMaglevTableSize } from '../balancing/maglev.js';
import { KERNEL_FLOW_HASH_SEED } from '../balancing/kernel-hash.js';
import { createScheduler, type FlowInfo } from '../balancing/schedulers.js';
import type { KernelGroup, KernelListener, KernelSnapshot } from './snapshot.js';

/** Longest weighted round-robin cycle programmed; larger weight sums are scaled down to it. */
const MAX_WRR_CYCLE = 4096;
const NO_FLOW: FlowInfo = { srcIp: '', srcPort: 0, dstIp: '', dstPort: 0 };

export interface NftMap {
  kind: 'map' | 'set';
  /** Declaration lines: `type …` / `typeof …`, `flags …`. */
  spec: string[];
  /** Element key → value ('' for a set). */
  elements: Map<string, string>;
}

export interface NftChain {
  /** Base chains: `type nat hook output priority -100; policy accept;`. Regular chains: ''. */
  hook: string;
  rules: string[];
}

export interface NftProgram {
  /** `counter l1_new` / `ct timeout to_tcp_900` → body inside braces ('' for counters). */
  objects: Map<string, string>;
  maps: Map<string, NftMap>;
  chains: Map<string, NftChain>;
}

/** Stable small numbers naming a listener's / group's objects (see TagBook). */
export interface Tags {
  listener(id: string): number;
  group(id: string): number;
}

const LISTENER_KEY = 'ipv4_addr . inet_proto . inet_service';
const SEED = `0x${KERNEL_FLOW_HASH_SEED.toString(16)}`;

/**
 * A listener's connection events, counted in the dynamic set `events` under (flow mark, kind):
 * no counter objects per listener (nft loads every object of the table before each
 * transaction, so thousands of them made every change slow).
 */
export const EVENTS_SET = 'events';
export const EVENT = { created: 1, cps: 2, noBackend: 3, fault: 4 } as const;

/**
 * Traffic per flow mark is counted in two dynamic sets whose elements carry counters, created by
 * the packets themselves: no per-listener objects (tens of thousands of named counters made every
 * nft transaction slow, as nft loads every object of the table first). nftables counts whole
 * packets; to report payload bytes as the user-space engine does, TCP packets are keyed by their
 * header length, which is subtracted when reading.
 */
export const TRAFFIC_SETS = { tcp: 'tcpbytes', udp: 'udpbytes' } as const;
/** Every dynamic set whose elements name a flow mark first. */
export const MARK_SETS = [EVENTS_SET, TRAFFIC_SETS.tcp, TRAFFIC_SETS.udp] as const;
/** Bytes of IPv4 (without options) and UDP headers per datagram. */
export const UDP_HEADER_BYTES = 28;
/** Bytes of IPv4 and TCP headers of a segment with data offset `doff`. */
export function tcpHeaderBytes(doff: number): number {
  return 20 + 4 * doff;
}
/** Fault shares are programmed in steps of 1/SHARE_SCALE. */
const SHARE_SCALE = 10000;
/** Elements the traffic sets may hold (a few per listener and direction). */
const TRAFFIC_SET_SIZE = 1 << 20;

export function emptyProgram(): NftProgram {
  return { objects: new Map(), maps: new Map(), chains: new Map() };
}

/** Bits of a flow's ct mark that name the OpenSLB instance (its table); the rest name the listener. */
export const INSTANCE_MARK_SHIFT = 20;

/**
 * The ct mark of a listener's flows: the instance in the top 12 bits (so two OpenSLB tables on one
 * host never count or NAT each other's flows), the listener's tag below.
 */
export function listenerMark(instance: number, tag: number): number {
  if (tag >= 1 << INSTANCE_MARK_SHIFT) throw new RangeError(`listener tag ${tag} does not fit in a ct mark`);
  return (((instance & 0xfff) << INSTANCE_MARK_SHIFT) | tag) >>> 0;
}

function hex(mark: number): string {
  return `0x${mark.toString(16).padStart(8, '0')}`;
}

/** Maps every listener contributes elements to (verdicts, marks), declared by the base program. */
export const SHARED_MAPS = ['listeners', 'mss', 'fullnat', 'resetting'] as const;

/** The fixed part of every table: hook chains and the shared maps, without elements. */
export function baseProgram(instance: number): NftProgram {
  const program = emptyProgram();
  const { maps, chains } = program;
  maps.set('listeners', keyedMap('map', `type ${LISTENER_KEY} : verdict`));
  maps.set('mss', { kind: 'map', spec: ['type mark : verdict'], elements: new Map() });
  maps.set('fullnat', { kind: 'set', spec: ['type mark'], elements: new Map() });
  maps.set('resetting', keyedMap('set', `type ${LISTENER_KEY}`));
  const traffic = (typeOf: string): NftMap => ({
    kind: 'set',
    spec: [`typeof ${typeOf}`, `size ${TRAFFIC_SET_SIZE}`, 'flags dynamic', 'counter'],
    elements: new Map(),
  });
  maps.set(TRAFFIC_SETS.tcp, traffic('ct mark . ct direction . tcp doff'));
  maps.set(TRAFFIC_SETS.udp, traffic('ct mark . ct direction'));
  maps.set(EVENTS_SET, {
    kind: 'set',
    spec: ['type mark . mark', `size ${TRAFFIC_SET_SIZE}`, 'flags dynamic', 'counter'],
    elements: new Map(),
  });

  const lookup = 'ip daddr . meta l4proto . th dport';
  chains.set('pre_nat', { hook: 'type nat hook prerouting priority dstnat; policy accept;', rules: [`${lookup} vmap @listeners`] });
  chains.set('out_nat', { hook: 'type nat hook output priority -100; policy accept;', rules: [`${lookup} vmap @listeners`] });
  chains.set('post_nat', {
    hook: 'type nat hook postrouting priority srcnat; policy accept;',
    rules: ['ct mark @fullnat snat ip to ct original ip daddr'],
  });
  // An expired flow must not be re-balanced mid-stream: with nf_conntrack_tcp_loose=0 its next
  // packet is invalid, and the client gets a reset as on NLB.
  // Every packet of this node's flows is counted; the MSS clamp rewrites both the client's SYN and
  // the backend's SYN-ACK, so both ends send small segments.
  const ours = `ct mark & ${hex((0xfff << INSTANCE_MARK_SHIFT) >>> 0)} == ${hex(listenerMark(instance, 0))}`;
  const filterRules = [`meta l4proto tcp ct state invalid ${lookup} @resetting reject with tcp reset`, `${ours} jump count`];
  chains.set('count', {
    hook: '',
    rules: [
      'tcp flags & syn == syn ct mark vmap @mss',
      `meta l4proto tcp add @${TRAFFIC_SETS.tcp} { ct mark . ct direction . tcp doff counter } return`,
      `meta l4proto udp add @${TRAFFIC_SETS.udp} { ct mark . ct direction counter }`,
    ],
  });
  chains.set('out_filter', { hook: 'type filter hook output priority filter; policy accept;', rules: filterRules });
  chains.set('fwd_filter', { hook: 'type filter hook forward priority filter; policy accept;', rules: filterRules });
  // Loopback packets were already seen on output.
  chains.set('in_filter', { hook: 'type filter hook input priority filter; policy accept;', rules: ['iif "lo" return', ...filterRules] });
  return program;
}

/**
 * What one listener adds to the table: its own chains and counters, the ct timeout and group
 * map it uses (shared with other listeners), and its elements in the shared maps.
 */
export interface ListenerPart {
  objects: Map<string, string>;
  chains: Map<string, NftChain>;
  /** [shared map, key, value] */
  elements: Array<[string, string, string]>;
  groupMap?: { name: string; map: NftMap };
}

/** A group's scheduler maps, one per target shape, built once per group content. */
export class GroupMaps {
  private readonly byShape = new Map<string, { name: string; modulus: number; map: NftMap } | undefined>();

  constructor(
    readonly group: KernelGroup,
    private readonly tag: number,
  ) {}

  target(keepPort: boolean, protocol: 'tcp' | 'udp'): { name: string; modulus: number; map: NftMap } | undefined {
    const shape = `${keepPort}/${protocol}`;
    if (!this.byShape.has(shape)) this.byShape.set(shape, groupTargetMap(this.tag, this.group, keepPort, protocol));
    return this.byShape.get(shape);
  }
}

export function buildListenerPart(l: KernelListener, tag: number, groupMaps: GroupMaps, instance: number): ListenerPart {
  const part: ListenerPart = { objects: new Map(), chains: new Map(), elements: [] };
  const timeout = timeoutObject(l);
  part.objects.set(`ct timeout ${timeout.name}`, timeout.body);

  const mark = hex(listenerMark(instance, tag));
  const count = (event: number) => `add @${EVENTS_SET} { ${mark} . ${hex(event)} counter }`;
  if (l.fullNat) part.elements.push(['fullnat', mark, '']);
  const ports = l.portFrom === l.portTo ? `${l.portFrom}` : `${l.portFrom}-${l.portTo}`;
  for (const vip of l.vips) {
    const key = `${vip} . ${l.protocol} . ${ports}`;
    part.elements.push(['listeners', key, `goto l${tag}`]);
    if (l.protocol === 'tcp') part.elements.push(['resetting', key, '']);
  }

  const rules: string[] = [];
  // Over the Cps limit: refused and counted (a TCP client gets a reset rather than retrying its SYN).
  const refuse = l.protocol === 'tcp' ? 'reject with tcp reset' : 'drop';
  if (l.cps > 0) rules.push(`limit rate over ${l.cps}/second burst ${l.cps} packets ${count(EVENT.cps)} ${refuse}`);
  // A drop-connections fault rule: that share of new connections is refused before any backend
  // is chosen, as the user-space engine closes them on accept (TCP only there too).
  const share = l.protocol === 'tcp' ? Math.min(1, Math.max(0, l.dropShare ?? 0)) : 0;
  const below = Math.max(1, Math.round(share * SHARE_SCALE));
  if (share > 0) rules.push(`${below < SHARE_SCALE ? `numgen random mod ${SHARE_SCALE} < ${below} ` : ''}${count(EVENT.fault)} ${refuse}`);
  rules.push(count(EVENT.created));
  rules.push(`ct timeout set "${timeout.name}" ct mark set ${mark}`);
  const target = groupMaps.target(l.keepPort, l.protocol);
  // No backend at all: TCP clients get a reset at once (as from the user-space engine), not a
  // SYN that times out.
  if (!target) rules.push(`${count(EVENT.noBackend)} ${refuse}`);
  else {
    part.groupMap = { name: target.name, map: target.map };
    const portMatch = l.keepPort ? '' : `meta l4proto ${l.protocol} `;
    rules.push(`${portMatch}dnat ip to ${schedulerExpression(groupMaps.group, l.protocol, target.modulus)} map @${target.name}`);
  }
  part.chains.set(`l${tag}`, { hook: '', rules });
  if (l.mss > 0 && l.protocol === 'tcp') {
    part.elements.push(['mss', mark, `jump m${tag}`]);
    part.chains.set(`m${tag}`, { hook: '', rules: [`tcp option maxseg size set ${l.mss}`] });
  }
  return part;
}

/** The base program with listener parts added (a whole table). */
export function assemble(instance: number, parts: Iterable<ListenerPart>): NftProgram {
  const program = baseProgram(instance);
  for (const part of parts) {
    for (const [key, body] of part.objects) program.objects.set(key, body);
    for (const [name, chain] of part.chains) program.chains.set(name, chain);
    for (const [map, key, value] of part.elements) program.maps.get(map)!.elements.set(key, value);
    if (part.groupMap) program.maps.set(part.groupMap.name, part.groupMap.map);
  }
  return program;
}

export function buildProgram(snapshot: KernelSnapshot, tags: Tags, instance: number): NftProgram {
  const groups = new Map(snapshot.groups.map((g) => [g.id, new GroupMaps(g, tags.group(g.id))]));
  const parts: ListenerPart[] = [];
  for (const l of snapshot.listeners) {
    const groupMaps = groups.get(l.groupId);
    if (!groupMaps) throw new Error(`listener ${l.id}: server group ${l.groupId} is not in the snapshot`);
    parts.push(buildListenerPart(l, tags.listener(l.id), groupMaps, instance));
  }
  return assemble(instance, parts);
}

function keyedMap(kind: 'map' | 'set', type: string): NftMap {
  return { kind, spec: [type, 'flags interval'], elements: new Map() };
}

/** A `ct timeout` object per (protocol, seconds): listeners with the same idle timeout share it. */
function timeoutObject(l: KernelListener): { name: string; body: string } {
  const s = Math.max(1, Math.round(l.idleTimeoutS));
  const policy = l.protocol === 'tcp' ? `established: ${s}` : `unreplied: ${s}, replied: ${s}`;
  return { name: `to_${l.protocol}_${s}`, body: `protocol ${l.protocol}; l3proto ip; policy = { ${policy} };` };
}

function schedulerExpression(group: KernelGroup, protocol: 'tcp' | 'udp', modulus: number): string {
  switch (group.scheduler) {
    case 'Rr':
      return `numgen inc mod ${modulus}`;
    case 'Sch':
      return `jhash ip saddr mod ${modulus} seed ${SEED}`;
    case 'Tch':
      return `jhash ip saddr . ${protocol} sport . ip daddr . ${protocol} dport mod ${modulus} seed ${SEED}`;
    default:
      // Wrr, Wlc: a counter over intervals of the total weight — weighted round robin, exact
      // over every cycle of W connections like the user-space engine's (random would only be
      // right on average).
      return `numgen inc mod ${modulus}`;
  }
}

/** The group's scheduler map for one target shape; undefined when the group has no backend to send to. */
function groupTargetMap(
  tag: number,
  group: KernelGroup,
  keepPort: boolean,
  protocol: 'tcp' | 'udp',
): { name: string; modulus: number; map: NftMap } | undefined {
  const backends = group.backends.filter((b) => b.weight > 0);
  if (backends.length === 0) return undefined;
  // Ports are typed per protocol (`tcp dport`, not `th dport`): a map nft reads back from the
  // kernel with `th dport` data conflicts with the rule's `meta l4proto tcp` in a later
  // transaction ("conflicting protocols"), so every incremental change failed.
  const shape = keepPort ? 'a' : protocol === 'tcp' ? 'p' : 'q';
  const value = (i: number) => (keepPort ? backends[i].host : `${backends[i].host} . ${backends[i].port}`);
  const dataType = keepPort ? 'ip daddr' : `ip daddr . ${protocol} dport`;
  let kind: string;
  let modulus: number;
  const elements = new Map<string, string>();
  if (group.scheduler === 'Rr') {
    kind = 'r';
    modulus = backends.length;
    for (let i = 0; i < backends.length; i++) elements.set(`${i}`, value(i));
  } else if (group.scheduler === 'Sch' || group.scheduler === 'Tch') {
    // The same table the user-space engine builds, so a flow meets the same backend in both.
    kind = 'm';
    modulus = compactMaglevTableSize(backends.length);
    const table = buildMaglevTable(backends, { size: modulus });
    for (let slot = 0; slot < modulus; slot++) elements.set(`${slot}`, value(table.entries[slot]));
  } else {
    // One cycle of the user-space engine's smooth weighted round robin, indexed by a counter:
    // weights 5:1:1 → a a b a c a a, the same interleaving and the same shares.
    kind = 'w';
    const weights = cycleWeights(backends.map((b) => b.weight));
    const wrr = createScheduler(
      'Wrr',
      weights.map((weight, i) => ({ key: backends[i].key, weight })),
    );
    modulus = weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < modulus; i++) elements.set(`${i}`, value(wrr.pick(NO_FLOW)));
  }
  // `typeof numgen … mod M`, never `typeof jhash …`: nft 1.0.6 crashes listing the latter.
  const map: NftMap = { kind: 'map', spec: [`typeof numgen inc mod ${modulus} : ${dataType}`], elements };
  return { name: `g${tag}_${kind}${modulus}_${shape}`, modulus, map };
}

/** Integer weights with their common divisor taken out, scaled so one cycle stays ≤ MAX_WRR_CYCLE. */
export function cycleWeights(weights: number[]): number[] {
  let ints = weights.map((w) => Math.max(1, Math.round(w)));
  const total = ints.reduce((a, b) => a + b, 0);
  if (total > MAX_WRR_CYCLE) ints = ints.map((w) => Math.max(1, Math.floor((w * MAX_WRR_CYCLE) / total)));
  const divisor = ints.reduce(gcd);
  return ints.map((w) => w / divisor);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Small numbers per id, kept while the id is in use and never handed to another id: a new
 * listener must not inherit a removed one's counters through a reused name.
 */
export class TagBook {
  private readonly byId = new Map<string, number>();
  private next = 1;

  get(id: string): number {
    let tag = this.byId.get(id);
    if (tag === undefined) {
      tag = this.next++;
      this.byId.set(id, tag);
    }
    return tag;
  }

  peek(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** Forgets ids not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const id of this.byId.keys()) if (!keep.has(id)) this.byId.delete(id);
  }
}
