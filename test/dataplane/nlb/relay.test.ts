/**
 * The user-space TCP relay, on both of its paths: the native splice relay and the JS relay
 * (what runs when the addon is missing or OPENSLB_USERSPACE_RELAY=js). Each case runs a real
 * listener on loopback against a real backend and checks what a client or a backend notices:
 * bytes intact both ways under back-pressure, the PROXY header first, half-close in both
 * directions, resets passed through, IdleTimeout by the injected clock, counters and the
 * per-connection log line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { TcpListener, type TcpListenerSettings } from '../../../src/dataplane/nlb/tcp-listener.js';
import { newListenerCounters } from '../../../src/dataplane/nlb/listener-metrics.js';
import { decodeProxyV2, encodeProxyV2 } from '../../../src/dataplane/nlb/proxy-protocol.js';
import { spliceRelay, spliceUnavailableReason } from '../../../src/dataplane/native/splice-relay.js';
import type { ConnectionLogEntry } from '../../../src/dataplane/nlb/connection-log.js';
import { countingPool, readAll, recordingBackend, sha256 } from '../../support/relay-rig.js';
import { until } from '../../support/wait.js';

const VIP = '127.0.5.1';
const BACKEND_HOST = '127.0.5.2';

/** splice: the addon accepts and relays; handover: JS accepts, then hands the pair over; js: all in JS. */
type Mode = 'splice' | 'handover' | 'js';
const modes: Mode[] = process.env.OPENSLB_USERSPACE_RELAY === 'js' ? ['js'] : ['splice', 'handover', 'js'];

interface Rig {
  listener: TcpListener;
  port: number;
  clock: ManualScheduler;
  counters: ReturnType<typeof newListenerCounters>;
  log: ConnectionLogEntry[];
  pool: { open: number };
  backendKey: string;
  backendSockets: net.Socket[];
  close(): Promise<void>;
}

