/**
 * GWLB TagResources, UntagResources, ListTagResources and MoveResourceGroup. The bookkeeping is
 * NLB's (nlb/tags.ts) over GWLB's own families; what differs is declared here: GWLB's tag
 * lengths, the 404 spellings, the 1–1000 page size and the replies' shapes.
 */
import { defineAction } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { checkTags, GWLB_TAG_LIMITS, tagListParam } from '../common/tag-params.js';
import { paginate } from '../common/resources.js';
import { defaultResourceGroupId, RESOURCE_GROUP_ID } from '../common/resource-groups.js';
import { moveResourceGroup, tagBindings, tagResources, untagResources, type TaggableFamilies } from '../common/tagging.js';
import { LB_KIND, LISTENER_KIND, PRODUCT, SERVER_GROUP_KIND } from './lookups.js';

const GWLB_TAGGABLE: TaggableFamilies = {
  product: PRODUCT,
  types: {
    [LB_KIND]: { kind: LB_KIND, notFound: 'LoadBalancer', movable: true },
    [LISTENER_KIND]: { kind: LISTENER_KIND, notFound: 'Listener', movable: false },
    [SERVER_GROUP_KIND]: { kind: SERVER_GROUP_KIND, notFound: 'ServerGroup', movable: true },
  },
};

/** The resource group a new instance or server group joins: the named one, or the account's default. */
export function resourceGroupOrDefault(requested: string | undefined, accountId: string): string {
  const id = requested ?? defaultResourceGroupId(accountId);
  // OpenSLB keeps no directory of resource groups; any well-formed ID names one.
  if (!RESOURCE_GROUP_ID.test(id)) {
    throw new ApiError('ResourceNotFound.ResourceGroup', `The specified resource of ResourceGroup [${id}] is not found.`, 404);
  }
  return id;
}

const resourceType = p.string({ required: true, enum: [LB_KIND, LISTENER_KIND, SERVER_GROUP_KIND] });
const resourceIds = p.list(p.string({ maxLength: 128 }), { required: true, maxItems: 50, errorName: 'ResourceId' });

/** TagResources needs both halves of every tag (gwlb-api §3.21). */
const fullTags = p.list(
  p.object({
    Key: p.string({ required: true, maxLength: GWLB_TAG_LIMITS.maxKeyLength, errorName: 'TagKey' }),
    Value: p.string({ required: true, maxLength: GWLB_TAG_LIMITS.maxValueLength, errorName: 'TagValue' }),
  }),
  { required: true, maxItems: 20, errorName: 'Tag' },
);

const tagResourcesAction = defineAction({
  name: 'TagResources',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ResourceType: resourceType, ResourceId: resourceIds, Tag: fullTags },
  authResources: (input) => input.ResourceId.map((id) => [input.ResourceType, id] as const),
  handler: async (input, ctx) => {
    await tagResources(ctx, GWLB_TAGGABLE, input.ResourceType, input.ResourceId, checkTags(input.Tag, GWLB_TAG_LIMITS));
    return {};
  },
});

const untagResourcesAction = defineAction({
  name: 'UntagResources',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ResourceType: resourceType,
    ResourceId: resourceIds,
    TagKey: p.list(p.string({ maxLength: GWLB_TAG_LIMITS.maxKeyLength }), { maxItems: 20, errorName: 'TagKey' }),
    All: p.boolean({ default: false }),
  },
  authResources: (input) => input.ResourceId.map((id) => [input.ResourceType, id] as const),
  handler: async (input, ctx) => {
    // TagKey wins over All; with neither, GWLB documents "does not remove all tags", so the
    // call names nothing to remove rather than silently removing everything.
    const keys = input.TagKey?.length ? input.TagKey : undefined;
    if (!keys && !input.All) throw errors.missingParam('TagKey');
    await untagResources(ctx, GWLB_TAGGABLE, input.ResourceType, input.ResourceId, keys);
    return {};
  },
});

const listTagResourcesAction = defineAction({
  name: 'ListTagResources',
  mode: 'read',
  params: {
    ResourceType: resourceType,
    ResourceId: p.list(p.string({ maxLength: 128 }), { maxItems: 50, errorName: 'ResourceId' }),
    Tag: tagListParam(GWLB_TAG_LIMITS),
    MaxResults: p.integer({ min: 1, max: 1000, default: 20 }),
    NextToken: p.string({ maxLength: 1024 }),
  },
  handler: async (input, ctx) => {
    const wanted = checkTags(input.Tag, GWLB_TAG_LIMITS).map((t, i) => ({ Key: t.Key, Value: input.Tag?.[i]?.Value }));
    const bindings = await tagBindings(ctx, GWLB_TAGGABLE, input.ResourceType, input.ResourceId, wanted);
    const rows = bindings.map((b) => ({
      ResourceId: b.ResourceId,
      ResourceType: input.ResourceType,
      TagKey: b.TagKey,
      TagValue: b.TagValue,
    }));
    const { page, nextToken } = paginate(rows, input.MaxResults, input.NextToken);
    // GWLB's reply has no MaxResults or TotalCount.
    return { TagResources: page, NextToken: nextToken };
  },
});

const moveResourceGroupAction = defineAction({
  name: 'MoveResourceGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    // Listeners have no resource group.
    ResourceType: p.string({ required: true, enum: [LB_KIND, SERVER_GROUP_KIND] }),
    ResourceId: p.string({ required: true, maxLength: 128 }),
    NewResourceGroupId: p.string({ required: true, maxLength: 128 }),
  },
  authResources: (input) => [[input.ResourceType, input.ResourceId]],
  handler: async (input, ctx) => {
    await moveResourceGroup(ctx, GWLB_TAGGABLE, input.ResourceType, input.ResourceId, input.NewResourceGroupId);
    return {};
  },
});

export const tagActions = [tagResourcesAction, untagResourcesAction, listTagResourcesAction, moveResourceGroupAction];
