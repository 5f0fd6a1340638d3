/**
 * The kernel engine: one nftables table per data-plane node, brought in line with each snapshot
 * by one atomic `nft -f -` transaction, plus conntrack for live flows. Packets never reach Node:
 * the kernel DNATs them (and SNATs for full NAT), conntrack keeps every flow on its backend.
 *
 * The table outlives the process on purpose: after a crash or `kill -9` the kernel keeps
 * forwarding with the last applied state, and the next process replaces the table (its own, or
 * a dead node's) in the same transaction that installs its own. A clean `close()` removes it.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { CommandRunner } from './commands.js';
import { deleteFlows, forgetFlows, isActive, listFlows, type TrackedFlow } from './conntrack.js';
import { IncrementalProgram } from './incremental.js';
import { EVENT, INSTANCE_MARK_SHIFT, listenerMark, MARK_SETS, TagBook, TRAFFIC_SETS, tcpHeaderBytes, UDP_HEADER_BYTES } from './program.js';
import { TrafficByMark } from './traffic.js';
import { renderDelta, renderFull } from './render.js';
import type { KernelSnapshot } from './snapshot.js';

const TABLE_PREFIX = 'openslb_';
/** Longest table comment nft accepts. */
const MAX_COMMENT = 128;

/** The table a node owns: derived from its id only, so a node that keeps its id keeps its table. */
export function tableNameFor(nodeId: string): string {
  return TABLE_PREFIX + createHash('sha1').update(nodeId).digest('hex').slice(0, 16);
}

/** The 12 instance bits of the node's ct marks (from the same hash as the table name). */
export function instanceFor(nodeId: string): number {
  return parseInt(createHash('sha1').update(nodeId).digest('hex').slice(0, 3), 16);
}

/** Why the kernel engine can or cannot run here (`nft` present, and allowed to change tables). */
export async function probeNftables(runner: CommandRunner): Promise<{ usable: boolean; reason: string }> {
  const probe = `${TABLE_PREFIX}probe_${process.pid}`;
  try {
    // -c: the kernel checks the transaction (needs CAP_NET_ADMIN and nf_tables) without committing it.
    await runner.run('nft', ['-c', '-f', '-'], `add table ip ${probe}\nadd chain ip ${probe} c { type nat hook output priority -100; }\n`);
    await runner.run('conntrack', ['--version']);
    return { usable: true, reason: `nft and conntrack work in ${runner.where}` };
  } catch (err) {
    return { usable: false, reason: (err as Error).message.split('\n')[0] };
  }
}

export interface KernelCounters {
  newConnections: number;
  droppedCps: number;
  droppedNoBackend: number;
  /** Refused by a drop-connections fault rule. */
  droppedFault: number;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
}

export interface KernelFlowCounts {
  /** Open flows per listener id. */
  byListener: Map<string, number>;
  /** Open flows per listener id and backend `host:port`. */
  byBackend: Map<string, Map<string, number>>;
}

export interface KernelEngineOptions {
  nodeId: string;
  runner: CommandRunner;
  log?: Logger;
}

interface Owner {
  nodeId: string;
  host: string;
  pid: number;
  /** Instances whose flows the owner took over from dead nodes (see `adopted`). */
  adopts: number[];
}

export class KernelEngine {
  readonly table: string;
  private readonly instance: number;
  private readonly listenerTags = new TagBook();
  private readonly groupTags = new TagBook();
  /** What the kernel holds, per listener; meaningful while `live`. */
  private readonly program: IncrementalProgram;
  /** The table is installed (false: unknown, the next apply replaces the whole table). */
  private live = false;
  private snapshot: KernelSnapshot = { listeners: [], groups: [] };
  /** Applies run one at a time: each is computed against what the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private keepTable = false;
  /**
   * Instances of dead nodes whose tables this node replaced: their flows go on through conntrack
   * under their own marks, so this node forgets them too when it stops. Carried in the table's
   * comment, so a node that takes over after this one inherits the list.
   */
  private adopted = new Set<number>();

