/**
 * `--pager`: walk every page of a `List*` action (NextToken/MaxResults) and answer one reply
 * with the lists of all pages concatenated, as the aliyun CLI's pager does. Bounded: a server
 * that keeps handing out tokens stops the walk after MAX_PAGES.
 */
import type { ActionDef } from '../gateway/action.js';
import type { IntegerSpec } from '../gateway/params/spec.js';

type Json = Record<string, unknown>;

export const MAX_PAGES = 10_000;

export function isPaged(action: ActionDef): boolean {
  return 'NextToken' in action.params && 'MaxResults' in action.params;
}

/** The largest page the action allows, to make the fewest calls. */
export function largestPage(action: ActionDef): string {
  const spec = action.params.MaxResults as IntegerSpec;
  return String(spec.max ?? 100);
}

export async function allPages(
  action: ActionDef,
  params: Record<string, string>,
  call: (params: Record<string, string>) => Promise<Json>,
): Promise<Json> {
  const request: Record<string, string> = { MaxResults: largestPage(action), ...params };
  let merged: Json | undefined;
  let next: unknown;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await call(request);
    if (!merged) {
      merged = { ...body };
    } else {
      for (const [key, value] of Object.entries(body)) {
        if (Array.isArray(value) && Array.isArray(merged[key])) merged[key] = [...(merged[key] as unknown[]), ...value];
      }
      merged.RequestId = body.RequestId;
    }
    next = body.NextToken;
    if (typeof next !== 'string' || next === '') break;
    request.NextToken = next;
  }
  // Empty once every page is in; the token to go on with if the walk hit MAX_PAGES.
  merged!.NextToken = typeof next === 'string' ? next : '';
  return merged!;
}
