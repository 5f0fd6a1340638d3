/**
 * `npm run chaos`: kill -9 each data-plane worker, then the primary, of a real
 * `openslb serve --workers 2` under load, and report
 *   - acknowledged writes lost (must be 0): every CreateServerGroup answered 200 must exist
 *     after the primary was killed and restarted on the same data directory;
 *   - connections dropped on surviving workers (must be 0): long-lived TCP connections through
 *     a Running listener, each attributed to the worker process holding it (`ss -p`), must keep
 *     answering when another worker dies;
 *   - recovery times: a killed worker's slot running again and forwarding new connections; the
 *     API answering and the listener forwarding after the primary restarts.
 *
 * Loopback only (VIPs 127.0.1.x, backend 127.0.3.61), bounded: a fixed number of connections,
 * one writer, and a hard deadline. Exits 1 when a must-be-0 figure is not 0.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, stopProcess, type ServeProcess } from '../test/support/process.js';
import { startTcpBackend } from '../test/support/backends.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi, type TestServer } from '../test/support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../test/support/nlb-setup.js';

const LISTENER_PORT = 7391;
const CONNECTIONS = 16;
const DEADLINE_MS = 240_000;
const credentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };

const dir = mkdtempSync(join(tmpdir(), `openslb-chaos-${process.pid}-`));
const dataDir = join(dir, 'data');
writeFileSync(join(dir, 'openslb.yaml'), 'quotas:\n  nlbServerGroups: 100000\n');
const serveArgs = [
  '--config',
  join(dir, 'openslb.yaml'),
  '--data-dir',
  dataDir,
  '--workers',
  '2',
  '--api-listen',
  '127.0.0.1:0',
  '--admin-listen',
  '127.0.0.1:0',
  '--log-level',
  'warn',
];

const deadline = setTimeout(() => {
  console.error(`chaos: still running after ${DEADLINE_MS / 1000} s; giving up`);
  process.exit(2);
}, DEADLINE_MS);
deadline.unref();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Serving {
  proc: ServeProcess;
  api: Pick<TestServer, 'host' | 'port'>;
  admin: string;
}

async function serve(): Promise<Serving> {
  const proc = await startServe(serveArgs, credentials);
  const url = new URL(proc.apiUrl);
  const admin = /metrics on (http:\/\/[\d.]+:\d+)/.exec(proc.stderr())?.[1];
  if (!admin) throw new Error('no admin address in the serve output');
  return { proc, api: { host: url.hostname, port: Number(url.port) }, admin };
}

async function workers(admin: string): Promise<Array<{ slot: number; pid?: number; ready: boolean }>> {
  return ((await (await fetch(`${admin}/workers`)).json()) as { workers: Array<{ slot: number; pid?: number; ready: boolean }> }).workers;
}

/** A long-lived client connection that answers pings through the listener. */
class Client {
  readonly socket: net.Socket;
  private buffered = '';
  closed = false;
  constructor(host: string) {
    this.socket = net.connect(LISTENER_PORT, host);
    this.socket.setNoDelay(true);
    this.socket.on('data', (c: Buffer) => (this.buffered += c.toString()));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
  }
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }
  /** True when a ping came back within the bound. */
  async ping(text: string, boundMs = 5000): Promise<boolean> {
    if (this.closed) return false;
    this.buffered = '';
    this.socket.write(text);
    for (let waited = 0; waited < boundMs; waited += 10) {
      if (this.buffered.includes(text)) return true;
      if (this.closed) return false;
      await sleep(10);
    }
    return false;
  }
}