  constructor(private readonly opts: KernelEngineOptions) {
    this.table = tableNameFor(opts.nodeId);
    this.instance = instanceFor(opts.nodeId);
    this.program = new IncrementalProgram(this.instance);
  }

  get runner(): CommandRunner {
    return this.opts.runner;
  }

  /** The last snapshot applied successfully. */
  get current(): KernelSnapshot {
    return this.snapshot;
  }

  /** Brings the kernel in line with `snapshot`; rejects with nft's message, leaving the kernel as it was. */
  apply(snapshot: KernelSnapshot): Promise<void> {
    const run = this.queue.then(() => this.applyNow(snapshot));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(snapshot: KernelSnapshot): Promise<void> {
    if (this.closed) throw new Error('the kernel engine is closed');
    const tags = { listener: (id: string) => this.listenerTags.get(id), group: (id: string) => this.groupTags.get(id) };
    const started = performance.now();
    const change = this.program.change(snapshot, tags);
    if (!this.live) {
      const { stale, ownExists, adopted } = await this.existingTables();
      // Without its table, flows under this node's mark are leftovers of an earlier life that
      // did not end cleanly; with it (a restart after kill -9) they are live and are kept.
      if (ownExists === false) await this.forgetFlowsOf([this.instance]);
      this.adopted = new Set([...adopted].filter((i) => i !== this.instance));
      await this.nft(renderFull({ name: this.table }, this.comment(), change.full(), stale));
      if (stale.length > 0) this.opts.log?.info({ tables: stale }, 'kernel engine: removed the tables of data-plane nodes that are gone');
      await this.strictConntrack();
    } else {
      const text = renderDelta({ name: this.table }, change.before, change.after);
      try {
        if (text !== '') await this.nft(text);
      } catch (err) {
        // The table may have been changed behind our back: replace it whole once before giving up.
        this.opts.log?.warn({ err: (err as Error).message }, 'kernel engine: incremental update failed; replacing the table');
        await this.nft(renderFull({ name: this.table }, this.comment(), change.full()));
      }
    }
    change.commit();
    this.live = true;
    if (change.touched.length > 0) {
      this.opts.log?.debug(
        { listeners: change.touched.length, ms: Math.round(performance.now() - started) },
        'kernel engine: table updated',
      );
    }
    this.snapshot = snapshot;
    this.listenerTags.retain(new Set(snapshot.listeners.map((l) => l.id)));
    this.groupTags.retain(new Set(snapshot.groups.map((g) => g.id)));
  }

  private async nft(text: string): Promise<void> {
    await this.opts.runner.run('nft', ['-f', '-'], text);
  }

  private comment(): string {
    const base = `openslb node=${this.opts.nodeId} host=${hostname()} pid=${process.pid}`;
    const adopts = [...this.adopted].map((i) => i.toString(16));
    // nft keeps at most 128 characters; the owner comes first, the adopted instances as fit.
    while (adopts.length > 0 && base.length + ' adopts='.length + adopts.join(',').length > MAX_COMMENT) adopts.pop();
    return adopts.length > 0 ? `${base} adopts=${adopts.join(',')}` : base;
  }

  /**
   * Whether this node's table exists; OpenSLB tables on this host whose process is gone (another
   * node's live table is left alone; tables from other hosts sharing the namespace are never
   * touched); and the instances whose flows replacing them adopts.
   */
  private async existingTables(): Promise<{ stale: string[]; ownExists: boolean | undefined; adopted: Set<number> }> {
    const text = await this.opts.runner.run('nft', ['-j', 'list', 'tables', 'ip']).catch(() => undefined);
    // Unknown: adopt nothing, remove nothing, and keep every flow.
    if (text === undefined) return { stale: [], ownExists: undefined, adopted: new Set() };
    const stale: string[] = [];
    const adopted = new Set<number>();
    let ownExists = false;
    for (const entry of (JSON.parse(text) as { nftables: Array<{ table?: { name: string } }> }).nftables) {
      const t = entry.table;
      if (!t || !t.name.startsWith(TABLE_PREFIX)) continue;
      // nft 1.0.6 leaves comments out of JSON; the terse text listing (no set elements) has it.
      const listing = await this.opts.runner.run('nft', ['-t', 'list', 'table', 'ip', t.name]).catch(() => '');
      const owner = parseOwner(/comment "([^"]*)"/.exec(listing)?.[1]);
      if (t.name === this.table) {
        ownExists = true;
        for (const i of owner?.adopts ?? []) adopted.add(i);
      } else if (owner && owner.host === hostname() && !processAlive(owner.pid)) {
        stale.push(t.name);
        adopted.add(instanceFor(owner.nodeId));
        for (const i of owner.adopts) adopted.add(i);
      }
    }
    return { stale, ownExists, adopted };
  }

