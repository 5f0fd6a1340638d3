/**
 * One-shot health probes over real sockets. Each returns a `ProbeResult` and never throws or
 * rejects: every socket error, timeout and bad input becomes `{ ok: false, reason, code }`.
 *
 * Socket timeouts use real timers (a connect cannot be timed out by a fake clock); *when* a
 * probe runs is the checker's business, through the injected scheduler.
 *
 * Every probe accepts an optional AbortSignal: aborting closes the socket at once and
 * settles with `{ ok: false, reason: 'probe aborted' }`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { HealthReasonCode, ProbeResult } from './state.js';

/** "5s" for whole seconds, "250ms" otherwise. */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

interface Settler {
  /** Settles once; later calls are ignored. Runs cleanup first. */
  done(result: ProbeResult): void;
  readonly settled: boolean;
}

/**
 * The shared skeleton: a promise that settles exactly once, a real timeout, abort handling
 * and a cleanup hook. `onTimeout` decides the timeout's result (it depends on the phase).
 */
function runProbe(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (s: Settler) => { onTimeout: () => ProbeResult; cleanup: () => void },
): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let hooks: { onTimeout: () => ProbeResult; cleanup: () => void } | undefined;
    const onAbort = (): void => settler.done({ ok: false, reason: 'probe aborted' });
    const settler: Settler = {
      get settled() {
        return settled;
      },
      done(result) {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        try {
          hooks?.cleanup();
        } catch {
          // a socket that is already gone
        }
        resolve(result);
      },
    };
    if (signal?.aborted) {
      resolve({ ok: false, reason: 'probe aborted' });
      return;
    }
    try {
      hooks = start(settler);
    } catch (err) {
      // e.g. an out-of-range port or a malformed address, thrown synchronously by net/dgram
      settler.done({ ok: false, reason: `probe error: ${errorText(err)}`, code: 'CONNECT_FAILED' });
      return;
    }
    if (settled) {
      hooks.cleanup();
      return;
    }
    const ms = Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 1;
    timer = setTimeout(() => settler.done(hooks!.onTimeout()), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown };
    if (typeof e.code === 'string') return e.code;
    if (typeof e.message === 'string') return e.message;
  }
  return String(err);
}

const CONNECT_TIMEOUT_CODES = new Set(['ETIMEDOUT']);

