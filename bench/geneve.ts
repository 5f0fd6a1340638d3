/**
 * The GWLB GENEVE benchmark section (BENCH_ONLY=geneve): round trips endpoint → balancer →
 * appliance → balancer → endpoint over 256 inner flows, inner packets of 128 and 1400 bytes,
 * the offered rate stepped up until more than 1 % is lost. Paths:
 *
 *   direct            endpoint ↔ appliance, no balancer
 *   nginx             nginx's stream module as a UDP relay to one appliance (no stickiness,
 *                     no option rewrite)
 *   openslb-bpf       OpenSLB's GWLB, dataplane.gwlbEngine bpf (tc-BPF fast path)
 *   openslb-userspace OpenSLB's GWLB, dataplane.gwlbEngine userspace (Node sockets); only
 *                     when BENCH_GENEVE_PATHS names it: it runs inside this process, next to
 *                     the bench's own work, so it understates the user-space forwarder
 *
 * Load and appliances are a small C program (lib/geneve-load.c, sendmmsg / recvmmsg) so the
 * generator costs far less than what it measures. OpenSLB runs in this process (test
 * server), with two appliances behind a 5TCH server group; after each run the appliances'
 * flow lists say whether any flow reached both (stickiness), and /metrics says how many
 * packets the balancer itself dropped, next to how many were lost.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../test/support/server.js';
import { addServers, appliances, createListener, createLoadBalancer, createServerGroup, gwlb } from '../test/products/gwlb/support.js';
import { scrape } from '../test/dataplane/gwlb/traffic.js';
import { gwlbReconcilerOf } from '../src/server/dataplane.js';
import { table } from './lib/markdown.js';
import { sleep, startProcess, stopProcess } from './lib/processes.js';

const APPLIANCES = ['127.0.96.1', '127.0.96.2'];
const ENDPOINT = '127.0.96.50';
const NGINX_VIP = '127.0.96.10';
const FLOWS = 256;
const SIZES = [128, 1400];

interface Step {
  pps: number;
  sent: number;
  received: number;
  p50: number;
  p99: number;
  /** Flows that reached both appliances. */
  split: number;
  /** Packets the balancer counted as dropped during the run. */
  balancerDrops: number;
}

interface PathResult {
  name: string;
  bySize: Map<number, Step[]>;
}

export interface GeneveOptions {
  runDir: string;
  log: (line: string) => void;
  /** Seconds per step (BENCH_GENEVE_SECONDS, default 2). */
  seconds?: number;
  /** Offered rates tried, in order, until loss > 1 % (BENCH_GENEVE_RATES, comma-separated). */
  rates?: number[];
  /** Which paths (BENCH_GENEVE_PATHS). */
  paths?: string[];
}

