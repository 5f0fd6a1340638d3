/**
 * Turns the measurements into the results page: data-plane table with ratios to HAProxy and
 * nginx, control-plane table, the targets with a verdict each, and the machine facts.
 */
import type { DataPath, Sample, Samples, TestName } from './data-plane.js';
import type { RateResult } from './lib/call-rate.js';
import type { FillResult, FirstConnectionSample, JobSample } from './lib/control-plane.js';
import type { ProfileSummary } from './lib/cpu-profile.js';
import { fmt, fmtRatio, median, percentile, ratio, table, verdict } from './lib/markdown.js';

export interface ControlResults {
  reads: Array<{ action: string; slb: RateResult; bare: RateResult }>;
  create: { slb: RateResult; bare: RateResult };
  firstConnection: Array<{ listeners: number; samples: FirstConnectionSample[] }>;
  jobs: Array<{ listeners: number; samples: JobSample[] }>;
  fill?: FillResult & { method: string };
}

export interface ReportInput {
  title: string;
  facts: Array<[string, string]>;
  params: string;
  paths: DataPath[];
  /** Names of the OpenSLB paths, first = the default configuration. */
  openslb: string[];
  samples: Samples;
  control?: ControlResults;
  profiles?: Array<{ title: string; summary: ProfileSummary; note: string }>;
  notes: string[];
  reproduce: string[];
}

type Stat = (s: Sample[]) => number;
const med =
  (pick: (s: Sample) => number | undefined): Stat =>
  (s) =>
    median(s.map((x) => pick(x) ?? NaN));

function stat(samples: Samples, path: string, test: TestName, f: Stat): number {
  const s = samples.get(path)?.get(test);
  return s && s.length > 0 ? f(s) : NaN;
}

interface Row {
  label: string;
  test: TestName;
  f: Stat;
  digits: number;
  /** Subtract direct's value (added latency). */
  added?: boolean;
  base: 'haproxy' | 'nginx';
  target?: { min?: number; max?: number; text: string };
  /** Also judge an absolute bound on OpenSLB's own value. */
  absMax?: number;
}

export function renderReport(r: ReportInput): string {
  const out: string[] = [`# ${r.title}`, ''];
  out.push(
    '## Machine and run',
    '',
    table(
      ['fact', 'value'],
      r.facts.map(([k, v]) => [k, v]),
    ),
    '',
    r.params,
    '',
  );
  for (const note of r.notes) out.push(`- ${note}`);
  if (r.notes.length) out.push('');

  out.push(...dataPlaneSection(r));
  if (r.control) out.push(...controlSection(r.control));
  for (const p of r.profiles ?? []) out.push(...profileSection(p));
  out.push('## Reproduce', '', '```sh', ...r.reproduce, '```', '');
  return out.join('\n');
}

const value = med((s) => s.value);
const p50 = med((s) => s.p50Us);
const p99 = med((s) => s.p99Us);
const loss = med((s) => s.lossPct);

