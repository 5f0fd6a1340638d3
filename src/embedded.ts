/**
 * OpenSLB inside another program's process, the way a test suite embeds a fake cloud: start
 * it on ephemeral loopback ports with a throwaway data directory, point an SDK at `endpoint`
 * with the returned credentials, and `stop()` it at the end. The data plane runs in the same
 * process (no worker processes), so listeners forward real traffic while the test runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, credentialsPath, readCredentialsFile } from './accounts/credentials.js';
import { loadConfig } from './config/load.js';
import { startOpenSlb } from './server/openslb.js';
import type { Clock } from './util/clock.js';
import type { Scheduler } from './util/scheduler.js';

export interface EmbeddedOptions {
  /** Address the API and admin listeners bind (default 127.0.0.1). */
  host?: string;
  /** OpenAPI port (default 0: an ephemeral port, read it from `endpoint`). */
  apiPort?: number;
  /** Port of /metrics and /healthz (default 0: ephemeral); false: no admin listener. */
  adminPort?: number | false;
  /**
   * Directory of the SQLite store and the generated credentials. Default: a new temporary
   * directory that `stop()` removes. A directory you pass is kept, so a second start sees the
   * same resources.
   */
  dataDir?: string;
  /** Root AccessKey to accept; default: one generated on first start and kept in `dataDir`. */
  accessKeyId?: string;
  accessKeySecret?: string;
  /** YAML config file, as `openslb serve --config` takes it (regions, VPCs, quotas, …). */
  configFile?: string;
  /** pino level of the server's log lines on stderr (default `warn`). */
  logLevel?: string;
  /**
   * Time as the server sees it (job delays, timestamps, node liveness). Default: the system
   * clock. With a ManualScheduler as both `clock` and `timers`, a test moves time on instead
   * of waiting for health-check intervals.
   */
  clock?: Clock;
  /** The timers of the in-process data plane's health checks and drains (default: the real ones). */
  timers?: Scheduler;
}

export interface EmbeddedOpenSlb {
  /** `http://host:port` of the OpenAPI endpoint. */
  endpoint: string;
  host: string;
  apiPort: number;
  /** `http://host:port` of /metrics and /healthz, unless disabled. */
  adminUrl?: string;
  dataDir: string;
  accessKeyId: string;
  accessKeySecret: string;
  accountId: string;
  /** The region the default configuration (or `configFile`) declares first. */
  regionId: string;
  /** Stops listeners, the data plane and the store; removes a temporary data directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startEmbedded(opts: EmbeddedOptions = {}): Promise<EmbeddedOpenSlb> {
  if ((opts.accessKeyId === undefined) !== (opts.accessKeySecret === undefined)) {
    throw new Error('accessKeyId and accessKeySecret go together: pass both or neither');
  }
  const host = opts.host ?? '127.0.0.1';
  const ownDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'openslb-embedded-'));
  const removeOwnDataDir = () => {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const config = loadConfig(
      {
        config: opts.configFile,
        apiListen: `${host}:${opts.apiPort ?? 0}`,
        adminListen: opts.adminPort === false ? '' : `${host}:${opts.adminPort ?? 0}`,
        dataDir,
        workers: '0',
        logLevel: opts.logLevel ?? 'warn',
      },
      // The embedding process's own ALIBABA_CLOUD_* variables are for its SDK calls to the real
      // cloud; they must not become keys of this server by accident.
      {},
    );
    // The embedded server shares the caller's process: one store, never a fleet.
    config.storeUrl = undefined;
    const env: NodeJS.ProcessEnv =
      opts.accessKeyId !== undefined ? { [ENV_ACCESS_KEY_ID]: opts.accessKeyId, [ENV_ACCESS_KEY_SECRET]: opts.accessKeySecret } : {};
    const running = await startOpenSlb(config, {
      env,
      clock: opts.clock,
      timers: opts.timers,
      log: pino({ level: config.logLevel }, pino.destination(2)),
    });
    let key = opts.accessKeyId !== undefined ? { accessKeyId: opts.accessKeyId, accessKeySecret: opts.accessKeySecret! } : undefined;
    if (key === undefined) {
      try {
        key = await readCredentialsFile(credentialsPath(dataDir));
      } catch (err) {
        await running.stop();
        throw new Error(
          `${dataDir} has root keys but no readable credentials file (${(err as Error).message}); pass accessKeyId and accessKeySecret`,
        );
      }
    }
    let stopped: Promise<void> | undefined;
    return {
      endpoint: running.apiUrl,
      host: running.apiAddress.host,
      apiPort: running.apiAddress.port,
      adminUrl: running.adminUrl,
      dataDir,
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
      // An embedded OpenSLB always serves the API, so it always has a root key.
      accountId: running.rootKey!.accountId,
      regionId: config.regions[0].id,
      stop: () => (stopped ??= running.stop().then(removeOwnDataDir)),
    };
  } catch (err) {
    removeOwnDataDir();
    throw err;
  }
}
