/**
 * Bench section `userspace` (BENCH_ONLY=userspace): the listeners that stay in the user-space
 * engine, against what people would otherwise run.
 *
 *   PROXY v2 listener   vs HAProxy `send-proxy-v2`   new connections/s (wrk, Connection: close,
 *                                                    to an nginx `proxy_protocol` backend) and
 *                                                    one-stream throughput (iperf3 behind an
 *                                                    nginx stream `proxy_protocol` stripper)
 *   TCPSSL listener     vs HAProxy `ssl crt`         TLS handshakes/s (wrk https, a new
 *                                                    connection per request) and bulk https
 *                                                    throughput (1 MiB responses, keepalive)
 *   plain TCP listener  vs a Node `pipe()` proxy     one-stream throughput (iperf3)
 *
 * OpenSLB runs twice at its default worker count, engine `userspace`: with the native splice
 * relay, and with OPENSLB_USERSPACE_RELAY=js (what a machine without the addon gets). The
 * same certificate (RSA 2048) and TLS 1.3 on both TLS sides. Everything on loopback.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../src/client/api-client.js';
import { credentialsPath, readCredentialsFile } from '../src/accounts/credentials.js';
import { iperfTcp } from './lib/load-tools.js';
import { OpenSlbInstance } from './lib/openslb-instance.js';
import { runBounded, startProcess, stopProcess, waitForPort, type Managed } from './lib/processes.js';
import { HAPROXY_BASE_CONFIG, LOOPBACK } from './lib/reference-proxies.js';
import { median, table } from './lib/markdown.js';
import { fileURLToPath } from 'node:url';

const WRK_SCRIPT = fileURLToPath(new URL('./lib/wrk-json.lua', import.meta.url));
const BIG_BYTES = 1 << 20;

export interface UserspaceBenchOptions {
  runDir: string;
  portBase: number;
  seconds: number;
  reps: number;
  log: (line: string) => void;
}

interface Ports {
  http: number;
  httpPp: number;
  iperf: number;
  stripper: number;
  haPp: number;
  haPpIperf: number;
  haTls: number;
  naive: number;
  slbPpHttp: number;
  slbPpIperf: number;
  slbTls: number;
  slbIperf: number;
}

function portsFrom(base: number): Ports {
  const p = base + 400;
  return {
    http: p,
    httpPp: p + 1,
    iperf: p + 2,
    stripper: p + 3,
    haPp: p + 4,
    haPpIperf: p + 5,
    haTls: p + 6,
    naive: p + 7,
    slbPpHttp: p + 11,
    slbPpIperf: p + 12,
    slbTls: p + 13,
    slbIperf: p + 14,
  };
}

function makeCertificate(dir: string): { cert: string; key: string; pemFile: string } {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '2',
      '-subj',
      '/CN=bench.example.com',
      '-addext',
      'subjectAltName=DNS:bench.example.com',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const key = readFileSync(join(dir, 'key.pem'), 'utf8');
  const pemFile = join(dir, 'haproxy.pem');
  writeFileSync(pemFile, cert + key);
  return { cert, key, pemFile };
}

function startBackends(dir: string, ports: Ports, www: string): Managed[] {
  mkdirSync(join(dir, 'nginx'), { recursive: true });
  writeFileSync(join(www, 'big'), Buffer.alloc(BIG_BYTES, 0x61), { mode: 0o644 });
  const conf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 2;
worker_rlimit_nofile 20000;
daemon off;
error_log error.log warn;
events { worker_connections 8192; use epoll; }
pid nginx.pid;
http {
  access_log off;
  keepalive_requests 10000000;
  server {
    listen ${LOOPBACK}:${ports.http} reuseport backlog=4096;
    listen ${LOOPBACK}:${ports.httpPp} proxy_protocol reuseport backlog=4096;
    location = /big { default_type application/octet-stream; root ${www}; }
    location / { default_type text/plain; return 200 "ok\\n"; }
  }
}
stream {
  server { listen ${LOOPBACK}:${ports.stripper} proxy_protocol reuseport backlog=4096; proxy_pass ${LOOPBACK}:${ports.iperf}; }
}
`;
  writeFileSync(join(dir, 'nginx', 'nginx.conf'), conf);
  const nginx = startProcess(
    'us-nginx',
    'nginx',
    ['-p', `${join(dir, 'nginx')}/`, '-e', join(dir, 'nginx', 'startup.log'), '-c', join(dir, 'nginx', 'nginx.conf')],
    join(dir, 'nginx.log'),
  );
  const iperf = startProcess('us-iperf3', 'iperf3', ['-s', '-B', LOOPBACK, '-p', String(ports.iperf)], join(dir, 'iperf3.log'));
  return [nginx, iperf];
}

function startHaproxy(dir: string, ports: Ports, pemFile: string): Managed {
  const conf = `${HAPROXY_BASE_CONFIG}listen pp_http
    bind ${LOOPBACK}:${ports.haPp}
    server b ${LOOPBACK}:${ports.httpPp} send-proxy-v2
listen pp_iperf
    bind ${LOOPBACK}:${ports.haPpIperf}
    server b ${LOOPBACK}:${ports.stripper} send-proxy-v2
listen tls
    bind ${LOOPBACK}:${ports.haTls} ssl crt ${pemFile}
    server b ${LOOPBACK}:${ports.http}
`;
  const file = join(dir, 'haproxy-userspace.cfg');
  writeFileSync(file, conf);
  return startProcess('us-haproxy', 'haproxy', ['-db', '-f', file], join(dir, 'haproxy.log'));
}

interface WrkRate {
  rate: number;
  errors: number;
}

async function wrkRate(url: string, seconds: number, args: string[]): Promise<WrkRate> {
  const { stdout, stderr } = await runBounded('wrk', [...args, `-d${seconds}s`, '-s', WRK_SCRIPT, url], (seconds + 10) * 1000);
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`wrk gave no report for ${url}: ${(stdout + stderr).slice(0, 300)}`);
  const r = JSON.parse(line.slice(6)) as { requests: number; durationUs: number; errors: number };
  return { rate: r.requests / (r.durationUs / 1e6), errors: r.errors };
}

const CPS = ['-t2', '-c32', '-H', 'Connection: close'];
const BULK = ['-t2', '-c4'];

/** An OpenSLB with the user-space listeners of this section. */
async function startOpenSlb(
  dir: string,
  name: string,
  apiPort: number,
  vipNet: number,
  ports: Ports,
  tlsCert: { cert: string; key: string },
  relayJs: boolean,
) {
  const before = process.env.OPENSLB_USERSPACE_RELAY;
  if (relayJs) process.env.OPENSLB_USERSPACE_RELAY = 'js';
  let slb: OpenSlbInstance;
  try {
    slb = await OpenSlbInstance.start({ name, runDir: dir, apiPort, vipNet, engine: 'userspace', listenersPerLb: 50 });
  } finally {
    if (before === undefined) delete process.env.OPENSLB_USERSPACE_RELAY;
    else process.env.OPENSLB_USERSPACE_RELAY = before;
  }
  const lb = await slb.createLoadBalancer();
  const listen = async (params: Record<string, unknown>) => {
    const r = await slb.call('CreateListener', { LoadBalancerId: lb.id, ...params });
    const status = await slb.waitForJob(r.JobId as string);
    if (status !== 'Succeeded') throw new Error(`${name}: CreateListener ${JSON.stringify(params)} job ${status}`);
  };
  const ppHttp = await slb.createServerGroup('TCP', ports.httpPp);
  const ppIperf = await slb.createServerGroup('TCP', ports.stripper);
  const iperf = await slb.createServerGroup('TCP', ports.iperf);
  // TCPSSL forwards from OpenSLB's own address (the cloud requires client IP preservation off).
  const created = await slb.call('CreateServerGroup', {
    ServerGroupName: 'bench-tls',
    ServerGroupType: 'Ip',
    VpcId: 'vpc-local',
    Protocol: 'TCP',
    PreserveClientIpEnabled: false,
    HealthCheckConfig: { HealthCheckEnabled: false },
  });
  await slb.waitForJob(created.JobId as string);
  const http = created.ServerGroupId as string;
  const added = await slb.call('AddServersToServerGroup', {
    ServerGroupId: http,
    Servers: [{ ServerId: LOOPBACK, ServerType: 'Ip', ServerIp: LOOPBACK, Port: ports.http, Weight: 100 }],
  });
  await slb.waitForJob(added.JobId as string);
  await listen({ ListenerProtocol: 'TCP', ListenerPort: ports.slbPpHttp, ServerGroupId: ppHttp, ProxyProtocolEnabled: true });
  await listen({ ListenerProtocol: 'TCP', ListenerPort: ports.slbPpIperf, ServerGroupId: ppIperf, ProxyProtocolEnabled: true });
  await listen({ ListenerProtocol: 'TCP', ListenerPort: ports.slbIperf, ServerGroupId: iperf });
  const creds = await readCredentialsFile(credentialsPath(slb.dataDir));
  const cas = new ApiClient({ endpoint: `http://${LOOPBACK}:${apiPort}`, ...creds });
  const { body } = await cas.call('2020-04-07', 'UploadUserCertificate', { Name: 'bench', Cert: tlsCert.cert, Key: tlsCert.key });
  await listen({
    ListenerProtocol: 'TCPSSL',
    ListenerPort: ports.slbTls,
    ServerGroupId: http,
    CertificateIds: [`${body.CertId}-cn-hangzhou`],
    SecurityPolicyId: 'tls_cipher_policy_1_2_strict_with_1_3',
  });
  return { slb, vip: lb.vip };
}