function dataPlaneSection(r: ReportInput): string[] {
  const { samples, openslb } = r;
  const rows: Row[] = [
    {
      label: 'TCP throughput, 1 stream (Gbit/s)',
      test: 'tcp1',
      f: value,
      digits: 2,
      base: 'haproxy',
      target: { min: 2.0, text: '≥ 2.0× HAProxy' },
    },
    {
      label: 'TCP throughput, 4 streams (Gbit/s)',
      test: 'tcp4',
      f: value,
      digits: 2,
      base: 'haproxy',
      target: { min: 0.9, text: '≥ 0.9× HAProxy' },
    },
    {
      label: 'new connections/s (wrk -c32, Connection: close)',
      test: 'cps',
      f: value,
      digits: 0,
      base: 'haproxy',
      target: { min: 1.5, text: '≥ 1.5× HAProxy' },
    },
    {
      label: 'keepalive requests/s (wrk -c64)',
      test: 'rps64',
      f: value,
      digits: 0,
      base: 'haproxy',
      target: { min: 0.9, text: '≥ 0.9× HAProxy' },
    },
    {
      label: 'added p50 latency, 1 request in flight (µs)',
      test: 'lat1',
      f: p50,
      digits: 0,
      added: true,
      base: 'haproxy',
      absMax: 20.001,
      target: { text: '≤ 20 µs' },
    },
    {
      label: 'added p99 latency, 1 request in flight (µs)',
      test: 'lat1',
      f: p99,
      digits: 0,
      added: true,
      base: 'haproxy',
      target: { max: 2.0, text: '≤ 2× HAProxy' },
    },
    {
      label: 'UDP 64 B relayed datagrams/s (client at max)',
      test: 'udp64-max',
      f: value,
      digits: 0,
      base: 'nginx',
      target: { min: 1.8, text: '≥ 1.8× nginx' },
    },
    { label: 'UDP 64 B loss % (client at max)', test: 'udp64-max', f: loss, digits: 1, base: 'nginx' },
    {
      label: `UDP 64 B loss % at a fixed rate`,
      test: 'udp64-rate',
      f: loss,
      digits: 2,
      base: 'nginx',
      absMax: 0.1,
      target: { text: '< 0.1 %' },
    },
    { label: 'UDP 1400 B relayed datagrams/s (client at max)', test: 'udp1400-max', f: value, digits: 0, base: 'nginx' },
    { label: 'UDP 1400 B loss % at a fixed rate', test: 'udp1400-rate', f: loss, digits: 2, base: 'nginx' },
  ];
  const headers = ['metric', ...r.paths.map((p) => p.name), ...openslb.flatMap((o) => [`${o} ÷ HAProxy`, `${o} ÷ nginx`]), 'target', 'met'];
  const body = rows.map((row) => {
    const direct = row.added ? stat(samples, 'direct', row.test, row.f) : 0;
    const v = (name: string) => {
      const x = stat(samples, name, row.test, row.f);
      return row.added ? x - direct : x;
    };
    const cells = r.paths.map((p) =>
      row.added && p.name === 'direct' ? `(${fmt(v('direct') + direct)} total)` : fmt(v(p.name), row.digits),
    );
    const ratios = openslb.flatMap((o) => [fmtRatio(ratio(v(o), v('haproxy'))), fmtRatio(ratio(v(o), v('nginx')))]);
    let met: boolean | undefined;
    const main = openslb[0];
    if (row.absMax !== undefined) met = Number.isFinite(v(main)) ? v(main) < row.absMax : undefined;
    else if (row.target) {
      const q = ratio(v(main), v(row.base));
      met = Number.isFinite(q) ? (row.target.min !== undefined ? q >= row.target.min : q <= row.target.max!) : undefined;
    }
    return [row.label, ...cells, ...ratios, row.target?.text ?? '', row.target ? verdict(met) : ''];
  });

  const cpuRows: Array<[string, TestName, (cores: number, s: number) => number, number]> = [
    ['proxy CPU µs per new connection', 'cps', (cores, rate) => (cores * 1e6) / rate, 0],
    ['proxy CPU µs per keepalive request', 'rps64', (cores, rate) => (cores * 1e6) / rate, 1],
    ['proxy CPU cores per Gbit/s (4 streams)', 'tcp4', (cores, gbps) => cores / gbps, 3],
    ['proxy CPU cores, UDP 64 B at max', 'udp64-max', (cores) => cores, 2],
  ];
  const cpuBody = cpuRows.map(([label, test, f, digits]) => [
    label,
    ...r.paths.map((p) => {
      if (p.pid === undefined) return '–';
      const list = samples.get(p.name)?.get(test) ?? [];
      return fmt(median(list.map((s) => (s.cpuCores === undefined ? NaN : f(s.cpuCores, s.value)))), digits);
    }),
  ]);
  const errors = [...samples.entries()].flatMap(([name, byTest]) =>
    [...byTest.entries()].flatMap(([test, list]) => {
      const n = list.reduce((a, s) => a + (s.errors ?? 0), 0);
      return n > 0 ? [`${name} ${test}: ${n}`] : [];
    }),
  );
  return [
    '## Data plane (median over rounds; ratios > 1× mean OpenSLB is higher)',
    '',
    "HAProxy is `mode tcp`, two threads, no splice (its default). nginx is the stream module, two workers, `reuseport`. HAProxy 2.6 has no generic UDP, so UDP compares with nginx only. Latency rows: p50/p99 minus direct's (lower is better; the ratio is OpenSLB's added latency over HAProxy's).",
    '',
    table(headers, body),
    '',
    table(['proxy CPU (lower is better)', ...r.paths.map((p) => p.name)], cpuBody),
    '',
    errors.length ? `wrk socket errors: ${errors.join('; ')}.` : 'No wrk socket errors.',
    '',
  ];
}