  /**
   * Conntrack forgets this node's flows. Needed whenever the table goes: the table is often the
   * only user of conntrack in its namespace, and without a user the kernel stops tracking. Flows
   * it never sees close stay ESTABLISHED (for days once their timeout object is gone) and keep
   * their NAT binding, so a later connection that happens to reuse a client port is sent to the
   * old backend and refused.
   */
  private async forgetFlowsOf(instances: Iterable<number>): Promise<void> {
    const mask = 0xfff << INSTANCE_MARK_SHIFT;
    for (const instance of instances) {
      await forgetFlows(this.opts.runner, instance << INSTANCE_MARK_SHIFT, mask).catch((err) => {
        this.opts.log?.warn({ err: (err as Error).message }, 'kernel engine: could not remove its flows from conntrack');
      });
    }
  }

  /**
   * nf_conntrack_tcp_loose=0: a packet of a flow conntrack has forgotten (idle timeout, drained)
   * is invalid instead of a new flow, so it is reset rather than re-balanced mid-stream.
   */
  private async strictConntrack(): Promise<void> {
    try {
      await this.opts.runner.run('sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_tcp_loose=0']);
    } catch (err) {
      this.opts.log?.warn(
        { err: (err as Error).message },
        'kernel engine: could not set nf_conntrack_tcp_loose=0; expired TCP flows may be re-balanced instead of reset',
      );
    }
  }

  /** Counters per listener id, read from the table. */
  async counters(): Promise<Map<string, KernelCounters>> {
    const out = new Map<string, KernelCounters>();
    if (!this.live) return out;
    const listings = await Promise.all(MARK_SETS.map((set) => this.opts.runner.run('nft', ['-j', 'list', 'set', 'ip', this.table, set])));
    const sets = new TrafficByMark();
    for (let i = 0; i < MARK_SETS.length; i++) {
      const set = MARK_SETS[i];
      sets.add(
        listings[i],
        set === TRAFFIC_SETS.tcp ? (key) => tcpHeaderBytes(Number(key[2])) : set === TRAFFIC_SETS.udp ? () => UDP_HEADER_BYTES : () => 0,
      );
    }
    const liveTags = new Set<number>();
    for (const l of this.snapshot.listeners) {
      const tag = this.listenerTags.peek(l.id);
      if (tag === undefined) continue;
      liveTags.add(tag);
      const mark = listenerMark(this.instance, tag);
      const events = (kind: number) => sets.get(mark, kind).packets;
      const inbound = sets.get(mark, 'original');
      const outbound = sets.get(mark, 'reply');
      out.set(l.id, {
        newConnections: events(EVENT.created),
        droppedCps: events(EVENT.cps),
        droppedNoBackend: events(EVENT.noBackend),
        droppedFault: events(EVENT.fault),
        packetsIn: inbound.packets,
        bytesIn: inbound.bytes,
        packetsOut: outbound.packets,
        bytesOut: outbound.bytes,
      });
    }
    await this.forgetTraffic(sets.elementsNotOf(this.instance, liveTags));
    return out;
  }

  /**
   * Traffic elements of listeners that are gone (their draining flows created them): removed so
   * the sets do not grow with listener churn. Best effort; the next reading tries again.
   */
  private async forgetTraffic(stale: Array<{ set: string; key: string }>): Promise<void> {
    if (stale.length === 0) return;
    const lines = stale.map((e) => `delete element ip ${this.table} ${e.set} { ${e.key} }`);
    await this.opts.runner.run('nft', ['-f', '-'], lines.join('\n') + '\n').catch(() => undefined);
  }

  /** Open flows per listener and per backend, from conntrack. */
  async flowCounts(): Promise<KernelFlowCounts> {
    const byListener = new Map<string, number>();
    const byBackend = new Map<string, Map<string, number>>();
    if (!this.live) return { byListener, byBackend };
    const flows = await listFlows(this.opts.runner, this.instance << INSTANCE_MARK_SHIFT, 0xfff << INSTANCE_MARK_SHIFT);
    const idByTag = new Map<number, string>();
    for (const l of this.snapshot.listeners) {
      const tag = this.listenerTags.peek(l.id);
      if (tag !== undefined) idByTag.set(tag, l.id);
    }
    for (const f of flows) {
      if (!isActive(f)) continue;
      const id = idByTag.get(f.mark & ((1 << INSTANCE_MARK_SHIFT) - 1));
      if (!id) continue;
      byListener.set(id, (byListener.get(id) ?? 0) + 1);
      let perBackend = byBackend.get(id);
      if (!perBackend) byBackend.set(id, (perBackend = new Map()));
      const key = backendKey(f);
      perBackend.set(key, (perBackend.get(key) ?? 0) + 1);
    }
    return { byListener, byBackend };
  }

  /**
   * How to find a listener's flows later (after it has left the table, too): its ct mark and
   * protocol; undefined when the listener is not in the table.
   */
  flowsOf(listenerId: string): { mark: number; protocol: 'tcp' | 'udp' } | undefined {
    const listener = this.snapshot.listeners.find((l) => l.id === listenerId);
    const tag = this.listenerTags.peek(listenerId);
    if (!listener || tag === undefined) return undefined;
    return { mark: listenerMark(this.instance, tag), protocol: listener.protocol };
  }

  /** Cuts established flows (of one backend, when given): the end of draining. */
  async cutFlows(flows: { mark: number; protocol: 'tcp' | 'udp' }, backend?: { host: string; port: number | undefined }): Promise<void> {
    await deleteFlows(this.opts.runner, flows.mark, flows.protocol, backend);
  }

  /**
   * The process is going away without an operator asking (its supervisor died): leave the table
   * forwarding, for the next process to take over, instead of removing it on close.
   */
  leaveTableOnClose(): void {
    this.keepTable = true;
  }

  /** Removes the table: forwarding through this node stops (a clean shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    if (!this.live || this.keepTable) return;
    this.live = false;
    this.program.reset();
    await this.opts.runner.run('nft', ['delete', 'table', 'ip', this.table]).catch((err) => {
      this.opts.log?.warn({ err: (err as Error).message, table: this.table }, 'kernel engine: could not remove its table');
    });
    // After the table: a connection opened in between is not tracked under this node's mark.
    await this.forgetFlowsOf([this.instance, ...this.adopted]);
  }
}

function backendKey(f: TrackedFlow): string {
  return `${f.backendHost}:${f.backendPort}`;
}

function parseOwner(comment: string | undefined): Owner | undefined {
  if (!comment) return undefined;
  const node = /node=(\S+)/.exec(comment)?.[1];
  const host = /host=(\S+)/.exec(comment)?.[1];
  const pid = Number(/pid=(\d+)/.exec(comment)?.[1]);
  if (!node || !host || !Number.isInteger(pid) || pid <= 0) return undefined;
  const adopts = (/adopts=(\S+)/.exec(comment)?.[1] ?? '')
    .split(',')
    .filter((x) => /^[0-9a-f]{1,3}$/.test(x))
    .map((x) => parseInt(x, 16));
  return { nodeId: node, host, pid, adopts };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
