/** Helpers for the fault-injection tests: a test server on VIPs of its own, and the admin API. */
import type { Config } from '../../src/config/config.js';
import type { Scheduler } from '../../src/util/scheduler.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * VIP pools no other test file uses (derived from the pid), so listeners on fixed ports never
 * meet another test's listeners on the same address.
 */
export function privateVipPools(config: Config): void {
  const n = process.pid % 200;
  const [a, b] = config.regions[0].vpcs[0].vSwitches;
  a.vipPool = `127.${40 + (n % 4)}.${n}.0/24`;
  b.vipPool = `127.${44 + (n % 4)}.${n}.0/24`;
}

export function startFaultTestServer(
  opts: { configure?: (c: Config) => void; storeUrl?: string; timers?: Scheduler } = {},
): Promise<TestServer> {
  return startTestServer({
    storeUrl: opts.storeUrl,
    timers: opts.timers,
    configure: (c) => {
      privateVipPools(c);
      opts.configure?.(c);
    },
  });
}

export async function admin(
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export { until } from '../support/wait.js';
