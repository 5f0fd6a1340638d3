/**
 * The splice relay of the native addon (native/splice_relay.c), seen from JS: hand it two
 * connected sockets and the bytes move kernel-to-kernel on one epoll thread per process.
 *
 * Ownership: `adopt` reads both descriptors, the addon dup()s them, and the Node sockets are
 * then destroyed — closing Node's copies only (no shutdown, nothing buffered: the caller hands
 * over sockets that have not read anything and whose writes are flushed). The addon's copies
 * are closed by the addon when the relay ends; `onEnd` runs after that, once per relay.
 *
 * Plain-TCP listeners can go further and let the addon accept (`listen`): JS then only sees
 * each new client as a slot and an address, decides, and answers `connect` or `reject`.
 *
 * The relay is optional: without the built addon, or with OPENSLB_USERSPACE_RELAY=js, `splice()`
 * returns undefined and listeners relay in JS.
 */
import { nativeRelayLoader } from './native-relay-loader.js';
import { socketFd } from './socket-fd.js';
import type { Server, Socket } from 'node:net';
import { formatIpv6 } from '../../util/ipv6.js';

interface Addon {
  start(onEvents: (records: Float64Array, count: number) => void): Float64Array;
  add(clientFd: number, backendFd: number, header?: Buffer): number;
  abort(slot: number): void;
  connect(slot: number, ip: string, port: number, header: Buffer | undefined, timeoutMs: number): number;
  reject(slot: number): void;
  listen(fd: number): [id: number, ownFd: number];
  unlisten(id: number): void;
}

export type SpliceEndReason = 'done' | 'client-error' | 'backend-error' | 'aborted';
const REASONS: readonly SpliceEndReason[] = ['done', 'client-error', 'backend-error', 'aborted'];

export interface SpliceEnd {
  reason: SpliceEndReason;
  /** errno of the failure, 0 otherwise. */
  errno: number;
  toBackend: number;
  toClient: number;
}

/** Who hears about a natively accepted connection once `connect` has been called for it. */
export interface NativeConnectionOwner<C> {
  /** The backend refused or timed out (errno): call `connect` again, or `reject`. */
  connectFailed(conn: C, errno: number): void;
  /** The relay (or the connect under way, when aborted) ended; the slot is gone. */
  ended(conn: C, end: SpliceEnd): void;
}

/** A listening socket the addon accepts on. */
export interface NativeListener {
  /** The addon's descriptor of the listening socket (socket options such as the MSS). */
  readonly fd: number;
  /** Stops accepting and closes the addon's descriptor, at once. */
  close(): void;
}

/**
 * Called for each client the addon accepted, with its slot: answer before returning, with
 * `connect` (then the owner hears the rest) or `reject`.
 */
export type OnNativeAccept = (slot: number, clientIp: string, clientPort: number) => void;

export interface SpliceRelay {
  /**
   * Moves both sockets into the relay, `header` (the PROXY header) first towards the backend
   * and not counted as client bytes; returns the slot, or -1 (nothing changed: relay in JS)
   * when the table is full or a descriptor is missing.
   */
  adopt(client: Socket, backend: Socket, header: Buffer | undefined, onEnd: (end: SpliceEnd) => void): number;
  /** Bytes delivered so far: [2·slot] client→backend, [2·slot+1] backend→client. */
  readonly counters: Float64Array;
  abort(slot: number): void;
  /**
   * Whether listeners may hand their listening sockets to the addon (false with
   * OPENSLB_USERSPACE_ACCEPT=js: JS accepts, then hands connected pairs over).
   */
  readonly nativeAccept: boolean;
  /**
   * The addon accepts on `server`'s socket from now on; Node's own descriptor is closed (see
   * below). Undefined when the server has no descriptor (the caller keeps accepting in JS).
   */
  listen(server: Server, onAccept: OnNativeAccept): NativeListener | undefined;
  /**
   * Starts a non-blocking connect for an accepted client, `header` to be sent first; 0 when
   * under way, else the errno of an immediate failure (the slot is still the caller's).
   */
  connect<C>(slot: number, ip: string, port: number, header: Buffer | undefined, timeoutMs: number, owner: NativeConnectionOwner<C>, conn: C): number;
  /** Closes an accepted client that will not be served. */
  reject(slot: number): void;
}

// The addon's record layout (native/splice_relay.c): RECORD numbers per event.
const RECORD = 10;
const REC_ACCEPTED = 1;
const REC_CONNECT_FAILED = 2;
const REC_ENDED = 3;
const MAX_SLOTS = 65536;

/** The end of a relay handed over with `adopt`: a callback, no connection object. */
const ADOPTED: NativeConnectionOwner<(end: SpliceEnd) => void> = {
  connectFailed: () => undefined,
  ended: (onEnd, end) => onEnd(end),
};

