/**
 * The BPF fast path's hands: `bpftool` loads the program and reads / writes its maps, `tc`
 * attaches it (clsact ingress), `ip` says which interface carries a VIP. Everything goes
 * through the kernel engine's CommandRunner, so a test can point it elsewhere.
 *
 * Names. Each engine pins under `/sys/fs/bpf/openslb-gwlb-<pid>-<n>` and attaches with tc
 * preference `TC_PREF` and handle `pid · 256 + n`, so a later start can tell its leftovers
 * (the pid is dead) from another live node's, and remove only those.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { CommandRunner } from '../../kernel/commands.js';
import type { MapName } from './layout.js';

export const BPFFS = '/sys/fs/bpf';
export const PIN_PREFIX = 'openslb-gwlb-';
/** The tc filter preference every OpenSLB GWLB program uses (its handle names the node). */
export const TC_PREF = 49400;

export interface MapEntry {
  key: Uint8Array;
  /** Plain maps. */
  value?: Uint8Array;
  /** Per-CPU maps: one value per CPU. */
  values?: Uint8Array[];
}

function bytes(list: readonly string[]): Uint8Array {
  return Uint8Array.from(list.map((h) => parseInt(h, 16)));
}

/** Parses `bpftool -j map dump` output. */
export function parseMapDump(json: string): MapEntry[] {
  const doc = JSON.parse(json) as Array<{ key: string[]; value?: string[]; values?: Array<{ value: string[] }> }>;
  return doc.map((e) => ({
    key: bytes(e.key),
    value: e.value ? bytes(e.value) : undefined,
    values: e.values ? e.values.map((v) => bytes(v.value)) : undefined,
  }));
}

/** The tc handles of OpenSLB GWLB filters in `tc filter show … pref TC_PREF` output. */
export function parseFilterHandles(text: string): number[] {
  const out = new Set<number>();
  for (const m of text.matchAll(/\bhandle (0x[0-9a-f]+)/gi)) out.add(parseInt(m[1], 16));
  return [...out];
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let instances = 0;

export class BpfTools {
  readonly dir: string;
  readonly handle: number;
  /** Interfaces this engine attached to. */
  private readonly attached = new Set<string>();

  constructor(private readonly runner: CommandRunner) {
    const n = instances++ & 0xff;
    this.dir = `${BPFFS}/${PIN_PREFIX}${process.pid}-${n}`;
    this.handle = ((process.pid << 8) | n) >>> 0;
  }

  mapPath(map: MapName): string {
    return `${this.dir}/maps/${map}`;
  }

  get mapsDir(): string {
    return `${this.dir}/maps`;
  }

  /** Mounts bpffs on /sys/fs/bpf when it is not mounted yet (as tc and bpftool expect). */
  async ensureBpffs(): Promise<void> {
    const mounts = readFileSync('/proc/mounts', 'utf8');
    if (mounts.split('\n').some((l) => l.split(' ')[1] === BPFFS && l.split(' ')[2] === 'bpf')) return;
    await this.runner.run('mount', ['-t', 'bpf', 'bpf', BPFFS]);
  }

  /** Removes the pins and tc filters of engines whose process is gone; returns what it removed. */
  async removeStale(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of existsSync(BPFFS) ? readdirSync(BPFFS) : []) {
      const m = /^openslb-gwlb-(\d+)-\d+$/.exec(name);
      if (!m || pidAlive(Number(m[1]))) continue;
      rmSync(`${BPFFS}/${name}`, { recursive: true, force: true });
      removed.push(`${BPFFS}/${name}`);
    }
    let qdiscs: Array<{ kind: string; dev: string }> = [];
    try {
      qdiscs = JSON.parse(await this.runner.run('tc', ['-j', 'qdisc', 'show'])) as Array<{ kind: string; dev: string }>;
    } catch {
      return removed;
    }
    for (const dev of new Set(qdiscs.filter((q) => q.kind === 'clsact').map((q) => q.dev))) {
      const text = await this.runner.run('tc', ['filter', 'show', 'dev', dev, 'ingress', 'pref', String(TC_PREF)]).catch(() => '');
      for (const handle of parseFilterHandles(text)) {
        if (pidAlive(handle >>> 8)) continue;
        await this.detachHandle(dev, handle).catch(() => undefined);
        removed.push(`tc filter ${dev} ingress handle 0x${handle.toString(16)}`);
      }
    }
    return removed;
  }

  /** Loads the object and pins the program and its maps under this engine's directory. */
  async load(objectPath: string): Promise<void> {
    await this.runner.run('mkdir', ['-p', this.dir]);
    await this.runner.run('bpftool', ['prog', 'load', objectPath, `${this.dir}/prog`, 'type', 'classifier', 'pinmaps', this.mapsDir]);
  }

  /** The interface a packet for `address` arrives on (the route's device; `lo` for 127/8). */
  async deviceFor(address: string): Promise<string> {
    const routes = JSON.parse(await this.runner.run('ip', ['-j', 'route', 'get', address])) as Array<{ dev?: string }>;
    const dev = routes[0]?.dev;
    if (!dev) throw new Error(`no route says which interface carries ${address}`);
    return dev;
  }

  async attach(dev: string): Promise<void> {
    if (this.attached.has(dev)) return;
    await this.runner.run('tc', ['qdisc', 'add', 'dev', dev, 'clsact']).catch((err: Error) => {
      // Already there (another node's, or ours from before): newer tc says "Exclusivity flag on".
      if (!/exists|Exclusivity flag/i.test(err.message)) throw err;
    });
    await this.runner.run('tc', [
      'filter',
      'add',
      'dev',
      dev,
      'ingress',
      'pref',
      String(TC_PREF),
      'handle',
      `0x${this.handle.toString(16)}`,
      'bpf',
      'object-pinned',
      `${this.dir}/prog`,
      'direct-action',
    ]);
    this.attached.add(dev);
  }

  async detach(dev: string): Promise<void> {
    if (!this.attached.delete(dev)) return;
    await this.detachHandle(dev, this.handle);
  }

  private detachHandle(dev: string, handle: number): Promise<string> {
    return this.runner.run('tc', [
      'filter',
      'del',
      'dev',
      dev,
      'ingress',
      'pref',
      String(TC_PREF),
      'handle',
      `0x${handle.toString(16)}`,
      'bpf',
    ]);
  }

  attachedDevices(): string[] {
    return [...this.attached];
  }

  /** Runs map commands in one bpftool process. */
  async batch(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    await this.runner.run('bpftool', ['batch', 'file', '-'], lines.join('\n') + '\n');
  }

  async dump(map: MapName): Promise<MapEntry[]> {
    return parseMapDump(await this.runner.run('bpftool', ['-j', 'map', 'dump', 'pinned', this.mapPath(map)]));
  }

  /** Detaches everywhere and removes the pins (the maps and program go with their last user). */
  async removeAll(): Promise<void> {
    for (const dev of [...this.attached]) await this.detach(dev).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
