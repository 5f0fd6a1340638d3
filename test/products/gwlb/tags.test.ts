/**
 * GWLB TagResources, UntagResources, ListTagResources and MoveResourceGroup through the official
 * client, parameters in the body as the generated GWLB client places them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../support/server.js';
import { createListener, createLoadBalancer, createServerGroup, failure, gwlb, until } from './support.js';

let server: TestServer;
let lb: string;
let lb2: string;
let listener: string;
let sg: string;

before(async () => {
  server = await startTestServer({
    configure: (c) => {
      // Own VIP pools: a Running GWLB listener holds UDP 6081 on its VIPs.
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = '127.0.41.0/24';
      b.vipPool = '127.0.42.0/24';
    },
  });
  lb = await createLoadBalancer(server);
  lb2 = await createLoadBalancer(server);
  sg = await createServerGroup(server);
  listener = await createListener(server, { LoadBalancerId: lb, ServerGroupId: sg });
});
after(() => server?.stop());

const call = (action: string, params: Record<string, unknown> = {}) => gwlb(server, action, params);
const fails = (action: string, params: Record<string, unknown> = {}) => failure(server, action, params);

const lbTags = async (id: string) => (await call('GetLoadBalancerAttribute', { LoadBalancerId: id })).Tags;
const listenerTags = async (id: string) => (await call('GetListenerAttribute', { ListenerId: id })).Tags;
const groupTags = async (id: string) => (await call('ListServerGroups', { ServerGroupIds: [id] })).ServerGroups[0].Tags;
const sorted = (tags: Array<{ Key: string; Value: string }>) => [...tags].sort((x, y) => x.Key.localeCompare(y.Key));

describe('TagResources', () => {
  test('tags instances, listeners and server groups; a key they already have takes the new value', async () => {
    const reply = await call('TagResources', {
      ResourceType: 'loadbalancer',
      ResourceId: [lb, lb2],
      Tag: [
        { Key: 'team', Value: 'sec' },
        { Key: 'tier', Value: 'edge' },
      ],
    });
    assert.deepEqual(Object.keys(reply), ['RequestId']);
    assert.deepEqual(sorted(await lbTags(lb)), [
      { Key: 'team', Value: 'sec' },
      { Key: 'tier', Value: 'edge' },
    ]);
    assert.deepEqual(sorted(await lbTags(lb2)), sorted(await lbTags(lb)));

    await call('TagResources', { ResourceType: 'loadbalancer', ResourceId: [lb2], Tag: [{ Key: 'tier', Value: 'core' }] });
    assert.deepEqual(sorted(await lbTags(lb2)), [
      { Key: 'team', Value: 'sec' },
      { Key: 'tier', Value: 'core' },
    ]);

    await call('TagResources', { ResourceType: 'listener', ResourceId: [listener], Tag: [{ Key: 'role', Value: 'inspect' }] });
    assert.deepEqual(await listenerTags(listener), [{ Key: 'role', Value: 'inspect' }]);
    await call('TagResources', { ResourceType: 'servergroup', ResourceId: [sg], Tag: [{ Key: 'fleet', Value: 'fw' }] });
    assert.deepEqual(await groupTags(sg), [{ Key: 'fleet', Value: 'fw' }]);

    // GWLB reserves the `aliyun` and `acs:` prefixes for keys only; a value may start with them.
    await call('TagResources', {
      ResourceType: 'servergroup',
      ResourceId: [sg],
      Tag: [
        { Key: 'owner', Value: 'aliyun-team' },
        { Key: 'ref', Value: 'acs:ram' },
      ],
    });
    assert.deepEqual(
      (await groupTags(sg)).filter((t: any) => t.Key === 'owner' || t.Key === 'ref'),
      [
        { Key: 'owner', Value: 'aliyun-team' },
        { Key: 'ref', Value: 'acs:ram' },
      ],
    );
    const viaCreate = await createServerGroup(server, { Tag: [{ Key: 'owner', Value: 'aliyun-team' }] });
    assert.deepEqual(await groupTags(viaCreate), [{ Key: 'owner', Value: 'aliyun-team' }]);

    // The documented maxima are accepted.
    await call('TagResources', { ResourceType: 'servergroup', ResourceId: [sg], Tag: [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }] });
    assert.equal((await groupTags(sg)).find((t: any) => t.Key === 'k'.repeat(128)).Value.length, 256);
  });

  test('tag key and value rules and limits are refused with the documented codes, tagging nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [[{ Value: 'v' }], 'MissingParam.TagKey'],
      [[{ Key: '', Value: 'v' }], 'MissingParam.TagKey'],
      [[{ Key: 'k' }], 'MissingParam.TagValue'],
      [[{ Key: 'aliyun-k', Value: 'v' }], 'IllegalParam.TagKey'],
      [[{ Key: 'acs:k', Value: 'v' }], 'IllegalParam.TagKey'],
      [[{ Key: 'see https://x', Value: 'v' }], 'IllegalParam.TagKey'],
      [[{ Key: 'k'.repeat(129), Value: 'v' }], 'IllegalParam.TagKey'],
      [[{ Key: 'k', Value: 'http://x' }], 'IllegalParam.TagValue'],
      [[{ Key: 'k', Value: 'v'.repeat(257) }], 'IllegalParam.TagValue'],
      [
        [
          { Key: 'k', Value: 'a' },
          { Key: 'k', Value: 'b' },
        ],
        'DuplicatedParam.TagKey',
      ],
      [Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })), 'IllegalParamSize.Tag'],
    ];
    for (const [tags, code] of cases) {
      const e = await fails('TagResources', { ResourceType: 'loadbalancer', ResourceId: [lb2], Tag: tags });
      assert.deepEqual([e.code, e.status], [code, 400], JSON.stringify(tags).slice(0, 80));
    }
    assert.equal((await fails('TagResources', { ResourceType: 'loadbalancer', ResourceId: [lb2] })).code, 'MissingParam.Tag');
    assert.ok(!(await lbTags(lb2)).some((t: any) => t.Key === 'k' || t.Key.startsWith('k0')));
  });

  test('resource type and IDs: missing, unknown type, too many IDs, unknown IDs (404), and DryRun', async () => {
    const tag = [{ Key: 'x', Value: 'y' }];
    assert.equal((await fails('TagResources', { ResourceId: [lb], Tag: tag })).code, 'MissingParam.ResourceType');
    for (const type of ['securitypolicy', 'LoadBalancerX', 'acl']) {
      assert.equal(
        (await fails('TagResources', { ResourceType: type, ResourceId: [lb], Tag: tag })).code,
        'IllegalParam.ResourceType',
        type,
      );
    }
    assert.equal((await fails('TagResources', { ResourceType: 'loadbalancer', Tag: tag })).code, 'MissingParam.ResourceId');
    const tooMany = Array.from({ length: 51 }, (_, i) => `gwlb-${i}`);
    assert.equal(
      (await fails('TagResources', { ResourceType: 'loadbalancer', ResourceId: tooMany, Tag: tag })).code,
      'IllegalParamSize.ResourceId',
    );

    for (const [type, id, code] of [
      ['loadbalancer', 'gwlb-missing', 'ResourceNotFound.LoadBalancer'],
      ['listener', 'lsn-missing', 'ResourceNotFound.Listener'],
      ['servergroup', 'sgp-missing', 'ResourceNotFound.ServerGroup'],
      // An existing ID of another type is not found under this one.
      ['servergroup', lb, 'ResourceNotFound.ServerGroup'],
    ]) {
      const e = await fails('TagResources', { ResourceType: type, ResourceId: [id], Tag: tag });
      assert.deepEqual([e.code, e.status], [code, 404], `${type} ${id}`);
    }
    // One unknown ID refuses the whole call: the known one is not tagged either.
    assert.equal(
      (await fails('TagResources', { ResourceType: 'loadbalancer', ResourceId: [lb2, 'gwlb-missing'], Tag: tag })).code,
      'ResourceNotFound.LoadBalancer',
    );
    assert.ok(!(await lbTags(lb2)).some((t: any) => t.Key === 'x'));

    const dry = await fails('TagResources', { ResourceType: 'loadbalancer', ResourceId: [lb2], Tag: tag, DryRun: true });
    assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 400]);
    assert.ok(!(await lbTags(lb2)).some((t: any) => t.Key === 'x'));
  });
});

describe('UntagResources', () => {
  test('removes the named keys, leaves the others; unknown keys are no error', async () => {
    const id = await createServerGroup(server, {
      Tag: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
        { Key: 'c', Value: '3' },
      ],
    });
    await call('UntagResources', { ResourceType: 'servergroup', ResourceId: [id], TagKey: ['a', 'c', 'never-set'] });
    assert.deepEqual(await groupTags(id), [{ Key: 'b', Value: '2' }]);
  });

  test('All=true removes every tag; TagKey wins over All; neither is MissingParam.TagKey', async () => {
    const one = await createServerGroup(server, {
      Tag: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
      ],
    });
    const two = await createServerGroup(server, {
      Tag: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
      ],
    });
    await call('UntagResources', { ResourceType: 'servergroup', ResourceId: [one], TagKey: ['a'], All: true });
    assert.deepEqual(await groupTags(one), [{ Key: 'b', Value: '2' }]);
    const e = await fails('UntagResources', { ResourceType: 'servergroup', ResourceId: [two] });
    assert.equal(e.code, 'MissingParam.TagKey');
    assert.equal((await groupTags(two)).length, 2);
    await call('UntagResources', { ResourceType: 'servergroup', ResourceId: [one, two], All: true });
    assert.deepEqual(await groupTags(one), []);
    assert.deepEqual(await groupTags(two), []);
  });

  test('listener tags, DryRun, and the documented errors', async () => {
    await call('TagResources', { ResourceType: 'listener', ResourceId: [listener], Tag: [{ Key: 'drop-me', Value: 'x' }] });
    const dry = await fails('UntagResources', { ResourceType: 'listener', ResourceId: [listener], TagKey: ['drop-me'], DryRun: true });
    assert.equal(dry.code, 'DryRunOperation');
    assert.ok((await listenerTags(listener)).some((t: any) => t.Key === 'drop-me'));
    await call('UntagResources', { ResourceType: 'listener', ResourceId: [listener], TagKey: ['drop-me'] });
    assert.ok(!(await listenerTags(listener)).some((t: any) => t.Key === 'drop-me'));

    const cases: Array<[Record<string, unknown>, string, number]> = [
      [{ ResourceId: [lb], All: true }, 'MissingParam.ResourceType', 400],
      [{ ResourceType: 'vpc', ResourceId: [lb], All: true }, 'IllegalParam.ResourceType', 400],
      [{ ResourceType: 'loadbalancer', All: true }, 'MissingParam.ResourceId', 400],
      [
        { ResourceType: 'loadbalancer', ResourceId: [lb], TagKey: Array.from({ length: 21 }, (_, i) => `k${i}`) },
        'IllegalParamSize.TagKey',
        400,
      ],
      [{ ResourceType: 'loadbalancer', ResourceId: [lb], TagKey: ['k'.repeat(129)] }, 'IllegalParam.TagKey', 400],
      [{ ResourceType: 'loadbalancer', ResourceId: ['gwlb-missing'], All: true }, 'ResourceNotFound.LoadBalancer', 404],
      [{ ResourceType: 'listener', ResourceId: ['lsn-missing'], All: true }, 'ResourceNotFound.Listener', 404],
    ];
    for (const [params, code, status] of cases) {
      const e = await fails('UntagResources', params);
      assert.deepEqual([e.code, e.status], [code, status], JSON.stringify(params).slice(0, 100));
    }
  });
});

describe('ListTagResources', () => {
  test('one row per binding; filters by resource ID and by tag key or key and value; pages with NextToken', async () => {
    const s = await startTestServer();
    try {
      const ids = [];
      for (const env of ['prod', 'dev', 'prod'])
        ids.push(
          await createServerGroup(s, {
            Tag: [
              { Key: 'env', Value: env },
              { Key: 'owner', Value: 'net' },
            ],
          }),
        );
      await createServerGroup(s); // untagged: never listed
      const list = (params: Record<string, unknown>) => gwlb(s, 'ListTagResources', { ResourceType: 'servergroup', ...params });

      const all = await list({});
      assert.equal(all.TagResources.length, 6);
      assert.equal(all.NextToken, '');
      assert.equal(all.TotalCount, undefined, 'GWLB documents no TotalCount here');
      assert.deepEqual(all.TagResources[0], { ResourceId: ids[0], ResourceType: 'servergroup', TagKey: 'env', TagValue: 'prod' });
      assert.deepEqual(new Set(all.TagResources.map((r: any) => r.ResourceId)), new Set(ids));

      const byId = await list({ ResourceId: [ids[1]] });
      assert.deepEqual(byId.TagResources.map((r: any) => `${r.TagKey}=${r.TagValue}`).sort(), ['env=dev', 'owner=net']);
      const prod = await list({ Tag: [{ Key: 'env', Value: 'prod' }] });
      assert.deepEqual([...new Set(prod.TagResources.map((r: any) => r.ResourceId))], [ids[0], ids[2]]);
      // A key alone matches any value.
      assert.equal((await list({ Tag: [{ Key: 'env' }] })).TagResources.length, 6);
      assert.equal(
        (
          await list({
            Tag: [
              { Key: 'env', Value: 'prod' },
              { Key: 'owner', Value: 'other' },
            ],
          })
        ).TagResources.length,
        0,
      );

      const seen = [];
      let token = '';
      for (let page = 0; page < 10; page++) {
        const r = await list({ MaxResults: 4, ...(token ? { NextToken: token } : {}) });
        assert.ok(r.TagResources.length <= 4);
        seen.push(...r.TagResources);
        token = r.NextToken;
        if (!token) break;
      }
      assert.deepEqual(seen, all.TagResources);

      // Listeners and instances are listed by their own type only.
      const gw = await createLoadBalancer(s, { Tag: [{ Key: 'env', Value: 'prod' }] });
      assert.deepEqual((await gwlb(s, 'ListTagResources', { ResourceType: 'loadbalancer' })).TagResources, [
        { ResourceId: gw, ResourceType: 'loadbalancer', TagKey: 'env', TagValue: 'prod' },
      ]);
      assert.deepEqual((await gwlb(s, 'ListTagResources', { ResourceType: 'listener' })).TagResources, []);

      const cases: Array<[Record<string, unknown>, string, number]> = [
        [{ ResourceType: undefined }, 'MissingParam.ResourceType', 400],
        [{ ResourceType: 'nlb' }, 'IllegalParam.ResourceType', 400],
        [{ MaxResults: 0 }, 'IllegalParam.MaxResults', 400],
        [{ MaxResults: 1001 }, 'IllegalParam.MaxResults', 400],
        [{ NextToken: 'garbage' }, 'IllegalParam.NextToken', 400],
        [{ ResourceId: Array.from({ length: 51 }, (_, i) => `sgp-${i}`) }, 'IllegalParamSize.ResourceId', 400],
        [{ Tag: Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}` })) }, 'IllegalParamSize.Tag', 400],
        [{ Tag: [{ Key: 'acs:x' }] }, 'IllegalParam.TagKey', 400],
        [{ Tag: [{ Value: 'only-a-value' }] }, 'MissingParam.TagKey', 400],
        [{ ResourceId: ['sgp-missing'] }, 'ResourceNotFound.ServerGroup', 404],
      ];
      for (const [params, code, status] of cases) {
        const e = await failure(s, 'ListTagResources', { ResourceType: 'servergroup', ...params });
        assert.deepEqual([e.code, e.status], [code, status], JSON.stringify(params).slice(0, 100));
      }
    } finally {
      await s.stop();
    }
  });
});

describe('MoveResourceGroup', () => {
  test('moves an instance and a server group; List* filter by the new group', async () => {
    const id = await createLoadBalancer(server);
    const group = await createServerGroup(server);
    const before = (await call('GetLoadBalancerAttribute', { LoadBalancerId: id })).ResourceGroupId;
    assert.match(before, /^rg-acfm/);

    const reply = await call('MoveResourceGroup', {
      ResourceType: 'loadbalancer',
      ResourceId: id,
      NewResourceGroupId: 'rg-aekzsecurity01',
    });
    assert.deepEqual(Object.keys(reply), ['RequestId']);
    assert.equal((await call('GetLoadBalancerAttribute', { LoadBalancerId: id })).ResourceGroupId, 'rg-aekzsecurity01');
    const listed = await call('ListLoadBalancers', { ResourceGroupId: 'rg-aekzsecurity01' });
    assert.deepEqual(
      listed.LoadBalancers.map((l: any) => l.LoadBalancerId),
      [id],
    );

    await call('MoveResourceGroup', { ResourceType: 'servergroup', ResourceId: group, NewResourceGroupId: 'rg-aekzsecurity01' });
    await until(
      async () => (await call('ListServerGroups', { ServerGroupIds: [group] })).ServerGroups[0].ResourceGroupId,
      'rg-aekzsecurity01',
    );
    const groups = await call('ListServerGroups', { ResourceGroupId: 'rg-aekzsecurity01' });
    assert.deepEqual(
      groups.ServerGroups.map((g: any) => g.ServerGroupId),
      [group],
    );
    // Moving to the group it is already in is fine.
    await call('MoveResourceGroup', { ResourceType: 'servergroup', ResourceId: group, NewResourceGroupId: 'rg-aekzsecurity01' });
  });

  test('listeners have no resource group; unknown resources and groups; DryRun moves nothing', async () => {
    const id = await createLoadBalancer(server);
    const cases: Array<[Record<string, unknown>, string, number]> = [
      [{ ResourceType: 'listener', ResourceId: listener, NewResourceGroupId: 'rg-aekzsecurity01' }, 'IllegalParam.ResourceType', 400],
      [{ ResourceType: 'securitypolicy', ResourceId: id, NewResourceGroupId: 'rg-aekzsecurity01' }, 'IllegalParam.ResourceType', 400],
      [{ ResourceId: id, NewResourceGroupId: 'rg-aekzsecurity01' }, 'MissingParam.ResourceType', 400],
      [{ ResourceType: 'loadbalancer', NewResourceGroupId: 'rg-aekzsecurity01' }, 'MissingParam.ResourceId', 400],
      [{ ResourceType: 'loadbalancer', ResourceId: id }, 'MissingParam.NewResourceGroupId', 400],
      [
        { ResourceType: 'loadbalancer', ResourceId: 'gwlb-missing', NewResourceGroupId: 'rg-aekzsecurity01' },
        'ResourceNotFound.LoadBalancer',
        404,
      ],
      [
        { ResourceType: 'servergroup', ResourceId: 'sgp-missing', NewResourceGroupId: 'rg-aekzsecurity01' },
        'ResourceNotFound.ServerGroup',
        404,
      ],
      [{ ResourceType: 'loadbalancer', ResourceId: id, NewResourceGroupId: 'group-1' }, 'ResourceNotFound.ResourceGroup', 404],
    ];
    for (const [params, code, status] of cases) {
      const e = await fails('MoveResourceGroup', params);
      assert.deepEqual([e.code, e.status], [code, status], JSON.stringify(params));
    }
    const before = (await call('GetLoadBalancerAttribute', { LoadBalancerId: id })).ResourceGroupId;
    const dry = await fails('MoveResourceGroup', {
      ResourceType: 'loadbalancer',
      ResourceId: id,
      NewResourceGroupId: 'rg-aekzdryrun01',
      DryRun: true,
    });
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal((await call('GetLoadBalancerAttribute', { LoadBalancerId: id })).ResourceGroupId, before);
  });
});
