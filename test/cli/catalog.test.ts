/** The CLI's knowledge of the action declarations, and its pager and table, without a server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, flatParams, patternOf, unknownParams } from '../../src/cli/catalog.js';
import { parseOutput, renderTable } from '../../src/cli/output.js';
import { MAX_PAGES, allPages } from '../../src/cli/pager.js';
import { ruleOf } from '../../src/gateway/params/describe.js';
import { p } from '../../src/gateway/params/spec.js';
import { nlbProduct } from '../../src/products/nlb/index.js';
import { gwlbProduct } from '../../src/products/gwlb/index.js';

test('every declared parameter has a flat wire name, as the SDKs send it', () => {
  const names = flatParams(nlbProduct.actions.get('CreateServerGroup')!).map((x) => x.pattern);
  for (const name of [
    'ServerGroupName',
    'HealthCheckConfig.HealthCheckType',
    'HealthCheckConfig.HealthCheckHttpCode.N',
    'Tag.N.Key',
    'RegionId',
    'ClientToken',
    'DryRun',
  ]) {
    assert.ok(names.includes(name), name);
  }
  const servers = flatParams(nlbProduct.actions.get('AddServersToServerGroup')!);
  assert.ok(servers.find((x) => x.pattern === 'Servers.N.ServerId')?.required);
  assert.ok(!servers.find((x) => x.pattern === 'Servers.N.Description')?.required);
  assert.equal(patternOf('Servers.12.Port'), 'Servers.N.Port');
});

test("unknown names get the nearest declared ones, with the caller's list index", () => {
  const list = gwlbProduct.actions.get('ListServerGroups')!;
  assert.deepEqual(unknownParams(list, ['ServerGroupIds.2', 'MaxResults']), []);
  assert.deepEqual(unknownParams(list, ['ServerGroupIDs.2']), [{ name: 'ServerGroupIDs.2', suggestions: ['ServerGroupIds.2'] }]);
  assert.deepEqual(closest('CreateListner', nlbProduct.actions.keys()), ['CreateListener']);
  assert.deepEqual(closest('Frobnicate', nlbProduct.actions.keys()), []);
});

test('rules in words', () => {
  assert.equal(ruleOf(p.integer({ min: 1, max: 100 })), 'an integer from 1 to 100');
  assert.equal(ruleOf(p.integer({ min: 1 })), 'an integer of at least 1');
  assert.equal(ruleOf(p.string({ enum: ['TCP', 'UDP'] })), 'one of TCP, UDP');
  assert.equal(ruleOf(p.string({ minLength: 2, maxLength: 128 })), 'a string of 2 to 128 characters');
  assert.equal(ruleOf(p.string({ pattern: /^[a-z]+$/ })), 'a string matching ^[a-z]+$');
  assert.equal(ruleOf(p.list(p.string(), { maxItems: 20 })), 'a list of at most 20 items');
  assert.equal(ruleOf(p.string()), '');
});

test('the pager follows NextToken to the end and stops a server that never ends at MAX_PAGES', async () => {
  const list = nlbProduct.actions.get('ListLoadBalancers')!;
  const pages = [
    { LoadBalancers: [{ id: 1 }], NextToken: 'a' },
    { LoadBalancers: [{ id: 2 }], NextToken: 'b' },
    { LoadBalancers: [{ id: 3 }], NextToken: '' },
  ];
  const seen: Array<Record<string, string>> = [];
  const merged = await allPages(list, { VpcIds: 'x' }, async (params) => {
    seen.push({ ...params });
    return pages[seen.length - 1];
  });
  assert.deepEqual(merged.LoadBalancers, [{ id: 1 }, { id: 2 }, { id: 3 }]);
  assert.equal(merged.NextToken, '');
  assert.deepEqual(
    seen.map((s) => [s.MaxResults, s.NextToken, s.VpcIds]),
    [
      ['100', undefined, 'x'],
      ['100', 'a', 'x'],
      ['100', 'b', 'x'],
    ],
  );

  let calls = 0;
  const endless = await allPages(list, {}, async () => ({ LoadBalancers: [], NextToken: `t${++calls}` }));
  assert.equal(calls, MAX_PAGES);
  assert.equal(endless.NextToken, `t${MAX_PAGES}`, 'the token to go on with is kept');
});

test('tables: nested columns by path, objects as JSON, an empty list says so', () => {
  const body = { TotalCount: 1, Items: [{ Id: 'a', Zones: [{ ZoneId: 'z1' }], Tags: { k: 'v' } }] };
  const text = renderTable(body, parseOutput(['cols=Id,Zones.0.ZoneId,Tags']));
  assert.deepEqual(text.split('\n'), ['Id  Zones.0.ZoneId  Tags', '--  --------------  ---------', 'a   z1              {"k":"v"}', '']);
  assert.match(renderTable({ TotalCount: 0, Items: [] }, parseOutput(['table'])), /\(no rows\)/);
});
