import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildHttpRequest, formatDuration, httpProbe, statusClass, tcpProbe, udpProbe } from '../../../src/dataplane/health/probes.js';

const HOST = '127.0.0.1';

async function closedTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function closedUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, HOST, r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// --- TCP ------------------------------------------------------------------------------------

test('tcp: a listening port is healthy; the probe resets the connection right away', async () => {
  let accepted = 0;
  let server!: net.Server;
  const ended = new Promise<string>((resolve) => {
    server = net.createServer((sock) => {
      accepted++;
      sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      sock.on('close', () => resolve('closed'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as AddressInfo).port;
  assert.deepEqual(await tcpProbe(HOST, port, 2000), { ok: true });
  server.close();
  const how = await ended;
  assert.equal(accepted, 1);
  assert.ok(how === 'ECONNRESET' || how === 'closed', how);
});

test('tcp: a closed port is unhealthy with connect ECONNREFUSED', async () => {
  const port = await closedTcpPort();
  assert.deepEqual(await tcpProbe(HOST, port, 2000), {
    ok: false,
    reason: 'connect ECONNREFUSED',
    code: 'CONNECT_FAILED',
  });
});

test('tcp: an invalid port fails without throwing', async () => {
  assert.deepEqual(await tcpProbe(HOST, 0, 1000), { ok: false, reason: 'invalid port 0', code: 'CONNECT_FAILED' });
  assert.equal((await tcpProbe(HOST, 70000, 1000)).ok, false);
});

test('tcp: an aborted probe settles at once', async () => {
  const ac = new AbortController();
  ac.abort();
  assert.deepEqual(await tcpProbe(HOST, 9, 1000, ac.signal), { ok: false, reason: 'probe aborted' });
});

// --- HTTP -----------------------------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  host: string | undefined;
  version: string;
  connection: string | undefined;
}

let httpServer: http.Server;
let httpPort: number;
const seen: Seen[] = [];

before(async () => {
  httpServer = http.createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      host: req.headers.host,
      version: req.httpVersion,
      connection: req.headers.connection,
    });
    if (req.url === '/silent') return; // never answers
    const status = req.url === '/fail' ? 503 : req.url === '/moved' ? 302 : req.url === '/missing' ? 404 : 200;
    // Only answer 200 when the Host header is the expected one for /vhost.
    if (req.url === '/vhost' && req.headers.host !== 'health.example.com') {
      res.writeHead(421);
      res.end('wrong host');
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain', ...(status === 302 ? { location: '/' } : {}) });
    res.end('body');
  });
  await new Promise<void>((r) => httpServer.listen(0, HOST, r));
  httpPort = (httpServer.address() as AddressInfo).port;
});

after(async () => {
  httpServer.closeAllConnections();
  await new Promise<void>((r) => httpServer.close(() => r()));
});

function lastSeen(): Seen {
  const s = seen.at(-1);
  assert.ok(s, 'the server saw a request');
  return s;
}

test('http: 200 matches http_2xx; GET, HTTP/1.0, Host = server IP for $SERVER_IP, Connection: close', async () => {
  const r = await httpProbe({
    host: HOST,
    port: httpPort,
    timeoutMs: 2000,
    method: 'GET',
    path: '/ok',
    domain: '$SERVER_IP',
    version: 'HTTP1.0',
    expectedClasses: ['http_2xx'],
  });
  assert.deepEqual(r, { ok: true });
  assert.deepEqual(lastSeen(), { method: 'GET', url: '/ok', host: HOST, version: '1.0', connection: 'close' });
});

test('http: 503 is unhealthy with the status in the reason', async () => {
  const r = await httpProbe({ host: HOST, port: httpPort, timeoutMs: 2000, path: '/fail', expectedClasses: ['http_2xx'] });
  assert.deepEqual(r, { ok: false, reason: 'HTTP 503 not in http_2xx', code: 'HTTP_CODE_NOT_MATCH' });
});

test('http: 302 fails http_2xx alone and passes when http_3xx is accepted', async () => {
  const base = { host: HOST, port: httpPort, timeoutMs: 2000, path: '/moved' };
  assert.deepEqual(await httpProbe({ ...base, expectedClasses: ['http_2xx'] }), {
    ok: false,
    reason: 'HTTP 302 not in http_2xx',
    code: 'HTTP_CODE_NOT_MATCH',
  });
  assert.deepEqual(await httpProbe({ ...base, expectedClasses: ['http_2xx', 'HTTP_3XX'] }), { ok: true });
  assert.equal((await httpProbe({ ...base, path: '/missing', expectedClasses: ['http_4xx'] })).ok, true);
});

test('http: the configured domain is the Host header', async () => {
  const base = { host: HOST, port: httpPort, timeoutMs: 2000, path: '/vhost', expectedClasses: ['http_2xx'] };
  assert.deepEqual(await httpProbe({ ...base, domain: 'health.example.com' }), { ok: true });
  assert.equal(lastSeen().host, 'health.example.com');
  const wrong = await httpProbe({ ...base, domain: '$SERVER_IP' });
  assert.deepEqual(wrong, { ok: false, reason: 'HTTP 421 not in http_2xx', code: 'HTTP_CODE_NOT_MATCH' });
  assert.equal(lastSeen().host, HOST);
});

test('http: HEAD and HTTP/1.1 are sent as configured', async () => {
  const r = await httpProbe({
    host: HOST,
    port: httpPort,
    timeoutMs: 2000,
    method: 'HEAD',
    path: '/ok',
    version: 'HTTP1.1',
    expectedClasses: ['http_2xx'],
  });
  assert.deepEqual(r, { ok: true });
  assert.deepEqual(lastSeen(), { method: 'HEAD', url: '/ok', host: HOST, version: '1.1', connection: 'close' });
  // And GET is the default.
  await httpProbe({ host: HOST, port: httpPort, timeoutMs: 2000 });
  assert.equal(lastSeen().method, 'GET');
  assert.equal(lastSeen().url, '/');
});

test('http: a server that never answers times out as RECV_RESPONSE_TIMEOUT', async () => {
  const r = await httpProbe({ host: HOST, port: httpPort, timeoutMs: 300, path: '/silent' });
  assert.deepEqual(r, { ok: false, reason: 'no response within 300ms', code: 'RECV_RESPONSE_TIMEOUT' });
});

test('http: a closed port is CONNECT_FAILED', async () => {
  const port = await closedTcpPort();
  assert.deepEqual(await httpProbe({ host: HOST, port, timeoutMs: 2000 }), {
    ok: false,
    reason: 'connect ECONNREFUSED',
    code: 'CONNECT_FAILED',
  });
});

test('http: a non-HTTP reply is HTTP_INVALID_HEADER; a hang-up is CONNECT_INTERRUPT', async () => {
  const server = net.createServer((sock) => {
    sock.on('error', () => undefined);
    sock.once('data', () => {
      sock.end(mode === 'garbage' ? 'SSH-2.0-OpenSSH_9.6\r\n' : '');
    });
  });
  let mode: 'garbage' | 'hangup' = 'garbage';
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as AddressInfo).port;
  try {
    const garbage = await httpProbe({ host: HOST, port, timeoutMs: 2000 });
    assert.equal(garbage.ok, false);
    assert.equal(garbage.code, 'HTTP_INVALID_HEADER');
    assert.match(garbage.reason ?? '', /^invalid status line/);
    mode = 'hangup';
    assert.deepEqual(await httpProbe({ host: HOST, port, timeoutMs: 2000 }), {
      ok: false,
      reason: 'connection closed before status line',
      code: 'CONNECT_INTERRUPT',
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('http: request bytes are minimal and well formed', () => {
  assert.equal(
    buildHttpRequest({ host: '::1', path: 'a b', method: 'head', version: 'http1.1' }),
    'HEAD /a%20b HTTP/1.1\r\nHost: [::1]\r\nUser-Agent: OpenSLB-HealthCheck\r\nAccept: */*\r\nConnection: close\r\n\r\n',
  );
  assert.equal(statusClass(204), 'http_2xx');
  assert.equal(statusClass(599), 'http_5xx');
  assert.equal(formatDuration(5000), '5s');
  assert.equal(formatDuration(250), '250ms');
});

// --- UDP ------------------------------------------------------------------------------------

async function udpServer(
  onMessage: (msg: Buffer, reply: (data: string) => void) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => onMessage(msg, (data) => s.send(data, rinfo.port, rinfo.address)));
  await new Promise<void>((r) => s.bind(0, HOST, r));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

test('udp custom: healthy when the reply contains the expected string', async () => {
  const got: string[] = [];
  const srv = await udpServer((msg, reply) => {
    got.push(msg.toString());
    reply(`pong ${msg.toString()} ok`);
  });
  try {
    const r = await udpProbe({ host: HOST, port: srv.port, timeoutMs: 2000, request: 'ping123', expect: 'ping123' });
    assert.deepEqual(r, { ok: true });
    assert.deepEqual(got, ['ping123']);
  } finally {
    await srv.close();
  }
});

test('udp custom: a reply without the expected string is "unexpected response"', async () => {
  const srv = await udpServer((_msg, reply) => reply('nope'));
  try {
    const r = await udpProbe({ host: HOST, port: srv.port, timeoutMs: 300, request: 'ping', expect: 'pong' });
    assert.deepEqual(r, { ok: false, reason: 'unexpected response', code: 'RECV_RESPONSE_TIMEOUT' });
  } finally {
    await srv.close();
  }
});

test('udp custom: no reply is a timeout; a closed port is ICMP port unreachable', async () => {
  const srv = await udpServer(() => undefined);
  try {
    const r = await udpProbe({ host: HOST, port: srv.port, timeoutMs: 300, request: 'ping', expect: 'pong' });
    assert.deepEqual(r, { ok: false, reason: 'no reply within 300ms', code: 'RECV_RESPONSE_TIMEOUT' });
  } finally {
    await srv.close();
  }
  const closed = await closedUdpPort();
  assert.deepEqual(await udpProbe({ host: HOST, port: closed, timeoutMs: 2000, request: 'ping', expect: 'pong' }), {
    ok: false,
    reason: 'ICMP port unreachable',
    code: 'CONNECT_FAILED',
  });
});

test('udp port check: a closed port is unhealthy (ICMP port unreachable → ECONNREFUSED)', async () => {
  const port = await closedUdpPort();
  assert.deepEqual(await udpProbe({ host: HOST, port, timeoutMs: 2000 }), {
    ok: false,
    reason: 'ICMP port unreachable',
    code: 'CONNECT_FAILED',
  });
});

test('udp port check: an open port that stays silent is healthy; one that replies is healthy at once', async () => {
  const silentHits: number[] = [];
  const silent = await udpServer((msg) => silentHits.push(msg.length));
  try {
    assert.deepEqual(await udpProbe({ host: HOST, port: silent.port, timeoutMs: 300 }), { ok: true });
    assert.ok(silentHits.length >= 1, 'the probe datagram arrived');
    assert.equal(silentHits[0], 0, 'port-check mode sends an empty datagram');
  } finally {
    await silent.close();
  }
  const echo = await udpServer((msg, reply) => reply(msg.toString() || 'hi'));
  try {
    assert.deepEqual(await udpProbe({ host: HOST, port: echo.port, timeoutMs: 5000 }), { ok: true });
  } finally {
    await echo.close();
  }
});
