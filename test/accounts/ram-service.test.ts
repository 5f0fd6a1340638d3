import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store.js';
import { RamError, RamService } from '../../src/accounts/ram-service.js';
import { evaluate } from '../../src/gateway/ram/policy.js';

let dir: string;
let store: Store;
let ram: RamService;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'openslb-ram-'));
  store = await openStore({ dataDir: dir });
  ram = new RamService(store);
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof RamError, `expected RamError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

const READ_ONLY = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: ['nlb:Get*', 'nlb:List*', 'nlb:Describe*'], Resource: '*' }],
});

test('user, key, policy, attachment: resolveCaller returns the parsed policies', async () => {
  const user = await ram.createUser('alice', 'Alice');
  assert.equal(user.userName, 'alice');
  assert.equal(user.displayName, 'Alice');
  assert.match(user.createDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  const key = await ram.createAccessKey('alice');
  assert.match(key.accessKeyId, /^LTAI[A-Za-z0-9]{20}$/);
  assert.match(key.secret, /^[A-Za-z0-9]{30}$/);
  assert.equal(await ram.lookupSecret(key.accessKeyId), key.secret);

  const created = await ram.createPolicy('nlb-read-only', READ_ONLY, 'read only');
  assert.deepEqual(
    { ...created, createDate: '' },
    { policyName: 'nlb-read-only', description: 'read only', createDate: '', attachmentCount: 0 },
  );
  await ram.attachPolicy('nlb-read-only', 'alice');

  const caller = await ram.resolveCaller(key.accessKeyId);
  assert.ok(caller);
  assert.equal(caller.owner, 'alice');
  assert.equal(caller.isRoot, false);
  assert.equal(caller.policies.length, 1);
  assert.equal(caller.policies[0].name, 'nlb-read-only');
  assert.equal(evaluate(caller.policies, { action: 'nlb:GetListenerAttribute', resources: ['*'] }).allowed, true);
  assert.equal(evaluate(caller.policies, { action: 'nlb:CreateListener', resources: ['*'] }).allowed, false);

  const got = await ram.getPolicy('nlb-read-only');
  assert.equal(got.policyDocument, READ_ONLY);
  assert.deepEqual(got.attachedUsers, ['alice']);
  assert.equal(got.attachmentCount, 1);
  assert.deepEqual(
    (await ram.listPolicies()).map((p) => [p.policyName, p.attachmentCount]),
    [['nlb-read-only', 1]],
  );
  assert.deepEqual(
    (await ram.listUsers()).map((u) => u.userName),
    ['alice'],
  );
  const keys = await ram.listAccessKeys('alice');
  assert.deepEqual(
    keys.map((k) => [k.accessKeyId, k.owner, k.status]),
    [[key.accessKeyId, 'alice', 'Active']],
  );
  assert.ok(!('secret' in keys[0]));
});

test('root keys resolve as root with no policies', async () => {
  const root = await ram.createAccessKey('root');
  const caller = await ram.resolveCaller(root.accessKeyId);
  assert.deepEqual(caller, { accessKeyId: root.accessKeyId, owner: 'root', isRoot: true, policies: [] });
  assert.ok((await ram.listAccessKeys('root')).some((k) => k.accessKeyId === root.accessKeyId));
});

test('an inactive key is invisible to the gateway until enabled again', async () => {
  await ram.createUser('bob');
  const key = await ram.createAccessKey('bob');
  await ram.setAccessKeyStatus(key.accessKeyId, 'Inactive');
  assert.equal(await ram.lookupSecret(key.accessKeyId), undefined);
  assert.equal(await ram.resolveCaller(key.accessKeyId), undefined);
  assert.equal((await ram.listAccessKeys('bob'))[0].status, 'Inactive');
  await ram.setAccessKeyStatus(key.accessKeyId, 'Active');
  assert.equal(await ram.lookupSecret(key.accessKeyId), key.secret);
  assert.equal(await ram.lookupSecret('LTAIunknown'), undefined);
  await rejectsWith(ram.setAccessKeyStatus(key.accessKeyId, 'Off' as 'Active'), 'InvalidParameter.Status');
});

test('delete conflicts, as in RAM', async () => {
  await ram.createUser('carol');
  const key = await ram.createAccessKey('carol');
  await ram.createPolicy('carol-policy', READ_ONLY);
  await ram.attachPolicy('carol-policy', 'carol');

  await rejectsWith(ram.deleteUser('carol'), 'DeleteConflict.User.AccessKey');
  await ram.deleteAccessKey(key.accessKeyId);
  await rejectsWith(ram.deleteUser('carol'), 'DeleteConflict.User.Policy');
  await rejectsWith(ram.deletePolicy('carol-policy'), 'DeleteConflict.Policy.User');
  await ram.detachPolicy('carol-policy', 'carol');
  await ram.deletePolicy('carol-policy');
  await ram.deleteUser('carol');
  assert.ok(!(await ram.listUsers()).some((u) => u.userName === 'carol'));
});

test('not-found, duplicate and invalid-input codes', async () => {
  await rejectsWith(ram.deleteUser('nobody'), 'EntityNotExist.User');
  await rejectsWith(ram.createAccessKey('nobody'), 'EntityNotExist.User');
  await rejectsWith(ram.listAccessKeys('nobody'), 'EntityNotExist.User');
  await rejectsWith(ram.deleteAccessKey('LTAInope'), 'EntityNotExist.User.AccessKey');
  await rejectsWith(ram.setAccessKeyStatus('LTAInope', 'Inactive'), 'EntityNotExist.User.AccessKey');
  await rejectsWith(ram.getPolicy('nope'), 'EntityNotExist.Policy');
  await rejectsWith(ram.deletePolicy('nope'), 'EntityNotExist.Policy');
  await rejectsWith(ram.attachPolicy('nope', 'alice'), 'EntityNotExist.Policy');
  await rejectsWith(ram.attachPolicy('nlb-read-only', 'nobody'), 'EntityNotExist.User');

  await rejectsWith(ram.createUser('alice'), 'EntityAlreadyExists.User');
  await rejectsWith(ram.createPolicy('nlb-read-only', READ_ONLY), 'EntityAlreadyExists.Policy');
  await rejectsWith(ram.attachPolicy('nlb-read-only', 'alice'), 'EntityAlreadyExists.User.Policy');
  await ram.createUser('dave');
  await rejectsWith(ram.detachPolicy('nlb-read-only', 'dave'), 'EntityNotExist.User.Policy');

  await rejectsWith(ram.createUser(''), 'InvalidParameter.UserName');
  await rejectsWith(ram.createUser('a'.repeat(65)), 'InvalidParameter.UserName');
  await rejectsWith(ram.createUser('has space'), 'InvalidParameter.UserName');
  await rejectsWith(ram.createUser('root'), 'InvalidParameter.UserName');
  await ram.createUser('ok.name_1@x-y');
  await rejectsWith(ram.createUser('eve', 'x'.repeat(129)), 'InvalidParameter.DisplayName');
  await rejectsWith(ram.createPolicy('bad_name', READ_ONLY), 'InvalidParameter.PolicyName');
  await rejectsWith(ram.createPolicy('p'.repeat(129), READ_ONLY), 'InvalidParameter.PolicyName');
  await rejectsWith(ram.createPolicy('p', READ_ONLY, 'd'.repeat(1025)), 'InvalidParameter.Description');
  await rejectsWith(
    ram.createPolicy(
      'conditional',
      JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: {} }] }),
    ),
    'InvalidParameter.PolicyDocument',
  );
  await rejectsWith(ram.createPolicy('broken', '{'), 'InvalidParameter.PolicyDocument');
  await rejectsWith(ram.getPolicy('broken'), 'EntityNotExist.Policy');
});

test('a RAM user holds at most two AccessKeys', async () => {
  await ram.createUser('frank');
  await ram.createAccessKey('frank');
  await ram.createAccessKey('frank');
  await rejectsWith(ram.createAccessKey('frank'), 'LimitExceeded.User.AccessKey');
});

test('RAM changes do not bump the data-plane revision', async () => {
  const before = await store.currentRevision();
  await ram.createUser('grace');
  await ram.createAccessKey('grace');
  assert.equal(await store.currentRevision(), before);
});
