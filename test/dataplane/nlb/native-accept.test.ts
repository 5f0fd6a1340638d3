/**
 * The native connection path of plain-TCP listeners: the addon accepts and connects, JS only
 * decides. What a user notices: the port can be re-bound at once after a listener closes, the
 * CPS limit and fault rules close clients before any backend hears of them, a refused or
 * silent backend is replaced by the next one, and the counters and log line come out as on
 * the JS path.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { TcpListener, type TcpListenerSettings } from '../../../src/dataplane/nlb/tcp-listener.js';
import { newListenerCounters } from '../../../src/dataplane/nlb/listener-metrics.js';
import { spliceRelay, spliceUnavailableReason } from '../../../src/dataplane/native/splice-relay.js';
import type { BackendTarget, UpstreamPool } from '../../../src/dataplane/nlb/upstream-pool.js';
import type { ConnectionLogEntry } from '../../../src/dataplane/nlb/connection-log.js';
import { countingPool } from '../../support/relay-rig.js';
import { until } from '../../support/wait.js';
import { decodeProxyV2, encodeProxyV2 } from '../../../src/dataplane/nlb/proxy-protocol.js';

const VIP = '127.0.6.1';
const BACKEND_HOST = '127.0.6.2';

function skipWithoutAddon(t: TestContext): boolean {
  if (spliceRelay()?.nativeAccept) return false;
  t.skip(`native accept unavailable: ${spliceUnavailableReason() ?? 'OPENSLB_USERSPACE_ACCEPT=js'}`);
  return true;
}

/** A backend that answers "hello from <name>" and echoes. */
async function backend(t: TestContext, name: string): Promise<BackendTarget> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.write(`hello from ${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, BACKEND_HOST, r));
  t.after(() => new Promise((r) => server.close(r)));
  const port = (server.address() as net.AddressInfo).port;
  return { key: `${BACKEND_HOST}:${port}`, host: BACKEND_HOST, port, slot: 0 };
}

/** A port nobody listens on (bound, then closed): connects to it are refused. */
async function refusingPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, BACKEND_HOST, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A backend that never answers a SYN: a listening socket in a stopped process whose accept
 * queue is full, so the kernel drops further SYNs and a connect can only time out.
 */
async function silentBackend(t: TestContext): Promise<BackendTarget> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s=require('net').createServer();s.listen({host:'${BACKEND_HOST}',port:0,backlog:1},()=>{process.stdout.write(String(s.address().port)+'\\n');});s.on('connection',()=>{});`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => {
    child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
    child.once('exit', () => reject(new Error('the silent backend exited')));
  });
  // Stopped, it accepts nothing more; fill its queue (backlog 1 holds two) with connects that complete.
  child.kill('SIGSTOP');
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect({ host: BACKEND_HOST, port });
    s.on('error', () => undefined);
    fillers.push(s);
  }
  t.after(() => {
    for (const s of fillers) s.destroy();
  });
  await new Promise((r) => setTimeout(r, 200));
  return { key: `${BACKEND_HOST}:${port}`, host: BACKEND_HOST, port, slot: 1 };
}

async function listener(t: TestContext, pool: UpstreamPool, extra: Partial<TcpListenerSettings> = {}, port = 0) {
  const clock = new ManualScheduler(Date.now());
  const counters = newListenerCounters();
  const log: ConnectionLogEntry[] = [];
  const l = new TcpListener(
    `lsn-native-${process.pid}`,
    { vips: [VIP], ports: [port], keepDestinationPort: false },
    { idleTimeoutMs: 60_000, cps: 0, mss: 0, connectTimeoutMs: 5000, splice: spliceRelay(), logConnection: (e) => log.push(e), ...extra },
    pool,
    clock,
    clock,
    counters,
  );
  await l.bind();
  t.after(() => l.destroy());
  assert.equal(l.acceptPath, 'native');
  return { l, clock, counters, log, port: l.addresses[0].port };
}

/** Connects, and resolves with everything the client got until the listener or backend closed. */
function exchange(port: number, send?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: VIP, port });
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
      if (send !== undefined && got.includes(send)) s.end();
    });
    s.on('connect', () => send !== undefined && s.write(send));
    s.on('close', () => resolve(got));
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(got) : reject(err)));
  });
}

test('a closed native listener frees its port at once: a new listener binds it and serves', async (t) => {
  if (skipWithoutAddon(t)) return;
  const target = await backend(t, 'one');
  const first = await listener(t, countingPool([target]));
  assert.match(await exchange(first.port, 'ping'), /hello from one\n.*ping/s);
  await first.l.close(0);
  const again = await listener(t, countingPool([target]), {}, first.port);
  assert.equal(again.port, first.port);
  assert.match(await exchange(again.port, 'pong'), /hello from one\n.*pong/s);
  await until('the connection is logged', () => again.log.length === 1);
  assert.equal(again.log[0].relay, 'splice');
  assert.equal(again.log[0].reason, 'closed');
});

test('over the CPS limit a client is closed before any backend hears of it; the next second admits again', async (t) => {
  if (skipWithoutAddon(t)) return;
  const target = await backend(t, 'one');
  const pool = countingPool([target]);
  const r = await listener(t, pool, { cps: 1 });
  assert.match(await exchange(r.port, 'a'), /hello from one/);
  assert.equal(await exchange(r.port), '');
  assert.equal(r.counters.droppedCps, 1);
  assert.equal(pool.picks, 1);
  r.clock.advance(1000);
  assert.match(await exchange(r.port, 'b'), /hello from one/);
  assert.equal(r.counters.newConnections, 2);
  await until('both connections end', () => r.counters.activeConnections === 0 && pool.open === 0);
});

