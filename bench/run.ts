/**
 * `npm run bench`: OpenSLB side by side with HAProxy and nginx on loopback, then its control
 * plane against a bare Fastify route, then (optionally) a CPU profile of the TCP hot path.
 * Writes the Markdown results to stdout and to bench/results/latest.md (BENCH_OUT).
 * Knobs: see bench/lib/settings.ts; BENCH_QUICK=1 for a ~2 minute smoke run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { ApiClient } from '../src/client/api-client.js';
import { runDataPlane, type DataPath } from './data-plane.js';
import { measureCallRate } from './lib/call-rate.js';
import { fillListeners, firstConnectionTimes, jobLatencies } from './lib/control-plane.js';
import { summarizeProfile } from './lib/cpu-profile.js';
import { iperfTcp, iperfUdp, wrk } from './lib/load-tools.js';
import { OpenSlbInstance, serveHasWorkersFlag } from './lib/openslb-instance.js';
import { portIsFree, sleep, startProcess, stopAll, stopProcess, waitForPort, type Managed } from './lib/processes.js';
import { LOOPBACK, benchPorts, startHaproxy, startHttpBackend, startIperfServer, startNginxStream } from './lib/reference-proxies.js';
import { renderReport, type ControlResults } from './report.js';
import { runUserspaceBench } from './userspace.js';
import { readSettings } from './lib/settings.js';
import { geneveBench } from './geneve.js';

const settings = readSettings();
const ports = benchPorts(settings.portBase);
/** The NLB listener ports on each OpenSLB's VIP (the VIP is OpenSLB's own, so no clash with the others). */
const SLB_HTTP_PORT = settings.portBase + 301;
const SLB_IPERF_PORT = settings.portBase + 302;
const runDir = mkdtempSync(join(os.tmpdir(), 'openslb-bench-'));
const started = Date.now();

function log(line: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${line}\n`);
}

function version(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0].trim();
}

function build(): string {
  if (process.env.BENCH_SKIP_BUILD === '1') return 'skipped (BENCH_SKIP_BUILD=1), using the existing dist/';
  log('npm run build');
  const r = spawnSync('npm', ['run', 'build'], { encoding: 'utf8', timeout: 300_000 });
  if (r.status === 0) return 'npm run build: ok';
  // tsc still emits on type errors; other people's work in progress should not stop the bench.
  if (!existsSync('dist/cli/main.js')) throw new Error(`build failed and there is no dist/: ${r.stdout}${r.stderr}`);
  log(`npm run build reported errors; continuing with the emitted dist/\n${(r.stdout + r.stderr).slice(-1500)}`);
  return 'npm run build reported type errors (emitted JS used)';
}

function gitFacts(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} + uncommitted changes in src/ (${dirty.split('\n').length} files)` : head;
  } catch {
    return 'unknown';
  }
}

async function setUpNlb(slb: OpenSlbInstance): Promise<{ lbId: string; vip: string; httpGroup: string }> {
  const lb = await slb.createLoadBalancer();
  const httpGroup = await slb.createServerGroup('TCP', ports.httpBackend);
  const iperfGroup = await slb.createServerGroup('TCP', ports.iperfBackend);
  const udpGroup = await slb.createServerGroup('UDP', ports.iperfBackend);
  await slb.createRunningListener(lb.id, 'TCP', SLB_HTTP_PORT, httpGroup);
  await slb.createRunningListener(lb.id, 'TCP', SLB_IPERF_PORT, iperfGroup);
  // iperf3 opens its control connection over TCP on the same port, so UDP shares it.
  await slb.createRunningListener(lb.id, 'UDP', SLB_IPERF_PORT, udpGroup);
  return { lbId: lb.id, vip: lb.vip, httpGroup };
}

async function smokeTest(paths: DataPath[]): Promise<void> {
  for (const p of paths) {
    const r = await wrk(p.host, p.httpPort, 1, 'lat1');
    if (r.rate <= 0 || r.errors > 0) throw new Error(`${p.name}: HTTP through ${p.host}:${p.httpPort} does not work`);
  }
}

