import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Store } from '../store/types.js';
import { RamError, RamService, ROOT_OWNER, type AccessKeyInfo, type PolicySummary, type RamUser } from '../accounts/ram-service.js';

/**
 * `openslb ram …`: manage RAM users, AccessKeys and policies straight in the store (no API
 * server needed, so this also works before any key exists). Results are JSON on stdout in
 * RAM's PascalCase; failures are `{"Code","Message"}` on stderr with exit code 1.
 */
export function registerRamCommands(program: Command, openStoreFromOptions: () => Promise<Store>, io: CommandIo = processIo): void {
  // Actions return the promise, so the caller must use program.parseAsync().
  const run = (fn: (ram: RamService) => Promise<unknown>) => runWithStore(openStoreFromOptions, io, fn);

  const ram = program.command('ram').description('manage RAM users, AccessKeys and policies');

  const user = ram.command('user').description('RAM users');
  user
    .command('create <name>')
    .description('create a RAM user')
    .option('--display-name <name>', 'display name (defaults to the user name)')
    .action((name: string, opts: { displayName?: string }) =>
      run(async (r) => ({ User: userJson(await r.createUser(name, opts.displayName)) })),
    );
  user
    .command('delete <name>')
    .description('delete a RAM user (it must have no AccessKeys and no attached policies)')
    .action((name: string) => run(async (r) => (await r.deleteUser(name), { Deleted: { UserName: name } })));
  user
    .command('list')
    .description('list RAM users')
    .action(() => run(async (r) => ({ Users: (await r.listUsers()).map(userJson) })));

  const key = ram.command('key').description('AccessKeys');
  key
    .command('create <owner>')
    .description(`create an AccessKey for a RAM user, or for the account with "${ROOT_OWNER}"; the secret is shown only now`)
    .action((owner: string) =>
      run(async (r) => {
        const k = await r.createAccessKey(owner);
        return { AccessKeyId: k.accessKeyId, AccessKeySecret: k.secret };
      }),
    );
  key
    .command('delete <id>')
    .description('delete an AccessKey')
    .action((id: string) => run(async (r) => (await r.deleteAccessKey(id), { Deleted: { AccessKeyId: id } })));
  key
    .command('disable <id>')
    .description('make an AccessKey Inactive (requests signed with it are refused)')
    .action((id: string) => run(async (r) => (await r.setAccessKeyStatus(id, 'Inactive'), { AccessKeyId: id, Status: 'Inactive' })));
  key
    .command('enable <id>')
    .description('make an AccessKey Active again')
    .action((id: string) => run(async (r) => (await r.setAccessKeyStatus(id, 'Active'), { AccessKeyId: id, Status: 'Active' })));
  key
    .command('list')
    .description('list AccessKeys (never their secrets)')
    .option('--owner <owner>', `only the keys of this user (or "${ROOT_OWNER}")`)
    .action((opts: { owner?: string }) => run(async (r) => ({ AccessKeys: (await r.listAccessKeys(opts.owner)).map(keyJson) })));

  const policy = ram.command('policy').description('RAM policies');
  policy
    .command('create <name>')
    .description('create a policy from a JSON document')
    .requiredOption('--document <file>', 'policy document file, or - for stdin')
    .option('--description <text>', 'description')
    .action((name: string, opts: { document: string; description?: string }) =>
      run(async (r) => ({
        Policy: policyJson(await r.createPolicy(name, await readDocument(opts.document), opts.description)),
      })),
    );
  policy
    .command('delete <name>')
    .description('delete a policy (it must not be attached)')
    .action((name: string) => run(async (r) => (await r.deletePolicy(name), { Deleted: { PolicyName: name } })));
  policy
    .command('get <name>')
    .description('show a policy with its document')
    .action((name: string) =>
      run(async (r) => {
        const p = await r.getPolicy(name);
        return {
          Policy: policyJson(p),
          // Stored verbatim and valid JSON (validated on create); shown as an object to read.
          PolicyDocument: JSON.parse(p.policyDocument) as unknown,
          AttachedUsers: p.attachedUsers,
        };
      }),
    );
  policy
    .command('list')
    .description('list policies')
    .action(() => run(async (r) => ({ Policies: (await r.listPolicies()).map(policyJson) })));
  policy
    .command('attach <policy>')
    .description('attach a policy to a RAM user')
    .requiredOption('--user <name>', 'the RAM user')
    .action((name: string, opts: { user: string }) =>
      run(async (r) => (await r.attachPolicy(name, opts.user), { Attached: { PolicyName: name, UserName: opts.user } })),
    );
  policy
    .command('detach <policy>')
    .description('detach a policy from a RAM user')
    .requiredOption('--user <name>', 'the RAM user')
    .action((name: string, opts: { user: string }) =>
      run(async (r) => (await r.detachPolicy(name, opts.user), { Detached: { PolicyName: name, UserName: opts.user } })),
    );
}

/** Where results and errors go; injectable so tests need not patch process.stdout. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  fail(): void;
}

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // exitCode rather than exit(): the store is closed and output flushed before the process ends.
  fail: () => {
    process.exitCode = 1;
  },
};

async function runWithStore(openStore: () => Promise<Store>, io: CommandIo, fn: (ram: RamService) => Promise<unknown>): Promise<void> {
  let store: Store | undefined;
  try {
    store = await openStore();
    const result = await fn(new RamService(store));
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    io.stderr(`${JSON.stringify(errorJson(err), null, 2)}\n`);
    io.fail();
  } finally {
    await store?.close();
  }
}

function errorJson(err: unknown): { Code: string; Message: string } {
  if (err instanceof RamError) return { Code: err.code, Message: err.message };
  return { Code: 'InternalError', Message: err instanceof Error ? err.message : String(err) };
}

async function readDocument(source: string): Promise<string> {
  try {
    return source === '-' ? await readStdin() : await readFile(source, 'utf8');
  } catch (err) {
    throw new RamError(
      'InvalidParameter.PolicyDocument',
      `Cannot read the policy document from ${source === '-' ? 'stdin' : source}: ${(err as Error).message}`,
    );
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function userJson(u: RamUser) {
  return { UserName: u.userName, DisplayName: u.displayName, CreateDate: u.createDate };
}

function keyJson(k: AccessKeyInfo) {
  return { AccessKeyId: k.accessKeyId, Owner: k.owner, Status: k.status, CreateDate: k.createDate };
}

function policyJson(p: PolicySummary) {
  return {
    PolicyName: p.policyName,
    Description: p.description,
    CreateDate: p.createDate,
    AttachmentCount: p.attachmentCount,
  };
}
