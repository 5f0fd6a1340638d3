/**
 * `Tag.N.Key` / `Tag.N.Value` as both products declare them: at most 20 per call, keys that
 * don't start with `aliyun` or `acs:`, no `http://` or `https://` anywhere, no key twice.
 */
import { errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import type { Tag } from './resources.js';

export interface TagLimits {
  maxKeyLength: number;
  maxValueLength: number;
  /** Values may not start with `aliyun` or `acs:` either (NLB's rule; GWLB documents it for keys only). */
  reservedValuePrefixes?: boolean;
}

export const NLB_TAG_LIMITS: TagLimits = { maxKeyLength: 64, maxValueLength: 128, reservedValuePrefixes: true };
export const GWLB_TAG_LIMITS: TagLimits = { maxKeyLength: 128, maxValueLength: 256, reservedValuePrefixes: false };

export function tagListParam(limits: TagLimits) {
  return p.list(
    p.object({
      Key: p.string({ required: true, maxLength: limits.maxKeyLength, errorName: 'TagKey' }),
      Value: p.string({ maxLength: limits.maxValueLength, errorName: 'TagValue' }),
    }),
    { maxItems: 20, errorName: 'Tag' },
  );
}

/**
 * `Tag.N` and its alias `Tags.N` (how Terraform's provider spells the list on GWLB creates; the
 * cloud takes both as one parameter).
 */
export function tagListParams(limits: TagLimits) {
  return { Tag: tagListParam(limits), Tags: tagListParam(limits) };
}

type TagInput = ReadonlyArray<{ Key: string; Value?: string }>;

/** The tags of `Tag.N` and `Tags.N` together, at most 20 as for one list. */
export function tagsSent(input: { Tag?: TagInput; Tags?: TagInput }): TagInput {
  const all = [...(input.Tag ?? []), ...(input.Tags ?? [])];
  if (all.length > 20) throw errors.illegalParamSize('Tag');
  return all;
}

const URL_SCHEME = /https?:\/\//i;

/** The rules a declaration cannot state: prefixes, URLs, duplicates. Returns tags with values filled. */
export function checkTags(
  tags: ReadonlyArray<{ Key: string; Value?: string }> | undefined,
  limits: Pick<TagLimits, 'reservedValuePrefixes'> = NLB_TAG_LIMITS,
): Tag[] {
  const seen = new Set<string>();
  const out: Tag[] = [];
  for (const tag of tags ?? []) {
    if (/^(aliyun|acs:)/i.test(tag.Key) || URL_SCHEME.test(tag.Key)) throw errors.illegalParam('TagKey');
    const reservedValue = limits.reservedValuePrefixes !== false && /^(aliyun|acs:)/i.test(tag.Value ?? '');
    if (tag.Value !== undefined && (reservedValue || URL_SCHEME.test(tag.Value))) {
      throw errors.illegalParam('TagValue');
    }
    if (seen.has(tag.Key)) throw errors.duplicatedParam('TagKey');
    seen.add(tag.Key);
    out.push({ Key: tag.Key, Value: tag.Value ?? '' });
  }
  return out;
}