const loss = (s: Step) => (s.sent === 0 ? 1 : Math.max(0, s.sent - s.received) / s.sent);

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited with ${code}`))));
  });
}

function compile(runDir: string): string {
  const out = join(runDir, 'geneve-load');
  execFileSync('gcc', ['-O2', '-pthread', '-o', out, 'bench/lib/geneve-load.c']);
  return out;
}

async function runStep(
  tool: string,
  runDir: string,
  target: string,
  size: number,
  pps: number,
  seconds: number,
  drops?: () => Promise<number>,
): Promise<Step> {
  const lists = APPLIANCES.map((a, i) => join(runDir, `flows-${a}-${i}.txt`));
  const reflectors = APPLIANCES.map((a, i) =>
    startProcess(`reflector-${a}`, tool, ['reflect', a, String(seconds + 30), lists[i]], join(runDir, `reflector-${a}.log`)),
  );
  await sleep(200);
  const before = drops ? await drops() : 0;
  // Asynchronous: the user-space forwarder runs in this process and must keep its event loop.
  const out = await run(tool, ['load', ENDPOINT, target, '6081', String(FLOWS), String(size), String(pps), String(seconds)]);
  const after = drops ? await drops() : 0;
  for (const r of reflectors) await stopProcess(r);
  const r = JSON.parse(out.trim()) as { sent: number; received: number; p50_us: number; p99_us: number };
  const seen = lists.map((f) => {
    try {
      return new Set(
        readFileSync(f, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ')[0]),
      );
    } catch {
      return new Set<string>();
    }
  });
  const split = [...seen[0]].filter((f) => seen[1].has(f)).length;
  return { pps, sent: r.sent, received: r.received, p50: r.p50_us, p99: r.p99_us, split, balancerDrops: after - before };
}

async function openslb(
  engine: 'bpf' | 'userspace',
  vipNet: number,
): Promise<{ server: TestServer; vip: string; drops: () => Promise<number> }> {
  const server = await startTestServer({
    configure: (c) => {
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = `127.0.${vipNet}.0/24`;
      b.vipPool = `127.0.${vipNet + 1}.0/24`;
      c.dataplane.gwlbEngine = engine;
    },
  });
  const lb = await createLoadBalancer(server);
  const sg = await createServerGroup(server, { Scheduler: '5TCH', HealthCheckConfig: { HealthCheckEnabled: false } });
  await addServers(server, sg, appliances(...APPLIANCES));
  const listenerId = await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg });
  const actual = gwlbReconcilerOf(server.running.node!)?.engine;
  if (actual !== engine) throw new Error(`OpenSLB forwards GWLB with ${actual}, not ${engine}`);
  const attrs = await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: lb });
  const vip = attrs.ZoneMappings[0].LoadBalancerAddresses[0].PrivateIpv4Address as string;
  const drops = async () =>
    (await scrape(server.running.adminUrl))
      .filter((m) => m.name === 'openslb_gwlb_dropped_packets_total' && m.labels.listener === listenerId)
      .reduce((s, m) => s + m.value, 0);
  return { server, vip, drops };
}

function startNginxUdpRelay(runDir: string): ReturnType<typeof startProcess> {
  const dir = join(runDir, 'nginx-geneve');
  mkdirSync(dir, { recursive: true });
  const conf = [
    'load_module /usr/lib/nginx/modules/ngx_stream_module.so;',
    'worker_processes 2;',
    'daemon off;',
    'error_log error.log warn;',
    'pid nginx.pid;',
    'events { worker_connections 8192; use epoll; }',
    'stream {',
    `  server { listen ${NGINX_VIP}:6081 udp reuseport; proxy_pass ${APPLIANCES[0]}:6081; proxy_responses 1; proxy_timeout 10s; }`,
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  return startProcess(
    'nginx-geneve',
    'nginx',
    ['-p', `${dir}/`, '-e', join(dir, 'startup.log'), '-c', join(dir, 'nginx.conf')],
    join(runDir, 'nginx-geneve.log'),
  );
}

/** Runs the section; returns its Markdown. */
export async function geneveBench(opts: GeneveOptions): Promise<string> {
  const env = process.env;
  const list = (v: string | undefined) =>
    v
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  const seconds = opts.seconds ?? Number(env.BENCH_GENEVE_SECONDS ?? 2);
  const rates = opts.rates ?? list(env.BENCH_GENEVE_RATES)?.map(Number) ?? [10_000, 25_000, 50_000, 100_000, 150_000, 200_000];
  const wanted = opts.paths ?? list(env.BENCH_GENEVE_PATHS) ?? ['direct', 'nginx', 'openslb-bpf'];
  const tool = compile(opts.runDir);
  const results: PathResult[] = [];
  for (const name of wanted) {
    let target = APPLIANCES[0];
    let stop = async () => undefined as unknown;
    let drops: (() => Promise<number>) | undefined;
    if (name === 'nginx') {
      const nginx = startNginxUdpRelay(opts.runDir);
      await sleep(500);
      target = NGINX_VIP;
      stop = () => stopProcess(nginx);
    } else if (name.startsWith('openslb-')) {
      const slb = await openslb(name === 'openslb-bpf' ? 'bpf' : 'userspace', name === 'openslb-bpf' ? 97 : 99);
      target = slb.vip;
      drops = slb.drops;
      stop = () => slb.server.stop();
    }
    const bySize = new Map<number, Step[]>();
    try {
      for (const size of SIZES) {
        const steps: Step[] = [];
        for (const pps of rates) {
          const s = await runStep(tool, opts.runDir, target, size, pps, seconds, drops);
          steps.push(s);
          opts.log(
            `geneve ${name} ${size} B @ ${pps}/s: sent ${s.sent}, back ${s.received} (loss ${(loss(s) * 100).toFixed(2)} %), p50 ${s.p50} µs, split flows ${s.split}, balancer drops ${s.balancerDrops}`,
          );
          if (loss(s) > 0.01) break;
        }
        bySize.set(size, steps);
      }
    } finally {
      await stop();
    }
    results.push({ name, bySize });
  }
  return render(results, seconds);
}

/** a ÷ b, or why there is none (b missing, or b lost > 1 % already at the lowest rate). */
function ratioOf(a: number, b: number | undefined): string {
  if (b === undefined) return '—';
  return b > 0 ? (a / b).toFixed(2) : 'n/a (no lossless step)';
}

function render(results: PathResult[], seconds: number): string {
  const direct = results.find((r) => r.name === 'direct');
  const nginx = results.find((r) => r.name === 'nginx');
  const best = (r: PathResult | undefined, size: number) => {
    const ok = (r?.bySize.get(size) ?? []).filter((s) => loss(s) <= 0.01);
    return ok.length === 0 ? 0 : Math.max(...ok.map((s) => s.received / seconds));
  };
  const at = (r: PathResult | undefined, size: number, pps: number) => r?.bySize.get(size)?.find((s) => s.pps === pps);
  const rows: string[][] = [];
  for (const r of results) {
    for (const size of SIZES) {
      const top = best(r, size);
      const s50k = at(r, size, 50_000);
      // Latency at 10k/s (the first step when 10k/s was not tried): light load, past warm-up.
      const light = (p: PathResult | undefined) => at(p, size, 10_000) ?? p?.bySize.get(size)?.[0];
      const low = light(r);
      const lowDirect = light(direct);
      const steps = r.bySize.get(size) ?? [];
      rows.push([
        r.name,
        `${size} B`,
        Math.round(top).toLocaleString('en-US'),
        ratioOf(top, r !== direct ? best(direct, size) : undefined),
        ratioOf(top, r !== nginx ? best(nginx, size) : undefined),
        s50k ? `${(loss(s50k) * 100).toFixed(2)} %` : 'not reached',
        low ? `${low.p50}` : '—',
        low && lowDirect && r !== direct ? `${low.p50 - lowDirect.p50}` : '—',
        r.name.startsWith('openslb') ? `${steps.reduce((n, s) => n + s.split, 0)}` : '—',
        r.name.startsWith('openslb') ? steps.map((s) => `${s.balancerDrops}/${Math.max(0, s.sent - s.received)}`).join(', ') : '—',
      ]);
    }
  }
  return [
    '## GWLB GENEVE round trips',
    '',
    `Endpoint → balancer → appliance → balancer → endpoint, ${FLOWS} inner UDP flows, ${seconds} s per step; offered rate stepped (${[...new Set(results.flatMap((r) => [...r.bySize.values()].flatMap((s) => s.map((x) => x.pps))))].join(', ')} /s) until loss > 1 %. Highest rate = datagrams back per second at the best step with ≤ 1 % loss. p50 at 10k/s (else the first step); added p50 = its p50 − direct's. Split flows: flows that reached both appliances (must be 0). Drops: balancer-counted drops / packets lost, per step.`,
    '',
    table(
      [
        'path',
        'inner',
        'highest rate /s',
        '÷ direct',
        '÷ nginx',
        'loss at 50k/s',
        'p50 µs',
        'added p50 µs',
        'split flows',
        'drops / lost per step',
      ],
      rows,
    ),
    '',
  ].join('\n');
}
