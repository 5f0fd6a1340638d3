/**
 * TCP_MAXSEG through the small native addon built at install (native/tcp_sockopt.c): Node
 * has no API for it. Reaching a socket's file descriptor uses the handle Node keeps on every
 * net.Server and net.Socket (`_handle.fd`, present on Linux).
 */
import { createRequire } from 'node:module';
import type { Server, Socket } from 'node:net';
import { socketFd } from './socket-fd.js';

interface Addon {
  setMaxSeg(fd: number, mss: number): void;
  getMaxSeg(fd: number): number;
}

let addon: Addon | undefined;
let loadError: string | undefined;
try {
  addon = createRequire(import.meta.url)('../../../build/Release/tcp_sockopt.node') as Addon;
} catch (err) {
  loadError = (err as Error).message;
}

/** Why MSS clamping is unavailable, or undefined when it works. */
export function mssUnavailableReason(): string | undefined {
  return addon ? undefined : `native addon tcp_sockopt not built (${loadError}); run npm install`;
}

function fdOf(handleOwner: Server | Socket): number {
  const fd = socketFd(handleOwner);
  if (fd < 0) throw new Error('socket has no file descriptor yet');
  return fd;
}

/** Clamps the MSS a listening socket advertises to every connection it accepts from now on. */
export function setListenerMss(server: Server, mss: number): void {
  if (!addon) throw new Error(mssUnavailableReason());
  addon.setMaxSeg(fdOf(server), mss);
}

/** The same, for a listening socket known by its descriptor (one the native addon accepts on). */
export function setListenerFdMss(fd: number, mss: number): void {
  if (!addon) throw new Error(mssUnavailableReason());
  addon.setMaxSeg(fd, mss);
}

/** The effective MSS of a connected socket (what a test or an operator checks). */
export function socketMss(socket: Socket): number {
  if (!addon) throw new Error(mssUnavailableReason());
  return addon.getMaxSeg(fdOf(socket));
}