interface Row {
  /** BENCH_ROWS selects rows by group (comma-separated; unset = all). */
  group: 'proxy' | 'tls' | 'plain';
  test: string;
  unit: string;
  splice: number[];
  js: number[];
  reference: number[];
  referenceName: string;
  target: string;
}

/** Runs the section; returns its Markdown. */
export async function runUserspaceBench(opts: UserspaceBenchOptions): Promise<string> {
  const loadAtStart = loadavg()[0];
  const dir = join(opts.runDir, 'userspace');
  mkdirSync(dir, { recursive: true });
  const ports = portsFrom(opts.portBase);
  const tlsCert = makeCertificate(dir);
  // nginx workers run as an unprivileged user: the file they serve lives outside the private run directory.
  const www = mkdtempSync(join(tmpdir(), 'openslb-bench-www-'));
  chmodSync(www, 0o755);
  const managed: Managed[] = [...startBackends(dir, ports, www), startHaproxy(dir, ports, tlsCert.pemFile)];
  const iperfTarget = String(ports.iperf);
  managed.push(
    startProcess(
      'us-naive-proxy',
      process.execPath,
      ['bench/lib/naive-tcp-proxy.mjs', String(ports.naive), iperfTarget],
      join(dir, 'naive.log'),
    ),
  );
  for (const port of [ports.http, ports.httpPp, ports.iperf, ports.stripper, ports.haPp, ports.haTls, ports.naive])
    await waitForPort(LOOPBACK, port);
  const spliced = await startOpenSlb(dir, 'openslb-us-splice', opts.portBase + 76, 85, ports, tlsCert, false);
  const jsRelay = await startOpenSlb(dir, 'openslb-us-js', opts.portBase + 77, 87, ports, tlsCert, true);
  managed.push(spliced.slb.process, jsRelay.slb.process);

  const rows: Row[] = [
    {
      group: 'proxy',
      test: 'PROXY v2: new connections/s',
      unit: 'conn/s',
      splice: [],
      js: [],
      reference: [],
      referenceName: 'HAProxy send-proxy-v2',
      target: '≥ 0.8×',
    },
    {
      group: 'proxy',
      test: 'PROXY v2: one stream',
      unit: 'Gbit/s',
      splice: [],
      js: [],
      reference: [],
      referenceName: 'HAProxy send-proxy-v2',
      target: '≥ 1.0×',
    },
    {
      group: 'tls',
      test: 'TCPSSL: TLS handshakes/s',
      unit: 'handshakes/s',
      splice: [],
      js: [],
      reference: [],
      referenceName: 'HAProxy ssl crt',
      target: '≥ 0.8×',
    },
    {
      group: 'tls',
      test: 'TCPSSL: bulk https (1 MiB responses)',
      unit: 'Gbit/s',
      splice: [],
      js: [],
      reference: [],
      referenceName: 'HAProxy ssl crt',
      target: '≥ 0.8×',
    },
    {
      group: 'plain',
      test: 'plain TCP relay: one stream',
      unit: 'Gbit/s',
      splice: [],
      js: [],
      reference: [],
      referenceName: 'Node pipe() proxy',
      target: '≥ 1.5×',
    },
  ];
  const t = opts.seconds;
  const errors: string[] = [];
  const measure = async (what: string, run: () => Promise<number>): Promise<number> => {
    try {
      return await run();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      return NaN;
    }
  };
  const cps =
    (host: string, port: number, tls = false) =>
    async () => {
      const r = await wrkRate(`${tls ? 'https' : 'http'}://${host}:${port}/`, t, CPS);
      if (r.errors > r.rate * t * 0.01) throw new Error(`${r.errors} wrk errors`);
      return r.rate;
    };
  const bulk = (host: string, port: number) => async () => {
    const r = await wrkRate(`https://${host}:${port}/big`, t, BULK);
    if (r.errors > 0) throw new Error(`${r.errors} wrk errors (non-2xx or socket errors)`);
    return (r.rate * BIG_BYTES * 8) / 1e9;
  };
  const stream = (host: string, port: number) => async () => (await iperfTcp(host, port, t, 1)).gbps;
  const groups = process.env.BENCH_ROWS ? new Set(process.env.BENCH_ROWS.split(',').map((g) => g.trim())) : undefined;
  const wanted = (row: number) => groups === undefined || groups.has(rows[row].group);
  /** Runs one measurement of row `row` when BENCH_ROWS selects it. */
  const take = async (row: number, into: number[], what: string, run: () => Promise<number>) => {
    if (wanted(row)) into.push(await measure(what, run));
  };
  for (let rep = 0; rep < opts.reps; rep++) {
    opts.log(`userspace section: round ${rep + 1}/${opts.reps}`);
    const sides: Array<['splice' | 'js', { vip: string }]> = [
      ['splice', spliced],
      ['js', jsRelay],
    ];
    for (const [key, slb] of sides) {
      await take(0, rows[0][key], `${key} PROXY cps`, cps(slb.vip, ports.slbPpHttp));
      await take(1, rows[1][key], `${key} PROXY stream`, stream(slb.vip, ports.slbPpIperf));
      await take(2, rows[2][key], `${key} TLS handshakes`, cps(slb.vip, ports.slbTls, true));
      await take(3, rows[3][key], `${key} TLS bulk`, bulk(slb.vip, ports.slbTls));
      await take(4, rows[4][key], `${key} TCP stream`, stream(slb.vip, ports.slbIperf));
    }
    await take(0, rows[0].reference, 'HAProxy PROXY cps', cps(LOOPBACK, ports.haPp));
    await take(1, rows[1].reference, 'HAProxy PROXY stream', stream(LOOPBACK, ports.haPpIperf));
    await take(2, rows[2].reference, 'HAProxy TLS handshakes', cps(LOOPBACK, ports.haTls, true));
    await take(3, rows[3].reference, 'HAProxy TLS bulk', bulk(LOOPBACK, ports.haTls));
    await take(4, rows[4].reference, 'naive proxy stream', stream(LOOPBACK, ports.naive));
  }
  for (const m of managed.reverse()) await stopProcess(m);
  rmSync(www, { recursive: true, force: true });

  const fmt = (x: number) => (Number.isNaN(x) ? 'failed' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));
  const ratio = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) || b === 0 ? '–' : `${(a / b).toFixed(2)}×`);
  const body = rows
    .filter((_, i) => wanted(i))
    .map((r) => {
      const s = median(r.splice);
      const j = median(r.js);
      const ref = median(r.reference);
      return [
        r.test,
        `${fmt(s)} ${r.unit}`,
        `${fmt(j)} ${r.unit}`,
        `${r.referenceName}: ${fmt(ref)} ${r.unit}`,
        ratio(s, ref),
        ratio(j, ref),
        r.target,
      ];
    });
  const lines = [
    '## User-space engine: PROXY protocol, TLS and the plain relay',
    '',
    `Medians of ${opts.reps} round(s), ${t} s per run, on loopback; OpenSLB at its default worker count with \`dataplane.engine: userspace\`. ` +
      'The "native" column uses the addon: the splice relay for plain TCP, TLS termination in the native TLS relay for TCPSSL; ' +
      'the "JS" column runs with OPENSLB_USERSPACE_RELAY=js (JS relay, Node\'s TLS). ' +
      `Load average (1 min) at the start: ${loadAtStart.toFixed(2)} on ${availableParallelism()} cores; numbers move between runs, so compare ratios within this run only.`,
    '',
    table(['test', 'OpenSLB (native)', 'OpenSLB (JS)', 'reference', 'native ÷ ref', 'JS ÷ ref', 'target'], body),
  ];
  if (errors.length > 0) lines.push('', 'Runs that failed:', '', ...errors.map((e) => `- ${e}`));
  return lines.join('\n');
}
