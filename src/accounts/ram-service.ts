import { randomInt } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Schema } from '../store/schema.js';
import type { Store } from '../store/types.js';
import { parsePolicy, PolicyDocumentError, type ParsedPolicy } from '../gateway/ram/policy.js';
import { isoSeconds, systemClock, type Clock } from '../util/clock.js';
import { noteRamChange, ramGeneration } from './ram-generation.js';

/**
 * RAM users, AccessKeys and policies over the store. These are account bookkeeping, not
 * data-plane state, so every change goes through `store.transact` (no revision bump), and
 * bumps this process's RAM generation for the store so credential caches refill at once.
 *
 * Errors are RamErrors carrying RAM's own codes (`EntityNotExist.User`,
 * `DeleteConflict.User.AccessKey`, ...), so the CLI and any future RAM API can show them as is.
 */
export class RamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RamError';
  }
}

/** The owner value that marks the account's own (root) AccessKeys in `access_keys`. */
export const ROOT_OWNER = 'root';

export type AccessKeyStatus = 'Active' | 'Inactive';

export interface RamUser {
  userName: string;
  displayName: string;
  createDate: string;
}

export interface AccessKeyInfo {
  accessKeyId: string;
  owner: string;
  status: AccessKeyStatus;
  createDate: string;
}

export interface NewAccessKey {
  accessKeyId: string;
  secret: string;
}

export interface PolicySummary {
  policyName: string;
  description: string;
  createDate: string;
  attachmentCount: number;
}

export interface PolicyDetail extends PolicySummary {
  /** The document exactly as it was given. */
  policyDocument: string;
  attachedUsers: string[];
}

export interface Caller {
  accessKeyId: string;
  owner: string;
  isRoot: boolean;
  /** Empty for root: the account itself is not subject to policies. */
  policies: ParsedPolicy[];
}

/** A Caller plus the key's secret: everything the gateway needs about a key, read at once. */
export interface CallerWithSecret extends Caller {
  secret: string;
}

const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const POLICY_NAME = /^[A-Za-z0-9-]{1,128}$/;
const MAX_DISPLAY_NAME = 128;
const MAX_DESCRIPTION = 1024;
/** RAM lets a user hold at most two AccessKeys. Root keys are not capped (env keys add up). */
const MAX_KEYS_PER_USER = 2;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform (randomInt rejects biased draws) crypto-random alphanumerics. */
export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** AccessKeyIds look like Alibaba's: `LTAI` and 20 alphanumerics; secrets are 30 alphanumerics. */
export function generateAccessKey(): NewAccessKey {
  return { accessKeyId: `LTAI${randomAlphanumeric(20)}`, secret: randomAlphanumeric(30) };
}

