import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { openStore } from '../../src/store/store.js';
import { registerRamCommands } from '../../src/cli/ram-commands.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'openslb-ram-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `openslb ram …` in-process against a SQLite store in `dir`, capturing output. */
async function ram(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = { stdout: '', stderr: '', exitCode: 0 };
  const program = new Command().exitOverride();
  registerRamCommands(program, () => openStore({ dataDir: dir }), {
    stdout: (text) => (result.stdout += text),
    stderr: (text) => (result.stderr += text),
    fail: () => (result.exitCode = 1),
  });
  await program.parseAsync(['ram', ...args], { from: 'user' });
  return result;
}

test('ram commands manage users, keys and policies and print JSON', async () => {
  const user = await ram('user', 'create', 'alice', '--display-name', 'Alice');
  assert.equal(user.exitCode, 0);
  assert.equal(JSON.parse(user.stdout).User.DisplayName, 'Alice');

  const key = JSON.parse((await ram('key', 'create', 'alice')).stdout);
  assert.match(key.AccessKeyId, /^LTAI/);
  assert.match(key.AccessKeySecret, /^[A-Za-z0-9]{30}$/);

  const listed = await ram('key', 'list', '--owner', 'alice');
  assert.deepEqual(
    JSON.parse(listed.stdout).AccessKeys.map((k: { AccessKeyId: string }) => k.AccessKeyId),
    [key.AccessKeyId],
  );
  assert.ok(!listed.stdout.includes(key.AccessKeySecret));

  assert.equal(JSON.parse((await ram('key', 'disable', key.AccessKeyId)).stdout).Status, 'Inactive');
  assert.equal(JSON.parse((await ram('key', 'enable', key.AccessKeyId)).stdout).Status, 'Active');

  const doc = join(dir, 'policy.json');
  writeFileSync(doc, JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'nlb:Get*', Resource: '*' }] }));
  assert.equal((await ram('policy', 'create', 'ro', '--document', doc, '--description', 'read')).exitCode, 0);
  assert.equal((await ram('policy', 'attach', 'ro', '--user', 'alice')).exitCode, 0);
  const got = JSON.parse((await ram('policy', 'get', 'ro')).stdout);
  assert.deepEqual(got.AttachedUsers, ['alice']);
  assert.equal(got.PolicyDocument.Statement[0].Action, 'nlb:Get*');
  assert.equal(JSON.parse((await ram('policy', 'list')).stdout).Policies[0].AttachmentCount, 1);

  const conflict = await ram('user', 'delete', 'alice');
  assert.equal(conflict.exitCode, 1);
  assert.equal(conflict.stdout, '');
  assert.equal(JSON.parse(conflict.stderr).Code, 'DeleteConflict.User.AccessKey');

  await ram('key', 'delete', key.AccessKeyId);
  await ram('policy', 'detach', 'ro', '--user', 'alice');
  assert.equal((await ram('user', 'delete', 'alice')).exitCode, 0);
  assert.equal((await ram('policy', 'delete', 'ro')).exitCode, 0);
  assert.deepEqual(JSON.parse((await ram('user', 'list')).stdout).Users, []);
});

test('bad documents and missing files are RAM errors on stderr', async () => {
  const missing = await ram('policy', 'create', 'p', '--document', join(dir, 'nope.json'));
  assert.equal(missing.exitCode, 1);
  assert.equal(JSON.parse(missing.stderr).Code, 'InvalidParameter.PolicyDocument');

  const doc = join(dir, 'conditional.json');
  writeFileSync(doc, JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: {} }] }));
  const conditional = await ram('policy', 'create', 'p', '--document', doc);
  assert.equal(JSON.parse(conditional.stderr).Code, 'InvalidParameter.PolicyDocument');
  assert.match(JSON.parse(conditional.stderr).Message, /Condition/);
});
