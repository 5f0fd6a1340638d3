/**
 * Signature nonces live in the store: a captured request is refused after `openslb serve`
 * restarts, and by a second API process on the same PostgreSQL. The registry's rules (window,
 * reuse after the window, pruning) hold on both engines.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig } from '../../src/config/config.js';
import { startOpenSlb } from '../../src/server/openslb.js';
import { openStore, type Store } from '../../src/store/store.js';
import { StoreNonceRegistry } from '../../src/gateway/signature/store-nonce-registry.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi } from '../support/server.js';
import { replay, startRecorder, type RecordedRequest } from '../support/recorder.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';

const MINUTE = 60_000;
const credentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };

let pgServer: TestPostgres;
const dirs: string[] = [];
before(async () => {
  pgServer = await startTestPostgres();
});
after(async () => {
  await pgServer?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), `openslb-nonce-${process.pid}-`));
  dirs.push(dir);
  return dir;
}

/** Signed requests as the official client sends them (ACS3 and RPC), recorded for replay. */
async function recordSigned(): Promise<RecordedRequest[]> {
  const recorder = await startRecorder();
  try {
    const at = { host: '127.0.0.1', port: recorder.port };
    await callApi(at, NLB, 'DescribeZones', {});
    await callApi(at, NLB, 'DescribeZones', {}, { signatureAlgorithm: 'v2' });
    return [...recorder.recorded];
  } finally {
    await recorder.close();
  }
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`StoreNonceRegistry on ${engine}`, () => {
    let store: Store;
    before(async () => {
      store = engine === 'sqlite' ? await openStore({ dataDir: tempDir() }) : await openStore({ url: pgServer.url });
    });
    after(async () => {
      await store?.close();
    });

    const t0 = Date.parse('2026-03-01T00:00:00Z');

    test('a nonce is accepted once per AccessKey; another key may use the same nonce', async () => {
      const registry = new StoreNonceRegistry(store);
      assert.equal(await registry.remember('AK1', `n-${engine}-1`, t0, t0), true);
      assert.equal(await registry.remember('AK1', `n-${engine}-1`, t0, t0 + 1000), false);
      // A second registry (another API node, or this one after a restart) sees it too.
      assert.equal(await new StoreNonceRegistry(store).remember('AK1', `n-${engine}-1`, t0, t0 + 2000), false);
      assert.equal(await registry.remember('AK2', `n-${engine}-1`, t0, t0), true);
    });

    test('a request older than the window is refused; a nonce may be used again once its first use expired', async () => {
      const registry = new StoreNonceRegistry(store);
      assert.equal(await registry.remember('AK1', `old-${engine}`, t0 - 16 * MINUTE, t0), false);
      assert.equal(await registry.remember('AK1', `reuse-${engine}`, t0, t0), true);
      // Still within window + margin: a replay with a fresh timestamp is not yet told apart.
      assert.equal(await registry.remember('AK1', `reuse-${engine}`, t0 + 10 * MINUTE, t0 + 10 * MINUTE), false);
      const later = t0 + 17 * MINUTE;
      assert.equal(await registry.remember('AK1', `reuse-${engine}`, later, later), true);
      assert.equal(await registry.remember('AK1', `reuse-${engine}`, later, later), false);
    });

    test('rows are pruned once past the window (and its clock margin), not before', async () => {
      const registry = new StoreNonceRegistry(store, { pruneIntervalMs: Infinity });
      const base = t0 + 60 * MINUTE;
      await registry.remember('AK3', `p-${engine}-early`, base, base);
      await registry.remember('AK3', `p-${engine}-late`, base + 5 * MINUTE, base + 5 * MINUTE);
      const count = async () =>
        Number(
          (
            await store.db
              .selectFrom('nonces')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('timestamp_ms', '>=', base)
              .executeTakeFirstOrThrow()
          ).n,
        );
      assert.equal(await count(), 2);
      await registry.prune(base + 15 * MINUTE);
      assert.equal(await count(), 2, 'nothing is pruned inside the window');
      await registry.prune(base + 16 * MINUTE + 1);
      assert.equal(await count(), 1, 'the early one is gone, the late one is kept');
      await registry.prune(base + 21 * MINUTE + 1);
      assert.equal(await count(), 0);
    });
  });
}

describe('replays against running servers', () => {
  test('a captured request is refused after openslb restarts on the same data directory', async () => {
    const dataDir = tempDir();
    const config = defaultConfig();
    config.apiListen = '127.0.0.1:0';
    config.adminListen = '';
    config.dataDir = dataDir;
    config.workers = 1;
    const start = () => startOpenSlb(config, { log: pino({ level: 'silent' }), env: credentials, dataPlane: false });
    const requests = await recordSigned();

    const first = await start();
    try {
      for (const req of requests) assert.equal((await replay(first.apiAddress, req)).status, 200);
    } finally {
      await first.stop();
    }
    const second = await start();
    try {
      for (const req of requests) {
        const r = await replay(second.apiAddress, req);
        assert.equal(r.status, 400);
        assert.equal(r.body.Code, 'SignatureNonceUsed');
      }
    } finally {
      await second.stop();
    }
  });

  test('two API processes on one PostgreSQL refuse each other’s replays', async () => {
    const serves: ServeProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        serves.push(
          await startServe(
            ['--role', 'api', '--store', pgServer.url, '--data-dir', tempDir(), '--api-listen', '127.0.0.1:0', '--admin-listen', ''],
            credentials,
          ),
        );
      }
      const [a, b] = serves.map((s) => {
        const url = new URL(s.apiUrl);
        return { host: url.hostname, port: Number(url.port) };
      });
      const requests = await recordSigned();
      for (const req of requests) {
        assert.equal((await replay(a, req)).status, 200);
        const atB = await replay(b, req);
        assert.equal(atB.status, 400);
        assert.equal(atB.body.Code, 'SignatureNonceUsed');
      }
      // And the other way round, with fresh requests.
      for (const req of await recordSigned()) {
        assert.equal((await replay(b, req)).status, 200);
        assert.equal((await replay(a, req)).body.Code, 'SignatureNonceUsed');
      }
    } finally {
      for (const s of serves) await stopProcess(s.child);
    }
  });
});
