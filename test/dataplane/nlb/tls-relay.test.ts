/**
 * TCPSSL termination on both of its engines: the native TLS relay of the addon and Node's TLS
 * (what runs when the addon is missing or OPENSLB_USERSPACE_RELAY=js). Each case runs a real
 * listener on loopback with real certificates against a real backend, and checks what a TLS
 * client or the backend notices: bytes intact through back-pressure, the PROXY header, half-close
 * both ways (close_notify / FIN), resets, SNI (exact and wildcard), mutual TLS, ALPN, the
 * policy's versions, session resumption on another listener instance, counters and the log line.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { TcpListener, type TcpListenerSettings } from '../../../src/dataplane/nlb/tcp-listener.js';
import { newListenerCounters } from '../../../src/dataplane/nlb/listener-metrics.js';
import { decodeProxyV2, encodeProxyV2 } from '../../../src/dataplane/nlb/proxy-protocol.js';
import { buildNativeTlsSpec, buildTlsOptions } from '../../../src/dataplane/nlb/tls-options.js';
import type { TlsMaterial } from '../../../src/dataplane/nlb/tls-material.js';
import { systemTlsPolicy, TLS13_CIPHERS, type TlsPolicy } from '../../../src/domain/tls-policies.js';
import type { ListenerDoc } from '../../../src/domain/nlb-documents.js';
import { tlsRelay, tlsRelayUnavailableReason } from '../../../src/dataplane/native/tls-relay.js';
import type { ConnectionLogEntry } from '../../../src/dataplane/nlb/connection-log.js';
import { countingPool, readAll, recordingBackend, sha256 } from '../../support/relay-rig.js';
import { until } from '../../support/wait.js';
import { makeTestPki, type TestPki } from '../../products/cas/openssl.js';

const VIP = '127.0.5.11';
const BACKEND_HOST = '127.0.5.12';

type Mode = 'native' | 'node';
const modes: Mode[] = process.env.OPENSLB_USERSPACE_RELAY === 'js' ? ['node'] : ['native', 'node'];

let pki: TestPki;
let wildcard: { cert: string; key: string };
let clientCert: { cert: string; key: string };

/** A self-signed `*.wild.test` certificate and a client certificate from the test CA. */
function extraCertificates(): void {
  const dir = mkdtempSync(join(tmpdir(), `openslb-tls-relay-${process.pid}-`));
  try {
    writeFileSync(join(dir, 'ca.pem'), pki.caCert);
    writeFileSync(join(dir, 'ca.key'), pki.caKey);
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    run([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'w.key',
      '-out',
      'w.pem',
      '-days',
      '2',
      '-subj',
      '/CN=*.wild.test',
      '-addext',
      'subjectAltName=DNS:*.wild.test',
    ]);
    run(['req', '-new', ...ec, '-keyout', 'c.key', '-out', 'c.csr', '-subj', '/CN=client']);
    run(['x509', '-req', '-in', 'c.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'c.pem', '-days', '2']);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    wildcard = { cert: read('w.pem'), key: read('w.key') };
    clientCert = { cert: read('c.pem'), key: read('c.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

before(() => {
  pki = makeTestPki();
  extraCertificates();
});

const CUSTOM_POLICIES: Record<string, TlsPolicy> = {
  'tls13-only': { tlsVersions: ['TLSv1.3'], ciphers: [...TLS13_CIPHERS] },
};

function material(): TlsMaterial {
  const certs: Record<string, { certPem: string; keyPem?: string; commonName: string; sans: string[] }> = {
    main: { certPem: pki.serverCert, keyPem: pki.serverKey, commonName: 'www.example.com', sans: ['www.example.com', 'api.example.com'] },
    ec: { certPem: pki.ecCert, keyPem: pki.ecKey, commonName: 'ec.example.com', sans: [] },
    wild: { certPem: wildcard.cert, keyPem: wildcard.key, commonName: '*.wild.test', sans: [] },
    ca: { certPem: pki.caCert, commonName: 'OpenSLB Test Root', sans: [] },
  };
  return {
    securityPolicy: (_region, id) => {
      const system = systemTlsPolicy(id);
      return system ? { tlsVersions: [...system.tlsVersions], ciphers: [...system.ciphers] } : CUSTOM_POLICIES[id];
    },
    certificate: (ref) => certs[ref],
  };
}

interface TlsConfig {
  policy?: string;
  extras?: string[];
  ca?: boolean;
  alpn?: ListenerDoc['AlpnPolicy'];
}

function listenerDoc(c: TlsConfig): ListenerDoc {
  return {
    CertificateIds: ['main'],
    CaEnabled: c.ca ?? false,
    CaCertificateIds: c.ca ? ['ca'] : [],
    SecurityPolicyId: c.policy ?? 'tls_cipher_policy_1_2_strict_with_1_3',
    AlpnEnabled: c.alpn !== undefined,
    AlpnPolicy: c.alpn,
    AdditionalCertificates: (c.extras ?? []).map((id) => ({ CertificateId: id, Status: 'Associated' })),
  } as unknown as ListenerDoc;
}

function tlsSettings(mode: Mode, c: TlsConfig, listenerId: string): Partial<TcpListenerSettings> {
  const doc = listenerDoc(c);
  if (mode === 'node') return { tls: buildTlsOptions(material(), 'cn-hangzhou', doc, listenerId) };
  const relay = tlsRelay()!;
  return { nativeTls: { relay, context: relay.context(buildNativeTlsSpec(material(), 'cn-hangzhou', doc, listenerId)) } };
}

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

async function rig(
  mode: Mode,
  onBackend: (socket: net.Socket) => void,
  c: TlsConfig = {},
  extra: Partial<TcpListenerSettings> = {},
  listenerId = `lsn-tls-relay-${process.pid}`,
): Promise<Rig> {
  const backend = await recordingBackend(BACKEND_HOST, onBackend);
  const { target, sockets: backendSockets } = backend;
  const pool = countingPool([target]);
  const clock = new ManualScheduler(Date.now());
  const counters = newListenerCounters();
  const log: ConnectionLogEntry[] = [];
  const listener = new TcpListener(
    listenerId,
    { vips: [VIP], ports: [0], keepDestinationPort: false },
    {
      idleTimeoutMs: 10_000,
      cps: 0,
      mss: 0,
      connectTimeoutMs: 5000,
      logConnection: (e) => log.push(e),
      ...tlsSettings(mode, c, listenerId),
      ...extra,
    },
    pool,
    clock,
    clock,
    counters,
  );
  await listener.bind();
  const listenPort = ((listener as unknown as { servers: net.Server[] }).servers[0].address() as net.AddressInfo).port;
  return {
    listener,
    port: listenPort,
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

function connect(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const halfOpen = { allowHalfOpen: true } as tls.ConnectionOptions; // honoured by Node, missing from its types
    const s = tls.connect({ host: VIP, port, servername: 'www.example.com', ca: pki.caCert, ...halfOpen, ...options }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the error code a handshake ends in, or 'connected'. */
function handshakeOutcome(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: VIP, port, servername: 'www.example.com', ca: pki.caCert, ...options }, () => {
      // TLS 1.3 reports a refused client certificate only on the first read.
      s.write('x');
    });
    s.once('data', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.once('close', () => resolve('closed'));
  });
}

function echo(socket: tls.TLSSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (d: Buffer) => resolve(d.toString()));
    socket.write(text);
  });
}

/** A close by the listener: end-of-stream (the test's sockets are half-open), a reset or a close. */
function closedByListener(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
}

const relayName = (mode: Mode) => (mode === 'native' ? 'native-tls' : 'js');

function skipUnlessAvailable(mode: Mode, t: { skip(reason: string): void }): boolean {
  if (mode === 'native' && !tlsRelay()) {
    t.skip(`native TLS relay unavailable: ${tlsRelayUnavailableReason()}`);
    return true;
  }
  return false;
}

for (const mode of modes) {
  test(`[${mode}] 4 MiB each way arrive intact through TLS and back-pressure; counters and the log line add up`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
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
      assert.equal(entry.relay, relayName(mode));
      assert.equal(entry.backend, r.backendKey);
      assert.equal(entry.client, clientAddress);
      assert.equal(r.counters.bytesIn, payload.length);
      assert.equal(r.counters.bytesOut, payload.length);
      assert.equal(r.counters.newConnections, 1);
      assert.equal(r.counters.activeConnections, 0);
      assert.equal(r.pool.open, 0);
      client.destroy();
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] byte counters move while the connection is open (metrics scrape)`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s));
    try {
      const client = await connect(r.port);
      client.write('0123456789');
      let got = 0;
      client.on('data', (c: Buffer) => (got += c.length));
      await until('the echo is back', () => got === 10);
      r.listener.sampleCounters();
      assert.equal(r.counters.bytesIn, 10);
      assert.equal(r.counters.bytesOut, 10);
      assert.equal(r.counters.activeConnections, 1);
      client.destroy();
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] the PROXY v2 header comes first, then the plaintext; a server-first banner reaches the client`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const seen: Buffer[] = [];
    const r = await rig(
      mode,
      (s) => {
        s.write('220 banner\r\n');
        s.on('data', (c: Buffer) => seen.push(c));
      },
      {},
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
      r.listener.sampleCounters();
      assert.equal(r.counters.bytesIn, 'HELO me\r\n'.length, 'the header is not counted as client bytes');
      client.destroy();
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] half-close: the client's close_notify and FIN reach the backend as FIN, which still answers`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => {
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
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

  test(`[${mode}] half-close the other way: after the backend's FIN the client reads the end and can still send`, async (t) => {
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

  test(`[${mode}] a backend reset resets the client's TCP connection; a client reset resets the backend`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.once('data', () => s.resetAndDestroy()));
    try {
      const client = await connect(r.port);
      const failed = new Promise<string>((resolve) => {
        client.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        client.once('end', () => resolve('end'));
      });
      client.write('boom');
      const outcome = await failed;
      await until('the connection is logged', () => r.log.length === 1);
      assert.equal(r.log[0].reason, 'backend-error');
      // Node's TLS server cannot send a TCP reset; the native relay does, as for plain TCP.
      if (mode === 'native') assert.equal(outcome, 'ECONNRESET');
      client.destroy();
    } finally {
      await r.close();
    }
    const backendErrors: string[] = [];
    const r2 = await rig(mode, (s) => {
      s.on('error', (e: NodeJS.ErrnoException) => backendErrors.push(e.code ?? ''));
      s.write('hello');
    });
    try {
      // The TLS client over a TCP socket of ours, so that the test can reset it.
      const raw = net.connect({ host: VIP, port: r2.port });
      await new Promise((resolve) => raw.once('connect', resolve));
      const client = await connect(r2.port, { socket: raw });
      client.on('error', () => undefined);
      await new Promise((resolve) => client.once('data', resolve));
      raw.resetAndDestroy();
      await until('the backend sees the reset', () => backendErrors.includes('ECONNRESET'));
      await until('the connection is logged', () => r2.log.length === 1);
      assert.equal(r2.log[0].reason, 'client-error');
      assert.equal(r2.pool.open, 0);
    } finally {
      await r2.close();
    }
  });

  test(`[${mode}] SNI picks the certificate: exact name, one-label wildcard, else the default`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s), { extras: ['ec', 'wild'] });
    try {
      const cn = async (servername: string | undefined) => {
        const s = await connect(r.port, { servername, rejectUnauthorized: false });
        const name = s.getPeerCertificate().subject.CN;
        s.destroy();
        return name;
      };
      assert.equal(await cn('ec.example.com'), 'ec.example.com');
      assert.equal(await cn('EC.Example.COM'), 'ec.example.com', 'names compare case-insensitively');
      assert.equal(await cn('a.wild.test'), '*.wild.test');
      assert.equal(await cn('a.b.wild.test'), 'www.example.com', 'a wildcard covers one label only');
      assert.equal(await cn('wild.test'), 'www.example.com');
      assert.equal(await cn('www.example.com'), 'www.example.com');
      assert.equal(await cn(''), 'www.example.com');
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] mutual TLS: a client without a certificate is refused and no backend connection opens`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s), { ca: true });
    try {
      assert.notEqual(await handshakeOutcome(r.port, {}), 'connected');
      const untrusted = { cert: pki.ecCert, key: pki.ecKey }; // self-signed, not from the CA
      assert.notEqual(await handshakeOutcome(r.port, untrusted), 'connected');
      assert.equal(r.backendSockets.length, 0, 'a failed handshake opens no backend connection');
      await until('both failures are counted', () => r.counters.tlsHandshakeFailures === 2);
      assert.equal(await handshakeOutcome(r.port, clientCert), 'connected');
      assert.equal(r.backendSockets.length, 1);
      if (mode === 'native') {
        await until('the refused handshakes are logged', () => r.log.filter((e) => e.reason === 'tls-handshake-failed').length === 2);
        assert.equal(r.log.find((e) => e.reason === 'tls-handshake-failed')!.backend, undefined);
      }
    } finally {
      await r.close();
    }
  });

  test(`[${mode}] ALPN: the server's order decides; a client with no protocol in common is refused`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s), { alpn: 'HTTP2Preferred' });
    const r1 = await rig(mode, (s) => s.pipe(s), { alpn: 'HTTP1Only' });
    try {
      const s = await connect(r.port, { ALPNProtocols: ['http/1.1', 'h2'] });
      assert.equal(s.alpnProtocol, 'h2');
      s.destroy();
      const plain = await connect(r.port, {});
      assert.equal(plain.alpnProtocol, false, 'a client without ALPN still connects');
      plain.destroy();
      const h1 = await connect(r1.port, { ALPNProtocols: ['h2', 'http/1.1'] });
      assert.equal(h1.alpnProtocol, 'http/1.1');
      h1.destroy();
      assert.notEqual(await handshakeOutcome(r1.port, { ALPNProtocols: ['h2'] }), 'connected');
    } finally {
      await r.close();
      await r1.close();
    }
  });

  test(`[${mode}] the policy's versions: TLS 1.1 refused by a 1.2 policy, TLS 1.2 refused by a 1.3-only one`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r12 = await rig(mode, (s) => s.pipe(s), { policy: 'tls_cipher_policy_1_2' });
    const r13 = await rig(mode, (s) => s.pipe(s), { policy: 'tls13-only' });
    try {
      const v11 = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' } as const;
      assert.notEqual(await handshakeOutcome(r12.port, v11), 'connected');
      const ok12 = await connect(r12.port, {});
      assert.equal(ok12.getProtocol(), 'TLSv1.2');
      assert.equal(await echo(ok12, 'twelve'), 'twelve');
      ok12.destroy();
      const v12 = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;
      assert.notEqual(await handshakeOutcome(r13.port, v12), 'connected');
      const ok13 = await connect(r13.port, {});
      assert.equal(ok13.getProtocol(), 'TLSv1.3');
      assert.equal(await echo(ok13, 'thirteen'), 'thirteen');
      ok13.destroy();
    } finally {
      await r12.close();
      await r13.close();
    }
  });

  test(`[${mode}] a session resumes on another listener instance with the same keys (another worker, a restart)`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const id = `lsn-tls-resume-${process.pid}`;
    const first = await rig(mode, (s) => s.pipe(s), {}, {}, id);
    let session: Buffer | undefined;
    try {
      for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
        // Tickets may arrive during the handshake (1.2) or after it (1.3): listen from the start.
        const ticket = new Promise<Buffer>((resolve) => {
          const s = tls.connect({
            host: VIP,
            port: first.port,
            servername: 'www.example.com',
            ca: pki.caCert,
            minVersion: version,
            maxVersion: version,
          });
          s.once('session', (got: Buffer) => {
            resolve(got);
            s.destroy();
          });
          s.on('error', () => undefined);
        });
        session = await ticket;
        const second = await rig(mode, (x) => x.pipe(x), {}, {}, id);
        try {
          const resumed = await connect(second.port, { session, minVersion: version, maxVersion: version });
          assert.equal(resumed.isSessionReused(), true, `${version} session resumed`);
          resumed.destroy();
          const other = await rig(mode, (x) => x.pipe(x), {}, {}, `${id}-other`);
          try {
            const fresh = await connect(other.port, { session, minVersion: version, maxVersion: version });
            assert.equal(fresh.isSessionReused(), false, 'another listener does not accept the ticket');
            fresh.destroy();
          } finally {
            await other.close();
          }
        } finally {
          await second.close();
        }
      }
    } finally {
      await first.close();
    }
  });

  if (mode === 'native') {
    test(`[native] a client that never completes its handshake is closed after IdleTimeout, without a backend`, async (t) => {
      if (skipUnlessAvailable(mode, t)) return;
      const r = await rig(mode, (s) => s.pipe(s));
      try {
        const silent = net.connect({ host: VIP, port: r.port });
        await new Promise((resolve) => silent.once('connect', resolve));
        const closed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
        silent.on('error', () => undefined);
        silent.resume();
        await until('the listener has the connection', () => r.listener.activeConnections === 1);
        r.listener.closeIdle();
        r.clock.advance(11_000);
        r.listener.closeIdle();
        await closed;
        await until('the connection is logged', () => r.log.length === 1);
        assert.equal(r.log[0].reason, 'idle-timeout');
        assert.equal(r.log[0].backend, undefined);
        assert.equal(r.backendSockets.length, 0);
      } finally {
        await r.close();
      }
    });
  }

  test(`[${mode}] IdleTimeout closes a quiet connection; stopping the listener closes the rest`, async (t) => {
    if (skipUnlessAvailable(mode, t)) return;
    const r = await rig(mode, (s) => s.pipe(s));
    try {
      const idle = await connect(r.port);
      idle.write('hi');
      await new Promise((resolve) => idle.once('data', resolve));
      r.listener.closeIdle();
      const idleClosed = closedByListener(idle);
      r.clock.advance(11_000);
      r.listener.closeIdle();
      await idleClosed;
      await until('the idle connection is logged', () => r.log.length === 1);
      assert.equal(r.log[0].reason, 'idle-timeout');

      const live = await connect(r.port);
      live.write('x');
      await new Promise((resolve) => live.once('data', resolve));
      const closed = closedByListener(live);
      await r.listener.close(0);
      await closed;
      await until('the listener has drained', () => r.listener.drained);
      assert.equal(r.log[1].reason, 'listener-stopped');
      assert.equal(r.pool.open, 0);
    } finally {
      await r.close();
    }
  });
}