async function rig(mode: Mode, onBackend: (socket: net.Socket) => void, extra: Partial<TcpListenerSettings> = {}): Promise<Rig> {
  const backend = await recordingBackend(BACKEND_HOST, onBackend);
  const { target, sockets: backendSockets } = backend;
  const pool = countingPool([target]);
  // One manual time for the listener's clock and its sweep: the tests run the sweep themselves.
  const clock = new ManualScheduler(Date.now());
  const counters = newListenerCounters();
  const log: ConnectionLogEntry[] = [];
  const splice = mode === 'js' ? undefined : spliceRelay();
  const listener = new TcpListener(
    `lsn-relay-${process.pid}`,
    { vips: [VIP], ports: [0], keepDestinationPort: false },
    {
      idleTimeoutMs: 10_000,
      cps: 0,
      mss: 0,
      connectTimeoutMs: 5000,
      splice,
      acceptInJs: mode === 'handover',
      logConnection: (e) => log.push(e),
      ...extra,
    },
    pool,
    clock,
    clock,
    counters,
  );
  await listener.bind();
  assert.equal(listener.acceptPath, mode === 'splice' ? 'native' : 'js');
  const port = listener.addresses[0].port;
  return {
    listener,
    port,
    clock,
    counters,
    log,
    pool,
    backendKey: target.key,
    backendSockets,
    close: async () => {
      listener.destroy();
      await backend.close();
    },
  };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: VIP, port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

function skipUnlessAvailable(mode: Mode, t: { skip(reason: string): void }): boolean {
  if (mode !== 'js' && !spliceRelay()) {
    t.skip(`splice relay unavailable: ${spliceUnavailableReason()}`);
    return true;
  }
  return false;
}

for (const mode of modes) {
  test(`[${mode}] 4 MiB each way arrive intact through back-pressure; counters and the log line add up`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    // The backend echoes everything, then ends when the client has ended.
    const r = await rig(mode, (s) => s.pipe(s));
    try {
      const payload = randomBytes(4 << 20);
      const client = await connect(r.port);
      const clientAddress = `${client.localAddress}:${client.localPort}`;
      const received = readAll(client);
      client.end(payload);
      const echoed = await received;
      assert.equal(echoed.length, payload.length);
      assert.equal(sha256(echoed), sha256(payload));
      await until('the connection is logged', () => r.log.length === 1);
      const entry = r.log[0];
      assert.equal(entry.bytesIn, payload.length);
      assert.equal(entry.bytesOut, payload.length);
      assert.equal(entry.reason, 'closed');
      assert.equal(entry.relay, mode === 'js' ? 'js' : 'splice');
      assert.equal(entry.backend, r.backendKey);
      assert.equal(entry.client, clientAddress);
      assert.equal(r.counters.bytesIn, payload.length);
      assert.equal(r.counters.bytesOut, payload.length);
      assert.equal(r.counters.activeConnections, 0);
      assert.equal(r.pool.open, 0);
      client.destroy();
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] the PROXY v2 header comes first, then the client's bytes; a server-first banner reaches the client`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const seen: Buffer[] = [];
    const r = await rig(
      mode,
      (s) => {
        s.write('220 banner\r\n');
        s.on('data', (c: Buffer) => seen.push(c));
      },
      { proxyHeader: (flow) => encodeProxyV2(flow) },
    );
    try {
      const client = await connect(r.port);
      const banner = await new Promise<string>((resolve) => client.once('data', (c: Buffer) => resolve(c.toString())));
      assert.equal(banner, '220 banner\r\n');
      client.write('HELO me\r\n');
      await until('the backend has the header and the line', () => Buffer.concat(seen).includes('HELO me'));
      const all = Buffer.concat(seen);
      const header = decodeProxyV2(all)!;
      assert.equal(header.srcPort, client.localPort);
      assert.equal(header.dstIp, VIP);
      assert.equal(all.subarray(header.length).toString(), 'HELO me\r\n');
      client.destroy();
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] half-close: the client's FIN reaches the backend, which still answers afterwards`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => {
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
      // Answers only once the request is complete (end of stream), like `nc -q` or an rsh server.
      s.on('end', () => s.end(`got ${Buffer.concat(got).toString()}`));
    });
    try {
      const client = await connect(r.port);
      const reply = readAll(client);
      client.end('question');
      assert.equal((await reply).toString(), 'got question');
      await until('the connection is logged', () => r.log.length === 1);
      assert.equal(r.log[0].reason, 'closed');
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] half-close the other way: after the backend's FIN the client can still send`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    let backendGot = '';
    let backendSawEnd = false;
    const r = await rig(mode, (s) => {
      s.end('bye early');
      s.on('data', (c: Buffer) => (backendGot += c.toString()));
      s.on('end', () => (backendSawEnd = true));
    });
    try {
      const client = await connect(r.port);
      const fromBackend = await readAll(client);
      assert.equal(fromBackend.toString(), 'bye early');
      client.end('still talking');
      await until('the backend got the late bytes and the FIN', () => backendSawEnd);
      assert.equal(backendGot, 'still talking');
      await until('the connection is logged', () => r.log.length === 1);
      assert.equal(r.log[0].reason, 'closed');
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] a backend reset resets the client; a client reset resets the backend`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.once('data', () => (s.resetAndDestroy ? s.resetAndDestroy() : s.destroy())));
    try {
      const client = await connect(r.port);
      const failed = new Promise<NodeJS.ErrnoException>((resolve) => client.once('error', resolve));
      client.write('boom');
      assert.equal((await failed).code, 'ECONNRESET');
      await until('the connection is logged', () => r.log.length === 1);
      assert.equal(r.log[0].reason, 'backend-error');
    } finally {
      await r.close();
    }
    const backendErrors: string[] = [];
    const r2 = await rig(mode, (s) => {
      s.on('error', (e: NodeJS.ErrnoException) => backendErrors.push(e.code ?? ''));
      s.write('hello');
    });
    try {
      const client = await connect(r2.port);
      await new Promise((resolve) => client.once('data', resolve));
      client.resetAndDestroy();
      await until('the backend sees the reset', () => backendErrors.includes('ECONNRESET'));
      await until('the connection is logged', () => r2.log.length === 1);
      assert.equal(r2.log[0].reason, 'client-error');
      assert.equal(r2.pool.open, 0);
    } finally {
      await r2.close();
    }
  });

  test(`[${mode}] IdleTimeout by the injected clock closes the quiet connection and keeps the busy one`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s));
    try {
      const busy = await connect(r.port);
      const idle = await connect(r.port);
      for (const s of [busy, idle]) {
        s.write('hi');
        await new Promise((resolve) => s.once('data', resolve));
      }
      r.listener.closeIdle(); // the sweep samples activity at this clock time
      // The test's sockets are half-open: a close by the listener shows as end-of-stream.
      const idleClosed = new Promise<void>((resolve) => idle.once('end', () => resolve()));
      let busyClosed = false;
      busy.once('end', () => (busyClosed = true));
      r.clock.advance(9_000);
      busy.write('still here');
      await new Promise((resolve) => busy.once('data', resolve));
      r.listener.closeIdle();
      r.clock.advance(2_000); // idle: 11 s without traffic; busy: 2 s
      r.listener.closeIdle();
      await idleClosed;
      assert.equal(busyClosed, false);
      await until('the idle connection is logged', () => r.log.length === 1);
      assert.equal(r.log[0].reason, 'idle-timeout');
      assert.equal(r.log[0].durationMs, 11_000);
      busy.destroy();
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] stopping the listener closes its live connections`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s));
    try {
      const client = await connect(r.port);
      client.write('x');
      await new Promise((resolve) => client.once('data', resolve));
      const closed = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.on('error', () => undefined);
      await r.listener.close(0);
      await closed;
      await until('the listener has drained', () => r.listener.drained);
      assert.equal(r.log[0].reason, 'listener-stopped');
      assert.equal(r.pool.open, 0);
    } finally {
      await r.close();
    }
  });

  // Drains run on the listener's timers: moved time shows the exact deadline, before and at it.
  const LONG_IDLE = { idleTimeoutMs: 3_600_000 };
  /** The echo of `text`; rejects when the connection ends first (a drain closed it). */
  const echoes = (client: net.Socket, text: string) =>
    new Promise<string>((resolve, reject) => {
      const ended = () => reject(new Error(`the connection ended before "${text}" came back`));
      client.once('end', ended);
      client.once('data', (d) => {
        client.off('end', ended);
        resolve(d.toString());
      });
      client.write(text);
    });

  test(`[${mode}] a drained backend's connections stay up until the drain timeout, then close`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s), LONG_IDLE);
    try {
      const client = await connect(r.port);
      client.on('error', () => undefined);
      assert.equal(await echoes(client, 'a'), 'a');
      r.listener.drainBackend(r.backendKey, 30_000);
      r.clock.advance(29_999);
      assert.equal(await echoes(client, 'b'), 'b', 'still relayed 1 ms before the drain timeout');
      assert.equal(r.log.length, 0);
      let closed = false;
      client.once('end', () => (closed = true));
      r.clock.advance(1);
      await until('the drain closes the connection', () => closed);
      await until('the connection is logged', () => r.log.length === 1);
      assert.equal(r.log[0].reason, 'backend-drained');
      assert.equal(r.log[0].durationMs, 30_000);
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] a stopped listener refuses new connections at once and closes live ones after its drain`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s), LONG_IDLE);
    try {
      const client = await connect(r.port);
      client.on('error', () => undefined);
      assert.equal(await echoes(client, 'a'), 'a');
      await r.listener.close(60_000);
      await assert.rejects(connect(r.port), /ECONNREFUSED/);
      r.clock.advance(59_999);
      assert.equal(await echoes(client, 'b'), 'b', 'still relayed 1 ms before the drain ends');
      assert.equal(r.listener.drained, false);
      let closed = false;
      client.once('end', () => (closed = true));
      r.clock.advance(1);
      await until('the drain closes the connection', () => closed);
      await until('the listener has drained', () => r.listener.drained);
      assert.equal(r.log[0].reason, 'listener-stopped');
      assert.equal(r.log[0].durationMs, 60_000);
    } finally {
      await r.close();
    }
  });
}
