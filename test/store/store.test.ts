import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Insertable } from 'kysely';
import { openStore, type OpenStoreOptions, type Store, type StoreKind } from '../../src/store/store.js';
import { appliedMigrations, migrations } from '../../src/store/migrations.js';
import type { ResourceTable, Schema } from '../../src/store/schema.js';
import { startTestPostgres } from '../support/postgres.js';

const ALL_TABLES: (keyof Schema)[] = [
  'meta',
  'revision',
  'access_keys',
  'ram_users',
  'ram_policies',
  'ram_attachments',
  'resources',
  'tags',
  'jobs',
  'idempotency',
  'nodes',
  'observations',
];

// Generous bounds: a test that should finish at once fails by timeout instead of asserting
// durations; the waits themselves use even longer timeouts so only the event can end them.
const PROMPT = { timeout: 20_000 };
const LONG_WAIT_MS = 60_000;

let seq = 0;
function resource(revision: number, id = `nlb-test${++seq}`): Insertable<ResourceTable> {
  const now = Date.now();
  return {
    id,
    product: 'nlb',
    kind: 'loadbalancer',
    region_id: 'cn-hangzhou',
    parent_id: null,
    status: 'Active',
    body: JSON.stringify({ LoadBalancerId: id }),
    created_at: now,
    updated_at: now,
    revision,
  };
}

async function resourceIds(store: Store, prefix: string): Promise<string[]> {
  const rows = await store.db.selectFrom('resources').select('id').where('id', 'like', `${prefix}%`).execute();
  return rows.map((r) => r.id).sort();
}

/** A place to open stores: one database, plus a way to get a brand-new one. */
interface Backend {
  open(extra?: Partial<OpenStoreOptions>): Promise<Store>;
  fresh(): Promise<Backend>;
  cleanup(): Promise<void>;
}

