/**
 * The file descriptor behind a Node server or socket, for the native addons: Node keeps it on
 * the handle (`_handle.fd`, present on Linux). -1 when there is none (not yet connected, closed,
 * or a platform without descriptors).
 */
import type { Server, Socket } from 'node:net';

export function socketFd(handleOwner: Server | Socket): number {
  const fd = (handleOwner as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}
