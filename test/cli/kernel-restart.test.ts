/**
 * The kernel engine outlives its process on purpose: `kill -9` of `openslb serve` leaves the
 * nftables table forwarding, so no open connection drops and new ones are still served; the next
 * process replaces the dead node's table in the transaction that installs its own; a clean stop
 * removes the table.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, type TestServer } from '../support/server.js';
import { processAlive, startServe, stopProcess, type ServeProcess } from '../support/process.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../support/nlb-setup.js';
import { startTcpBackend, tcpRoundTrip, type TcpBackend } from '../support/backends.js';
import { instanceFor } from '../../src/dataplane/kernel/engine.js';
import { INSTANCE_MARK_SHIFT } from '../../src/dataplane/kernel/program.js';
import { until } from '../support/wait.js';

// Each check runs `nft`: poll it every 50 ms, for up to 20 s.
const NFT_POLLS = 400;
const NFT_POLL_MS = 50;

const dataDir = mkdtempSync(join(tmpdir(), `openslb-kernel-restart-${process.pid}-`));
const env = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET,
  OPENSLB_ENGINE: 'kernel',
};
const args = ['--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--admin-listen', ''];
const running: ServeProcess[] = [];
const backends: TcpBackend[] = [];
const sockets: net.Socket[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  for (const p of running) await stopProcess(p.child, 'SIGTERM');
  // A table left by a failed run: remove what this test's nodes owned.
  for (const t of openslbTables()) if (ownedByOurNodes(t)) execFileSync('nft', ['delete', 'table', 'ip', t.name]);
  for (const b of backends) await b.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function api(p: ServeProcess): TestServer {
  const url = new URL(p.apiUrl);
  return { host: url.hostname, port: Number(url.port) } as TestServer;
}

interface OwnedTable {
  name: string;
  node: string;
  pid: number;
}

/** Every OpenSLB table in this namespace with the owner its comment names. */
function openslbTables(): OwnedTable[] {
  const names = (JSON.parse(execFileSync('nft', ['-j', 'list', 'tables', 'ip']).toString()).nftables as Array<{ table?: { name: string } }>)
    .map((e) => e.table?.name)
    .filter((n): n is string => n !== undefined && n.startsWith('openslb_'));
  const out: OwnedTable[] = [];
  for (const name of names) {
    try {
      const comment = /comment "([^"]*)"/.exec(execFileSync('nft', ['-t', 'list', 'table', 'ip', name]).toString())?.[1] ?? '';
      out.push({ name, node: /node=(\S+)/.exec(comment)?.[1] ?? '', pid: Number(/pid=(\d+)/.exec(comment)?.[1]) });
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

/** The node ids this test's processes run as: the data directory's stable id (workers add -wN), and the one it names. */
const otherNodeId = `kernel-restart-${process.pid}`;
function ownedByOurNodes(t: OwnedTable): boolean {
  const ids = [otherNodeId];
  try {
    ids.push(readFileSync(join(dataDir, 'node-id'), 'utf8').trim());
  } catch {
    // not started yet
  }
  return ids.some((id) => t.node === id || new RegExp(`^${id}-w\\d+$`).test(t.node));
}

/** Conntrack entries carrying a node's instance mark. */
function flowsOf(nodeId: string): number {
  const mask = (0xfff << INSTANCE_MARK_SHIFT) >>> 0;
  const value = (instanceFor(nodeId) << INSTANCE_MARK_SHIFT) >>> 0;
  try {
    return execFileSync('conntrack', ['-L', '--mark', `${value}/${mask}`], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('tcp')).length;
  } catch {
    return 0; // exit 1: nothing matched
  }
}

function tablesOf(nodeId: string): OwnedTable[] {
  return openslbTables().filter((t) => t.node === nodeId || new RegExp(`^${nodeId}-w\\d+$`).test(t.node));
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
  const sg = await createServerGroup(
    api(first),
    { Scheduler: 'Tch', HealthCheckConfig: { HealthCheckEnabled: false } },
    backends.map((b) => ({ ip: b.host, port: b.port })),
  );
  await createRunningListener(api(first), { LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7801, ServerGroupId: sg });
  const nodeId = readFileSync(join(dataDir, 'node-id'), 'utf8').trim();
  const firstTables = tablesOf(nodeId);
  assert.equal(firstTables.length, 1, 'one table for the node');
  assert.ok(processAlive(firstTables[0].pid), 'its comment names the live process that programs it');

  // Short connections first: a later one must not meet an earlier flow's conntrack entry.
  for (const v of lb.vips) assert.match(await tcpRoundTrip(v, 7801, 'pre'), /^[ab]:pre$/);
  for (let i = 0; i < 200; i++) {
    const s = net.connect(7801, lb.vips[i % 2]);
    await new Promise<void>((r, j) => s.once('connect', () => r()).once('error', j));
    sockets.push(s);
  }
  await allStillTalk('before');

  await stopProcess(first.child, 'SIGKILL');
  await allStillTalk('orphaned');
  assert.match(await tcpRoundTrip(lb.vips[0], 7801, 'new'), /^[ab]:new$/, 'new connections still served by the last state');

  // The same node restarted (same data directory, so the same stable node id) takes its table over.
  const second = await startServe(args, env);
  running.push(second);
  await until(
    'the restarted node took its table over',
    () => {
      const tables = tablesOf(nodeId);
      return tables.length === 1 && tables[0].pid !== firstTables[0].pid && processAlive(tables[0].pid);
    },
    NFT_POLLS,
    NFT_POLL_MS,
  );
  await allStillTalk('after');
  assert.match(await tcpRoundTrip(lb.vips[1], 7801, 'new2'), /^[ab]:new2$/);

  // Killed again and replaced by a node with another identity: the dead node's table is stale
  // (its process is gone) and goes in the transaction that installs the new node's table.
  const deadTable = tablesOf(nodeId)[0];
  await stopProcess(second.child, 'SIGKILL');
  await allStillTalk('orphaned again');
  const third = await startServe([...args, '--node-id', otherNodeId], env);
  running.push(third);
  await until(
    'the new node installed its table and removed the dead one',
    () => tablesOf(otherNodeId).length === 1 && !openslbTables().some((t) => t.name === deadTable.name),
    NFT_POLLS,
    NFT_POLL_MS,
  );
  await allStillTalk('after takeover');

  const thirdTables = tablesOf(otherNodeId);
  await stopProcess(third.child, 'SIGTERM');
  assert.ok(!openslbTables().some((t) => t.name === thirdTables[0].name), 'a clean stop removes the table');
  // ... and its flows, the adopted ones of the dead node too: once the table is gone the kernel
  // may stop tracking, and a flow left behind would send a later connection to a dead backend.
  assert.equal(flowsOf(nodeId) + flowsOf(otherNodeId), 0, 'a clean stop leaves no flow in conntrack');
});
