/**
 * TLS termination in the native addon (native/tls_relay.c), seen from JS. A TCPSSL listener
 * builds one context per bind (`context`), accepts plain TCP sockets as usual and hands each
 * client socket over (`adopt`): the addon's epoll thread runs the handshake, reports it, and
 * after `attach` (the connected backend, with an optional PROXY header) relays plaintext both
 * ways. Node's sockets are destroyed at hand-over (their descriptors were duplicated).
 *
 * Optional like the splice relay: without the built addon, or with OPENSLB_USERSPACE_RELAY=js,
 * `tlsRelay()` returns undefined and TCPSSL listeners use Node's TLS.
 */
import { nativeRelayLoader } from './native-relay-loader.js';
import { socketFd } from './socket-fd.js';
import type { Socket } from 'node:net';

/** What one SSL_CTX set is built from (the same inputs as Node's secure context). */
export interface NativeTlsSpec {
  certPem: string;
  keyPem: string;
  /** CA certificates for mutual TLS (PEM, concatenated); empty: no client certificate asked. */
  caPem: string;
  /** Protocol versions as OpenSSL numbers (0x0301 TLS 1.0 … 0x0304 TLS 1.3). */
  minVersion: number;
  maxVersion: number;
  /** OpenSSL cipher list for TLS ≤ 1.2 (may carry `@SECLEVEL=0`); empty: OpenSSL's default. */
  cipherList: string;
  /** TLS 1.3 suites, colon-separated. */
  cipherSuites: string;
  /** SSL_OP_NO_* for versions the policy leaves out between min and max. */
  secureOptions: number;
  /** ALPN protocols in the server's order; empty: no ALPN. */
  alpn: readonly string[];
  /** 48 bytes: ticket key name, HMAC key, AES key. */
  ticketKeys: Buffer;
  /** Certificates chosen by SNI; names lower case, `*.` one-label wildcards allowed. */
  sni: ReadonlyArray<{ names: readonly string[]; certPem: string; keyPem: string }>;
}

interface Addon {
  start(onEvent: (slot: number, kind: number, reason: number, errno: number, toBackend: number, toClient: number, text: string) => void): Float64Array;
  context(spec: object): object;
  add(context: object, clientFd: number): number;
  attach(slot: number, backendFd: number, header?: Buffer): void;
  abort(slot: number): void;
}

export type TlsEndReason = 'done' | 'client-error' | 'backend-error' | 'aborted' | 'handshake-failed';
const REASONS: readonly TlsEndReason[] = ['done', 'client-error', 'backend-error', 'aborted', 'handshake-failed'];
const HANDSHAKE = 0;

export interface TlsEnd {
  reason: TlsEndReason;
  /** errno of a socket failure, 0 otherwise. */
  errno: number;
  /** Why a handshake failed (OpenSSL's reason), else empty. */
  message: string;
  toBackend: number;
  toClient: number;
}

export interface TlsConnectionEvents {
  /** The handshake completed; `alpn` is the negotiated protocol ('' when none). */
  handshake(alpn: string): void;
  /** Once per connection, after the addon has closed both descriptors. */
  end(end: TlsEnd): void;
}

/** An opaque, built SSL context set; freed when unreachable and no connection uses it. */
export interface TlsContext {
  readonly native: object;
}

export interface TlsRelay {
  /** Builds the contexts; throws (with OpenSSL's reason) on a bad certificate, key or policy. */
  context(spec: NativeTlsSpec): TlsContext;
  /** Takes the client socket (destroyed here); returns the slot, or -1 (table full: nothing changed). */
  adopt(context: TlsContext, client: Socket, events: TlsConnectionEvents): number;
  /** After `handshake`: takes the connected backend socket (destroyed here); relaying starts. */
  attach(slot: number, backend: Socket, header: Buffer | undefined): boolean;
  /** Plaintext bytes delivered so far: [2·slot] client→backend, [2·slot+1] backend→client. */
  readonly counters: Float64Array;
  abort(slot: number): void;
}

const VERSIONS: Record<string, number> = { TLSv1: 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };

/** OpenSSL's number for a Node version name (`TLSv1.2`). */
export function opensslVersion(name: string): number {
  const v = VERSIONS[name];
  if (v === undefined) throw new Error(`unknown TLS version ${name}`);
  return v;
}

function alpnWire(protocols: readonly string[]): Buffer {
  return Buffer.concat(protocols.map((p) => Buffer.concat([Buffer.from([Buffer.byteLength(p)]), Buffer.from(p)])));
}

class NativeTlsRelay implements TlsRelay {
  readonly counters: Float64Array;
  private readonly waiting = new Map<number, TlsConnectionEvents>();

  constructor(private readonly addon: Addon) {
    this.counters = addon.start((slot, kind, reason, errno, toBackend, toClient, text) => {
      const events = this.waiting.get(slot);
      if (kind === HANDSHAKE) {
        events?.handshake(text);
        return;
      }
      this.waiting.delete(slot);
      events?.end({ reason: REASONS[reason] ?? 'aborted', errno, message: text, toBackend, toClient });
    });
  }

  context(spec: NativeTlsSpec): TlsContext {
    return { native: this.addon.context({ ...spec, alpn: alpnWire(spec.alpn) }) };
  }

  adopt(context: TlsContext, client: Socket, events: TlsConnectionEvents): number {
    const fd = socketFd(client);
    if (fd < 0) return -1;
    const slot = this.addon.add(context.native, fd);
    if (slot < 0) return -1;
    this.waiting.set(slot, events);
    client.destroy();
    return slot;
  }

  attach(slot: number, backend: Socket, header: Buffer | undefined): boolean {
    const fd = socketFd(backend);
    if (fd < 0) return false;
    this.addon.attach(slot, fd, header);
    backend.destroy();
    return true;
  }

  abort(slot: number): void {
    this.addon.abort(slot);
  }
}

const loader = nativeRelayLoader('tls_relay', 'the native TLS relay is Linux only', (addon: Addon) => new NativeTlsRelay(addon));

/** The process's native TLS relay, or undefined when TCPSSL listeners use Node's TLS. */
export function tlsRelay(): TlsRelay | undefined {
  return loader.get();
}

/** Why TCPSSL listeners use Node's TLS, or undefined when the native relay is in use. */
export function tlsRelayUnavailableReason(): string | undefined {
  return loader.unavailableReason();
}
