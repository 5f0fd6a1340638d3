import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/types.js';
import { generateAccessKey, insertAccessKey, ROOT_OWNER, type NewAccessKey } from './ram-service.js';
import { noteRamChange } from './ram-generation.js';
import { systemClock, type Clock } from '../util/clock.js';

/**
 * The account and its root AccessKey, set up on start (DESIGN "Defaults a newcomer gets"):
 *
 * - The account ID is 16 random digits, created once and kept in `meta` (`account_id`).
 * - With ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET both set, that pair is
 *   a root key. If the store already has root keys and the env names another one, the env key
 *   is ADDED as one more root key rather than refused or swapped in: restarting with env
 *   credentials must just work, and keys created earlier (other people's scripts, the
 *   generated file) must keep working too. If the env names a stored root key with a
 *   different secret, the env secret wins: the env is the operator's statement of truth.
 * - Without env credentials and without any root key, one is generated and written to
 *   `<dataDir>/credentials` (mode 0600 from creation) as shell-sourceable lines:
 *       set -a; . .openslb/credentials; set +a
 *   Without a dataDir (a PostgreSQL store) there is nowhere safe to put a generated secret,
 *   and printing it would put it in whatever collects stderr, so this refuses with a message
 *   saying what to do instead (env variables, or `openslb ram key create root`).
 *
 * Secrets are never logged: log lines name the AccessKeyId and the file only.
 */

export const ENV_ACCESS_KEY_ID = 'ALIBABA_CLOUD_ACCESS_KEY_ID';
export const ENV_ACCESS_KEY_SECRET = 'ALIBABA_CLOUD_ACCESS_KEY_SECRET';
/** Not read by Alibaba's tools; written to the file so people can build ARNs for policies. */
export const ENV_ACCOUNT_ID = 'OPENSLB_ACCOUNT_ID';
export const CREDENTIALS_FILE_NAME = 'credentials';
const ACCOUNT_ID_META_KEY = 'account_id';

export interface RootKeyLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface EnsureRootKeyOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  log?: RootKeyLog;
  clock?: Clock;
}

export interface RootKeyInfo {
  accessKeyId: string;
  accountId: string;
  /**
   * Where the reported key comes from: `env` — the environment names it (added now or
   * earlier); `generated` — created now and written to the credentials file; `existing` —
   * a root key already in the store, no env credentials given.
   */
  source: 'env' | 'generated' | 'existing';
  /** Set when the key's secret is in `<dataDir>/credentials`. */
  credentialsFile?: string;
}

export interface CredentialsFile {
  accountId?: string;
  accessKeyId: string;
  accessKeySecret: string;
}

const stderrLog: RootKeyLog = {
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
};

export function credentialsPath(dataDir: string): string {
  return join(dataDir, CREDENTIALS_FILE_NAME);
}

export async function ensureRootKey(store: Store, opts: EnsureRootKeyOptions = {}): Promise<RootKeyInfo> {
  const { dataDir, env = process.env, log = stderrLog, clock = systemClock } = opts;
  const accountId = await ensureAccountId(store);

  const envKey = envCredentials(env, log);
  if (envKey) return { ...(await adoptEnvKey(store, envKey, log, clock)), accountId };

  const file = dataDir ? credentialsPath(dataDir) : undefined;
  const existing = await oldestRootKey(store);
  if (existing) {
    const credentialsFile = file && (await fileNamesKey(file, existing)) ? file : undefined;
    log.info(
      credentialsFile ? `root AccessKey ${existing}; its secret is in ${credentialsFile}` : `root AccessKey ${existing} (from the store)`,
    );
    return { accessKeyId: existing, accountId, source: 'existing', ...(credentialsFile ? { credentialsFile } : {}) };
  }

  if (!file || !dataDir) {
    throw new Error(
      `no root AccessKey exists and there is no data directory to write a generated one to; ` +
        `set ${ENV_ACCESS_KEY_ID} and ${ENV_ACCESS_KEY_SECRET}, or create one with \`openslb ram key create root\``,
    );
  }

  const key = generateAccessKey();
  // The store decides who wins if two processes bootstrap at once; only the winner writes.
  const inserted = await store.transact(async (tx) => {
    const other = await tx.selectFrom('access_keys').select('access_key_id').where('owner', '=', ROOT_OWNER).executeTakeFirst();
    if (other) return false;
    await insertAccessKey(tx, key, ROOT_OWNER, clock.now());
    return true;
  });
  if (!inserted) return ensureRootKey(store, { ...opts, env: {} });

  try {
    await writeCredentialsFile(dataDir, { accountId, accessKeyId: key.accessKeyId, accessKeySecret: key.secret });
  } catch (err) {
    // A key whose secret nobody can read is useless; drop it so the next start tries again.
    await store.transact((tx) => tx.deleteFrom('access_keys').where('access_key_id', '=', key.accessKeyId).execute());
    noteRamChange(store);
    throw err;
  }
  log.info(`generated root AccessKey ${key.accessKeyId}; its secret is in ${file} (mode 0600)`);
  return { accessKeyId: key.accessKeyId, accountId, source: 'generated', credentialsFile: file };
}

