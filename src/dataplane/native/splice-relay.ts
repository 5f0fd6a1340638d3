/**
 * The splice relay of the native addon (native/splice_relay.c), seen from JS: hand it two
 * connected sockets and the bytes move kernel-to-kernel on one epoll thread per process.
 *
 * Ownership: `adopt` reads both descriptors, the addon dup()s them, and the Node sockets are
 * then destroyed — closing Node's copies only (no shutdown, nothing buffered: the caller hands
 * over sockets that have not read anything and whose writes are flushed). The addon's copies
 * are closed by the addon when the relay ends; `onEnd` runs after that, once per relay.
 *
 * The relay is optional: without the built addon, or with OPENSLB_USERSPACE_RELAY=js, `splice()`
 * returns undefined and listeners relay in JS.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

interface Addon {
  start(onEnd: (slot: number, reason: number, errno: number, toBackend: number, toClient: number) => void): Float64Array;
  add(clientFd: number, backendFd: number, header?: Buffer): number;
  abort(slot: number): void;
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
}

function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

class NativeSpliceRelay implements SpliceRelay {
  readonly counters: Float64Array;
  private readonly waiting = new Map<number, (end: SpliceEnd) => void>();

  constructor(private readonly addon: Addon) {
    this.counters = addon.start((slot, reason, errno, toBackend, toClient) => {
      const onEnd = this.waiting.get(slot);
      this.waiting.delete(slot);
      onEnd?.({ reason: REASONS[reason] ?? 'aborted', errno, toBackend, toClient });
    });
  }

  adopt(client: Socket, backend: Socket, header: Buffer | undefined, onEnd: (end: SpliceEnd) => void): number {
    const clientFd = fdOf(client);
    const backendFd = fdOf(backend);
    if (clientFd < 0 || backendFd < 0) return -1;
    const slot = this.addon.add(clientFd, backendFd, header);
    if (slot < 0) return -1;
    this.waiting.set(slot, onEnd);
    // Node's copies go; the sockets' own 'close' handlers must already be detached.
    client.destroy();
    backend.destroy();
    return slot;
  }

  abort(slot: number): void {
    this.addon.abort(slot);
  }
}

let relay: SpliceRelay | undefined;
let unavailable: string | undefined;

function load(): void {
  if (relay || unavailable) return;
  if (process.env.OPENSLB_USERSPACE_RELAY === 'js') {
    unavailable = 'OPENSLB_USERSPACE_RELAY=js';
    return;
  }
  if (process.platform !== 'linux') {
    unavailable = 'splice(2) is Linux only';
    return;
  }
  try {
    const addon = createRequire(import.meta.url)('../../../build/Release/splice_relay.node') as Addon;
    relay = new NativeSpliceRelay(addon);
  } catch (err) {
    unavailable = `native addon splice_relay not built (${(err as Error).message.split('\n')[0]}); run npm install`;
  }
}

/** The process's splice relay, or undefined when the JS relay is to be used (see `spliceUnavailableReason`). */
export function spliceRelay(): SpliceRelay | undefined {
  load();
  return relay;
}

/** Why listeners relay in JS, or undefined when the splice relay is in use. */
export function spliceUnavailableReason(): string | undefined {
  load();
  return unavailable;
}
