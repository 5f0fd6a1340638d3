/**
 * `openslb gwlb …` as a user runs it: the real command (a child process) against a real
 * OpenSLB. GWLB answers no JobId, so `--wait` must follow each resource's own status. Every
 * change here stays transitional until the test advances the server's injected clock, so the
 * CLI is seen waiting (it prints the transitional status) and returning only once settled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ManualClock } from '../../src/util/clock.js';
import { MAIN, runCli } from '../support/process.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, type TestServer } from '../support/server.js';
import { gwlb, lbStatus } from '../products/gwlb/support.js';
import { startSlowServer } from '../support/slow-server.js';

/** How long every change stays transitional, on the injected clock. */
const DELAY_MS = 20_000;

const clock = new ManualClock(Date.now());
let server: TestServer;
before(async () => {
  server = await startSlowServer({
    clock,
    delayMs: DELAY_MS,
    configure: (c) => {
      // Own VIP pools: a Running GWLB listener holds UDP 6081 on its VIPs.
      const [a, b] = c.regions[0].vpcs[0].vSwitches;
      a.vipPool = '127.0.45.0/24';
      b.vipPool = '127.0.46.0/24';
    },
  });
});
after(() => server?.stop());

const env = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET,
  OPENSLB_ENDPOINT: '',
};

function cli(...args: string[]) {
  return runCli(['gwlb', ...args, '--endpoint', server.url], env);
}

/**
 * Runs `openslb gwlb <args> --wait`; once the CLI reports `transitional`, advances the clock
 * past the change so it can settle. The CLI's own --wait-timeout bounds the run.
 */
function cliWaiting(transitional: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'gwlb', ...args, '--wait', '--wait-timeout', '60', '--endpoint', server.url],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let advanced = false;
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (!advanced && stderr.includes(` ${transitional} (`)) {
      advanced = true;
      clock.advance(DELAY_MS);
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

test('create a GWLB, a server group and a listener with --wait; list; delete', async () => {
  const lb = await cliWaiting(
    'Provisioning',
    'CreateLoadBalancer',
    '--VpcId',
    'vpc-local',
    '--ZoneMappings.1.ZoneId',
    'cn-hangzhou-a',
    '--ZoneMappings.1.VSwitchId',
    'vsw-local-a',
    '--ZoneMappings.2.ZoneId',
    'cn-hangzhou-b',
    '--ZoneMappings.2.VSwitchId',
    'vsw-local-b',
    '--LoadBalancerName',
    'cli-gateway',
    '--Tag.1.Key',
    'made-by',
    '--Tag.1.Value',
    'cli',
  );
  assert.equal(lb.code, 0, lb.stderr);
  const created = JSON.parse(lb.stdout);
  assert.deepEqual(Object.keys(created).sort(), ['LoadBalancerId', 'RequestId']);
  assert.match(created.LoadBalancerId, /^gwlb-/);
  assert.match(lb.stderr, new RegExp(`${created.LoadBalancerId} Provisioning`));
  assert.match(lb.stderr, new RegExp(`${created.LoadBalancerId} Active`));
  // --wait returned only once the instance was Active.
  assert.equal(await lbStatus(server, created.LoadBalancerId), 'Active');

  const sg = await cliWaiting(
    'Creating',
    'CreateServerGroup',
    '--VpcId',
    'vpc-local',
    '--ServerGroupType',
    'Ip',
    '--Scheduler',
    '3TCH',
    '--ServerGroupName',
    'cli-appliances',
  );
  assert.equal(sg.code, 0, sg.stderr);
  const { ServerGroupId } = JSON.parse(sg.stdout);
  assert.match(sg.stderr, /Available/);

  const add = await cliWaiting(
    'Configuring',
    'AddServersToServerGroup',
    '--ServerGroupId',
    ServerGroupId,
    '--Servers.1.ServerId',
    '127.0.45.200',
    '--Servers.1.ServerType',
    'Ip',
    '--Servers.1.Port',
    '6081',
  );
  assert.equal(add.code, 0, add.stderr);
  const group = (await gwlb(server, 'ListServerGroups', { ServerGroupIds: [ServerGroupId] })).ServerGroups[0];
  assert.deepEqual([group.ServerGroupStatus, group.ServerCount, group.Scheduler], ['Available', 1, '3TCH']);

  const lsn = await cliWaiting(
    'Provisioning',
    'CreateListener',
    '--LoadBalancerId',
    created.LoadBalancerId,
    '--ServerGroupId',
    ServerGroupId,
    '--ListenerDescription',
    'cli-listener',
  );
  assert.equal(lsn.code, 0, lsn.stderr);
  const { ListenerId } = JSON.parse(lsn.stdout);
  assert.match(ListenerId, /^lsn-/);
  assert.match(lsn.stderr, new RegExp(`${ListenerId} Running`));

  const list = await cli('ListListeners', '--LoadBalancerIds.1', created.LoadBalancerId);
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout);
  assert.equal(listed.TotalCount, 1);
  assert.deepEqual(listed.Listeners, [
    {
      ListenerId,
      ListenerDescription: 'cli-listener',
      ListenerStatus: 'Running',
      LoadBalancerId: created.LoadBalancerId,
      ServerGroupId,
      TcpIdleTimeout: 350,
      Tags: [],
    },
  ]);
  const lbs = JSON.parse((await cli('ListLoadBalancers', '--Tag.1.Key', 'made-by', '--Tag.1.Value', 'cli')).stdout);
  assert.deepEqual(
    lbs.LoadBalancers.map((l: { LoadBalancerName: string }) => l.LoadBalancerName),
    ['cli-gateway'],
  );

  // The group is in use: the API error comes back as the JSON error body, exit code 1.
  const inUse = await cli('DeleteServerGroup', '--ServerGroupId', ServerGroupId);
  assert.equal(inUse.code, 1);
  assert.equal(JSON.parse(inUse.stderr).Code, 'ResourceInUse.ServerGroup');

  const del = await cliWaiting('Deleting', 'DeleteListener', '--ListenerId', ListenerId);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(Object.keys(JSON.parse(del.stdout)), ['RequestId']);
  assert.match(del.stderr, new RegExp(`${ListenerId} Deleted`));
  const gone = await cli('GetListenerAttribute', '--ListenerId', ListenerId);
  assert.equal(gone.code, 1);
  assert.equal(JSON.parse(gone.stderr).Code, 'ResourceNotFound.Listener');

  // Deleting a group or an instance takes effect at once; --wait confirms it is gone.
  for (const [action, param, id] of [
    ['DeleteServerGroup', '--ServerGroupId', ServerGroupId],
    ['DeleteLoadBalancer', '--LoadBalancerId', created.LoadBalancerId],
  ]) {
    const r = await runCli(['gwlb', action, param, id, '--wait', '--wait-timeout', '60', '--endpoint', server.url], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`${id} Deleted`));
  }
  assert.equal(await lbStatus(server, created.LoadBalancerId), undefined);
  assert.equal(JSON.parse((await cli('ListLoadBalancers')).stdout).TotalCount, 0);
});

test('--wait on a read has nothing to follow and says so', async () => {
  const r = await runCli(['gwlb', 'DescribeZones', '--wait', '--endpoint', server.url], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).Zones.length, 2);
  assert.match(r.stderr, /nothing to wait for/);
});
