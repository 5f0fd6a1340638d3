/**
 * Server CPU per signed API call, per action: one OpenSLB (`openslb serve --workers 0`, from
 * source through tsx, or the built dist with --dist) in its own process on loopback, driven
 * from this process with the vendor's client. CPU comes from /proc for the server process only,
 * so the client's own signing and parsing are not counted.
 *
 *   node --import tsx bench/api-profile.ts [--calls 400] [--rounds 3] [--concurrency 16]
 *        [--cpu-prof] [--dist] [--keep] [--only <Action>] [--log-level warn]
 *
 * --cpu-prof runs the server under `node --cpu-prof` and prints the functions with the most
 * self and total time over the whole run (setup included). Every loop is bounded by count.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, flatParams } from '../src/client/api-client.js';
import { credentialsPath, readCredentialsFile } from '../src/accounts/credentials.js';
import { cpuSeconds, portIsFree, sleep, startProcess, stopProcess, waitForPort } from './lib/processes.js';
import { summarizeProfile } from './lib/cpu-profile.js';
import { BENCH_ZONE_MAPPINGS, benchConfig } from './lib/openslb-instance.js';

const NLB_VERSION = '2022-04-30';
const HOST = '127.0.0.1';
const VIP_NET = 233; // 127.0.233.0/24 and 127.0.234.0/24: away from the tests' and the main bench's pools

function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const CALLS = option('calls', 400);
const ROUNDS = option('rounds', 3);
const CONCURRENCY = option('concurrency', 16);
const PROFILE = flag('cpu-prof');
/** e.g. `--log-level warn` to see what the one info line per call costs. */
const LOG_LEVEL = (() => {
  const i = process.argv.indexOf('--log-level');
  return i === -1 ? undefined : process.argv[i + 1];
})();
/** Measure only this action (e.g. to profile it alone); the others are skipped. */
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i === -1 ? undefined : process.argv[i + 1];
})();

async function freePort(salt: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 21000 + ((process.pid + salt * 31 + i * 97) % 9000);
    if (await portIsFree(HOST, port)) return port;
  }
  throw new Error('no free port found');
}

const runDir = mkdtempSync(join(tmpdir(), 'openslb-api-profile-'));
const dataDir = join(runDir, 'data');
const profDir = join(runDir, 'prof');
const apiPort = await freePort(0);
const configFile = join(runDir, 'openslb.yaml');
writeFileSync(configFile, JSON.stringify(benchConfig({ apiPort, dataDir, vipNet: VIP_NET, listenersPerLb: CALLS }), null, 2));

const entry = flag('dist') ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
const nodeArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
const env = { ...process.env };
delete env.ALIBABA_CLOUD_ACCESS_KEY_ID;
delete env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
const server = startProcess(
  'openslb',
  process.execPath,
  [...nodeArgs, ...entry, 'serve', '--config', configFile, '--workers', '0', ...(LOG_LEVEL ? ['--log-level', LOG_LEVEL] : [])],
  join(runDir, 'openslb.log'),
  env,
);
const pid = server.child.pid!;
// The yardstick of the main bench: a bare Fastify JSON route, same client, its own process.
const barePort = await freePort(1);
const bare = startProcess(
  'bare-fastify',
  process.execPath,
  ['--import', 'tsx', 'bench/lib/bare-fastify.ts', String(barePort)],
  join(runDir, 'bare.log'),
);

