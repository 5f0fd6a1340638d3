/** Where backends may live when the configuration has more than one VPC. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({
    configure: (c) => {
      c.regions[0].vpcs.push({ id: 'vpc-lab', cidr: '198.18.0.0/15', vSwitches: [] });
    },
  });
});
after(async () => {
  await server?.stop();
});

async function createGroup(params: Record<string, unknown>): Promise<string> {
  const r = await callApi(server, NLB, 'CreateServerGroup', { ServerGroupName: 'vpc-test', ...params });
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
  return r.ServerGroupId as string;
}

function add(groupId: string, servers: unknown[]) {
  return callApi(server, NLB, 'AddServersToServerGroup', { ServerGroupId: groupId, Servers: servers });
}

test('an instance whose address lies in another configured VPC is Mismatch.VpcId', async () => {
  const local = await createGroup({ VpcId: 'vpc-local' });
  const e = await callError(add(local, [{ ServerId: 'i-lab1', ServerType: 'Ecs', ServerIp: '198.18.0.5', Port: 80 }]));
  assert.equal(e.code, 'Mismatch.VpcId');
  assert.match(e.data.Message, /vpc-lab and vpc-local/);

  const lab = await createGroup({ VpcId: 'vpc-lab' });
  assert.equal(
    (await callError(add(lab, [{ ServerId: 'i-loc1', ServerType: 'Ecs', ServerIp: '127.0.3.5', Port: 80 }]))).code,
    'Mismatch.VpcId',
  );
  // Its own CIDR and the private ranges are fine.
  const ok = await add(lab, [
    { ServerId: 'i-lab1', ServerType: 'Ecs', ServerIp: '198.18.0.5', Port: 80 },
    { ServerId: 'i-lab2', ServerType: 'Ecs', ServerIp: '10.0.0.5', Port: 80 },
  ]);
  assert.equal(await waitForJob(server, ok.JobId), 'Succeeded');
});

test('Ip servers may use any configured VPC CIDR, as IP groups reach beyond their own VPC', async () => {
  const local = await createGroup({ VpcId: 'vpc-local', ServerGroupType: 'Ip' });
  const r = await add(local, [{ ServerId: '198.18.1.1', ServerType: 'Ip', Port: 80 }]);
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
  assert.equal((await callError(add(local, [{ ServerId: '198.20.0.1', ServerType: 'Ip', Port: 80 }]))).code, 'IllegalParam.IP');

  const list = await callApi(server, NLB, 'ListServerGroups', { VpcId: 'vpc-lab' });
  assert.ok(list.ServerGroups.every((g: any) => g.VpcId === 'vpc-lab'));
  assert.ok(list.ServerGroups.length >= 1);
});