function connectFailure(err: unknown): ProbeResult {
  const code = errorText(err);
  const api: HealthReasonCode = CONNECT_TIMEOUT_CODES.has(code) ? 'CONNECT_TIMEOUT' : 'CONNECT_FAILED';
  return { ok: false, reason: `connect ${code}`, code: api };
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function badPort(port: number): ProbeResult {
  return { ok: false, reason: `invalid port ${port}`, code: 'CONNECT_FAILED' };
}

// ---------------------------------------------------------------------------------------------
// TCP

/**
 * TCP check: healthy when the connection is established within `timeoutMs`. The socket is
 * then reset at once (as the cloud does: SYN-ACK → ACK → RST; backends may log "connection
 * reset by peer").
 */
export function tcpProbe(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  if (!validPort(port)) return Promise.resolve(badPort(port));
  return runProbe(timeoutMs, signal, (s) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => s.done({ ok: true }));
    socket.on('error', (err) => s.done(connectFailure(err)));
    return {
      onTimeout: () => ({ ok: false, reason: `connect timeout after ${formatDuration(timeoutMs)}`, code: 'CONNECT_TIMEOUT' }),
      cleanup: () => {
        socket.removeAllListeners('connect');
        socket.on('error', () => undefined); // late errors after settling are irrelevant
        if (typeof socket.resetAndDestroy === 'function' && socket.readyState === 'open') socket.resetAndDestroy();
        else socket.destroy();
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpProbeOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** GET (default) or HEAD. */
  method?: string;
  /** Request target; default "/". */
  path?: string;
  /** Host header: a domain, or `$SERVER_IP` / empty for the server's own address. */
  domain?: string;
  /** `HTTP1.0` (default) or `HTTP1.1`. */
  version?: string;
  /** Accepted status classes, `http_2xx` … `http_5xx`; empty means `http_2xx`. */
  expectedClasses?: readonly string[];
  signal?: AbortSignal;
}

/** Longest status line accepted before the reply counts as an invalid header. */
const MAX_STATUS_LINE = 8192;
const STATUS_LINE = /^HTTP\/\d+(?:\.\d+)?[ \t]+(\d{3})(?:[ \t]|$)/;

/** Percent-encodes anything in the path that cannot appear raw in a request line. */
function requestTarget(path: string | undefined): string {
  let p = path && path.length > 0 ? path : '/';
  if (!p.startsWith('/')) p = `/${p}`;
  return p.replace(/[^\x21-\x7e]/gu, (ch) =>
    Array.from(Buffer.from(ch, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

function hostHeader(domain: string | undefined, host: string): string {
  const d = domain?.trim();
  if (d && d !== '$SERVER_IP') return d;
  return net.isIPv6(host) ? `[${host}]` : host;
}

/** The class name (`http_5xx`) of a status code. */
export function statusClass(status: number): string {
  return `http_${Math.floor(status / 100)}xx`;
}

/** Builds the probe's request bytes (exported for tests and for logging what is sent). */
export function buildHttpRequest(opts: Pick<HttpProbeOptions, 'host' | 'method' | 'path' | 'domain' | 'version'>): string {
  const method = (opts.method ?? 'GET').toUpperCase() === 'HEAD' ? 'HEAD' : 'GET';
  const version = (opts.version ?? '').toUpperCase().replace(/\s/g, '') === 'HTTP1.1' ? 'HTTP/1.1' : 'HTTP/1.0';
  return (
    `${method} ${requestTarget(opts.path)} ${version}\r\n` +
    `Host: ${hostHeader(opts.domain, opts.host)}\r\n` +
    'User-Agent: OpenSLB-HealthCheck\r\n' +
    'Accept: */*\r\n' +
    'Connection: close\r\n' +
    '\r\n'
  );
}

/**
 * HTTP check over a raw socket: sends a minimal request (`Connection: close`), reads only the
 * status line and closes. Healthy when the status class is one of `expectedClasses`.
 * One deadline covers connect and response; which phase it expired in picks the code
 * (CONNECT_TIMEOUT vs RECV_RESPONSE_TIMEOUT).
 */
export function httpProbe(opts: HttpProbeOptions): Promise<ProbeResult> {
  const { host, port, timeoutMs } = opts;
  if (!validPort(port)) return Promise.resolve(badPort(port));
  const wanted = (opts.expectedClasses && opts.expectedClasses.length > 0 ? opts.expectedClasses : ['http_2xx']).map((c) =>
    c.toLowerCase(),
  );
  const request = buildHttpRequest(opts);
  return runProbe(timeoutMs, opts.signal, (s) => {
    let connected = false;
    let buffered = '';
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.once('connect', () => {
      connected = true;
      socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const eol = buffered.indexOf('\n');
      if (eol < 0) {
        if (buffered.length > MAX_STATUS_LINE) {
          s.done({ ok: false, reason: 'status line too long', code: 'HTTP_INVALID_HEADER' });
        }
        return;
      }
      const line = buffered.slice(0, eol).replace(/\r$/, '');
      const m = STATUS_LINE.exec(line);
      if (!m) {
        s.done({ ok: false, reason: `invalid status line ${JSON.stringify(line.slice(0, 64))}`, code: 'HTTP_INVALID_HEADER' });
        return;
      }
      const status = Number(m[1]);
      const cls = statusClass(status);
      if (wanted.includes(cls)) s.done({ ok: true });
      else s.done({ ok: false, reason: `HTTP ${status} not in ${wanted.join(',')}`, code: 'HTTP_CODE_NOT_MATCH' });
    });
    socket.on('end', () => {
      s.done({ ok: false, reason: 'connection closed before status line', code: 'CONNECT_INTERRUPT' });
    });
    socket.on('close', () => {
      s.done({ ok: false, reason: 'connection closed before status line', code: 'CONNECT_INTERRUPT' });
    });
    socket.on('error', (err) => {
      if (!connected) s.done(connectFailure(err));
      else s.done({ ok: false, reason: `read ${errorText(err)}`, code: 'CONNECT_INTERRUPT' });
    });
    return {
      onTimeout: () =>
        connected
          ? { ok: false, reason: `no response within ${formatDuration(timeoutMs)}`, code: 'RECV_RESPONSE_TIMEOUT' }
          : { ok: false, reason: `connect timeout after ${formatDuration(timeoutMs)}`, code: 'CONNECT_TIMEOUT' },
      cleanup: () => {
        socket.removeAllListeners('data');
        socket.removeAllListeners('end');
        socket.removeAllListeners('close');
        socket.removeAllListeners('connect');
        socket.on('error', () => undefined);
        socket.destroy();
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// UDP

export interface UdpProbeOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** Payload to send (HealthCheckReq). Default: an empty datagram. */
  request?: string;
  /**
   * Expected reply (HealthCheckExp). When set, the probe is in *custom* mode: healthy only if
   * a reply containing this string arrives in time.
   */
  expect?: string;
  signal?: AbortSignal;
}

/**
 * UDP check, two modes, both over a *connected* dgram socket (so the kernel reports an ICMP
 * port-unreachable for that peer back to the socket; Node surfaces it as an `error` event
 * with code ECONNREFUSED):
 *
 *  - custom (`expect` set): send `request` (or an empty datagram), healthy as soon as a
 *    reply containing `expect` arrives. Replies that do not contain it are ignored; at the
 *    deadline the probe fails with "unexpected response" if one was seen, else "no reply
 *    within Ns" (both RECV_RESPONSE_TIMEOUT). An ICMP port-unreachable fails it at once.
 *  - port check (no `expect`): send `request` (or an empty datagram) and re-send it once
 *    halfway to the deadline (an ICMP error can be rate-limited or race the first send).
 *    ICMP port-unreachable (ECONNREFUSED) → unhealthy "ICMP port unreachable"; any other
 *    socket error (e.g. EHOSTUNREACH) → unhealthy; any reply → healthy at once; silence
 *    until the deadline → healthy. Silence is ambiguous over UDP (a dropped ICMP looks like
 *    a live service that does not answer); this is the cloud's rule too.
 */
export function udpProbe(opts: UdpProbeOptions): Promise<ProbeResult> {
  const { host, port, timeoutMs } = opts;
  if (!validPort(port)) return Promise.resolve(badPort(port));
  const payload = Buffer.from(opts.request ?? '', 'utf8');
  const expect = opts.expect && opts.expect.length > 0 ? Buffer.from(opts.expect, 'utf8') : undefined;
  return runProbe(timeoutMs, opts.signal, (s) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    let resend: NodeJS.Timeout | undefined;
    let unexpected = false;
    const onError = (err: unknown): void => {
      const code = errorText(err);
      if (code === 'ECONNREFUSED') s.done({ ok: false, reason: 'ICMP port unreachable', code: 'CONNECT_FAILED' });
      else s.done({ ok: false, reason: `udp ${code}`, code: 'CONNECT_FAILED' });
    };
    const send = (): void => {
      if (s.settled) return;
      try {
        socket.send(payload, (err) => {
          if (err) onError(err);
        });
      } catch (err) {
        onError(err);
      }
    };
    socket.on('error', onError);
    socket.on('message', (msg: Buffer) => {
      if (!expect || msg.includes(expect)) s.done({ ok: true });
      else unexpected = true;
    });
    socket.connect(port, host, () => {
      send();
      if (!expect) {
        const ms = Number.isFinite(timeoutMs) && timeoutMs > 1 ? Math.floor(timeoutMs / 2) : 1;
        resend = setTimeout(send, ms);
      }
    });
    return {
      onTimeout: () => {
        if (!expect) return { ok: true };
        return unexpected
          ? { ok: false, reason: 'unexpected response', code: 'RECV_RESPONSE_TIMEOUT' }
          : { ok: false, reason: `no reply within ${formatDuration(timeoutMs)}`, code: 'RECV_RESPONSE_TIMEOUT' };
      },
      cleanup: () => {
        if (resend) clearTimeout(resend);
        socket.removeAllListeners('message');
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        try {
          socket.close();
        } catch {
          // already closed
        }
      },
    };
  });
}
