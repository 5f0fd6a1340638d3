/**
 * The API gateway alone on a fresh SQLite store, without the job runner or a data plane: for
 * tests of the gateway itself (the fuzz suite, a read whose settle step fails). The root key is
 * the one the signed test clients use. Loopback, ephemeral port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { ensureRootKey } from '../../src/accounts/credentials.js';
import { RamService } from '../../src/accounts/ram-service.js';
import { defaultConfig } from '../../src/config/config.js';
import type { Product } from '../../src/gateway/action.js';
import { CallerCache } from '../../src/gateway/caller-cache.js';
import { ApiGateway, type GatewayDeps } from '../../src/gateway/pipeline.js';
import { buildApiServer } from '../../src/gateway/server.js';
import { StoreNonceRegistry } from '../../src/gateway/signature/store-nonce-registry.js';
import { openStore, type Store } from '../../src/store/store.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET } from './server.js';

export interface BareGateway {
  app: FastifyInstance;
  host: string;
  port: number;
  store: Store;
  close(): Promise<void>;
}

export interface BareGatewayOptions {
  products: Product[];
  log?: Logger;
  refreshJobs?: GatewayDeps['refreshJobs'];
}

export async function startBareGateway(opts: BareGatewayOptions): Promise<BareGateway> {
  const dir = mkdtempSync(join(tmpdir(), `openslb-gateway-${process.pid}-`));
  const config = defaultConfig();
  config.dataDir = dir;
  const store = await openStore({ dataDir: dir });
  const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
  const rootKey = await ensureRootKey(store, { env, log: { info: () => {}, warn: () => {} } });
  const gateway = new ApiGateway({
    config,
    clock: { now: () => Date.now() },
    store,
    products: opts.products,
    accountId: rootKey.accountId,
    callers: new CallerCache(new RamService(store, { now: () => Date.now() })),
    nonces: new StoreNonceRegistry(store),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.refreshJobs ? { refreshJobs: opts.refreshJobs } : {}),
  });
  const app = buildApiServer(gateway, config.api);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    host: '127.0.0.1',
    port: (app.server.address() as AddressInfo).port,
    store,
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
