/**
 * The `openslb nlb|gwlb <Action>` command as a person meets it: help generated from the action
 * declarations, names checked before anything is sent, tables, every page of a list, a clear
 * message when no server runs, and why a job failed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/process.js';
import {
  NLB,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
  callApi,
  startTestServer,
  waitForJob,
  type TestServer,
} from '../support/server.js';
import { createActiveLoadBalancer, createServerGroup } from '../support/nlb-setup.js';

const creds = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET,
  OPENSLB_ENDPOINT: '',
};
let server: TestServer;
let cli: (args: string[]) => ReturnType<typeof runCli>;

before(async () => {
  server = await startTestServer();
  cli = (args) => runCli([...args, '--endpoint', server.url], creds);
});
after(() => server?.stop());

test('--list names every action of the product', async () => {
  const r = await cli(['nlb', '--list']);
  assert.equal(r.code, 0, r.stderr);
  const names = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/)[0]);
  for (const name of ['CreateListener', 'ListLoadBalancers', 'GetJobStatus', 'ListAsynJobs']) assert.ok(names.includes(name), name);
  assert.match(r.stdout, /^CreateListener\s+change$/m);
  const gwlb = await cli(['gwlb', '--list']);
  assert.match(gwlb.stdout, /^CreateLoadBalancer\s+change$/m);
});

test('<Action> --help and help <Action> describe its parameters: type, rule, required, and an example', async () => {
  for (const args of [
    ['nlb', 'CreateListener', '--help'],
    ['nlb', 'help', 'CreateListener'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--ListenerPort\s+required; an integer from 0 to 65535/);
    assert.match(r.stdout, /--ListenerProtocol\s+required; one of TCP, UDP, TCPSSL/);
    assert.match(r.stdout, /--Tag\.N\.Key\s+a string of at most 64 characters/);
    assert.match(
      r.stdout,
      /Example:\n {2}openslb nlb CreateListener --LoadBalancerId '<LoadBalancerId>' --ListenerProtocol TCP --ListenerPort \d+/,
    );
  }
  const generic = await cli(['nlb', '--help']);
  assert.equal(generic.code, 0);
  assert.match(generic.stdout, /--pager/);
});

test('a misspelt action is refused locally with a suggestion, and nothing is sent', async () => {
  const r = await cli(['nlb', 'CreateListner', '--ListenerPort', '80']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nlb has no action CreateListner\. Did you mean CreateListener\?/);
  assert.match(r.stderr, /--force sends it anyway/);
  const forced = await cli(['nlb', 'CreateListner', '--force']);
  assert.equal(forced.code, 1, 'the server answers an unknown action itself');
  assert.equal(JSON.parse(forced.stderr).Code, 'InvalidAction.NotFound');
});

test('a misspelt parameter is refused instead of being ignored (a List* would list everything)', async () => {
  const r = await cli(['nlb', 'ListLoadBalancers', '--LoadBalancerIDs.1', 'nlb-x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ListLoadBalancers has no parameter --LoadBalancerIDs\.1\. Did you mean --LoadBalancerIds\.1\?/);
  assert.equal(r.stdout, '');
  const forced = await cli(['nlb', 'ListLoadBalancers', '--LoadBalancerIDs.1', 'nlb-x', '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  // Flattened names, common parameters and list indexes other than 1 are all known.
  const ok = await cli(['nlb', 'ListLoadBalancers', '--LoadBalancerIds.2', 'nlb-x', '--Tag.3.Key', 'env', '--RegionId', 'cn-hangzhou']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('a bad value comes back with the rule it broke', async () => {
  const r = await cli([
    'nlb',
    'CreateListener',
    '--LoadBalancerId',
    'nlb-x',
    '--ListenerProtocol',
    'TCP',
    '--ListenerPort',
    '70000',
    '--ServerGroupId',
    'sgp-x',
  ]);
  assert.equal(r.code, 1);
  const body = JSON.parse(r.stderr);
  assert.equal(body.Code, 'IllegalParam.ListenerPort');
  assert.equal(body.Message, 'The param of ListenerPort is illegal. It must be an integer from 0 to 65535.');
  const proto = await cli([
    'nlb',
    'CreateListener',
    '--LoadBalancerId',
    'nlb-x',
    '--ListenerProtocol',
    'HTTP',
    '--ListenerPort',
    '80',
    '--ServerGroupId',
    'sgp-x',
  ]);
  assert.match(JSON.parse(proto.stderr).Message, /It must be one of TCP, UDP, TCPSSL\.$/);
});

test('--output table prints the rows of a list; cols= picks columns, also from a Get reply', async () => {
  const table = await cli(['nlb', 'DescribeZones', '--output', 'table']);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ZoneId\s+LocalName$/);
  assert.match(lines[1], /^-+\s+-+$/);
  assert.match(lines[2], /^cn-hangzhou-a\s+Hangzhou Zone A$/);
  const cols = await cli(['nlb', 'DescribeRegions', '--output', 'cols=RegionId,RegionEndpoint', 'rows=Regions[]']);
  assert.match(cols.stdout, /^cn-hangzhou\s+nlb\.cn-hangzhou\.aliyuncs\.com$/m);
  const json = await cli(['nlb', 'DescribeZones', '--output', 'json']);
  assert.equal(JSON.parse(json.stdout).Zones.length, 2);
  const bad = await cli(['nlb', 'DescribeZones', '--output', 'yaml']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--output takes json, table, cols=A,B and rows=Field/);
});

test('--pager merges every page of a List* into one reply', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push(await createServerGroup(server, { Protocol: 'TCP', ServerGroupName: `pager-${i}` }, []));
  const r = await cli(['nlb', 'ListServerGroups', '--MaxResults', '1', '--pager']);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.deepEqual(body.ServerGroups.map((g: { ServerGroupId: string }) => g.ServerGroupId).sort(), ids.sort());
  assert.equal(body.NextToken, '');
  const table = await cli(['nlb', 'ListServerGroups', '--MaxResults', '1', '--pager', '--output', 'cols=ServerGroupName']);
  assert.deepEqual(table.stdout.trim().split('\n').slice(2).sort(), ['pager-0', 'pager-1', 'pager-2']);
  const notPaged = await cli(['nlb', 'DescribeZones', '--pager']);
  assert.equal(notPaged.code, 2);
  assert.match(notPaged.stderr, /DescribeZones has none/);
});

test('with no server at the endpoint, the message says so and what to do', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const r = await runCli(['nlb', 'DescribeRegions', '--endpoint', `http://127.0.0.1:${port}`], creds);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `openslb: cannot reach the OpenSLB API at http://127.0.0.1:${port} (nothing is listening there).\n` +
      'Is `openslb serve` running? Point --endpoint or OPENSLB_ENDPOINT at its API address.\n',
  );
});

test('--wait prints plain progress lines off a terminal and says why a job failed; ListAsynJobs carries the reason', async (t) => {
  const lb = await createActiveLoadBalancer(server);
  const sg = await createServerGroup(server, { Protocol: 'TCP' }, []);
  // Someone else holds the listener's address: the data plane cannot bind it.
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(0, lb.vips[0], r));
  t.after(() => new Promise((r) => squatter.close(r)));
  const port = (squatter.address() as net.AddressInfo).port;

  const r = await cli([
    'nlb',
    'CreateListener',
    '--LoadBalancerId',
    lb.id,
    '--ListenerProtocol',
    'TCP',
    '--ListenerPort',
    String(port),
    '--ServerGroupId',
    sg,
    '--wait',
  ]);
  assert.equal(r.code, 1);
  const { JobId } = JSON.parse(r.stdout);
  assert.ok(!r.stderr.includes('\r'), 'no carriage returns in a log');
  assert.match(r.stderr, new RegExp(`^CreateListener: job ${JobId} Processing|^CreateListener: job ${JobId} Failed`, 'm'));
  assert.match(r.stderr, new RegExp(`^CreateListener: job ${JobId} failed: OperationFailed\\.DataPlane: node .*EADDRINUSE`, 'm'));

  assert.equal(await waitForJob(server, JobId), 'Failed');
  const listed = await callApi(server, NLB, 'ListAsynJobs', { JobIds: [JobId] }, { placement: 'query' });
  assert.equal(listed.Jobs[0].Status, 'Failed');
  assert.equal(listed.Jobs[0].ErrorCode, 'OperationFailed.DataPlane');
  assert.match(listed.Jobs[0].ErrorMessage, /EADDRINUSE/);
});

test('openslb ram in a directory without a store refuses instead of creating an empty one', async (t) => {
  const elsewhere = mkdtempSync(join(tmpdir(), `openslb-ram-elsewhere-${process.pid}-`));
  t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
  const r = await runCli(['ram', 'user', 'list', '--data-dir', join(elsewhere, '.openslb')], creds);
  assert.equal(r.code, 1);
  const body = JSON.parse(r.stderr);
  assert.equal(body.Code, 'StoreNotFound');
  assert.match(body.Message, /No OpenSLB store at .*openslb\.db\. Run openslb ram from the directory openslb serve runs in/);
  assert.ok(!existsSync(join(elsewhere, '.openslb')), 'nothing was created');
  const withStore = await runCli(['ram', 'user', 'list', '--data-dir', server.dataDir], creds);
  assert.equal(withStore.code, 0, withStore.stderr);
});
