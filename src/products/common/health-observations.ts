/**
 * Backend health as the data plane observed it, read back for the API: one verdict per backend
 * from the live nodes' `observations` rows (see `healthObservationKey`), combined the way one
 * load balancer would present them. NLB's GetListenerHealthStatus and GWLB's
 * ListListenerHealthStatus both read it.
 */
import type { ActionContext } from '../../gateway/action.js';
import { machineOf } from '../../domain/node-identity.js';
import { HEALTHY, UNHEALTHY } from '../../domain/observations.js';

export interface Observed {
  state: string;
  reason: string | null;
}

export async function latestHealth(ctx: ActionContext, keys: string[]): Promise<Map<string, Observed>> {
  const out = new Map<string, Observed>();
  if (keys.length === 0) return out;
  const liveSince = ctx.clock.now() - ctx.config.jobs.nodeTimeoutMs;
  const rows = await ctx.db
    .selectFrom('observations')
    .innerJoin('nodes', 'nodes.node_id', 'observations.node_id')
    .select(['observations.node_id', 'observations.object_id', 'observations.state', 'observations.reason', 'observations.updated_at'])
    .where('nodes.heartbeat_at', '>=', liveSince)
    .where('observations.object_id', 'in', keys)
    .orderBy('observations.updated_at')
    .execute();
  const byKey = new Map<string, NodeVerdict[]>();
  for (const row of rows) {
    let list = byKey.get(row.object_id);
    if (!list) byKey.set(row.object_id, (list = []));
    list.push({ nodeId: row.node_id, state: row.state, reason: row.reason });
  }
  for (const [key, verdicts] of byKey) out.set(key, combineVerdicts(verdicts));
  return out;
}

export interface NodeVerdict extends Observed {
  nodeId: string;
}

/**
 * One verdict from the live nodes' rows about one backend, oldest first. A machine's workers
 * count once (its newest row). Unhealthy when more than half of the machines that reached a
 * verdict say unhealthy, with the ReasonCode most of them give; healthy otherwise; with no
 * verdict yet, the newest non-verdict row (so the backend reads as Initial).
 */
export function combineVerdicts(rows: NodeVerdict[]): Observed {
  const byMachine = new Map<string, Observed>();
  for (const r of rows) byMachine.set(machineOf(r.nodeId), { state: r.state, reason: r.reason });
  const verdicts = [...byMachine.values()].filter((v) => v.state === HEALTHY || v.state === UNHEALTHY);
  if (verdicts.length === 0) {
    const newest = rows[rows.length - 1];
    return { state: newest.state, reason: newest.reason };
  }
  const unhealthy = verdicts.filter((v) => v.state === UNHEALTHY);
  if (unhealthy.length * 2 <= verdicts.length) return { state: HEALTHY, reason: null };
  const reasons = new Map<string, number>();
  for (const v of unhealthy) if (v.reason) reasons.set(v.reason, (reasons.get(v.reason) ?? 0) + 1);
  const reason = [...reasons].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  return { state: UNHEALTHY, reason };
}
