/**
 * Starts a real OpenSLB (API on an ephemeral loopback port, SQLite in a temp dir, its own
 * in-process data-plane node) and hands out the vendor's clients pointed at it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ApiClient, flatParams } from '../../src/client/api-client.js';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { startOpenSlb, type RunningOpenSlb } from '../../src/server/openslb.js';
import type { Clock } from '../../src/util/clock.js';
import type { Scheduler } from '../../src/util/scheduler.js';
import type { Product } from '../../src/gateway/action.js';
import type { ConsoleOptions } from '../../src/console/index.js';

export const TEST_ACCESS_KEY_ID = 'LTAItestRootKey0000000001';
export const TEST_ACCESS_KEY_SECRET = 'testRootSecret0000000000000001';

export interface TestServer {
  /** Runs the API, so it has a root key. */
  running: RunningOpenSlb & { rootKey: NonNullable<RunningOpenSlb['rootKey']> };
  url: string;
  host: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestServer(
  opts: {
    clock?: Clock;
    /** Timers of the in-process server (health checks, drains, idle sweeps, API latency faults); pass a ManualScheduler to move time. */
    timers?: Scheduler;
    configure?: (c: Config) => void;
    storeUrl?: string;
    extraProducts?: Product[];
    console?: ConsoleOptions;
  } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openslb-test-'));
  const config = defaultConfig();
  config.apiListen = '127.0.0.1:0';
  config.adminListen = '127.0.0.1:0';
  config.dataDir = dataDir;
  config.storeUrl = opts.storeUrl;
  // Runs a suite on one engine throughout (test/dataplane/nlb/relay-fallback.test.ts uses it).
  if (process.env.OPENSLB_TEST_ENGINE) config.dataplane.engine = process.env.OPENSLB_TEST_ENGINE as Config['dataplane']['engine'];
  opts.configure?.(config);
  const running = await startOpenSlb(config, {
    clock: opts.clock,
    timers: opts.timers,
    log: pino({ level: process.env.OPENSLB_TEST_LOG ?? 'silent' }),
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
    extraProducts: opts.extraProducts,
    console: opts.console,
    nodeId: `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
  });
  const { rootKey } = running;
  if (!rootKey) throw new Error('a test server runs the API, so it has a root key');
  return {
    running: { ...running, rootKey },
    url: running.apiUrl,
    host: running.apiAddress.host,
    port: running.apiAddress.port,
    dataDir,
    stop: async () => {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CallOptions {
  /** Where the parameters go; the generated NLB SDK uses `body` for most actions, `query` for reads. */
  placement?: 'body' | 'query';
  /** openapi-core's signatureAlgorithm: default ACS3-HMAC-SHA256, 'ACS3-HMAC-SM3', or 'v2' (RPC HMAC-SHA1). */
  signatureAlgorithm?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  method?: 'POST' | 'GET';
}

/**
 * Calls an action exactly as the official generated SDK does (openapi-core callApi, RPC style,
 * formData), through the CLI's own client. Resolves with the reply body; rejects with
 * openapi-core's ClientError/ServerError.
 */
export async function callApi(
  server: Pick<TestServer, 'host' | 'port'>,
  version: string,
  action: string,
  params: Record<string, unknown> = {},
  opts: CallOptions = {},
): Promise<Record<string, any>> {
  const client = new ApiClient({
    endpoint: `${server.host}:${server.port}`,
    accessKeyId: opts.accessKeyId ?? TEST_ACCESS_KEY_ID,
    accessKeySecret: opts.accessKeySecret ?? TEST_ACCESS_KEY_SECRET,
    ...(opts.signatureAlgorithm ? { signatureAlgorithm: opts.signatureAlgorithm } : {}),
  });
  const { body } = await client.call(version, action, flatParams(params), { placement: opts.placement, method: opts.method });
  return body as Record<string, any>;
}

export const NLB = '2022-04-30';
export const GWLB = '2024-04-15';

/** The error openapi-core threw, for assertions: code, HTTP status and body. */
export async function callError(promise: Promise<unknown>): Promise<{ code: string; statusCode: number; data: any }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code: string; statusCode: number; data: any };
    return { code: e.code, statusCode: e.statusCode, data: e.data };
  }
  throw new Error('expected the call to fail');
}

/**
 * Polls GetJobStatus until the job leaves Processing. Bounded by attempts, not by a timing
 * assertion: jobs finish when the in-process data-plane node applies the revision.
 */
export async function waitForJob(server: Pick<TestServer, 'host' | 'port'>, jobId: string, attempts = 500, version = NLB): Promise<string> {
  for (let i = 0; i < attempts; i++) {
    const { Status } = await callApi(server, version, 'GetJobStatus', { JobId: jobId }, { placement: 'query' });
    if (Status !== 'Processing') return Status as string;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} still Processing after ${attempts} polls`);
}
