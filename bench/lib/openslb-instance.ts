/**
 * One OpenSLB under test: the built CLI (`node dist/cli/main.js serve`) as its own process, on
 * a temporary data directory, with a config file that gives it its own VIP pools (so its
 * listeners never collide with other OpenSLB instances on this machine) and raised listener
 * quotas. Talks to it only through the signed API, with the vendor's client.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, flatParams } from '../../src/client/api-client.js';
import { credentialsPath, readCredentialsFile } from '../../src/accounts/credentials.js';
import { startProcess, sleep, waitForPort, type Managed } from './processes.js';
import { LOOPBACK } from './reference-proxies.js';

export const NLB_VERSION = '2022-04-30';
const CLI = 'dist/cli/main.js';

export interface OpenSlbOptions {
  name: string;
  runDir: string;
  apiPort: number;
  /** Third octet of the VIP pools: 127.0.<vipNet>.0/24 (zone a) and 127.0.<vipNet+1>.0/24 (zone b). */
  vipNet: number;
  /** `--workers N`; undefined leaves the flag out (the server's default). */
  workers?: number;
  /** Directory for `node --cpu-prof` output; undefined runs without profiling. */
  cpuProfDir?: string;
  listenersPerLb: number;
  /** `dataplane.engine` (OPENSLB_ENGINE); undefined leaves the server's default (auto). */
  engine?: 'auto' | 'kernel' | 'userspace';
}

/** Whether this build's `openslb serve` takes `--workers N`. */
export function serveHasWorkersFlag(): boolean {
  const help = execFileSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
  return /--workers\b/.test(help);
}

export class OpenSlbInstance {
  readonly process: Managed;
  readonly dataDir: string;
  private client: ApiClient | undefined;

  private constructor(
    readonly opts: OpenSlbOptions,
    proc: Managed,
    dataDir: string,
  ) {
    this.process = proc;
    this.dataDir = dataDir;
  }

  static async start(opts: OpenSlbOptions): Promise<OpenSlbInstance> {
    const dir = join(opts.runDir, opts.name);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const configFile = join(dir, 'openslb.yaml');
    writeFileSync(configFile, JSON.stringify(benchConfig({ ...opts, dataDir }), null, 2)); // JSON is YAML
    const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
    const args = [...nodeArgs, CLI, 'serve', '--config', configFile];
    if (opts.workers !== undefined) args.push('--workers', String(opts.workers));
    // Only the generated credentials file, never the caller's own cloud keys.
    const env = { ...process.env };
    delete env.ALIBABA_CLOUD_ACCESS_KEY_ID;
    delete env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
    if (opts.engine) env.OPENSLB_ENGINE = opts.engine;
    const proc = startProcess(opts.name, process.execPath, args, join(opts.runDir, `${opts.name}.log`), env);
    await waitForPort(LOOPBACK, opts.apiPort, 600);
    const instance = new OpenSlbInstance(opts, proc, dataDir);
    for (let i = 0; i < 100 && !existsSync(credentialsPath(dataDir)); i++) await sleep(50);
    const creds = await readCredentialsFile(credentialsPath(dataDir));
    instance.client = new ApiClient({ endpoint: `http://${LOOPBACK}:${opts.apiPort}`, ...creds });
    return instance;
  }

  get pid(): number {
    return this.process.child.pid!;
  }

  /** A signed NLB call; nested params (lists, objects) are flattened as the SDKs do. */
  async call(action: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const flat = flatParams(params);
    const { body } = await this.client!.call(NLB_VERSION, action, flat);
    return body;
  }

  /** Polls GetJobStatus until the job leaves Processing; bounded by attempts. */
  async waitForJob(jobId: string, pollMs = 5, attempts = 6000): Promise<string> {
    for (let i = 0; i < attempts; i++) {
      const { Status } = await this.call('GetJobStatus', { JobId: jobId });
      if (Status !== 'Processing') return Status as string;
      await sleep(pollMs);
    }
    throw new Error(`job ${jobId} still Processing after ${attempts} polls`);
  }

