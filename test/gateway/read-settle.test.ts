/**
 * A read first lets the job runner settle what the data plane applied; when that pass fails,
 * the read still answers from the committed rows (it never fails because of the runner's write).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { defaultConfig } from '../../src/config/config.js';
import { ensureRootKey } from '../../src/accounts/credentials.js';
import { RamService } from '../../src/accounts/ram-service.js';
import { CallerCache } from '../../src/gateway/caller-cache.js';
import { ApiGateway } from '../../src/gateway/pipeline.js';
import { buildApiServer } from '../../src/gateway/server.js';
import { StoreNonceRegistry } from '../../src/gateway/signature/store-nonce-registry.js';
import { openStore, type Store } from '../../src/store/store.js';
import { PROBE, probe } from '../support/probe-product.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), `openslb-read-settle-${process.pid}-`));
let store: Store;
let app: FastifyInstance;
let server: { host: string; port: number };
let settlePasses = 0;

before(async () => {
  const config = defaultConfig();
  config.dataDir = dir;
  store = await openStore({ dataDir: dir });
  const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
  const rootKey = await ensureRootKey(store, { env, log: { info: () => {}, warn: () => {} } });
  const gateway = new ApiGateway({
    config,
    clock: { now: () => Date.now() },
    store,
    products: [probe],
    accountId: rootKey.accountId,
    callers: new CallerCache(new RamService(store, { now: () => Date.now() })),
    nonces: new StoreNonceRegistry(store),
    refreshJobs: async () => {
      settlePasses++;
      throw new Error('the runner could not write');
    },
  });
  app = buildApiServer(gateway, config.api);
  await app.listen({ host: '127.0.0.1', port: 0 });
  server = { host: '127.0.0.1', port: (app.server.address() as AddressInfo).port };
});

after(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('GetJobStatus answers from the committed job row when the settle pass before it fails', async () => {
  const created = await callApi(server, PROBE, 'CreateWidget', { Name: 'w1' });
  const before = settlePasses;
  const reply = await callApi(server, PROBE, 'GetJobStatus', { JobId: created.JobId });
  assert.equal(reply.Status, 'Processing');
  assert.equal(settlePasses, before + 1, 'the read asked the runner to settle first');
});
