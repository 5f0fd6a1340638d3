/**
 * ClientToken: the same token from the same caller for the same action replays the first
 * reply; the same token with different parameters is refused. Records are written in the
 * mutation's own transaction, so a reply is recorded exactly when its change is committed.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Schema } from '../store/schema.js';
import { errors } from './errors.js';

export class ReplayedReply extends Error {
  constructor(readonly body: Record<string, unknown>) {
    super('replayed reply');
  }
}

export function tokenKey(owner: string, product: string, action: string, token: string): string {
  return `${owner}\u0000${product}\u0000${action}\u0000${token}`;
}

/** Hash of the decoded input, independent of key order and of where each parameter was sent. */
export function paramsHash(input: unknown): string {
  return createHash('sha256').update(stableJson(input)).digest('hex');
}

function stableJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Throws ReplayedReply or IdempotenceSignatureMismatch when the token was used before. */
export async function checkToken(tx: Transaction<Schema>, key: string, hash: string): Promise<void> {
  const row = await tx.selectFrom('idempotency').selectAll().where('token_key', '=', key).executeTakeFirst();
  if (!row) return;
  if (row.params_hash !== hash) throw errors.idempotenceMismatch();
  throw new ReplayedReply(JSON.parse(row.response));
}

export async function recordToken(
  tx: Transaction<Schema>,
  key: string,
  hash: string,
  body: Record<string, unknown>,
  now: number,
): Promise<void> {
  await tx
    .insertInto('idempotency')
    .values({ token_key: key, params_hash: hash, status_code: 200, response: JSON.stringify(body), created_at: now })
    .execute();
}
