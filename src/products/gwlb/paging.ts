/**
 * GWLB list paging (gwlb-api §1.6): MaxResults 1–1000 (default 20), an opaque NextToken, and
 * Skip. Skip drops that many matches before paging and NextToken pages through what is left,
 * so a client that repeats its filters (Skip included) with each NextToken walks one
 * consistent list. TotalCount counts every match, skipped or not.
 */
import { p } from '../../gateway/params/spec.js';
import { paginate } from '../common/resources.js';

export const pagingParams = {
  MaxResults: p.integer({ min: 1, max: 1000, default: 20 }),
  NextToken: p.string({ maxLength: 1024 }),
  Skip: p.integer({ min: 0, max: 1_000_000_000 }),
};

export interface PagingInput {
  MaxResults: number;
  NextToken?: string;
  Skip?: number;
}

export function pageOf<T>(items: T[], input: PagingInput): { page: T[]; NextToken: string; MaxResults: number; TotalCount: number } {
  const { page, nextToken } = paginate(items.slice(input.Skip ?? 0), input.MaxResults, input.NextToken);
  return { page, NextToken: nextToken, MaxResults: input.MaxResults, TotalCount: items.length };
}
