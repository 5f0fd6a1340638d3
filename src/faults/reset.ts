/**
 * `openslb reset`: the store back to a fresh state for the next test case — every resource,
 * tag, job, ClientToken record, observation and fault rule goes, in one transaction that bumps
 * the revision, so the data plane closes every listener it held. Accounts (root keys, RAM
 * users, their keys and policies) stay unless asked for; root keys always stay, or nobody
 * could call the API afterwards. The revision keeps counting up: nodes only follow forward.
 */
import { noteRamChange } from '../accounts/ram-generation.js';
import { ROOT_OWNER } from '../accounts/ram-service.js';
import { noteFaultRulesChange } from '../store/fault-rules.js';
import type { Store } from '../store/types.js';

export interface ResetOptions {
  /** Also delete RAM users, their AccessKeys, policies and attachments. */
  accounts?: boolean;
}

export interface ResetResult {
  revision: number;
  deleted: Record<string, number>;
}

export async function resetStore(store: Store, opts: ResetOptions = {}): Promise<ResetResult> {
  const { result, revision } = await store.mutate(async (tx) => {
    const deleted: Record<string, number> = {};
    const wipe = async (
      table:
        'tags' | 'resources' | 'jobs' | 'idempotency' | 'observations' | 'fault_rules' | 'ram_attachments' | 'ram_policies' | 'ram_users',
    ) => {
      deleted[table] = Number((await tx.deleteFrom(table).executeTakeFirst()).numDeletedRows);
    };
    for (const table of ['tags', 'resources', 'jobs', 'idempotency', 'observations', 'fault_rules'] as const) await wipe(table);
    if (opts.accounts) {
      for (const table of ['ram_attachments', 'ram_policies', 'ram_users'] as const) await wipe(table);
      const keys = await tx.deleteFrom('access_keys').where('owner', '!=', ROOT_OWNER).executeTakeFirst();
      deleted.access_keys = Number(keys.numDeletedRows);
    }
    return deleted;
  });
  noteFaultRulesChange(store);
  if (opts.accounts) noteRamChange(store);
  return { revision, deleted: result };
}

/**
 * Waits until every live data-plane node has applied `revision` (so the listeners a reset
 * removed are closed), polling the node table; false when timeoutMs passes first. With no
 * live node there is nothing to wait for.
 */
export async function waitForDataPlane(
  store: Store,
  revision: number,
  opts: { now: () => number; nodeTimeoutMs: number; timeoutMs: number; pollMs?: number },
): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const nodes = await store.db
      .selectFrom('nodes')
      .select(['applied_revision'])
      .where('heartbeat_at', '>=', opts.now() - opts.nodeTimeoutMs)
      .execute();
    if (nodes.every((n) => Number(n.applied_revision) >= revision)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 20));
  }
}
