/**
 * The kernel engine with real traffic on loopback, driven through the official API: which engine
 * a listener lands on, the same backend for the same flow in both engines, the client address
 * with and without full NAT, Cps drops, idle timeouts answered with a reset, and the fallback to
 * user space when nftables cannot be used.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pino from 'pino';
import { startTestServer, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../../support/backends.js';
import { chooseKernelEngine } from '../../../src/server/dataplane.js';
import { defaultConfig } from '../../../src/config/config.js';
import type { CommandRunner } from '../../../src/dataplane/kernel/commands.js';

let kernel: TestServer;
let lb: { id: string; vips: string[] };
const closers: Array<() => Promise<void>> = [];

before(async () => {
  kernel = await startTestServer({ configure: (c) => (c.dataplane.engine = 'kernel') });
  lb = await createActiveLoadBalancer(kernel);
});
after(async () => {
  await kernel?.stop();
  for (const close of closers) await close().catch(() => undefined);
});

async function backend(host: string, name: string): Promise<TcpBackend> {
  const b = await startTcpBackend(host, name);
  closers.push(() => b.close());
  return b;
}

/** A backend that answers with the address it sees the client at. */
async function addressEcho(host: string): Promise<{ host: string; port: number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('data', () => s.end(`${s.remoteAddress}`));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))));
  return { host, port: (server.address() as net.AddressInfo).port };
}

function connectFrom(localAddress: string, host: string, port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress }, () => socket.write(line));
    socket.once('data', (d) => {
      resolve(d.toString());
      socket.destroy();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed without a reply')));
  });
}

async function metrics(server: TestServer): Promise<string> {
  return (await fetch(`${server.running.adminUrl}/metrics`)).text();
}

test('plain TCP goes to the kernel, PROXY protocol stays in user space, and /metrics says which', async () => {
  const a = await backend('127.0.4.1', 'a');
  const sg = await createServerGroup(kernel, { HealthCheckConfig: { HealthCheckEnabled: false } }, [{ ip: a.host, port: a.port }]);
  const plain = await createRunningListener(kernel, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 7701,
    ServerGroupId: sg,
  });
  const pp = await createRunningListener(kernel, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 7702,
    ServerGroupId: sg,
    ProxyProtocolEnabled: true,
  });
  assert.equal(await tcpRoundTrip(lb.vips[0], 7701, 'k'), 'a:k');
  const text = await metrics(kernel);
  assert.match(text, new RegExp(`openslb_listener_engine\\{listener="${plain}",engine="kernel"\\} 1`));
  assert.match(text, new RegExp(`openslb_listener_engine\\{listener="${pp}",engine="userspace"\\} 1`));
});

test('sch: the same client address reaches the same backend through the kernel and through user space', async () => {
  const user = await startTestServer({ configure: (c) => (c.dataplane.engine = 'userspace') });
  closers.push(() => user.stop());
  const userLb = await createActiveLoadBalancer(user);
  const pool = [await backend('127.0.4.11', 'x'), await backend('127.0.4.12', 'y'), await backend('127.0.4.13', 'z')];
  const servers = pool.map((b) => ({ ip: b.host, port: b.port }));
  const noCheck = { Scheduler: 'Sch', HealthCheckConfig: { HealthCheckEnabled: false } };
  const kSg = await createServerGroup(kernel, noCheck, servers);
  const uSg = await createServerGroup(user, noCheck, servers);
  await createRunningListener(kernel, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7711, ServerGroupId: kSg });
  await createRunningListener(user, { LoadBalancerId: userLb.id, ListenerProtocol: 'TCP', ListenerPort: 7712, ServerGroupId: uSg });
  const seen = new Set<string>();
  for (let i = 1; i <= 24; i++) {
    const client = `127.0.9.${i}`;
    const viaKernel = await connectFrom(client, lb.vips[0], 7711, 'q');
    const viaUser = await connectFrom(client, userLb.vips[0], 7712, 'q');
    assert.equal(viaKernel, viaUser, `client ${client}`);
    assert.equal(await connectFrom(client, lb.vips[1], 7711, 'q'), viaKernel, 'sticky across VIPs and connections');
    seen.add(viaKernel);
  }
  assert.equal(seen.size, 3, 'clients spread over every backend');
});

test('PreserveClientIp: DNAT only shows the client address to the backend; full NAT shows the VIP', async () => {
  const echo = await addressEcho('127.0.4.21');
  const keep = await createServerGroup(kernel, { HealthCheckConfig: { HealthCheckEnabled: false } }, [{ ip: echo.host, port: echo.port }]);
  const nat = await createServerGroup(kernel, { PreserveClientIpEnabled: false, HealthCheckConfig: { HealthCheckEnabled: false } }, [
    { ip: echo.host, port: echo.port },
  ]);
  await createRunningListener(kernel, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7721, ServerGroupId: keep });
  await createRunningListener(kernel, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7722, ServerGroupId: nat });
  assert.equal(await connectFrom('127.0.9.77', lb.vips[0], 7721, 'who'), '127.0.9.77');
  assert.equal(await connectFrom('127.0.9.77', lb.vips[1], 7722, 'who'), lb.vips[1]);
});

