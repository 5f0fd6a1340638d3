/** Fault rules in the store: every API and data-plane process sharing the store sees the same rules. */
import type { Kysely } from 'kysely';
import type { FaultRule, FaultRuleSpec } from '../domain/fault-rules.js';
import { newResourceId } from '../util/ids.js';
import type { Schema } from './schema.js';
import type { Store } from './types.js';

const generations = new WeakMap<Store, number>();

/**
 * Moves whenever this process changes the rules of `store`, so its own caches see the change
 * on the next call; other processes' changes are seen when a cache's entry expires.
 */
export function faultRulesGeneration(store: Store): number {
  return generations.get(store) ?? 0;
}

export function noteFaultRulesChange(store: Store): void {
  generations.set(store, faultRulesGeneration(store) + 1);
}

export async function addFaultRule(store: Store, spec: FaultRuleSpec, now: number): Promise<FaultRule> {
  const rule: FaultRule = { id: newResourceId('fault', 12), createdAt: now, fired: 0, ...spec };
  if (spec.count !== undefined) rule.remaining = spec.count;
  await store.transact((tx) =>
    tx
      .insertInto('fault_rules')
      .values({ id: rule.id, spec: JSON.stringify(spec), remaining: rule.remaining ?? null, fired: 0, created_at: now })
      .execute(),
  );
  noteFaultRulesChange(store);
  return rule;
}

/** Every rule, oldest first (the order in which they are applied). */
export async function listFaultRules(db: Kysely<Schema>): Promise<FaultRule[]> {
  const rows = await db.selectFrom('fault_rules').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => {
    const rule: FaultRule = {
      id: row.id,
      createdAt: Number(row.created_at),
      fired: Number(row.fired),
      ...(JSON.parse(row.spec) as FaultRuleSpec),
    };
    if (row.remaining !== null) rule.remaining = Number(row.remaining);
    return rule;
  });
}

export async function removeFaultRule(store: Store, id: string): Promise<boolean> {
  const res = await store.transact((tx) => tx.deleteFrom('fault_rules').where('id', '=', id).executeTakeFirst());
  noteFaultRulesChange(store);
  return Number(res.numDeletedRows) > 0;
}

export async function clearFaultRules(store: Store): Promise<number> {
  const res = await store.transact((tx) => tx.deleteFrom('fault_rules').executeTakeFirst());
  noteFaultRulesChange(store);
  return Number(res.numDeletedRows);
}

/**
 * Records one firing. A counted rule fires only while it has firings left, decided by one
 * conditional UPDATE, so processes sharing the store never fire it more than `count` times in
 * total. False when the rule is used up or was removed meanwhile.
 */
export async function claimFiring(db: Kysely<Schema>, rule: Pick<FaultRule, 'id' | 'remaining'>): Promise<boolean> {
  let query = db
    .updateTable('fault_rules')
    .set((eb) => ({ fired: eb('fired', '+', 1) }))
    .where('id', '=', rule.id);
  if (rule.remaining !== undefined) {
    query = query.set((eb) => ({ remaining: eb('remaining', '-', 1) })).where('remaining', '>', 0);
  }
  const res = await query.executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