export class RamService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock,
  ) {}

  /** A RAM write: one transaction, then (committed or not) the generation bump. */
  private async write<T>(fn: (tx: Transaction<Schema>) => Promise<T>): Promise<T> {
    try {
      return await this.store.transact(fn);
    } finally {
      noteRamChange(this.store);
    }
  }

  /** Moves whenever this process changes RAM data in this store (any RamService instance). */
  generation(): number {
    return ramGeneration(this.store);
  }

  // --- users -----------------------------------------------------------------------------

  async createUser(name: string, displayName?: string): Promise<RamUser> {
    checkUserName(name);
    const display = displayName ?? name;
    if (display.length < 1 || display.length > MAX_DISPLAY_NAME) {
      throw new RamError('InvalidParameter.DisplayName', `The display name must be 1 to ${MAX_DISPLAY_NAME} characters long.`);
    }
    const createdAt = this.clock.now();
    await this.write(async (tx) => {
      if (await findUser(tx, name)) {
        throw new RamError('EntityAlreadyExists.User', `The user "${name}" already exists.`);
      }
      await tx.insertInto('ram_users').values({ name, display_name: display, created_at: createdAt }).execute();
    });
    return { userName: name, displayName: display, createDate: isoSeconds(createdAt) };
  }

  /** Like RAM, refuses while the user still has AccessKeys or attached policies. */
  async deleteUser(name: string): Promise<void> {
    await this.write(async (tx) => {
      await requireUser(tx, name);
      const key = await tx.selectFrom('access_keys').select('access_key_id').where('owner', '=', name).executeTakeFirst();
      if (key) {
        throw new RamError(
          'DeleteConflict.User.AccessKey',
          `The user "${name}" still has AccessKeys (e.g. ${key.access_key_id}); delete them first.`,
        );
      }
      const attached = await tx.selectFrom('ram_attachments').select('policy_name').where('user_name', '=', name).executeTakeFirst();
      if (attached) {
        throw new RamError(
          'DeleteConflict.User.Policy',
          `The user "${name}" still has attached policies (e.g. ${attached.policy_name}); detach them first.`,
        );
      }
      await tx.deleteFrom('ram_users').where('name', '=', name).execute();
    });
  }

  async listUsers(): Promise<RamUser[]> {
    const rows = await this.store.db.selectFrom('ram_users').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ userName: r.name, displayName: r.display_name, createDate: isoSeconds(Number(r.created_at)) }));
  }

  // --- AccessKeys ------------------------------------------------------------------------

  /** A new Active key for `root` or a RAM user. The secret is only ever returned here. */
  async createAccessKey(owner: string): Promise<NewAccessKey> {
    const key = generateAccessKey();
    await this.write(async (tx) => {
      if (owner !== ROOT_OWNER) {
        await requireUser(tx, owner);
        const count = await countKeys(tx, owner);
        if (count >= MAX_KEYS_PER_USER) {
          throw new RamError(
            'LimitExceeded.User.AccessKey',
            `The user "${owner}" already has ${count} AccessKeys; the limit is ${MAX_KEYS_PER_USER}.`,
          );
        }
      }
      await insertAccessKey(tx, key, owner, this.clock.now());
    });
    return key;
  }

  async deleteAccessKey(accessKeyId: string): Promise<void> {
    await this.write(async (tx) => {
      await requireAccessKey(tx, accessKeyId);
      await tx.deleteFrom('access_keys').where('access_key_id', '=', accessKeyId).execute();
    });
  }

  async setAccessKeyStatus(accessKeyId: string, status: AccessKeyStatus): Promise<void> {
    if (status !== 'Active' && status !== 'Inactive') {
      throw new RamError('InvalidParameter.Status', `The status must be Active or Inactive, got "${String(status)}".`);
    }
    await this.write(async (tx) => {
      await requireAccessKey(tx, accessKeyId);
      await tx.updateTable('access_keys').set({ status }).where('access_key_id', '=', accessKeyId).execute();
    });
  }

  /** Never includes secrets. */
  async listAccessKeys(owner?: string): Promise<AccessKeyInfo[]> {
    if (owner !== undefined && owner !== ROOT_OWNER) await requireUser(this.store.db, owner);
    let query = this.store.db
      .selectFrom('access_keys')
      .select(['access_key_id', 'owner', 'status', 'created_at'])
      .orderBy('owner')
      .orderBy('created_at')
      .orderBy('access_key_id');
    if (owner !== undefined) query = query.where('owner', '=', owner);
    const rows = await query.execute();
    return rows.map((r) => ({
      accessKeyId: r.access_key_id,
      owner: r.owner,
      status: r.status as AccessKeyStatus,
      createDate: isoSeconds(Number(r.created_at)),
    }));
  }

  // --- policies --------------------------------------------------------------------------

  async createPolicy(name: string, documentJson: string, description = ''): Promise<PolicySummary> {
    checkPolicyName(name);
    if (description.length > MAX_DESCRIPTION) {
      throw new RamError('InvalidParameter.Description', `The description must be at most ${MAX_DESCRIPTION} characters long.`);
    }
    try {
      parsePolicy(documentJson);
    } catch (err) {
      if (err instanceof PolicyDocumentError) throw new RamError('InvalidParameter.PolicyDocument', err.message);
      throw err;
    }
    const createdAt = this.clock.now();
    await this.write(async (tx) => {
      if (await findPolicy(tx, name)) {
        throw new RamError('EntityAlreadyExists.Policy', `The policy "${name}" already exists.`);
      }
      await tx.insertInto('ram_policies').values({ name, document: documentJson, description, created_at: createdAt }).execute();
    });
    return { policyName: name, description, createDate: isoSeconds(createdAt), attachmentCount: 0 };
  }

  /** Like RAM, refuses while the policy is attached to any user. */
  async deletePolicy(name: string): Promise<void> {
    await this.write(async (tx) => {
      await requirePolicy(tx, name);
      const attached = await tx.selectFrom('ram_attachments').select('user_name').where('policy_name', '=', name).executeTakeFirst();
      if (attached) {
        throw new RamError(
          'DeleteConflict.Policy.User',
          `The policy "${name}" is still attached to users (e.g. ${attached.user_name}); detach it first.`,
        );
      }
      await tx.deleteFrom('ram_policies').where('name', '=', name).execute();
    });
  }

  async getPolicy(name: string): Promise<PolicyDetail> {
    const row = await requirePolicy(this.store.db, name);
    const users = await this.store.db
      .selectFrom('ram_attachments')
      .select('user_name')
      .where('policy_name', '=', name)
      .orderBy('user_name')
      .execute();
    return {
      policyName: row.name,
      description: row.description,
      createDate: isoSeconds(Number(row.created_at)),
      attachmentCount: users.length,
      policyDocument: row.document,
      attachedUsers: users.map((u) => u.user_name),
    };
  }

  async listPolicies(): Promise<PolicySummary[]> {
    const db = this.store.db;
    const rows = await db.selectFrom('ram_policies').select(['name', 'description', 'created_at']).orderBy('name').execute();
    const counts = await db
      .selectFrom('ram_attachments')
      .select(['policy_name', db.fn.countAll<number>().as('n')])
      .groupBy('policy_name')
      .execute();
    const countByPolicy = new Map(counts.map((c) => [c.policy_name, Number(c.n)]));
    return rows.map((r) => ({
      policyName: r.name,
      description: r.description,
      createDate: isoSeconds(Number(r.created_at)),
      attachmentCount: countByPolicy.get(r.name) ?? 0,
    }));
  }

  async attachPolicy(policyName: string, userName: string): Promise<void> {
    await this.write(async (tx) => {
      await requirePolicy(tx, policyName);
      await requireUser(tx, userName);
      if (await findAttachment(tx, policyName, userName)) {
        throw new RamError('EntityAlreadyExists.User.Policy', `The policy "${policyName}" is already attached to the user "${userName}".`);
      }
      await tx.insertInto('ram_attachments').values({ user_name: userName, policy_name: policyName }).execute();
    });
  }

  async detachPolicy(policyName: string, userName: string): Promise<void> {
    await this.write(async (tx) => {
      await requirePolicy(tx, policyName);
      await requireUser(tx, userName);
      if (!(await findAttachment(tx, policyName, userName))) {
        throw new RamError('EntityNotExist.User.Policy', `The policy "${policyName}" is not attached to the user "${userName}".`);
      }
      await tx.deleteFrom('ram_attachments').where('user_name', '=', userName).where('policy_name', '=', policyName).execute();
    });
  }

  // --- for the gateway -------------------------------------------------------------------

  /** The secret of an Active key, for signature checks; undefined for unknown or Inactive keys. */
  async lookupSecret(accessKeyId: string): Promise<string | undefined> {
    const row = await this.store.db
      .selectFrom('access_keys')
      .select('secret')
      .where('access_key_id', '=', accessKeyId)
      .where('status', '=', 'Active')
      .executeTakeFirst();
    return row?.secret;
  }

  /**
   * Who is calling and which policies apply. Undefined for unknown or Inactive keys.
   * A stored document that no longer parses (it was validated on create, so only a stricter
   * future validator could cause this) throws: failing closed beats dropping a Deny.
   */
  async resolveCaller(accessKeyId: string): Promise<Caller | undefined> {
    const found = await this.loadCaller(accessKeyId);
    if (!found) return undefined;
    const { secret: _secret, ...caller } = found;
    return caller;
  }

  /**
   * resolveCaller and lookupSecret in one go (one query for root keys, two for RAM users):
   * what a credential cache loads. Undefined for unknown or Inactive keys.
   */
  async loadCaller(accessKeyId: string): Promise<CallerWithSecret | undefined> {
    const db = this.store.db;
    const key = await db
      .selectFrom('access_keys')
      .select(['access_key_id', 'owner', 'secret'])
      .where('access_key_id', '=', accessKeyId)
      .where('status', '=', 'Active')
      .executeTakeFirst();
    if (!key) return undefined;
    if (key.owner === ROOT_OWNER) {
      return { accessKeyId: key.access_key_id, owner: ROOT_OWNER, isRoot: true, policies: [], secret: key.secret };
    }
    const rows = await db
      .selectFrom('ram_attachments')
      .innerJoin('ram_policies', 'ram_policies.name', 'ram_attachments.policy_name')
      .select(['ram_policies.name', 'ram_policies.document'])
      .where('ram_attachments.user_name', '=', key.owner)
      .orderBy('ram_policies.name')
      .execute();
    const policies = rows.map((r) => {
      try {
        return parsePolicy(r.document, r.name);
      } catch (err) {
        throw new Error(`RAM policy "${r.name}" in the store is invalid: ${(err as Error).message}`);
      }
    });
    return { accessKeyId: key.access_key_id, owner: key.owner, isRoot: false, policies, secret: key.secret };
  }
}

