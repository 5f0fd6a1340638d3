/**
 * The kernel engine outlives its process on purpose: `kill -9` of `openslb serve` leaves the
 * nftables table forwarding, so no open connection drops and new ones are still served; the next
 * process replaces the dead node's table in the transaction that installs its own; a clean stop
 * removes the table.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, type TestServer } from '../support/server.js';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';

const dataDir = mkdtempSync(join(tmpdir(), `openslb-kernel-restart-${process.pid}-`));
const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET, OPENSLB_ENGINE: 'kernel' };
const args = ['--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--admin-listen', ''];
const running: ServeProcess[] = [];
const backends: TcpBackend[] = [];
const sockets: net.Socket[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  for (const p of running) await stopProcess(p.child, 'SIGTERM');
  // A table left by a failed run: remove what this test's processes owned.
  for (const p of running) for (const t of tablesOwnedBy(p.child.pid!)) execFileSync('nft', ['delete', 'table', 'ip', t]);
  for (const b of backends) await b.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function api(p: ServeProcess): TestServer {
  const url = new URL(p.apiUrl);
  return { host: url.hostname, port: Number(url.port) } as TestServer;
}

/** OpenSLB tables whose comment names this process. */
function tablesOwnedBy(pid: number): string[] {
  const names = (JSON.parse(execFileSync('nft', ['-j', 'list', 'tables', 'ip']).toString()).nftables as Array<{ table?: { name: string } }>)
    .map((e) => e.table?.name)
    .filter((n): n is string => n !== undefined && n.startsWith('openslb_'));
  return names.filter((n) => {
    try {
      // Single process: node <host>-<pid>; cluster workers: node <host>-<primary pid>-w<n>.
      const comment = /comment "([^"]*)"/.exec(execFileSync('nft', ['-t', 'list', 'table', 'ip', n]).toString())?.[1] ?? '';
      return comment.includes(` pid=${pid}`) || new RegExp(`node=\\S+-${pid}(-w\\d+)? `).test(comment);
    } catch {
      return false; // removed meanwhile
    }
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, attempts = 400): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting: ${what}`);
}

function exchange(socket: net.Socket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.once('data', (d) => {
      socket.off('error', onError);
      resolve(d.toString());
    });
    socket.write(line);
  });
}

async function allStillTalk(round: string): Promise<void> {
  const replies = await Promise.all(sockets.map((s) => exchange(s, round)));
  for (const r of replies) assert.match(r, new RegExp(`^[ab]:${round}$`));
}

test('kill -9 drops no kernel-forwarded connection; the next process takes over; a clean stop removes the table', async () => {
  backends.push(await startTcpBackend('127.0.5.1', 'a'), await startTcpBackend('127.0.5.2', 'b'));
  const first = await startServe(args, env);
  running.push(first);
  const lb = await createActiveLoadBalancer(api(first));
  const sg = await createServerGroup(api(first), { Scheduler: 'Tch', HealthCheckConfig: { HealthCheckEnabled: false } }, backends.map((b) => ({ ip: b.host, port: b.port })));
  await createRunningListener(api(first), { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7801, ServerGroupId: sg });
  const firstTables = tablesOwnedBy(first.child.pid!);
  assert.equal(firstTables.length, 1, 'one table for the node');

  for (let i = 0; i < 200; i++) {
    const s = net.connect(7801, lb.vips[i % 2]);
    await new Promise<void>((r, j) => s.once('connect', () => r()).once('error', j));
    sockets.push(s);
  }
  await allStillTalk('before');

  await stopProcess(first.child, 'SIGKILL');
  await allStillTalk('orphaned');
  assert.match(await tcpRoundTrip(lb.vips[0], 7801, 'new'), /^[ab]:new$/, 'new connections still served by the last state');

  const second = await startServe(args, env);
  running.push(second);
  await until('the new process installed its table and removed the dead one', () => {
    return tablesOwnedBy(second.child.pid!).length === 1 && tablesOwnedBy(first.child.pid!).length === 0;
  });
  await allStillTalk('after');
  assert.match(await tcpRoundTrip(lb.vips[1], 7801, 'new2'), /^[ab]:new2$/);

  const secondTables = tablesOwnedBy(second.child.pid!);
  await stopProcess(second.child, 'SIGTERM');
  const left = (JSON.parse(execFileSync('nft', ['-j', 'list', 'tables', 'ip']).toString()).nftables as Array<{ table?: { name: string } }>).map((e) => e.table?.name);
  assert.ok(!left.includes(secondTables[0]), 'a clean stop removes the table');
});