async function controlPlane(
  slb: OpenSlbInstance,
  main: { lbId: string; vip: string; httpGroup: string },
  bareUrl: string,
): Promise<ControlResults> {
  const bare = new ApiClient({ endpoint: bareUrl, accessKeyId: 'bench', accessKeySecret: 'bench' });
  const rateOpts = { seconds: settings.apiSeconds, maxCalls: settings.apiMaxCalls, concurrency: settings.apiConcurrency };
  // Listener counts are tracked here: main NLB has 3; job tries delete what they create.
  let listeners = 3;

  // Job latency with a small store: top up to 10 listeners on a second NLB.
  const small = await slb.createLoadBalancer();
  const smallTarget = 10;
  for (let port = 30000; listeners < smallTarget; port++, listeners++) await slb.createListener(small.id, 'TCP', port, main.httpGroup);
  await sleep(500);
  log(`job latency with ${listeners} listeners`);
  const jobs: ControlResults['jobs'] = [];
  const jobPorts = (from: number) => Array.from({ length: settings.jobTries }, (_, i) => from + i);
  jobs.push({ listeners, samples: await jobLatencies(slb, main.lbId, main.httpGroup, jobPorts(25000)) });

  log('CreateListener → first forwarded connection');
  const firstConnection: ControlResults['firstConnection'] = [];
  const fcPorts = Array.from({ length: settings.firstConnTries }, (_, i) => 23000 + i);
  firstConnection.push({ listeners, samples: await firstConnectionTimes(slb, main.lbId, main.vip, main.httpGroup, fcPorts) });
  listeners += fcPorts.length;

  const reads: ControlResults['reads'] = [];
  for (const action of ['DescribeRegions', 'ListLoadBalancers']) {
    log(`API rate: signed ${action} vs bare Fastify`);
    const slbRate = await measureCallRate(() => slb.call(action), { ...rateOpts, serverPid: slb.pid });
    const bareRate = await measureCallRate(() => bare.call('2022-04-30', action, {}), { ...rateOpts, serverPid: bareServer!.child.pid! });
    reads.push({ action, slb: slbRate, bare: bareRate });
  }

  log(`API rate: ${settings.createCalls} CreateListener calls vs bare Fastify`);
  const rateLb = await slb.createLoadBalancer();
  const createOpts = { seconds: settings.apiSeconds * 10, maxCalls: settings.createCalls, concurrency: settings.apiConcurrency };
  const slbCreate = await measureCallRate((i) => slb.createListener(rateLb.id, 'TCP', 24000 + i, main.httpGroup), {
    ...createOpts,
    serverPid: slb.pid,
  });
  listeners += slbCreate.calls;
  const bareCreate = await measureCallRate(
    (i) =>
      bare.call('2022-04-30', 'CreateListener', {
        LoadBalancerId: rateLb.id,
        ListenerProtocol: 'TCP',
        ListenerPort: String(24000 + i),
        ServerGroupId: main.httpGroup,
      }),
    { ...createOpts, maxCalls: Math.max(slbCreate.calls, 1), serverPid: bareServer!.child.pid! },
  );
  await sleep(1000);

  log(`growing the store to ${settings.bigListeners} listeners through the API`);
  const fill = await fillListeners(slb, Math.max(0, settings.bigListeners - listeners), {
    perLb: settings.listenersPerFillerLb,
    firstPort: 26000,
    serverGroupId: main.httpGroup,
    concurrency: 8,
    maxSeconds: Number(process.env.BENCH_FILL_MAX_S ?? 900),
  });
  listeners += fill.created;
  log(`store now has ${listeners} listeners (${fill.created} added in ${fill.seconds.toFixed(1)} s)`);
  await sleep(1000);
  log(`job latency with ${listeners} listeners`);
  jobs.push({ listeners, samples: await jobLatencies(slb, main.lbId, main.httpGroup, jobPorts(25500)) });
  log('CreateListener → first forwarded connection, large store');
  const bigFcPorts = Array.from({ length: Math.max(3, Math.ceil(settings.firstConnTries / 2)) }, (_, i) => 23500 + i);
  firstConnection.push({ listeners, samples: await firstConnectionTimes(slb, main.lbId, main.vip, main.httpGroup, bigFcPorts) });

  return {
    reads,
    create: { slb: slbCreate, bare: bareCreate },
    firstConnection,
    jobs,
    fill: { ...fill, method: 'through the signed API (CreateListener, 8 in flight)' },
  };
}