// --- helpers (work on a transaction or on the plain db) -------------------------------------

type Db = Transaction<Schema> | Store['db'];

function checkUserName(name: string): void {
  if (!USER_NAME.test(name)) {
    throw new RamError(
      'InvalidParameter.UserName',
      'The user name must be 1 to 64 characters: letters, digits, periods (.), underscores (_), at signs (@) and hyphens (-).',
    );
  }
  // `access_keys.owner` says `root` for the account's own keys, so no user may take that name.
  if (name === ROOT_OWNER) {
    throw new RamError('InvalidParameter.UserName', `The user name "${ROOT_OWNER}" is reserved for the account's own AccessKeys.`);
  }
}

function checkPolicyName(name: string): void {
  if (!POLICY_NAME.test(name)) {
    throw new RamError('InvalidParameter.PolicyName', 'The policy name must be 1 to 128 characters: letters, digits and hyphens (-).');
  }
}

async function findUser(db: Db, name: string) {
  return db.selectFrom('ram_users').selectAll().where('name', '=', name).executeTakeFirst();
}

async function requireUser(db: Db, name: string) {
  const row = await findUser(db, name);
  if (!row) throw new RamError('EntityNotExist.User', `The user "${name}" does not exist.`);
  return row;
}

async function findPolicy(db: Db, name: string) {
  return db.selectFrom('ram_policies').selectAll().where('name', '=', name).executeTakeFirst();
}

