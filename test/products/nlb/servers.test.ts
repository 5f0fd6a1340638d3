/** Backend servers: add, update, remove, list — with their statuses, limits and errors. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.js';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { startSlowServer } from '../../support/slow-server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({ configure: (c) => (c.quotas.nlbServersPerServerGroup = 5) });
});
after(async () => {
  await server?.stop();
});

async function createGroup(target: TestServer, params: Record<string, unknown> = {}): Promise<string> {
  const r = await callApi(target, NLB, 'CreateServerGroup', { ServerGroupName: 'backends', VpcId: 'vpc-local', ...params });
  assert.equal(await waitForJob(target, r.JobId), 'Succeeded');
  return r.ServerGroupId as string;
}

async function serversOf(id: string, target: TestServer = server): Promise<Array<Record<string, any>>> {
  const r = await callApi(target, NLB, 'ListServerGroupServers', { ServerGroupId: id, MaxResults: 100 });
  return r.Servers;
}

async function groupOf(id: string, target: TestServer = server): Promise<Record<string, any>> {
  return (await callApi(target, NLB, 'ListServerGroups', { ServerGroupIds: [id] })).ServerGroups[0];
}

async function run(action: string, params: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await callApi(server, NLB, action, params);
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
  return r;
}

test('Ip servers are added, become Available, and list with address, port, weight and status', async () => {
  const id = await createGroup(server, { ServerGroupType: 'Ip' });
  const r = await run('AddServersToServerGroup', {
    ServerGroupId: id,
    Servers: [
      { ServerId: '127.0.0.1', ServerType: 'Ip', Port: 8080 },
      { ServerId: '127.0.3.7', ServerType: 'ip', ServerIp: '127.0.3.7', Port: 8081, Weight: 0, Description: 'standby,zone-a' },
      { ServerId: '10.0.0.9', ServerType: 'Ip', Port: 80, Weight: 50 },
    ],
  });
  assert.equal(r.ServerGroupId, id);
  const servers = await serversOf(id);
  assert.deepEqual(
    servers.map((s) => [s.ServerId, s.ServerType, s.ServerIp, s.Port, s.Weight, s.Status, s.ServerGroupId, s.Description]),
    [
      ['127.0.0.1', 'Ip', '127.0.0.1', 8080, 100, 'Available', id, undefined],
      ['127.0.3.7', 'Ip', '127.0.3.7', 8081, 0, 'Available', id, 'standby,zone-a'],
      ['10.0.0.9', 'Ip', '10.0.0.9', 80, 50, 'Available', id, undefined],
    ],
  );
  const g = await groupOf(id);
  assert.equal(g.ServerCount, 3);
  assert.equal(g.ServerGroupStatus, 'Available');
});

test('instance servers need their address in ServerIp, as OpenSLB has no instance inventory', async () => {
  const id = await createGroup(server);
  const e = await callError(
    callApi(server, NLB, 'AddServersToServerGroup', {
      ServerGroupId: id,
      Servers: [{ ServerId: 'i-bp1abc', ServerType: 'Ecs', Port: 80 }],
    }),
  );
  assert.equal(e.code, 'MissingParam.IP');
  assert.match(e.data.Message, /ServerIp/);

  await run('AddServersToServerGroup', {
    ServerGroupId: id,
    Servers: [
      { ServerId: 'i-bp1abc', ServerType: 'Ecs', ServerIp: '127.0.3.10', Port: 80 },
      { ServerId: 'eni-bp1abc', ServerType: 'Eni', ServerIp: '192.168.1.20', Port: 80 },
      { ServerId: 'eci-bp1abc', ServerType: 'Eci', ServerIp: '172.16.0.5', Port: 80 },
    ],
  });
  assert.deepEqual(
    (await serversOf(id)).map((s) => [s.ServerType, s.ServerIp]),
    [
      ['Ecs', '127.0.3.10'],
      ['Eni', '192.168.1.20'],
      ['Eci', '172.16.0.5'],
    ],
  );

  for (const [server0, code, status] of [
    [{ ServerId: 'eni-x', ServerType: 'Ecs', ServerIp: '127.0.3.11', Port: 80 }, 'ResourceNotFound.Ecs', 404],
    [{ ServerId: 'i-x', ServerType: 'Eni', ServerIp: '127.0.3.11', Port: 80 }, 'ResourceNotFound.Eni', 404],
    [{ ServerId: 'i-x', ServerType: 'Eci', ServerIp: '127.0.3.11', Port: 80 }, 'ResourceNotFound.Eci', 404],
    [{ ServerId: '127.0.3.11', ServerType: 'Ip', Port: 80 }, 'Mismatch.ServerType', 400],
    [{ ServerId: 'i-x', ServerType: 'Vm', ServerIp: '127.0.3.11', Port: 80 }, 'IllegalParam.Servers.ServerType', 400],
  ] as const) {
    const err = await callError(callApi(server, NLB, 'AddServersToServerGroup', { ServerGroupId: id, Servers: [server0] }));
    assert.equal(err.code, code, JSON.stringify(server0));
    assert.equal(err.statusCode, status);
  }
  const ipGroup = await createGroup(server, { ServerGroupType: 'Ip' });
  const m = await callError(
    callApi(server, NLB, 'AddServersToServerGroup', {
      ServerGroupId: ipGroup,
      Servers: [{ ServerId: 'i-x', ServerType: 'Ecs', ServerIp: '127.0.3.11', Port: 80 }],
    }),
  );
  assert.equal(m.code, 'Mismatch.ServerType');
});

test('server addresses must be private or inside a configured VPC', async () => {
  const id = await createGroup(server, { ServerGroupType: 'Ip' });
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ServerId: '8.8.8.8', ServerType: 'Ip', Port: 53 }, 'IllegalParam.IP'],
    [{ ServerId: 'not-an-ip', ServerType: 'Ip', Port: 53 }, 'IllegalParam.IP'],
    [{ ServerId: '127.0.3.1', ServerType: 'Ip', ServerIp: '127.0.3.2', Port: 53 }, 'IllegalParam.IP'],
    [{ ServerId: '172.32.0.1', ServerType: 'Ip', Port: 53 }, 'IllegalParam.IP'],
    [{ ServerId: 'fd00::1', ServerType: 'Ip', Port: 53 }, 'OperationDenied.ServerGroupNotSupportIpv6'],
  ];
  for (const [s, code] of cases) {
    const e = await callError(callApi(server, NLB, 'AddServersToServerGroup', { ServerGroupId: id, Servers: [s] }));
    assert.equal(e.code, code, JSON.stringify(s));
  }
  const dual = await createGroup(server, { ServerGroupType: 'Ip', AddressIPVersion: 'DualStack' });
  await run('AddServersToServerGroup', { ServerGroupId: dual, Servers: [{ ServerId: 'fd00::1', ServerType: 'Ip', Port: 53 }] });
  assert.equal((await serversOf(dual))[0].ServerIp, 'fd00::1');
  assert.deepEqual(await serversOf(id), []);
});

test('servers named twice, or already in the group, are refused', async () => {
  const id = await createGroup(server);
  const add = (servers: unknown[]) => callApi(server, NLB, 'AddServersToServerGroup', { ServerGroupId: id, Servers: servers });
  const a = { ServerId: 'i-a', ServerType: 'Ecs', ServerIp: '127.0.3.20', Port: 80 };

  assert.equal((await callError(add([a, a]))).code, 'DuplicatedParam.Server');
  assert.equal((await callError(add([a, { ...a, ServerId: 'i-b' }]))).code, 'DuplicatedParam.Server');
  // The same instance on another port is another backend.
  await waitForJob(server, (await add([a, { ...a, Port: 81 }])).JobId);

  assert.equal((await callError(add([a]))).code, 'DuplicatedParam.Server');
  const inUse = await callError(add([{ ...a, ServerId: 'i-other' }]));
  assert.equal(inUse.code, 'ResourceInUse.IP');
  assert.equal((await serversOf(id)).length, 2);
});

test('ports follow the group: 1-65535 normally, 0 for any-port groups', async () => {
  const id = await createGroup(server, { ServerGroupType: 'Ip' });
  const add = (s: Record<string, unknown>, group = id) =>
    callApi(server, NLB, 'AddServersToServerGroup', {
      ServerGroupId: group,
      Servers: [{ ServerId: '127.0.3.30', ServerType: 'Ip', ...s }],
    });
  assert.equal((await callError(add({}))).code, 'IllegalParam.RSPortConflictWithServerGroup');
  assert.equal((await callError(add({ Port: 0 }))).code, 'IllegalParam.RSPortConflictWithServerGroup');
  assert.equal((await callError(add({ Port: 65536 }))).code, 'IllegalParam.Servers.Port');
  assert.equal((await callError(add({ Port: 80, Weight: 101 }))).code, 'IllegalParam.Servers.Weight');
  assert.equal((await callError(add({ Port: 80, Weight: -1 }))).code, 'IllegalParam.Servers.Weight');
  assert.equal((await callError(add({ Port: 80, Description: 'x' }))).code, 'IllegalParam.description');
  assert.equal((await callError(add({ Port: 80, Description: 'no spaces allowed' }))).code, 'IllegalParam.description');

  const anyPort = await createGroup(server, {
    ServerGroupType: 'Ip',
    AnyPortEnabled: true,
    HealthCheckConfig: { HealthCheckConnectPort: 9000 },
  });
  assert.equal((await callError(add({ Port: 80 }, anyPort))).code, 'IllegalParam.RSPortConflictWithServerGroup');
  await waitForJob(server, (await add({}, anyPort)).JobId);
  assert.equal((await serversOf(anyPort))[0].Port, 0);

  // Any-port servers are updated and removed by their port 0.
  await run('UpdateServerGroupServersAttribute', {
    ServerGroupId: anyPort,
    Servers: [{ ServerId: '127.0.3.30', ServerType: 'Ip', Port: 0, Weight: 7 }],
  });
  assert.equal((await serversOf(anyPort))[0].Weight, 7);
  await run('RemoveServersFromServerGroup', { ServerGroupId: anyPort, Servers: [{ ServerId: '127.0.3.30', ServerType: 'Ip' }] });
  assert.deepEqual(await serversOf(anyPort), []);
});

test('at most 200 servers per call and the per-group quota', async () => {
  const id = await createGroup(server, { ServerGroupType: 'Ip' });
  const many = Array.from({ length: 201 }, (_, i) => ({ ServerId: `10.1.${i >> 8}.${i & 255}`, ServerType: 'Ip', Port: 80 }));
  const e = await callError(callApi(server, NLB, 'AddServersToServerGroup', { ServerGroupId: id, Servers: many }));
  assert.equal(e.code, 'IllegalParamSize.Servers');
  const none = await callError(callApi(server, NLB, 'AddServersToServerGroup', { ServerGroupId: id }));
  assert.equal(none.code, 'MissingParam.Servers');

  // This server's quota is 5 servers per group.
  await run('AddServersToServerGroup', { ServerGroupId: id, Servers: many.slice(0, 4) });
  const q = await callError(callApi(server, NLB, 'AddServersToServerGroup', { ServerGroupId: id, Servers: many.slice(4, 6) }));
  assert.equal(q.code, 'QuotaExceeded.QuotaInsufficient');
  assert.match(q.data.Message, /usage 4\/5/);
  await run('AddServersToServerGroup', { ServerGroupId: id, Servers: many.slice(4, 5) });
  assert.equal((await serversOf(id)).length, 5);
});

test('weights and descriptions change through UpdateServerGroupServersAttribute; unknown servers are 404', async () => {
  const id = await createGroup(server, { ServerGroupType: 'Ip' });
  await run('AddServersToServerGroup', {
    ServerGroupId: id,
    Servers: [
      { ServerId: '127.0.3.40', ServerType: 'Ip', Port: 80, Description: 'first' },
      { ServerId: '127.0.3.41', ServerType: 'Ip', Port: 80, Weight: 30 },
    ],
  });
  await run('UpdateServerGroupServersAttribute', {
    ServerGroupId: id,
    Servers: [
      { ServerId: '127.0.3.40', ServerType: 'Ip', Port: 80, Weight: 10 },
      { ServerId: '127.0.3.41', ServerType: 'Ip', ServerIp: '127.0.3.41', Port: 80, Description: 'second' },
    ],
  });
  assert.deepEqual(
    (await serversOf(id)).map((s) => [s.ServerId, s.Weight, s.Description, s.Status]),
    [
      ['127.0.3.40', 10, 'first', 'Available'],
      ['127.0.3.41', 30, 'second', 'Available'],
    ],
  );

  const update = (s: Record<string, unknown>) =>
    callApi(server, NLB, 'UpdateServerGroupServersAttribute', { ServerGroupId: id, Servers: [{ ServerType: 'Ip', ...s }] });
  const notFound = await callError(update({ ServerId: '127.0.3.40', Port: 81, Weight: 1 }));
  assert.equal(notFound.code, 'ResourceNotFound.BackendServer');
  assert.equal(notFound.statusCode, 404);
  assert.equal((await callError(update({ ServerId: '127.0.3.99', Port: 80 }))).code, 'ResourceNotFound.BackendServer');
  assert.equal((await callError(update({ ServerId: '127.0.3.40', Weight: 1 }))).code, 'MissingParam.Servers.Port');
  assert.equal((await callError(update({ ServerId: '127.0.3.40', Port: 80, Weight: 101 }))).code, 'IllegalParam.Servers.Weight');
  assert.equal((await callError(update({ ServerId: '127.0.3.40', Port: 80, Description: '?' }))).code, 'IllegalParam.description');
  const twice = await callError(
    callApi(server, NLB, 'UpdateServerGroupServersAttribute', {
      ServerGroupId: id,
      Servers: [
        { ServerId: '127.0.3.40', ServerType: 'Ip', Port: 80, Weight: 1 },
        { ServerId: '127.0.3.40', ServerType: 'Ip', Port: 80, Weight: 2 },
      ],
    }),
  );
  assert.equal(twice.code, 'DuplicatedParam.Server');
  assert.equal((await serversOf(id))[0].Weight, 10, 'failed updates change nothing');
});

test('removed servers disappear; removing a server not in the group is ResourceNotFound.BackendServer', async () => {
  const id = await createGroup(server);
  await run('AddServersToServerGroup', {
    ServerGroupId: id,
    Servers: [
      { ServerId: 'i-keep', ServerType: 'Ecs', ServerIp: '127.0.3.50', Port: 80 },
      { ServerId: 'i-drop', ServerType: 'Ecs', ServerIp: '127.0.3.51', Port: 80 },
    ],
  });
  const remove = (servers: unknown[]) => callApi(server, NLB, 'RemoveServersFromServerGroup', { ServerGroupId: id, Servers: servers });
  for (const wrong of [
    { ServerId: 'i-drop', ServerType: 'Ecs', Port: 81 },
    { ServerId: 'i-drop', ServerType: 'Eni', Port: 80 },
    { ServerId: 'i-drop', ServerType: 'Ecs', ServerIp: '127.0.3.99', Port: 80 },
    { ServerId: 'i-never', ServerType: 'Ecs', Port: 80 },
  ]) {
    const e = await callError(remove([{ ServerId: 'i-keep', ServerType: 'Ecs', Port: 80 }, wrong]));
    assert.equal(e.code, 'ResourceNotFound.BackendServer', JSON.stringify(wrong));
  }
  assert.equal((await serversOf(id)).length, 2, 'a refused removal removes nothing');

  const r = await remove([{ ServerId: 'i-drop', ServerType: 'Ecs', ServerIp: '127.0.3.51', Port: 80 }]);
  assert.equal(await waitForJob(server, r.JobId), 'Succeeded');
  assert.deepEqual(
    (await serversOf(id)).map((s) => s.ServerId),
    ['i-keep'],
  );
  assert.equal((await groupOf(id)).ServerCount, 1);
});

test('ListServerGroupServers filters by server ID and IP, pages, and spans groups without ServerGroupId', async () => {
  const id = await createGroup(server, { ServerGroupType: 'Ip' });
  await run('AddServersToServerGroup', {
    ServerGroupId: id,
    Servers: ['127.0.4.1', '127.0.4.2', '127.0.4.3'].map((ip) => ({ ServerId: ip, ServerType: 'Ip', Port: 80 })),
  });
  const ids = (r: Record<string, any>) => r.Servers.map((s: any) => s.ServerId);
  const byId = await callApi(server, NLB, 'ListServerGroupServers', { ServerGroupId: id, ServerIds: ['127.0.4.1', '127.0.4.3'] });
  assert.deepEqual(ids(byId), ['127.0.4.1', '127.0.4.3']);
  assert.equal(byId.TotalCount, 2);
  const byIp = await callApi(server, NLB, 'ListServerGroupServers', { ServerGroupId: id, ServerIps: ['127.0.4.2'] });
  assert.deepEqual(ids(byIp), ['127.0.4.2']);

  const first = await callApi(server, NLB, 'ListServerGroupServers', { ServerGroupId: id, MaxResults: 2 });
  assert.deepEqual(ids(first), ['127.0.4.1', '127.0.4.2']);
  assert.equal(first.MaxResults, 2);
  assert.equal(first.TotalCount, 3);
  assert.ok(first.NextToken);
  const second = await callApi(server, NLB, 'ListServerGroupServers', { ServerGroupId: id, MaxResults: 2, NextToken: first.NextToken });
  assert.deepEqual(ids(second), ['127.0.4.3']);
  assert.equal(second.NextToken, '');

  const everywhere = await callApi(server, NLB, 'ListServerGroupServers', { ServerIps: ['127.0.4.2', '127.0.3.50'], MaxResults: 100 });
  assert.deepEqual(everywhere.Servers.map((s: any) => s.ServerIp).sort(), ['127.0.3.50', '127.0.4.2']);

  const e = await callError(callApi(server, NLB, 'ListServerGroupServers', { ServerGroupId: 'sgp-missing0000000000' }));
  assert.equal(e.code, 'ResourceNotFound.serverGroup');
  assert.equal(e.statusCode, 404);
  const tooMany = await callError(
    callApi(server, NLB, 'ListServerGroupServers', { ServerGroupId: id, ServerIds: Array.from({ length: 41 }, (_, i) => `i-${i}`) }),
  );
  assert.equal(tooMany.code, 'IllegalParamSize.ServerIds');
  const big = await callError(callApi(server, NLB, 'ListServerGroupServers', { ServerGroupId: id, MaxResults: 0 }));
  assert.equal(big.code, 'IllegalParam.MaxResults');
});

test('DryRun on server changes validates, answers DryRunOperation and changes nothing', async () => {
  const id = await createGroup(server, { ServerGroupType: 'Ip' });
  const dry = await callError(
    callApi(server, NLB, 'AddServersToServerGroup', {
      ServerGroupId: id,
      DryRun: true,
      Servers: [{ ServerId: '127.0.3.60', ServerType: 'Ip', Port: 80 }],
    }),
  );
  assert.equal(dry.code, 'DryRunOperation');
  assert.deepEqual(await serversOf(id), []);
  assert.equal((await groupOf(id)).ServerGroupStatus, 'Available');
  const bad = await callError(
    callApi(server, NLB, 'RemoveServersFromServerGroup', {
      ServerGroupId: id,
      DryRun: true,
      Servers: [{ ServerId: '127.0.3.60', ServerType: 'Ip', Port: 80 }],
    }),
  );
  assert.equal(bad.code, 'ResourceNotFound.BackendServer');
});

test('servers show Adding / Configuring / Removing while their job runs, and the group refuses other changes', async () => {
  const clock = new ManualClock(Date.now());
  const slow = await startSlowServer({ clock });
  const settle = async (jobId: string) => {
    clock.advance(60_000);
    assert.equal(await waitForJob(slow, jobId), 'Succeeded');
  };
  try {
    const created = await callApi(slow, NLB, 'CreateServerGroup', { ServerGroupName: 'slow', VpcId: 'vpc-local', ServerGroupType: 'Ip' });
    const id = created.ServerGroupId as string;
    const server0 = { ServerId: '127.0.3.70', ServerType: 'Ip', Port: 80 };
    const early = await callError(callApi(slow, NLB, 'AddServersToServerGroup', { ServerGroupId: id, Servers: [server0] }));
    assert.equal(early.code, 'IncorrectStatus.serverGroup');
    await settle(created.JobId);

    const added = await callApi(slow, NLB, 'AddServersToServerGroup', { ServerGroupId: id, Servers: [server0] });
    assert.equal((await serversOf(id, slow))[0].Status, 'Adding');
    assert.equal((await groupOf(id, slow)).ServerGroupStatus, 'Configuring');
    for (const action of ['AddServersToServerGroup', 'RemoveServersFromServerGroup', 'UpdateServerGroupServersAttribute']) {
      const e = await callError(callApi(slow, NLB, action, { ServerGroupId: id, Servers: [{ ...server0, ServerId: '127.0.3.71' }] }));
      assert.equal(e.code, 'IncorrectStatus.serverGroup', action);
    }
    await settle(added.JobId);
    assert.equal((await serversOf(id, slow))[0].Status, 'Available');
    assert.equal((await groupOf(id, slow)).ServerGroupStatus, 'Available');

    const updated = await callApi(slow, NLB, 'UpdateServerGroupServersAttribute', {
      ServerGroupId: id,
      Servers: [{ ...server0, Weight: 5 }],
    });
    const during = (await serversOf(id, slow))[0];
    assert.equal(during.Status, 'Configuring');
    assert.equal(during.Weight, 5);
    await settle(updated.JobId);
    assert.equal((await serversOf(id, slow))[0].Status, 'Available');

    const removed = await callApi(slow, NLB, 'RemoveServersFromServerGroup', { ServerGroupId: id, Servers: [server0] });
    assert.equal((await serversOf(id, slow))[0].Status, 'Removing');
    await settle(removed.JobId);
    assert.deepEqual(await serversOf(id, slow), []);
  } finally {
    await slow.stop();
  }
});

/** Once the node has applied the latest change, it reports `objectId` as failed at that revision. */
async function failOnDataPlane(target: TestServer, objectId: string): Promise<void> {
  const db = target.running.store.db;
  const revision = await target.running.store.currentRevision();
  let node: { node_id: string; applied_revision: number } | undefined;
  for (let i = 0; i < 500 && !(node && node.applied_revision >= revision); i++) {
    node = await db.selectFrom('nodes').select(['node_id', 'applied_revision']).executeTakeFirst();
    await new Promise((r) => setTimeout(r, 10));
  }
  const row = {
    node_id: node!.node_id,
    object_id: objectId,
    revision,
    state: 'failed',
    reason: 'test',
    detail: null,
    updated_at: Date.now(),
  };
  await target.running.store.transact((tx) =>
    tx
      .insertInto('observations')
      .values(row)
      .onConflict((oc) => oc.columns(['node_id', 'object_id']).doUpdateSet(row))
      .execute(),
  );
}