/**
 * A separate, profiled OpenSLB (one worker when the flag exists) under either the TCP tests or
 * the UDP test, then stopped so node writes the profile. Not part of the measured runs.
 */
async function profilePass(workersFlag: boolean, kind: 'tcp' | 'udp'): Promise<ReturnType<typeof summarizeProfile> | undefined> {
  const profDir = join(runDir, `cpu-prof-${kind}`);
  mkdirSync(profDir, { recursive: true });
  const slb = await OpenSlbInstance.start({
    name: `openslb-profiled-${kind}`,
    runDir,
    apiPort: settings.portBase + 75,
    vipNet: 97,
    workers: workersFlag ? 1 : undefined,
    // The kernel engine runs no JavaScript per packet: profile the user-space relay.
    engine: 'userspace',
    cpuProfDir: profDir,
    listenersPerLb: 50,
  });
  const nlb = await setUpNlb(slb);
  const t = Math.max(3, settings.iperfSeconds);
  if (kind === 'tcp') {
    await iperfTcp(nlb.vip, SLB_IPERF_PORT, t, 1);
    await iperfTcp(nlb.vip, SLB_IPERF_PORT, t, 4);
    await wrk(nlb.vip, SLB_HTTP_PORT, t, 'cps');
    await wrk(nlb.vip, SLB_HTTP_PORT, t, 'rps64');
  } else {
    await iperfUdp(nlb.vip, SLB_IPERF_PORT, t, 64, settings.udpRatePps);
    await iperfUdp(nlb.vip, SLB_IPERF_PORT, t, 1400, settings.udpRatePps);
  }
  await stopProcess(slb.process, 15_000);
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  // With workers, the data plane runs in the busiest profile; take that one.
  const summaries = files.map((f) => summarizeProfile(join(profDir, f)));
  return summaries.sort((a, b) => b.busyMs - a.busyMs)[0];
}

let bareServer: Managed | undefined;

/** BENCH_ONLY=a,b runs only those sections (dataplane = the main comparison, control plane and profile; userspace; geneve); unset: all. */
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : undefined;
const want = (section: string): boolean => !only || only.has(section);

