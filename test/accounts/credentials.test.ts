import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openStore, type Store } from '../../src/store/store.js';
import { RamService } from '../../src/accounts/ram-service.js';
import { credentialsPath, ensureRootKey, readCredentialsFile, type RootKeyLog } from '../../src/accounts/credentials.js';

let dir: string;
let store: Store;
let lines: string[];
const log: RootKeyLog = { info: (m) => lines.push(m), warn: (m) => lines.push(`warn: ${m}`) };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'openslb-creds-'));
  store = await openStore({ dataDir: dir });
  lines = [];
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ENV = { ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAItestAccessKeyId', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'testAccessKeySecret' };

test('env credentials become the root key, and no file is written', async () => {
  const info = await ensureRootKey(store, { dataDir: dir, env: ENV, log });
  assert.equal(info.source, 'env');
  assert.equal(info.accessKeyId, 'LTAItestAccessKeyId');
  // 16 digits starting with 1, as the cloud's; below 2^53, so exact as the AliUid JSON number.
  assert.match(info.accountId, /^1\d{15}$/);
  assert.ok(Number.isSafeInteger(Number(info.accountId)));
  const ram = new RamService(store);
  assert.equal(await ram.lookupSecret('LTAItestAccessKeyId'), 'testAccessKeySecret');
  assert.equal((await ram.resolveCaller('LTAItestAccessKeyId'))?.isRoot, true);
  assert.throws(() => statSync(credentialsPath(dir)), /ENOENT/);
  assert.ok(!lines.join('\n').includes('testAccessKeySecret'));

  // Restarting with the same env is idempotent and keeps the account ID.
  const again = await ensureRootKey(store, { dataDir: dir, env: ENV, log });
  assert.deepEqual(again, info);
  assert.equal((await ram.listAccessKeys('root')).length, 1);
});

test('a generated key goes to a 0600 file whose values round-trip; a restart reuses it', async () => {
  const info = await ensureRootKey(store, { dataDir: dir, env: {}, log });
  assert.equal(info.source, 'generated');
  assert.match(info.accessKeyId, /^LTAI[A-Za-z0-9]{20}$/);
  const file = credentialsPath(dir);
  assert.equal(info.credentialsFile, file);
  assert.equal(statSync(file).mode & 0o777, 0o600);

  const creds = await readCredentialsFile(file);
  assert.equal(creds.accessKeyId, info.accessKeyId);
  assert.equal(creds.accountId, info.accountId);
  assert.match(creds.accessKeySecret, /^[A-Za-z0-9]{30}$/);
  assert.equal(await new RamService(store).lookupSecret(info.accessKeyId), creds.accessKeySecret);

  // The log says where the file is and names the key, never the secret.
  const logged = lines.join('\n');
  assert.ok(logged.includes(file) && logged.includes(info.accessKeyId));
  assert.ok(!logged.includes(creds.accessKeySecret));

  // The file is shell-sourceable.
  const out = execFileSync(
    'sh',
    ['-c', 'set -a; . "$1"; set +a; printf "%s %s" "$ALIBABA_CLOUD_ACCESS_KEY_ID" "$ALIBABA_CLOUD_ACCESS_KEY_SECRET"', 'sh', file],
    {
      encoding: 'utf8',
      env: {},
    },
  );
  assert.equal(out, `${creds.accessKeyId} ${creds.accessKeySecret}`);

  const before = readFileSync(file, 'utf8');
  const mtime = statSync(file).mtimeMs;
  const again = await ensureRootKey(store, { dataDir: dir, env: {}, log });
  assert.deepEqual(again, { ...info, source: 'existing' });
  assert.equal(readFileSync(file, 'utf8'), before);
  assert.equal(statSync(file).mtimeMs, mtime);
});

test('env credentials naming another key are added next to the existing root key', async () => {
  const generated = await ensureRootKey(store, { dataDir: dir, env: {}, log });
  const info = await ensureRootKey(store, { dataDir: dir, env: ENV, log });
  assert.equal(info.source, 'env');
  assert.equal(info.accountId, generated.accountId);
  const ram = new RamService(store);
  assert.deepEqual(
    (await ram.listAccessKeys('root')).map((k) => k.accessKeyId).sort(),
    [generated.accessKeyId, 'LTAItestAccessKeyId'].sort(),
  );
  // Without env again, the first (generated) key is reported.
  const later = await ensureRootKey(store, { dataDir: dir, env: {}, log });
  assert.equal(later.accessKeyId, generated.accessKeyId);
  assert.equal(later.source, 'existing');
});

test('env names a stored root key with another secret: the env secret wins', async () => {
  await ensureRootKey(store, { dataDir: dir, env: ENV, log });
  lines = [];
  await ensureRootKey(store, { dataDir: dir, env: { ...ENV, ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'rotatedSecret' }, log });
  assert.equal(await new RamService(store).lookupSecret('LTAItestAccessKeyId'), 'rotatedSecret');
  assert.ok(lines.some((l) => l.startsWith('warn:') && l.includes('replaced')));
  assert.ok(!lines.join('\n').includes('rotatedSecret'));
});

test('env naming a RAM user key is refused', async () => {
  const ram = new RamService(store);
  await ram.createUser('alice');
  const key = await ram.createAccessKey('alice');
  await assert.rejects(
    ensureRootKey(store, {
      dataDir: dir,
      env: { ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'x' },
      log,
    }),
    /RAM user "alice", not a root key/,
  );
});

test('only one env variable set: warned about and ignored', async () => {
  const info = await ensureRootKey(store, { dataDir: dir, env: { ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIonlyId' }, log });
  assert.equal(info.source, 'generated');
  assert.ok(lines.some((l) => l.startsWith('warn:') && l.includes('both are needed')));
});

test('no data directory and no env: refuses instead of printing a secret', async () => {
  await assert.rejects(ensureRootKey(store, { env: {}, log }), /no data directory.*ALIBABA_CLOUD_ACCESS_KEY_ID/);
  assert.equal((await new RamService(store).listAccessKeys('root')).length, 0);
  // A key created with the CLI is then used as is.
  const created = await new RamService(store).createAccessKey('root');
  const info = await ensureRootKey(store, { env: {}, log });
  assert.deepEqual([info.accessKeyId, info.source, info.credentialsFile], [created.accessKeyId, 'existing', undefined]);
});

test('an unwritable credentials location leaves no orphan key behind', async () => {
  const notADir = join(dir, 'file');
  writeFileSync(notADir, '');
  await assert.rejects(ensureRootKey(store, { dataDir: notADir, env: {}, log }));
  assert.equal((await new RamService(store).listAccessKeys('root')).length, 0);
});