test('a change the data plane fails is undone', async () => {
  const clock = new ManualClock(Date.now());
  const slow = await startSlowServer({ clock });
  try {
    const created = await callApi(slow, NLB, 'CreateServerGroup', { ServerGroupName: 'fails', VpcId: 'vpc-local', ServerGroupType: 'Ip' });
    const id = created.ServerGroupId as string;
    clock.advance(60_000);
    await waitForJob(slow, created.JobId);

    const added = await callApi(slow, NLB, 'AddServersToServerGroup', {
      ServerGroupId: id,
      Servers: [{ ServerId: '127.0.3.80', ServerType: 'Ip', Port: 80 }],
    });
    await failOnDataPlane(slow, id);
    clock.advance(60_000);
    assert.equal(await waitForJob(slow, added.JobId), 'Failed');
    assert.deepEqual(await serversOf(id, slow), []);
    assert.equal((await groupOf(id, slow)).ServerGroupStatus, 'Available');

    const updated = await callApi(slow, NLB, 'UpdateServerGroupAttribute', {
      ServerGroupId: id,
      Scheduler: 'sch',
      ServerGroupName: 'renamed',
    });
    assert.equal((await groupOf(id, slow)).Scheduler, 'sch');
    await failOnDataPlane(slow, id);
    clock.advance(60_000);
    assert.equal(await waitForJob(slow, updated.JobId), 'Failed');
    const g = await groupOf(id, slow);
    assert.equal(g.Scheduler, 'Wrr');
    assert.equal(g.ServerGroupName, 'fails');
    assert.equal(g.ServerGroupStatus, 'Available');
  } finally {
    await slow.stop();
  }
});

test('a retried AddServersToServerGroup with the same ClientToken adds once and answers the same JobId', async () => {
  const id = await createGroup(server, { ServerGroupType: 'Ip' });
  const params = { ServerGroupId: id, ClientToken: `add-${id}`, Servers: [{ ServerId: '127.0.3.90', ServerType: 'Ip', Port: 80 }] };
  const first = await callApi(server, NLB, 'AddServersToServerGroup', params);
  const retry = await callApi(server, NLB, 'AddServersToServerGroup', params);
  assert.equal(retry.JobId, first.JobId);
  await waitForJob(server, first.JobId);
  assert.equal((await serversOf(id)).length, 1);
  const changed = await callError(
    callApi(server, NLB, 'AddServersToServerGroup', { ...params, Servers: [{ ServerId: '127.0.3.91', ServerType: 'Ip', Port: 80 }] }),
  );
  assert.equal(changed.code, 'IdempotenceSignatureMismatch');
});
