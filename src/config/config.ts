import { availableParallelism } from 'node:os';

/**
 * One typed configuration, built from defaults ← YAML file ← command-line flags.
 * The defaults are what a newcomer gets with no flags (DESIGN.md, "Defaults a newcomer gets").
 */
export interface ZoneConfig {
  id: string;
  localName: LocalNames;
}

/** Display names per AcceptLanguage (`en-US` is required; others fall back to it). */
export type LocalNames = { 'en-US': string; 'zh-CN'?: string; ja?: string };

export interface VSwitchConfig {
  id: string;
  zoneId: string;
  /** CIDR from which load balancers in this vSwitch get their VIPs. */
  vipPool: string;
}

export interface VpcConfig {
  id: string;
  cidr: string;
  vSwitches: VSwitchConfig[];
}

export interface RegionConfig {
  id: string;
  localName: LocalNames;
  zones: ZoneConfig[];
  vpcs: VpcConfig[];
}

export interface Quotas {
  nlbLoadBalancers: number;
  nlbListenersPerLoadBalancer: number;
  nlbServerGroups: number;
  nlbServersPerServerGroup: number;
  nlbServersPerLoadBalancer: number;
  nlbAdditionalCertificatesPerLoadBalancer: number;
  gwlbLoadBalancers: number;
  gwlbServerGroups: number;
  gwlbServersPerServerGroup: number;
}

export type Role = 'all' | 'api' | 'dataplane';

export type DataPlaneEngine = 'auto' | 'kernel' | 'userspace';
export const DATAPLANE_ENGINES: readonly DataPlaneEngine[] = ['auto', 'kernel', 'userspace'];

export interface Config {
  apiListen: string; // host:port
  adminListen: string; // host:port; '' disables the admin listener
  dataDir: string;
  /** `postgres://…` for a fleet; undefined means SQLite in dataDir. */
  storeUrl?: string;
  role: Role;
  /**
   * Data-plane worker processes (`serve --workers`). 0 or 1: the data plane runs inside the
   * serving process. More: a primary runs the API and job runner, and each worker is its own
   * data-plane node accepting on the shared listening sockets.
   */
  workers: number;
  logLevel: string;
  regions: RegionConfig[];
  quotas: Quotas;
  dataplane: {
    /** The largest port range (EndPort − StartPort + 1) a listener may bind on this node. */
    maxPortRange: number;
    /**
     * GENEVE option class (0x0000–0xFFFF) of the options the GWLB adds for appliances (endpoint
     * id, attachment id, flow cookie). Alibaba does not publish its class; the default 0x0108 is
     * AWS GWLB's, with the same three types, so appliances written for AWS decode them as is.
     */
    gwlbOptionClass: number;
    /**
     * Which engine forwards plain TCP / UDP listeners: `kernel` (nftables + conntrack; needs root
     * or CAP_NET_ADMIN, `nft` and `conntrack`), `userspace` (Node), or `auto` (the default: the
     * kernel when it is usable here, else user space). TLS, PROXY protocol and qch listeners
     * always run in user space.
     */
    engine: DataPlaneEngine;
  };
  jobs: {
    /** Extra time a job stays Processing after the data plane applied it, to mimic the cloud. */
    extraDelayMs: number;
    /** A data-plane node that has not heartbeaten for this long is left out of job completion. */
    nodeTimeoutMs: number;
  };
}

export const DEFAULT_QUOTAS: Quotas = {
  nlbLoadBalancers: 60,
  nlbListenersPerLoadBalancer: 50,
  nlbServerGroups: 3000,
  nlbServersPerServerGroup: 400,
  nlbServersPerLoadBalancer: 400,
  nlbAdditionalCertificatesPerLoadBalancer: 25,
  gwlbLoadBalancers: 50,
  gwlbServerGroups: 50,
  gwlbServersPerServerGroup: 300,
};

export function defaultConfig(): Config {
  return {
    workers: availableParallelism(),
    apiListen: '127.0.0.1:8080',
    adminListen: '127.0.0.1:8081',
    dataDir: './.openslb',
    role: 'all',
    logLevel: 'info',
    regions: [
      {
        id: 'cn-hangzhou',
        localName: { 'en-US': 'China (Hangzhou)', 'zh-CN': '华东1（杭州）', ja: '中国 (杭州)' },
        zones: [
          { id: 'cn-hangzhou-a', localName: { 'en-US': 'Hangzhou Zone A', 'zh-CN': '杭州 可用区A', ja: '杭州 ゾーンA' } },
          { id: 'cn-hangzhou-b', localName: { 'en-US': 'Hangzhou Zone B', 'zh-CN': '杭州 可用区B', ja: '杭州 ゾーンB' } },
        ],
        vpcs: [
          {
            id: 'vpc-local',
            cidr: '127.0.0.0/8',
            vSwitches: [
              { id: 'vsw-local-a', zoneId: 'cn-hangzhou-a', vipPool: '127.0.1.0/24' },
              { id: 'vsw-local-b', zoneId: 'cn-hangzhou-b', vipPool: '127.0.2.0/24' },
            ],
          },
        ],
      },
    ],
    quotas: { ...DEFAULT_QUOTAS },
    dataplane: { maxPortRange: 1024, gwlbOptionClass: 0x0108, engine: 'auto' },
    jobs: { extraDelayMs: 0, nodeTimeoutMs: 10_000 },
  };
}

export function localName(names: LocalNames, language: string): string {
  return (names as Record<string, string | undefined>)[language] ?? names['en-US'];
}
