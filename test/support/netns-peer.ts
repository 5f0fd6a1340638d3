/**
 * Runs inside a test's network namespace (`ip netns exec <ns> node --import tsx netns-peer.ts
 * '<backends JSON>'`): starts TCP backends on the namespace's loopback, prints `ready`, then
 * answers one JSON request per stdin line — connect to a VIP from a fixed source port, send a
 * line, print the reply — so a test can reach a data-plane node that lives in the namespace.
 * A request `{ id, close: <backend name> }` stops that backend (a machine cut off from it).
 */
import net from 'node:net';
import { createInterface } from 'node:readline';
import { startTcpBackend } from './backends.js';

interface Probe {
  id: number;
  host: string;
  port: number;
  srcPort: number;
  line: string;
}

function roundTrip(p: Probe): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: p.host, port: p.port, localAddress: '127.0.0.1', localPort: p.srcPort }, () => socket.write(p.line));
    const timer = setTimeout(() => socket.destroy(new Error('no reply within 5 s')), 5000);
    socket.once('data', (d) => {
      clearTimeout(timer);
      resolve(d.toString());
      socket.destroy();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => reject(new Error('closed without a reply')));
  });
}

const backends = JSON.parse(process.argv[2] ?? '[]') as Array<{ host: string; port: number; name: string }>;
const running = new Map(await Promise.all(backends.map(async (b) => [b.name, await startTcpBackend(b.host, b.name, b.port)] as const)));
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (text) => {
  const request = JSON.parse(text) as Probe | { id: number; close: string };
  if ('close' in request) {
    const backend = running.get(request.close);
    running.delete(request.close);
    void (backend?.close() ?? Promise.resolve()).then(() =>
      process.stdout.write(`${JSON.stringify({ id: request.id, reply: 'closed' })}\n`),
    );
    return;
  }
  const probe = request;
  roundTrip(probe).then(
    (reply) => process.stdout.write(`${JSON.stringify({ id: probe.id, reply })}\n`),
    (err: Error) => process.stdout.write(`${JSON.stringify({ id: probe.id, error: err.message })}\n`),
  );
});
// The test closes stdin when it is done with this namespace.
process.stdin.on('end', () => process.exit(0));
