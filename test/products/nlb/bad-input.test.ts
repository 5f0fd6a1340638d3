/**
 * Bad input is refused with a 4xx Alibaba error and changes nothing: after every refused call
 * the List operations (and, underneath, the store's resources, tags and jobs) read exactly as
 * before. The cases cover every resource family's writes, including calls that carry one good
 * and one bad item, which must not half-apply.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NLB, callApi, callError, startTestServer, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer, createRunningListener, createServerGroup } from '../../support/nlb-setup.js';

let server: TestServer;
let lb: { id: string; vips: string[] };
let group: string;
let udpGroup: string;
let listener: string;

before(async () => {
  server = await startTestServer();
  lb = await createActiveLoadBalancer(server);
  group = await createServerGroup(server, { Protocol: 'TCP', HealthCheckConfig: { HealthCheckEnabled: false } }, [
    { ip: '127.0.3.90', port: 9 },
  ]);
  udpGroup = await createServerGroup(server, { Protocol: 'UDP', HealthCheckConfig: { HealthCheckEnabled: false } }, []);
  listener = await createRunningListener(server, {
    LoadBalancerId: lb.id,
    ListenerProtocol: 'TCP',
    ListenerPort: 7500,
    ServerGroupId: group,
  });
});
after(async () => {
  await server?.stop();
});

/** Everything a user can list, plus the store rows behind it. */
async function snapshot(): Promise<unknown> {
  const list = (action: string, params: Record<string, unknown> = {}) => callApi(server, NLB, action, { MaxResults: 50, ...params });
  const strip = (body: Record<string, unknown>) => {
    const { RequestId: _ignored, ...rest } = body;
    return rest;
  };
  const db = server.running.store.db;
  return {
    loadBalancers: strip(await list('ListLoadBalancers')),
    serverGroups: strip(await list('ListServerGroups')),
    servers: strip(await list('ListServerGroupServers', { ServerGroupId: group })),
    listeners: strip(await list('ListListeners')),
    securityPolicies: strip(await list('ListSecurityPolicy')),
    tags: strip(await list('ListTagResources', { ResourceType: 'loadbalancer', ResourceId: [lb.id] })),
    rows: await db.selectFrom('resources').select(['id', 'status', 'body']).orderBy('id').execute(),
    tagRows: await db.selectFrom('tags').selectAll().execute(),
    jobs: (
      await db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  };
}

type Case = [action: string, params: () => Record<string, unknown>, code: string];

const zones = (vswitchB = 'vsw-local-b') => [
  { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' },
  { ZoneId: 'cn-hangzhou-b', VSwitchId: vswitchB },
];
const tooManyTags = () => Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
const goodServer = { ServerId: '127.0.3.91', ServerType: 'Ip', ServerIp: '127.0.3.91', Port: 80 };

const cases: Case[] = [
  [
    'CreateLoadBalancer',
    () => ({ AddressType: 'Intranet', VpcId: 'vpc-local', ZoneMappings: zones('vsw-missing') }),
    'ResourceNotFound.VSwitch',
  ],
  ['CreateLoadBalancer', () => ({ AddressType: 'Intranet', VpcId: 'vpc-elsewhere', ZoneMappings: zones() }), 'ResourceNotFound.Vpc'],
  ['CreateLoadBalancer', () => ({ AddressType: 'Sideways', VpcId: 'vpc-local', ZoneMappings: zones() }), 'IllegalParam.AddressType'],
  [
    'CreateLoadBalancer',
    () => ({ AddressType: 'Intranet', VpcId: 'vpc-local', ZoneMappings: [{ ...zones()[0], PrivateIPv4Address: '10.9.9.9' }, zones()[1]] }),
    'IllegalParam.PrivateIPv4Address',
  ],
  [
    'CreateLoadBalancer',
    () => ({ AddressType: 'Intranet', VpcId: 'vpc-local', ZoneMappings: zones(), Tag: tooManyTags() }),
    'IllegalParamSize.Tag',
  ],
  ['CreateLoadBalancer', () => ({ AddressType: 'Intranet', VpcId: 'vpc-local', ZoneMappings: zones(), DryRun: true }), 'DryRunOperation'],
  ['UpdateLoadBalancerZones', () => ({ LoadBalancerId: lb.id, ZoneMappings: zones('vsw-missing') }), 'OperationDenied.ZoneVSwitchChanged'],
  ['CreateServerGroup', () => ({ ServerGroupName: 'x1', VpcId: 'vpc-local', Scheduler: 'Fastest' }), 'IllegalParam.Scheduler'],
  ['CreateServerGroup', () => ({ ServerGroupName: 'x2', VpcId: 'vpc-local', Protocol: 'HTTP' }), 'IllegalParam.Protocol'],
  [
    'CreateServerGroup',
    () => ({ ServerGroupName: 'x3', VpcId: 'vpc-local', HealthCheckConfig: { HealthCheckInterval: 0 } }),
    'IllegalParam.HealthCheckInterval',
  ],
  [
    'CreateServerGroup',
    () => ({ ServerGroupName: 'x4', VpcId: 'vpc-local', Tag: [{ Key: 'aliyun:reserved', Value: 'v' }] }),
    'IllegalParam.TagKey',
  ],
  ['CreateServerGroup', () => ({ ServerGroupName: 'x5', VpcId: 'vpc-nowhere' }), 'ResourceNotFound.Vpc'],
  [
    'AddServersToServerGroup',
    () => ({ ServerGroupId: group, Servers: [goodServer, { ...goodServer, ServerId: '127.0.3.92', ServerIp: '127.0.3.92', Port: 70000 }] }),
    'IllegalParam.Servers.Port',
  ],
  [
    'AddServersToServerGroup',
    () => ({ ServerGroupId: group, Servers: [goodServer, { ...goodServer, ServerId: '127.0.3.93', ServerIp: '127.0.3.93', Weight: 101 }] }),
    'IllegalParam.Servers.Weight',
  ],
  ['AddServersToServerGroup', () => ({ ServerGroupId: 'sgp-missing', Servers: [goodServer] }), 'ResourceNotFound.serverGroup'],
  ['UpdateServerGroupAttribute', () => ({ ServerGroupId: group, Scheduler: 'Fastest' }), 'IllegalParam.Scheduler'],
  ['DeleteServerGroup', () => ({ ServerGroupId: group }), 'ResourceInUse.ServerGroup'],
  ['CreateListener', () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7500, ServerGroupId: group }), 'Conflict.Port'],
  [
    'CreateListener',
    () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 0, ServerGroupId: group }),
    'MissingParam.StartPort',
  ],
  [
    'CreateListener',
    () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'TCPSSL', ListenerPort: 7501, ServerGroupId: group }),
    'MissingParam.Certificate',
  ],
  [
    'CreateListener',
    () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 7502, ServerGroupId: udpGroup, Mss: 1000 }),
    'IllegalParam.MssConflictWithUdpAndGeneve',
  ],
  [
    'CreateListener',
    () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'UDP', ListenerPort: 7503, ServerGroupId: group }),
    'Mismatch.Protocol',
  ],
  [
    'CreateListener',
    () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7504, ServerGroupId: group, IdleTimeout: 901 }),
    'IllegalParam.IdleTimeout',
  ],
  [
    'CreateListener',
    () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7505, ServerGroupId: 'sgp-missing' }),
    'ResourceNotFound.serverGroup',
  ],
  [
    'CreateListener',
    () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7506, ServerGroupId: group, Tag: tooManyTags() }),
    'IllegalParamSize.Tag',
  ],
  [
    'CreateListener',
    () => ({
      LoadBalancerId: lb.id,
      ListenerProtocol: 'TCP',
      ListenerPort: 7507,
      ServerGroupId: group,
      ProxyProtocolV2Config: '{not json',
    }),
    'IllegalParam.ProxyProtocolV2Config',
  ],
  [
    'CreateListener',
    () => ({ LoadBalancerId: lb.id, ListenerProtocol: 'TCP', ListenerPort: 7508, ServerGroupId: group, DryRun: true }),
    'DryRunOperation',
  ],
  ['UpdateListenerAttribute', () => ({ ListenerId: listener, Cps: -1 }), 'IllegalParam.Cps'],
  ['UpdateListenerAttribute', () => ({ ListenerId: 'lsn-missing', IdleTimeout: 30 }), 'ResourceNotFound.listener'],
  [
    'CreateSecurityPolicy',
    () => ({ SecurityPolicyName: 'p1', TlsVersions: ['TLSv0.9'], Ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'] }),
    'IllegalParam.TlsVersions',
  ],
  [
    'TagResources',
    () => ({ ResourceType: 'spaceship', ResourceId: [lb.id], Tag: [{ Key: 'k', Value: 'v' }] }),
    'IllegalParam.resourceType',
  ],
  [
    'TagResources',
    () => ({ ResourceType: 'loadbalancer', ResourceId: [lb.id, 'nlb-missing'], Tag: [{ Key: 'k', Value: 'v' }] }),
    'ResourceNotFound.loadBalancer',
  ],
  ['TagResources', () => ({ ResourceType: 'loadbalancer', ResourceId: [lb.id], Tag: tooManyTags() }), 'IllegalParamSize.Tag'],
];

test('every refused write answers 4xx with an Alibaba error and leaves every list unchanged', async () => {
  const before = await snapshot();
  for (const [action, params, code] of cases) {
    const err = await callError(callApi(server, NLB, action, params()));
    const label = `${action} ${JSON.stringify(params())}`;
    assert.ok(err.statusCode >= 400 && err.statusCode < 500, `${label}: HTTP ${err.statusCode}`);
    assert.equal(err.code, code, label);
    assert.ok(err.data?.RequestId && err.data?.Message, `${label}: the error body names the request and the problem`);
    assert.deepEqual(await snapshot(), before, `${label} changed something`);
  }
});