try {
  await waitForPort(HOST, apiPort, 600);
  for (let i = 0; i < 100 && !existsSync(credentialsPath(dataDir)); i++) await sleep(50);
  const client = new ApiClient({ endpoint: `http://${HOST}:${apiPort}`, ...(await readCredentialsFile(credentialsPath(dataDir))) });
  const call = async (action: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> => {
    const { body } = await client.call(NLB_VERSION, action, flatParams(params));
    return body;
  };
  const waitForJob = async (jobId: string): Promise<void> => {
    for (let i = 0; i < 3000; i++) {
      const { Status } = await call('GetJobStatus', { JobId: jobId });
      if (Status === 'Succeeded') return;
      if (Status !== 'Processing') throw new Error(`job ${jobId} ${Status}`);
      await sleep(5);
    }
    throw new Error(`job ${jobId} still Processing`);
  };

  // A few resources so the reads have something to show: 3 tagged NLBs and a server group.
  const lbIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { LoadbalancerId, JobId } = await call('CreateLoadBalancer', {
      AddressType: 'Intranet',
      VpcId: 'vpc-local',
      LoadBalancerName: `prof-${i}`,
      ZoneMappings: BENCH_ZONE_MAPPINGS,
      Tag: [
        { Key: 'team', Value: 'bench' },
        { Key: 'index', Value: String(i) },
      ],
    });
    if (JobId) await waitForJob(JobId);
    for (let attempt = 0; attempt < 2000; attempt++) {
      const lb = await call('GetLoadBalancerAttribute', { LoadBalancerId: LoadbalancerId });
      if (lb.LoadBalancerStatus === 'Active') break;
      await sleep(10);
    }
    lbIds.push(LoadbalancerId);
  }
  const sg = await call('CreateServerGroup', { ServerGroupName: 'prof', ServerGroupType: 'Ip', VpcId: 'vpc-local', Protocol: 'TCP' });
  if (sg.JobId) await waitForJob(sg.JobId);

  /**
   * N calls, CONCURRENCY in flight; server CPU µs per call and calls/s. `cleanup`: a phase that
   * must run even when --only leaves it unreported (deleting the listeners just created).
   */
  const measure = async (name: string, n: number, one: (i: number) => Promise<unknown>, serverPid = pid, cleanup = false) => {
    const skipped = ONLY !== undefined && ONLY !== name && !name.startsWith('bare');
    if ((skipped && !cleanup) || n === 0) return undefined;
    const cpu0 = cpuSeconds([serverPid]);
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < n) await one(next++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds([serverPid]) - cpu0;
    if (skipped) return undefined;
    return { name, cpuUsPerCall: (cpu * 1e6) / n, perSecond: n / seconds };
  };

  await waitForPort(HOST, barePort, 600);
  const bareClient = new ApiClient({ endpoint: `http://${HOST}:${barePort}`, accessKeyId: 'bench', accessKeySecret: 'bench' });
  const callBare = () => bareClient.call(NLB_VERSION, 'DescribeRegions', {});

  // Warm-up of both sides (the client's JIT too: a slow client leaves the server idle between
  // calls, which raises its CPU per call), the same load as a measured round, not reported.
  for (let i = 0; i < 300; i++) await call('DescribeRegions');
  await measure('bare Fastify JSON route', CALLS, callBare, bare.child.pid!);
  await measure('DescribeRegions', CALLS, () => call('DescribeRegions'));
  await measure('ListLoadBalancers', CALLS, () => call('ListLoadBalancers', { MaxResults: 20 }));
  await measure('GetLoadBalancerAttribute', CALLS, (i) => call('GetLoadBalancerAttribute', { LoadBalancerId: lbIds[i % lbIds.length] }));

  // The server's background CPU (heartbeats, job runner, data plane) while no call is made.
  const idle0 = cpuSeconds([pid]);
  await sleep(2000);
  const idleUsPerSecond = ((cpuSeconds([pid]) - idle0) * 1e6) / 2;

  const results = new Map<string, Array<{ cpuUsPerCall: number; perSecond: number }>>();
  const record = (r: { name: string; cpuUsPerCall: number; perSecond: number } | undefined) => {
    if (!r) return;
    const list = results.get(r.name) ?? [];
    list.push(r);
    results.set(r.name, list);
  };
  let port = 10000;
  for (let round = 0; round < ROUNDS; round++) {
    record(await measure('bare Fastify JSON route', CALLS, callBare, bare.child.pid!));
    record(await measure('DescribeRegions', CALLS, () => call('DescribeRegions')));
    record(await measure('ListLoadBalancers', CALLS, () => call('ListLoadBalancers', { MaxResults: 20 })));
    record(
      await measure('GetLoadBalancerAttribute', CALLS, (i) =>
        call('GetLoadBalancerAttribute', { LoadBalancerId: lbIds[i % lbIds.length] }),
      ),
    );
    const listeners: string[] = [];
    const jobs: string[] = [];
    const creates = Math.min(CALLS, 200);
    record(
      await measure('CreateListener', creates, async () => {
        const r = await call('CreateListener', {
          LoadBalancerId: lbIds[0],
          ListenerProtocol: 'TCP',
          ListenerPort: port++,
          ServerGroupId: sg.ServerGroupId,
        });
        listeners.push(r.ListenerId);
        jobs.push(r.JobId);
      }),
    );
    if (jobs.length > 0) await waitForJob(jobs[jobs.length - 1]);
    jobs.length = 0;
    record(
      await measure(
        'DeleteListener',
        listeners.length,
        async (i) => {
          const r = await call('DeleteListener', { ListenerId: listeners[i] });
          jobs.push(r.JobId);
        },
        pid,
        true,
      ),
    );
    if (jobs.length > 0) await waitForJob(jobs[jobs.length - 1]);
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`server pid ${pid}, ${CALLS} calls per read phase, ${CONCURRENCY} in flight, ${ROUNDS} rounds`);
  console.log(`server idle CPU: ${Math.round(idleUsPerSecond)} µs/s`);
  console.log('| action | server CPU µs/call (median) | each round | calls/s (median) |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, list] of results) {
    const cpu = list.map((r) => r.cpuUsPerCall);
    const rate = list.map((r) => r.perSecond);
    console.log(`| ${name} | ${Math.round(median(cpu))} | ${cpu.map((x) => Math.round(x)).join(' / ')} | ${median(rate).toFixed(0)} |`);
  }
} finally {
  await stopProcess(server, 10_000);
  await stopProcess(bare, 10_000);
}

if (PROFILE) {
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file) {
    const summary = summarizeProfile(join(profDir, file));
    const busy = summary.busyMs;
    const show = (rows: typeof summary.functions, key: 'selfMs' | 'totalMs', count: number) => {
      for (const f of [...rows].sort((a, b) => b[key] - a[key]).slice(0, count)) {
        console.log(`  ${f[key].toFixed(0).padStart(7)} ms ${((100 * f[key]) / busy).toFixed(1).padStart(5)} %  ${f.name} (${f.where})`);
      }
    };
    console.log(`\nprofile ${join(profDir, file)}: ${busy.toFixed(0)} ms busy of ${summary.wallMs.toFixed(0)} ms`);
    console.log('top self time:');
    show(summary.functions, 'selfMs', 35);
    console.log('top total time:');
    show(
      summary.functions.filter((f) => !f.where.startsWith('node:') || true),
      'totalMs',
      60,
    );
    console.log('self time by file:');
    for (const f of summary.byFile.slice(0, 25)) console.log(`  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.file}`);
  }
}
if (!flag('keep')) rmSync(runDir, { recursive: true, force: true });
else console.log(`kept ${runDir}`);