function controlSection(c: ControlResults): string[] {
  const rows: string[][] = [];
  for (const read of c.reads) {
    const q = ratio(read.slb.perSecond, read.bare.perSecond);
    rows.push([
      `signed ${read.action} calls/s (vs bare Fastify JSON route)`,
      fmt(read.slb.perSecond),
      fmt(read.bare.perSecond),
      fmtRatio(q),
      '≥ 0.5×',
      verdict(Number.isFinite(q) ? q >= 0.5 : undefined),
    ]);
    rows.push([
      `server CPU µs per ${read.action} call`,
      fmt(read.slb.serverCpuUsPerCall),
      fmt(read.bare.serverCpuUsPerCall),
      fmtRatio(ratio(read.slb.serverCpuUsPerCall, read.bare.serverCpuUsPerCall)),
      '',
      '',
    ]);
  }
  rows.push([
    'CreateListener calls/s (vs bare Fastify JSON route)',
    fmt(c.create.slb.perSecond, 1),
    fmt(c.create.bare.perSecond),
    fmtRatio(ratio(c.create.slb.perSecond, c.create.bare.perSecond)),
    '',
    '',
  ]);
  rows.push([
    'server CPU µs per CreateListener call',
    fmt(c.create.slb.serverCpuUsPerCall),
    fmt(c.create.bare.serverCpuUsPerCall),
    fmtRatio(ratio(c.create.slb.serverCpuUsPerCall, c.create.bare.serverCpuUsPerCall)),
    '',
    '',
  ]);
  for (const fc of c.firstConnection) {
    const totals = fc.samples.map((s) => s.totalMs);
    const p99v = percentile(totals, 99);
    rows.push([
      `CreateListener → first forwarded connection, p50 / p99 ms (${fmt(fc.listeners)} listeners in store, ${totals.length} tries)`,
      `${fmt(percentile(totals, 50), 1)} / ${fmt(p99v, 1)}`,
      '',
      '',
      'p99 < 200 ms',
      verdict(Number.isFinite(p99v) ? p99v < 200 : undefined),
    ]);
    rows.push([
      `… of which the CreateListener reply, p50 / p99 ms`,
      `${fmt(
        percentile(
          fc.samples.map((s) => s.apiMs),
          50,
        ),
        1,
      )} / ${fmt(
        percentile(
          fc.samples.map((s) => s.apiMs),
          99,
        ),
        1,
      )}`,
      '',
      '',
      '',
      '',
    ]);
  }
  for (const job of c.jobs) {
    const client = job.samples.map((s) => s.clientMs);
    const store = job.samples.map((s) => s.storeMs);
    rows.push([
      `CreateListener → job Succeeded, p50 / p99 ms (${fmt(job.listeners)} listeners, ${client.length} tries; client polls every 5 ms)`,
      `${fmt(percentile(client, 50), 1)} / ${fmt(percentile(client, 99), 1)}`,
      '',
      '',
      '',
      '',
    ]);
    rows.push([
      `… job record created → finished, p50 / p99 ms`,
      `${fmt(percentile(store, 50), 1)} / ${fmt(percentile(store, 99), 1)}`,
      '',
      '',
      '',
      '',
    ]);
  }
  if (c.jobs.length === 2) {
    const [small, big] = c.jobs;
    const q50 = ratio(
      percentile(
        big.samples.map((s) => s.clientMs),
        50,
      ),
      percentile(
        small.samples.map((s) => s.clientMs),
        50,
      ),
    );
    const q99 = ratio(
      percentile(
        big.samples.map((s) => s.clientMs),
        99,
      ),
      percentile(
        small.samples.map((s) => s.clientMs),
        99,
      ),
    );
    rows.push([
      `job latency ${fmt(big.listeners)} ÷ ${fmt(small.listeners)} listeners (p50; p99 in brackets)`,
      `${fmtRatio(q50)} (${fmtRatio(q99)})`,
      '',
      '',
      '≤ 1.5×',
      verdict(Number.isFinite(q50) ? q50 <= 1.5 : undefined),
    ]);
  }
  const out = ['## Control plane', '', table(['metric', 'OpenSLB', 'bare Fastify', 'ratio', 'target', 'met'], rows), ''];
  const failures = [...c.reads.map((x) => x.slb), ...c.reads.map((x) => x.bare), c.create.slb, c.create.bare].filter((x) => x.errors > 0);
  if (failures.length) out.push(`API errors during rate tests: ${failures.map((f) => `${f.errors} (${f.firstError})`).join('; ')}.`, '');
  if (c.fill) {
    const f = c.fill;
    out.push(
      `Large store: ${fmt(f.created)} listeners added ${f.method} on ${f.loadBalancers} filler NLBs (listener quota raised in the config file) in ${fmt(f.seconds, 1)} s ` +
        `(${fmt(f.created / f.seconds, 1)} CreateListener/s), then ${fmt(f.settleSeconds, 1)} s until the last job succeeded${f.stoppedEarly ? `; stopped early: ${f.stoppedEarly}` : ''}.`,
      '',
    );
  }
  return out;
}

function profileSection(p: { title: string; summary: ProfileSummary; note: string }): string[] {
  const s = p.summary;
  const listenerFiles = /^(tcp-listener|udp-listener)\.js/;
  const mine = s.functions
    .filter((f) => listenerFiles.test(f.where))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, 12);
  const top = s.functions
    .filter((f) => f.name !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, 15);
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1)} %`;
  return [
    `## Hot-path profile: ${p.title} (OpenSLB, \`node --cpu-prof\`)`,
    '',
    p.note,
    `Sampled ${fmt(s.wallMs / 1000, 1)} s, of which ${fmt(s.busyMs / 1000, 1)} s not idle; percentages are of the non-idle time.`,
    '',
    table(
      ['function (tcp-listener / udp-listener)', 'where', 'self ms', 'total ms', 'total %'],
      mine.map((f) => [`\`${f.name}\``, f.where, fmt(f.selfMs), fmt(f.totalMs), pct(f.totalMs)]),
    ),
    '',
    table(
      ['top self time', 'where', 'self ms', 'self %'],
      top.map((f) => [`\`${f.name}\``, f.where || '(native)', fmt(f.selfMs), pct(f.selfMs)]),
    ),
    '',
    table(
      ['file (self time)', 'self ms', '%'],
      s.byFile
        .filter((f) => f.file !== '(idle)')
        .slice(0, 12)
        .map((f) => [f.file || '(native)', fmt(f.selfMs), pct(f.selfMs)]),
    ),
    '',
  ];
}