/** The account ID, created on first use. Safe under concurrent starts: the first insert wins. */
export async function ensureAccountId(store: Store): Promise<string> {
  return store.transact(async (tx) => {
    const row = await tx.selectFrom('meta').select('value').where('key', '=', ACCOUNT_ID_META_KEY).executeTakeFirst();
    if (row) return row.value;
    // As the cloud's look: 16 digits starting with 1, so below 2^53 and exact as a JSON number
    // (AliUid is answered as one).
    const accountId = '1' + Array.from({ length: 15 }, () => String(randomInt(10))).join('');
    await tx
      .insertInto('meta')
      .values({ key: ACCOUNT_ID_META_KEY, value: accountId })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const stored = await tx.selectFrom('meta').select('value').where('key', '=', ACCOUNT_ID_META_KEY).executeTakeFirstOrThrow();
    return stored.value;
  });
}

function envCredentials(env: NodeJS.ProcessEnv, log: RootKeyLog): NewAccessKey | undefined {
  const id = env[ENV_ACCESS_KEY_ID]?.trim();
  const secret = env[ENV_ACCESS_KEY_SECRET]?.trim();
  if (id && secret) return { accessKeyId: id, secret };
  if (id || secret) {
    log.warn(`only one of ${ENV_ACCESS_KEY_ID} and ${ENV_ACCESS_KEY_SECRET} is set; both are needed, ignoring it`);
  }
  return undefined;
}

async function adoptEnvKey(store: Store, key: NewAccessKey, log: RootKeyLog, clock: Clock): Promise<Omit<RootKeyInfo, 'accountId'>> {
  const outcome = await store.transact(async (tx) => {
    const row = await tx
      .selectFrom('access_keys')
      .select(['owner', 'secret', 'status'])
      .where('access_key_id', '=', key.accessKeyId)
      .executeTakeFirst();
    if (!row) {
      await insertAccessKey(tx, key, ROOT_OWNER, clock.now());
      return 'added' as const;
    }
    if (row.owner !== ROOT_OWNER) {
      throw new Error(
        `${ENV_ACCESS_KEY_ID} names the AccessKey ${key.accessKeyId} of the RAM user "${row.owner}", not a root key; ` +
          `unset it or use a root key`,
      );
    }
    if (row.secret !== key.secret) {
      await tx.updateTable('access_keys').set({ secret: key.secret }).where('access_key_id', '=', key.accessKeyId).execute();
      return row.status === 'Active' ? ('secret-replaced' as const) : ('inactive' as const);
    }
    return row.status === 'Active' ? ('unchanged' as const) : ('inactive' as const);
  });
  // A replaced secret must not linger in this process's credential cache.
  noteRamChange(store);
  const id = key.accessKeyId;
  if (outcome === 'added') log.info(`root AccessKey ${id} from ${ENV_ACCESS_KEY_ID} added to the store`);
  else if (outcome === 'secret-replaced') log.warn(`root AccessKey ${id}: secret replaced by ${ENV_ACCESS_KEY_SECRET}`);
  else if (outcome === 'inactive')
    log.warn(`root AccessKey ${id} from ${ENV_ACCESS_KEY_ID} is disabled; enable it with \`openslb ram key enable ${id}\``);
  else log.info(`root AccessKey ${id} from ${ENV_ACCESS_KEY_ID}`);
  return { accessKeyId: id, source: 'env' };
}

/** The first root key, Active ones preferred, so restarts report the same key. */
async function oldestRootKey(store: Store): Promise<string | undefined> {
  const rows = await store.db
    .selectFrom('access_keys')
    .select(['access_key_id', 'status'])
    .where('owner', '=', ROOT_OWNER)
    .orderBy('created_at')
    .orderBy('access_key_id')
    .execute();
  return (rows.find((r) => r.status === 'Active') ?? rows[0])?.access_key_id;
}

async function fileNamesKey(path: string, accessKeyId: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  try {
    return (await readCredentialsFile(path)).accessKeyId === accessKeyId;
  } catch {
    return false;
  }
}

/**
 * Written to a fresh temporary file opened with mode 0600 and exclusive create, then renamed
 * into place: the secret never exists in a file anyone else could read, even briefly, and a
 * crash never leaves a half-written credentials file.
 */
export async function writeCredentialsFile(dataDir: string, creds: CredentialsFile): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = credentialsPath(dataDir);
  const temp = `${path}.${process.pid}.${randomInt(1e9)}.tmp`;
  const lines = [
    '# OpenSLB root credentials. Keep this file private.',
    '# Load into a shell with:  set -a; . ./credentials; set +a',
    ...(creds.accountId ? [`${ENV_ACCOUNT_ID}=${creds.accountId}`] : []),
    `${ENV_ACCESS_KEY_ID}=${creds.accessKeyId}`,
    `${ENV_ACCESS_KEY_SECRET}=${creds.accessKeySecret}`,
    '',
  ];
  try {
    await writeFile(temp, lines.join('\n'), { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return path;
}

/** Reads the `NAME=value` lines written by writeCredentialsFile (comments and blanks ignored). */
export async function readCredentialsFile(path: string): Promise<CredentialsFile> {
  const values = new Map<string, string>();
  for (const line of (await readFile(path, 'utf8')).split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) values.set(match[1], match[2].trim().replace(/^(['"])(.*)\1$/, '$2'));
  }
  const accessKeyId = values.get(ENV_ACCESS_KEY_ID);
  const accessKeySecret = values.get(ENV_ACCESS_KEY_SECRET);
  if (!accessKeyId || !accessKeySecret) {
    throw new Error(`${path} does not define ${ENV_ACCESS_KEY_ID} and ${ENV_ACCESS_KEY_SECRET}`);
  }
  const accountId = values.get(ENV_ACCOUNT_ID);
  return accountId ? { accountId, accessKeyId, accessKeySecret } : { accessKeyId, accessKeySecret };
}
