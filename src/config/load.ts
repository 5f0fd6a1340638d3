/** Builds the Config: defaults, then the YAML file (`--config`), then flags. Bad config fails fast. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseCidr } from '../util/ipv4.js';
import { NODE_ID_PATTERN } from '../domain/node-identity.js';
import {
  type Config,
  type DataPlaneEngine,
  DATAPLANE_ENGINES,
  type GwlbEngine,
  GWLB_ENGINES,
  type Quotas,
  type RegionConfig,
  type Role,
  type UserspaceRelay,
  USERSPACE_RELAYS,
  defaultConfig,
} from './config.js';

export class ConfigError extends Error {}

/** Flags as commander hands them over (all optional). */
export interface ConfigFlags {
  config?: string;
  apiListen?: string;
  adminListen?: string;
  dataDir?: string;
  store?: string;
  role?: string;
  workers?: string;
  logLevel?: string;
  logFormat?: string;
  jobDelay?: string;
  nodeId?: string;
  nodeAddress?: string;
  engine?: string;
  /** `--connection-log`: one log line per ended connection of a user-space listener. */
  connectionLog?: boolean;
}

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const config = defaultConfig();
  if (flags.config) applyFile(config, readYaml(flags.config));
  if (env.OPENSLB_STORE && !flags.store) config.storeUrl = env.OPENSLB_STORE;
  if (flags.apiListen !== undefined) config.apiListen = flags.apiListen;
  if (flags.adminListen !== undefined) config.adminListen = flags.adminListen;
  if (flags.dataDir !== undefined) config.dataDir = flags.dataDir;
  if (flags.store !== undefined) config.storeUrl = flags.store;
  if (flags.role !== undefined) config.role = flags.role as Role;
  if (flags.workers !== undefined) config.workers = Number(flags.workers);
  if (flags.logLevel !== undefined) config.logLevel = flags.logLevel;
  if (flags.logFormat !== undefined) config.logFormat = flags.logFormat as Config['logFormat'];
  if (flags.jobDelay !== undefined) config.jobs.extraDelayMs = Number(flags.jobDelay);
  if (flags.nodeId !== undefined) config.node.id = flags.nodeId;
  if (flags.nodeAddress !== undefined) config.node.address = flags.nodeAddress;
  if (env.OPENSLB_ENGINE && !flags.engine) config.dataplane.engine = env.OPENSLB_ENGINE as DataPlaneEngine;
  if (flags.engine !== undefined) config.dataplane.engine = flags.engine as DataPlaneEngine;
  if (env.OPENSLB_GWLB_ENGINE) config.dataplane.gwlbEngine = env.OPENSLB_GWLB_ENGINE as GwlbEngine;
  if (flags.connectionLog) config.dataplane.connectionLog = true;
  validate(config);
  return config;
}

