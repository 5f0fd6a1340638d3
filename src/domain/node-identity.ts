/**
 * Who this machine is in the fleet. A data-plane node's identity must survive restarts, so a
 * restarted node takes over its own row in the store instead of leaving a stale one behind: it
 * comes from config (`node.id`, `--node-id`) or, failing that, from `<dataDir>/node-id`, which
 * the first start writes (host name plus a random suffix, so two machines with one host name
 * still differ). Cluster workers are `<identity>-w<slot>`.
 *
 * `nodeIdentity` is the one place to ask (the kernel engine names its nftables table after it).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';

export const NODE_ID_FILE = 'node-id';

/** Letters, digits, `.`, `_`, `-`; at most 63 characters (also fits a table or metric label). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface NodeIdentitySource {
  /** Configured identity; wins over the file. */
  id?: string;
  dataDir: string;
}

export function nodeIdentity(source: NodeIdentitySource): string {
  if (source.id) return checked(source.id, 'node.id');
  const file = join(source.dataDir, NODE_ID_FILE);
  let existing: string | undefined;
  try {
    existing = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing) return checked(existing, file);
  const fresh = `${
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 50) || 'node'
  }-${randomBytes(4).toString('hex')}`;
  mkdirSync(source.dataDir, { recursive: true, mode: 0o700 });
  // 'wx': two processes starting at once on one data dir agree on whoever wrote first.
  try {
    writeFileSync(file, `${fresh}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return checked(readFileSync(file, 'utf8').trim(), file);
    throw err;
  }
  return fresh;
}

/** A cluster worker's node id. */
export function workerNodeId(identity: string, slot: number): string {
  return `${identity}-w${slot}`;
}

function checked(id: string, where: string): string {
  if (!NODE_ID_PATTERN.test(id)) {
    throw new Error(`${where}: node id "${id}" must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return id;
}

/**
 * The address other people reach this machine by, shown in `/nodes`: configured, or the first
 * non-internal IPv4 address, or (a machine with only a loopback, e.g. a test namespace) the
 * API listen host.
 */
export function nodeAddress(configured: string | undefined, listenHost: string): string {
  if (configured) return configured;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost;
}

/**
 * The machine a node runs on: a cluster worker's node id is `<identity>-w<slot>`, and its
 * workers share one machine's view of the network (health verdicts count once per machine).
 */
export function machineOf(nodeId: string): string {
  return nodeId.replace(/-w\d+$/, '');
}