test('Cps: connections over the limit are refused with a reset and counted', async () => {
  const a = await backend('127.0.4.31', 'a');
  const sg = await createServerGroup(kernel, { HealthCheckConfig: { HealthCheckEnabled: false } }, [{ ip: a.host, port: a.port }]);
  const id = await createRunningListener(kernel, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 7731,
    ServerGroupId: sg,
    Cps: 3,
  });
  const results = await Promise.allSettled(Array.from({ length: 12 }, () => tcpRoundTrip(lb.vips[0], 7731, 'c')));
  const refused = results.filter((r) => r.status === 'rejected').length;
  const served = results.length - refused;
  assert.ok(served >= 3 && refused >= 1, `served ${served}, refused ${refused}`);
  const text = await metrics(kernel);
  assert.match(text, new RegExp(`openslb_listener_dropped_cps_total\\{listener="${id}",protocol="TCP"\\} ${refused}\\n`));
  assert.equal(a.accepted, served, 'the backend saw exactly the admitted connections');
});

test('IdleTimeout: a flow idle past the timeout is forgotten, and its next packet gets a reset (not a new backend)', async () => {
  const a = await backend('127.0.4.41', 'a');
  const sg = await createServerGroup(kernel, { HealthCheckConfig: { HealthCheckEnabled: false } }, [{ ip: a.host, port: a.port }]);
  await createRunningListener(kernel, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 7741,
    ServerGroupId: sg,
    IdleTimeout: 10,
  });
  const socket = net.connect(7741, lb.vips[0]);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write('1');
  await new Promise((r) => socket.once('data', r));
  const ended = new Promise<string>((r) => {
    socket.once('error', (err: NodeJS.ErrnoException) => r(err.code ?? 'error'));
    socket.once('close', () => r('closed'));
  });
  // The kernel's clock: wait past the 10 s timeout (generously), then talk.
  await new Promise((r) => setTimeout(r, 13_000));
  socket.write('2');
  assert.equal(await ended, 'ECONNRESET');
});

test('Wlc: backends holding open connections get fewer new ones after the periodic reweighting', async () => {
  const p = await backend('127.0.4.51', 'p');
  const q = await backend('127.0.4.52', 'q');
  const sg = await createServerGroup(
    kernel,
    { Scheduler: 'Wlc', HealthCheckConfig: { HealthCheckEnabled: false } },
    [p, q].map((b) => ({ ip: b.host, port: b.port })),
  );
  await createRunningListener(kernel, { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7751, ServerGroupId: sg });
  // Six connections spread 3:3; close q's, keep p's three open.
  const held: net.Socket[] = [];
  for (let i = 0; i < 6; i++) {
    const s = net.connect(7751, lb.vips[0]);
    const reply = await new Promise<string>((r) => s.once('connect', () => s.write('x')).once('data', (d) => r(d.toString())));
    if (reply.startsWith('p:')) held.push(s);
    else s.destroy();
  }
  assert.equal(held.length, 3);
  // Reweighting runs every 2 s on the kernel's connection counts: p 100 ÷ (1 + 3), q 100.
  await new Promise((r) => setTimeout(r, 5000));
  const replies: string[] = [];
  for (let i = 0; i < 10; i++) replies.push(await tcpRoundTrip(lb.vips[0], 7751, 'n'));
  const toQ = replies.filter((r) => r === 'q:n').length;
  for (const s of held) s.destroy();
  // 1:4 while the counts hold (8 of 10); plain weighted round robin would give 5.
  assert.ok(toQ >= 7, `replies ${replies.join(' ')}`);
});

test('auto falls back to user space when nft cannot be used, and says why; kernel refuses to start', async () => {
  const broken: CommandRunner = {
    where: 'nowhere',
    run: async () => {
      throw new Error('nft: spawn nft ENOENT');
    },
  };
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
  const config = defaultConfig();
  assert.equal(await chooseKernelEngine(config, log, 'n1', broken), undefined);
  assert.match(
    lines.join(''),
    /user-space engine for every listener \(dataplane.engine: auto, and nftables is not usable: nft: spawn nft ENOENT\)/,
  );
  config.dataplane.engine = 'kernel';
  await assert.rejects(chooseKernelEngine(config, log, 'n1', broken), /dataplane.engine is kernel, but nftables is not usable/);
});
