/**
 * Whether the signed-in key may change anything, so the console can offer read-only pages to a
 * read-only user. Only a hint for the page: every change still goes through the gateway, which
 * decides with the resources at hand (a user allowed to change one load balancer sees the
 * forms and is refused elsewhere with the gateway's own Forbidden.NoPermission).
 */
import type { ParsedPolicy } from '../gateway/ram/policy.js';
import { actionMatches } from '../gateway/ram/policy.js';

export function mayWrite(isRoot: boolean, policies: readonly ParsedPolicy[], product: string, writeActions: readonly string[]): boolean {
  if (isRoot) return true;
  return writeActions.some((action) => {
    const full = `${product}:${action}`;
    let allowed = false;
    for (const policy of policies) {
      for (const s of policy.statements) {
        if (!s.actions.some((pattern) => actionMatches(pattern, full))) continue;
        // A Deny on every resource settles it; a narrower Deny leaves other resources open.
        if (s.effect === 'Deny' && s.resources.includes('*')) return false;
        if (s.effect === 'Allow') allowed = true;
      }
    }
    return allowed;
  });
}
