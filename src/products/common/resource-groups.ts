/** Resource groups, as every product's resources carry them (ResourceGroupId). */
import { createHash } from 'node:crypto';

/** Resource group IDs as the cloud prints them: `rg-` and lower-case alphanumerics. */
export const RESOURCE_GROUP_ID = /^rg-[a-z0-9]{3,64}$/;

/**
 * Every account has a default resource group; resources created without ResourceGroupId
 * land there. Derived from the account ID so it is the same across restarts and nodes.
 */
export function defaultResourceGroupId(accountId: string): string {
  const digest = createHash('sha256').update(`resource-group:${accountId}`).digest();
  let suffix = '';
  for (let i = 0; i < 11; i++) suffix += 'abcdefghijklmnopqrstuvwxyz0123456789'[digest[i] % 36];
  return `rg-acfm${suffix}`;
}