  async createLoadBalancer(): Promise<{ id: string; vip: string }> {
    const { LoadbalancerId } = await this.call('CreateLoadBalancer', {
      AddressType: 'Intranet',
      VpcId: 'vpc-local',
      ZoneMappings: BENCH_ZONE_MAPPINGS,
    });
    for (let i = 0; i < 2000; i++) {
      const lb = await this.call('GetLoadBalancerAttribute', { LoadBalancerId: LoadbalancerId });
      if (lb.LoadBalancerStatus === 'Active') {
        return { id: LoadbalancerId, vip: lb.ZoneMappings[0].LoadBalancerAddresses[0].PrivateIPv4Address };
      }
      await sleep(10);
    }
    throw new Error(`load balancer ${LoadbalancerId} never became Active`);
  }

  /** An IP server group with health checks off (probes would disturb iperf3) and one backend. */
  async createServerGroup(protocol: 'TCP' | 'UDP', backendPort: number): Promise<string> {
    const { ServerGroupId, JobId } = await this.call('CreateServerGroup', {
      ServerGroupName: `bench-${protocol.toLowerCase()}-${backendPort}`,
      ServerGroupType: 'Ip',
      VpcId: 'vpc-local',
      Protocol: protocol,
      HealthCheckConfig: { HealthCheckEnabled: false },
    });
    await this.waitForJob(JobId);
    const added = await this.call('AddServersToServerGroup', {
      ServerGroupId,
      Servers: [{ ServerId: LOOPBACK, ServerType: 'Ip', ServerIp: LOOPBACK, Port: backendPort, Weight: 100 }],
    });
    await this.waitForJob(added.JobId);
    return ServerGroupId;
  }

  /** CreateListener; returns at once with the IDs (the job runs on). */
  async createListener(
    lbId: string,
    protocol: 'TCP' | 'UDP',
    port: number,
    serverGroupId: string,
  ): Promise<{ listenerId: string; jobId: string }> {
    const r = await this.call('CreateListener', {
      LoadBalancerId: lbId,
      ListenerProtocol: protocol,
      ListenerPort: port,
      ServerGroupId: serverGroupId,
    });
    return { listenerId: r.ListenerId, jobId: r.JobId };
  }

  async createRunningListener(lbId: string, protocol: 'TCP' | 'UDP', port: number, serverGroupId: string): Promise<string> {
    const { listenerId, jobId } = await this.createListener(lbId, protocol, port, serverGroupId);
    const status = await this.waitForJob(jobId);
    if (status !== 'Succeeded') throw new Error(`CreateListener ${protocol}:${port} job ${status}`);
    return listenerId;
  }
}

/** The zone mappings of a bench load balancer: one vSwitch per zone, from `benchConfig`'s pools. */
export const BENCH_ZONE_MAPPINGS = [
  { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-bench-a' },
  { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-bench-b' },
];

/**
 * The config file of an OpenSLB under test: API on loopback, no admin listener, VIP pools
 * 127.0.<vipNet>.0/24 and 127.0.<vipNet+1>.0/24, and room for `listenersPerLb` listeners per NLB.
 */
export function benchConfig(opts: { apiPort: number; dataDir: string; vipNet: number; listenersPerLb: number }): Record<string, unknown> {
  return {
    apiListen: `${LOOPBACK}:${opts.apiPort}`,
    adminListen: '',
    dataDir: opts.dataDir,
    regions: [
      {
        id: 'cn-hangzhou',
        localName: { 'en-US': 'China (Hangzhou)' },
        zones: [
          { id: 'cn-hangzhou-a', localName: { 'en-US': 'Hangzhou Zone A' } },
          { id: 'cn-hangzhou-b', localName: { 'en-US': 'Hangzhou Zone B' } },
        ],
        vpcs: [
          {
            id: 'vpc-local',
            cidr: '127.0.0.0/8',
            vSwitches: [
              { id: 'vsw-bench-a', zoneId: 'cn-hangzhou-a', vipPool: `127.0.${opts.vipNet}.0/24` },
              { id: 'vsw-bench-b', zoneId: 'cn-hangzhou-b', vipPool: `127.0.${opts.vipNet + 1}.0/24` },
            ],
          },
        ],
      },
    ],
    // The large-store test puts up to BENCH_LISTENERS_PER_LB listeners on each NLB.
    quotas: { nlbListenersPerLoadBalancer: Math.max(50, opts.listenersPerLb + 100), nlbLoadBalancers: 60 },
  };
}