async function requirePolicy(db: Db, name: string) {
  const row = await findPolicy(db, name);
  if (!row) throw new RamError('EntityNotExist.Policy', `The policy "${name}" does not exist.`);
  return row;
}

async function findAttachment(db: Db, policyName: string, userName: string) {
  return db
    .selectFrom('ram_attachments')
    .select('user_name')
    .where('user_name', '=', userName)
    .where('policy_name', '=', policyName)
    .executeTakeFirst();
}

async function requireAccessKey(db: Db, accessKeyId: string) {
  const row = await db
    .selectFrom('access_keys')
    .select(['access_key_id', 'owner'])
    .where('access_key_id', '=', accessKeyId)
    .executeTakeFirst();
  if (!row) throw new RamError('EntityNotExist.User.AccessKey', `The AccessKey "${accessKeyId}" does not exist.`);
  return row;
}

async function countKeys(db: Db, owner: string): Promise<number> {
  const row = await db
    .selectFrom('access_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner', '=', owner)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Shared with the root-key bootstrap. */
export async function insertAccessKey(db: Db, key: NewAccessKey, owner: string, createdAt: number): Promise<void> {
  await db
    .insertInto('access_keys')
    .values({ access_key_id: key.accessKeyId, secret: key.secret, owner, status: 'Active', created_at: createdAt })
    .execute();
}