function clientIp(records: Float64Array, at: number): string {
  if (records[at + 4] === 4) {
    const w = records[at + 6];
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const bytes = new Uint8Array(16);
  for (let k = 0; k < 4; k++) {
    const w = records[at + 6 + k];
    bytes[4 * k] = w >>> 24;
    bytes[4 * k + 1] = (w >>> 16) & 255;
    bytes[4 * k + 2] = (w >>> 8) & 255;
    bytes[4 * k + 3] = w & 255;
  }
  return formatIpv6(bytes, 0);
}

class NativeSpliceRelay implements SpliceRelay {
  readonly counters: Float64Array;
  readonly nativeAccept = process.env.OPENSLB_USERSPACE_ACCEPT !== 'js';
  /** Per slot: who hears of its connect failures and its end, and about which connection. */
  private readonly owners: Array<NativeConnectionOwner<unknown> | undefined> = new Array(MAX_SLOTS);
  private readonly conns: unknown[] = new Array(MAX_SLOTS);
  private readonly accepting = new Map<number, OnNativeAccept>();

  constructor(private readonly addon: Addon) {
    this.counters = addon.start((records, count) => this.deliver(records, count));
  }

  private deliver(records: Float64Array, count: number): void {
    for (let i = 0; i < count; i++) {
      try {
        this.deliverOne(records, i * RECORD);
      } catch (err) {
        // The rest of the batch still needs its answers; the error is reported as uncaught.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private deliverOne(records: Float64Array, at: number): void {
    const kind = records[at];
    const slot = records[at + 1];
    if (kind === REC_ACCEPTED) {
      const onAccept = this.accepting.get(records[at + 2]);
      // Accepted just before its listener closed: nobody serves it.
      if (onAccept) onAccept(slot, clientIp(records, at), records[at + 3]);
      else this.addon.reject(slot);
    } else if (kind === REC_CONNECT_FAILED) {
      this.owners[slot]?.connectFailed(this.conns[slot], records[at + 2]);
    } else if (kind === REC_ENDED) {
      const owner = this.owners[slot];
      const conn = this.conns[slot];
      this.owners[slot] = undefined;
      this.conns[slot] = undefined;
      owner?.ended(conn, { reason: REASONS[records[at + 2]] ?? 'aborted', errno: records[at + 3], toBackend: records[at + 4], toClient: records[at + 5] });
    }
  }

  adopt(client: Socket, backend: Socket, header: Buffer | undefined, onEnd: (end: SpliceEnd) => void): number {
    const clientFd = socketFd(client);
    const backendFd = socketFd(backend);
    if (clientFd < 0 || backendFd < 0) return -1;
    const slot = this.addon.add(clientFd, backendFd, header);
    if (slot < 0) return -1;
    this.owners[slot] = ADOPTED as NativeConnectionOwner<unknown>;
    this.conns[slot] = onEnd;
    // Node's copies go; the sockets' own 'close' handlers must already be detached.
    client.destroy();
    backend.destroy();
    return slot;
  }

  abort(slot: number): void {
    this.addon.abort(slot);
  }

  listen(server: Server, onAccept: OnNativeAccept): NativeListener | undefined {
    const handle = (server as unknown as { _handle?: { fd?: number } })._handle;
    const fd = socketFd(server);
    if (!handle || fd < 0) return undefined;
    const [id, ownFd] = this.addon.listen(fd);
    this.accepting.set(id, onAccept);
    // Node stops accepting: its descriptor is closed with the handle's own close, not the
    // server's. In a cluster worker the server's close also tells the primary, which would
    // then drop the socket it shares between workers, and a worker asking for the port later
    // would bind a second socket (EADDRINUSE against ours). The server is closed for real,
    // primary told, when the listener closes. Deferred to the next tick: the cluster's own
    // 'listening' handler still reads the address from the handle, and libuv accepts
    // nothing before the ticks are done.
    const nodeClose = (Object.getPrototypeOf(handle) as { close: (this: unknown) => void }).close;
    process.nextTick(() => nodeClose.call(handle));
    const addon = this.addon;
    const accepting = this.accepting;
    let open = true;
    return {
      fd: ownFd,
      close() {
        if (!open) return;
        open = false;
        accepting.delete(id);
        addon.unlisten(id);
      },
    };
  }

  connect<C>(slot: number, ip: string, port: number, header: Buffer | undefined, timeoutMs: number, owner: NativeConnectionOwner<C>, conn: C): number {
    const errno = this.addon.connect(slot, ip, port, header, timeoutMs);
    if (errno === 0) {
      this.owners[slot] = owner as NativeConnectionOwner<unknown>;
      this.conns[slot] = conn;
    }
    return errno;
  }

  reject(slot: number): void {
    this.owners[slot] = undefined;
    this.conns[slot] = undefined;
    this.addon.reject(slot);
  }
}

const loader = nativeRelayLoader('splice_relay', 'splice(2) is Linux only', (addon: Addon) => new NativeSpliceRelay(addon));

/** The process's splice relay, or undefined when the JS relay is to be used (see `spliceUnavailableReason`). */
export function spliceRelay(): SpliceRelay | undefined {
  return loader.get();
}

/** Why listeners relay in JS, or undefined when the splice relay is in use. */
export function spliceUnavailableReason(): string | undefined {
  return loader.unavailableReason();
}
