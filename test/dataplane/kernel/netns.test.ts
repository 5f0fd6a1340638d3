/**
 * The kernel engine between network namespaces this test creates: client namespace → balancer
 * namespace (prerouting hook, forwarding) → backend namespace. The engine runs its tools in the
 * balancer namespace through `ip netns exec`. Every namespace is deleted, even on failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { KernelEngine } from '../../../src/dataplane/kernel/engine.js';
import { localRunner } from '../../../src/dataplane/kernel/commands.js';
import type { KernelListener, KernelSnapshot } from '../../../src/dataplane/kernel/snapshot.js';

const id = process.pid;
const ns = { client: `kc${id}`, lb: `kl${id}`, backend: `kb${id}` };
const VIP = '10.201.9.9';
const children: ChildProcess[] = [];
let engine: KernelEngine;

function sh(...args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: 'ignore' });
}

before(async () => {
  for (const n of Object.values(ns)) sh('ip', 'netns', 'add', n);
  sh('ip', 'link', 'add', `kc${id}a`, 'netns', ns.client, 'type', 'veth', 'peer', 'name', `kl${id}a`, 'netns', ns.lb);
  sh('ip', 'link', 'add', `kb${id}a`, 'netns', ns.backend, 'type', 'veth', 'peer', 'name', `kl${id}b`, 'netns', ns.lb);
  const inNs = (n: string, ...args: string[]) => sh('ip', 'netns', 'exec', n, ...args);
  for (const n of Object.values(ns)) inNs(n, 'ip', 'link', 'set', 'lo', 'up');
  inNs(ns.client, 'ip', 'addr', 'add', '10.201.1.2/24', 'dev', `kc${id}a`);
  inNs(ns.client, 'ip', 'link', 'set', `kc${id}a`, 'up');
  inNs(ns.client, 'ip', 'route', 'add', 'default', 'via', '10.201.1.1');
  inNs(ns.lb, 'ip', 'addr', 'add', '10.201.1.1/24', 'dev', `kl${id}a`);
  inNs(ns.lb, 'ip', 'addr', 'add', '10.201.2.1/24', 'dev', `kl${id}b`);
  inNs(ns.lb, 'ip', 'link', 'set', `kl${id}a`, 'up');
  inNs(ns.lb, 'ip', 'link', 'set', `kl${id}b`, 'up');
  inNs(ns.lb, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  inNs(ns.backend, 'ip', 'addr', 'add', '10.201.2.2/24', 'dev', `kb${id}a`);
  inNs(ns.backend, 'ip', 'link', 'set', `kb${id}a`, 'up');
  // Replies go back through the balancer (what DNAT-only needs from a backend).
  inNs(ns.backend, 'ip', 'route', 'add', 'default', 'via', '10.201.2.1');
  // The backend answers with the address it sees the client at, on 8080 and a port range.
  const script = `const net=require('net');for(const p of [8080,9000,9001])net.createServer(s=>s.on('data',()=>s.end(p+' '+s.remoteAddress))).listen(p,'10.201.2.2',()=>console.log('up'));`;
  const server = spawn('ip', ['netns', 'exec', ns.backend, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(server);
  await new Promise<void>((resolve) => {
    let up = 0;
    server.stdout!.on('data', (d: Buffer) => {
      up += d.toString().split('up').length - 1;
      if (up >= 3) resolve();
    });
  });
  engine = new KernelEngine({ nodeId: `netns-test-${id}`, runner: localRunner(['ip', 'netns', 'exec', ns.lb]) });
});

after(async () => {
  await engine?.close().catch(() => undefined);
  for (const c of children) c.kill('SIGKILL');
  for (const n of Object.values(ns)) {
    try {
      sh('ip', 'netns', 'del', n);
    } catch {
      // not created
    }
  }
});

/** Connects from the client namespace; resolves with the backend's answer. */
function fromClient(port: number): string {
  const script = `const s=require('net').connect(${port},'${VIP}',()=>s.write('x'));s.on('data',d=>{process.stdout.write(d);process.exit(0)});s.on('error',e=>{console.error(e.message);process.exit(1)});setTimeout(()=>process.exit(2),8000)`;
  return execFileSync('ip', ['netns', 'exec', ns.client, process.execPath, '-e', script]).toString();
}

function snapshot(over: Partial<KernelListener>): KernelSnapshot {
  return {
    groups: [{ id: 'sg', scheduler: 'Rr', backends: [{ key: '10.201.2.2:8080', host: '10.201.2.2', port: 8080, weight: 100 }] }],
    listeners: [
      {
        id: 'l80',
        protocol: 'tcp',
        vips: [VIP],
        portFrom: 80,
        portTo: 80,
        keepPort: false,
        groupId: 'sg',
        fullNat: false,
        idleTimeoutS: 900,
        cps: 0,
        mss: 0,
        ...over,
      },
      {
        id: 'range',
        protocol: 'tcp',
        vips: [VIP],
        portFrom: 9000,
        portTo: 9001,
        keepPort: true,
        groupId: 'sg',
        fullNat: false,
        idleTimeoutS: 900,
        cps: 0,
        mss: 0,
      },
    ],
  };
}

test('across namespaces: DNAT only shows the client address; full NAT shows the VIP; port ranges keep the port', async () => {
  await engine.apply(snapshot({}));
  assert.equal(fromClient(80), '8080 10.201.1.2');
  assert.equal(fromClient(9001), '9001 10.201.1.2', 'port N goes to port N on the backend');
  await engine.apply(snapshot({ fullNat: true }));
  assert.equal(fromClient(80), `8080 ${VIP}`);
  const counters = await engine.counters();
  assert.equal(counters.get('l80')?.newConnections, 2);
});