async function sqliteBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'openslb-store-'));
  return {
    open: (extra) => openStore({ dataDir: dir, ...extra }),
    fresh: sqliteBackend,
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresBackend(): Promise<Backend> {
  const server = await startTestPostgres();
  return {
    open: (extra) => openStore({ url: server.url, ...extra }),
    fresh: postgresBackend,
    cleanup: () => server.stop(),
  };
}

function storeSuite(kind: StoreKind, makeBackend: () => Promise<Backend>): void {
  describe(`store on ${kind}`, () => {
    let backend: Backend | undefined;
    const backends: Backend[] = [];
    const stores: Store[] = [];
    const track = async (b: Backend, extra?: Partial<OpenStoreOptions>) => {
      const s = await b.open(extra);
      stores.push(s);
      return s;
    };
    const open = (extra?: Partial<OpenStoreOptions>) => track(backend!, extra);
    const freshBackend = async () => {
      const b = await backend!.fresh();
      backends.push(b);
      return b;
    };

    before(async () => {
      backend = await makeBackend();
      backends.push(backend);
    });
    after(async () => {
      for (const s of stores) await s.close().catch(() => {});
      for (const b of backends) await b.cleanup().catch(() => {});
    });

    test('migrations create every table and are idempotent', async () => {
      const b = await freshBackend();
      const first = await track(b);
      assert.equal(first.kind, kind);
      const tables = (await first.db.introspection.getTables()).map((t) => t.name);
      for (const name of ALL_TABLES) assert.ok(tables.includes(name), `missing table ${name}`);
      const names = migrations.map((m) => m.name);
      assert.deepEqual(await appliedMigrations(first.db), names);
      assert.equal(await first.currentRevision(), 0);
      await first.mutate(async () => {});

      const second = await track(b);
      assert.deepEqual(await appliedMigrations(second.db), names);
      const rows = await second.db.selectFrom('revision').selectAll().execute();
      assert.deepEqual(rows, [{ id: 1, revision: 1 }]);
    });

    test('mutate bumps the revision exactly once per call and returns it', async () => {
      const store = await open();
      const before = await store.currentRevision();
      const id = `nlb-bump${++seq}`;
      const out = await store.mutate(async (tx, revision) => {
        await tx.insertInto('resources').values(resource(revision, id)).execute();
        return 'done';
      });
      assert.deepEqual(out, { result: 'done', revision: before + 1 });
      assert.equal(await store.currentRevision(), before + 1);
      const row = await store.db.selectFrom('resources').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      // BIGINT columns come back as numbers on both engines.
      assert.equal(row.revision, before + 1);
      assert.equal(typeof row.created_at, 'number');

      const next = await store.mutate(async () => 42);
      assert.deepEqual(next, { result: 42, revision: before + 2 });
    });

    test('a throwing mutate rolls back everything', async () => {
      const store = await open();
      const before = await store.currentRevision();
      const id = `nlb-rollback${++seq}`;
      await assert.rejects(
        store.mutate(async (tx, revision) => {
          await tx.insertInto('resources').values(resource(revision, id)).execute();
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.currentRevision(), before);
      assert.deepEqual(await resourceIds(store, id), []);
      // The revision number was not consumed either.
      assert.equal((await store.mutate(async () => {})).revision, before + 1);
    });

    test('concurrent mutate calls get distinct consecutive revisions and all their rows land', async () => {
      const store = await open();
      const before = await store.currentRevision();
      const prefix = `nlb-conc${++seq}-`;
      const outs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.mutate(async (tx, revision) => {
            await tx
              .insertInto('resources')
              .values(resource(revision, `${prefix}${String(i).padStart(2, '0')}`))
              .execute();
            return i;
          }),
        ),
      );
      const revisions = outs.map((o) => o.revision).sort((a, b) => a - b);
      assert.deepEqual(
        revisions,
        Array.from({ length: 20 }, (_, i) => before + 1 + i),
      );
      assert.equal(await store.currentRevision(), before + 20);
      const rows = await store.db.selectFrom('resources').select(['id', 'revision']).where('id', 'like', `${prefix}%`).execute();
      assert.equal(rows.length, 20);
      for (const o of outs) {
        const row = rows.find((r) => r.id === `${prefix}${String(o.result).padStart(2, '0')}`);
        assert.equal(row?.revision, o.revision);
      }
    });

    test('transact does not bump the revision and rolls back on throw', async () => {
      const store = await open();
      const before = await store.currentRevision();
      const key = `token-${++seq}`;
      const result = await store.transact(async (tx) => {
        await tx
          .insertInto('idempotency')
          .values({ token_key: key, params_hash: 'h', status_code: 200, response: '{}', created_at: Date.now() })
          .execute();
        return 'ok';
      });
      assert.equal(result, 'ok');
      assert.equal(await store.currentRevision(), before);
      const row = await store.db.selectFrom('idempotency').selectAll().where('token_key', '=', key).executeTakeFirst();
      assert.equal(row?.status_code, 200);

      await assert.rejects(
        store.transact(async (tx) => {
          await tx.deleteFrom('idempotency').where('token_key', '=', key).execute();
          throw new Error('nope');
        }),
        /nope/,
      );
      assert.ok(await store.db.selectFrom('idempotency').select('token_key').where('token_key', '=', key).executeTakeFirst());
      assert.equal(await store.currentRevision(), before);
    });

    test('waitForRevision resolves when a mutate commits', PROMPT, async () => {
      const store = await open();
      const current = await store.currentRevision();
      const waiting = store.waitForRevision(current, LONG_WAIT_MS);
      const { revision } = await store.mutate(async () => {});
      assert.equal(await waiting, revision);
    });

    test('waitForRevision resolves at once when already past', PROMPT, async () => {
      const store = await open();
      const { revision } = await store.mutate(async () => {});
      assert.equal(await store.waitForRevision(revision - 1, LONG_WAIT_MS), revision);
      assert.equal(await store.waitForRevision(0, LONG_WAIT_MS), revision);
    });

    test('waitForRevision returns the current revision on timeout or abort', PROMPT, async () => {
      const store = await open();
      const current = await store.currentRevision();
      assert.equal(await store.waitForRevision(current, 20), current);
      assert.equal(await store.waitForRevision(current, 0), current);

      const controller = new AbortController();
      const waiting = store.waitForRevision(current, LONG_WAIT_MS, controller.signal);
      controller.abort();
      assert.equal(await waiting, current);
      assert.equal(await store.waitForRevision(current, LONG_WAIT_MS, AbortSignal.abort()), current);
    });

    test('close resolves pending waits', PROMPT, async () => {
      const store = await open();
      const current = await store.currentRevision();
      const waiting = store.waitForRevision(current, LONG_WAIT_MS);
      await store.close();
      assert.equal(await waiting, current);
      await store.close(); // idempotent
    });

    test(`a second store sees the first store's commit (${kind === 'postgres' ? 'LISTEN/NOTIFY' : 'polling'})`, PROMPT, async () => {
      const writer = await open();
      // On PostgreSQL the fallback poll is pushed beyond the test's timeout: only NOTIFY can
      // deliver the revision in time. SQLite has no push across connections; polling is the mechanism.
      const reader = await open(kind === 'postgres' ? { pollIntervalMs: LONG_WAIT_MS } : {});
      const current = await reader.currentRevision();
      const waiting = reader.waitForRevision(current, LONG_WAIT_MS);
      const { revision } = await writer.mutate(async (tx, rev) => {
        await tx.insertInto('resources').values(resource(rev)).execute();
      });
      assert.equal(await waiting, revision);
    });

    if (kind === 'postgres') {
      test('mutations from two stores serialise on the revision row', async () => {
        const a = await open();
        const b = await open();
        const before = await a.currentRevision();
        const prefix = `nlb-two${++seq}-`;
        const outs = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 ? a : b).mutate(async (tx, revision) => {
              await tx
                .insertInto('resources')
                .values(resource(revision, `${prefix}${i}`))
                .execute();
            }),
          ),
        );
        const revisions = outs.map((o) => o.revision).sort((x, y) => x - y);
        assert.deepEqual(
          revisions,
          Array.from({ length: 20 }, (_, i) => before + 1 + i),
        );
        assert.equal((await resourceIds(a, prefix)).length, 20);
      });

      test('two stores opening a fresh database at once migrate it once', async () => {
        const b = await freshBackend();
        const [x, y] = await Promise.all([track(b), track(b)]);
        assert.deepEqual(
          await appliedMigrations(x.db),
          migrations.map((m) => m.name),
        );
        assert.deepEqual(await y.db.selectFrom('revision').selectAll().execute(), [{ id: 1, revision: 0 }]);
      });
    }
  });
}

storeSuite('sqlite', sqliteBackend);
storeSuite('postgres', postgresBackend);

describe('sqlite durability', () => {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const fixture = fileURLToPath(new URL('./fixtures/durable-child.ts', import.meta.url));

  test('a write acknowledged by mutate survives SIGKILL', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'openslb-durable-'));
    const sqlitePath = join(dir, 'openslb.db');
    const id = 'nlb-durable0000000001';
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, sqlitePath, id], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let store: Store | undefined;
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const acknowledged = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /committed (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('exit', (code, signal) => reject(new Error(`child exited early (${code ?? signal}): ${err}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    store = await openStore({ sqlitePath });
    assert.equal(await store.currentRevision(), acknowledged);
    const row = await store.db.selectFrom('resources').select(['id', 'revision']).where('id', '=', id).executeTakeFirst();
    assert.deepEqual(row, { id, revision: acknowledged });
  });
});