function readYaml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  const doc = parseYaml(text) as unknown;
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${path}: the top level must be a mapping`);
  return doc as Record<string, unknown>;
}

const TOP_KEYS = [
  'apiListen',
  'adminListen',
  'dataDir',
  'store',
  'role',
  'workers',
  'logLevel',
  'logFormat',
  'regions',
  'quotas',
  'jobs',
  'dataplane',
  'api',
  'node',
];

function applyFile(config: Config, doc: Record<string, unknown>): void {
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.includes(key)) throw new ConfigError(`unknown config key "${key}" (known: ${TOP_KEYS.join(', ')})`);
  }
  if (doc.apiListen !== undefined) config.apiListen = String(doc.apiListen);
  if (doc.adminListen !== undefined) config.adminListen = String(doc.adminListen);
  if (doc.dataDir !== undefined) config.dataDir = String(doc.dataDir);
  if (doc.store !== undefined) config.storeUrl = String(doc.store);
  if (doc.role !== undefined) config.role = String(doc.role) as Role;
  if (doc.workers !== undefined) config.workers = Number(doc.workers);
  if (doc.logLevel !== undefined) config.logLevel = String(doc.logLevel);
  if (doc.logFormat !== undefined) config.logFormat = String(doc.logFormat) as Config['logFormat'];
  if (doc.regions !== undefined) {
    if (!Array.isArray(doc.regions)) throw new ConfigError('regions must be a list');
    config.regions = doc.regions as RegionConfig[];
  }
  if (doc.quotas !== undefined) {
    const quotas = doc.quotas as Record<string, unknown>;
    for (const [key, value] of Object.entries(quotas)) {
      if (!(key in config.quotas)) throw new ConfigError(`unknown quota "${key}" (known: ${Object.keys(config.quotas).join(', ')})`);
      if (!Number.isInteger(value) || (value as number) < 0) throw new ConfigError(`quota ${key} must be a non-negative integer`);
      config.quotas[key as keyof Quotas] = value as number;
    }
  }
  if (doc.dataplane !== undefined) {
    const dp = doc.dataplane as Record<string, unknown>;
    for (const [key, raw] of Object.entries(dp)) {
      if (!(key in config.dataplane))
        throw new ConfigError(`unknown dataplane setting "${key}" (known: ${Object.keys(config.dataplane).join(', ')})`);
      if (key === 'engine') {
        config.dataplane.engine = String(raw) as DataPlaneEngine;
        continue;
      }
      if (key === 'gwlbEngine') {
        config.dataplane.gwlbEngine = String(raw) as GwlbEngine;
        continue;
      }
      if (key === 'userspaceRelay') {
        config.dataplane.userspaceRelay = String(raw) as UserspaceRelay;
        continue;
      }
      if (key === 'connectionLog') {
        if (typeof raw !== 'boolean') throw new ConfigError('dataplane.connectionLog must be true or false');
        config.dataplane.connectionLog = raw;
        continue;
      }
      // The option class may be written in hex, as GENEVE classes usually are ("0x0108").
      const value = typeof raw === 'string' && /^0x[0-9a-f]{1,4}$/i.test(raw) ? parseInt(raw, 16) : raw;
      const min = key === 'gwlbOptionClass' ? 0 : 1;
      const max = key === 'maxUdpSessionsPerListener' ? 1_000_000 : 65535;
      if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
        throw new ConfigError(`dataplane.${key} must be an integer from ${min} to ${max}`);
      }
      config.dataplane[key as 'maxPortRange' | 'gwlbOptionClass' | 'maxUdpSessionsPerListener'] = value as number;
    }
  }
  if (doc.api !== undefined) {
    const api = doc.api as Record<string, unknown>;
    for (const [key, value] of Object.entries(api)) {
      if (!(key in config.api)) throw new ConfigError(`unknown api setting "${key}" (known: ${Object.keys(config.api).join(', ')})`);
      if (!Number.isInteger(value) || (value as number) < 1) throw new ConfigError(`api.${key} must be a positive integer`);
      config.api[key as keyof Config['api']] = value as number;
    }
  }
  if (doc.jobs !== undefined) {
    const jobs = doc.jobs as Record<string, unknown>;
    for (const [key, value] of Object.entries(jobs)) {
      if (!(key in config.jobs)) throw new ConfigError(`unknown jobs setting "${key}" (known: ${Object.keys(config.jobs).join(', ')})`);
      config.jobs[key as keyof Config['jobs']] = Number(value);
    }
  }
  if (doc.node !== undefined) {
    const node = doc.node as Record<string, unknown>;
    for (const [key, value] of Object.entries(node ?? {})) {
      if (key !== 'id' && key !== 'address') throw new ConfigError(`unknown node setting "${key}" (known: id, address)`);
      config.node[key] = String(value);
    }
  }
}

function validate(config: Config): void {
  checkHostPort('apiListen', config.apiListen);
  if (config.adminListen !== '') checkHostPort('adminListen', config.adminListen);
  if (config.logFormat !== undefined && !['json', 'pretty'].includes(config.logFormat))
    throw new ConfigError('logFormat must be json or pretty');
  if (!['all', 'api', 'dataplane'].includes(config.role)) throw new ConfigError(`role must be all, api or dataplane`);
  if (!DATAPLANE_ENGINES.includes(config.dataplane.engine)) throw new ConfigError(`dataplane.engine must be auto, kernel or userspace`);
  if (!GWLB_ENGINES.includes(config.dataplane.gwlbEngine)) throw new ConfigError(`dataplane.gwlbEngine must be auto, bpf or userspace`);
  if (!USERSPACE_RELAYS.includes(config.dataplane.userspaceRelay)) throw new ConfigError(`dataplane.userspaceRelay must be auto or js`);
  if (!Number.isInteger(config.workers) || config.workers < 0 || config.workers > 1024) {
    throw new ConfigError('workers must be an integer from 0 to 1024 (0 or 1: the data plane runs in the serving process)');
  }
  if (config.role !== 'all' && !config.storeUrl) {
    throw new ConfigError(`role ${config.role} shares a control plane and needs --store postgres://…`);
  }
  if (config.storeUrl && !/^postgres(ql)?:\/\//.test(config.storeUrl)) {
    throw new ConfigError('store must be a postgres:// URL (without it, SQLite in the data directory is used)');
  }
  for (const [key, value] of Object.entries(config.jobs)) {
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(`jobs.${key} must be a non-negative number of milliseconds`);
  }
  // Node refuses a headers timeout longer than the request timeout.
  if (config.api.headersTimeoutMs > config.api.requestTimeoutMs) {
    throw new ConfigError('api.headersTimeoutMs must not exceed api.requestTimeoutMs');
  }
  if (config.node.id !== undefined && !NODE_ID_PATTERN.test(config.node.id)) {
    throw new ConfigError(`node.id "${config.node.id}" must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  if (config.regions.length === 0) throw new ConfigError('at least one region is required');
  const ids = new Set<string>();
  for (const region of config.regions) {
    need(region, ['id', 'localName', 'zones', 'vpcs'], 'region');
    unique(ids, region.id, 'region');
    if (!region.localName['en-US']) throw new ConfigError(`region ${region.id}: localName needs an en-US entry`);
    const zones = new Set<string>();
    for (const zone of region.zones) {
      need(zone, ['id', 'localName'], `zone in ${region.id}`);
      unique(zones, zone.id, 'zone');
    }
    if (region.publicIpv4Pool !== undefined && !parseCidr(String(region.publicIpv4Pool))) {
      throw new ConfigError(`region ${region.id}: publicIpv4Pool "${region.publicIpv4Pool}" is not an IPv4 CIDR`);
    }
    for (const vpc of region.vpcs) {
      need(vpc, ['id', 'cidr', 'vSwitches'], `vpc in ${region.id}`);
      unique(ids, vpc.id, 'vpc');
      if (!parseCidr(vpc.cidr)) throw new ConfigError(`vpc ${vpc.id}: cidr "${vpc.cidr}" is not an IPv4 CIDR`);
      for (const vsw of vpc.vSwitches) {
        need(vsw, ['id', 'zoneId', 'vipPool'], `vSwitch in ${vpc.id}`);
        unique(ids, vsw.id, 'vSwitch');
        if (!zones.has(vsw.zoneId)) throw new ConfigError(`vSwitch ${vsw.id}: zone ${vsw.zoneId} is not a zone of ${region.id}`);
        if (!parseCidr(vsw.vipPool)) throw new ConfigError(`vSwitch ${vsw.id}: vipPool "${vsw.vipPool}" is not an IPv4 CIDR`);
        if (vsw.cidr !== undefined && !parseCidr(String(vsw.cidr)))
          throw new ConfigError(`vSwitch ${vsw.id}: cidr "${vsw.cidr}" is not an IPv4 CIDR`);
      }
    }
  }
}

function checkHostPort(name: string, value: string): void {
  const m = /^(.+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`${name} must be host:port, got "${value}"`);
}

function need(obj: object, keys: string[], what: string): void {
  for (const key of keys) {
    if ((obj as Record<string, unknown>)[key] === undefined) throw new ConfigError(`${what}: missing "${key}"`);
  }
}

function unique(seen: Set<string>, id: string, what: string): void {
  if (seen.has(id)) throw new ConfigError(`duplicate ${what} id ${id}`);
  seen.add(id);
}

export function splitHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  return { host: value.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(i + 1)) };
}
