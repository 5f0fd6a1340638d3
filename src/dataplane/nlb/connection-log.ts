/**
 * The optional per-connection log of user-space listeners (`dataplane.connectionLog`): one
 * line when a connection ends, with what an operator asks about first — who, to which
 * backend, how much each way, how long, and why it ended. Off by default; when off, listeners
 * hold no callback and the hot path does nothing for it.
 */
import type { Logger } from 'pino';

/**
 * Why a connection ended. `closed`: both peers finished (FIN both ways); `client-error` /
 * `backend-error`: a reset or socket error on that side (the other side is reset too);
 * `idle-timeout`, `backend-drained`, `listener-stopped`: OpenSLB closed it; `no-backend`: no
 * backend was eligible; `connect-failed`: every eligible backend refused or timed out;
 * `tls-handshake-failed`: the client's TLS handshake failed (native TLS; no backend was opened).
 */
export type CloseReason =
  | 'closed'
  | 'client-error'
  | 'backend-error'
  | 'idle-timeout'
  | 'backend-drained'
  | 'listener-stopped'
  | 'no-backend'
  | 'connect-failed'
  | 'tls-handshake-failed';

export interface ConnectionLogEntry {
  listenerId: string;
  /** Client address and port, as the listener saw them. */
  client: string;
  /** The VIP and port the client connected to. */
  listener: string;
  /** `<ip>:<port>` of the backend server, absent when none was connected. */
  backend?: string;
  /** Bytes from the client to the backend, and back. */
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  reason: CloseReason;
  /** Which relay moved the bytes: the native splice relay, the native TLS relay, or JS. */
  relay: 'splice' | 'native-tls' | 'js';
}

/** The listener callback that writes one `info` line per ended connection. */
export function connectionLogger(log: Pick<Logger, 'info'>): (entry: ConnectionLogEntry) => void {
  return (entry) => log.info({ connection: entry }, 'connection closed');
}
