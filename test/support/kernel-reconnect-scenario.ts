/**
 * Runs inside a test's own network namespace (`ip netns exec <ns> node --import tsx …`), where
 * the kernel engine's table is the only user of conntrack, as on a balancer host: a node stops
 * cleanly while its connections are open, the clients close them afterwards, and a new node
 * takes the same VIP and port with another backend. Clients then reconnect from the same source
 * ports, and many short connections follow. Prints one JSON line: what every attempt got.
 */
import net from 'node:net';
import { KernelEngine } from '../../src/dataplane/kernel/engine.js';
import { localRunner } from '../../src/dataplane/kernel/commands.js';
import type { KernelSnapshot } from '../../src/dataplane/kernel/snapshot.js';
import { startTcpBackend, type TcpBackend } from './backends.js';

const VIP = '127.0.66.10';
const PORT = 7801;
const SOURCE_PORTS = Array.from({ length: 20 }, (_, i) => 41000 + i);
const SHORT_CONNECTIONS = Number(process.argv[2] ?? 300);

function snapshot(backend: TcpBackend): KernelSnapshot {
  return {
    groups: [
      {
        id: 'g',
        scheduler: 'Rr',
        backends: [{ key: `${backend.host}:${backend.port}`, host: backend.host, port: backend.port, weight: 100 }],
      },
    ],
    listeners: [
      {
        id: 'l',
        protocol: 'tcp',
        vips: [VIP],
        portFrom: PORT,
        portTo: PORT,
        keepPort: false,
        groupId: 'g',
        fullNat: false,
        idleTimeoutS: 900,
        cps: 0,
        mss: 0,
      },
    ],
  };
}

function open(localPort?: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: VIP, port: PORT, localAddress: '127.0.0.1', localPort }, () => resolve(s));
    s.once('error', reject);
  });
}

/** One line over a new connection (from `localPort` when given); the reply, or the error. */
async function roundTrip(line: string, localPort?: number): Promise<string> {
  try {
    const s = await open(localPort);
    return await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('no reply within 5 s'), 5000);
      s.once('data', (d) => {
        clearTimeout(timer);
        s.destroy();
        resolve(d.toString());
      });
      s.once('error', (err) => resolve(err.message));
      s.write(line);
    });
  } catch (err) {
    return (err as Error).message;
  }
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) resolve();
    else s.once('close', () => resolve());
    s.on('error', () => undefined);
  });
}

const old = await startTcpBackend('127.0.66.21', 'old');
const first = new KernelEngine({ nodeId: `reconnect-first-${process.pid}`, runner: localRunner() });
await first.apply(snapshot(old));
const held = await Promise.all(SOURCE_PORTS.map((p) => open(p)));
// The node stops cleanly with its connections open; the clients close them afterwards.
await first.close();
for (const s of held) s.destroy();
await Promise.all(held.map(closed));
await old.close();

const fresh = await startTcpBackend('127.0.66.22', 'new');
const second = new KernelEngine({ nodeId: `reconnect-second-${process.pid}`, runner: localRunner() });
await second.apply(snapshot(fresh));
const reused: string[] = [];
for (const p of SOURCE_PORTS) reused.push(await roundTrip('again', p));
const short: string[] = [];
for (let i = 0; i < SHORT_CONNECTIONS; i++) short.push(await roundTrip(`s${i}`));
await second.close();
await fresh.close();
process.stdout.write(`${JSON.stringify({ reused, short })}\n`);