async function main(): Promise<void> {
  log(`run directory ${runDir}; settings ${JSON.stringify(settings)}`);
  const buildNote = build();
  const geneveMd = want('geneve') ? await geneveBench({ runDir, log }) : '';
  if (want('userspace')) {
    const md = await runUserspaceBench({
      runDir,
      portBase: settings.portBase,
      seconds: Math.max(2, settings.wrkSeconds),
      reps: settings.reps,
      log,
    });
    const out = join(dirname(settings.outFile), 'userspace.md');
    process.stdout.write(`${md}\n`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${md}\n`);
    log(`user-space section written to ${out}`);
  }
  if (!want('dataplane')) {
    if (geneveMd) {
      const out = join(dirname(settings.outFile), 'geneve.md');
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${geneveMd}\n`);
      process.stdout.write(`${geneveMd}\n`);
    }
    await stopAll();
    return;
  }
  const workersFlag = serveHasWorkersFlag();
  const load0 = os.loadavg();

  const wanted = [...Object.values(ports), settings.portBase + 70, settings.portBase + 72, settings.portBase + 75];
  for (const port of wanted)
    if (!(await portIsFree(LOOPBACK, port))) throw new Error(`port ${port} on ${LOOPBACK} is in use (set BENCH_PORT_BASE)`);

  log('starting backends, HAProxy, nginx, bare Fastify');
  startHttpBackend(runDir, ports);
  let iperf = startIperfServer(runDir, ports);
  const haproxy = startHaproxy(runDir, ports);
  const nginx = startNginxStream(runDir, ports);
  bareServer = startProcess(
    'bare-fastify',
    process.execPath,
    ['--import', 'tsx', 'bench/lib/bare-fastify.ts', String(ports.bareFastify)],
    join(runDir, 'bare-fastify.log'),
  );
  for (const port of [ports.httpBackend, ports.iperfBackend, ports.haproxyHttp, ports.nginxHttp, ports.bareFastify])
    await waitForPort(LOOPBACK, port);

  log(`starting OpenSLB (serve --workers ${workersFlag ? 'exists' : 'does not exist'})`);
  // Plain TCP/UDP listeners forwarded by the kernel engine (nftables + conntrack), then the
  // same listeners in the user-space engine: both at the server's default worker count.
  const variants = [
    { name: 'openslb-kernel', engine: 'kernel' as const, workers: undefined, apiPort: settings.portBase + 70, vipNet: 91 },
    { name: 'openslb-userspace', engine: 'userspace' as const, workers: undefined, apiPort: settings.portBase + 72, vipNet: 93 },
  ];
  const instances: OpenSlbInstance[] = [];
  const nlbs: Array<Awaited<ReturnType<typeof setUpNlb>>> = [];
  for (const v of variants) {
    const slb = await OpenSlbInstance.start({ ...v, runDir, listenersPerLb: settings.listenersPerFillerLb });
    instances.push(slb);
    nlbs.push(await setUpNlb(slb));
  }

  const paths: DataPath[] = [
    { name: 'direct', host: LOOPBACK, httpPort: ports.httpBackend, iperfPort: ports.iperfBackend, udp: true },
    { name: 'haproxy', host: LOOPBACK, httpPort: ports.haproxyHttp, iperfPort: ports.haproxyIperf, udp: false, pid: haproxy.child.pid },
    { name: 'nginx', host: LOOPBACK, httpPort: ports.nginxHttp, iperfPort: ports.nginxIperf, udp: true, pid: nginx.child.pid },
    ...instances.map((slb, i) => ({
      name: variants[i].name,
      host: nlbs[i].vip,
      httpPort: SLB_HTTP_PORT,
      iperfPort: SLB_IPERF_PORT,
      udp: true,
      pid: slb.pid,
    })),
  ];
  await smokeTest(paths);
  log(`all paths forward: ${paths.map((p) => `${p.name}=${p.host}`).join(' ')}`);

  const samples = await runDataPlane(paths, {
    ...settings,
    log,
    restartIperf: async () => {
      await stopProcess(iperf);
      iperf = startIperfServer(runDir, ports);
      await waitForPort(LOOPBACK, ports.iperfBackend);
    },
  });

  // The second OpenSLB would only compete for the two cores from here on.
  for (const slb of instances.slice(1)) await stopProcess(slb.process);
  const control = await controlPlane(instances[0], nlbs[0], `http://${LOOPBACK}:${ports.bareFastify}`);
  await stopProcess(instances[0].process);

  const profiles: NonNullable<Parameters<typeof renderReport>[0]['profiles']> = [];
  if (settings.profile) {
    for (const kind of ['tcp', 'udp'] as const) {
      log(`profile pass (${kind}): a separate OpenSLB under node --cpu-prof`);
      const summary = await profilePass(workersFlag, kind);
      const what =
        kind === 'tcp'
          ? 'iperf3 1 and 4 streams, then wrk cps and rps64'
          : `UDP 64 B then 1400 B at ${settings.udpRatePps.toLocaleString('en-US')} datagrams/s`;
      if (summary) {
        profiles.push({
          title: kind === 'tcp' ? 'TCP' : 'UDP',
          summary,
          note: `A separate OpenSLB${workersFlag ? ' (--workers 1)' : ''} under \`node --cpu-prof\`, driven through ${what} (${Math.max(3, settings.iperfSeconds)} s each); not the measured runs above.`,
        });
      }
    }
  }
  const load1 = os.loadavg();
  await stopAll();

  const cpus = os.cpus();
  const facts: Array<[string, string]> = [
    ['date (UTC)', new Date(started).toISOString().slice(0, 16).replace('T', ' ')],
    ['cores', `${cpus.length} × ${cpus[0]?.model ?? '?'}`],
    ['memory', `${Math.round(os.totalmem() / 2 ** 30)} GiB`],
    ['kernel', os.release()],
    ['node', process.version],
    ['HAProxy', version('haproxy', ['-v'])],
    ['nginx', version('nginx', ['-v'])],
    ['iperf3', version('iperf3', ['--version'])],
    ['wrk', version('wrk', ['-v'])],
    ['OpenSLB', `${gitFacts()}; ${buildNote}; \`node dist/cli/main.js serve\``],
    [
      'OpenSLB rows',
      `\`openslb-kernel\` = dataplane.engine kernel (plain TCP/UDP listeners in nftables + conntrack), \`openslb-userspace\` = dataplane.engine userspace (the Node relay); both at the default worker count${workersFlag ? ` (a primary plus ${os.cpus().length} workers)` : ''}`,
    ],
    ['load average (1 min) at start / end', `${load0[0].toFixed(2)} / ${load1[0].toFixed(2)}`],
    ['run time', `${Math.round((Date.now() - started) / 1000)} s`],
  ];
  const params =
    `Parameters: ${settings.reps} rounds; iperf3 ${settings.iperfSeconds} s per TCP run, ${settings.udpSeconds} s per UDP run, ` +
    `fixed UDP rate ${settings.udpRatePps.toLocaleString('en-US')} datagrams/s; wrk ${settings.wrkSeconds} s per run; API rate ${settings.apiSeconds} s at ` +
    `${settings.apiConcurrency} calls in flight; ${settings.createCalls} CreateListener calls; ${settings.firstConnTries} first-connection tries; ` +
    `${settings.jobTries} job tries per store size.${settings.quick ? ' **Quick mode (BENCH_QUICK=1): smoke test, numbers are not meaningful.**' : ''}`;
  const notes = [
    'Everything runs on loopback (127.0.0.1 for backends, HAProxy and nginx; OpenSLB VIPs from its own 127.0.x.0/24 pools) on the same machine as the load generators, so client, proxy and backend share the cores.',
    load0[0] > 0.5
      ? `The machine was busy when the run started (load average ${load0[0].toFixed(2)}); absolute numbers drift, compare ratios within this run only.`
      : 'The machine was otherwise idle when the run started; absolute numbers still move between runs, so compare ratios within this run.',
    ...(workersFlag ? [] : ['`openslb serve --workers` does not exist in this build, so only the single-process OpenSLB was measured.']),
  ];
  const md = renderReport({
    title: 'OpenSLB benchmark: data plane vs HAProxy and nginx, control plane vs bare Fastify',
    facts,
    params,
    paths,
    openslb: variants.map((v) => v.name),
    samples,
    control,
    profiles,
    notes,
    reproduce: [
      'npm ci   # once',
      'npm run bench                 # full run (~10 min on 2 cores)',
      'BENCH_QUICK=1 npm run bench   # smoke run of the harness (~2 min)',
    ],
  });
  mkdirSync(dirname(settings.outFile), { recursive: true });
  writeFileSync(settings.outFile, md + (geneveMd ? `\n${geneveMd}` : ''));
  process.stdout.write(`${md}\n${geneveMd}`);
  log(`results written to ${settings.outFile}; logs in ${runDir}`);
}

const onSignal = () => {
  log('interrupted; stopping everything this bench started');
  void stopAll().then(() => process.exit(130));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

main().catch(async (err) => {
  log(`failed: ${(err as Error).stack ?? err}`);
  await stopAll();
  process.exit(1);
});
