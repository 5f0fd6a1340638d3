/** Real backend servers on loopback addresses for data-plane tests. */
import net from 'node:net';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface TcpBackend {
  host: string;
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** The first bytes each connection sent, in order of arrival. */
  firstChunks: Buffer[];
  close(): Promise<void>;
}

/** Answers every line with `<name>:<line>`; records each connection's first chunk. */
export async function startTcpBackend(host: string, name: string, port = 0): Promise<TcpBackend> {
  const sockets = new Set<net.Socket>();
  const backend: TcpBackend = {
    host,
    port: 0,
    accepted: 0,
    firstChunks: [],
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    backend.accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let first = true;
    socket.on('data', (chunk) => {
      if (first) backend.firstChunks.push(Buffer.from(chunk));
      first = false;
      socket.write(`${name}:${chunk.toString('latin1')}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  backend.port = (server.address() as AddressInfo).port;
  return backend;
}

export async function startUdpBackend(
  host: string,
  name: string,
): Promise<{ host: string; port: number; received: number; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const state = { host, port: 0, received: 0, close: () => new Promise<void>((r) => socket.close(() => r())) };
  socket.on('message', (msg, rinfo) => {
    state.received++;
    socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  state.port = socket.address().port;
  return state;
}

/** Sends one line over a new TCP connection and returns the reply. */
export function tcpRoundTrip(host: string, port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => socket.write(line));
    socket.once('data', (d) => {
      resolve(d.toString());
      socket.destroy();
    });
    socket.once('error', reject);
    // Closed by the balancer before any reply (no backend, CPS limit): a refusal, not a hang.
    socket.once('close', () => reject(new Error('connection closed without a reply')));
  });
}

export function udpRoundTrip(host: string, port: number, message: string, from?: dgram.Socket): Promise<string> {
  const socket = from ?? dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // An open socket would keep the test process alive after the failure is reported.
      if (!from) socket.close();
      reject(new Error('no UDP reply'));
    }, 5000);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      if (!from) socket.close();
      resolve(msg.toString());
    });
    socket.send(message, port, host);
  });
}
