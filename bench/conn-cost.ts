/**
 * Proxy CPU per new TCP connection, OpenSLB (`--workers 0`, one process) next to a naive Node
 * pipe proxy (bench/lib/naive-tcp-proxy.mjs), with the same client and backend: a quick check for
 * per-connection work on the accept path. Loopback only; bounded by CONN_COST_N connections.
 *
 *   npm run build && node --import tsx bench/conn-cost.ts
 */
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenSlbInstance } from './lib/openslb-instance.js';
import { cpuSeconds, processTree, startProcess, stopAll, waitForPort } from './lib/processes.js';

const N = Number(process.env.CONN_COST_N ?? 6000);
const CONCURRENCY = 32;
const BACKEND_PORT = 21901;
const NAIVE_PORT = 21902;
const LISTEN_PORT = 21903;
const NAIVE_PROXY = fileURLToPath(new URL('./lib/naive-tcp-proxy.mjs', import.meta.url));
const runDir = mkdtempSync(join(tmpdir(), 'openslb-conn-cost-'));

const backend = net.createServer((s) => {
  s.on('data', (d) => s.end(d));
  s.on('error', () => undefined);
});
await new Promise<void>((r) => backend.listen(BACKEND_PORT, '127.0.0.1', r));

function oneConnection(host: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, host, () => s.write('ping'));
    s.on('data', () => undefined);
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
}

async function cpuPerConnection(pid: number, host: string, port: number): Promise<number> {
  for (let i = 0; i < 200; i++) await oneConnection(host, port); // warm up
  const pids = processTree(pid);
  const before = cpuSeconds(pids);
  let issued = 0;
  const worker = async () => {
    while (issued < N) {
      issued++;
      await oneConnection(host, port);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return ((cpuSeconds(pids) - before) * 1e6) / N;
}

try {
  const naive = startProcess('naive', process.execPath, [NAIVE_PROXY, String(NAIVE_PORT), String(BACKEND_PORT)], join(runDir, 'naive.log'));
  await waitForPort('127.0.0.1', NAIVE_PORT);
  const cpuProfDir = process.env.CONN_COST_PROFILE ? join(runDir, 'prof') : undefined;
  const openslb = await OpenSlbInstance.start({
    name: 'openslb',
    runDir,
    apiPort: 21904,
    vipNet: 99,
    workers: 0,
    listenersPerLb: 50,
    cpuProfDir,
  });
  const lb = await openslb.createLoadBalancer();
  const sg = await openslb.createServerGroup('TCP', BACKEND_PORT);
  await openslb.createRunningListener(lb.id, 'TCP', LISTEN_PORT, sg);
  for (let round = 1; round <= 3; round++) {
    const n = await cpuPerConnection(naive.child.pid!, '127.0.0.1', NAIVE_PORT);
    const o = await cpuPerConnection(openslb.process.child.pid!, lb.vip, LISTEN_PORT);
    console.log(
      `round ${round}: proxy CPU µs per connection — naive Node ${n.toFixed(0)}, OpenSLB ${o.toFixed(0)} (${(o / n).toFixed(2)}×)`,
    );
  }
} finally {
  await stopAll();
  backend.close();
  if (process.env.CONN_COST_PROFILE) console.log(`profile in ${join(runDir, 'prof')}`);
}
