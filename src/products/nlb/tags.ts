/**
 * TagResources, UntagResources, ListTagResources and MoveResourceGroup for NLB: which families
 * callers may tag, and the NLB replies. The bookkeeping itself is common/tagging.ts, which GWLB
 * shares.
 */
import { defineAction } from '../../gateway/action.js';
import { p } from '../../gateway/params/spec.js';
import { checkTags, NLB_TAG_LIMITS, tagListParam, type TagLimits } from '../common/tag-params.js';
import { aliUid } from '../common/ali-uid.js';
import { paginate } from '../common/resources.js';
import { moveResourceGroup, tagBindings, tagResources, untagResources, type TaggableFamilies } from '../common/tagging.js';

// --- taggable resource types -------------------------------------------------------------

const NLB_TAGGABLE: TaggableFamilies = {
  product: 'nlb',
  types: {
    loadbalancer: { kind: 'loadbalancer', notFound: 'loadBalancer', movable: true },
    servergroup: { kind: 'servergroup', notFound: 'serverGroup', movable: true },
    securitypolicy: { kind: 'securitypolicy', notFound: 'securitypolicy', movable: true },
    listener: { kind: 'listener', notFound: 'listener', movable: false },
  },
};

const resourceTypeParam = p.string({ required: true, maxLength: 64 });
const resourceIds = p.list(p.string({ maxLength: 128 }), { required: true, maxItems: 50, errorName: 'ResourceId' });
const resourceIdFilter = p.list(p.string({ maxLength: 128 }), { maxItems: 50, errorName: 'ResourceId' });

/** ListTagResources documents keys up to 128 characters, unlike the 64 of Tag.N elsewhere. */
const LIST_TAG_LIMITS: TagLimits = { maxKeyLength: 128, maxValueLength: 128 };

export const tagActions = [
  defineAction({
    name: 'TagResources',
    mode: 'write',
    clientToken: true,
    dryRun: true,
    params: {
      ResourceType: resourceTypeParam,
      ResourceId: resourceIds,
      Tag: { ...tagListParam(NLB_TAG_LIMITS), required: true as const },
    },
    authResources: (input) => input.ResourceId.map((id) => [input.ResourceType, id] as const),
    handler: async (input, ctx) => {
      const tags = checkTags(input.Tag);
      await tagResources(ctx, NLB_TAGGABLE, input.ResourceType, input.ResourceId, tags);
      return {};
    },
  }),
  defineAction({
    name: 'UntagResources',
    mode: 'write',
    clientToken: true,
    dryRun: true,
    params: {
      ResourceType: resourceTypeParam,
      ResourceId: resourceIds,
      TagKey: p.list(p.string({ maxLength: 128 }), { maxItems: 20, errorName: 'TagKey' }),
      All: p.boolean({ default: false }),
    },
    authResources: (input) => input.ResourceId.map((id) => [input.ResourceType, id] as const),
    handler: async (input, ctx) => {
      // Without TagKey the cloud removes every tag, exactly as All=true does.
      const keys = input.All || !input.TagKey || input.TagKey.length === 0 ? undefined : input.TagKey;
      await untagResources(ctx, NLB_TAGGABLE, input.ResourceType, input.ResourceId, keys);
      return {};
    },
  }),
  defineAction({
    name: 'ListTagResources',
    mode: 'read',
    params: {
      ResourceType: resourceTypeParam,
      ResourceId: resourceIdFilter,
      Tag: tagListParam(LIST_TAG_LIMITS),
      MaxResults: p.integer({ min: 1, max: 50, default: 50 }),
      NextToken: p.string({ maxLength: 512 }),
    },
    handler: async (input, ctx) => {
      const wanted = checkTags(input.Tag).map((t, i) => ({ Key: t.Key, Value: input.Tag?.[i]?.Value }));
      const bindings = await tagBindings(ctx, NLB_TAGGABLE, input.ResourceType, input.ResourceId, wanted);
      const uid = aliUid(ctx.accountId);
      const pairs = bindings.map((b) => ({
        ResourceId: b.ResourceId,
        ResourceType: input.ResourceType,
        RegionNo: ctx.region.id,
        TagKey: b.TagKey,
        TagValue: b.TagValue,
        Category: 'Custom',
        Scope: 'public',
        ...(uid !== undefined ? { AliUid: uid } : {}),
      }));
      const { page, nextToken, totalCount } = paginate(pairs, input.MaxResults, input.NextToken);
      return { TagResources: page, NextToken: nextToken, MaxResults: input.MaxResults, TotalCount: totalCount };
    },
  }),
  defineAction({
    name: 'MoveResourceGroup',
    mode: 'write',
    params: {
      ResourceType: resourceTypeParam,
      ResourceId: p.string({ required: true, maxLength: 128 }),
      NewResourceGroupId: p.string({ required: true, maxLength: 128 }),
    },
    authResources: (input) => [[input.ResourceType, input.ResourceId]],
    handler: async (input, ctx) => {
      await moveResourceGroup(ctx, NLB_TAGGABLE, input.ResourceType, input.ResourceId, input.NewResourceGroupId);
      return { Success: true, HttpStatusCode: 200, Data: { ResourceId: input.ResourceId } };
    },
  }),
];