test('a fault rule that drops new connections closes them natively, uncounted', async (t) => {
  if (skipWithoutAddon(t)) return;
  const target = await backend(t, 'one');
  const pool = countingPool([target]);
  let drop = true;
  const r = await listener(t, pool, { shouldDrop: () => drop });
  assert.equal(await exchange(r.port), '');
  assert.equal(pool.picks, 0);
  assert.equal(r.counters.newConnections, 0);
  drop = false;
  assert.match(await exchange(r.port, 'x'), /hello from one/);
});

test('a refused backend is replaced by the next one; the log names the one that served', async (t) => {
  if (skipWithoutAddon(t)) return;
  const refused: BackendTarget = { key: `${BACKEND_HOST}:refused`, host: BACKEND_HOST, port: await refusingPort(), slot: 1 };
  const good = await backend(t, 'two');
  const pool = countingPool([refused, good]);
  const r = await listener(t, pool);
  assert.match(await exchange(r.port, 'hi'), /hello from two\n.*hi/s);
  await until('the connection is logged', () => r.log.length === 1);
  assert.equal(r.log[0].backend, good.key);
  assert.equal(r.log[0].bytesIn, 2);
  assert.equal(r.log[0].bytesOut, 'hello from two\n'.length + 2);
  assert.equal(r.counters.bytesIn, 2);
  assert.equal(r.counters.activeConnections, 0);
  assert.equal(pool.open, 0);
});

test('every backend refusing ends the client with connect-failed', async (t) => {
  if (skipWithoutAddon(t)) return;
  const refused: BackendTarget = { key: `${BACKEND_HOST}:refused`, host: BACKEND_HOST, port: await refusingPort(), slot: 1 };
  const pool = countingPool([refused]);
  const r = await listener(t, pool);
  assert.equal(await exchange(r.port), '');
  await until('the connection is logged', () => r.log.length === 1);
  assert.equal(r.log[0].reason, 'connect-failed');
  assert.equal(r.log[0].backend, undefined);
  assert.equal(r.counters.droppedNoBackend, 1);
  assert.equal(pool.open, 0);
});

test('a backend that never answers is given up after the connect timeout and the next one serves', async (t) => {
  if (skipWithoutAddon(t)) return;
  const silent = await silentBackend(t);
  const good = await backend(t, 'two');
  const pool = countingPool([silent, good]);
  // The timeout is real time in the addon; short, but the test waits for the outcome only.
  const r = await listener(t, pool, { connectTimeoutMs: 300 });
  assert.match(await exchange(r.port, 'late'), /hello from two\n.*late/s);
  await until('the connection is logged', () => r.log.length === 1);
  assert.equal(r.log[0].backend, good.key);
  assert.equal(pool.open, 0);
});

test('a client of a listener that is stopped while its backend is still connecting is closed', async (t) => {
  if (skipWithoutAddon(t)) return;
  const silent = await silentBackend(t);
  const pool = countingPool([silent]);
  const r = await listener(t, pool, { connectTimeoutMs: 60_000 });
  const outcome = exchange(r.port);
  await until('the connect is under way', () => pool.open === 1);
  await r.l.close(0);
  assert.equal(await outcome, '');
  await until('the connection is logged', () => r.log.length === 1);
  assert.equal(r.log[0].reason, 'listener-stopped');
  assert.equal(pool.open, 0);
  assert.equal(r.counters.activeConnections, 0);
});

test('an IPv6 client is reported as Node would name it: in the log line and the PROXY header', async (t) => {
  if (skipWithoutAddon(t)) return;
  const seen: Buffer[] = [];
  const backendServer = net.createServer((s) => {
    s.on('data', (c: Buffer) => {
      seen.push(c);
      s.end();
    });
  });
  await new Promise<void>((r) => backendServer.listen(0, '::1', r));
  t.after(() => new Promise((r) => backendServer.close(r)));
  const bport = (backendServer.address() as net.AddressInfo).port;
  const pool = countingPool([{ key: `[::1]:${bport}`, host: '::1', port: bport, slot: 0 }]);
  const log: ConnectionLogEntry[] = [];
  const l = new TcpListener(
    `lsn-native6-${process.pid}`,
    { vips: ['::1'], ports: [0], keepDestinationPort: false },
    {
      idleTimeoutMs: 60_000,
      cps: 0,
      mss: 0,
      connectTimeoutMs: 5000,
      splice: spliceRelay(),
      proxyHeader: (flow) => encodeProxyV2(flow),
      logConnection: (e) => log.push(e),
    },
    pool,
    new ManualScheduler(Date.now()),
    new ManualScheduler(Date.now()),
    newListenerCounters(),
  );
  await l.bind();
  t.after(() => l.destroy());
  assert.equal(l.acceptPath, 'native');
  const client = net.connect({ host: '::1', port: l.addresses[0].port });
  await new Promise((r) => client.once('connect', r));
  const [localAddress, localPort] = [client.localAddress, client.localPort];
  const from = `${localAddress}:${localPort}`;
  client.end('six');
  await new Promise((r) => client.once('close', r));
  await until('the connection is logged', () => log.length === 1);
  assert.equal(log[0].client, from);
  const header = decodeProxyV2(Buffer.concat(seen))!;
  assert.equal(header.srcIp, localAddress);
  assert.equal(header.srcPort, localPort);
  assert.equal(header.dstIp, '::1');
});
