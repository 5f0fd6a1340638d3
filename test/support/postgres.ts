/**
 * A REAL, throwaway PostgreSQL server for tests: its own data directory, trust auth, listening
 * only on 127.0.0.1 at a free port, unix socket inside the temp dir. With
 * OPENSLB_TEST_PG_URL set, a fresh randomly-named database on that server is used instead.
 * Missing binaries are an error, never a silent skip.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const run = promisify(execFile);

export interface TestPostgres {
  /** postgres://… for openStore({ url }). */
  url: string;
  /**
   * The same server over its unix socket, when this module started the server: reachable from
   * any network namespace on the machine (tests run fleet nodes in namespaces of their own).
   */
  socketUrl?: string;
  /** Stop the server (or drop the database) and remove its files. Idempotent. */
  stop(): Promise<void>;
  /**
   * An outage: `pg_ctl stop -m fast` (sessions are terminated), then `start()` brings the same
   * server back on the same port and socket. Only for a server this module started.
   */
  outage?: { stop(): Promise<void>; start(): Promise<void> };
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.OPENSLB_TEST_PG_URL;
  return external ? freshDatabase(external) : startServer();
}

function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb). ' +
        'Run scripts/ensure-postgres.sh, or set OPENSLB_TEST_PG_URL to a server tests may create databases on.',
    );
  }
  return join(root, versions[0], 'bin');
}

/** PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function startServer(): Promise<TestPostgres> {
  const bin = findBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'openslb-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const pgCtl = join(bin, 'pg_ctl');
  let stopped = false;

  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      const [c, a] = asServerUser(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
      execFileSync(c, a, { stdio: 'ignore' });
    } catch {
      // Not running (start failed, or already gone).
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Safety net: a crashed test run must not leave a postmaster behind.
  const onExit = (): void => stopSync();
  process.once('exit', onExit);

  try {
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    const [ic, ia] = asServerUser(join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    await run(ic, ia);

    // A port can be taken between probing and binding: try a few.
    let port = 0;
    let lastError: unknown;
    for (let attempt = 0; attempt < 5 && !port; attempt++) {
      const candidate = await freePort();
      // -F: no fsync; a test server's durability does not matter and fsync is slow.
      const serverOpts = `-c listen_addresses=127.0.0.1 -p ${candidate} -k ${dir} -F`;
      const [sc, sa] = asServerUser(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOpts]);
      try {
        await run(sc, sa);
        port = candidate;
      } catch (err) {
        lastError = err;
      }
    }
    if (!port) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      throw new Error(`could not start PostgreSQL: ${String(lastError)}\n${log}`);
    }

    const serverOpts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -F`;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      socketUrl: `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
      outage: {
        async stop() {
          const [c, a] = asServerUser(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
          await run(c, a);
        },
        async start() {
          const [c, a] = asServerUser(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOpts]);
          await run(c, a);
        },
      },
      async stop() {
        process.removeListener('exit', onExit);
        stopSync();
      },
    };
  } catch (err) {
    process.removeListener('exit', onExit);
    stopSync();
    throw err;
  }
}

async function freshDatabase(serverUrl: string): Promise<TestPostgres> {
  const name = `openslb_test_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string): Promise<void> => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let stopped = false;
  return {
    url: url.toString(),
    async stop() {
      if (stopped) return;
      stopped = true;
      // FORCE (PostgreSQL 13+) ends sessions a failed test may have left open.
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