/** Which process holds the proxy side of each client connection, from `ss -tnp`. */
function ownerPids(clients: Client[]): Map<Client, number | undefined> {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${LISTENER_PORT} )`]).toString();
  const byPeerPort = new Map<number, number>();
  for (const line of out.split('\n')) {
    const m = /\S+:\d+\s+\S+:(\d+)\s+users:\(\("[^"]*",pid=(\d+)/.exec(line);
    if (m) byPeerPort.set(Number(m[1]), Number(m[2]));
  }
  return new Map(clients.map((c) => [c, byPeerPort.get(c.localPort)]));
}

async function newConnectionWorks(vip: string): Promise<boolean> {
  const c = new Client(vip);
  try {
    await c.ready();
    return await c.ping('fresh', 2000);
  } catch {
    return false;
  } finally {
    c.socket.destroy();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, boundMs = 60_000): Promise<number> {
  const started = Date.now();
  let lastError = '';
  while (Date.now() - started < boundMs) {
    const ok = await check().catch((err: Error) => {
      lastError = err.message;
      return false;
    });
    if (ok) return Date.now() - started;
    await sleep(25);
  }
  throw new Error(`${what}: not within ${boundMs / 1000} s${lastError ? ` (${lastError})` : ''}`);
}

/** One writer, as fast as the API answers: CreateServerGroup, remembering every acknowledged id. */
class Writer {
  readonly acknowledged: string[] = [];
  failures = 0;
  private stopped = false;
  private done: Promise<void> | undefined;
  constructor(private target: () => Pick<TestServer, 'host' | 'port'>) {}
  start(): void {
    this.done = (async () => {
      for (let i = 0; !this.stopped; i++) {
        try {
          const r = await callApi(this.target(), NLB, 'CreateServerGroup', {
            ServerGroupName: `chaos-${i}`,
            VpcId: 'vpc-local',
            ServerGroupType: 'Ip',
          });
          this.acknowledged.push(r.ServerGroupId as string);
        } catch {
          this.failures++;
          await sleep(20);
        }
      }
    })();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

async function allServerGroupIds(api: Pick<TestServer, 'host' | 'port'>): Promise<Set<string>> {
  const ids = new Set<string>();
  let token: string | undefined;
  do {
    const page = await callApi(
      api,
      NLB,
      'ListServerGroups',
      { MaxResults: 100, ...(token ? { NextToken: token } : {}) },
      { placement: 'query' },
    );
    for (const g of page.ServerGroups as Array<{ ServerGroupId: string }>) ids.add(g.ServerGroupId);
    token = page.NextToken || undefined;
  } while (token);
  return ids;
}

const report: string[] = [];
let failed = false;
let current: Serving | undefined;
const backend = await startTcpBackend('127.0.3.61', 'b');
try {
  current = await serve();
  const lb = await createActiveLoadBalancer(current.api as TestServer);
  const sg = await createServerGroup(current.api as TestServer, {}, [{ ip: backend.host, port: backend.port }]);
  await createRunningListener(current.api as TestServer, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: LISTENER_PORT,
    ServerGroupId: sg,
  });
  const vip = lb.vips[0];
  await waitFor('every worker forwarding', async () => (await workers(current!.admin)).every((w) => w.ready) && newConnectionWorks(vip));

  const writer = new Writer(() => current!.api);
  writer.start();

  for (const slot of (await workers(current.admin)).map((w) => w.slot)) {
    let clients: Client[] = [];
    for (let i = 0; i < CONNECTIONS; i++) clients.push(new Client(vip));
    await Promise.all(clients.map((c) => c.ready()));
    // Each connection is checked before the kill, so a later failure is the kill's doing.
    clients = (await Promise.all(clients.map(async (c) => ((await c.ping('before')) ? c : undefined)))).filter((c): c is Client => !!c);
    const owners = ownerPids(clients);
    const victim = (await workers(current.admin)).find((w) => w.slot === slot)?.pid;
    if (!victim) throw new Error(`worker slot ${slot} has no pid`);
    const onVictim = clients.filter((c) => owners.get(c) === victim);
    const survivors = clients.filter((c) => owners.get(c) !== undefined && owners.get(c) !== victim);

    process.kill(victim, 'SIGKILL');
    const killedAt = Date.now();
    const survivorResults = await Promise.all(survivors.map((c) => c.ping('after')));
    const dropped = survivorResults.filter((ok) => !ok).length;
    const newDuring = await newConnectionWorks(vip);
    let seen = '';
    const recovery = await waitFor(`worker slot ${slot} back`, async () => {
      const all = await workers(current!.admin);
      const w = all.find((x) => x.slot === slot);
      const forwards = await newConnectionWorks(vip);
      seen = `${JSON.stringify(all)}, new connection ${forwards ? 'served' : 'refused'}`;
      return !!w && w.ready && w.pid !== victim && forwards;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${seen}`);
    });
    report.push(
      `kill -9 worker slot ${slot} (pid ${victim}): ${onVictim.length} of ${clients.length} connections were on it (lost with it); ` +
        `${dropped} of ${survivors.length} on the surviving worker dropped (must be 0); ` +
        `new connections while it was down: ${newDuring ? 'served' : 'REFUSED'}; slot running and forwarding again after ${Date.now() - killedAt} ms (${recovery} ms of polling)`,
    );
    if (dropped > 0) failed = true;
    for (const c of clients) c.socket.destroy();
  }

  // The primary: its workers exit with it (by design), the writer's calls fail meanwhile.
  const ackedBefore = writer.acknowledged.length;
  const primaryPid = current.proc.child.pid!;
  current.proc.child.kill('SIGKILL');
  const killedAt = Date.now();
  await new Promise<void>((r) =>
    current!.proc.child.exitCode !== null || current!.proc.child.signalCode !== null ? r() : current!.proc.child.once('exit', () => r()),
  );
  current = await serve();
  const apiBack = Date.now() - killedAt;
  await waitFor('listener forwarding after the restart', () => newConnectionWorks(vip));
  const forwardingBack = Date.now() - killedAt;
  await sleep(500);
  await writer.stop();

  const stored = await allServerGroupIds(current.api);
  const lost = writer.acknowledged.filter((id) => !stored.has(id));
  report.push(
    `kill -9 primary (pid ${primaryPid}) with ${ackedBefore} writes acknowledged so far: API answering again ${apiBack} ms after the kill ` +
      `(restart included), listener forwarding after ${forwardingBack} ms`,
  );
  report.push(
    `acknowledged writes: ${writer.acknowledged.length}, lost: ${lost.length} (must be 0); calls refused or cut while processes were down: ${writer.failures}`,
  );
  if (lost.length > 0) failed = true;
} catch (err) {
  failed = true;
  report.push(`chaos run failed: ${err instanceof Error ? err.message : String(err)}`);
  if (current) {
    const child = current.proc.child;
    report.push(
      `serve process: exit ${child.exitCode ?? child.signalCode ?? 'running'}; its last output:\n${current.proc.stderr().slice(-1500)}`,
    );
  }
} finally {
  if (current) await stopProcess(current.proc.child);
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(['openslb chaos (loopback, --workers 2)', ...report.map((l) => `- ${l}`)].join('\n'));
process.exit(failed ? 1 : 0);
