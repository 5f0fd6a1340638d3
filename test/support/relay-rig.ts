/**
 * Pieces the TCP listener's relay tests share (relay, TLS relay, native accept): a backend that
 * keeps its sockets, a pool that counts what it has open, and reading a socket to its end.
 */
import net from 'node:net';
import { createHash } from 'node:crypto';
import type { BackendTarget, UpstreamPool } from '../../src/dataplane/nlb/upstream-pool.js';

export interface RecordingBackend {
  target: BackendTarget;
  /** Every connection the backend accepted, in order. */
  sockets: net.Socket[];
  close(): Promise<void>;
}

/** A TCP backend on `host` (any free port) that hands each connection to `onConnection`. */
export async function recordingBackend(host: string, onConnection: (socket: net.Socket) => void): Promise<RecordingBackend> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    target: { key: `${host}:${port}`, host, port, slot: 0 },
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

export type CountingPool = UpstreamPool & { open: number; picks: number };

/** Picks `targets[0]`, retries `targets[attempt]`, and counts the connections it has open. */
export function countingPool(targets: BackendTarget[]): CountingPool {
  return {
    open: 0,
    picks: 0,
    pick() {
      this.picks++;
      return targets[0];
    },
    retry: (_flow, _first, attempt) => targets[attempt],
    opened() {
      this.open++;
    },
    closed() {
      this.open--;
    },
  };
}

export function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
