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
  /**
   * The vSwitch's own CIDR (default: its vipPool). A backend whose address it holds is reported
   * in the vSwitch's zone (ListServerGroupServers `ZoneId`).
   */
  cidr?: string;
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
  /**
   * Where the public (EIP) addresses of Internet NLBs come from, one per zone mapping; the data
   * plane serves the listeners on them as on the VIPs. Default DEFAULT_PUBLIC_IPV4_POOL.
   */
  publicIpv4Pool?: string;
}

/** A loopback range, so an Internet NLB's public address works on one machine out of the box. */
export const DEFAULT_PUBLIC_IPV4_POOL = '127.0.100.0/24';

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
export type GwlbEngine = 'auto' | 'bpf' | 'userspace';
export const GWLB_ENGINES: readonly GwlbEngine[] = ['auto', 'bpf', 'userspace'];
export type UserspaceRelay = 'auto' | 'js';
export const USERSPACE_RELAYS: readonly UserspaceRelay[] = ['auto', 'js'];

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
  /** `json` (default; what log collectors parse) or `pretty` (one readable line per entry). */
  logFormat?: 'json' | 'pretty';
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
     * UDP sessions (client address → upstream socket) one listener keeps at once on a node.
     * Each holds a descriptor; past the cap a new client's datagrams are dropped and counted.
     */
    maxUdpSessionsPerListener: number;
    /**
     * Which engine forwards plain TCP / UDP listeners: `kernel` (nftables + conntrack; needs root
     * or CAP_NET_ADMIN, `nft` and `conntrack`), `userspace` (Node), or `auto` (the default: the
     * kernel when it is usable here, else user space). TLS, PROXY protocol and qch listeners
     * always run in user space.
     */
    engine: DataPlaneEngine;
    /**
     * Which path forwards GWLB GENEVE: `bpf` (a tc-BPF program on the VIPs' interfaces; needs
     * root or CAP_BPF + CAP_NET_ADMIN, bpftool, tc and the object `npm install` builds with
     * clang), `userspace` (a Node socket per VIP), or `auto` (the default: BPF when it loads,
     * else user space, said in one log line).
     */
    gwlbEngine: GwlbEngine;
    /**
     * How user-space listeners move bytes for plain TCP (PROXY protocol too): `auto` (the
     * default) uses the native splice relay when the addon is built, `js` always relays in the
     * event loop. OPENSLB_USERSPACE_RELAY=js forces `js` for the whole process.
     */
    userspaceRelay: UserspaceRelay;
    /** One log line per ended connection of a user-space listener (default off). */
    connectionLog: boolean;
  };
  /** How much one client may ask of the API server (see ApiLimits). */
  api: ApiLimits;
  jobs: {
    /** Extra time a job stays Processing after the data plane applied it, to mimic the cloud. */
    extraDelayMs: number;
    /** A data-plane node that has not heartbeaten for this long is left out of job completion. */
    nodeTimeoutMs: number;
    /** A node silent this long is removed from the store (0: never; `openslb nodes forget` still can). */
    nodeForgetMs: number;
  };
  /** This machine as a data-plane node (see src/domain/node-identity.ts). */
  node: {
    /** Stable identity; default: kept in `<dataDir>/node-id`, created on first start. */
    id?: string;
    /** Address shown in `/nodes`; default: the machine's first non-internal IPv4 address. */
    address?: string;
  };
}

/**
 * Every bound the API server puts on a client, in one place. A request that breaks one is
 * answered with an Alibaba error (or, for a stalled one, its connection is closed) before
 * any signature or parameter work is done.
 */
export interface ApiLimits {
  /** Largest request body. */
  maxBodyBytes: number;
  /** Largest request line plus headers (Node's maxHeaderSize). */
  maxHeaderBytes: number;
  /** Parameters in query and body together. */
  maxParams: number;
  /** Longest parameter name, in characters. */
  maxParamNameLength: number;
  /** The headers must have arrived this long after the connection (or the previous request). */
  headersTimeoutMs: number;
  /** The whole request, body included, must have arrived this long after it began. */
  requestTimeoutMs: number;
  /** How often the server looks for requests past those two bounds. */
  timeoutCheckIntervalMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are closed as they arrive, keeping descriptors for the rest of the process. */
  maxConnections: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  maxBodyBytes: 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxParams: 2000,
  maxParamNameLength: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  timeoutCheckIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 4096,
};

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
        publicIpv4Pool: DEFAULT_PUBLIC_IPV4_POOL,
      },
    ],
    quotas: { ...DEFAULT_QUOTAS },
    dataplane: {
      maxPortRange: 1024,
      gwlbOptionClass: 0x0108,
      maxUdpSessionsPerListener: 10_000,
      engine: 'auto',
      gwlbEngine: 'auto',
      userspaceRelay: 'auto',
      connectionLog: false,
    },
    api: { ...DEFAULT_API_LIMITS },
    jobs: { extraDelayMs: 0, nodeTimeoutMs: 10_000, nodeForgetMs: 600_000 },
    node: {},
  };
}

export function localName(names: LocalNames, language: string): string {
  return (names as Record<string, string | undefined>)[language] ?? names['en-US'];
}
