/** Reads a running `openslb serve`'s admin listener (/workers, /nodes, /metrics). */
import type { ServeProcess } from './process.js';

export interface WorkerInfo {
  slot: number;
  nodeId: string;
  pid: number | undefined;
  ready: boolean;
  datagrams: boolean;
  restarts: number;
}

export interface NodeInfo {
  nodeId: string;
  address: string;
  heartbeatAt: number;
  appliedRevision: number;
  live: boolean;
}

/** The admin URL `openslb serve` printed on stderr. */
export function adminUrl(serve: ServeProcess): string {
  const m = /metrics on (http:\/\/[\d.]+:\d+)/.exec(serve.stderr());
  if (!m) throw new Error(`no admin URL in: ${serve.stderr()}`);
  return m[1];
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function listWorkers(admin: string): Promise<WorkerInfo[]> {
  return (await getJson<{ workers: WorkerInfo[] }>(`${admin}/workers`)).workers;
}

export async function listNodes(admin: string): Promise<NodeInfo[]> {
  return (await getJson<{ nodes: NodeInfo[] }>(`${admin}/nodes`)).nodes;
}

export async function metricsText(admin: string): Promise<string> {
  return (await fetch(`${admin}/metrics`)).text();
}

/** Polls `check` until it returns a value (not undefined); bounded by attempts. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, attempts = 300, pauseMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`gave up waiting: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
