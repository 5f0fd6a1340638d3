/**
 * The JS relay of a client/backend socket pair: what the splice relay does, in the event loop.
 * TLS listeners always use it (the bytes must pass through Node's TLS), plain TCP when the
 * native addon is unavailable. Per chunk it does what a `pipe()` does and one addition more:
 * no timers, clock reads or counters shared between connections (the listener samples the
 * totals, see TcpListener). Half-close passes through: the sockets are half-open, and one
 * side's end-of-stream ends the other side's writing.
 */
import type { Socket } from 'node:net';

/** The per-connection byte totals the relay keeps up to date. */
export interface RelayedConnection {
  toBackend: number;
  toClient: number;
}

export function relayInJs(conn: RelayedConnection, client: Socket, backend: Socket): void {
  client.on('data', (chunk: Buffer) => {
    conn.toBackend += chunk.length;
    if (!backend.write(chunk)) client.pause();
  });
  backend.on('data', (chunk: Buffer) => {
    conn.toClient += chunk.length;
    if (!client.write(chunk)) backend.pause();
  });
  backend.on('drain', () => client.resume());
  client.on('drain', () => backend.resume());
  client.once('end', () => backend.end());
  backend.once('end', () => client.end());
  client.resume();
  backend.resume();
}
